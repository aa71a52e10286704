"""Reductions over dims with torch's ``dim``/``keepdim`` (NumPy's ``axis``/``keepdims`` are
accepted as aliases): ``sum, mean, nansum, nanmean, prod, std, var, amax, amin, logsumexp,
norm, all, any, count_nonzero`` (the ordering ones — ``max``, ``argmax``, ``sort`` … — are in
``ordering.py``).

``dim`` is one int, a tuple/list of ints, or None (every dim; ``()`` means every dim too, as
in torch); out of range is torch's IndexError (``normalize_dims``). Integer and bool sums are
int64; ``mean``/``std``/``var`` refuse integer input with torch's RuntimeError.

>>> x = Tensor(np.arange(6.0).reshape(2, 3))
>>> x.sum(dim=1).tolist(), x.mean(0, keepdim=True).tolist(), x.std().item()
([3.0, 12.0], [[1.5, 2.5, 3.5]], 1.8708286933869707)
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, astype, make
from ..autograd.trace import traced
from ..semantics import get_default_dtype, normalize_dim, normalize_dims
from . import shape as _shape

__all__ = ["sum", "mean", "nansum", "nanmean", "prod", "std", "var", "std_mean", "var_mean",
           "amax", "amin", "logsumexp", "norm", "all", "any", "count_nonzero"]

_INT64 = np.dtype(np.int64)


# ----------------------------------------------------------------------------- arguments

def alias(op: str, value, numpy_value, name: str, default=None):
    """torch's argument, or its NumPy alias (``axis`` for ``dim``, ``keepdims`` for
    ``keepdim``); both given is torch's TypeError."""
    if numpy_value is None:
        return default if value is None else value
    if value is not None and value is not default:
        raise TypeError(f"{op}(): got both '{name}' and its alias "
                        f"'{'axis' if name == 'dim' else 'keepdims'}'")
    return numpy_value


def reduced_axes(dim, ndim: int, op: str) -> tuple[int, ...]:
    """The sorted axes a reduction removes: None or ``()`` is every axis."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    if dim is not None and not isinstance(dim, (tuple, list, int, np.integer)):
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got "
                        f"{type(dim).__name__}")
    try:
        return normalize_dims(dim, ndim, op)
    except ValueError:
        raise RuntimeError(f"{op}: dim {tuple(dim)} has a dim appearing multiple times in the "
                           f"list of dims") from None


def kept_shape(shape, axes) -> tuple[int, ...]:
    """``shape`` with each reduced axis as 1 (the shape of a ``keepdim=True`` result)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(g: Tensor, kept: tuple, shape) -> Tensor:
    """The upstream gradient of a reduction, broadcast back over the reduced axes."""
    return _shape.broadcast_to(g.reshape(kept), shape)


def _dtype(dtype) -> np.dtype | None:
    return None if dtype is None else np.dtype(dtype)


def _floating(op: str, a: Tensor, what: str = "") -> None:
    if a.dtype.kind != "f":
        raise RuntimeError(what or f"{op}(): could not infer output dtype. Input dtype must be "
                           f"either a floating point or complex dtype. Got: {a.dtype}")


def _shape_out(top: np.ndarray, shape, axes, keepdim: bool) -> np.ndarray:
    return top if keepdim else top.reshape([n for i, n in enumerate(shape) if i not in axes])


# ----------------------------------------------------------------------------- sums

