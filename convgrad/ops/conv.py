r"""One N-d convolution primitive and its two gradients, each computed by that same primitive.

Per axis: input n, kernel k, stride s, dilation d, padding (lo, hi), ke = d·(k−1)+1, output
m = ⌊(n + lo + hi − ke)/s⌋ + 1, remainder r = (n + lo + hi − ke) mod s; x (N, C_in, *S),
w (C_out, C_in/g, *K), y (N, C_out, *M). The primitive, O = X ⋆ F (cross-correlation)::

    y[n, o, p] = b[o] + Σ_{c ∈ group(o)} Σ_j  x_pad[n, c, p·s + j·d] · w[o, c, j]

Each input element meets each weight in exactly these terms, so the chain rule (the transpose
of ``y = W x``) gives two rules, each again the primitive:

* ``weight_grad_rule``, ∂L/∂F = X ⋆ ∂L/∂O: ``∂L/∂w[o, c, j] = Σ_{n,p} x_pad[n, c, p·s + j·d] ·
  ∂L/∂y[n, o, p]`` — N contracted, C_in the batch, ∂L/∂y the kernel dilated by s, the window
  moving by d, padding (lo, hi − r); with groups each C_in/g slice meets its own C_out/g.
* ``input_grad_rule``, ∂L/∂X = the *full* correlation of the zero-inserted ∂L/∂O with
  rot180(F), channels swapped: ∂L/∂y with s − 1 zeros between its elements, padded by
  (ke − 1 − lo, ke − 1 − hi + r), stride 1, dilation d. The zeros are never made: the output
  splits into s phases per axis, each a stride-1 correlation with a sub-sampled rot180(F)
  (``input_grad``); a NaN/inf weight is scattered tap by tap (its NaN lands as PyTorch's).

Negative padding crops (output_padding ≥ s). Calls are checked up front (``ops.checks``);
``*_with`` take a checked ``ConvGeometry`` (autograd's backward passes). The batch parts and
threads are ``engine.execute``'s, each correlation's algorithm ``engine.plan``'s. Both
gradients are calls of the primitive: autograd gets double backward with no new math.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from ..engine import execute
from .checks import check_arrays, check_operands, grad_geometry, prepare_conv, prepare_transpose
from .correlate import correlate, finite
from .geometry import ConvGeometry, IntOrInts, Padding, forward_problem, weight_pads, weight_problem
from .input_grad import (
    _depthwise_chunk,
    _input_grad_chunk,
    _scatter,
    full_problem,
    scatters_depthwise,
)


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: IntOrInts = 1,
         padding: Padding = 0, dilation: IntOrInts = 1, groups: int = 1) -> np.ndarray:
    """N-d cross-correlation ``y = x ⋆ w + b`` with PyTorch's semantics (``conv1d/2d/3d``).

    x (N, C_in, *S) float32 or float64, D = ``x.ndim − 2``; w (C_out, C_in/groups, *K), same
    dtype; b optional (C_out,). stride, dilation : int or D ints, positive (1: none).
    padding : int, D ints, D ``(lo, hi)`` pairs, or ``'valid'``, ``'same'`` (output ⌈n/s⌉, extra
        pixel on the high side), ``'full'`` (ke − 1 on both sides).
    groups : C_in and C_out split into ``groups`` independent blocks (``groups = C_in``:
        depthwise; ``C_out = m·C_in``: channel multiplier m).
    Returns y (N, C_out, *M), ``M = ⌊(n + lo + hi − d·(k−1) − 1)/s⌋ + 1`` per axis, dtype of x.

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3); w = np.ones((1, 1, 2, 2))
    >>> conv(x, w)[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    x, w, b, geo = prepare_conv("conv", x, w, b, stride, padding, dilation, groups)
    return conv_with(geo, x, w, b)


def conv_with(geo: ConvGeometry, x: np.ndarray, w: np.ndarray,
              b: np.ndarray | None = None) -> np.ndarray:
    """``conv`` for a checked geometry: x as (N, g, C_in/g, *S) ⋆ w as (g, C_out/g, C_in/g, *K)."""
    check_operands("conv", geo, x=(x, geo.input_shape), w=(w, geo.weight_shape))
    if geo.batch == 0:
        return np.zeros(geo.output_shape, dtype=x.dtype)
    g = geo.groups
    wg, bg = w.reshape(g, -1, *w.shape[1:]), None if b is None else b.reshape(g, -1)

    def part(rows: slice, out: np.ndarray | None) -> np.ndarray:
        xg = x[rows].reshape(-1, g, geo.in_channels // g, *geo.in_size)
        into = None if out is None else out.reshape(-1, g, geo.out_channels // g, *geo.out_size)
        yg = correlate(xg, wg, geo.stride, geo.dilation, geo.padding, bg, out=into)
        return np.ascontiguousarray(yg).reshape(-1, geo.out_channels, *geo.out_size)

    return execute.into_parts(geo, x.dtype, lambda: forward_problem(geo, x.dtype), part,
                              geo.output_shape)


def conv_grad_input(dy: np.ndarray, w: np.ndarray, input_shape: Sequence[int], *,
                    stride: IntOrInts = 1, padding: Padding = 0, dilation: IntOrInts = 1,
                    groups: int = 1) -> np.ndarray:
    """∂L/∂x of ``y = conv(x, w, …)`` given ``dy = ∂L/∂y``: a *full* correlation with rot180(w).

    ``input_shape`` (N, C_in, *S) fixes n, hence r, which dy cannot tell; dx has that shape and
    dy's dtype. Textbook: X 3×3, F 2×2, O 2×2; ∂L/∂X = full correlation of ∂L/∂O, rot180 F:
    >>> w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]]); dy = np.ones((1, 1, 2, 2))
    >>> conv_grad_input(dy, w, (1, 1, 3, 3))[0, 0]
    array([[ 1.,  3.,  2.],
           [ 4., 10.,  6.],
           [ 3.,  7.,  4.]])
    """
    dy, w = check_arrays("conv_grad_input", dy=dy, w=w)
    geo = grad_geometry("conv_grad_input", input_shape, w.shape, dy, stride, padding, dilation,
                        groups)
    return grad_input_with(geo, dy, w)


def grad_input_with(geo: ConvGeometry, dy: np.ndarray, w: np.ndarray,
                    op: str = "conv_grad_input") -> np.ndarray:
    """``conv_grad_input`` (and the transposed conv) for a checked geometry."""
    check_operands(op, geo, dy=(dy, geo.output_shape), w=(w, geo.weight_shape))
    if geo.batch == 0:
        return np.zeros(geo.input_shape, dtype=dy.dtype)
    return input_grad_rule(geo, dy, w)


def input_grad_rule(geo: ConvGeometry, dy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """∂L/∂X = (zero-inserted ∂L/∂O) ⋆ rot180(F)ᵀ, phase by phase; a NaN/inf tap stays local
    (scattered tap by tap). Its Problem: the full stride-1 correlation (``full_problem``)."""
    if scatters_depthwise(geo):        # every tap's products where they land, compiled
        chunk = _depthwise_chunk
    else:
        chunk = _input_grad_chunk if finite(w) else _scatter
    stride_one = all(s == 1 for s in geo.stride)

    def part(rows: slice, out: np.ndarray | None) -> np.ndarray:
        return chunk(dy[rows], w, replace(geo, batch=rows.stop - rows.start), out=out)

    return execute.into_parts(geo, dy.dtype, lambda: full_problem(geo, dy.dtype)
                              if stride_one else None, part, geo.input_shape)


def conv_grad_weight(x: np.ndarray, dy: np.ndarray, weight_shape: Sequence[int], *,
                     stride: IntOrInts = 1, padding: Padding = 0, dilation: IntOrInts = 1,
                     groups: int = 1) -> np.ndarray:
    """∂L/∂w of ``y = conv(x, w, …)`` given ``dy = ∂L/∂y``: the correlation of x with dy.

    dw has ``weight_shape`` (C_out, C_in/groups, *K) and x's dtype. Textbook: ∂L/∂F is the
    valid correlation of X with ∂L/∂O:
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3); dy = np.ones((1, 1, 2, 2))
    >>> conv_grad_weight(x, dy, (1, 1, 2, 2))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    x, dy = check_arrays("conv_grad_weight", x=x, dy=dy)
    geo = grad_geometry("conv_grad_weight", x.shape, weight_shape, dy, stride, padding, dilation,
                        groups)
    return grad_weight_with(geo, x, dy)


def grad_weight_with(geo: ConvGeometry, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``conv_grad_weight`` for a checked geometry."""
    check_operands("conv_grad_weight", geo, x=(x, geo.input_shape), dy=(dy, geo.output_shape))
    if geo.batch == 0:
        return np.zeros(geo.weight_shape, dtype=x.dtype)
    return weight_grad_rule(geo, x, dy)


def weight_grad_rule(geo: ConvGeometry, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """∂L/∂F = X ⋆ ∂L/∂O: x as (C_in/g, g, N, *S) ⋆ dy as the kernel (g, C_out/g, N, *M),
    stride d, dilation s, padding (lo, hi − r) (``weight_problem``); summed over batch parts."""
    g, spatial, pads = geo.groups, tuple(range(3, 3 + geo.ndim)), weight_pads(geo)

    def part(rows: slice) -> np.ndarray:
        n = rows.stop - rows.start
        xg = x[rows].reshape(n, g, -1, *geo.in_size).transpose(2, 1, 0, *spatial)
        dyg = dy[rows].reshape(n, g, -1, *geo.out_size).transpose(1, 2, 0, *spatial)
        dw = correlate(xg, dyg, geo.dilation, geo.stride, pads)    # (C_in/g, g, C_out/g, *K)
        return dw.transpose(1, 2, 0, *spatial).reshape(geo.weight_shape)

    return execute.summed_parts(geo, x.dtype, lambda: weight_problem(geo, x.dtype), part)


def conv_grad_bias(dy: np.ndarray) -> np.ndarray:
    """∂L/∂b of ``y = conv(x, w, b, …)`` given ``dy = ∂L/∂y`` (N, C_out, *M):
    ``∂L/∂b[o] = Σ_{n,p} dy[n, o, p]``. (A NumPy reduction: a BLAS matrix-vector product is 2×
    faster, but OpenBLAS's spinning threads slow the depthwise kernels that run next 2×.)

    >>> conv_grad_bias(np.ones((2, 3, 4, 4)))
    array([32., 32., 32.])
    """
    (dy,) = check_arrays("conv_grad_bias", dy=dy)
    if dy.ndim < 2:
        raise ValueError(f"conv_grad_bias: dy must be (N, C_out, *M), got shape {dy.shape}")
    return dy.sum(axis=(0, *range(2, dy.ndim)))


def conv_transpose(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   stride: IntOrInts = 1, padding: Padding = 0, output_padding: IntOrInts = 0,
                   groups: int = 1, dilation: IntOrInts = 1) -> np.ndarray:
    """Transposed convolution (``conv_transpose1d/2d/3d``): the input gradient of ``conv``.

    x (N, C_in, *S), w (C_in, C_out/groups, *K) (PyTorch's layout). Output length per axis
    ``(n − 1)·s − lo − hi + d·(k − 1) + output_padding + 1``; ``output_padding < max(s, d)``
    picks the remainder r. ``padding``: int, D ints, D ``(lo, hi)`` pairs, or ``'valid'``.

    >>> conv_transpose(np.ones((1, 1, 2)), np.array([[[1.0, 2.0]]]), stride=2)[0, 0]
    array([1., 2., 1., 2.])
    """
    x, w, b, geo = prepare_transpose("conv_transpose", x, w, b, stride, padding, output_padding,
                                     groups, dilation)
    y = grad_input_with(geo, x, w, op="conv_transpose")
    if b is not None:
        y += b.reshape(-1, *(1,) * geo.ndim)
    return y
