r"""``fft``: the correlation theorem, one complex matmul over channels per frequency.

    Y[b, g, o, f] = Σ_c X[b, g, c, f] · conj(W[g, o, c, f])      y = irfft(Y)[: n − ke + 1]

Stride 1: real FFTs (scipy.fft on all cores when installed, else numpy.fft) of x and of the
(dilated) kernel over a length L ≥ n per axis (the smallest 2^a·3^b·5^c); circular
wrap-around only touches outputs past n − ke, which are cut. Best for large kernels, where
the other methods copy or multiply ΠK times; float32 error stays ~1e-6 relative. Chosen by a
cost model (``tuning``: fitted on the project machine) when clearly cheaper than the direct
sum.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

from .. import tuning
from ..registry import Algorithm, needs_stride_one, padding_bytes
from ..runtime import add_bias, finite, pad
from .im2col import exactly

# scipy's pocketfft is multithreaded and ~4× faster in float32; the core needs NumPy only.
# It is imported on the first FFT (importing scipy.fft costs ~0.1 s).
FFT_OPTIONS: dict = {"workers": -1} if importlib.util.find_spec("scipy") else {}


def fft_backend():
    """scipy.fft when installed, else numpy.fft."""
    if FFT_OPTIONS:
        import scipy.fft  # noqa: PLC0415
        return scipy.fft
    return np.fft


def fft_pays(x_shape, w_shape, dilation) -> bool:
    return fft_cost(x_shape, w_shape, dilation) < 0.8 * direct_cost(x_shape, w_shape, dilation)


def fft_cost(x_shape, w_shape, dilation) -> float:
    """Seconds by the FFT model for the padded x (B, G, Ci, *S) and w (G, Co, Ci, *K)."""
    t = tuning.current()
    batch, groups, ci = x_shape[:3]
    co, size = w_shape[1], x_shape[3:]
    lengths = [fast_length(n) for n in size]
    bins = math.prod(lengths[:-1]) * (lengths[-1] // 2 + 1)
    spectra = groups * (batch * ci + co * ci + batch * co) * bins
    return t.fft_fixed + spectra * t.fft_element + batch * groups * ci * co * bins * t.fft_mac


def direct_cost(x_shape, w_shape, dilation) -> float:
    """Seconds by the direct model (multiply-adds + im2col's column copies), stride 1."""
    t = tuning.current()
    batch, groups, ci = x_shape[:3]
    co, kernel, size = w_shape[1], w_shape[3:], x_shape[3:]
    out = [n - d * (k - 1) for n, k, d in zip(size, kernel, dilation)]
    macs = batch * groups * co * ci * math.prod(kernel) * math.prod(out)
    columns = batch * groups * ci * math.prod(kernel) * math.prod(out)
    return macs * t.direct_mac + columns * t.column_copy


def fast_length(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n (lengths FFTs handle fastest)."""
    best, p2 = 2 * n, 1
    while p2 < 2 * n:
        p3 = p2
        while p3 < 2 * n:
            p5 = p3
            while p5 < n:
                p5 *= 5
            best = min(best, p5)
            p3 *= 3
        p2 *= 2
    return max(best, 1)


def fft(x, w, stride, dilation):
    """Correlation by real FFTs: channels-last layouts let both the complex matmul and the
    inverse transform run on contiguous or vectorisable strides. A small operand (the kernel)
    or a small output (a weight gradient's ΠK) is transformed by DFT matrices in BLAS instead
    of padding it to the full length."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    co, kernel, size = w.shape[1], w.shape[3:], x.shape[3:]
    if any(d != 1 for d in dilation):          # the dilated kernel, zeros between taps
        spread = np.zeros(w.shape[:3] + tuple(d * (k - 1) + 1 for k, d in
                                              zip(kernel, dilation)), dtype=w.dtype)
        spread[(...,) + tuple(slice(None, None, d) for d in dilation)] = w
        w = spread
    out = [n - k + 1 for n, k in zip(size, w.shape[3:])]
    lengths = [fast_length(n) for n in size]
    spatial = tuple(range(3, 3 + ndim))
    xf = fft_backend().rfftn(x, s=lengths, axes=spatial, **FFT_OPTIONS)   # (B, G, Ci, *F)
    bins = xf.shape[3:]
    x_mat = xf.reshape(batch, groups, ci, -1).transpose(1, 3, 0, 2)      # (G, F, B, Ci)
    w_last = w.transpose(0, *range(3, 3 + ndim), 2, 1)                  # (G, *K, Ci, Co)
    w_axes = tuple(range(1, 1 + ndim))
    if 4 * math.prod(w.shape[3:]) <= math.prod(lengths):
        wf = _dft(w_last, lengths, w_axes).astype(xf.dtype, copy=False)
    else:
        wf = fft_backend().rfftn(w_last, s=lengths, axes=w_axes, **FFT_OPTIONS)
    np.conjugate(wf, out=wf)                                            # correlation, not conv
    y_mat = np.matmul(x_mat, wf.reshape(groups, -1, ci, co))            # (G, F, B, Co)
    y_mat = y_mat.reshape(groups, *bins, batch, co)
    if 8 * math.prod(out) <= math.prod(lengths):      # few outputs: transform in place
        y = _inverse_dft(y_mat, lengths, out, tuple(range(1, 1 + ndim)))  # (G, *M, B, Co)
        order = (ndim + 1, 0, ndim + 2, *range(1, ndim + 1))
    else:
        y_f = y_mat.transpose(ndim + 1, 0, *range(1, ndim + 1), ndim + 2)  # (B, G, *F, Co)
        y = fft_backend().irfftn(y_f, s=lengths, axes=tuple(range(2, 2 + ndim)),
                                 **FFT_OPTIONS)                            # (B, G, *L, Co)
        y = y[(slice(None), slice(None)) + tuple(slice(0, m) for m in out)]
        order = (0, 1, ndim + 2, *range(2, ndim + 2))
    return np.ascontiguousarray(y.transpose(order), dtype=x.dtype)


def _dft(a: np.ndarray, lengths, axes) -> np.ndarray:
    """``np.fft.rfftn(a, s=lengths, axes=axes)`` as one small matrix product per axis (the
    last axis to its half spectrum): cheap when ``a`` is much shorter than ``lengths``."""
    a = np.ascontiguousarray(a, dtype=_complex(a))
    for axis, length in reversed(list(zip(axes, lengths))):
        bins = np.arange(length // 2 + 1 if axis == axes[-1] else length)
        a = _along(a, np.exp(-2j * np.pi * np.outer(bins, np.arange(a.shape[axis])) / length),
                   axis)
    return a


def _inverse_dft(spectrum: np.ndarray, lengths, out, axes) -> np.ndarray:
    """The first ``out`` samples per axis of ``np.fft.irfftn(spectrum, s=lengths, axes=axes)``
    by matrix products — cheap when few outputs are needed (a weight gradient's taps)."""
    a = np.ascontiguousarray(spectrum)
    for axis, length, m in zip(axes, lengths, out):
        if axis == axes[-1]:                 # the half spectrum: Hermitian pairs count twice
            bins = np.arange(length // 2 + 1)
            weight = np.where((bins == 0) | (2 * bins == length), 1.0, 2.0) / length
        else:
            bins, weight = np.arange(length), np.full(length, 1.0 / length)
        a = _along(a, np.exp(2j * np.pi * np.outer(np.arange(m), bins) / length) * weight, axis)
    return a.real


def _along(a: np.ndarray, basis: np.ndarray, axis: int) -> np.ndarray:
    """Contract axis ``axis`` of the contiguous ``a`` with ``basis`` (new, old): one matmul per
    leading index on a contiguous view — no transposed copies. Returns a contiguous array."""
    lead, n, tail = math.prod(a.shape[:axis]), a.shape[axis], math.prod(a.shape[axis + 1:])
    basis = basis.astype(a.dtype)
    if lead > 1 and tail < 256:              # many tiny products: one matmul on a copy
        product = np.tensordot(a, basis, axes=([axis], [1]))
        return np.ascontiguousarray(np.moveaxis(product, -1, axis))
    product = np.matmul(basis, a.reshape(lead, n, tail))
    return product.reshape(*a.shape[:axis], basis.shape[0], *a.shape[axis + 1:])


def _complex(a: np.ndarray) -> type:
    """complex64 for single-precision data, complex128 otherwise."""
    return np.complex64 if a.dtype in (np.float32, np.complex64) else np.complex128


class Fft(Algorithm):
    name = "fft"
    summary = ("real FFTs of x and the kernel over fast lengths, one complex matmul over "
               "channels per frequency, one inverse FFT")

    def applies(self, problem, settings):
        return needs_stride_one(problem)

    def declined(self, problem, settings):
        if problem.taps < 16:
            return f"the rule needs ΠK ≥ 16 (ΠK = {problem.taps})"
        spent = fft_cost(problem.padded_shape, problem.w_shape, problem.dilation)
        direct = direct_cost(problem.padded_shape, problem.w_shape, problem.dilation)
        if not spent < 0.8 * direct:
            return (f"the cost model: {spent * 1e3:.3g} ms, not under 0.8 × the direct "
                    f"{direct * 1e3:.3g} ms")
        return None

    def cost(self, problem, tuning):
        return fft_cost(problem.padded_shape, problem.w_shape, problem.dilation)

    def workspace(self, problem):
        """The padded copy and the spectra of x, the kernel and y (half the last axis)."""
        lengths = [fast_length(n) for n in problem.padded_size]
        bins = math.prod(lengths[:-1]) * (lengths[-1] // 2 + 1)
        channels = problem.groups * (problem.batch * problem.in_channels
                                     + problem.out_channels * problem.in_channels
                                     + problem.batch * problem.out_channels)
        return padding_bytes(problem) + channels * bins * 2 * problem.itemsize

    def runtime(self, problem):
        return ("a non-finite result: recomputed by im2col (where torch's NaN and inf land)",)

    def run(self, plan, x, w, bias=None, out=None):
        p = plan.problem
        x = pad(x, p.pads)
        y = add_bias(fft(x, w, p.stride, p.dilation), bias)
        if not finite(y):
            return exactly(x, w, p.stride, p.dilation, ((0, 0),) * p.ndim, bias)
        return y
