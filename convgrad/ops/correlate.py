"""The core of the primitive: a grouped, valid, strided, dilated correlation, three ways.

    y[b, g, o, p] = Σ_{c, j} x[b, g, c, p·s + j·d] · w[g, o, c, j]
    x (B, G, Ci, *S), w (G, Co, Ci, *K) → y (B, G, Co, *M)

All three contract in BLAS and differ only in what they copy (measured on the project machine):

``im2col``   copy every window into a column buffer (Ci·ΠK rows), then one batched matmul. Best
             when Ci·ΠK is small or the images are small; the only one for stride > 1.
``shift``    stride 1: flatten the spatial axes, so tap j reads the *contiguous* slice starting
             at offset Σ j·d·row_stride; one matmul per tap straight from x (no copy), summed
             into the output; outputs computed at the wrapped border columns are discarded.
             Best for large images, large kernels and depthwise (then a multiply-add per tap).
``stacked``  stride 1, the transpose of shift: one matmul of every tap's weights with all of x,
             then the ΠK shifted slices are summed. Best when C_out·ΠK ≤ C_in (e.g. the input
             gradient of a first layer, where C_out is the image's channel count).
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from .windows import sliding_windows

METHODS = ("im2col", "shift", "stacked")
_state = threading.local()
_workspace_limit = 256 * 2**20
_SHIFT_BLOCK_BYTES = 256 * 2**10      # running sum of the shift method: about an L2 cache


def set_workspace_limit(nbytes: int) -> int:
    """Cap (bytes) on the column buffer of one call; returns the previous cap.

    ``im2col`` tiles over the batch so each tile's buffer fits, and keeps one buffer of at most
    this size per thread for reuse (a fresh buffer costs page faults). One image whose buffer is
    larger than the cap is still processed whole. Setting the cap drops the kept buffer.
    """
    global _workspace_limit
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 1:
        raise ValueError(f"set_workspace_limit: nbytes must be a positive int, got {nbytes!r}")
    old, _workspace_limit = _workspace_limit, nbytes
    _state.buffer = None
    return old


def get_workspace_limit() -> int:
    """The current cap (bytes) on one call's column buffer."""
    return _workspace_limit


@contextmanager
def forced_method(name: str | None) -> Iterator[None]:
    """Force one of ``METHODS`` for every correlation in this thread (tests, benchmarks)."""
    if name is not None and name not in METHODS:
        raise ValueError(f"forced_method: unknown method {name!r}; choose from {METHODS}")
    old = getattr(_state, "method", None)
    _state.method = name
    try:
        yield
    finally:
        _state.method = old


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int],
              dilation: Sequence[int]) -> np.ndarray:
    """Grouped valid correlation ``x (B, G, Ci, *S) ⋆ w (G, Co, Ci, *K) → (B, G, Co, *M)``."""
    method = getattr(_state, "method", None) or choose_method(x.shape, w.shape, stride, dilation)
    if method != "im2col" and any(s != 1 for s in stride):
        method = "im2col"
    return {"im2col": _im2col, "shift": _shift, "stacked": _stacked}[method](
        x, w, stride, dilation)


def choose_method(x_shape: Sequence[int], w_shape: Sequence[int], stride: Sequence[int],
                  dilation: Sequence[int]) -> str:
    """The measured rule of thumb (see the module docstring and benchmarks/bench_ops.py)."""
    ci, co, kernel = x_shape[2], w_shape[1], w_shape[3:]
    pk = math.prod(kernel)
    out_per_image = math.prod(n - d * (k - 1) for n, k, d in zip(x_shape[3:], kernel, dilation))
    if any(s != 1 for s in stride) or pk > out_per_image:
        return "im2col"
    if pk == 1 or (ci == 1 and co == 1):
        return "shift"                          # one plain matmul; or depthwise multiply-adds
    if co * pk <= ci:
        return "stacked"
    if pk >= 25 or (ci >= 32 and math.prod(x_shape[3:]) >= 2048):
        return "shift"
    return "im2col"


