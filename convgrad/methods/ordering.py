"""Reductions that pick elements, with torch's named-tuple returns: ``max``/``min`` (every form),
``argmax``/``argmin``, ``median``, ``kthvalue``, ``sort``/``argsort``/``topk``, and the scans
``cumsum``, ``cumprod``, ``cummax``, ``cummin``.

A picked value's gradient goes to the index it came from (the ``indices``); ``max()``/``min()``
and ``median()`` over every element share it evenly among ties, as torch. NaN counts as the
largest value (it propagates through ``max``/``min``/``median``, and ``argmax`` finds it), as
torch. Ties pick the first index (``sort`` is always stable).

Beware: ``x.max(axis=1)`` (NumPy's spelling) returns the maxima only — NumPy's meaning, kept for
code that reads it that way; ``x.max(1)`` / ``x.max(dim=1)`` is torch's ``(values, indices)``.

>>> outputs = Tensor(np.array([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05]]))
>>> _, predicted = outputs.max(1)
>>> predicted.tolist()
[1, 0]
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Tensor, astype, make
from ..autograd.trace import traced
from ..semantics import normalize_dim
from . import reduction as _reduction
from . import shape as _shape

__all__ = ["max", "min", "argmax", "argmin", "median", "kthvalue", "topk", "sort", "argsort",
           "cumsum", "cumprod", "cummax", "cummin"]

_INT64 = np.dtype(np.int64)

#: torch.return_types: (values, indices) named tuples, one type per op (``type(r).__name__``)
return_types = {name: namedtuple(name, ("values", "indices")) for name in (
    "max", "min", "median", "kthvalue", "sort", "topk", "cummax", "cummin")}


# ----------------------------------------------------------------------------- selection

def _select(a: Tensor, idx: np.ndarray, axis: int, op: str, keepdim: bool = True,
            unique: bool = True) -> Tensor:
    """``take_along_axis(a, idx, axis)`` (squeezed along ``axis`` unless ``keepdim``); the
    gradient is placed back at ``idx``."""
    out = np.take_along_axis(a.array, idx, axis)
    kept = out.shape
    return make(out if keepdim else out.squeeze(axis), (a,),
                lambda g: (_place(g.reshape(kept), idx, axis, a.shape, unique),), op)


def _place(g: Tensor, idx: np.ndarray, axis: int, shape, unique: bool) -> Tensor:
    """Zeros of ``shape`` with g added at ``idx`` along ``axis`` (repeats accumulate): the
    transpose of ``_select``."""
    out = np.zeros(shape, dtype=g.dtype)
    if unique:
        np.put_along_axis(out, idx, g.array, axis)
    else:
        grid = list(np.indices(idx.shape, sparse=True))
        grid[axis] = idx
        np.add.at(out, tuple(grid), g.array)
    return make(out, (g,), lambda h: (_select(h, idx, axis, "gather"),), "scatter")


def _scalar_pick(op: str, a: Tensor):
    """A 0-d input: the value itself (a copy) and index 0."""
    values = make(a.array.copy(), (a,), lambda g: (g,), op)
    return return_types[op](values, Tensor.wrap(np.zeros((), _INT64)))


def _nonempty(op: str, a: Tensor, d: int) -> None:
    if a.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _order(arr: np.ndarray, d: int, descending: bool) -> np.ndarray:
    """Stable argsort along d, NaN last (first when descending), ties in input order."""
    if not descending:
        return np.argsort(arr, axis=d, kind="stable")
    flipped = np.argsort(np.flip(arr, d), axis=d, kind="stable")
    return arr.shape[d] - 1 - np.flip(flipped, d)


# ----------------------------------------------------------------------------- max / min

def _extreme(op: str, input, dim, keepdim, axis, keepdims, argfn):
    a = input
    if isinstance(dim, Tensor):                        # max(other): elementwise
        if keepdim:
            raise TypeError(f"{op}(): keepdim is not an argument of {op}(input, other)")
        return _binary(op, a, dim)
    if axis is not None:                               # NumPy's spelling: the values only
        if dim is not None:
            raise TypeError(f"{op}(): got both 'dim' and its alias 'axis'")
        return getattr(_reduction, "a" + op)(a, axis, keepdim if keepdims is None else keepdims)
    keepdim = keepdim if keepdims is None else keepdims
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}(): keepdim needs a dim ({op}(input, dim, keepdim))")
        if a.array.size == 0:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                               f"argument.")
        return getattr(_reduction, "a" + op)(a)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__} (amax/"
                        f"amin reduce several dims)")
    d = normalize_dim(dim, a.ndim, op)
    if a.ndim == 0:
        return _scalar_pick(op, a)
    _nonempty(op, a, d)
    idx = argfn(a.array, axis=d, keepdims=True)
    return return_types[op](_select(a, idx, d, op, keepdim),
                            Tensor.wrap(idx if keepdim else idx.squeeze(d)))


def max_(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """Three forms, as torch: ``max()`` the largest element (gradient shared evenly among
    ties); ``max(dim, keepdim=False)`` the named tuple ``(values, indices)`` along ``dim``
    (the gradient goes to the index); ``max(other)`` the elementwise maximum.

    >>> x = Tensor(np.array([[1.0, 5.0], [7.0, 2.0]]))
    >>> x.max().item(), x.max(1).values.tolist(), x.max(dim=0).indices.tolist()
    (7.0, [5.0, 7.0], [1, 0])
    """
    return _extreme("max", input, dim, keepdim, axis, keepdims, np.argmax)


def min_(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """The three forms of ``max`` for the minimum."""
    return _extreme("min", input, dim, keepdim, axis, keepdims, np.argmin)


def _binary(op: str, a: Tensor, b: Tensor) -> Tensor:
    from . import elementwise  # noqa: PLC0415  (at call time: its maximum may come later)
    fn = getattr(elementwise, "maximum" if op == "max" else "minimum", None)
    if fn is not None:
        return fn(a, b)
    if a.dtype != b.dtype:
        dtype = np.promote_types(a.dtype, b.dtype)
        a, b = astype(a, dtype), astype(b, dtype)
    pick = np.maximum if op == "max" else np.minimum
    x, y = a.array, b.array
    # torch's rule: ties split the gradient in halves
    wins = (x > y) if op == "max" else (x < y)
    loses = (x < y) if op == "max" else (x > y)
    wa = Tensor.wrap(np.where(x == y, 0.5, wins).astype(x.dtype))
    wb = Tensor.wrap(np.where(x == y, 0.5, loses).astype(x.dtype))
    unb = _reduction.unbroadcast
    return make(pick(x, y), (a, b), lambda g: (unb(g * wa, a.shape), unb(g * wb, b.shape)), op)


def _arg(op: str, input, dim, keepdim, argfn) -> Tensor:
    a = input
    if dim is None:
        if a.array.size == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for "
                             f"input.numel() == 0.")
        out = np.asarray(argfn(a.array), _INT64)
        return Tensor.wrap(out.reshape((1,) * a.ndim) if keepdim else out)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}(): argument 'dim' (position 1) must be int, not "
                        f"{type(dim).__name__}")
    d = normalize_dim(dim, a.ndim, op)
    if a.ndim == 0:
        return Tensor.wrap(np.zeros((), _INT64))
    _nonempty(op, a, d)
    return Tensor.wrap(np.asarray(argfn(a.array, axis=d, keepdims=keepdim), _INT64))


@traced("argmax")
def argmax(input, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the maximum (flat when ``dim`` is None; the first among ties; a NaN wins),
    int64.

    >>> Tensor(np.array([[1.0, 5.0], [7.0, 2.0]])).argmax().item()
    2
    """
    return _arg("argmax", input, dim, keepdim, np.argmax)


