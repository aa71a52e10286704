"""Name the bug behind a failure: first the named patterns (``patterns.py``), each checked
numerically against the alternative computation its bug implies, then the one feature without
which the failing configuration passes (``VARIANT_HINTS``).

A pattern states a hypothesis about what the user's code computed instead, recomputes that
alternative with convgrad on the failing configuration's own arrays, and names the bug only
when the user's result matches it — at the failing configuration and, where the hypothesis does
not depend on it, at a larger *probe* configuration (``probe_config``: one more image and
channel group, longer sides, the same padding, stride and remainders), so that a coincidence of
a 1-pixel case cannot name the wrong bug. Patterns run only on failures."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .adapters import UserCodeError, to_layout
from .runner import Checker, Failure, variants

TILING = ("; code that assumes exact tiling ((n + 2p − d·(k − 1) − 1) % s == 0, as the course "
          "assignment states) can declare it with --assume-tiling")
VARIANT_HINTS = {
    "stride": "wrong only when stride > 1 (right with stride 1): an index in the loops probably "
              "misses a ·stride (e.g. x[i + a] where x[i·stride + a] is meant)",
    "remainder": "wrong only when (n + 2p − d·(k − 1) − 1) mod s ≠ 0 (right when the windows tile "
                 "the padded input exactly): the last, unreached rows/columns are mishandled — "
                 "their gradient is 0, and the output size is ⌊(n + 2p − d·(k−1) − 1)/s⌋ "
                 "+ 1" + TILING,
    "remainder_forward": "wrong only when (n + 2p − d·(k − 1) − 1) mod s ≠ 0 (right when the "
                         "windows tile the padded input exactly): the output size is "
                         "⌊(n + 2p − d·(k−1) − 1)/s⌋ + 1, rounded down — the last rows/columns "
                         "that no whole window reaches are left out, not an error" + TILING,
    "square": "wrong only for non-square kernels or inputs (right when every side is equal): an "
              "index or size uses the height where the width is meant (square-only indexing)",
    "padding": "wrong only with padding (right with pad 0): the padding is not applied, or not "
               "cropped, consistently",
    "dilation": "wrong only with dilation > 1: the kernel taps must be d apart (x[i·s + a·d])",
    "groups": "wrong only with groups > 1: channel c must meet only the filters of its group",
    "channels": "wrong only with several channels: a channel index or a sum over channels is "
                "off",
}


PATTERNS: list = []           # (name, function(ctx) -> message or None), in order


def pattern(name: str):
    def register(fn):
        PATTERNS.append((name, fn))
        return fn
    return register


def match(checker: Checker, failure: Failure) -> tuple[str, str] | None:
    """(pattern name, message) of the first pattern that explains ``failure``, or None."""
    from . import patterns  # noqa: F401, PLC0415  (registers PATTERNS, in order)

    if failure.kind not in ("values", "shape"):
        return None
    ctx = Context(checker, failure)
    for name, fn in PATTERNS:
        if checker.hung:
            return None
        message = fn(ctx)
        if message:
            return name, message
    return None


@dataclass
class Case:
    cfg: object
    a: dict
    want: dict
    got: dict | None        # None when the user's code raised here


def probe_config(cfg):
    """One more image and channel group, each kernel side one longer, each input side longer
    by a multiple of the stride (≥ 2) plus the dilation: padding, stride, dilation, groups and
    the remainders (n + 2p − d·(k − 1) − 1) mod s stay those of ``cfg``."""
    step = cfg.stride * -(-2 // cfg.stride) + cfg.dilation
    g = cfg.groups
    return replace(cfg, batch=cfg.batch + 1, cin=cfg.cin + g, cout=cfg.cout + g,
                   kernel=tuple(k + 1 for k in cfg.kernel),
                   size=tuple(n + step for n in cfg.size))


class Context:
    """The failure, and the user's results at the failing and the probe configuration (each
    computed once, on demand)."""

    def __init__(self, checker: Checker, failure: Failure):
        self.checker, self.f, self.cfg = checker, failure, failure.config
        self.kind, self.tensor, self.dims = checker.kind, failure.tensor, checker.dims
        self._cases: dict = {}

    def case(self, cfg) -> Case:
        if cfg not in self._cases:
            a = self.checker.arrays(cfg)
            want = self.checker.expected(cfg, a)
            got = None
            if not self.checker.hung:
                try:
                    got = self.checker.got(cfg, a)
                except (UserCodeError, ValueError, IndexError, TypeError):
                    got = None
            self._cases[cfg] = Case(cfg, a, want, got)
        return self._cases[cfg]

    @property
    def main(self) -> Case:
        return self.case(self.cfg)

    @property
    def probe(self) -> Case:
        return self.case(probe_config(self.cfg))

    def both(self, test) -> bool:
        """``test(case)`` holds at the failing and at the probe configuration."""
        return bool(test(self.main)) and bool(test(self.probe))

    def user_shape(self, a: np.ndarray, name: str) -> tuple:
        return to_layout(a, self.checker.layout, weight=name == "dw").shape \
            if a.ndim == self.dims + 2 else a.shape

    def param(self) -> str:
        return "the `padding` argument" if self.checker.style == "torch" else \
            "conv_param['pad']"


def close(g, e) -> bool:
    return g is not None and e is not None and g.shape == e.shape and \
        bool(np.allclose(g, e, rtol=1e-6, atol=1e-9))


def got(case: Case, name: str):
    return None if case.got is None else case.got.get(name)


def bias_like(case: Case) -> np.ndarray:
    b = case.a["b"].reshape(1, -1, *(1,) * len(case.cfg.size))
    return np.broadcast_to(b, case.want["out"].shape)


def fits(case: Case, name: str, alternative) -> bool:
    """The user's ``name`` equals ``alternative(case)`` (which may be None: no match)."""
    g = got(case, name)
    return g is not None and close(g, alternative(case))


