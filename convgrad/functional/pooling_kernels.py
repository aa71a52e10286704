r"""Compiled pooling kernels (numba) and their NumPy twins, all on 3-d windows.

Notation: P planes (the N·C images of one channel each, one row each), spatial size
n = (n₀, n₁, n₂), output size m, kernel k, stride s, dilation d, low padding p. A pooling of
rank 1 or 2 runs as rank 3 with leading axes of length 1 (kernel 1, stride 1), so one kernel
serves every rank: one compiled signature per kernel and dtype. ``geometry`` packs the six
triples into one (6, 3) int64 array.

Window of output o along an axis: the taps ``i = o·s − p + j·d`` (j = 0 … k−1) with
0 ≤ i < n — the padding is never read (torch's CPU kernels clamp the window the same way).
Positions are flat in the unpadded plane: ``(i₀·n₁ + i₁)·n₂ + i₂``.

* max: ``index_o`` = the first tap in row-major order with ``x_i > max so far`` or x_i NaN —
  torch's ``val > maxval || isnan(val)`` from ``maxval = −∞``: ties go to the first maximum, a
  window with NaN to its *last* NaN, a window of −∞ only to its first tap inside x; a window
  with no tap inside x (dilation larger than x) has value −∞ and index −1 here: no gradient
  (``torch_indices`` gives torch's index for it, the clamped start, which torch's backward
  writes to). ``y_o = x[index_o]``. Backward: ``∂x[index_o] += g_o`` (``scatter_add``), whose
  transpose is ``gather``: ``h ↦ h[index]``.
* avg: ``y_o = (Σ_{i ∈ window} x_i) / c_o``, summed in row-major tap order, with ``c_o`` from
  ``divisors``. Backward: ``∂x_i += g_o / c_o`` over the same taps (``avg_backward``); the
  two are each other's transpose.

The compiled kernels run over a range of planes with the GIL released, one share of the
planes per thread: no two threads write the same row, so the scatters need no atomics. Each
has a NumPy twin (``*_numpy``), the same contract through ``sliding_windows``: the oracle of the
kernel tests, and what a backward runs when the kernels were switched off after its forward.

>>> geo = geometry((5,), (3,), (3,), (2,), (1,), (1,))   # n 5, m 3, k 3, s 2, d 1, p 1
>>> values, index = max_forward_numpy(np.array([[3.0, 1.0, 4.0, 1.0, 5.0]]), geo)
>>> values.tolist(), index.tolist(), divisors(geo, False, None, float).tolist()
([[3.0, 4.0, 5.0]], [[0, 2, 4]], [2.0, 3.0, 2.0])
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np

from ..ops import jit, parallel
from ..ops.windows import fold_windows, pad_or_crop, sliding_windows

__all__ = ["geometry", "divisors", "spans", "adaptive_spans", "clamped_starts", "torch_indices",
           "available", "max_forward", "scatter_add", "gather", "avg_forward", "avg_backward",
           "max_forward_numpy", "scatter_add_numpy", "avg_forward_numpy", "avg_backward_numpy"]


def geometry(size, out, kernel, stride, dilation, low) -> np.ndarray:
    """The (6, 3) int64 rows n, m, k, s, d, p of a 1- to 3-d pooling, as 3-d (axes of length
    1 in front)."""
    rows = [size, out, kernel, stride, dilation, low]
    unit = 3 - len(size)
    pad = (1, 1, 1, 1, 1, 0)
    return np.array([[fill] * unit + list(r) for r, fill in zip(rows, pad)], dtype=np.int64)


def divisors(geo: np.ndarray, count_include_pad: bool, divisor_override, dtype) -> np.ndarray:
    """``c_o`` (flat over m) of average pooling: ``divisor_override``, else the window's cells
    inside the padded input ``[−p, n + p)`` (``count_include_pad``) or inside x ``[0, n)``,
    a product over the axes."""
    n, m, k, s, _, p = geo
    if divisor_override is not None:
        return np.full(int(np.prod(m)), divisor_override, dtype=dtype)
    count = np.ones((1, 1, 1), np.int64)
    for axis in range(3):
        start = np.arange(m[axis]) * s[axis] - p[axis]
        end = np.minimum(start + k[axis], n[axis] + p[axis])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n[axis])
        shape = [1, 1, 1]
        shape[axis] = -1
        count = count * (end - start).reshape(shape)
    return count.reshape(-1).astype(dtype)


def available() -> bool:
    """The compiled kernels are installed, switched on (``engine.settings(jit=…)``) and load."""
    return jit.available() and _kernels() is not None


def _c(a: np.ndarray) -> np.ndarray:
    """``a`` as the kernels take it (one signature per dtype): C-contiguous and writeable."""
    return a if a.flags.c_contiguous and a.flags.writeable else np.array(a, order="C")


# ---------------------------------------------------------------------------- compiled ---

def spans(geo: np.ndarray) -> np.ndarray:
    """(3, 2, max m) int64: per axis and output, the first tap inside x (torch's clamped
    start: ``o·s − p`` moved up by d until ≥ 0) and how many taps lie inside, so that the
    kernels' loops need no division and no bounds test."""
    n, m, k, s, d, p = geo
    out = np.zeros((3, 2, max(int(m.max()), 1)), np.int64)
    for axis in range(3):
        start = np.arange(m[axis]) * s[axis] - p[axis]
        end = np.minimum(start + (k[axis] - 1) * d[axis] + 1, n[axis])
        first = start + d[axis] * ((np.maximum(-start, 0) + d[axis] - 1) // d[axis])
        out[axis, 0, :m[axis]] = first
        out[axis, 1, :m[axis]] = np.maximum(end - first + d[axis] - 1, 0) // d[axis]
    return out


# Serial kernels over a range of planes, with the GIL released, run on the engine's threads
# (``parallel.over_shares``) rather than numba's ``prange``: a prange kernel takes 3-5× longer
# to compile (all of them, both dtypes: 8-11 s against 2 s), and its OpenMP barrier
# stalls when the cores are shared (a 9 MB elementwise pass under load: 6-15 ms with prange,
# 1.8-2.5 ms on one thread). Measured on the 2-core Xeon of benchmarks/RESULTS.md.

@functools.cache
def _kernels():
    """The three kernels, compiled at their first call (see benchmarks/bench_pooling.py)."""
    try:
        from numba import njit
    except Exception:  # noqa: BLE001  (a broken numba install must not break convgrad)
        return None

    @njit(nogil=True)              # no cache=True: it writes into the installed package
    def _max_forward(x, geo, span, lowest, values, indices):   # pragma: no cover (compiled)
        n1, n2 = geo[0, 1], geo[0, 2]
        m0, m1, m2 = geo[1, 0], geo[1, 1], geo[1, 2]
        d0, d1, d2 = geo[4, 0], geo[4, 1], geo[4, 2]
        for r in range(x.shape[0]):
            plane, val, idx = x[r], values[r], indices[r]
            o = 0
            for a in range(m0):
                f0, c0 = span[0, 0, a], span[0, 1, a]
                for b in range(m1):
                    f1, c1 = span[1, 0, b], span[1, 1, b]
                    for c in range(m2):
                        f2, c2 = span[2, 0, c], span[2, 1, c]
                        best = lowest
                        at = (f0 * n1 + f1) * n2 + f2 if c0 * c1 * c2 > 0 else -1
                        for j0 in range(c0):
                            for j1 in range(c1):
                                row = ((f0 + j0 * d0) * n1 + f1 + j1 * d1) * n2 + f2
                                for j2 in range(c2):
                                    v = plane[row + j2 * d2]
                                    take = (v > best) | (v != v)   # torch's: NaN wins
                                    best = v if take else best     # (selects, not
                                    at = row + j2 * d2 if take else at   # branches: 6×)
                        val[o], idx[o] = best, at
                        o += 1

    @njit(nogil=True)
    def _scatter_add(g, indices, out):   # pragma: no cover (compiled)
        size = out.shape[1]
        for r in range(g.shape[0]):
            dst, src, idx = out[r], g[r], indices[r]
            for o in range(src.shape[0]):
                i = idx[o]
                if 0 <= i < size:           # (a window with no tap inside x: nowhere)
                    dst[i] += src[o]

    @njit(nogil=True)
    def _avg(x, geo, span, div, zero, forward, out):   # pragma: no cover (compiled)
        """forward: out_o = Σ x_i / c_o; else (x is g) out_i += g_o / c_o."""
        n1, n2 = geo[0, 1], geo[0, 2]
        m0, m1, m2 = geo[1, 0], geo[1, 1], geo[1, 2]
        for r in range(x.shape[0]):
            src, dst = x[r], out[r]
            o = 0
            for a in range(m0):
                f0, c0 = span[0, 0, a], span[0, 1, a]
                for b in range(m1):
                    f1, c1 = span[1, 0, b], span[1, 1, b]
                    for c in range(m2):
                        f2, c2 = span[2, 0, c], span[2, 1, c]
                        if forward:
                            acc = zero             # the data's precision: float32 stays
                            for i0 in range(f0, f0 + c0):
                                for i1 in range(f1, f1 + c1):
                                    row = (i0 * n1 + i1) * n2
                                    for i2 in range(row + f2, row + f2 + c2):
                                        acc += src[i2]
                            dst[o] = acc / div[o]
                        else:
                            delta = src[o] / div[o]
                            for i0 in range(f0, f0 + c0):
                                for i1 in range(f1, f1 + c1):
                                    row = (i0 * n1 + i1) * n2
                                    for i2 in range(row + f2, row + f2 + c2):
                                        dst[i2] += delta
                        o += 1

    return SimpleNamespace(max_forward=_max_forward, scatter_add=_scatter_add, avg=_avg)


def _over_planes(run, planes: int, work: int) -> None:
    """``run(first, stop)`` over the planes, one share per thread (``parallel.over_shares``):
    shares write disjoint rows, so the scatters need no atomics."""
    parallel.over_shares(run, planes, work)


def max_forward(x: np.ndarray, geo: np.ndarray, span: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling of x (P, Πn): values (P, Πm) in x's dtype and int64 indices (P, Πm);
    ``span``: other windows than the geometry's (``adaptive_spans``, dilation 1; compiled
    kernels only)."""
    if not available() and span is None:
        return max_forward_numpy(x, geo)
    shape = (x.shape[0], int(np.prod(geo[1])))
    values, indices = np.empty(shape, x.dtype), np.empty(shape, np.int64)
    span = spans(geo) if span is None else span
    x, lowest, kernel = _c(x), x.dtype.type(-np.inf), _kernels().max_forward
    _over_planes(lambda a, b: kernel(x[a:b], geo, span, lowest, values[a:b], indices[a:b]),
                 x.shape[0], x.size)
    return values, indices


def scatter_add(g: np.ndarray, indices: np.ndarray, size: int) -> np.ndarray:
    """Zeros (P, size) with ``g[r, o]`` added at ``indices[r, o]`` (the max-pool backward)."""
    if not available():
        return scatter_add_numpy(g, indices, size)
    out = np.zeros((g.shape[0], size), g.dtype)
    g, indices, kernel = _c(g), _c(indices), _kernels().scatter_add
    _over_planes(lambda a, b: kernel(g[a:b], indices[a:b], out[a:b]), g.shape[0], out.size)
    return out


def gather(h: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``h[r, indices[r, o]]`` (P, Πm): the transpose of ``scatter_add`` (an index outside
    the plane reads 0)."""
    inside = (indices >= 0) & (indices < h.shape[1])
    if inside.all():
        return np.take_along_axis(h, indices, 1)
    return np.where(inside, np.take_along_axis(h, np.where(inside, indices, 0), 1), 0)


def avg_forward(x: np.ndarray, geo: np.ndarray, div: np.ndarray) -> np.ndarray:
    """Average pooling of x (P, Πn) → (P, Πm), ``div`` the ``divisors``."""
    if not available():
        return avg_forward_numpy(x, geo, div)
    out = np.empty((x.shape[0], int(np.prod(geo[1]))), x.dtype)
    _averages(_c(x), geo, div.astype(x.dtype), True, out)
    return out


def avg_backward(g: np.ndarray, geo: np.ndarray, div: np.ndarray) -> np.ndarray:
    """The transpose of ``avg_forward``: g (P, Πm) → (P, Πn)."""
    if not available():
        return avg_backward_numpy(g, geo, div)
    out = np.zeros((g.shape[0], int(np.prod(geo[0]))), g.dtype)
    _averages(_c(g), geo, div.astype(g.dtype), False, out)
    return out


def _averages(src: np.ndarray, geo, div, forward: bool, out: np.ndarray) -> None:
    span, zero, kernel = spans(geo), src.dtype.type(0), _kernels().avg
    _over_planes(lambda a, b: kernel(src[a:b], geo, span, div, zero, forward, out[a:b]),
                 src.shape[0], src.size + out.size)


# -------------------------------------------------------------------------- NumPy twins ---

def _padded_windows(x: np.ndarray, geo: np.ndarray, value: float) -> np.ndarray:
    """(P, *m, *k) windows of x (P, Πn) padded by p below and as far as the windows reach
    above, with ``value``."""
    n, m, k, s, d, p = (tuple(int(v) for v in row) for row in geo)
    reach = [(mi - 1) * si + di * (ki - 1) + 1 for mi, ki, si, di in zip(m, k, s, d)]
    pads = [(pi, max(0, r - ni - pi)) for ni, pi, r in zip(n, p, reach)]
    xp = pad_or_crop(x.reshape(-1, *n), pads, value)
    return sliding_windows(xp, k, s, d)[:, :m[0], :m[1], :m[2]]


def max_forward_numpy(x: np.ndarray, geo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The twin of ``max_forward``: argmax over each window with torch's NaN and −∞ rules."""
    n, m, k, s, d, p = geo
    taps = int(np.prod(k))
    flat = _padded_windows(x, geo, -np.inf).reshape(x.shape[0], -1, taps)
    inside = _padded_windows(np.ones((1, int(np.prod(n))), np.int8), geo, 0).reshape(-1, taps)
    best = flat.argmax(axis=-1)                                  # first maximum (or NaN)
    nan = np.isnan(flat)
    best = np.where(nan.any(-1), taps - 1 - nan[..., ::-1].argmax(-1), best)   # last NaN
    value = np.take_along_axis(flat, best[..., None], -1)[..., 0]
    best = np.where(value == -np.inf, inside.argmax(-1), best)   # first tap inside x
    coords = np.unravel_index(best, tuple(k))
    outs = np.unravel_index(np.arange(int(np.prod(m))), tuple(m))
    index = np.zeros(best.shape, np.int64)
    for axis in range(3):
        index = index * n[axis] + outs[axis] * s[axis] - p[axis] + coords[axis] * d[axis]
    return value, np.where(inside.any(-1), index, -1)


def torch_indices(indices: np.ndarray, geo: np.ndarray) -> np.ndarray:
    """The kernels' indices as torch returns them: −1 (no tap inside x) replaced by the
    window's clamped start — which may lie outside the plane, or alias another element."""
    nowhere = indices < 0
    return np.where(nowhere, clamped_starts(geo), indices) if nowhere.any() else indices


def adaptive_spans(size, out) -> np.ndarray:
    """``spans`` of adaptive pooling (``functional/adaptive.py``): window i of an axis of
    length n pooled to m covers ``[⌊i·n/m⌋, ⌈(i+1)·n/m⌉)``."""
    size, out = (1,) * (3 - len(size)) + tuple(size), (1,) * (3 - len(out)) + tuple(out)
    span = np.zeros((3, 2, max(max(out), 1)), np.int64)
    for axis, (n, m) in enumerate(zip(size, out)):
        i = np.arange(m)
        span[axis, 0, :m] = i * n // m
        span[axis, 1, :m] = -(-(i + 1) * n // m) - i * n // m
    return span


def clamped_starts(geo: np.ndarray) -> np.ndarray:
    """(Πm,) the flat position of each window's clamped start (``spans``)."""
    n, m = geo[0], geo[1]
    first = spans(geo)[:, 0]
    index = np.zeros((1, 1, 1), np.int64)
    for axis in range(3):
        shape = [1, 1, 1]
        shape[axis] = -1
        index = index * n[axis] + first[axis, :m[axis]].reshape(shape)
    return index.reshape(-1)


def scatter_add_numpy(g: np.ndarray, indices: np.ndarray, size: int) -> np.ndarray:
    """The twin of ``scatter_add``: ``np.add.at``, in the same order (output-major)."""
    out = np.zeros((g.shape[0], size), g.dtype)
    keep = (indices >= 0) & (indices < size)
    rows = np.broadcast_to(np.arange(g.shape[0])[:, None], indices.shape)
    np.add.at(out, (rows[keep], indices[keep]), g[keep])
    return out


def avg_forward_numpy(x: np.ndarray, geo: np.ndarray, div: np.ndarray) -> np.ndarray:
    """The twin of ``avg_forward``: one strided add per tap, in row-major tap order (the
    kernel's order, so equal to the last bit), then the division."""
    windows = _padded_windows(x, geo, 0.0)
    acc = np.zeros(windows.shape[:4], x.dtype)
    for tap in np.ndindex(*(int(v) for v in geo[2])):
        acc += windows[(...,) + tap]
    return acc.reshape(x.shape[0], -1) / div.astype(x.dtype)


def avg_backward_numpy(g: np.ndarray, geo: np.ndarray, div: np.ndarray) -> np.ndarray:
    """The twin of ``avg_backward``: ``g / c`` spread over every window tap (``fold_windows``)
    of the padded input, then the padding cropped."""
    n, m, k, s, d, p = (tuple(int(v) for v in row) for row in geo)
    delta = (g / div.astype(g.dtype)).reshape(g.shape[0], *m, 1, 1, 1)
    reach = [(mi - 1) * si + ki for mi, ki, si in zip(m, k, s)]
    size = [max(r, ni + pi) for r, ni, pi in zip(reach, n, p)]
    full = fold_windows(np.broadcast_to(delta, (*delta.shape[:4], *k)), size, s, d)
    inner = full[(slice(None),) + tuple(slice(pi, pi + ni) for pi, ni in zip(p, n))]
    return np.ascontiguousarray(inner).reshape(g.shape[0], math.prod(n))
