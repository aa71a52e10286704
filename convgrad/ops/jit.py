"""Optional compiled kernels (numba) for the one case BLAS cannot help: depthwise taps.

A depthwise convolution multiplies each channel by its own few weights — no matrix product to
hand to BLAS — so NumPy pays one pass over memory per tap and operation. With numba installed
(the ``fast`` extra) these loops run compiled, on every core, with each row kept in cache
across all taps. Without numba — or with ``CONVGRAD_JIT=0`` — the NumPy path is used; both are
tested against each other and against torch.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Iterator

import numpy as np

_enabled = os.environ.get("CONVGRAD_JIT", "1") != "0"
_installed = importlib.util.find_spec("numba") is not None   # numba itself loads on first use


def available() -> bool:
    """True when the compiled kernels are installed, switched on and load."""
    return _installed and _enabled and _kernels() is not None


@contextmanager
def jit_enabled(on: bool) -> Iterator[None]:
    """Switch the compiled kernels on or off (tests, benchmarks)."""
    global _enabled
    old, _enabled = _enabled, on
    try:
        yield
    finally:
        _enabled = old


@functools.cache
def _kernels():
    """Compile-on-first-call kernels, built when first needed (importing numba takes ~0.1 s)."""
    try:
        from numba import njit, prange
    except Exception:  # noqa: BLE001  (a broken numba install must not break convgrad)
        return None

    @njit(parallel=True)           # no cache=True: it writes into the installed package
    def _row_taps(flat, weights, offsets, starts, width, out):   # pragma: no cover (compiled)
        for r in prange(flat.shape[0]):
            row = flat[r]
            for k in range(starts.shape[0]):
                base, acc = starts[k], out[r, k * width:(k + 1) * width]
                for q in range(width):
                    acc[q] = 0.0
                for t in range(offsets.shape[0]):
                    wt, off = weights[r, t], base + offsets[t]
                    for q in range(width):
                        acc[q] += wt * row[off + q]

    @njit(parallel=True, fastmath=True)   # fastmath: lets the inner dot product vectorise
    def _window_dots(x, dy, out, s0, s1, d0, d1, zero):   # pragma: no cover (compiled)
        images, groups = dy.shape[0], dy.shape[1]
        m0, m1 = dy.shape[2], dy.shape[3]
        for g in prange(groups):
            for a in range(out.shape[1]):
                for b in range(out.shape[2]):
                    acc = zero                    # the data's precision: float32 stays
                    for n in range(images):
                        for i in range(m0):
                            row = x[n, g, a * s0 + i * d0]
                            grad = dy[n, g, i]
                            for j in range(m1):
                                acc += row[b * s1 + j * d1] * grad[j]
                    out[g, a, b] = acc

    return SimpleNamespace(row_taps=_row_taps, window_dots=_window_dots)


def window_dots(x: np.ndarray, dy: np.ndarray, stride, dilation, out_size) -> np.ndarray:
    """2-d depthwise weight gradient: ``out[g, a, b] = Σ_{n,i,j} x[n, g, a·s₀ + i·d₀,
    b·s₁ + j·d₁] · dy[n, g, i, j]`` (x batch-major, as the padded input is stored)."""
    out = np.empty((x.shape[1], *out_size), dtype=x.dtype)
    _kernels().window_dots(x, dy, out, *stride, *dilation, x.dtype.type(0))
    return out


def row_taps(flat: np.ndarray, weights: np.ndarray, offsets, starts, width: int,
             out: np.ndarray) -> None:
    """``out[r, k·width + q] = Σ_t weights[r, t] · flat[r, starts[k] + offsets[t] + q]``: each
    output row k (``width`` long) of each image-channel row r, written straight into the
    cropped output; a row stays in cache across all taps."""
    _kernels().row_taps(flat, np.ascontiguousarray(weights),
                        np.asarray(offsets, dtype=np.int64), np.asarray(starts, dtype=np.int64),
                        width, out)