def unbroadcast(g: Tensor, shape: tuple) -> Tensor:
    """Sum g over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape)
                                       if n == 1 and g.shape[i + extra] != 1)
    return sum_(g, axes, True).reshape(shape) if axes else g.reshape(shape)


@traced("sum")
def sum_(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
         keepdims=None) -> Tensor:
    """Σ over ``dim``; integer/bool input sums to int64 (torch's rule), ``dtype`` casts first.

    >>> Tensor(np.array([[1, 2], [3, 4]])).sum(dim=1).tolist()
    [3, 7]
    """
    a = input if dtype is None else astype(input, _dtype(dtype))
    dim, keepdim = alias("sum", dim, axis, "dim"), alias("sum", keepdim, keepdims, "keepdim",
                                                          False)
    axes = reduced_axes(dim, a.ndim, "sum")
    acc = _INT64 if a.dtype.kind in "biu" else None
    kept = kept_shape(a.shape, axes)
    if len(axes) == a.ndim and not keepdim:                   # the common case: everything
        out = np.asarray(a.array.sum(dtype=acc))
    else:
        out = a.array.sum(axis=axes, keepdims=keepdim, dtype=acc)
    return make(out, (a,), lambda g: (_expand(g, kept, a.shape),),
                "sum" if dim is None else "sum_dim")


@traced("mean")
def mean(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
         keepdims=None) -> Tensor:
    """Σ/count over ``dim`` (NaN for an empty set, as in torch); floating input only (or a
    floating ``dtype``, cast first).

    >>> Tensor(np.array([[1.0, 2.0], [3.0, 5.0]])).mean(0).tolist()
    [2.0, 3.5]
    """
    a = input if dtype is None else astype(input, _dtype(dtype))
    _floating("mean", a)
    dim, keepdim = alias("mean", dim, axis, "dim"), alias("mean", keepdim, keepdims,
                                                           "keepdim", False)
    axes = reduced_axes(dim, a.ndim, "mean")
    count = 1
    for i in axes:
        count *= a.shape[i]
    kept = kept_shape(a.shape, axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(a.array.sum(axis=axes, keepdims=keepdim))
        out = np.divide(out, count, out=out) if out.ndim else np.asarray(out / count)
    return make(out, (a,), lambda g: (_expand(g, kept, a.shape) / float(count or 1),),
                "mean" if dim is None else "mean_dim")


def nansum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Σ over ``dim`` with NaN counted as 0 (their gradient is 0)."""
    a = input if dtype is None else astype(input, _dtype(dtype))
    if a.dtype.kind != "f":
        return sum_(a, dim, keepdim)
    axes = reduced_axes(dim, a.ndim, "nansum")
    kept, keep = kept_shape(a.shape, axes), Tensor.wrap((~np.isnan(a.array)).astype(a.dtype))
    return make(np.nansum(a.array, axis=axes, keepdims=keepdim), (a,),
                lambda g: (_expand(g, kept, a.shape) * keep,), "nansum")


def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the non-NaN elements over ``dim`` (NaN where all are NaN)."""
    a = input if dtype is None else astype(input, _dtype(dtype))
    _floating("nanmean", a, f"nanmean(): expected input to have floating point or complex "
                            f"dtype but got {a.dtype}")
    axes = reduced_axes(dim, a.ndim, "nanmean")
    count = (~np.isnan(a.array)).sum(axis=axes, keepdims=keepdim).astype(a.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return nansum(a, axes, keepdim) / Tensor.wrap(count)


@traced("prod")
def prod(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Π over one dim (or every element); integer/bool input gives int64. The gradient
    ``Π_{j≠i} x_j`` stays exact where the input has zeros.

    >>> Tensor(np.array([[1.0, 2.0], [0.0, 4.0]])).prod(1).tolist()
    [2.0, 0.0]
    """
    a = input if dtype is None else astype(input, _dtype(dtype))
    if dim is None:
        if keepdim:
            raise TypeError("prod(): keepdim needs a dim (prod(input, dim, keepdim))")
        return prod(a.reshape(-1), 0).reshape(())
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    axis = normalize_dim(dim, a.ndim, "prod")
    acc = _INT64 if a.dtype.kind in "biu" else None
    if a.ndim == 0:
        return make(a.array.astype(acc or a.dtype), (a,), lambda g: (g,), "prod")
    kept = kept_shape(a.shape, (axis,))
    out = make(a.array.prod(axis=axis, keepdims=keepdim, dtype=acc), (a,), None, "prod",
               saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: (_prod_grad(a, g.reshape(kept), out.reshape(kept), axis),)
    return out


def _prod_grad(a: Tensor, g: Tensor, out: Tensor, axis: int) -> Tensor:
    if not (a.array == 0).any():
        return g * out / a
    # Π_{j≠k} x_j as the product of row k of X' (x with x_k replaced by 1): n× the memory,
    # only when there are zeros; each further derivative replaces one more zero.
    from .elementwise import where  # noqa: PLC0415  (elementwise imports this module)
    x = _shape.swapaxes(a, axis, -1)
    n = x.shape[-1]
    rows = where(np.eye(n, dtype=bool), 1.0, x.reshape(*x.shape[:-1], 1, n))
    return g * _shape.swapaxes(prod(rows, -1), axis, -1)


# ----------------------------------------------------------------------------- extremes

def _extreme(op: str, input, dim, keepdim, axis, keepdims, pick) -> Tensor:
    a = input
    dim, keepdim = alias(op, dim, axis, "dim"), alias(op, keepdim, keepdims, "keepdim", False)
    axes = reduced_axes(dim, a.ndim, op)
    for i in axes:
        if a.shape[i] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {i} to have non-zero size.")
    if a.array.size == 0 and not axes:
        raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() "
                         f"== 0.")
    top = pick(a.array, axis=axes, keepdims=True)
    kept = top.shape
    if a.dtype.kind == "f":
        with np.errstate(invalid="ignore", divide="ignore"):
            hit = (a.array == top).astype(a.dtype)
            share = Tensor.wrap(hit / hit.sum(axis=axes, keepdims=True))
    else:
        share = None
    return make(_shape_out(top, a.shape, axes, keepdim), (a,),
                lambda g: (_expand(g, kept, a.shape) * share,), op)


@traced("amax")
def amax(input, dim=(), keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The maximum over ``dim`` (``()``: every dim); NaN propagates; the gradient is shared
    evenly among tied maxima (torch's rule).

    >>> Tensor(np.array([[1.0, 5.0], [7.0, 2.0]])).amax(1).tolist()
    [5.0, 7.0]
    """
    return _extreme("amax", input, dim, keepdim, axis, keepdims, np.max)


@traced("amin")
def amin(input, dim=(), keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The minimum over ``dim`` (see ``amax``)."""
    return _extreme("amin", input, dim, keepdim, axis, keepdims, np.min)


max_ = amax          # the old internal spelling max_(a, axis, keepdims): the maxima only


@traced("logsumexp")
def logsumexp(input, dim, keepdim: bool = False) -> Tensor:
    """``log Σ exp(x)`` over ``dim``, computed as ``m + log Σ exp(x − m)`` (m the maximum,
    0 where it is ±inf, as torch): no overflow; all −inf gives −inf. Integer input is cast to
    the default float dtype. ∂/∂x = exp(x − out).

    >>> round(Tensor(np.array([1000.0, 1000.0])).logsumexp(0).item(), 4)
    1000.6931
    """
    a = input if input.dtype.kind == "f" else astype(input, get_default_dtype())
    axes = reduced_axes(dim, a.ndim, "logsumexp")
    kept = kept_shape(a.shape, axes)
    if a.array.size:
        m = a.array.max(axis=axes, keepdims=True)
        m[~np.isfinite(m)] = 0
    else:
        m = np.zeros(kept, a.dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.exp(a.array - m).sum(axis=axes, keepdims=True)
        out_kept = np.log(s) + m
    out = make(_shape_out(out_kept, a.shape, axes, keepdim), (a,), None, "logsumexp",
               saves_output=True)
    from .elementwise import exp  # noqa: PLC0415  (elementwise imports this module)
    if out._requires_grad:
        out._backward = lambda g: (g.reshape(kept) * exp(a - out.reshape(kept)),)
    return out


@traced("norm")
def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector p-norm ``(Σ|x|^p)^(1/p)`` over ``dim`` (every element when None): p = 2 or
    'fro' (default), 1, inf (max |x|), −inf (min |x|), 0 (the count of non-zeros) or any
    number. The gradient at a zero norm is 0, as torch.

    >>> Tensor(np.array([3.0, -4.0])).norm().item(), Tensor(np.array([3.0, -4.0])).norm(1).item()
    (5.0, 7.0)
    """
    a = input if dtype is None else astype(input, _dtype(dtype))
    if a.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {a.dtype}")
    if p is None:
        p = "fro"
    if isinstance(p, str):
        if p != "fro":
            raise NotImplementedError(f"norm: p={p!r} (matrix norms) is not supported; "
                                      f"vector norms only (p a number or 'fro')")
        if dim is not None and isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                               f"{' '.join(map(str, dim))}")
        p = 2
    axes = reduced_axes(dim, a.ndim, "norm")
    kept = kept_shape(a.shape, axes)
    from .elementwise import abs_, where  # noqa: PLC0415  (elementwise imports this module)
    if p == 1:
        return sum_(abs_(a), axes, keepdim)
    if p in (float("inf"), float("-inf")):
        if 0 in [a.shape[i] for i in axes] or (a.array.size == 0 and not axes):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on an empty "
                               f"dimension because the operation does not have an identity")
        return (amax if p > 0 else amin)(abs_(a), axes, keepdim)
    if p == 0:
        count = (a.array != 0).sum(axis=axes, keepdims=keepdim).astype(a.dtype)
        return make(count, (a,), lambda g: (_expand(g, kept, a.shape) * 0.0,), "norm")
    p = float(p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p == 2:
            value = np.sqrt(np.square(a.array).sum(axis=axes, keepdims=keepdim))
        else:
            value = (np.abs(a.array) ** p).sum(axis=axes, keepdims=keepdim) ** (1 / p)
    out = make(np.asarray(value, a.dtype), (a,), None, "norm", saves_output=True)

    def backward(g):
        o = out.reshape(kept)
        safe = where(o.array == 0, 1.0, o)               # x is 0 wherever the norm is
        if p == 2:
            return (a * (g.reshape(kept) / safe),)
        return (a * abs_(a) ** (p - 2) * (g.reshape(kept) / safe ** (p - 1)),)
    if out._requires_grad:
        out._backward = backward
    return out


# ----------------------------------------------------------------------------- logic

def _logic(op: str, input, dim, keepdim, fn) -> Tensor:
    a = input
    axes = reduced_axes(dim, a.ndim, op)
    out = fn(a.array, axis=axes, keepdims=keepdim)
    return Tensor.wrap(np.asarray(out, np.uint8 if a.dtype == np.uint8 else bool))


def all_(input, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element over ``dim`` is non-zero (bool; uint8 input gives uint8)."""
    return _logic("all", input, dim, keepdim, np.all)


def any_(input, dim=None, keepdim: bool = False) -> Tensor:
    """True where some element over ``dim`` is non-zero (bool; uint8 input gives uint8)."""
    return _logic("any", input, dim, keepdim, np.any)


def count_nonzero(input, dim=None) -> Tensor:
    """The number of non-zero elements over ``dim`` (int64)."""
    axes = reduced_axes(dim, input.ndim, "count_nonzero")
    return Tensor.wrap(np.asarray(np.count_nonzero(input.array, axis=axes), _INT64))


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in ("mean", "nansum", "nanmean", "prod", "std", "var", "amax", "amin",
                 "logsumexp", "norm", "count_nonzero"):
        setattr(Tensor, name, globals()[name])
    Tensor.sum, Tensor.all, Tensor.any = sum_, all_, any_


from .spread import std, std_mean, var, var_mean  # noqa: E402, F401  (they use the helpers above)

# the top-level twins that shadow builtins (bound last: nothing above calls the builtins)
sum, all, any = sum_, all_, any_  # noqa: A001
