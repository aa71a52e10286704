r"""``window``: one einsum per *output* position over channels and taps, no copy.

    y[b, g, o, p] = Σ_{c, j} x[b, g, c, p·s + j·d] · w[g, o, c, j]    (per p: np.einsum)

On a strided slice of x. For few outputs and many taps with tiny B·C_out: the weight
gradient of a depthwise convolution, where each channel's ΠK weights are dot products; and
a single window (the kernel covers x: a pointwise layer's weight gradient), a sum over the
channels of matmuls read in place — by BLAS's gemm adding into y where it can.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np

from ...ops.windows import output_length
from ..kernels import blas
from ..registry import Algorithm, direct_run


def window(x, w, stride, dilation):
    """Per output position, one einsum of the strided window of x with all of w. A single
    position (the kernel covers x: the weight gradient of a pointwise layer) with many rows
    is a sum over the channels c of matmuls ``x[:, g, c] @ w[g, :, c]ᵀ`` over the window,
    each reading both operands in place."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    kernel = w.shape[3:]
    out_size = [output_length(n, k, s, d) for n, k, s, d in
                zip(x.shape[3:], kernel, stride, dilation)]
    if math.prod(out_size) == 1 and batch * w.shape[1] > 4:
        window = x[(...,) + tuple(slice(0, d * (k - 1) + 1, d) for k, d in zip(kernel, dilation))]
        rows, taps = window.reshape(batch, groups, ci, -1), w.reshape(*w.shape[:3], -1)
        y = np.empty((groups, batch, w.shape[1]), dtype=x.dtype)
        if not gemm_sum(rows, taps, y):
            y[...] = 0
            for g, c in np.ndindex(groups, ci):
                y[g] += rows[:, g, c] @ taps[g, :, c].T
        return y.transpose(1, 0, 2).reshape(batch, groups, w.shape[1], *out_size)
    y = np.empty((batch, groups, w.shape[1], *out_size), dtype=x.dtype)
    axes = "xyzuvt"[:ndim]
    subscripts = f"bgc{axes},goc{axes}->bgo"
    for pos in np.ndindex(*out_size):
        window = tuple(slice(p * s, p * s + d * (k - 1) + 1, d) for p, s, d, k in
                       zip(pos, stride, dilation, kernel))
        y[(...,) + pos] = np.einsum(subscripts, x[(...,) + window], w)
    return y


def gemm_sum(rows: np.ndarray, taps: np.ndarray, y: np.ndarray) -> bool:
    """``y[g] = Σ_c rows[:, g, c] @ taps[g, :, c]ᵀ`` — rows (B, G, C, K), taps (G, O, C, K) —
    by BLAS's gemm (``blas.gemm``) adding into y (β = 1): no product temporaries and no adds
    (the weight gradient of the pointwise layer 2.32 → 1.93 ms in float64, 1.18 → 1.02 in
    float32). Both operands read in place, so their last axis must be contiguous; False
    (nothing done) where it is not or there is no gemm."""
    gemm = blas.gemm(y.dtype)
    size = y.itemsize
    if (gemm is None or rows.shape[2] == 0 or rows.dtype != y.dtype or taps.dtype != y.dtype
            or any(a.strides[-1] != size or min(a.strides) < 0 or a.strides[0] % size
                   or a.strides[1] % size for a in (rows, taps))):
        return False
    batch, groups, ci, k = rows.shape
    co = taps.shape[1]
    lda, ldb = rows.strides[0] // size, taps.strides[1] // size
    if lda < k or ldb < k:
        return False
    pointer = ctypes.c_void_p
    for g, c in np.ndindex(groups, ci):
        gemm(blas.ROW_MAJOR, blas.NO_TRANS, blas.TRANS, batch, co, k, 1.0,
             pointer(rows[0, g, c].ctypes.data), lda, pointer(taps[g, 0, c].ctypes.data), ldb,
             0.0 if c == 0 else 1.0, pointer(y[g].ctypes.data), co)
    return True


class Window(Algorithm):
    name = "window"
    summary = "per output position one einsum of its strided window of x with all of w"

    def runtime(self, problem):
        if problem.outputs == 1 and problem.batch * problem.out_channels > 4:
            return ("one window: BLAS's gemm adding into y where both operands' rows are "
                    "contiguous, else NumPy matmuls",)
        return ()

    def run(self, plan, x, w, bias=None, out=None):
        return direct_run(window, plan, x, w, bias)
