"""Indexing: ``t[index]`` and ``t[index] = value`` with torch's rules, and the ops built on the
same two primitives (``index_put``, ``masked_select``, ``take``, ``nonzero``).

An index is normalized once (``index_rules._normalize``) into what NumPy means by it —
torch's and NumPy's advanced indexing agree once a few torch rules are applied: a negative step
is a ValueError, a uint8 tensor is a mask, only int64/int32/bool/uint8 tensors index, a list
holding slices or sequences is a tuple. Basic indexing (ints, slices, None, ``...``) is a view
of the input (it shares memory and the version counter); advanced indexing (integer arrays,
masks) is a copy. The backward of ``t[i]`` puts g at ``i`` in zeros (``index_add_zeros``:
repeats accumulate), whose own backward is indexing again, so double backward needs nothing more.

>>> x = Tensor(np.arange(6.0).reshape(2, 3))
>>> x[:, 1].tolist(), x[[1, 1], [0, 2]].tolist(), x[x > 3].tolist()
([1.0, 4.0], [3.0, 5.0], [4.0, 5.0])
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, astype, make, modify
from ..autograd.trace import traced
from . import shape as _shape
from .index_rules import _get, _normalize, _numpy_error, _set, _TwoStage
from .reduction import unbroadcast

__all__ = ["index_put", "masked_select", "take", "nonzero", "argwhere"]


def _if_empty(shape, idx):
    """torch checks no index bounds when a slice of the index selects nothing (the result is
    empty): the index with its integer arrays zeroed (same result shape), or None."""
    if type(idx) is not tuple:
        return None
    consumed = sum(1 for i in idx if i is not None and i is not Ellipsis)
    dim, empty = 0, False
    for item in idx:
        if item is Ellipsis:
            dim += len(shape) - consumed
        elif item is not None:
            if isinstance(item, slice) and dim < len(shape):
                empty = empty or len(range(*item.indices(shape[dim]))) == 0
            dim += 1
    if not empty:
        return None
    return tuple(np.zeros_like(i) if isinstance(i, np.ndarray) and i.dtype.kind in "iu" else i
                 for i in idx)


def _index(a: Tensor, idx: tuple, basic: bool, accumulate: bool) -> Tensor:
    """``a[idx]`` for a normalized index; differentiable, a view when basic."""
    try:
        out = _get(a.array, idx)
    except IndexError as e:
        idx = _if_empty(a.array.shape, idx)
        if idx is None:
            raise _numpy_error(e, "index", a.shape) from None
        out = _get(a.array, idx)
    shape = a.array.shape
    if basic:
        op = _basic_name(idx)
        return make(out, (a,), lambda g: (index_add_zeros(g, shape, idx, False, False),),
                    op, view=lambda b: _index(b, idx, True, False))
    return make(out, (a,), lambda g: (index_add_zeros(g, shape, idx, False, accumulate),),
                "index")


def _basic_name(idx: tuple) -> str:
    """torch's node for a basic index: Select (ints), Unsqueeze (None), Slice (otherwise)."""
    kinds = {type(p) for p in idx if p is not Ellipsis and p != slice(None)}
    return ("select" if kinds == {int} else "unsqueeze" if kinds == {type(None)} else
            "slice" if kinds <= {int, slice, type(None)} else "getitem")


@traced("getitem")
def getitem(a: Tensor, index) -> Tensor:
    """``a[index]``: torch's basic, integer and boolean indexing (see the module docstring)."""
    idx, basic, accumulate = _normalize(index)
    return _index(a, idx, basic, accumulate)


def index_add_zeros(g: Tensor, shape: tuple, idx: tuple, basic: bool = False,
                    accumulate: bool = True) -> Tensor:
    """Zeros of ``shape`` with g added at the normalized index ``idx`` (repeated positions
    accumulate when ``accumulate``): the transpose of indexing, whose backward is indexing."""
    out = np.zeros(shape, dtype=g.dtype)
    _set(out, idx, g.array, accumulate)          # without accumulate: each position once
    return make(out, (g,), lambda h: (_index(h, idx, basic, accumulate),), "index_add_zeros")


