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
  ``_input_grad_phases``). Each phase is still a call of the primitive — and where the
  primitive would use its ``stacked`` method, the phases, which between them hold every tap
  once, share that method's one matmul (``correlate_phases``).
* ∂L/∂w is a correlation of x with ∂L/∂y playing the kernel: batch and channel axes swap roles
  (N is contracted, C_in becomes the batch), the kernel ∂L/∂y is dilated by s, the window moves
  by d, and the padding is (lo, hi − r) — the r positions no window reached are cropped. With
  groups, each C_in/g slice pairs only with its own C_out/g slices of ∂L/∂y: the same grouped
  primitive, with the group axis kept.

Negative padding means crop. Because both gradients are calls of ``conv``'s core, the autograd
engine that differentiates them gets double backward with no new math.
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import product
from typing import Sequence

import numpy as np

from . import parallel
from .correlate import (
    correlate,
    correlate_phases,
    current_method,
    forced_method,
    get_workspace_limit,
    shared_workspace,
    threads_itself,
)
from .geometry import (
    ConvGeometry,
    IntOrInts,
    Padding,
    check_arrays,
    conv_geometry,
    effective_kernel,
    transpose_geometry,
)


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
    x, w, b = check_arrays("conv", x=x, w=w, b=b)
    geo = conv_geometry("conv", x.shape, w.shape, stride, padding, dilation, groups)
    _check_bias("conv", b, geo.out_channels)
    g = geo.groups
    wg = w.reshape(g, -1, *w.shape[1:])
    bg = None if b is None else b.reshape(g, -1)
    parts = _batch_parts(geo, x.dtype, lambda: threads_itself(
        (geo.batch, g, geo.in_channels // g, *geo.in_size), wg.shape, geo.stride, geo.dilation,
        geo.padding, x.dtype))
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
    geo = _geometry_for_grad("conv_grad_input", input_shape, w.shape, dy.shape, stride, padding,
                             dilation, groups)
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
    geo = _geometry_for_grad("conv_grad_weight", x.shape, weight_shape, dy.shape, stride, padding,
                             dilation, groups)
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
    x, w, b = check_arrays("conv_transpose", x=x, w=w, b=b)
    geo = transpose_geometry("conv_transpose", x.shape, w.shape, stride, padding, output_padding,
                             groups, dilation)
    _check_bias("conv_transpose", b, geo.in_channels)
    y = _input_grad(x, w, geo)
    if b is not None:
        y += b.reshape(-1, *(1,) * geo.ndim)
    return y


# ----------------------------------------------------------------------------- the two rules

def _input_grad(dy: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dx, batch part by batch part (padded copies within the workspace cap; parts on
    several cores)."""
    def full_correlation_threads_itself() -> bool:        # stride 1: one correlation
        if any(s != 1 for s in geo.stride):
            return False
        _, dilation, pads, _ = zip(*(axis[0] for axis in _phases(geo)))
        g, ci, co = geo.groups, geo.in_channels, geo.out_channels
        return threads_itself((geo.batch, g, co // g, *geo.out_size),
                              (g, ci // g, co // g, *geo.kernel), geo.stride, dilation, pads,
                              dy.dtype)

    parts = _batch_parts(geo, dy.dtype, full_correlation_threads_itself)
    if len(parts) == 1:
        return _input_grad_chunk(dy, w, geo)
    dx = np.empty(geo.input_shape, dtype=dy.dtype)

    def one_part(part: slice) -> None:
        _input_grad_chunk(dy[part], w, replace(geo, batch=dx[part].shape[0]), out=dx[part])

    _map_parts(one_part, parts)
    return dx


def _input_grad_chunk(dy: np.ndarray, w: np.ndarray, geo: ConvGeometry,
                      out: np.ndarray | None = None) -> np.ndarray:
    """dx as a sum over stride phases of stride-1 correlations with sub-sampled rot180(w);
    into ``out`` (``geo.input_shape``, C-contiguous: a batch slice of the whole dx) if given."""
    g, ndim = geo.groups, geo.ndim
    dyg = dy.reshape(geo.batch, g, -1, *geo.out_size)
    # rot180, in/out channels swapped within each group: (g, C_in/g, C_out/g, *K)
    flip = (slice(None),) * 3 + (slice(None, None, -1),) * ndim
    w_rot = w.reshape(g, -1, *w.shape[1:]).swapaxes(1, 2)[flip]
    phases = _phases(geo)
    if all(s == 1 for s in geo.stride):      # one phase, all taps: the textbook full correlation
        _, dil, pads, _ = zip(*(axis[0] for axis in phases))
        into = None if out is None else out.reshape(geo.batch, g, -1, *geo.in_size)
        return correlate(dyg, w_rot, (1,) * ndim, dil, pads, out=into).reshape(geo.input_shape)
    parts = [tuple(zip(*combo)) for combo in product(*phases)]   # (taps, dil, pads, where)
    # positions of a phase that meets no tap stay zero; else every position is written
    whole = all(len(axis) == min(s, n) for axis, s, n in zip(phases, geo.stride, geo.in_size))
    shape = (geo.batch, g, geo.in_channels // g, *geo.in_size)
    dx = np.empty(shape, dy.dtype) if out is None else out.reshape(shape)
    if not whole:
        dx[...] = 0
    if parts and not correlate_phases(dyg, w_rot, geo.dilation, parts, dx):   # one matmul
        for taps, dil, pads, where in parts:
            dx[(slice(None),) * 3 + where] = correlate(dyg, w_rot[(slice(None),) * 3 + taps],
                                                       (1,) * ndim, dil, pads)
    return dx.reshape(geo.input_shape)


def _phases(geo: ConvGeometry) -> list[list[tuple]]:
    """``_input_grad_phases`` per axis."""
    return [_input_grad_phases(n, m, k, s, d, lo)
            for n, m, k, s, d, (lo, _) in zip(geo.in_size, geo.out_size, geo.kernel,
                                              geo.stride, geo.dilation, geo.padding)]


def _input_grad_phases(n: int, m: int, k: int, s: int, d: int, lo: int) -> list[tuple]:
    """Per-axis stride phases of the input gradient: (taps, dilation, (lo, hi), output slice).

    Output positions i ≡ a (mod s) read the zero-inserted dy only through the rotated taps j with
    j·d ≡ P − a (mod s), P = ke − 1 − lo. Those taps are j_a, j_a + s', … with s' = s/gcd(d, s);
    consecutive ones land d/gcd(d, s) apart in dy. So phase a is a stride-1 correlation of dy with
    rot180(w)[j_a::s'], dilation d/gcd(d, s), padded by −e_a on the low side, where
    e_a = (a + j_a·d − P)/s, and as much on the high side as gives ⌈(n − a)/s⌉ outputs.
    Phases that meet no tap contribute zeros and are left out.
    """
    ke = effective_kernel(k, d)
    big_p = ke - 1 - lo
    step = s // math.gcd(d, s)
    phase_dilation = d // math.gcd(d, s)
    phases = []
    for a in range(min(s, n)):
        first = next((j for j in range(min(k, step)) if (j * d - (big_p - a)) % s == 0), None)
        if first is None:
            continue
        count = len(range(first, k, step))
        e = (a + first * d - big_p) // s
        length = -(-(n - a) // s)
        hi = length - 1 + effective_kernel(count, phase_dilation) - m + e
        phases.append((slice(first, None, step), phase_dilation, (-e, hi), slice(a, None, s)))
    return phases


def _weight_grad(x: np.ndarray, dy: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dw summed over batch parts (the batch is the contracted axis)."""
    g = geo.groups
    parts = _batch_parts(geo, x.dtype, lambda: threads_itself(
        (geo.in_channels // g, g, geo.batch, *geo.in_size),
        (g, geo.out_channels // g, geo.batch, *geo.out_size), geo.dilation, geo.stride,
        _weight_pads(geo), x.dtype))
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


def _weight_pads(geo: ConvGeometry) -> tuple[tuple[int, int], ...]:
    """The weight gradient's padding of x: the layer's, less the remainder r on the high side
    (the input positions no output reads)."""
    return tuple((lo, hi - r) for (lo, hi), r in zip(geo.padding, geo.remainder))


# ----------------------------------------------------------------------------- checks

def _geometry_for_grad(op: str, input_shape, weight_shape, dy_shape, stride, padding, dilation,
                       groups) -> ConvGeometry:
    """Geometry of the forward conv a gradient belongs to, checked against dy's shape."""
    for name, shape in (("input_shape", input_shape), ("weight_shape", weight_shape)):
        if not (isinstance(shape, (tuple, list)) and all(
                isinstance(v, (int, np.integer)) for v in shape)):
            raise TypeError(f"{op}: {name} must be a tuple of ints, got {shape!r}")
    geo = conv_geometry(op, input_shape, weight_shape, stride, padding, dilation, groups)
    if tuple(dy_shape) != geo.output_shape:
        raise ValueError(
            f"{op}: dy.shape={tuple(dy_shape)} does not match the forward output: input_shape="
            f"{tuple(geo.input_shape)}, weight_shape={tuple(geo.weight_shape)}, stride="
            f"{geo.stride}, padding={geo.padding}, dilation={geo.dilation} give "
            f"{geo.output_shape}")
    return geo


def _check_bias(op: str, b: np.ndarray | None, out_channels: int) -> None:
    if b is not None and b.shape != (out_channels,):
        raise ValueError(f"{op}: bias must have shape (C_out,) = ({out_channels},), "
                         f"got b.shape={b.shape}")


class _Parts(list):
    """Batch slices; ``concurrent``: one per core, to run at once."""
    concurrent = False


def _batch_parts(geo: ConvGeometry, dtype, threads_itself=lambda: False) -> _Parts:
    """Batch slices whose padded copy (and the temporaries of the same order of size that a
    contraction makes) fit in a quarter of the workspace cap, run one after another. For
    usual sizes that is one slice, which is cut into one part per core instead when the
    call is worth running on several (``_concurrent``) — unless the correlation spreads its
    work over the cores itself (``threads_itself()``, asked only then: Winograd)."""
    per_image = (max(geo.in_channels, geo.out_channels) * math.prod(
        n + max(lo, 0) + max(hi, 0) + k * d for n, k, d, (lo, hi) in
        zip(geo.in_size, geo.kernel, geo.dilation, geo.padding)) * np.dtype(dtype).itemsize)
    step = max(1, get_workspace_limit() // (4 * per_image))
    concurrent = step >= geo.batch and _concurrent(geo) and not threads_itself()
    if concurrent:
        step = -(-geo.batch // parallel.THREADS)
    parts = _Parts(slice(i, min(i + step, geo.batch)) for i in range(0, geo.batch, step))
    parts.concurrent = concurrent and len(parts) > 1
    return parts


def _concurrent(geo: ConvGeometry) -> bool:
    """Split the batch over the cores (one-core BLAS each): several images, enough work per
    call for the threads to pay, not depthwise (the compiled kernels use every core), not
    pointwise (one plain matmul, which BLAS threads well) and not a large kernel (FFTs,
    threaded by scipy)."""
    macs = (geo.batch * geo.out_channels * geo.in_channels // geo.groups
            * math.prod(geo.kernel) * math.prod(geo.out_size))
    return (parallel.THREADS > 1 and geo.batch > 1 and macs >= parallel.CONCURRENT_MACS
            and geo.in_channels // geo.groups > 1 and math.prod(geo.kernel) > 1
            and max(geo.kernel) <= 5
            and parallel.blas_controller() is not None)


def _map_parts(fn, parts: _Parts) -> list:
    """``fn`` over the batch parts, at once on several cores when ``parts.concurrent`` — each
    part within its share of the workspace cap, and with the method forced in this thread
    (tests, benchmarks) forced in the workers too."""
    method = current_method()
    sharing = len(parts) if parts.concurrent else 1

    def in_worker(part: slice):
        with forced_method(method), shared_workspace(sharing):
            return fn(part)

    return parallel.map_parts(in_worker, parts, concurrent=parts.concurrent)
