r"""Adaptive pooling: the windows follow from the output size, PyTorch's rule.

Along an axis of length L pooled to ``out`` cells, cell i covers the input range

    start_i = ⌊i·L / out⌋,    end_i = ⌈(i + 1)·L / out⌉        (half open [start_i, end_i))

so the windows tile the axis exactly when ``out`` divides L and overlap by one otherwise.
``output_size`` is an int or one entry per spatial axis; an entry ``None`` keeps that axis'
length (2-d and 3-d only, as torch). An output size of 0 gives an empty result.

Average pooling is separable: per axis a matrix ``A (out × L)`` with ``A[i, start_i:end_i] =
1/(end_i − start_i)`` multiplies the axis, so the backward is ``Aᵀ`` (and double backward is
free). Max pooling gathers every window (padded to the longest with −∞), takes the first
maximum in row-major order (torch's tie rule; a window with NaN: its last NaN, as torch), and
gathers x there; ``return_indices`` gives that position in the flattened spatial input (int64,
as torch). With the compiled kernels, max pooling is the max-pool kernel on these windows
(``pooling_kernels.adaptive_spans``) and its backward the same scatter by index.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, make
from ..autograd.trace import traced
from ..methods.indexing import take_along_axis
from ..ops.geometry import check_arrays
from . import checks
from . import pooling_kernels as kernels
from .pooling import index_scatter

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"]


def output_sizes(output_size, ndim: int, op: str) -> tuple:
    """``output_size`` as ``ndim`` entries, each a non-negative int or None (None keeps that
    axis; torch allows it only as an entry of a sequence of 2 or 3, not alone nor in 1-d)."""
    if _is_int(output_size):
        sizes = (output_size,) * ndim
    elif isinstance(output_size, (tuple, list)) and len(output_size) == ndim and all(
            (v is None and ndim > 1) or _is_int(v) for v in output_size):
        sizes = tuple(output_size)
    else:
        entries = "ints" if ndim == 1 else "ints or Nones"
        raise TypeError(f"{op}: output_size must be an int or a sequence of {ndim} {entries}, "
                        f"got {output_size!r}")
    if any(v is not None and v < 0 for v in sizes):
        raise ValueError(f"{op}: output_size must be non-negative, got {output_size!r}")
    return tuple(None if v is None else int(v) for v in sizes)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def windows(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Torch's adaptive windows of an axis of length n: ``start_i = ⌊i·n/out⌋`` and
    ``end_i = ⌈(i+1)·n/out⌉``."""
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _prepare(op: str, input, output_size, ndim: int):
    x = checks.tensor(op, "input", input)
    if x.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(f"{op}: input must have shape (N, C, {ndim} spatial dims) or (C, "
                         f"{ndim} spatial dims), got {x.shape}")
    check_arrays(op, input=x.array)
    size = x.shape[x.ndim - ndim:]
    if any(n == 0 for n in x.shape[1 if x.ndim == ndim + 2 else 0:]):
        raise ValueError(f"{op}: expected input with non-zero sizes except the batch, got "
                         f"{x.shape}")
    sizes = output_sizes(output_size, ndim, op)
    return x, size, tuple(n if o is None else o for n, o in zip(size, sizes))


@traced("adaptive_avg_pool")
def adaptive_avg_pool(input, output_size, *, ndim: int, op: str = "adaptive_avg_pool"
                      ) -> Tensor:
    """Mean over each adaptive window: one averaging matrix per axis (see the module doc)."""
    x, size, out = _prepare(op, input, output_size, ndim)
    lead = x.ndim - ndim
    for axis, (n, m) in enumerate(zip(size, out)):
        if n == m:
            continue
        start, end = windows(n, m)
        cols = np.arange(n)
        inside = (cols >= start[:, None]) & (cols < end[:, None])
        a = (inside / (end - start)[:, None]).astype(x.dtype)         # (m, n)
        x = (x.movedim(lead + axis, -1) @ Tensor(a.T)).movedim(-1, lead + axis)
    return x