def _sum_to(g: Tensor, shape: tuple) -> Tensor:
    """g summed back to a broadcast operand's ``shape`` (which may carry extra leading 1s)."""
    if len(shape) > g.ndim:
        g = g.reshape((1,) * (len(shape) - g.ndim) + tuple(g.shape))
    return unbroadcast(g, tuple(shape))


def _put(a: Tensor, idx: tuple, v: Tensor, accumulate: bool, basic: bool, repeats: bool,
         op: str) -> Tensor:
    """``a`` with v written (or, ``accumulate``, added) at the normalized index; out of place.
    ∂/∂a = g with zeros at idx (g itself when adding), ∂/∂v = g[idx] summed to v's shape."""
    out = a.array.copy()
    try:
        _set(out, idx, v.array, accumulate)
    except IndexError as e:
        raise _numpy_error(e, op, a.shape) from None
    except ValueError:
        raise RuntimeError(f"{op}: shape mismatch: value tensor of shape {list(v.shape)} cannot "
                           f"be broadcast to indexing result of shape "
                           f"{list(_get(a.array, idx).shape)}") from None
    zero = Tensor.wrap(np.zeros((), a.dtype))
    return make(out, (a, v), lambda g: (
        (g if accumulate else _put(g, idx, zero, False, basic, repeats, op))
        if a._requires_grad else None,
        _sum_to(_index(g, idx, basic, repeats), v.shape) if v._requires_grad else None), op)


def _value(t: Tensor, value, idx_basic: bool, mask_only: bool, op: str) -> Tensor:
    """The assigned value as a Tensor of t's dtype (torch casts it, except that an advanced
    index_put of a Tensor of another dtype is torch's RuntimeError)."""
    if isinstance(value, Tensor):
        if value.dtype != t.dtype:
            if not idx_basic and not (mask_only and value.ndim == 0):
                raise RuntimeError(f"{op}: Index put requires the source and destination dtypes "
                                   f"match, got {t.dtype} for the destination and {value.dtype} "
                                   f"for the source.")
            if t.dtype.kind != "f" or value.dtype.kind != "f":
                value = value.detach()
            value = astype(value, t.dtype)
        return value
    if isinstance(value, np.ndarray):
        return Tensor.wrap(value.astype(t.dtype, copy=False))
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return Tensor.wrap(np.asarray(value).astype(t.dtype))
    raise TypeError(f"{op}: can't assign a {type(value).__name__} to a {t.dtype} tensor (assign "
                    f"a number or a Tensor)")


def _unaliased(v: Tensor, t: Tensor) -> Tensor:
    """v, or — when v shares t's memory (``x[i] += u`` ends in ``x[i] = <view of x>``) — the
    same view re-derived from a snapshot of the graph's current root: v's own graph names the
    root tensor object, which the write is about to turn into a later node (a cycle), and
    shares its version counter (which the write bumps)."""
    if v._vc is not t._vc:
        return v
    root = t if t._base is None else t._base
    if v is root:
        return root._alias()
    if v._base is root:
        return v._view_fn(root._alias())
    return v._alias()


def setitem(t: Tensor, index, value) -> None:
    """``t[index] = value`` in place (torch's ``copy_``/``index_put_``): value broadcast to
    ``t[index]`` and cast to t's dtype; differentiable w.r.t. t's old value and value.

    >>> buf = Tensor(np.zeros(3)); buf[1:] = 5.0; buf.tolist()
    [0.0, 5.0, 5.0]
    """
    idx, basic, repeats = _normalize(index)
    parts = idx.second if type(idx) is _TwoStage else idx
    mask_only = not basic and sum(isinstance(p, np.ndarray) for p in parts) == 1 and any(
        isinstance(p, np.ndarray) and p.dtype == bool for p in parts)
    v = _value(t, value, basic, mask_only, "setitem")

    def compute(old: Tensor) -> Tensor:
        return _put(old, idx, _unaliased(v, t), False, basic, repeats, "setitem")

    def fast(array: np.ndarray) -> None:
        try:
            _set(array, idx, v.array)
        except IndexError as e:
            raise _numpy_error(e, "setitem", t.shape) from None
        except ValueError:
            raise RuntimeError(f"setitem: shape mismatch: value tensor of shape {list(v.shape)} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{list(_get(array, idx).shape)}") from None

    modify(t, compute, "setitem", reads_self=False, fast=fast, others=(v,))


