r"""One N-d convolution primitive and its two gradients, each computed by that same primitive.

Notation (per spatial axis): input length n, kernel k, stride s, dilation d, padding (lo, hi),
effective kernel ke = d·(k−1)+1, output length m = ⌊(n + lo + hi − ke)/s⌋ + 1, remainder
r = (n + lo + hi − ke) mod s. Shapes are PyTorch's: x (N, C_in, *S), w (C_out, C_in/g, *K),
y (N, C_out, *M).

The primitive (cross-correlation, as in every deep-learning framework)::

    y[n, o, p] = b[o] + Σ_{c ∈ group(o)} Σ_j  x_pad[n, c, p·s + j·d] · w[o, c, j]

Its two transpose rules, derived the way one transposes a matrix product ``y = W x``: each
input element meets each weight in exactly the terms above, so the chain rule collects

    ∂L/∂x[n, c, i] = Σ_{o, p, j : p·s + j·d = i + lo}  ∂L/∂y[n, o, p] · w[o, c, j]
    ∂L/∂w[o, c, j] = Σ_{n, p}  x_pad[n, c, p·s + j·d] · ∂L/∂y[n, o, p]

* ∂L/∂x is again a correlation: of ∂L/∂y with s − 1 zeros inserted between its elements, padded
  by (ke − 1 − lo, ke − 1 − hi + r), against the 180°-rotated kernel with in/out channels swapped,
  stride 1, dilation d. With s = 1 and no padding it is the textbook *full* convolution with
  rot180(F). The inserted zeros are never materialised: the output splits into s phases per axis
  (i ≡ a mod s), and phase a only ever meets the taps j with j·d ≡ ke − 1 − lo − a (mod s) — an
  ordinary stride-1 correlation of ∂L/∂y with that sub-sampled, rotated kernel (see
  ``input_grad._input_grad_phases``). Each phase is still a call of the primitive — and where
  the primitive would use its ``stacked`` method, the phases, which between them hold every
  tap once, share that method's one matmul (``correlate_phases``). A NaN/inf weight takes
  ``input_grad._scatter`` instead, which never multiplies a padded or inserted zero (so the
  NaN lands where PyTorch's does).
* ∂L/∂w is a correlation of x with ∂L/∂y playing the kernel: batch and channel axes swap roles
  (N is contracted, C_in becomes the batch), the kernel ∂L/∂y is dilated by s, the window moves
  by d, and the padding is (lo, hi − r) — the r positions no window reached are cropped. With
  groups, each C_in/g slice pairs only with its own C_out/g slices of ∂L/∂y: the same grouped
  primitive, with the group axis kept.

Negative padding means crop (inside the ops only: a transposed conv whose output_padding ≥ s
is the input gradient of a conv whose high side is cropped; ``geometry.transpose_geometry``).
Every call is checked up front — its arrays, its options, and that its result and least
workspace fit the machine's memory (``geometry.check_memory``) — before anything is allocated.
``conv_with``, ``grad_input_with`` and ``grad_weight_with`` take a checked ``ConvGeometry``
(the autograd layer's backward passes, which need not check it again). Because both
gradients are calls of ``conv``'s core, the autograd engine that differentiates them gets
double backward with no new math.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from ..engine.problem import Problem
from .correlate import correlate, threads_itself
from .geometry import (
    ConvGeometry,
    IntOrInts,
    Padding,
    check_arrays,
    check_memory,
    check_shape,
    conv_geometry,
    transpose_geometry,
)
from .input_grad import _input_grad
from .parts import _batch_parts, _map_parts


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: IntOrInts = 1,
         padding: Padding = 0, dilation: IntOrInts = 1, groups: int = 1) -> np.ndarray:
    """N-d cross-correlation ``y = x ⋆ w + b`` with PyTorch's semantics (``conv1d/2d/3d``).

    Parameters
    ----------
    x : (N, C_in, *S) float32 or float64 array; the number of spatial dims D is ``x.ndim − 2``.
    w : (C_out, C_in/groups, *K) array of the same dtype.
    b : optional (C_out,) bias.
    stride, dilation : int or D ints, positive. ``dilation=1`` means none.
    padding : int, D ints, D ``(lo, hi)`` pairs, or ``'valid'``, ``'same'`` (output ⌈n/s⌉, extra
        pixel on the high side), ``'full'`` (ke − 1 on both sides).
    groups : C_in and C_out split into ``groups`` independent blocks (``groups = C_in``:
        depthwise; ``C_out = m·C_in``: channel multiplier m).

    Returns
    -------
    y : (N, C_out, *M) with ``M = ⌊(n + lo + hi − d·(k−1) − 1)/s⌋ + 1`` per axis, dtype of x.

    Example
    -------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3); w = np.ones((1, 1, 2, 2))
    >>> conv(x, w)[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    x, w, b, geo = prepare_conv("conv", x, w, b, stride, padding, dilation, groups)
    return conv_with(geo, x, w, b)


def prepare_conv(op: str, x, w, b, stride, padding, dilation, groups):
    """Every check of a ``conv`` call, before any work: (x, w, b, geometry)."""
    x, w, b = check_arrays(op, x=x, w=w, b=b)
    geo = conv_geometry(op, x.shape, w.shape, stride, padding, dilation, groups)
    _check_bias(op, b, geo.out_channels)
    check_memory(op, geo, x.dtype, geo.output_shape)
    return x, w, b, geo


def conv_with(geo: ConvGeometry, x: np.ndarray, w: np.ndarray,
              b: np.ndarray | None = None) -> np.ndarray:
    """``conv`` for a geometry already checked (``conv_geometry``, ``check_memory``); x, w and b
    must have its shapes and one float dtype."""
    _check_operands("conv", geo, x=(x, geo.input_shape), w=(w, geo.weight_shape))
    if geo.batch == 0:
        return np.zeros(geo.output_shape, dtype=x.dtype)
    g = geo.groups
    wg = w.reshape(g, -1, *w.shape[1:])
    bg = None if b is None else b.reshape(g, -1)
    parts = _batch_parts(geo, x.dtype, lambda: threads_itself(forward_problem(geo, x.dtype)))
    if len(parts) == 1:
        xg = x.reshape(-1, g, geo.in_channels // g, *geo.in_size)
        yg = correlate(xg, wg, geo.stride, geo.dilation, geo.padding, bg)
        return np.ascontiguousarray(yg).reshape(geo.output_shape)
    y = np.empty(geo.output_shape, dtype=x.dtype)

    def one_part(part: slice) -> None:
        xg = x[part].reshape(-1, g, geo.in_channels // g, *geo.in_size)
        correlate(xg, wg, geo.stride, geo.dilation, geo.padding, bg,
                  out=y[part].reshape(-1, g, geo.out_channels // g, *geo.out_size))

    _map_parts(one_part, parts)
    return y


def conv_grad_input(dy: np.ndarray, w: np.ndarray, input_shape: Sequence[int], *,
                    stride: IntOrInts = 1, padding: Padding = 0, dilation: IntOrInts = 1,
                    groups: int = 1) -> np.ndarray:
    """∂L/∂x of ``y = conv(x, w, …)`` given ``dy = ∂L/∂y``: a *full* correlation with rot180(w).

    ``dx = (dy with s−1 zeros inserted, padded by (ke−1−lo, ke−1−hi+r)) ⋆ rot180(w)ᵀ``, stride 1,
    dilation d, the kernel's in/out channels swapped within each group; computed phase by phase
    without the zeros (module docstring). ``input_shape`` (N, C_in, *S) fixes n, hence r, which
    ``dy`` alone cannot tell.

    Returns dx with shape ``input_shape`` and the dtype of dy.

    Example (textbook: X 3×3, F 2×2, O 2×2; ∂L/∂X is the full correlation of ∂L/∂O with rot180 F)
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
    _check_operands(op, geo, dy=(dy, geo.output_shape), w=(w, geo.weight_shape))
    if geo.batch == 0:
        return np.zeros(geo.input_shape, dtype=dy.dtype)
    return _input_grad(dy, w, geo)


def conv_grad_weight(x: np.ndarray, dy: np.ndarray, weight_shape: Sequence[int], *,
                     stride: IntOrInts = 1, padding: Padding = 0, dilation: IntOrInts = 1,
                     groups: int = 1) -> np.ndarray:
    """∂L/∂w of ``y = conv(x, w, …)`` given ``dy = ∂L/∂y``: the correlation of x with dy.

    ``dw[o, c, j] = Σ_{n,p} x_pad[n, c, p·s + j·d] · dy[n, o, p]`` — the primitive with batch and
    channel axes swapped, dy as a kernel dilated by s, window stride d, padding (lo, hi − r).

    Returns dw with shape ``weight_shape`` (C_out, C_in/groups, *K) and the dtype of x.

    Example (textbook: ∂L/∂F is the valid correlation of X with ∂L/∂O)
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
    _check_operands("conv_grad_weight", geo, x=(x, geo.input_shape), dy=(dy, geo.output_shape))
    if geo.batch == 0:
        return np.zeros(geo.weight_shape, dtype=x.dtype)
    return _weight_grad(x, dy, geo)


def conv_grad_bias(dy: np.ndarray) -> np.ndarray:
    """∂L/∂b of ``y = conv(x, w, b, …)`` given ``dy = ∂L/∂y`` (N, C_out, *M):
    ``∂L/∂b[o] = Σ_{n,p} dy[n, o, p]`` — the transpose of the bias's place in the forward, a
    row of ones in the column matrix. (A NumPy reduction, not BLAS: a matrix-vector product
    would be 2× faster on two cores, but OpenBLAS's threads keep spinning afterwards and slow
    the compiled depthwise kernels that run next by 2×.)

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

    x : (N, C_in, *S); w : (C_in, C_out/groups, *K) (PyTorch's layout for transposed conv).
    Output length per axis ``(n − 1)·s − lo − hi + d·(k − 1) + output_padding + 1``: it is the
    ``conv`` whose output has x's shape, and ``output_padding < max(s, d)`` picks which of the
    s input lengths (the remainder r) is meant. ``padding``: int, D ints, D ``(lo, hi)`` pairs,
    or ``'valid'``.

    >>> conv_transpose(np.ones((1, 1, 2)), np.array([[[1.0, 2.0]]]), stride=2)[0, 0]
    array([1., 2., 1., 2.])
    """
    x, w, b, geo = prepare_transpose("conv_transpose", x, w, b, stride, padding, output_padding,
                                     groups, dilation)
    y = grad_input_with(geo, x, w, op="conv_transpose")
    if b is not None:
        y += b.reshape(-1, *(1,) * geo.ndim)
    return y


def prepare_transpose(op: str, x, w, b, stride, padding, output_padding, groups, dilation):
    """Every check of a ``conv_transpose`` call, before any work: (x, w, b, the geometry of
    the conv whose input gradient it is)."""
    x, w, b = check_arrays(op, x=x, w=w, b=b)
    geo = transpose_geometry(op, x.shape, w.shape, stride, padding, output_padding, groups,
                             dilation)
    _check_bias(op, b, geo.in_channels)
    check_memory(op, geo, x.dtype, geo.input_shape)
    return x, w, b, geo


# ----------------------------------------------------------------------------- the weight rule

def _weight_grad(x: np.ndarray, dy: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dw summed over batch parts (the batch is the contracted axis)."""
    parts = _batch_parts(geo, x.dtype, lambda: threads_itself(weight_problem(geo, x.dtype)))
    sums = _map_parts(lambda part: _weight_grad_chunk(x[part], dy[part], replace(
        geo, batch=part.stop - part.start)), parts)
    dw = sums[0]
    for other in sums[1:]:
        dw += other
    return dw


def _weight_grad_chunk(x: np.ndarray, dy: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dw as the correlation of x (batch ↔ channels) with dy as kernel, dilated by s."""
    g = geo.groups
    pads = _weight_pads(geo)
    spatial = tuple(range(3, 3 + geo.ndim))
    # x as (C_in/g, g, N, *S): C_in/g is the batch, N the contracted channel axis.
    xg = x.reshape(geo.batch, g, -1, *geo.in_size).transpose(2, 1, 0, *spatial)
    # dy as a (g, C_out/g, N, *M) kernel.
    dyg = dy.reshape(geo.batch, g, -1, *geo.out_size).transpose(1, 2, 0, *spatial)
    dw = correlate(xg, dyg, geo.dilation, geo.stride, pads)   # (C_in/g, g, C_out/g, *K)
    return dw.transpose(1, 2, 0, *spatial).reshape(geo.weight_shape)


def forward_problem(geo: ConvGeometry, dtype, batch: int | None = None) -> Problem:
    """The correlation of ``conv`` (of ``batch`` images, default all): x as (N, g, C_in/g,
    *S), w as (g, C_out/g, C_in/g, *K), the layer's stride, dilation and padding."""
    g = geo.groups
    n = geo.batch if batch is None else batch
    return Problem.of((n, g, geo.in_channels // g, *geo.in_size),
                      (g, geo.out_channels // g, geo.in_channels // g, *geo.kernel),
                      geo.stride, geo.dilation, geo.padding, dtype)


def weight_problem(geo: ConvGeometry, dtype, batch: int | None = None) -> Problem:
    """The correlation of the weight rule: x as (C_in/g, g, N, *S) — C_in/g the batch, N
    contracted — with ∂L/∂y as the kernel (g, C_out/g, N, *M), stride and dilation swapped,
    padded by ``_weight_pads``."""
    g = geo.groups
    n = geo.batch if batch is None else batch
    return Problem.of((geo.in_channels // g, g, n, *geo.in_size),
                      (g, geo.out_channels // g, n, *geo.out_size), geo.dilation, geo.stride,
                      _weight_pads(geo), dtype)


def _weight_pads(geo: ConvGeometry) -> tuple[tuple[int, int], ...]:
    """The weight gradient's padding of x: the layer's, less the remainder r on the high side
    (the input positions no output reads)."""
    return tuple((lo, hi - r) for (lo, hi), r in zip(geo.padding, geo.remainder))


# ----------------------------------------------------------------------------- checks

def grad_geometry(op: str, input_shape, weight_shape, dy: np.ndarray, stride, padding, dilation,
                  groups) -> ConvGeometry:
    """Geometry of the forward conv a gradient belongs to, checked against dy's shape, and its
    result (x's shape for ``conv_grad_input``, w's for ``conv_grad_weight``) against memory."""
    input_shape = check_shape(op, "input_shape", input_shape, empty_batch=True)
    weight_shape = check_shape(op, "weight_shape", weight_shape)
    geo = conv_geometry(op, input_shape, weight_shape, stride, padding, dilation, groups)
    if dy.shape != geo.output_shape:
        raise ValueError(
            f"{op}: dy.shape={dy.shape} does not match the forward output: input_shape="
            f"{tuple(geo.input_shape)}, weight_shape={tuple(geo.weight_shape)}, stride="
            f"{geo.stride}, padding={geo.padding}, dilation={geo.dilation} give "
            f"{geo.output_shape}")
    check_memory(op, geo, dy.dtype,
                 geo.input_shape if op == "conv_grad_input" else geo.weight_shape)
    return geo


def _check_operands(op: str, geo: ConvGeometry, **arrays) -> None:
    """Each ``name=(array, shape)`` has that shape and all share one float dtype."""
    check_arrays(op, **{name: a for name, (a, _) in arrays.items()})
    for name, (a, shape) in arrays.items():
        if a.shape != tuple(shape):
            raise ValueError(f"{op}: {name}.shape={a.shape} does not fit the convolution, which "
                             f"needs {tuple(shape)}")


def _check_bias(op: str, b: np.ndarray | None, out_channels: int) -> None:
    if b is not None and b.shape != (out_channels,):
        raise ValueError(f"{op}: bias must have shape (C_out,) = ({out_channels},), "
                         f"got b.shape={b.shape}")
