r"""Which algorithm computes a correlation, and why: one ``Plan`` per problem, decided once.

The decision, in order (the same as the engine has always made it):

1. the method forced by ``settings(method=...)``, else the measured rule
   (``engine.rule.choose_method``: an ordered list of boundaries, each with its reason);
2. where that algorithm does not apply to the problem (``Algorithm.applies``: a stride it
   cannot step, a kernel Winograd has no transform for, row columns past the workspace share,
   no numba), im2col — which applies to every problem;
3. ``shift`` and ``window`` — and the rule's im2col of a strided depthwise layer — on the
   problems the compiled depthwise kernels take become ``depthwise``; ``outrows`` whose row
   windows break the workspace share becomes im2col (its bias added afterwards, as outrows adds it).

What is left to the call depends on the data (a NaN or inf sends a transform method or a
padded ``stacked``/``rows`` to im2col, whose products are torch's) or on the memory layout;
``Plan.runtime`` names it. Plans are cached per problem, settings, workspace cap and tuning
(the rule and its constants); a rule that would take Winograd while its compiled code is
still being built (``ops.warmup``) gives a provisional plan, which is not cached.
``trace()`` records the plans the correlations in a block really ran.

>>> from convgrad.engine.problem import Problem
>>> p = plan_for(Problem.of((8, 1, 64, 56, 56), (1, 64, 64, 3, 3), (2, 2), (1, 1)))
>>> p.name, p.reason
('im2col', 'stride (2, 2) > 1: im2col is the method for strided windows')
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator

from . import rule, runtime, tuning
from .algorithms import IM2COL, REGISTRY
from .kernels import jit
from .problem import Problem
from .registry import Algorithm, mib
from .settings import Settings, current, using

_DEPTHWISE, _OUTROWS, _WINOGRAD = REGISTRY["depthwise"], REGISTRY["outrows"], REGISTRY["winograd"]
_CACHE: dict = {}
_CACHE_LIMIT = 4096
_TRACE: ContextVar[list | None] = ContextVar("convgrad_engine_trace", default=None)


@dataclass(frozen=True)
class Plan:
    """The algorithm of one problem and why (``reason``); ``form``: Winograd's (forward,
    weight) or depthwise's (taps, dots); ``split``: the kernel axes ``rows`` stacks;
    ``bias_after``: im2col adds the bias afterwards (outrows's fallback); ``provisional``:
    decided while Winograd's code was still being built."""

    problem: Problem
    algorithm: Algorithm
    reason: str
    settings: Settings
    form: str | None = None
    split: int | None = None
    bias_after: bool = False
    provisional: bool = False
    chosen: str | None = None           # what the rule (or the forced method) asked for

    @property
    def name(self) -> str:
        return self.algorithm.name

    @property
    def workspace_bytes(self) -> int:
        """Scratch the algorithm uses besides the operands and the result (an estimate:
        ``Algorithm.workspace``), in this plan's settings."""
        with using(self.settings):
            return self.algorithm.workspace(self.problem)

    @property
    def runtime(self) -> tuple[str, ...]:
        """The decisions left to the call (data, memory layout)."""
        return self.algorithm.runtime(self.problem)

    def run(self, x, w, bias=None, out=None):
        """The correlation of these arrays (the problem's shapes) by this plan."""
        return self.algorithm.run(self, x, w, bias, out)

    @cached_property
    def rejected(self) -> tuple[tuple[str, str], ...]:
        """(name, why not) for every other registered algorithm: its ``applies`` reason, the
        rule's measured reason (``declined``), or "costs more" (the rule's boundaries)."""
        with using(self.settings):              # applies() reads the settings
            out = []
            for name, algorithm in REGISTRY.items():
                if algorithm is self.algorithm:
                    continue
                why = algorithm.applies(self.problem, self.settings)
                if why is None and name == self.chosen and name == "outrows":
                    why = _OUTROWS.spills(self.problem)
                if why is None and name == self.chosen and self.name == "depthwise":
                    why = "the compiled depthwise kernels compute its case"
                if why is None:
                    why = ("not forced" if self.settings.method is not None else
                           algorithm.declined(self.problem, self.settings) or "costs more")
                out.append((name, why))
            return tuple(out)

    def explain(self, indent: str = "") -> str:
        """The algorithm, its reason, each other's reason, and what the call decides."""
        lines = [f"{indent}{self.name}: {self.reason} (workspace {mib(self.workspace_bytes)})"]
        lines += [f"{indent}  not {name}: {why}" for name, why in self.rejected]
        lines += [f"{indent}  at run time: {what}" for what in self.runtime]
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.problem}\n{self.explain('  ')}"


