"""Layout: rotations and grids (``rot90``, ``meshgrid``, ``broadcast_tensors``/``_shapes``,
``atleast_Nd``), views (``select``, ``ravel``, ``unfold``), ``sum_to_size``, the flat and
indexed writes (``index_copy``, ``masked_scatter``, ``put``) and the joins/splits torch adds to
cat/split (``column_stack``, ``row_stack``, ``h/v/dsplit``, ``split_with_sizes``); the tensor
facts (``stride``, ``storage_offset`` …) and in-place shape changes (``unsqueeze_`` …) are in
``layout_facts.py``.

Views share memory and the version counter (``make(..., view=…)``), as torch's; writes are out
of place with an in-place ``_`` twin built by ``_twin``.

>>> x = Tensor(np.arange(4.0))
>>> x.unfold(0, 2, 1).tolist(), rot90(x.reshape(2, 2)).tolist()
([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]], [[1.0, 3.0], [0.0, 2.0]])
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

from ..autograd import Tensor, make
from ..semantics import normalize_dim
from . import gather as _gather
from . import indexing as _ix
from . import join as _join
from . import reduction as _reduction
from . import shape as _shape
from .inplace_ops import _twin
from .sizes import _sizes

__all__ = ["rot90", "meshgrid", "broadcast_tensors", "broadcast_shapes", "atleast_1d",
           "atleast_2d", "atleast_3d", "select", "ravel", "index_copy", "masked_scatter", "put",
           "column_stack", "row_stack", "hsplit", "vsplit", "dsplit", "split_with_sizes"]

_INT64 = np.dtype(np.int64)


def _clone(a: Tensor) -> Tensor:
    return make(a.array.copy(), (a,), lambda g: (g,), "clone")


# ----------------------------------------------------------------------------- grids

def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """The tensor rotated by k·90° in the plane ``dims`` (from dims[0] towards dims[1]):
    k = 1 is ``flip(dims[1])`` then ``transpose``; [[0, 1], [2, 3]] → [[1, 3], [0, 2]]."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (normalize_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    k = operator.index(k) % 4
    if k == 0:
        return _clone(input)
    if k == 2:
        return _shape.flip(input, (d0, d1))
    return _shape.swapaxes(_shape.flip(input, d1 if k == 1 else d0), d0, d1)


