"""Assemble an explanation: the derivation turned into equations, patterns and checks, as one
plain dict that every output format (text, markdown, html, json) renders."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ops.configuration import ConvConfig
from ..ops.geometry import effective_kernel
from .derive import Derivation, derive, equation_count, numeric_check
from .notation import Notation

DEFAULT_MAX_EQUATIONS = 300


class TooLargeError(ValueError):
    """The configuration would print more equations than the cap allows."""


@dataclass(frozen=True, init=False)
class ExplainConfig(ConvConfig):
    """A ``ConvConfig`` of one image (1-d or 2-d) to derive, with the x, y, z of the chain-rule
    prelude; made positionally as ``(input, kernel, stride, padding, dilation, in_channels,
    out_channels, groups, values)``, ``input`` being the spatial size."""

    values: tuple = (-2.0, 5.0, -4.0)         # x, y, z of the chain-rule prelude

    OP = "explain"

    def __init__(self, input=(3, 3), kernel=(2, 2), stride=1, padding=0, dilation=1,
                 in_channels=1, out_channels=1, groups=1, values=(-2.0, 5.0, -4.0), **fields):
        object.__setattr__(self, "values", tuple(values))
        fields.setdefault("dtype", "float64")
        super().__init__(**{"size": input, **fields}, kernel=kernel, stride=stride,
                         padding=padding, dilation=dilation, in_channels=in_channels,
                         out_channels=out_channels, groups=groups)

    def __post_init__(self):
        sized = all(isinstance(v, (tuple, list)) for v in (self.size, self.kernel))
        if sized and len(self.kernel) != len(self.size):
            raise ValueError(f"explain: --kernel {_size(self.kernel)} and --input "
                             f"{_size(self.size)} must have the same number of dims")
        if sized and len(self.size) not in (1, 2):
            raise ValueError(f"explain: only 1-d and 2-d inputs are drawn, got --input "
                             f"{_size(self.size)}")
        super().__post_init__()

    @property
    def input(self) -> tuple:
        return self.size

    def as_dict(self) -> dict:
        """The fields a report shows (its ``config``)."""
        return {"input": list(self.size), "kernel": list(self.kernel), "stride": self.stride,
                "padding": self.padding, "dilation": self.dilation,
                "in_channels": self.in_channels, "out_channels": self.out_channels,
                "groups": self.groups, "values": self.values}


def build(config: ExplainConfig, max_equations: int = DEFAULT_MAX_EQUATIONS,
          seed: int = 0) -> dict:
    """Derive, verify and describe ``config``; raises ValueError (bad configuration) or
    TooLargeError before any symbolic work when the equations would exceed ``max_equations``."""
    geo = config.geometry()
    count = equation_count(geo.in_size, geo.kernel, geo.out_size, geo.in_channels,
                           geo.out_channels, geo.groups)
    if count > max_equations:
        raise TooLargeError(f"explain: this configuration has {count:,} equations (O: "
                       f"{geo.out_channels * math.prod(geo.out_size):,}, ∂L/∂F: "
                       f"{math.prod(geo.weight_shape):,}, ∂L/∂X: "
                       f"{geo.in_channels * math.prod(geo.in_size):,}), over the cap of "
                       f"{max_equations:,}; pass --max-equations {count} to print them all, or "
                       f"choose a smaller --input")
    der = derive(geo.in_size, geo.kernel, geo.stride, geo.padding, geo.dilation,
                 geo.in_channels, geo.out_channels, geo.groups)
    errors = numeric_check(der, seed)
    cin_g = geo.in_channels // geo.groups
    lead = {"X": int(geo.in_channels > 1), "O": int(geo.out_channels > 1),
            "F": 2 * int(geo.out_channels > 1 or cin_g > 1)}
    biggest = max(*geo.in_size, *geo.kernel, *geo.out_size,
                  *(n + lo + hi for n, (lo, hi) in zip(geo.in_size, geo.padding)))
    nt = Notation(der.names, lead, biggest)
    return {
        "config": {**config.as_dict(), "index_base": 1},
        "title": _title(config, geo),
        "geometry": _geometry(geo),
        "notes": _notes(geo),
        "chain_rule": chain_rule(*config.values),
        "forward": [f"{nt.label('O', i)} = {nt.sum(e)}" for i, e in _items(der.O)],
        "local_gradients": _local_gradients(der, nt),
        "grad_weight": [f"{nt.label('dF', i)} = {nt.sum(e)}" for i, e in _items(der.grad_weight)],
        "grad_input": [f"{nt.label('dX', i)} = {nt.sum(e) if e != 0 else '0'}"
                       + ("" if e != 0 else "   (no window reaches this element)")
                       for i, e in _items(der.grad_input)],
        "grad_weight_convolution": _weight_windows(der, nt),
        "grad_input_convolution": _input_windows(der, nt),
        "patterns": _patterns(der, nt),
        "verified": {"symbolic": bool(der.symbolic_ok),
                     "numeric": bool(max(errors.values()) < 1e-10)},
        "numeric_errors": errors,
        "_derivation": der,
        "_seed": seed,                    # the page's example numbers come from it too
    }


def chain_rule(x: float, y: float, z: float) -> dict:
    """f = (x + y)·z through convgrad's own autograd: forward values and every gradient."""
    from ..creation import tensor  # noqa: PLC0415

    tx, ty, tz = (tensor(float(v), requires_grad=True) for v in (x, y, z))
    q = tx + ty
    f = q * tz
    f.backward()
    values = {"x": x, "y": y, "z": z, "q": q.item(), "f": f.item()}
    grads = {"x": tx.grad.item(), "y": ty.grad.item(), "z": tz.grad.item(), "q": tz.item(),
             "f": 1.0}
    n, m = _num, _factor
    steps = [f"forward: q = x + y = {n(x)} + {m(y)} = {n(q.item())};  f = q·z = "
             f"{m(q.item())}·{m(z)} = {n(f.item())}",
             f"∂f/∂f = 1;  ∂f/∂z = q = {n(q.item())};  ∂f/∂q = z = {n(z)}",
             f"∂f/∂x = ∂f/∂q·∂q/∂x = {m(z)}·1 = {n(grads['x'])};  ∂f/∂y = ∂f/∂q·∂q/∂y = "
             f"{m(z)}·1 = {n(grads['y'])}"]
    drawing = "\n".join([
        f"  x = {n(x):>6} ─┐ ∂f/∂x = {n(grads['x'])}",
        f"               (+)─ q = {n(q.item())} ─┐ ∂f/∂q = {n(z)}",
        f"  y = {n(y):>6} ─┘ ∂f/∂y = {n(grads['y'])}       (×)─ f = {n(f.item())}",
        f"  z = {n(z):>6} ─────────────────────┘ ∂f/∂z = {n(q.item())}"])
    return {"values": values, "grads": grads, "steps": steps, "drawing": drawing}


