"""Optional compiled kernels (numba) for the one case BLAS cannot help: depthwise taps.

A depthwise convolution multiplies each channel by its own few weights — no matrix product to
hand to BLAS — so NumPy pays one pass over memory per tap and operation. With numba installed
(the ``fast`` extra) these loops run compiled, on every core: each (image, channel) plane is
padded inside the cache (no padded copy in memory), every output row is summed over all taps
there, and the bias is its starting value. Without numba — or with ``CONVGRAD_JIT=0`` — the
NumPy path is used; both are tested against each other and against torch.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from types import SimpleNamespace

import numpy as np

from .. import tuning
from ..runtime import pool
from ..settings import current, settings

_installed = importlib.util.find_spec("numba") is not None   # numba itself loads on first use


def available() -> bool:
    """True when the compiled kernels are installed, switched on and load."""
    return _installed and current().jit and _kernels() is not None


def jit_enabled(on: bool):
    """Switch the compiled kernels on or off in this context (tests, benchmarks):
    ``engine.settings(jit=on)``."""
    return settings(jit=bool(on))


@functools.cache
def _kernels():
    """Compile-on-first-call kernels, built when first needed (importing numba takes ~0.1 s)."""
    try:
        from numba import njit
    except Exception:  # noqa: BLE001  (a broken numba install must not break convgrad)
        return None

    # Every inner loop runs over a slice with a range index: numba then knows the index is
    # non-negative, drops the wrap-around test and LLVM vectorises the loop (3× faster).
    @njit(nogil=True)              # no cache=True: it writes into the installed package
    def _depthwise_taps(x, weights, bias, rows_at, padded_size, offsets, starts, width, step,
                        first_plane, stop_plane, out):   # pragma: no cover (compiled)
        n_last = x.shape[1] // rows_at.shape[0]
        copy = padded_size != x.shape[1]
        scratch = np.zeros(padded_size if copy else 1, x.dtype)   # borders stay zero
        acc = np.empty(width, x.dtype)
        for r in range(first_plane, stop_plane):
            if copy:                     # this plane, padded, in cache
                for i in range(rows_at.shape[0]):
                    dst = scratch[rows_at[i]:rows_at[i] + n_last]
                    src = x[r, i * n_last:(i + 1) * n_last]
                    for q in range(n_last):
                        dst[q] = src[q]
                plane = scratch
            else:
                plane = x[r]
            for k in range(starts.shape[0]):
                dst = out[r, k * width:(k + 1) * width]
                if step > 1:                 # strided: each tap's every step-th value
                    for q in range(width):
                        acc[q] = bias[r]
                    for t in range(offsets.shape[0]):
                        wt, first = weights[r, t], starts[k] + offsets[t]
                        for q in range(width):
                            acc[q] += wt * plane[first + q * step]
                    for q in range(width):
                        dst[q] = acc[q]
                    continue
                if offsets.shape[0] == 9:    # 3×3 (any 9 taps): one pass, the sum in
                    # registers, not 9 passes over acc (depthwise 56² fwd 2.3 → 1.2 ms)
                    s = starts[k]
                    p0 = plane[s + offsets[0]:s + offsets[0] + width]
                    p1 = plane[s + offsets[1]:s + offsets[1] + width]
                    p2 = plane[s + offsets[2]:s + offsets[2] + width]
                    p3 = plane[s + offsets[3]:s + offsets[3] + width]
                    p4 = plane[s + offsets[4]:s + offsets[4] + width]
                    p5 = plane[s + offsets[5]:s + offsets[5] + width]
                    p6 = plane[s + offsets[6]:s + offsets[6] + width]
                    p7 = plane[s + offsets[7]:s + offsets[7] + width]
                    p8 = plane[s + offsets[8]:s + offsets[8] + width]
                    w = weights[r]
                    for q in range(width):
                        dst[q] = (bias[r] + w[0] * p0[q] + w[1] * p1[q] + w[2] * p2[q]
                                  + w[3] * p3[q] + w[4] * p4[q] + w[5] * p5[q]
                                  + w[6] * p6[q] + w[7] * p7[q] + w[8] * p8[q])
                    continue
                for q in range(width):
                    acc[q] = bias[r]
                for t in range(offsets.shape[0]):
                    wt, first = weights[r, t], starts[k] + offsets[t]
                    src = plane[first:first + width]
                    for q in range(width):
                        acc[q] += wt * src[q]
                for q in range(width):
                    dst[q] = acc[q]

    @njit(nogil=True, fastmath=True)   # fastmath: lets the inner dot product vectorise
    def _window_dots(x, dy, lo0, lo1, s0, s1, d0, d1, padded0, padded1, zero, first_group,
                     stop_group, out):   # pragma: no cover (compiled)
        images, groups, rows, cols = x.shape
        m0, m1 = dy.shape[2], dy.shape[3]
        k0, k1 = out.shape[1], out.shape[2]
        span = (m1 - 1) * d1 + 1
        for g in range(first_group, stop_group):
            scratch = np.zeros((padded0, padded1), x.dtype)          # borders stay zero
            acc = np.zeros((k0, k1), x.dtype)
            for n in range(images):
                for i in range(rows):
                    dst, src = scratch[lo0 + i, lo1:lo1 + cols], x[n, g, i]
                    for q in range(cols):
                        dst[q] = src[q]
                for a in range(k0):
                    for i in range(m0):
                        row, grad = scratch[a * s0 + i * d0], dy[n, g, i]
                        for b in range(k1):
                            total = zero        # the data's precision: float32 stays
                            if d1 == 1:         # a unit-stride slice vectorises (2.4×)
                                seg = row[b * s1:b * s1 + m1]
                                for j in range(m1):
                                    total += seg[j] * grad[j]
                            else:
                                spread = row[b * s1:b * s1 + span:d1]
                                for j in range(m1):
                                    total += spread[j] * grad[j]
                            acc[a, b] += total
            out[g] = acc

    @njit(nogil=True)
    def _depthwise_scatter(dy, weights, offsets, starts, width, step, padded_size, rows_at,
                           first_plane, stop_plane, out):   # pragma: no cover (compiled)
        n_last = out.shape[1] // rows_at.shape[0]
        scratch = np.empty(padded_size, dy.dtype)
        for r in range(first_plane, stop_plane):
            scratch[:] = 0                   # the padded plane of ∂L/∂x, in cache
            for k in range(starts.shape[0]):
                src = dy[r, k * width:(k + 1) * width]
                for t in range(offsets.shape[0]):
                    wt, first = weights[r, t], starts[k] + offsets[t]
                    for q in range(width):
                        scratch[first + q * step] += wt * src[q]
            for i in range(rows_at.shape[0]):      # its interior is ∂L/∂x
                dst = out[r, i * n_last:(i + 1) * n_last]
                inner = scratch[rows_at[i]:rows_at[i] + n_last]
                for q in range(n_last):
                    dst[q] = inner[q]

    # Not parallel: it runs right after a BLAS call, whose threads keep spinning for a while;
    # numba's threads would fight them for the cores (measured 2× slower than one thread).
    @njit(nogil=True)      # several batch parts may run it at once (ops.parallel)
    def _add_taps(per_tap, bias, shifts, first, out):   # pragma: no cover (compiled)
        images, groups, taps, channels, n0, n1, n2 = per_tap.shape
        m0, m1, m2 = out.shape[3], out.shape[4], out.shape[5]
        for r in range(images):
            for g in range(groups):
                for c in range(channels):
                    for h in range(m0 if first else 0):      # the first taps start the sum
                        for i in range(m1):
                            dst = out[r, g, c, h, i]
                            for q in range(m2):
                                dst[q] = bias[g, c]
                    for t in range(taps):
                        a, b, e = shifts[t, 0], shifts[t, 1], shifts[t, 2]
                        first_j, last_j = max(0, -e), min(m2, n2 - e)
                        width = last_j - first_j
                        for h in range(max(0, -a), min(m0, n0 - a)):
                            for i in range(max(0, -b), min(m1, n1 - b)):
                                dst = out[r, g, c, h, i, first_j:last_j]
                                src = per_tap[r, g, t, c, h + a, i + b,
                                              first_j + e:first_j + e + width]
                                for q in range(width):
                                    dst[q] += src[q]

    @njit(nogil=True)
    def _tap_major(w, out):   # pragma: no cover (compiled)
        groups, rows, cols, taps = w.shape
        for g in range(groups):                      # 16×16 tiles: every tap of a tile's
            for r0 in range(0, rows, 16):            # source lines is used while in cache
                for c0 in range(0, cols, 16):
                    for t in range(taps):
                        for r in range(r0, min(r0 + 16, rows)):
                            dst = out[g, t, r]
                            for c in range(c0, min(c0 + 16, cols)):
                                dst[c] = w[g, r, c, t]

    return SimpleNamespace(depthwise_taps=_depthwise_taps, depthwise_scatter=_depthwise_scatter,
                           window_dots=_window_dots, add_taps=_add_taps, tap_major=_tap_major)


def over_planes(run, planes: int, work: int) -> None:
    """``run(first, stop)`` over ``range(planes)`` in chunks that this thread and the pool's
    take in turn (``pool.spread``: the kernels release the GIL; a helper that has not started
    when the chunks run out is cancelled). Not numba's ``parallel=True``: right after a BLAS
    call — the pointwise convolution before every depthwise one — OpenBLAS's threads spin on
    the cores, and a static split waits for its slowest thread (a strided depthwise forward
    after a matmul: 2× its time alone). One chunk below ``tuning.thread_elements`` of work
    per thread, or inside a batch part."""
    threads = pool.threads()
    count = 1 if threads == 1 or pool.in_part() else max(
        1, min(planes, 4 * threads, work // tuning.current().thread_elements))
    bounds = [planes * i // count for i in range(count + 1)]
    pool.spread(lambda i: run(bounds[i], bounds[i + 1]), count)


def _plane_layout(size, kernel, stride, dilation, pads):
    """A depthwise plane's flat layout: the padded size, the output size, each tap's flat
    offset, each output row's flat start (stride applied) and where each row of x lies."""
    padded = [n + lo + hi for n, (lo, hi) in zip(size, pads)]
    out = [(n - d * (k - 1) - 1) // s + 1 for n, k, d, s in zip(padded, kernel, dilation, stride)]
    row = [math.prod(padded[i + 1:]) for i in range(len(padded))]   # padded flat strides
    offsets = [sum(j * d * r for j, d, r in zip(tap, dilation, row)) for tap in np.ndindex(*kernel)]
    rows_at = _flat_starts([range(lo, lo + n) for n, (lo, _) in zip(size[:-1], pads[:-1])],
                           row[:-1]) + pads[-1][0]
    starts = _flat_starts([range(0, m * s, s) for m, s in zip(out[:-1], stride[:-1])], row[:-1])
    return padded, out, np.asarray(offsets, dtype=np.int64), starts, rows_at


def _plane_weights(w, batch, groups, dtype):
    """Each (image, channel) plane's taps, (B·G, ΠK) contiguous."""
    weights = np.broadcast_to(w.reshape(1, groups, -1), (batch, groups, w[0].size))
    return np.ascontiguousarray(weights, dtype=dtype).reshape(batch * groups, -1)


def depthwise_taps(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, dilation,
                   pads, stride=None) -> np.ndarray:
    """Depthwise correlation: ``x (B, G, *S) ⋆ w (G, *K) + bias (G,)`` with x padded by
    ``pads`` ((lo, hi) ≥ 0 per axis), ``stride`` (default 1) → (B, G, *M). Each (image,
    channel) plane is padded into a cache-sized scratch and every output row is summed over
    all taps there, so the only passes over memory are reading x and writing the output."""
    batch, groups, size, kernel = x.shape[0], x.shape[1], x.shape[2:], w.shape[1:]
    stride = (1,) * len(size) if stride is None else tuple(stride)
    padded, out, offsets, starts, rows_at = _plane_layout(size, kernel, stride, dilation, pads)
    planes = batch * groups
    weights = _plane_weights(w, batch, groups, x.dtype)
    bias = np.zeros(groups, x.dtype) if bias is None else bias.reshape(groups)
    bias_rows = np.ascontiguousarray(np.broadcast_to(bias, (batch, groups))).reshape(planes)
    y = np.empty((planes, math.prod(out)), dtype=x.dtype)
    flat = np.ascontiguousarray(x).reshape(planes, -1)
    over_planes(lambda lo, hi: _kernels().depthwise_taps(
        flat, weights, bias_rows, rows_at, math.prod(padded), offsets, starts, out[-1],
        stride[-1], lo, hi, y), planes, y.size * len(offsets))
    return y.reshape(batch, groups, *out)


def depthwise_scatter(dy: np.ndarray, w: np.ndarray, size, stride, dilation, pads,
                      out: np.ndarray | None = None) -> np.ndarray:
    """The input gradient of a depthwise correlation, by its definition: ``dx[b, g, i] =
    Σ_{p, j : p·s + j·d − lo = i} dy[b, g, p] · w[g, j]`` for dy (B, G, *M), w (G, *K),
    pads (lo, hi) ≥ 0 → dx (B, G, *size), into ``out`` if given. Each plane's products are
    added into its padded ∂L/∂x in cache (torch's col2im: no product of an inserted zero,
    so a NaN tap stays where it lands), whose interior is copied out."""
    batch, groups, kernel = dy.shape[0], dy.shape[1], w.shape[1:]
    padded, m, offsets, starts, rows_at = _plane_layout(size, kernel, stride, dilation, pads)
    if list(m) != list(dy.shape[2:]):
        raise ValueError(f"depthwise_scatter: dy has spatial size {dy.shape[2:]}, the "
                         f"geometry gives {tuple(m)}")
    planes = batch * groups
    dx = np.empty((batch, groups, *size), dy.dtype) if out is None else out
    flat, weights, into = (np.ascontiguousarray(dy).reshape(planes, -1),
                           _plane_weights(w, batch, groups, dy.dtype), dx.reshape(planes, -1))
    over_planes(lambda lo, hi: _kernels().depthwise_scatter(
        flat, weights, offsets, starts, m[-1], stride[-1], math.prod(padded), rows_at, lo, hi,
        into), planes, flat.size * len(offsets))
    return dx


def _flat_starts(ranges, strides) -> np.ndarray:
    """Flat offsets Σ iₐ·strideₐ over the grid of ``ranges`` (row-major); [0] for no axes."""
    grid = np.zeros(1, dtype=np.int64)
    for axis_range, stride in zip(ranges, strides):
        grid = (grid[:, None] + np.asarray(axis_range, dtype=np.int64)[None, :] * stride).ravel()
    return grid


def window_dots(x: np.ndarray, dy: np.ndarray, stride, dilation, pads, out_size) -> np.ndarray:
    """2-d depthwise weight gradient: ``out[g, a, b] = Σ_{n,i,j} x_pad[n, g, a·s₀ + i·d₀,
    b·s₁ + j·d₁] · dy[n, g, i, j]`` with x (N, G, H, W) padded by ``pads`` ((lo, hi) ≥ 0) one
    plane at a time, in cache."""
    x, dy = np.ascontiguousarray(x), np.ascontiguousarray(dy)
    (lo0, hi0), (lo1, hi1) = pads
    out = np.empty((x.shape[1], *out_size), dtype=x.dtype)
    over_planes(lambda lo, hi: _kernels().window_dots(
        x, dy, lo0, lo1, *stride, *dilation, x.shape[2] + lo0 + hi0, x.shape[3] + lo1 + hi1,
        x.dtype.type(0), lo, hi, out), x.shape[1], dy.size * out[0].size)
    return out


def add_taps(per_tap: np.ndarray, bias: np.ndarray | None, shifts, out: np.ndarray,
             first: bool = True) -> None:
    """The second half of the ``stacked`` correlation (a col2im), into ``out`` (B, G, C, *M):
    ``out[n, g, c, p] = bias[g, c] + Σ_t per_tap[n, g, t, c, p + shift_t]`` (zero outside
    per_tap) for per_tap (B, G, T, C, *S), 1 to 3 spatial axes, and one shift per tap; with
    ``first=False`` the taps are added to what ``out`` holds (a later chunk of taps)."""
    lead, unit = per_tap.shape[:4], 3 - (per_tap.ndim - 4)      # 1-d/2-d as 3-d
    groups, channels = lead[1], lead[3]
    bias = np.zeros((groups, channels), per_tap.dtype) if bias is None else bias
    shifts = np.array([[0] * unit + list(s) for s in shifts], dtype=np.int64).reshape(-1, 3)
    _kernels().add_taps(per_tap.reshape(*lead, *(1,) * unit, *per_tap.shape[4:]),
                        np.ascontiguousarray(bias), shifts, first,
                        out.reshape(*out.shape[:3], *(1,) * unit, *out.shape[3:]))


def tap_major(w: np.ndarray) -> np.ndarray:
    """The kernel (G, Co, Ci, *K) — any strides, say rot180 of a transposed kernel — copied
    tap-major, (G, ΠK, Co, Ci) contiguous, in cache-sized tiles (NumPy's strided copy of a
    transposed kernel runs at ~2 GB/s: 1 ms for a 256×128×3×3 float64 kernel)."""
    groups, rows, cols = w.shape[:3]
    out = np.empty((groups, math.prod(w.shape[3:]), rows, cols), dtype=w.dtype)
    _kernels().tap_major(w.reshape(groups, rows, cols, -1), out)
    return out