def _im2col(x, w, stride, dilation):
    """Column buffer laid out so that the longer of (taps, output positions) is innermost —
    where x is read sequentially — contracted by one matmul per group, tiled over B."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    win = sliding_windows(x, kernel, stride, dilation)          # (B, G, Ci, *M, *K)
    out_size = win.shape[3:3 + ndim]
    pk, pm = math.prod(kernel), math.prod(out_size)
    w_mat = w.reshape(groups, co, ci * pk)
    m_axes, k_axes = tuple(range(3, 3 + ndim)), tuple(range(3 + ndim, 3 + 2 * ndim))
    out = np.empty((batch, groups, co, pm), dtype=x.dtype)
    per_item = groups * ci * pk * pm * x.dtype.itemsize
    tile = max(1, min(batch, _workspace_limit // max(per_item, 1)))
    taps_inner = pk > pm
    for start in range(0, batch, tile):
        part = win[start:start + tile]
        nb = part.shape[0]
        if taps_inner:   # columns (G, nb·ΠM, Ci·ΠK)
            order = (1, 0, *m_axes, 2, *k_axes)
            cols = _workspace(x.dtype, [part.shape[i] for i in order])
            np.copyto(cols, part.transpose(order))
            cols = cols.reshape(groups, nb * pm, ci * pk)
            res = np.matmul(cols, w_mat.transpose(0, 2, 1)).reshape(groups, nb, pm, co)
            out[start:start + nb] = res.transpose(1, 0, 3, 2)
        else:            # columns (nb, G, Ci·ΠK, ΠM): output positions innermost
            order = (0, 1, 2, *k_axes, *m_axes)
            cols = _workspace(x.dtype, [part.shape[i] for i in order])
            np.copyto(cols, part.transpose(order))
            np.matmul(w_mat, cols.reshape(nb, groups, ci * pk, pm), out=out[start:start + nb])
    return out.reshape(batch, groups, co, *out_size)


def _shift(x, w, stride, dilation):
    """Per tap, one matmul (or multiply for depthwise) of a contiguous slice of flat x,
    accumulated block by block so the running sum stays in cache."""
    flat, offsets, length, finish = _flat_taps(x, w, dilation)
    batch, groups, ci = x.shape[:3]
    co = w.shape[1]
    y = np.empty((batch, groups, co, flat.shape[-1]), dtype=x.dtype)
    w_taps = w.reshape(groups, co, ci, -1)
    if ci == 1 and co == 1:   # depthwise: rows are (image, channel) pairs
        flat, y = flat.reshape(batch * groups, -1), y.reshape(batch * groups, -1)
        w_taps = np.broadcast_to(w_taps[None, :, 0, 0], (batch, groups, len(offsets)))
        w_taps = w_taps.reshape(batch * groups, -1, 1)
        row_bytes = length * x.dtype.itemsize
        product = (lambda rows, t, off, out: np.multiply(flat[rows, off:off + length],
                                                         w_taps[rows, t], out=out))
    else:                     # rows are images
        row_bytes = groups * co * length * x.dtype.itemsize
        product = (lambda rows, t, off, out: np.matmul(w_taps[..., t],
                                                       flat[rows, ..., off:off + length], out=out))
    step = max(1, _SHIFT_BLOCK_BYTES // row_bytes)
    tmp = np.empty((min(step, y.shape[0]), *y.shape[1:-1], length), dtype=x.dtype)
    for start in range(0, y.shape[0], step):
        rows = slice(start, min(start + step, y.shape[0]))
        acc, part = y[rows, ..., :length], tmp[:rows.stop - rows.start]
        for t, off in enumerate(offsets):
            product(rows, t, off, acc if t == 0 else part)
            if t:
                acc += part
    return finish(y.reshape(batch, groups, co, -1))


def _stacked(x, w, stride, dilation):
    """One matmul of all taps' weights with flat x, then the shifted slices summed."""
    flat, offsets, length, finish = _flat_taps(x, w, dilation)
    batch, groups, ci = x.shape[:3]
    co = w.shape[1]
    w_all = np.ascontiguousarray(np.moveaxis(w.reshape(groups, co, ci, -1), 3, 1))
    per_tap = np.matmul(w_all.reshape(groups, -1, ci), flat)     # (B, G, ΠK·Co, P)
    per_tap = per_tap.reshape(batch, groups, len(offsets), co, -1)
    y = np.empty((batch, groups, co, flat.shape[-1]), dtype=x.dtype)
    acc = y[..., :length]
    np.copyto(acc, per_tap[:, :, 0, :, offsets[0]:offsets[0] + length])
    for t, off in enumerate(offsets[1:], start=1):
        acc += per_tap[:, :, t, :, off:off + length]
    return finish(y)


def _flat_taps(x, w, dilation):
    """x with flattened spatial axes, each tap's flat offset, the run length covering every
    output position, and the function that cuts (B, G, Co, P) back to (B, G, Co, *M)."""
    size, kernel = x.shape[3:], w.shape[3:]
    row = [math.prod(size[i + 1:]) for i in range(len(size))]     # flat stride of each axis
    out_size = [n - d * (k - 1) for n, k, d in zip(size, kernel, dilation)]
    offsets = [sum(j * d * r for j, d, r in zip(tap, dilation, row))
               for tap in np.ndindex(*kernel)]
    length = sum((m - 1) * r for m, r in zip(out_size, row)) + 1
    flat = x.reshape(*x.shape[:3], -1)                             # a view when x is contiguous

    def finish(y):
        full = y.reshape(*y.shape[:3], *size)
        return np.ascontiguousarray(full[(...,) + tuple(slice(0, m) for m in out_size)])

    return flat, offsets, length, finish


def _workspace(dtype: np.dtype, shape: Sequence[int]) -> np.ndarray:
    """A scratch array of this shape, from this thread's kept buffer when it fits the cap."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > _workspace_limit:
        return np.empty(shape, dtype=dtype)
    buffer = getattr(_state, "buffer", None)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = _state.buffer = np.empty(nbytes, dtype=np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)
