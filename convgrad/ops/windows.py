"""The window builder and the pad/crop step: zero-copy views that the convolution contracts."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided


def effective_kernel(k: int, d: int) -> int:
    """Span of a kernel of k taps spread d apart: ``d·(k − 1) + 1``."""
    return d * (k - 1) + 1


def output_length(n: int, k: int, s: int = 1, d: int = 1, lo: int = 0, hi: int = 0) -> int:
    """Output length ``⌊(n + lo + hi − ke)/s⌋ + 1`` of one axis (≤ 0 means no window fits).

    >>> output_length(3, 2)            # the textbook case: X 3×3, F 2×2 → O 2×2
    2
    >>> output_length(7, 3, s=2, lo=1, hi=1)
    4
    """
    return (n + lo + hi - effective_kernel(k, d)) // s + 1


def pad_or_crop(x: np.ndarray, pads: Sequence[tuple[int, int]], value: float = 0.0,
                allocate=np.empty) -> np.ndarray:
    """Pad (positive) or crop (negative) the last ``len(pads)`` axes by ``(lo, hi)`` each.

    Crop-only returns a view; any padding makes one array with ``allocate(shape, dtype)`` (a
    scratch buffer, say), fills its border with ``value`` (zero by default) and copies x in.

    >>> pad_or_crop(np.arange(4.0), [(1, -2)])
    array([0., 0., 1.])
    """
    ndim = len(pads)
    lead = x.shape[: x.ndim - ndim]
    if all(lo <= 0 and hi <= 0 for lo, hi in pads):
        return x[(...,) + tuple(slice(-lo, n + hi) for n, (lo, hi) in zip(x.shape[-ndim:], pads))]
    new_size = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[-ndim:], pads))
    src, dst = [], []
    for n, (lo, hi) in zip(x.shape[-ndim:], pads):
        start, stop = max(-lo, 0), min(n, n + hi)          # the part of x that survives
        if start >= stop:                                   # nothing of x survives
            return np.full(lead + new_size, value, dtype=x.dtype)
        src.append(slice(start, stop))
        dst.append(slice(start + lo, stop + lo))
    out = allocate(lead + new_size, dtype=x.dtype)
    out[(...,) + tuple(dst)] = x[(...,) + tuple(src)]
    for axis, (inner, size) in enumerate(zip(dst, new_size)):   # fill only the border slabs
        before, after = (slice(None),) * axis, (slice(None),) * (ndim - axis - 1)
        out[(..., *before, slice(0, inner.start), *after)] = value
        out[(..., *before, slice(inner.stop, size), *after)] = value
    return out


def sliding_windows(x: np.ndarray, kernel: Sequence[int], stride: Sequence[int],
                    dilation: Sequence[int]) -> np.ndarray:
    """Read-only view of every window over the last ``len(kernel)`` axes, no copy.

    Returns shape ``(*lead, *out, *kernel)`` with ``view[..., p, j] = x[..., p·s + j·d]``
    per spatial axis, ``out = ⌊(n − d·(k−1) − 1)/s⌋ + 1``.

    >>> sliding_windows(np.arange(5), (2,), (2,), (1,)).tolist()
    [[0, 1], [2, 3]]
    """
    ndim = len(kernel)
    size, steps = x.shape[-ndim:], x.strides[-ndim:]
    out = tuple(output_length(n, k, s, d) for n, k, s, d in zip(size, kernel, stride, dilation))
    shape = x.shape[:-ndim] + out + tuple(kernel)
    strides = (x.strides[:-ndim] + tuple(st * s for st, s in zip(steps, stride))
               + tuple(st * d for st, d in zip(steps, dilation)))
    return as_strided(x, shape, strides, writeable=False)


def fold_windows(windows: np.ndarray, size: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int]) -> np.ndarray:
    """The adjoint of ``sliding_windows``: add every window back where it was read from.

    ``windows`` has shape ``(*lead, *out, *kernel)``; returns ``(*lead, *size)`` with
    ``x[..., i] = Σ_{p, j : p·s + j·d = i} windows[..., p, j]`` (overlaps accumulate). One
    strided slice-add per kernel tap, no loop over positions.

    >>> fold_windows(np.ones((3, 2)), (4,), (1,), (1,)).tolist()
    [1.0, 2.0, 2.0, 1.0]
    """
    ndim = len(size)
    kernel = windows.shape[windows.ndim - ndim:]
    out_size = windows.shape[windows.ndim - 2 * ndim: windows.ndim - ndim]
    lead = windows.shape[: windows.ndim - 2 * ndim]
    x = np.zeros(lead + tuple(size), dtype=windows.dtype)
    for taps in np.ndindex(*kernel):
        target = tuple(slice(j * d, j * d + (m - 1) * s + 1, s)
                       for j, d, m, s in zip(taps, dilation, out_size, stride))
        x[(...,) + target] += windows[(...,) + taps]
    return x