def _indices_tuple(indices, op: str) -> tuple:
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{op}: indices must be a tuple of Tensors, got {type(indices).__name__}")
    return tuple(indices)


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """``input`` with ``values`` written at ``input[indices]`` (added there, repeats included,
    when ``accumulate``), out of place; ``indices`` is a tuple of index tensors."""
    idx, basic, repeats = _normalize(_indices_tuple(indices, "index_put"))
    v = _value(input, values, basic, False, "index_put")
    return _put(input, idx, v, accumulate, basic, repeats, "index_put")


def index_put_(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``."""
    idx, basic, repeats = _normalize(_indices_tuple(indices, "index_put_"))
    v = _value(input, values, basic, False, "index_put_")
    return modify(input, lambda old: _put(old, idx, v, accumulate, basic, repeats, "index_put_"),
                  "index_put_", reads_self=False, others=(v,))


def masked_select(input: Tensor, mask) -> Tensor:
    """The elements of ``input`` where the bool ``mask`` (broadcast with input) is True, as a
    1-d tensor: ``masked_select(x, x > 0)`` = ``x[x > 0]`` (flattened)."""
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask (got {m.dtype})")
    try:
        shape = np.broadcast_shapes(input.shape, m.shape)
    except ValueError:
        raise RuntimeError(f"masked_select: The size of the mask {list(m.shape)} must match the "
                           f"size of the input {list(input.shape)} (broadcastable)") from None
    x = input if tuple(input.shape) == shape else _shape.broadcast_to(input, shape)
    return _index(x, (np.broadcast_to(m, shape),), False, False)


def take(input: Tensor, index) -> Tensor:
    """``input`` seen as 1-d, at ``index`` (any shape; negatives count from the end):
    ``take(x, i)[k] = x.flatten()[i[k]]``."""
    i = index.array if isinstance(index, Tensor) else np.asarray(index)
    if i.dtype != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {i.dtype}")
    n = input.array.size
    if i.size and (i.max() >= n or i.min() < -n):
        bad = i.max() if i.max() >= n else i.min()
        raise IndexError(f"take: out of range: tried to access index {bad} on a tensor of {n} "
                         f"elements.")
    return _index(input.reshape(-1), (i,), False, i.size > 1)


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one
    1-d int64 tensor per dim (a 0-d input counts as 1-d there, as torch)."""
    arr = input.array
    if as_tuple:
        return tuple(Tensor.wrap(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(arr)))
    return Tensor.wrap(np.argwhere(arr).astype(np.int64))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the (n, ndim) int64 indices of the non-zero elements."""
    return nonzero(input)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    Tensor.__getitem__ = getitem
    Tensor.__setitem__ = setitem
    Tensor.index_put, Tensor.index_put_ = index_put, index_put_
    Tensor.masked_select, Tensor.take = masked_select, take
    Tensor.nonzero, Tensor.argwhere = nonzero, argwhere


# -- the take/put pair the library's own ops use (losses, pooling)

def take_along_axis(a, indices: np.ndarray, axis: int) -> Tensor:
    """``np.take_along_axis`` with autograd (no range check: internal callers build valid
    indices); the backward adds g back at the same indices."""
    indices = np.asarray(indices)
    return make(np.take_along_axis(a.array, indices, axis), (a,),
                lambda g: (put_along_axis(g, indices, axis, a.shape),), "take_along_axis")


def put_along_axis(g, indices: np.ndarray, axis: int, shape) -> Tensor:
    """Zeros of ``shape`` with g added at ``indices`` along ``axis``: the transpose of
    ``take_along_axis`` (repeated indices accumulate)."""
    out = np.zeros(shape, dtype=g.dtype)
    if indices.shape[axis] == 1:                  # one index per line: no repeats possible
        np.put_along_axis(out, indices, g.array, axis)
    else:
        grid = list(np.indices(indices.shape, sparse=True))
        grid[axis % len(shape)] = indices
        np.add.at(out, tuple(grid), g.array)
    return make(out, (g,), lambda h: (take_along_axis(h, indices, axis),), "put_along_axis")