@traced("argmin")
def argmin(input, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the minimum (see ``argmax``)."""
    return _arg("argmin", input, dim, keepdim, np.argmin)


# ----------------------------------------------------------------------------- order statistics

def median(input, dim=None, keepdim: bool = False):
    """The lower median (element ``(n − 1) // 2`` in sorted order; NaN if any is NaN), as
    torch: over every element a value (gradient shared among ties), with ``dim`` the named
    tuple ``(values, indices)``.

    >>> x = Tensor(np.array([[4.0, 1.0, 3.0, 2.0]]))
    >>> x.median().item(), x.median(1).indices.tolist()
    (2.0, [3])
    """
    a = input
    if dim is None:
        flat = a.array.reshape(-1)
        if flat.size == 0:
            return Tensor.wrap(np.full((), np.nan, a.dtype if a.dtype.kind == "f" else None))
        value = np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]
        isnan = np.isnan(flat) if a.dtype.kind == "f" else None
        if isnan is not None and isnan.any():
            value, hit = np.asarray(np.nan, a.dtype), isnan.reshape(a.shape)
        else:
            hit = a.array == value
        share = (Tensor.wrap(hit.astype(a.dtype) / int(np.count_nonzero(hit)))
                 if a.dtype.kind == "f" else None)
        return make(np.asarray(value), (a,), lambda g: (g * share,), "median")
    d = normalize_dim(dim, a.ndim, "median")
    if a.ndim == 0:
        return _scalar_pick("median", a)
    _nonempty("median", a, d)
    n = a.shape[d]
    order = np.argsort(a.array, axis=d, kind="stable")
    pos = np.full(_reduction.kept_shape(a.shape, (d,)), (n - 1) // 2)
    if a.dtype.kind == "f":
        nans = np.isnan(a.array).sum(axis=d, keepdims=True)
        pos = np.where(nans > 0, n - nans, pos)            # the first NaN (sorted last)
    idx = np.take_along_axis(order, pos, d)
    return return_types["median"](_select(a, idx, d, "median", keepdim),
                                  Tensor.wrap(idx if keepdim else idx.squeeze(d)))


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The k-th smallest element along ``dim`` (k counts from 1; NaN is the largest), as
    ``(values, indices)``.

    >>> Tensor(np.array([3.0, 1.0, 2.0])).kthvalue(2).values.item()
    2.0
    """
    a = input
    d = normalize_dim(dim, a.ndim, "kthvalue")
    n = a.shape[d] if a.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {d} "
                           f"of size {n}")
    if a.ndim == 0:
        return _scalar_pick("kthvalue", a)
    idx = np.take(np.argsort(a.array, axis=d, kind="stable"), [k - 1], axis=d)
    return return_types["kthvalue"](_select(a, idx, d, "kthvalue", keepdim),
                                    Tensor.wrap(idx if keepdim else idx.squeeze(d)))


def sort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """The elements along ``dim`` in order, as ``(values, indices)``; always stable (ties keep
    their input order), NaN sorts as the largest. ``stable`` is accepted for torch's sake.

    >>> Tensor(np.array([3.0, 1.0, 2.0])).sort(descending=True).indices.tolist()
    [0, 2, 1]
    """
    a = input
    d = normalize_dim(dim, a.ndim, "sort")
    if a.ndim == 0:
        return _scalar_pick("sort", a)
    order = _order(a.array, d, descending)
    return return_types["sort"](_select(a, order, d, "sort"), Tensor.wrap(order))


def argsort(input, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """``sort(...).indices`` (int64)."""
    d = normalize_dim(dim, input.ndim, "argsort")
    if input.ndim == 0:
        return Tensor.wrap(np.zeros((), _INT64))
    return Tensor.wrap(_order(input.array, d, descending))


def topk(input, k: int, dim: int | None = None, largest: bool = True, sorted: bool = True):
    """The k largest (``largest=False``: smallest) elements along ``dim`` (default the last),
    as ``(values, indices)``, in order (``sorted=False`` gives the same order).

    >>> Tensor(np.array([1.0, 4.0, 3.0, 2.0])).topk(2).indices.tolist()
    [1, 2]
    """
    a = input
    d = normalize_dim(-1 if dim is None else dim, a.ndim, "topk")
    n = a.shape[d] if a.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k out of range (k={k}, dim {d} has size "
                           f"{n})")
    if a.ndim == 0:
        return _scalar_pick("topk", a) if k else return_types["topk"](
            a.reshape(-1)[:0].reshape(()), Tensor.wrap(np.zeros((), _INT64)))
    idx = np.take(_order(a.array, d, largest), np.arange(k), axis=d)
    return return_types["topk"](_select(a, idx, d, "topk"), Tensor.wrap(idx))


# ----------------------------------------------------------------------------- scans

def _scan_input(op: str, input, dim, dtype):
    a = input if dtype is None else astype(input, np.dtype(dtype))
    d = normalize_dim(dim, a.ndim, op)
    return a, d, (_INT64 if a.dtype.kind in "biu" else a.dtype)


def cumsum(input, dim: int, *, dtype=None) -> Tensor:
    """Running sums along ``dim``: ``y_i = Σ_{j≤i} x_j`` (integer/bool input gives int64).

    >>> Tensor(np.array([1.0, 2.0, 3.0])).cumsum(0).tolist()
    [1.0, 3.0, 6.0]
    """
    a, d, acc = _scan_input("cumsum", input, dim, dtype)
    if a.ndim == 0:
        return make(a.array.astype(acc), (a,), lambda g: (g,), "cumsum")
    return make(np.cumsum(a.array, axis=d, dtype=acc), (a,), lambda g: (_rev_cumsum(g, d),),
                "cumsum")


def _rev_cumsum(g: Tensor, d: int) -> Tensor:
    """``y_i = Σ_{j≥i} g_j`` (the transpose of cumsum)."""
    out = np.flip(np.cumsum(np.flip(g.array, d), axis=d), d)
    return make(np.ascontiguousarray(out), (g,), lambda h: (cumsum(h, d),), "rev_cumsum")


def cumprod(input, dim: int, *, dtype=None) -> Tensor:
    """Running products along ``dim``: ``y_i = Π_{j≤i} x_j``; the gradient stays exact where
    the input has zeros.

    >>> Tensor(np.array([1.0, 2.0, 3.0])).cumprod(0).tolist()
    [1.0, 2.0, 6.0]
    """
    a, d, acc = _scan_input("cumprod", input, dim, dtype)
    if a.ndim == 0:
        return make(a.array.astype(acc), (a,), lambda g: (g,), "cumprod")
    out = make(np.cumprod(a.array, axis=d, dtype=acc), (a,), None, "cumprod",
               saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: (_cumprod_grad(a, g, out, d),)
    return out


def _cumprod_grad(a: Tensor, g: Tensor, out: Tensor, d: int) -> Tensor:
    if not (a.array == 0).any():
        return _rev_cumsum(g * out, d) / a
    # ∂L/∂x_k = Σ_{i≥k} g_i Π_{j≤i, j≠k} x_j: row k of X' is x with x_k replaced by 1
    # (n× the memory, only when there are zeros).
    from .elementwise import where  # noqa: PLC0415  (elementwise imports reduction)
    x, gl = _shape.swapaxes(a, d, -1), _shape.swapaxes(g, d, -1)
    n = x.shape[-1]
    rows = where(np.eye(n, dtype=bool), 1.0, x.reshape(*x.shape[:-1], 1, n))
    later = Tensor.wrap(np.triu(np.ones((n, n), a.dtype)))        # [k, i]: i ≥ k
    terms = cumprod(rows, -1) * (gl.reshape(*gl.shape[:-1], 1, n) * later)
    return _shape.swapaxes(_reduction.sum_(terms, -1), d, -1)


def _running(op: str, input, dim, accumulate):
    a = input
    d = normalize_dim(dim, a.ndim, op)
    if a.ndim == 0:
        return _scalar_pick(op, a)
    arr = a.array
    values = accumulate(arr, axis=d)
    hit = arr == values                                  # a new extreme (ties: the later)
    if a.dtype.kind == "f":
        hit |= np.isnan(arr)
    where = [1] * a.ndim
    where[d] = -1
    idx = np.maximum.accumulate(np.where(hit, np.arange(arr.shape[d]).reshape(where), 0),
                                axis=d)
    return return_types[op](_select(a, idx, d, op, unique=False), Tensor.wrap(idx))


def cummax(input, dim: int):
    """Running maxima along ``dim`` as ``(values, indices)`` (ties: the later index; NaN
    propagates), as torch."""
    return _running("cummax", input, dim, np.maximum.accumulate)


def cummin(input, dim: int):
    """Running minima along ``dim`` (see ``cummax``)."""
    return _running("cummin", input, dim, np.minimum.accumulate)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    Tensor.max, Tensor.min = max_, min_
    for name in ("argmax", "argmin", "median", "kthvalue", "sort", "argsort", "topk", "cumsum",
                 "cumprod", "cummax", "cummin"):
        setattr(Tensor, name, globals()[name])


# the top-level twins that shadow builtins (bound last: nothing above calls the builtins)
max, min = max_, min_  # noqa: A001