@traced("adaptive_max_pool")
def adaptive_max_pool(input, output_size, return_indices=False, *, ndim: int,
                      op: str = "adaptive_max_pool"):
    """Max over each adaptive window; the first maximum (row-major) takes the gradient."""
    x, size, out = _prepare(op, input, output_size, ndim)
    return_indices = checks.boolean(op, "return_indices", return_indices)
    lead = x.shape[: x.ndim - ndim]
    if 0 in out:                    # an empty result (torch's): no window to take a max over
        y = x.reshape(*lead, -1)[..., :0].reshape(*lead, *out)
        return (y, Tensor(np.zeros(y.shape, np.int64))) if return_indices else y
    if kernels.available():         # the max-pool kernel, with the adaptive windows
        size_flat = int(np.prod(size))
        ones = (1,) * ndim
        values, index = kernels.max_forward(
            x.array.reshape(int(np.prod(lead)), size_flat),
            kernels.geometry(size, out, ones, ones, ones, (0,) * ndim),
            kernels.adaptive_spans(size, out))
        x_shape = x.shape
        y = make(values.reshape(*lead, *out), (x,),
                 lambda g: (index_scatter(g, index, x_shape, size_flat),), "adaptive_max_pool")
        return (y, Tensor(index.reshape(*lead, *out).copy())) if return_indices else y
    # per axis: the input coordinate of tap k of window i, (out_i, K_i), and whether it exists
    coords, valid = [], []
    for n, m in zip(size, out):
        start, end = windows(n, m)
        k = np.arange(int((end - start).max()) if m else 1)
        coords.append(np.minimum(start[:, None] + k, n - 1))
        valid.append(start[:, None] + k < end[:, None])
    # broadcast to (*out, *K): axis i's out at position i, its taps at position ndim + i
    def spread(a: np.ndarray, axis: int) -> np.ndarray:
        shape = [1] * (2 * ndim)
        shape[axis], shape[ndim + axis] = a.shape
        return a.reshape(shape)
    flat_in = np.zeros((1,) * (2 * ndim), np.int64)
    ok = np.ones((1,) * (2 * ndim), bool)
    for axis, n in enumerate(size):
        flat_in = flat_in * n + spread(coords[axis], axis)
        ok = ok & spread(valid[axis], axis)
    flat_in = np.broadcast_to(flat_in, np.broadcast_shapes(flat_in.shape, ok.shape))
    taps = flat_in.reshape(*out, -1)                       # (*out, ΠK)
    xf = x.array.reshape(*lead, -1)
    vals = np.where(ok.reshape(*out, -1), xf[..., taps], -np.inf)
    best = vals.argmax(axis=-1) if vals.size else np.zeros(vals.shape[:-1], np.int64)
    nan = np.isnan(vals)
    if nan.any():                   # torch's ``val > max || isnan(val)``: the last NaN wins
        last = vals.shape[-1] - 1 - nan[..., ::-1].argmax(axis=-1)
        best = np.where(nan.any(axis=-1), last, best)
    index = np.take_along_axis(np.broadcast_to(taps, vals.shape), best[..., None], -1)[..., 0]
    index = np.ascontiguousarray(index).astype(np.int64)       # (*lead, *out)
    y = take_along_axis(x.reshape(*lead, -1), index.reshape(*lead, -1), -1).reshape(
        *lead, *out)
    return (y, Tensor(index)) if return_indices else y


def _avg_rank(n: int):
    def wrapper(input, output_size) -> Tensor:
        return adaptive_avg_pool(input, output_size, ndim=n, op=f"adaptive_avg_pool{n}d")
    return _named(wrapper, adaptive_avg_pool, n, f"adaptive_avg_pool{n}d")


def _max_rank(n: int):
    def wrapper(input, output_size, return_indices=False):
        return adaptive_max_pool(input, output_size, return_indices, ndim=n,
                                 op=f"adaptive_max_pool{n}d")
    return _named(wrapper, adaptive_max_pool, n, f"adaptive_max_pool{n}d")


def _named(wrapper, fn, n: int, name: str):
    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = f"``{fn.__name__}`` over {n} spatial dim(s): {fn.__doc__}"
    return wrapper


adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d = (_avg_rank(n) for n in (1, 2, 3))
adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d = (_max_rank(n) for n in (1, 2, 3))