def holds(ctx: Context, name: str, alternative) -> bool:
    """The user's ``name`` is ``alternative`` at the failing and at the probe configuration."""
    return ctx.both(lambda case: fits(case, name, alternative))


def shape_text(ctx: Context) -> str:
    shape = ctx.user_shape(ctx.f.got, "dx")
    return f"{shape} ({ctx.checker.layout.upper()})" if ctx.checker.layout != "nchw" else \
        str(shape)


def crop_text(ctx: Context, both: bool = False) -> str:
    """The right crop of the padded gradient (``both``: with the short `pad:pad + H` form)."""
    sides = ", ".join(f"p:p + {s}" for s in ("H", "W")) if ctx.dims == 2 else \
        ", ".join(f"p:p + n{i + 1}" for i in range(ctx.dims))
    full = f"dx_pad[:, :, {sides}]" if ctx.checker.layout == "nchw" else \
        f"dx_pad[:, {sides}, :]"
    return f"`pad:pad + {'H' if ctx.dims == 2 else 'n'}` (`{full}`)" if both else full


def counts(cfg) -> list:
    """Quantities a wrong multiplicity can be named after, the most specific first."""
    c, taps = cfg.cin // cfg.groups, int(np.prod(cfg.kernel))
    return [("the input channels C", c), ("the kernel taps KH·KW", taps),
            ("the window size C·KH·KW", c * taps), ("the batch size N", cfg.batch),
            ("the output positions", int(np.prod(cfg.out_size))),
            ("the filters F", cfg.cout)]


def named(ctx: Context, value, relations):
    """The label of the first relation ``(label, fn(cfg))`` that ``value(case)`` follows at
    both configurations, else None."""
    v_main, v_probe = value(ctx.main), value(ctx.probe)
    if v_main is None or v_probe is None:
        return None
    for label, fn in relations:
        if np.isclose(v_main, fn(ctx.main.cfg)) and np.isclose(v_probe, fn(ctx.probe.cfg)):
            return label
    return None


def factor(g, e):
    """c with g = c·e (None when no such c, or g is e)."""
    if g is None or g.shape != e.shape or not np.isfinite(g).all():
        return None
    norm = float(np.sum(e * e))
    if norm < 1e-18:
        return None
    c = float(np.sum(g * e)) / norm
    return c if close(g, c * e) else None


def bias_where_wrong(case: Case):
    """(how many, the first) wrong outputs when every wrong output is exactly its bias."""
    g, e = got(case, "out"), case.want["out"]
    if g is None or g.shape != e.shape:
        return None
    wrong = ~np.isclose(g, e, rtol=1e-6, atol=1e-9)
    bias = bias_like(case)
    if wrong.any() and np.allclose(g[wrong], bias[wrong], rtol=1e-6, atol=1e-9) and \
            not np.allclose(e[wrong], bias[wrong], rtol=1e-6, atol=1e-9):
        return int(wrong.sum()), tuple(int(i) for i in np.argwhere(wrong)[0])
    return None


def diagnose(checker: Checker, failure: Failure) -> None:
    """Fill ``failure.diagnosis`` and ``failure.equation`` (both may stay None): the first named
    pattern (``patterns.PATTERNS``) whose alternative computation the user's result matches,
    else the one feature without which the failing configuration passes."""
    found = match(checker, failure)
    failure.diagnosis = found[1] if found else _variant(checker, failure)
    failure.equation = _equation(failure)


def hint(name: str, kind: str) -> str:
    return VARIANT_HINTS.get(f"{name}_{kind}", VARIANT_HINTS[name])


def _variant(checker: Checker, f: Failure) -> str | None:
    for name, config in variants(f.config).items():
        if checker.hung:
            return None
        failure, _ = checker.evaluate(config)
        if failure is None:
            return hint(name, checker.kind)
    return None


def _equation(f: Failure) -> str | None:
    """The expected equation of the first wrong element, from ``convgrad explain``."""
    cfg = f.config
    if f.index is None or len(cfg.size) > 2:
        return None
    if f.tensor == "db":
        return f"∂L/∂b[{f.index[0] + 1}] = Σ over the batch and positions of ∂L/∂O[n, " \
               f"{f.index[0] + 1}, …]"
    try:
        from ..explain import explain  # noqa: PLC0415

        report = explain(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, cfg.cin,
                         cfg.cout, cfg.groups, max_equations=4000)
    except (ImportError, ValueError):
        return None
    if f.tensor == "dw":
        return report["grad_weight"][int(np.ravel_multi_index(f.index, cfg.w_shape))]
    key, shape = {"dx": ("grad_input", (cfg.cin, *cfg.size)),
                  "out": ("forward", (cfg.cout, *cfg.out_size))}[f.tensor]
    line = report[key][int(np.ravel_multi_index(f.index[1:], shape))]
    return line + (f" + b{_sub(f.index[1] + 1)}" if f.tensor == "out" else "") + \
        f"   (image {f.index[0] + 1} of the batch)"


def _sub(i: int) -> str:
    return str(i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