def decide(problem: Problem, settings: Settings | None = None) -> Plan:
    """The plan of ``problem`` under ``settings`` (default: the current ones), uncached."""
    settings = current() if settings is None else settings
    provisional = False
    if settings.method is not None:
        chosen, why = settings.method, f"forced by settings(method={settings.method!r})"
    else:
        choice = rule.choose_method(problem.padded_shape, problem.w_shape, problem.stride,
                                    problem.dilation, problem.dtype)
        chosen = str(choice)
        why = getattr(choice, "reason", "the method rule")
        provisional = getattr(choice, "provisional", False)
    algorithm, form, bias_after = REGISTRY[chosen], None, False
    unfit = algorithm.applies(problem, settings)
    if unfit is not None:
        algorithm, why = IM2COL, f"{chosen} {unfit}; im2col applies to every problem"
    elif (chosen in ("shift", "window") or chosen == "im2col" and settings.method is None) and (
            _DEPTHWISE.form(problem, chosen)) and (
            _DEPTHWISE.applies(problem, settings) is None):
        algorithm, form = _DEPTHWISE, _DEPTHWISE.form(problem, chosen)
        why = f"{why}; the compiled depthwise kernels take it ({form})"
    elif chosen == "outrows" and (spill := _OUTROWS.spills(problem)) is not None:
        algorithm, bias_after = IM2COL, True
        why = f"outrows chosen ({why}), but {spill}; im2col"
    elif chosen == "depthwise":
        form = _DEPTHWISE.form(problem)
    if algorithm is _WINOGRAD:
        form = _WINOGRAD.form(problem)
    split = algorithm.split(problem) if algorithm.name == "rows" else None
    return Plan(problem, algorithm, why, settings, form, split, bias_after, provisional, chosen)


def tuning_key() -> tuple:
    """What a plan depends on besides the problem and the settings: the tuning in force (its
    serial number: a new value is a new key) and the workspace cap."""
    return tuning.current().serial, runtime.get_workspace_limit()


def _remember(key, plan: Plan) -> Plan:
    if not plan.provisional:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = plan
    return plan


def plan_for(problem: Problem) -> Plan:
    """The plan of ``problem`` in the current settings (cached)."""
    settings = current()
    key = (problem, settings, jit.available(), tuning_key())
    plan = _CACHE.get(key)
    return plan if plan is not None else _remember(key, decide(problem, settings))


def for_arrays(x, w, stride, dilation, pads) -> Plan:
    """The plan of ``correlate(x, w, stride, dilation, pads)`` (cached; the key is built
    without constructing a Problem)."""
    settings = current()
    key = (x.shape, w.shape, tuple(stride), tuple(dilation), pads, x.dtype, w.dtype, settings,
           jit.available(), tuning_key())
    plan = _CACHE.get(key)
    if plan is None:
        problem = Problem.of(x.shape, w.shape, stride, dilation, pads, x.dtype,
                             x.dtype == w.dtype)
        plan = _remember(key, decide(problem, settings))
    record(plan)
    return plan


def shared_phases(x_shape, w_shape, dilation, dtype) -> str | None:
    """None where the stride phases of an input gradient — ∂L/∂y (B, G, Co, *M) with every
    tap of the rotated w (G, Ci, Co, *K) between them — share one ``stacked`` matmul
    (``ops.correlate.correlate_phases``); else why they run one by one. The rule is asked
    about the stride-1 correlation with all of w, padded as the full correlation (``full``:
    its outputs are the positions of ∂L/∂x the products land on), without a dtype (the
    direct methods)."""
    settings, t = current(), tuning.current()
    key = ("phases", tuple(x_shape), tuple(w_shape), tuple(dilation), dtype, settings,
           jit.available(), tuning_key())
    if key in _CACHE:
        return _CACHE[key]
    ndim = len(x_shape) - 3
    method = settings.method or str(rule.choose_method(full(x_shape, w_shape, dilation),
                                                        w_shape, (1,) * ndim, dilation))
    batch, groups = x_shape[:2]
    itemsize = dtype.itemsize
    per_image = groups * _prod(w_shape[3:]) * w_shape[1] * _prod(x_shape[3:]) * itemsize
    budget = min(runtime.workspace_share() // 2, t.tile_bytes)
    why = None
    if method != "stacked":
        why = f"the full stride-1 correlation would be {method}, not stacked"
    elif ndim > 3:
        why = "more than three spatial axes"
    elif not jit.available():
        why = "the shared matmul needs the compiled adds (numba)"
    elif per_image > budget:
        why = f"one image's products ({per_image} B) exceed the cache budget ({budget} B)"
    elif batch * per_image < t.jit_elements * itemsize:
        why = "too few products for the compiled adds"
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[key] = why
    return why


def full_pads(kernel, dilation) -> list[tuple[int, int]]:
    """The full correlation's padding: ke − 1 = d·(k − 1) on both sides of each axis."""
    return [(d * (k - 1), d * (k - 1)) for k, d in zip(kernel, dilation)]


def full(x_shape, w_shape, dilation) -> tuple[int, ...]:
    """x (B, G, C, *M) padded by ``full_pads``: the full correlation's input, whose every
    output a tap's product of x lands on."""
    pads = full_pads(w_shape[3:], dilation)
    return (*x_shape[:3], *(m + lo + hi for m, (lo, hi) in zip(x_shape[3:], pads)))


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def record(plan: Plan) -> None:
    """Note ``plan`` in the innermost ``trace()`` of this context, if any."""
    seen = _TRACE.get()
    if seen is not None:
        seen.append(plan)


@contextmanager
def trace() -> Iterator[list[Plan]]:
    """The plans of every correlation run inside the block (batch parts on other cores
    included: they run in copies of this context), in order."""
    seen: list[Plan] = []
    token = _TRACE.set(seen)
    try:
        yield seen
    finally:
        _TRACE.reset(token)


def clear_cache() -> None:
    """Forget every plan (they are recomputed on next use)."""
    _CACHE.clear()