def _tensor_list(tensors: tuple, op: str) -> list[Tensor]:
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected Tensors, got {type(t).__name__} at position {i}")
    return list(tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids of N 0-/1-d tensors: output i is tensor i varying along its own dim
    and expanded (a view) over the others; shape (n_0, n_1, …) for ``'ij'``, (n_1, n_0, …)
    for ``'xy'``. Omitting ``indexing`` means ``'ij'`` with torch's warning.
    meshgrid([1, 2], [3, 4, 5], indexing='ij')[1] = [[3, 4, 5], [3, 4, 5]]."""
    ts = _tensor_list(tensors, "meshgrid")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=3)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f'received: {indexing}')
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got a {t.ndim}-d tensor of shape {list(t.shape)}")
        if t.dtype != ts[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    order = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        order[0], order[1] = 1, 0
    shape = [ts[i].array.size for i in order]
    where = {i: p for p, i in enumerate(order)}
    return tuple(_shape.expand(_shape.reshape(t, [-1 if p == where[i] else 1
                                                  for p in range(len(ts))]), shape)
                 for i, t in enumerate(ts))


def broadcast_shapes(*shapes):
    """The shape all of ``shapes`` (ints or sequences) broadcast to, as a ``Size``:
    broadcast_shapes((2, 1), (3,)) → Size([2, 3])."""
    from ..autograd import Size  # noqa: PLC0415
    as_tuples = [(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    out: tuple = ()
    for i, s in enumerate(as_tuples):
        if any(n < 0 for n in s):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(s)}: "
                               f"{list(s)}")
        try:
            out = np.broadcast_shapes(out, s)
        except ValueError:
            bad = next(j for j in range(1, min(len(s), len(out)) + 1)
                       if s[-j] not in (1, out[-j]) and out[-j] != 1)
            raise RuntimeError(f"Attempting to broadcast a dimension of length {s[-bad]} at "
                               f"-{bad}! Mismatching argument at index {i} had {s}; but "
                               f"expected shape should be broadcastable to {list(out)}") from None
    return Size(out)


def broadcast_tensors(*tensors) -> tuple[Tensor, ...]:
    """Every tensor expanded (a view) to their common broadcast shape."""
    ts = _tensor_list(tensors, "broadcast_tensors")
    shape: tuple = ()
    for t in ts:
        try:
            shape = np.broadcast_shapes(shape, t.array.shape)
        except ValueError:
            bad = next(j for j in range(1, min(t.ndim, len(shape)) + 1)
                       if 1 not in (shape[-j], t.shape[-j]) and shape[-j] != t.shape[-j])
            raise RuntimeError(f"The size of tensor a ({shape[-bad]}) must match the size of "
                               f"tensor b ({t.shape[-bad]}) at non-singleton dimension "
                               f"{max(len(shape), t.ndim) - bad}") from None
    return tuple(_shape.expand(t, shape) for t in ts)


def _atleast(n: int):
    def fn(*tensors):
        many = len(tensors) != 1 or isinstance(tensors[0], (tuple, list))
        ts = [_join._at_least(t, n) for t in _tensor_list(tensors, f"atleast_{n}d")]
        return tuple(ts) if many else ts[0]
    fn.__name__ = fn.__qualname__ = f"atleast_{n}d"
    fn.__doc__ = (f"The tensor (or each of several: a tuple) with dims added until it has "
                  f"at least {n}, as torch: () → (1,)…, (k,) → (1, k) / (1, k, 1), "
                  f"(m, k) → (m, k, 1).")
    return fn


atleast_1d, atleast_2d, atleast_3d = _atleast(1), _atleast(2), _atleast(3)


# ----------------------------------------------------------------------------- views

def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, that dim removed (a view): ``x.select(1, -1)`` is
    ``x[:, -1]``."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, input.ndim, "select")
    index, n = operator.index(index), input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    return input[(slice(None),) * d + (index,)]


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-d tensor in row-major order (a view when the memory allows)."""
    return _shape.reshape(input, -1)


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """A view of the windows of ``size`` elements along ``dimension``, ``step`` apart: dim
    ``dimension`` becomes the window count ⌊(n − size)/step⌋ + 1 and a last dim of ``size``
    is added. The gradient adds each window's gradient back (overlaps accumulate).
    (5,).unfold(0, 2, 2) = [[x0, x1], [x2, x3]]."""
    d = normalize_dim(dimension, input.ndim, "unfold")
    n = input.shape[d] if input.ndim else 1
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input.ndim == 0:
        return _shape.reshape(input, 1) if size else _shape.reshape(input, 1)[:0]
    arr = input.array
    shape, strides = list(arr.shape), list(arr.strides)
    shape[d] = (n - size) // step + 1
    strides[d] *= step
    writeable = arr.flags.writeable and (step >= size or shape[d] <= 1)
    data = np.lib.stride_tricks.as_strided(arr, (*shape, size), (*strides, arr.strides[d]),
                                           writeable=writeable)
    a_shape = tuple(arr.shape)
    return make(data, (input,), lambda g: (_fold(g, a_shape, d, size, step),), "unfold",
                view=lambda b: unfold(b, d, size, step))


def _fold(g: Tensor, shape: tuple, d: int, size: int, step: int) -> Tensor:
    """The transpose of ``unfold``: zeros of ``shape`` with each window's values added."""
    m = g.shape[d]
    pos = np.arange(m)[:, None] * step + np.arange(size)[None, :]       # (m, size)
    gm = np.moveaxis(g.array, (d, g.ndim - 1), (0, 1))
    out = np.zeros((shape[d], *gm.shape[2:]), g.dtype)
    np.add.at(out, pos, gm)
    return make(np.moveaxis(out, 0, d), (g,), lambda h: (unfold(h, d, size, step),),
                "unfold_backward")


def sum_to_size(input: Tensor, *size) -> Tensor:
    """The tensor summed down to ``size`` (which must expand to its shape): (3, 4) summed to
    (1, 4) adds the rows."""
    sizes = _sizes(size, "sum_to_size")
    shape = tuple(input.shape)
    lead = len(shape) - len(sizes)
    if lead < 0 or any(s not in (1, n) for s, n in zip(sizes, shape[lead:])):
        raise RuntimeError(f"size {{{list(sizes)}}} is not expandable to size {{{list(shape)}}}.")
    return _reduction.unbroadcast(input, sizes)


# ----------------------------------------------------------------------------- writes

def _index_vector(index, op: str) -> np.ndarray:
    i = index.array if isinstance(index, Tensor) else np.asarray(index)
    if i.dtype != _INT64:
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got {i.dtype}")
    if i.ndim > 1:
        raise IndexError(f"{op}(): Index should have dimension 1 or 0 (got {i.ndim})")
    return i.reshape(-1)


def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """``input`` with the slices ``index`` along ``dim`` replaced by source's slices:
    ``out.select(dim, index[j]) = source.select(dim, j)`` (a repeated index keeps the last).
    ∂/∂input is g with those slices zeroed, ∂/∂source is ``g.index_select(dim, index)``."""
    op = "index_copy_"
    i = _index_vector(index, op)
    x = _shape.reshape(input, 1) if input.ndim == 0 else input
    src = _shape.reshape(source, 1) if source.ndim == 0 else source
    d = normalize_dim(dim, x.ndim, op)
    if src.dtype != x.dtype:
        raise RuntimeError(f"{op}(): self and source expected to have the same dtype, but got "
                           f"(self) {x.dtype} and (source) {src.dtype}")
    if src.ndim != x.ndim:
        raise IndexError(f"{op}(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality "
                         f"({source.ndim}), destination dimensionality ({input.ndim})")
    for k, (m, s) in enumerate(zip(x.shape, src.shape)):
        if k != d and m != s:
            raise RuntimeError(f"{op}(): Source/destination tensor must have same slice "
                               f"shapes. Destination slice shape: {m} at dimension {k} and "
                               f"source slice shape: {s} at dimension {k}.")
    if i.size != src.shape[d]:
        raise IndexError(f"{op}(): Number of indices ({i.size}) should be equal to "
                         f"source.size(dim) ({src.shape[d]})")
    n = x.shape[d]
    if i.size and (i.min() < 0 or i.max() >= n):
        bad = i.min() if i.min() < 0 else i.max()
        raise IndexError(f"{op}(): index {bad} is out of bounds for dimension {d} with size {n}")
    where = (slice(None),) * d + (i,)
    out = x.array.copy()
    out[where] = src.array
    keep = np.ones(x.shape, x.dtype)
    keep[where] = 0
    keep_t, idx_t = Tensor.wrap(keep), Tensor.wrap(i)
    result = make(out, (x, src), lambda g: (g * keep_t, _gather.index_select(g, d, idx_t)),
                  "index_copy")
    return _shape.reshape(result, ()) if input.ndim == 0 else result


def masked_scatter(input: Tensor, mask, source: Tensor) -> Tensor:
    """``input`` with the positions where ``mask`` (broadcast with input) is True filled by
    source's first elements in row-major order. ∂/∂input = g where the mask is False;
    ∂/∂source: g at the masked positions for source's first elements, 0 for the rest."""
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {m.dtype}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got {input.dtype} and {source.dtype}")
    (x,) = broadcast_tensors(input, Tensor.wrap(m))[:1]
    m = np.broadcast_to(m, x.shape)
    count = int(np.count_nonzero(m))
    if source.array.size < count:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    out = x.array.copy()
    out[m] = source.array.reshape(-1)[:count]
    keep = Tensor.wrap((~m).astype(x.dtype))
    rest = source.array.size - count

    def backward(g):
        picked = g[Tensor.wrap(m)]
        if rest:
            picked = _join._cat([picked, Tensor.wrap(np.zeros(rest, g.dtype))], 0, "cat")
        return g * keep, _shape.reshape(picked, source.shape)
    return make(out, (x, source), backward, "masked_scatter")


def put(input: Tensor, index, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` seen as 1-d with ``source``'s elements written (``accumulate``: added) at
    the flat positions ``index`` (negatives count from the end), out of place."""
    i = index.array if isinstance(index, Tensor) else np.asarray(index)
    if i.dtype != _INT64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {i.dtype}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {input.dtype} and source.dtype = {source.dtype}")
    if i.size != source.array.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source.array.size}, "
                         f"index.numel() = {i.size}")
    n = input.array.size
    if i.size and (i.max() >= n or i.min() < -n):
        bad = i.max() if i.max() >= n else i.min()
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         f"elements.")
    flat = _shape.reshape(input, -1)
    out = _ix._put(flat, (i.reshape(-1),), _shape.reshape(source, -1), accumulate, False,
                   i.size > 1, "put")
    return _shape.reshape(out, input.shape)


# ----------------------------------------------------------------------------- joins, splits

def column_stack(tensors) -> Tensor:
    """The tensors side by side as columns: 0-/1-d ones become (n, 1) columns, then ``hstack``
    along dim 1: column_stack([(3,), (3, 2)]) → (3, 3)."""
    ts = _join._tensors(tensors, "column_stack")
    if not ts:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return _join._cat([_shape.reshape(t, (t.array.size, 1)) if t.ndim <= 1 else t for t in ts],
                      1, "column_stack")


def row_stack(tensors) -> Tensor:
    """``vstack``: the tensors as rows (1-d ones as (1, n))."""
    return _join.vstack(tensors)


def _split_along(op: str, input: Tensor, sections, d: int, need: int):
    if input.ndim < need:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {need} dimension, but "
                           f"got a tensor with {input.ndim} dimensions!")
    if isinstance(sections, (int, np.integer)):
        n = input.shape[d]
        if sections == 0 or n % sections:
            raise RuntimeError(f"torch.{op} attempted to split along dimension {d}, but the "
                               f"size of the dimension {n} is not divisible by the split_size "
                               f"{sections}!")
    return _join.tensor_split(input, sections, d)


def hsplit(input: Tensor, indices_or_sections):
    """``tensor_split`` along dim 1 (dim 0 for a 1-d tensor); an int must divide the size."""
    return _split_along("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


def vsplit(input: Tensor, indices_or_sections):
    """``tensor_split`` along dim 0 of a ≥2-d tensor; an int must divide the size."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections):
    """``tensor_split`` along dim 2 of a ≥3-d tensor; an int must divide the size."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0):
    """Pieces of the listed sizes (summing to the dim's size) along ``dim``, as views."""
    return _join.split(input, list(split_sizes), dim)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in ("rot90", "select", "ravel", "unfold", "sum_to_size", "index_copy",
                 "masked_scatter", "put", "hsplit", "vsplit", "dsplit", "split_with_sizes"):
        setattr(Tensor, name, globals()[name])
    Tensor.index_copy_ = _twin("index_copy", index_copy, reads_self=False)
    Tensor.masked_scatter_ = _twin("masked_scatter", masked_scatter, reads_self=False)
    Tensor.put_ = _twin("put", put, reads_self=False)
