r"""The derivation itself: build O = X ⋆ F symbolically from the definition, differentiate, and
recognise the two convolutions.

For one image (the batch only adds a sum), channels c, output channels o (group(c) = group(o)),
per spatial axis input n, kernel k, stride s, dilation d, padding (lo, hi)::

    O[o, p]   = Σ_c Σ_j  X[c, p·s + j·d − lo] · F[o, c, j]          (X = 0 outside 0…n−1)
    L         = Σ_{o, p} ∂L/∂O[o, p] · O[o, p]                        (first-order model of L)
    ∂L/∂F[e]  = ∂L/∂F computed by sympy.diff(L, F[e]) — the chain rule, term by term
    ∂L/∂X[e]  = sympy.diff(L, X[e])

and checks them against the two patterns, built as arrays and correlated:

    ∂L/∂F = X_pad ⋆ (∂L/∂O with s−1 zeros between elements), window moving by d
    ∂L/∂X = crop_lo,hi( (∂L/∂O zero-inserted, padded by ke−1 (+ r on the high side)) ⋆ rot180(F)
            with taps d apart, input/output channels swapped )
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ..ops.geometry import ConvGeometry, conv_geometry


@dataclass
class Derivation:
    """Every symbolic object of the derivation, as numpy object arrays of sympy expressions."""

    geo: ConvGeometry
    X: np.ndarray                    # (C_in, *S) symbols
    F: np.ndarray                    # (C_out, C_in/g, *K) symbols
    dO: np.ndarray                   # (C_out, *M) symbols: ∂L/∂O
    O: np.ndarray                    # (C_out, *M) expressions
    grad_weight: np.ndarray          # derived ∂L/∂F
    grad_input: np.ndarray           # derived ∂L/∂X
    dO_spread: np.ndarray            # (C_out, *…) ∂L/∂O zero-inserted and padded for the full conv
    F_rotated: np.ndarray            # (C_in, C_out/g, *K) rot180(F), channels swapped
    grad_weight_conv: np.ndarray     # ∂L/∂F from the correlation X_pad ⋆ spread ∂L/∂O
    grad_input_full: np.ndarray      # (C_in, *(n + lo + hi)) full correlation, before the crop
    grad_input_conv: np.ndarray      # ∂L/∂X = the cropped full correlation
    names: dict = field(default_factory=dict)   # symbol → (tensor, index tuple)

    @property
    def symbolic_ok(self) -> bool:
        import sympy  # noqa: PLC0415

        pairs = itertools.chain(zip(self.grad_weight.flat, self.grad_weight_conv.flat),
                                zip(self.grad_input.flat, self.grad_input_conv.flat))
        return all(sympy.expand(a - b) == 0 for a, b in pairs)


def derive(in_size, kernel, stride=1, padding=0, dilation=1, in_channels: int = 1,
           out_channels: int = 1, groups: int = 1) -> Derivation:
    """Derive forward and both gradients for one image of spatial size ``in_size``."""
    import sympy  # noqa: PLC0415

    in_size, kernel = tuple(in_size), tuple(kernel)
    geo = conv_geometry("explain", (1, in_channels, *in_size),
                        (out_channels, in_channels // max(groups, 1), *kernel),
                        stride, padding, dilation, groups)
    names: dict = {}

    def symbols(tensor: str, shape) -> np.ndarray:
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            sym = sympy.Symbol(f"{tensor}_" + "_".join(str(i + 1) for i in idx))
            names[sym] = (tensor, idx)
            out[idx] = sym
        return out

    cin_g, cout_g = in_channels // geo.groups, out_channels // geo.groups
    X = symbols("X", (in_channels, *in_size))
    W = symbols("F", (out_channels, cin_g, *kernel))
    dO = symbols("dO", (out_channels, *geo.out_size))
    lows = [lo for lo, _ in geo.padding]

    def x_at(c: int, position) -> object:
        """X at a padded-input position (0 in the padding)."""
        idx = tuple(q - lo for q, lo in zip(position, lows))
        inside = all(0 <= i < n for i, n in zip(idx, in_size))
        return X[(c, *idx)] if inside else sympy.S.Zero

    O = np.empty((out_channels, *geo.out_size), dtype=object)
    for o, *p in np.ndindex(*O.shape):
        c0 = (o // cout_g) * cin_g
        O[(o, *p)] = sympy.Add(*[
            x_at(c0 + c, [pi * s + ji * d for pi, ji, s, d in zip(p, j, geo.stride,
                                                                   geo.dilation)])
            * W[(o, c, *j)] for c in range(cin_g) for j in np.ndindex(*kernel)])
    loss = sympy.Add(*[g * o for g, o in zip(dO.flat, O.flat)])
    grad_weight = np.vectorize(lambda v: sympy.diff(loss, v), otypes=[object])(W)
    grad_input = np.vectorize(lambda v: sympy.diff(loss, v), otypes=[object])(X)

    # Pattern 1: ∂L/∂F[o, c, j] = Σ_p X_pad[c, j·d + p·s] · ∂L/∂O[o, p]
    grad_weight_conv = np.empty(W.shape, dtype=object)
    for o, c, *j in np.ndindex(*W.shape):
        c_in = (o // cout_g) * cin_g + c
        grad_weight_conv[(o, c, *j)] = sympy.Add(*[
            x_at(c_in, [ji * d + pi * s for ji, pi, s, d in zip(j, p, geo.stride, geo.dilation)])
            * dO[(o, *p)] for p in np.ndindex(*geo.out_size)])

    # Pattern 2: the full correlation of the spread ∂L/∂O with rot180(F), then the crop.
    spread = spread_output_grad(dO, geo)
    rot = np.empty((in_channels, cout_g, *kernel), dtype=object)
    for c, oo, *j in np.ndindex(*rot.shape):
        o = (c // cin_g) * cout_g + oo
        rot[(c, oo, *j)] = W[(o, c % cin_g, *[k - 1 - ji for k, ji in zip(kernel, j)])]
    padded_size = tuple(n + lo + hi for n, (lo, hi) in zip(in_size, geo.padding))
    full = np.empty((in_channels, *padded_size), dtype=object)
    for c, *i in np.ndindex(*full.shape):
        first = (c // cin_g) * cout_g
        full[(c, *i)] = sympy.Add(*[
            spread[(first + oo, *[ii + ji * d for ii, ji, d in zip(i, j, geo.dilation)])]
            * rot[(c, oo, *j)] for oo in range(cout_g) for j in np.ndindex(*kernel)])
    crop = (slice(None),) + tuple(slice(lo, lo + n) for lo, n in zip(lows, in_size))
    return Derivation(geo, X, W, dO, O, grad_weight, grad_input, spread, rot,
                      grad_weight_conv, full, full[crop], names)


def spread_output_grad(dO: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """∂L/∂O with s − 1 zeros between elements, padded by ke − 1 on each side and by the
    remainder r more on the high side: the array the full correlation slides over."""
    import sympy  # noqa: PLC0415

    ke = [d * (k - 1) + 1 for k, d in zip(geo.kernel, geo.dilation)]
    shape = [(m - 1) * s + 1 + 2 * (e - 1) + r for m, s, e, r in
             zip(geo.out_size, geo.stride, ke, geo.remainder)]
    out = np.full((dO.shape[0], *shape), sympy.S.Zero, dtype=object)
    target = (slice(None),) + tuple(slice(e - 1, e - 1 + (m - 1) * s + 1, s)
                                    for e, m, s in zip(ke, geo.out_size, geo.stride))
    out[target] = dO
    return out


def numeric_check(der: Derivation, seed: int = 0) -> dict[str, float]:
    """Random numbers into the derived formulas vs convgrad's engine: the kernels
    (``ops.conv_grad_*``) and the autograd path. Returns the max relative errors."""
    import sympy  # noqa: PLC0415

    from .. import functional as F  # noqa: PLC0415
    from .. import ops  # noqa: PLC0415
    from ..creation import tensor  # noqa: PLC0415

    geo, rng = der.geo, np.random.default_rng(seed)
    x = rng.standard_normal(der.X.shape)
    w = rng.standard_normal(der.F.shape)
    g = rng.standard_normal(der.dO.shape)
    values = dict(zip(der.X.flat, x.flat)) | dict(zip(der.F.flat, w.flat)) | dict(
        zip(der.dO.flat, g.flat))
    symbols = list(values)
    evaluate = sympy.lambdify(symbols, [sympy.Matrix(list(a.flat)) for a in
                                        (der.O, der.grad_weight, der.grad_input)], "numpy")
    y_sym, dw_sym, dx_sym = (np.asarray(a, dtype=float).reshape(shape) for a, shape in zip(
        evaluate(*[values[s] for s in symbols]), (der.O.shape, der.F.shape, der.X.shape)))
    opts = dict(stride=geo.stride, padding=geo.padding, dilation=geo.dilation,
                groups=geo.groups)
    xb, gb = x[None], g[None]
    y = ops.conv(xb, w, **opts)[0]
    dw = ops.conv_grad_weight(xb, gb, w.shape, **opts)
    dx = ops.conv_grad_input(gb, w, xb.shape, **opts)[0]
    xt, wt = tensor(xb, requires_grad=True), tensor(w, requires_grad=True)
    F.conv(xt, wt, **opts).backward(gb)

    def rel(a, b):
        return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))
    return {"forward": rel(y_sym, y), "grad_weight_ops": rel(dw_sym, dw),
            "grad_input_ops": rel(dx_sym, dx), "grad_weight_autograd": rel(dw_sym, wt.grad.array),
            "grad_input_autograd": rel(dx_sym, xt.grad.array[0])}


def equation_count(in_size, kernel, out_size, in_channels, out_channels, groups) -> int:
    """How many equations an explanation prints: forward, ∂L/∂F and ∂L/∂X elements."""
    return (out_channels * math.prod(out_size)
            + out_channels * (in_channels // groups) * math.prod(kernel)
            + in_channels * math.prod(in_size))