def _items(array: np.ndarray):
    return ((idx, array[idx]) for idx in np.ndindex(*array.shape))


def _local_gradients(der: Derivation, nt: Notation) -> list[str]:
    import sympy  # noqa: PLC0415

    lines = []
    for idx, expr in _items(der.O):
        for term in sympy.Add.make_args(expr):
            if term == 0:
                continue
            _, (a, b) = term.as_coeff_mul()
            x, f = (a, b) if der.names[a][0] == "X" else (b, a)
            o = nt.label("O", idx)
            lines.append(f"∂{o}/∂{nt.symbol(f)} = {nt.symbol(x)};  ∂{o}/∂{nt.symbol(x)} = "
                         f"{nt.symbol(f)}")
    return lines


def _weight_windows(der: Derivation, nt: Notation) -> list[str]:
    """∂L/∂F[o, c, j] = Σ_p X_pad[c, j·d + p·s]·∂L/∂O[o, p], padding zeros shown."""
    geo, lines = der.geo, []
    cin_g, cout_g = geo.in_channels // geo.groups, geo.out_channels // geo.groups
    xpad = padded_input(der)
    for o, c, *j in np.ndindex(*der.F.shape):
        c_in = (o // cout_g) * cin_g + c
        pairs = [(der.dO[(o, *p)], xpad[(c_in, *[ji * d + pi * s for ji, pi, s, d in
                                                 zip(j, p, geo.stride, geo.dilation)])])
                 for p in np.ndindex(*geo.out_size)]
        lines.append(f"{nt.label('dF', (o, c, *j))} = {nt.terms(pairs)}")
    return lines


def _input_windows(der: Derivation, nt: Notation) -> list[str]:
    """∂L/∂X[c, i] = Σ_{o, j} spread∂L/∂O[o, i + lo + j·d]·rot180F[c, o, j], zeros shown."""
    geo, lines = der.geo, []
    cin_g, cout_g = geo.in_channels // geo.groups, geo.out_channels // geo.groups
    lows = [lo for lo, _ in geo.padding]
    for c, *i in np.ndindex(*der.X.shape):
        first = (c // cin_g) * cout_g
        pairs = [(der.dO_spread[(first + oo, *[ii + lo + ji * d for ii, lo, ji, d in
                                               zip(i, lows, j, geo.dilation)])],
                  der.F_rotated[(c, oo, *j)])
                 for oo in range(cout_g) for j in np.ndindex(*geo.kernel)]
        lines.append(f"{nt.label('dX', (c, *i))} = {nt.terms(pairs)}")
    return lines


def padded_input(der: Derivation) -> np.ndarray:
    import sympy  # noqa: PLC0415

    geo = der.geo
    shape = [n + lo + hi for n, (lo, hi) in zip(geo.in_size, geo.padding)]
    out = np.full((geo.in_channels, *shape), sympy.S.Zero, dtype=object)
    out[(slice(None),) + tuple(slice(lo, lo + n) for n, (lo, _) in
                               zip(geo.in_size, geo.padding))] = der.X
    return out


def dilated_kernel(kernel: np.ndarray, dilation) -> np.ndarray:
    """A kernel slice (*K) with d − 1 zeros between taps (taps spread d apart)."""
    import sympy  # noqa: PLC0415

    shape = [effective_kernel(k, d) for k, d in zip(kernel.shape, dilation)]
    out = np.full(shape, sympy.S.Zero, dtype=object)
    out[tuple(slice(None, None, d) for d in dilation)] = kernel
    return out


def _labels(array: np.ndarray, nt: Notation) -> np.ndarray:
    return np.vectorize(lambda v: "0" if v == 0 else nt.symbol(v), otypes=[object])(array)


def _patterns(der: Derivation, nt: Notation) -> dict:
    geo = der.geo
    return {
        "X_padded": _labels(padded_input(der)[0], nt).tolist(),
        "dO": _labels(der.dO[0], nt).tolist(),
        "F": _labels(der.F[0, 0], nt).tolist(),
        "F_rotated": _labels(der.F_rotated[0, 0], nt).tolist(),
        "F_rotated_dilated": _labels(dilated_kernel(der.F_rotated[0, 0], geo.dilation),
                                     nt).tolist(),
        "dO_spread": _labels(der.dO_spread[0], nt).tolist(),
        "full_size": list(der.grad_input_full.shape[1:]),
        "crop": [list(p) for p in geo.padding],
        "channel_note": ("channel 1 of each tensor shown" if geo.in_channels > 1 or
                         geo.out_channels > 1 else ""),
    }


def _geometry(geo) -> dict:
    rows = []
    for n, k, s, d, (lo, hi), m, r, ke in zip(geo.in_size, geo.kernel, geo.stride, geo.dilation,
                                              geo.padding, geo.out_size, geo.remainder,
                                              geo.effective_kernel):
        rows.append({"n": n, "k": k, "stride": s, "dilation": d, "padding": [lo, hi],
                     "effective_kernel": ke, "output": m, "remainder": r,
                     "formula": f"m = ⌊(n + lo + hi − d·(k−1) − 1)/s⌋ + 1 = ⌊({n} + {lo} + {hi}"
                                f" − {d}·{k - 1} − 1)/{s}⌋ + 1 = {m}"})
    return {"axes": rows, "output_shape": list(geo.out_size)}


def _notes(geo) -> list[str]:
    """What this configuration changes in the textbook picture (generated from the numbers);
    an axis whose note equals the first axis's is folded into it."""
    per_axis = []
    for s, d, (lo, hi), r, k in zip(geo.stride, geo.dilation, geo.padding, geo.remainder,
                                    geo.kernel):
        notes = []
        if s > 1:
            notes.append(f"stride {s} — in ∂L/∂X, ∂L/∂O gets {_count(s - 1, 'zero')} between "
                         f"neighbours (the gaps: input positions that one output step skips), "
                         f"and in ∂L/∂F the ∂L/∂O taps land {s} apart in X")
        if d > 1:
            notes.append(f"dilation {d} — the {k} kernel taps are {d} apart (effective kernel "
                         f"{effective_kernel(k, d)}); rot180(F) is spread the same way, and the "
                         f"∂L/∂F window moves by {d}")
        if lo or hi:
            notes.append(f"padding ({lo}, {hi}) — the full correlation yields the gradient of "
                         f"the padded input; its border ({lo} low, {hi} high) belongs to padding "
                         f"zeros, not to X, and is cropped")
        if r:
            notes.append(f"remainder {r} — the last {_count(r, 'padded position')} reached by "
                         f"no window get gradient 0 (∂L/∂O gets {_count(r, 'more zero')} on the "
                         f"high side)")
        per_axis.append(notes)
    out = []
    for axis, notes in enumerate(per_axis):
        for note in notes:
            same = [a for a, other in enumerate(per_axis) if note in other]
            if same[0] != axis:
                continue
            where = ("" if len(same) == geo.ndim else
                     f"axis {', '.join(str(a + 1) for a in same)}: ")
            out.append(where + note)
    if geo.groups > 1:
        out.append(f"groups {geo.groups} — input channel c only meets the output channels of "
                   f"its own group; ∂L/∂X[c] sums over those alone")
    if geo.in_channels > 1 or geo.out_channels > 1:
        out.append("channels — ∂L/∂X sums over output channels; rot180(F) also swaps the "
                   "in/out channel axes of F (Fᵀ per tap)")
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("s" if n != 1 else "")


def _title(config: ExplainConfig, geo) -> str:
    opts = []
    for name, value in (("stride", geo.stride), ("dilation", geo.dilation)):
        if any(v != 1 for v in value):
            opts.append(f"{name} {_size(value)}")
    if any(lo or hi for lo, hi in geo.padding):
        if isinstance(config.padding, str):
            shown = config.padding
        elif all(lo == hi == geo.padding[0][0] for lo, hi in geo.padding):
            shown = str(geo.padding[0][0])
        else:
            shown = " × ".join(f"({lo}, {hi})" for lo, hi in geo.padding)
        opts.append(f"padding {shown}")
    if geo.in_channels > 1 or geo.out_channels > 1:
        opts.append(f"channels {geo.in_channels}→{geo.out_channels}")
    if geo.groups > 1:
        opts.append(f"groups {geo.groups}")
    return (f"X {_size(geo.in_size)} ⋆ F {_size(geo.kernel)} → O {_size(geo.out_size)}"
            + (f" ({', '.join(opts)})" if opts else ""))


def _size(values) -> str:
    return "×".join(str(v) for v in values)


def _num(v: float) -> str:
    return f"{v:g}".replace("-", "−")


def _factor(v: float) -> str:
    """A number as a factor: negative ones in parentheses, 3·(−4)."""
    return f"({_num(v)})" if v < 0 else _num(v)
