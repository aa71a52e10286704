"""Indexing along one dim: ``gather``/``scatter`` and their kin (``scatter_add``,
``scatter_reduce``, ``index_select``, ``index_add``, ``index_fill``, ``take_along_dim``), and the
triangle/diagonal selections (``tril``, ``triu``, ``diagonal``), with torch's shape rules and
errors. Each is advanced indexing with an index built along ``dim``, so the gradients are
``indexing.py``'s: gather ↔ put at the same positions.

>>> x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
>>> i = Tensor(np.array([[0, 0], [1, 0]]))
>>> x.gather(1, i).tolist(), Tensor(np.zeros((2, 2))).scatter_add(1, i, x).tolist()
([[1.0, 1.0], [4.0, 3.0]], [[3.0, 0.0], [4.0, 3.0]])
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, make, modify
from ..semantics import normalize_dim
from . import indexing as _ix
from . import shape as _shape

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "index_fill", "take_along_dim", "tril", "triu", "diagonal"]


def _long(index, op: str, ints=(np.int64, np.int32)) -> np.ndarray:
    i = index.array if isinstance(index, Tensor) else np.asarray(index)
    if i.dtype not in ints:
        raise RuntimeError(f"{op}(): Expected dtype int64 for index (got {i.dtype})")
    return i


def _in_range(i: np.ndarray, n: int, op: str, dim: int, negative_ok: bool = False) -> None:
    if i.size and (i.max() >= n or i.min() < (-n if negative_ok else 0)):
        bad = i.max() if i.max() >= n else i.min()
        raise (IndexError if negative_ok else RuntimeError)(
            f"{op}: index {bad} is out of bounds for dimension {dim} with size {n}")


def _grid(i: np.ndarray, d: int) -> tuple:
    """The advanced index that reads ``x[..., i[p], ...]`` (i at dim d) at each position p."""
    grid = list(np.indices(i.shape, sparse=True))
    grid[d] = i
    return tuple(grid)


def _along(input: Tensor, dim: int, index, op: str, src_shape=None):
    """Shared checks of gather/scatter: (d, index array, its grid); torch's errors."""
    d = normalize_dim(dim, input.ndim, op)
    i = _long(index, op)
    if max(i.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor ({i.ndim} vs {input.ndim})")
    shape = input.shape if input.ndim else (1,)
    ishape = i.shape if i.ndim else (1,)
    over_self = any(k != d and m > n for k, (m, n) in enumerate(zip(ishape, shape)))
    over_src = src_shape is not None and any(m > n for m, n in zip(ishape, src_shape or (1,)))
    if over_self or over_src:
        what = f" and to be no larger size than src {list(src_shape)}" if src_shape else ""
        raise RuntimeError(f"{op}(): Size does not match: expected index {list(i.shape)} to be "
                           f"no larger than self {list(input.shape)} apart from dimension "
                           f"{d}{what}")
    _in_range(i, shape[d], op, d)
    return d, i.reshape(ishape), _grid(i.reshape(ishape), d)


def _flat(t: Tensor) -> Tensor:
    return t.reshape(1) if t.ndim == 0 else t


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """``out[p] = input[p with dim replaced by index[p]]``; out has index's shape (index may be
    smaller than input in the other dims). ∂/∂input adds g back at those positions."""
    d, i, grid = _along(input, dim, index, "gather")
    out = _ix._index(_flat(input), grid, False, i.size > 1)
    return out.reshape(()) if np.ndim(index) == 0 else out


def _source(src, i: np.ndarray, like: Tensor, op: str) -> Tensor:
    """src cut to index's shape (torch reads only that corner of a larger src)."""
    if src.dtype != like.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (got "
                           f"{like.dtype} and {src.dtype})")
    src = _flat(src)
    if tuple(src.shape) == i.shape:
        return src
    return _ix._index(src, tuple(slice(0, n) for n in i.shape) + (Ellipsis,), True, False)


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """``out = input`` with ``out[p with dim replaced by index[p]] = src[p]`` (or the number
    ``value``), out of place; ``reduce="add"|"multiply"`` combines instead (no gradient with
    multiply, as torch). ∂/∂input = g with zeros where written; ∂/∂src = g.gather(dim, index)."""
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src                         # scatter(dim, index, 2.0)
    if (src is None) == (value is None):
        raise TypeError("scatter(): expected exactly one of src (a Tensor) and value (a number)")
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got "
                           f"{reduce!r}")
    d, i, grid = _along(input, dim, index, "scatter", None if src is None else _flat(src).shape)
    v = (Tensor.wrap(np.asarray(value).astype(input.dtype)) if src is None
         else _source(src, i, input, "scatter"))
    x = _flat(input)
    if reduce == "multiply":
        if x._requires_grad or v._requires_grad:
            raise RuntimeError("scatter(): the derivative for scatter with reduce='multiply' is "
                               "not implemented (as in torch); use scatter_reduce(..., 'prod')")
        out = x.array.copy()
        np.multiply.at(out, grid, v.array)
        out = Tensor.wrap(out)
    else:
        out = _ix._put(x, grid, v, reduce == "add", False, i.size > 1, "scatter")
    return out.reshape(()) if input.ndim == 0 else out


