"""Differentiable statistics with torch's semantics: ``quantile``/``nanquantile`` (five
interpolations), ``nanmedian``, ``aminmax``, ``logcumsumexp``, ``diff``, ``cov`` and
``corrcoef``. Each is written with Tensor ops (sort, gather, arithmetic), so gradients and
gradients of gradients follow; the counting ops are in ``counting.py``, which lists these too.

>>> x = Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
>>> quantile(x, 0.5).item(), diff(x).tolist(), aminmax(x).max.item()
(2.5, [1.0, 1.0, 1.0], 4.0)
"""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from ..autograd import Tensor, astype, make
from ..semantics import get_default_dtype, normalize_dim
from . import elementwise as _ew
from . import gather as _gather
from . import join as _join
from . import ordering as _ordering
from . import pointwise as _pw
from . import reduction as _reduction
from . import shape as _shape

__all__ = ["quantile", "nanquantile", "nanmedian", "aminmax", "logcumsumexp", "diff", "cov",
           "corrcoef"]

_INT64 = np.dtype(np.int64)
aminmax_type = namedtuple("aminmax", ("min", "max"))
nanmedian_type = namedtuple("nanmedian", ("values", "indices"))
_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


# ----------------------------------------------------------------------------- quantiles

def _q_values(op: str, q, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    """(the quantiles as a 1-d array of the input's dtype, whether q was a scalar)."""
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor")
        if q.dtype != dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
        qs, scalar = q.array.reshape(-1), q.ndim == 0
        bad = qs.size and not ((qs >= 0) & (qs <= 1)).all()
        if bad:
            raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
        return qs, scalar
    if not isinstance(q, (int, float, np.number)) or isinstance(q, bool):
        raise TypeError(f"{op}(): q must be a float or a Tensor, got {type(q).__name__}")
    if not 0 <= q <= 1:
        raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {q}")
    return np.asarray([q], dtype), True


def _quantile(op: str, input: Tensor, q, dim, keepdim: bool, interpolation: str,
              ignore_nan: bool) -> Tensor:
    a = input
    if a.dtype.kind != "f":
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    qs, scalar = _q_values(op, q, a.dtype)
    if interpolation not in _MODES:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    d = None if dim is None else normalize_dim(dim, a.ndim, op)
    if a.array.size == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    x = _shape.reshape(a, -1) if d is None or a.ndim == 0 else _shape.movedim(a, d, -1)
    srt = _ordering.sort(x, -1).values                                   # NaN sorts last
    n = srt.shape[-1]
    nan = np.isnan(srt.array)
    with np.errstate(invalid="ignore"):
        if ignore_nan:
            k = (n - nan.sum(-1, keepdims=True)).astype(a.dtype)
            ranks = qs * (k - 1)
            ranks = np.where(k == 0, n - 1, ranks).astype(a.dtype)
        else:
            ranks = np.where(nan.any(-1, keepdims=True), n - 1, qs * a.dtype.type(n - 1))
            ranks = ranks.astype(a.dtype)
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.round(ranks)                                          # half to even
    below = ranks.astype(_INT64)
    out = _gather.gather(srt, -1, Tensor.wrap(below))
    if interpolation in ("linear", "midpoint"):
        above = _gather.gather(srt, -1, Tensor.wrap(np.ceil(ranks).astype(_INT64)))
        w = np.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below
        out = out + Tensor.wrap(w.astype(a.dtype)) * (above - out)
    out = _shape.movedim(out, -1, 0)                                     # (Q, …)
    if keepdim:
        kept = (1,) * a.ndim if d is None else _reduction.kept_shape(a.shape, (d,))
        out = _shape.reshape(out, (len(qs), *kept))
    return _shape.reshape(out, out.shape[1:]) if scalar else out


def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The q-th quantiles along ``dim`` (every element when None): in the sorted values
    s_0 ≤ … ≤ s_{n−1}, position r = q·(n − 1) read by ``interpolation`` — linear
    s_⌊r⌋ + (r − ⌊r⌋)(s_⌈r⌉ − s_⌊r⌋), lower s_⌊r⌋, higher s_⌈r⌉, midpoint the mean of the two,
    nearest s_round(r) (half to even). A 1-d ``q`` adds a leading dim; NaN in a slice gives
    NaN. The gradient goes to the one or two elements read.

    >>> quantile(Tensor(np.array([1.0, 2.0, 3.0, 4.0])), 0.25, interpolation="lower").item()
    1.0
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` of the non-NaN values of each slice (NaN where all are NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median of the non-NaN values (NaN when all are NaN): over every element a
    value (the gradient shared among ties), with ``dim`` the named tuple ``(values,
    indices)``. The index reported for an all-NaN slice may differ from torch's.

    >>> nanmedian(Tensor(np.array([1.0, np.nan, 3.0, 2.0]))).item()
    2.0
    """
    a = input
    nan = np.isnan(a.array) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    if dim is None:
        vals = a.array[~nan]
        if vals.size == 0:
            value, hit = np.asarray(np.nan, a.dtype), nan
        else:
            value = np.partition(vals, (vals.size - 1) // 2)[(vals.size - 1) // 2]
            hit = a.array == value
        share = (Tensor.wrap(hit.astype(a.dtype) / max(int(np.count_nonzero(hit)), 1))
                 if a.dtype.kind == "f" else None)
        return make(np.asarray(value, a.dtype), (a,), lambda g: (g * share,), "nanmedian")
    d = normalize_dim(dim, a.ndim, "nanmedian")
    if a.ndim == 0:
        return nanmedian_type(*_ordering._scalar_pick("median", a))
    _ordering._nonempty("nanmedian", a, d)
    order = np.argsort(a.array, axis=d, kind="stable")
    k = (~nan).sum(axis=d, keepdims=True)
    pos = np.where(k > 0, (k - 1) // 2, 0)
    idx = np.take_along_axis(order, pos, d)
    return nanmedian_type(_ordering._select(a, idx, d, "nanmedian", keepdim),
                          Tensor.wrap(idx if keepdim else idx.squeeze(d)))


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """The named tuple ``(min, max)`` over ``dim`` (every element when None); each has the
    gradient of ``amin``/``amax`` (shared evenly among ties).

    >>> r = aminmax(Tensor(np.array([[1.0, 5.0], [7.0, 2.0]])), dim=1); r.min.tolist()
    [1.0, 2.0]
    """
    a = input
    if dim is None:
        if a.array.size == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as "
                               "the operation has no identity.")
        lo, hi = _reduction.amin(a), _reduction.amax(a)
        if keepdim:
            lo, hi = _shape.reshape(lo, (1,) * a.ndim), _shape.reshape(hi, (1,) * a.ndim)
        return aminmax_type(lo, hi)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
    d = normalize_dim(dim, a.ndim, "aminmax")
    if a.ndim and a.shape[d] == 0:
        raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
    if a.ndim == 0:
        return aminmax_type(_reduction.amin(a, (), keepdim), _reduction.amax(a, (), keepdim))
    return aminmax_type(_reduction.amin(a, d, keepdim), _reduction.amax(a, d, keepdim))


# ----------------------------------------------------------------------------- scans

def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``y_i = log Σ_{j≤i} exp(x_j)`` along ``dim``, accumulated pairwise with
    ``logaddexp`` (no overflow). ∂L/∂x_j = Σ_{i≥j} g_i exp(x_j − y_i), computed as torch does
    in log space, positive and negative parts of g apart (stable, and differentiable again).

    >>> [round(v, 4) for v in logcumsumexp(Tensor(np.array([0.0, 0.0, 1000.0])), 0).tolist()]
    [0.0, 0.6931, 1000.0]
    """
    a = input
    if a.dtype.kind != "f":
        name = {"b": "Bool", "i": "Long", "u": "Byte"}[a.dtype.kind]
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for \'{name}\'')
    d = normalize_dim(dim, a.ndim, "logcumsumexp")
    if a.ndim == 0:
        return make(a.array.copy(), (a,), lambda g: (g,), "logcumsumexp")
    out = make(np.logaddexp.accumulate(a.array, axis=d), (a,), None, "logcumsumexp",
               saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: (_logcumsumexp_grad(a, g, out, d),)
    return out


def _logcumsumexp_grad(a: Tensor, g: Tensor, out: Tensor, d: int) -> Tensor:
    lowest = Tensor.wrap(np.asarray(np.finfo(g.dtype).min, g.dtype))

    def reverse(x: Tensor) -> Tensor:
        return _shape.flip(logcumsumexp(_shape.flip(x, d), d), d)

    def part(mask: np.ndarray) -> Tensor:
        safe = _ew.where(mask, _ew.abs_(g), 1.0)        # log(|g|) only where it is finite
        return _ew.exp(reverse(_ew.where(mask, _ew.log(safe), lowest) - out) + a)
    with np.errstate(over="ignore"):                      # lowest − out → −inf, as torch
        return part(g.array > 0) - part(g.array < 0)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The n-th forward difference along ``dim``: ``out_i = x_{i+1} − x_i``, applied n times,
    after joining ``prepend`` and ``append`` along ``dim`` (bool input: ``x_{i+1} xor x_i``).

    >>> diff(Tensor(np.array([1, 4, 9])), prepend=Tensor(np.array([0]))).tolist()
    [1, 3, 5]
    """
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = normalize_dim(dim, input.ndim, "diff")
    parts = []
    for extra in (prepend, append):
        if extra is None:
            continue
        if not isinstance(extra, Tensor):
            raise TypeError(f"diff(): argument 'prepend'/'append' must be Tensor, not "
                            f"{type(extra).__name__}")
        if extra.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as "
                               "input")
        for k, (m, e) in enumerate(zip(input.shape, extra.shape)):
            if k != d and m != e:
                raise RuntimeError(f"diff expects the shape of tensor to prepend or append to "
                                   f"match that of input except along the differencing "
                                   f"dimension; input.size({k}) = {m}, but got "
                                   f"tensor.size({k}) = {e}")
    parts = [t for t in (prepend, input, append) if t is not None]
    x = _join._cat(parts, d, "diff") if len(parts) > 1 else input
    head, tail = (slice(None),) * d + (slice(1, None),), (slice(None),) * d + (slice(None, -1),)
    for _ in range(n):
        if x.dtype.kind == "b":
            x = Tensor.wrap(np.logical_xor(x.array[head], x.array[tail]))
        else:
            x = x[head] - x[tail]
    return x


# ----------------------------------------------------------------------------- covariance

def _weights(w, name: str, n: int, integral: bool) -> Tensor | None:
    if w is None:
        return None
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                           f"{name} with {w.ndim} dimensions")
    if integral and w.dtype.kind not in "iu":
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} with "
                           f"{w.dtype} dtype")
    if not integral and w.dtype.kind != "f":
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got "
                           f"{name} with {w.dtype} dtype")
    if w.array.size != n:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                           f"observations in the input but got {w.array.size} != {n}")
    if w.array.size and w.array.min() < 0:
        raise RuntimeError(f"cov(): {name} cannot be negative")
    return w


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in ``input``'s rows (observations in columns):
    ``C = (X − x̄)(w ⊙ (X − x̄))ᵀ / (Σw − correction·Σ(w·a)/Σw)`` with w = fweights·aweights
    (x̄ the w-weighted mean); a 1-d input gives a 0-d variance. Integer input is computed in
    the default float dtype; dof ≤ 0 warns and divides by 0, as torch.

    >>> cov(Tensor(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = input if input.dtype.kind == "f" else astype(input, get_default_dtype())
    x = _shape.reshape(x, (1, -1)) if x.ndim < 2 else x
    n = x.shape[1]
    fw = _weights(fweights, "fweights", n, True)
    aw = _weights(aweights, "aweights", n, False)
    w = fw if aw is None else aw if fw is None else fw * aw
    with np.errstate(invalid="ignore", divide="ignore"):
        w_sum = n if w is None else w.sum()
        avg = (x if w is None else x * w).sum(1) / w_sum
        if w is not None and correction != 0:
            scale = 1 if aw is None else (w * aw).sum() / w_sum
            norm = w_sum - correction * scale
        else:
            norm = w_sum - correction
        if float(norm) <= 0:
            warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly "
                          "less than the number of observations.", UserWarning, stacklevel=2)
            norm = norm * 0 if isinstance(norm, Tensor) else 0
        xm = x - _shape.unsqueeze(avg, 1)
        c = xm @ (xm if w is None else xm * w).t()
        c = c / norm
    return _shape.squeeze(c)


def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation matrix ``C_ij / √(C_ii C_jj)`` of ``cov(input)``, clamped to
    [−1, 1] (a single variable gives C/C = 1).

    >>> corrcoef(Tensor(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    c = cov(input)
    with np.errstate(invalid="ignore", divide="ignore"):
        if c.ndim == 0:
            return c / c
        std = _pw.sqrt(_gather.diagonal(c))
        c = c / _shape.unsqueeze(std, 1)
        c = c / _shape.unsqueeze(std, 0)
    return _pw.clamp(c, -1, 1)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in __all__:
        setattr(Tensor, name, globals()[name])
