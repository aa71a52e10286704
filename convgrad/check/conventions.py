"""Which calling convention a function follows, read from its signature and confirmed by its
first call. A function called the wrong way is a usage error (``ConventionError``, exit 2 on the
command line) that proposes the right flags — never a "bug" found by the search.

Signatures: 2 positional parameters ``(dout, cache)`` → course backward; 4 whose last is the
parameter dict ``(x, w, b, conv_param)`` → course forward; 5 or more → torch style (6 or 8
required, or a first parameter named like a gradient: ``dout``, ``dy``, ``grad…`` → backward).
A name containing ``backward`` / ``forward`` decides the kind.
"""

from __future__ import annotations

import inspect

import numpy as np

from .adapters import UserCodeError, course_param, user_inputs
from .config import CheckConfig

GRADIENT_NAMES = ("dout", "dy", "dl", "grad", "delta", "d_out", "dz", "upstream", "top_diff")
CALLS = {("torch", "forward"): "f(x, w, b, stride, padding)",
         ("torch", "backward"): "f(dout, x, w, b, stride, padding)",
         ("course", "forward"): "f(x, w, b, conv_param)",
         ("course", "backward"): "f(dout, cache)"}


class CheckError(ValueError):
    """A usage error of the check: bad options, or no function to check."""


class ConventionError(CheckError):
    """The function does not follow the declared (or inferred) calling convention."""


def parameters(fn) -> list[str] | None:
    """Names of the positional parameters (None: no signature, or it takes ``*args``)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    names = []
    for p in signature.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    return names


def _required(fn) -> int:
    signature = inspect.signature(fn)
    return sum(1 for p in signature.parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is p.empty)


def _gradient_like(name: str) -> bool:
    name = name.lower()
    return name == "g" or name.startswith(GRADIENT_NAMES)


def guess(fn, name: str | None = None) -> tuple[str | None, str | None]:
    """(style, kind) the signature and the name suggest; None where they do not tell."""
    name = (name or getattr(fn, "__name__", "") or "").lower()
    kind = "backward" if "backward" in name else "forward" if "forward" in name else None
    names = parameters(fn)
    if not names:
        return None, kind
    if kind is None and _gradient_like(names[0]):
        kind = "backward"
    last = names[-1].lower()
    if len(names) == 2 or (len(names) <= 3 and "cache" in last):
        return "course", kind or "backward"
    if len(names) == 4 or (len(names) > 4 and "param" in names[3].lower()):
        return "course", kind or "forward"
    if len(names) >= 5:
        required = _required(fn)
        count = required if required >= 5 else len(names)
        return "torch", kind or ("backward" if count in (6, 8) else "forward")
    return None, kind


def proposal(fn, name: str, style: str, kind: str) -> str | None:
    """'conv_forward_naive takes (x, w, b, conv_param): run with --style course', or None
    when the signature agrees with ``style`` and ``kind`` (or tells nothing)."""
    want_style, want_kind = guess(fn, name)
    flags = []
    if want_style and want_style != style:
        flags.append(f"--style {want_style}")
    if want_kind and want_kind != kind:
        flags.append(f"--kind {want_kind}")
    if not flags:
        return None
    return f"{name} takes ({', '.join(parameters(fn) or ['...'])}): run with {' '.join(flags)}"


def contradiction(fn, name: str, style: str, kind: str) -> str | None:
    """The warning for explicit flags the signature contradicts (the first call worked)."""
    want_style, want_kind = guess(fn, name)
    parts = []
    if want_style and want_style != style:
        parts.append(f"{want_style} style")
    if want_kind and want_kind != kind:
        parts.append(f"a {want_kind}")
    if not parts:
        return None
    return (f"{name} takes ({', '.join(parameters(fn) or ['...'])}), which looks like "
            f"{' and '.join(parts)}; checking it as declared: {style}-style {kind}")


def refuse(error: UserCodeError, fn, name: str, style: str, kind: str, features) -> None:
    """Raise ConventionError when ``error`` — from the first call — says the convention is
    wrong: the signature proposes other flags, Python refused the arguments, or the result
    has the wrong structure."""
    if error.kind not in ("raised", "returned"):
        return
    refused = (error.kind == "raised" and isinstance(error.cause, TypeError)
               and error.entered is False)
    if not (refused or error.convention or (error.kind == "raised"
                                            and proposal(fn, name, style, kind))):
        return
    better = proposal(fn, name, style, kind)
    if better:
        raise ConventionError(better)
    call = CALLS[style, kind]
    extra = [f"{f}=…" for f in ("dilation", "groups") if f in features and style == "torch"]
    if extra:
        call = call[:-1] + ", " + ", ".join(extra) + ")"
    detail = f"{type(error.cause).__name__}: {error.cause}" if refused else str(error)
    raise ConventionError(f"{name} does not follow the {style}-style {kind} convention "
                          f"{call}: {detail}")


def probe_config(dims: int, attempt: int = 0) -> CheckConfig:
    """Small valid configurations for the first call (x, w, b of distinct shapes)."""
    size = 3 + attempt
    return CheckConfig(1, 2, 2, (size,) * dims, (2,) * dims)


def cache_form(checker) -> str:
    """'documented' when the course forward's cache is ``(x, w, b, conv_param)`` — exactly
    the arrays and the dict it was given — else 'student' (the backward then needs the
    student's cache). Raises ConventionError when the forward is called the wrong way."""
    forward, name = checker.forward, checker.forward_name
    for attempt in range(2):
        config = probe_config(checker.dims, attempt)
        a = checker.arrays(config)
        xu, wu, bu = user_inputs(checker.layout, a["x"], a["w"], a["b"])
        param = course_param(config, checker.features)
        try:
            result = checker.call(forward, xu.copy(), wu.copy(), bu.copy(), dict(param))
        except UserCodeError as e:
            if e.kind == "hang":
                return "student"
            refuse(e, forward, name, "course", "forward", checker.features)
            continue
        if not (isinstance(result, tuple) and len(result) == 2):
            refuse(UserCodeError("returned", "course-style forward must return (out, cache), "
                                             f"got {type(result).__name__}", convention=True),
                   forward, name, "course", "forward", checker.features)
        cache = result[1]
        if (isinstance(cache, (tuple, list)) and len(cache) == 4
                and all(_same(m, g) for m, g in zip(cache[:3], (xu, wu, bu)))
                and isinstance(cache[3], dict) and _same_param(cache[3], param)):
            return "documented"
        return "student"
    return "student"


def _same(member, given: np.ndarray) -> bool:
    return (isinstance(member, np.ndarray) and member.shape == given.shape
            and (np.shares_memory(member, given) or np.array_equal(member, given)))


def _same_param(member: dict, given: dict) -> bool:
    try:
        return member.keys() == given.keys() and all(member[k] == v for k, v in given.items())
    except Exception:  # noqa: BLE001  (a student's dict may hold anything)
        return False


def partner(module, name: str, role: str, forward: str | None = None) -> str | None:
    """The name of the other function of the pair in ``module`` (the backward of a forward,
    the forward of a backward), or None."""
    if role == "forward":
        candidates = [name.replace("forward", "backward")] if "forward" in name else [
            f"{name}_backward", f"{name}_grad"]
    else:
        candidates = [forward] if forward else [
            name.replace("backward", "forward"), name.replace("_backward", ""),
            name.replace("backward_", ""), "conv_forward"]
    for candidate in candidates:
        if candidate and candidate != name and callable(getattr(module, candidate, None)):
            return candidate
    return None