def scatter_(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """In-place ``scatter``."""
    return modify(input, lambda old: scatter(old, dim, index, src, value=value, reduce=reduce),
                  "scatter_", reads_self=reduce == "multiply", others=(src,))


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """``input`` with each ``src[p]`` added at ``p with dim replaced by index[p]`` (repeats
    add up). ∂/∂input = g, ∂/∂src = g.gather(dim, index)."""
    return scatter(input, dim, index, src, reduce="add")


def scatter_add_(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """In-place ``scatter_add``."""
    return modify(input, lambda old: scatter_add(old, dim, index, src), "scatter_add_",
                  reads_self=False, others=(src,))


_REDUCE = {"sum": (np.add, 0), "prod": (np.multiply, 1), "mean": (np.add, 0),
           "amax": (np.maximum, -np.inf), "amin": (np.minimum, np.inf)}


def scatter_reduce(input: Tensor, dim: int, index, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Each position of ``input`` reduced (sum, prod, mean, amax, amin) with the src values
    scattered to it (and itself when ``include_self``). Gradients as torch's, for all but prod
    (ties of amax/amin share the gradient equally)."""
    if reduce not in _REDUCE:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be either sum, prod, mean, "
                           f"amax or amin, got {reduce}")
    d, i, grid = _along(input, dim, index, "scatter_reduce", _flat(src).shape)
    v, x = _source(src, i, input, "scatter_reduce"), _flat(input)
    ufunc, identity = _REDUCE[reduce]
    hit = np.zeros(x.shape, np.int64)
    np.add.at(hit, grid, 1)
    out = x.array.copy()
    if not include_self:
        fill = identity if x.dtype.kind == "f" or np.isfinite(identity) else (
            np.iinfo(x.dtype).min if identity < 0 else np.iinfo(x.dtype).max)
        out[hit > 0] = fill
    ufunc.at(out, grid, v.array)
    count = hit + (1 if include_self else 0)
    self_w = np.where(hit > 0, 1 if include_self else 0, 1).astype(x.dtype)
    if reduce == "mean":
        safe = np.maximum(count, 1)
        out = np.where(hit > 0, out // safe if x.dtype.kind != "f" else out / safe, out)
        self_w = self_w / safe
        src_w = Tensor.wrap((1 / safe).astype(x.dtype))       # ∂mean/∂each = 1/count
    elif reduce in ("amax", "amin"):
        self_hit = self_w * (x.array == out)
        src_hit = v.array == out[grid]
        ties = self_hit.copy()
        np.add.at(ties, grid, src_hit)
        self_w = self_hit / np.maximum(ties, 1)
        src_w = Tensor.wrap(src_hit / np.maximum(ties, 1)[grid])
    elif reduce == "sum":
        src_w = None
    elif x._requires_grad or v._requires_grad:
        raise RuntimeError("scatter_reduce(): the derivative for reduce='prod' is not "
                           "implemented here (a deliberate gap; torch's needs zero handling)")
    keep = Tensor.wrap(self_w.astype(x.dtype))

    def backward(g):
        picked = _ix._index(g, grid, False, i.size > 1)
        if reduce == "mean":
            picked = _ix._index(g * src_w, grid, False, i.size > 1)
        elif src_w is not None:
            picked = picked * src_w
        return g * keep, picked

    result = make(np.asarray(out, dtype=x.dtype), (x, v), backward, "scatter_reduce")
    return result.reshape(()) if input.ndim == 0 else result


def _vector(index, op: str) -> np.ndarray:
    i = index.array if isinstance(index, Tensor) else np.asarray(index)
    if i.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int32 or int64 for index (got {i.dtype})")
    if i.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector (got shape {list(i.shape)})")
    return i.reshape(-1)


def _dim_index(input: Tensor, dim: int, i: np.ndarray) -> tuple:
    d = normalize_dim(dim, input.ndim, "index")
    return (slice(None),) * d + (i, Ellipsis)


def index_select(input: Tensor, dim: int, index) -> Tensor:
    """The slices ``index`` (1-d) of ``input`` along ``dim``: ``x.index_select(0, i) = x[i]``."""
    i = _vector(index, "index_select")
    d = normalize_dim(dim, input.ndim, "index_select")
    _in_range(i, _flat(input).shape[d], "index_select()", d)
    x = _flat(input)
    out = _ix._index(x, _dim_index(x, d, i), False, i.size > 1)
    return out.reshape(()) if input.ndim == 0 and np.ndim(index) == 0 else out


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """``input`` with ``alpha·source[…, k, …]`` added at slice ``index[k]`` of ``dim``."""
    i = _vector(index, "index_add")
    x, src = _flat(input), _flat(source)
    d = normalize_dim(dim, input.ndim, "index_add")
    if src.shape[d] != i.size:
        raise RuntimeError(f"index_add_(): Number of indices ({i.size}) should be equal to "
                           f"source.size(dim): ({src.shape[d]}), for dim: {d}")
    _in_range(i, x.shape[d], "index_add()", d, negative_ok=True)
    if alpha != 1:
        src = src * alpha
    return _ix._put(x, _dim_index(x, d, i), src, True, False, i.size > 1,
                    "index_add").reshape(input.shape)


def index_add_(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    return modify(input, lambda old: index_add(old, dim, index, source, alpha=alpha),
                  "index_add_", reads_self=False, others=(source,))


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    """``input`` with the slices ``index`` of ``dim`` set to ``value`` (a number or 0-d
    tensor)."""
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    i = _vector(index, "index_fill")
    x = _flat(input)
    d = normalize_dim(dim, input.ndim, "index_fill")
    _in_range(i, x.shape[d], "index_fill()", d, negative_ok=True)
    v = _ix._value(x, value, True, False, "index_fill")
    return _ix._put(x, _dim_index(x, d, i), v, False, False, i.size > 1,
                    "index_fill").reshape(input.shape)


def index_fill_(input: Tensor, dim: int, index, value) -> Tensor:
    return modify(input, lambda old: index_fill(old, dim, index, value), "index_fill_",
                  reads_self=False, others=(value,))


def take_along_dim(input: Tensor, indices, dim: int | None = None) -> Tensor:
    """``gather`` with broadcasting: input and indices broadcast in every dim but ``dim``
    (dim None: both flattened). Negative indices count from the end, as torch."""
    i = _long(indices, "take_along_dim")
    if dim is None:
        input, i, dim = input.reshape(-1), i.reshape(-1), 0
    if input.ndim != i.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {i.ndim} dimensions for indices")
    d = normalize_dim(dim, input.ndim, "take_along_dim")
    n = _flat(input).shape[d]
    _in_range(i, n, "take_along_dim", d, negative_ok=True)
    def drop(shape):
        return tuple(n for k, n in enumerate(shape) if k != d)
    try:
        common = np.broadcast_shapes(drop(input.shape), drop(i.shape))
    except ValueError:
        raise RuntimeError(f"take_along_dim: the shapes {list(input.shape)} and "
                           f"{list(i.shape)} do not broadcast outside dim {d}") from None
    want_x = common[:d] + (n,) + common[d:]
    want_i = common[:d] + (i.shape[d] if i.ndim else 1,) + common[d:]
    x = input if tuple(input.shape) == want_x else _shape.broadcast_to(input, want_x)
    i = np.broadcast_to(i % max(n, 1), want_i) if i.ndim else i % max(n, 1)
    return gather(x, d, i)


def _triangle(input: Tensor, diagonal: int, op: str) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
    rows, cols = input.shape[-2:]
    lower = np.tri(rows, cols, diagonal if op == "tril" else diagonal - 1, dtype=bool)
    keep = lower if op == "tril" else ~lower
    zero = np.zeros((), input.dtype)
    return make(np.where(keep, input.array, zero), (input,),
                lambda g: (_triangle(g, diagonal, op),), op)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (``j − i ≤ diagonal``) of the last two dims; zeros elsewhere."""
    return _triangle(input, diagonal, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (``j − i ≥ diagonal``) of the last two dims; zeros elsewhere."""
    return _triangle(input, diagonal, "triu")


def _triangle_(input: Tensor, diagonal: int, op: str) -> Tensor:
    def fast(array):
        rows, cols = array.shape[-2:]
        lower = np.tri(rows, cols, diagonal if op == "tril" else diagonal - 1, dtype=bool)
        np.copyto(array, 0, where=~lower if op == "tril" else lower)
    if input.ndim < 2:
        raise RuntimeError(f"{op}_: input tensor must have at least 2 dimensions")
    return modify(input, lambda old: _triangle(old, diagonal, op), op + "_", reads_self=False,
                  fast=fast)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The view of the elements ``input[…, i, …, i + offset, …]`` (dims dim1, dim2), as a new
    last dim; writable, as torch's."""
    d1, d2 = (normalize_dim(v, input.ndim, "diagonal") for v in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    view = np.diagonal(input.array, offset, d1, d2)
    if input.array.flags.writeable:
        view.flags.writeable = True
    shape = input.shape

    def backward(g):
        return (_diag_embed(g, shape, offset, d1, d2),)
    return make(view, (input,), backward, "diagonal",
                view=lambda b: diagonal(b, offset, d1, d2))


def _diag_embed(g: Tensor, shape, offset: int, d1: int, d2: int) -> Tensor:
    out = np.zeros(shape, g.dtype)
    target = np.diagonal(out, offset, d1, d2)
    target.flags.writeable = True
    target[...] = g.array
    return make(out, (g,), lambda h: (diagonal(h, offset, d1, d2),), "diag_embed")


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in __all__:
        setattr(Tensor, name, globals()[name])
    for name in ("scatter_", "scatter_add_", "index_add_", "index_fill_"):
        setattr(Tensor, name, globals()[name])
    Tensor.tril_ = lambda self, diagonal=0: _triangle_(self, diagonal, "tril")
    Tensor.triu_ = lambda self, diagonal=0: _triangle_(self, diagonal, "triu")
