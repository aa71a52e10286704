"""Spread: ``var``, ``std``, ``var_mean``, ``std_mean`` over dims, with torch's arguments —
``correction`` (1 by default: the unbiased estimate), the legacy ``unbiased=`` and the
``(dim, unbiased, keepdim)`` overload (``x.std(0)``, ``x.std(unbiased=False)``, ``x.var(1, True)``,
``x.std(False)``).

    var = Σ (x − mean)² / max(0, N − correction),   std = √var

>>> x = Tensor(np.array([1.0, 2.0, 4.0]))
>>> round(x.var().item(), 4), round(x.std(unbiased=False).item(), 4)
(2.3333, 1.2472)
"""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd import Tensor, make
from ..autograd.trace import traced
from .reduction import _floating, alias, kept_shape, mean, reduced_axes

__all__: list[str] = []     # the twins are listed (and attached) by reduction.py


def _correction(op, dim, unbiased, correction):
    if isinstance(dim, (bool, np.bool_)):                   # x.std(False): the legacy overload
        dim, unbiased = None, (bool(dim) if unbiased is None else unbiased)
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}(): give either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


def _spread(op: str, input, dim, unbiased, keepdim, correction, axis, keepdims):
    dim = alias(op, dim, axis, "dim")
    keepdim = alias(op, keepdim, keepdims, "keepdim", False)
    dim, correction = _correction(op, dim, unbiased, correction)
    a = input
    _floating(op, a, f"{op}(): std and var only support floating point and complex dtypes "
                     f"(got {a.dtype})")
    axes = reduced_axes(dim, a.ndim, op)
    count = 1
    for i in axes:
        count *= a.shape[i]
    dof = max(0.0, count - correction)
    if dof == 0:
        warnings.warn(f"{op}(): degrees of freedom is <= 0. Correction should be strictly less "
                      f"than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=4)  # (user, @traced, var, _spread)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = a.array - a.array.sum(axis=axes, keepdims=True) / np.float64(count or np.nan)
        v = np.asarray(np.square(dev).sum(axis=axes, keepdims=keepdim) / np.float64(dof)
                       ).astype(a.dtype, copy=False)
    return a, axes, keepdim, dof, v


@traced("var")
def var(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None, axis=None, keepdims=None) -> Tensor:
    """Σ(x − mean)² / (N − correction) over ``dim``: torch's unbiased default (correction 1);
    ``unbiased=False`` (or ``correction=0``) divides by N. ``x.var(1, True)`` is the legacy
    ``(dim, unbiased)`` overload.

    >>> Tensor(np.array([1.0, 2.0, 4.0])).var().item(), Tensor(np.array([1.0, 3.0])).var(
    ...     unbiased=False).item()
    (2.333333333333333, 1.0)
    """
    a, axes, keepdim, dof, v = _spread("var", input, dim, unbiased, keepdim, correction, axis,
                                       keepdims)
    kept = kept_shape(a.shape, axes)
    scale = 2.0 / dof if dof else float("inf")
    return make(v, (a,), lambda g: (g.reshape(kept) * (a - mean(a, axes, True)) * scale,),
                "var")


@traced("std")
def std(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None, axis=None, keepdims=None) -> Tensor:
    """√var over ``dim`` (same arguments as ``var``); its gradient at a constant input is NaN,
    as in torch."""
    a, axes, keepdim, dof, v = _spread("std", input, dim, unbiased, keepdim, correction, axis,
                                       keepdims)
    kept = kept_shape(a.shape, axes)
    scale = 1.0 / dof if dof else float("inf")
    out = make(np.sqrt(v), (a,), None, "std", saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: ((g / out).reshape(kept) * (a - mean(a, axes, True)) * scale,)
    return out


def var_mean(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple[Tensor, Tensor]:
    """``(var(input, …), mean(input, …))`` as torch's tuple."""
    dim2, _ = _correction("var_mean", dim, unbiased, correction)
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim2, keepdim))


def std_mean(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple[Tensor, Tensor]:
    """``(std(input, …), mean(input, …))`` as torch's tuple."""
    dim2, _ = _correction("std_mean", dim, unbiased, correction)
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim2, keepdim))
