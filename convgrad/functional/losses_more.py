r"""Margin, embedding and likelihood losses with torch's signatures and reductions::

    margin_ranking:      max(0, −y(x₁ − x₂) + margin)
    hinge_embedding:     x if y = 1;  max(0, margin − x) if y = −1
    soft_margin:         log(1 + e^{−yx})                                (mean over elements)
    multilabel_soft_margin: −(1/C) Σ_c w_c [y_c log σ(x_c) + (1 − y_c) log σ(−x_c)]
    multi_margin(p, m):  (1/C) Σ_{j≠y} w_y max(0, m − x_y + x_j)^p
    triplet_margin:      max(0, margin + d(a, p) − d(a, n)),  d = ‖x₁ − x₂ + eps‖_p
                         (``swap``: d(a, n) ← min(d(a, n), d(p, n)))
    cosine_embedding:    1 − cos(x₁, x₂) if y = 1;  max(0, cos − margin) if y = −1
    poisson_nll:         e^x − yx (``log_input``) or x − y log(x + eps); ``full`` adds
                         Stirling's y log y − y + ½ log(2πy) where y > 1
    gaussian_nll:        ½(log max(var, eps) + (x − y)²/max(var, eps)) [+ ½ log 2π]
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd import Tensor, make
from ..methods.elementwise import where
from ..methods.indexing import take_along_axis
from ..ops.geometry import check_arrays
from . import checks
from .distance import pairwise_distance
from .losses import _check_reduction, _reduce_mean, _target, legacy_reduction, log_sigmoid

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss", "multi_margin_loss", "triplet_margin_loss",
           "cosine_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss"]


def margin_ranking_loss(input1, input2, target, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, −y(x₁ − x₂) + margin)``; the three tensors must have one number of dims."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "margin_ranking_loss"
    x1, x2, y = _floats(op, input1=input1, input2=input2, target=target)
    _check_reduction(op, reduction)
    margin = checks.real(op, "margin", margin)
    if not x1.ndim == x2.ndim == y.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {_size(x1)}, input2: {_size(x2)}, target: "
                           f"{_size(y)} ")
    _broadcast(op, x1, x2, y)
    return _reduce_mean((-y * (x1 - x2) + margin).clamp_min(0.0), reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """``x`` where y ≠ −1 plus ``max(0, margin − x)`` where y ≠ 1 (targets are ±1)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "hinge_embedding_loss"
    x = checks.tensor(op, "input", input)
    _check_reduction(op, reduction)
    margin = checks.real(op, "margin", margin)
    if isinstance(target, numbers.Number):       # torch: target must be a Tensor
        raise TypeError(f"{op}: target must be a Tensor or an array, got "
                        f"{type(target).__name__}")
    y = _target(op, target)
    if y.dtype.kind not in "fiubc":
        raise TypeError(f"{op}: target must be a numeric (floating point, integer, bool or "
                        f"complex) array, got dtype {y.dtype}")
    _broadcast(op, x, Tensor(y))
    y = np.broadcast_to(y, np.broadcast_shapes(x.shape, y.shape))
    losses = (where(y != 1, (margin - x).clamp_min(0.0), 0.0) + where(y != -1, x, 0.0))
    return _reduce_mean(losses, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + e^{−yx})`` (torch's formula, as written)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "soft_margin_loss"
    x, y = _floats(op, input=input, target=target)
    _check_reduction(op, reduction)
    _broadcast(op, x, y)
    return _reduce_mean((-x * y).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """``−(1/C) Σ_c w_c [y_c log σ(x_c) + (1 − y_c) log σ(−x_c)]`` over the last (class) axis."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "multilabel_soft_margin_loss"
    x = checks.tensor(op, "input", input)
    y = _as_float(op, "target", target, x)
    _check_reduction(op, reduction)
    _broadcast(op, x, y)
    losses = -(y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x))
    if weight is not None:
        w = checks.tensor(op, "weight", weight)
        _broadcast(op, losses, w)
        losses = losses * w
    classes = x.shape[-1] if x.ndim else 1
    return _reduce_mean(losses.sum(axis=x.ndim - 1 if x.ndim else None) / classes, reduction)


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge: ``(1/C) Σ_{j≠y} w_y max(0, margin − x_y + x_j)^p``, p ∈ {1, 2};
    input (N, C) or (C,), target (N,) or ()."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "multi_margin_loss"
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported")
    x = checks.tensor(op, "input", input)
    if weight is not None:
        weight = checks.tensor(op, "weight", weight)
        if weight.ndim != 1:
            raise ValueError(f"{op}: weight must be one-dimensional, got a {weight.ndim}-d "
                             f"weight of shape {list(weight.shape)}")
    _check_reduction(op, reduction)
    margin = checks.real(op, "margin", margin)
    t = _target(op, target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}")
    if x.ndim > 2:
        raise RuntimeError(f"{op}: Expected non-empty vector or matrix with optional 0-dim "
                           f"batch size, but got: {list(x.shape)}")
    classes = x.shape[-1] if x.ndim else 1
    rows = x.reshape(-1, classes)
    n = rows.shape[0]
    if t.size != n or t.ndim > 1:
        raise RuntimeError(f"{op}: inconsistent target size, expected {n} but got "
                           f"{list(t.shape)}")
    t = t.reshape(n)
    if np.any((t < 0) | (t >= classes)):
        raise RuntimeError(f"{op}: target out of range (class indices must lie in "
                           f"[0, {classes - 1}])")
    picked = take_along_axis(rows, t[:, None], 1)
    z = (rows - picked + margin).clamp_min(0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        w = checks.tensor(op, "weight", weight)
        check_arrays(op, input=x.array, weight=w.array)
        if w.numel() != classes:
            raise RuntimeError(f"{op}: inconsistent weight size, expected {classes} but got "
                               f"{list(w.shape)}")
        z = z * w.reshape(-1)[t].reshape(n, 1)
    z = where(np.arange(classes)[None, :] != t[:, None], z, 0.0)
    losses = z.sum(axis=1) / classes
    if x.ndim <= 1:
        losses = losses.reshape(())
    return _reduce_mean(losses, reduction)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) − d(a, n))`` with ``d = pairwise_distance(·, ·, p, eps)``;
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "triplet_margin_loss"
    a, pos, neg = _floats(op, anchor=anchor, positive=positive, negative=negative)
    _check_reduction(op, reduction)
    margin = checks.real(op, "margin", margin)
    swap = checks.boolean(op, "swap", swap)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin:g}")
    if not a.ndim == pos.ndim == neg.ndim:
        raise RuntimeError(f"{op}: The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {a.ndim}D, "
                           f"positive {pos.ndim}D, and negative {neg.ndim}D inputs")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce_mean((d_pos - d_neg + margin).clamp_min(0.0), reduction)


def cosine_embedding_loss(input1, input2, target, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """``1 − cos`` where y = 1, ``max(0, cos − margin)`` where y = −1, with ``cos = Σx₁x₂ /
    √((Σx₁² + 1e−12)(Σx₂² + 1e−12))`` over the feature axis."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "cosine_embedding_loss"
    x1, x2 = _floats(op, input1=input1, input2=input2)
    _check_reduction(op, reduction)
    margin = checks.real(op, "margin", margin)
    y = _target(op, target)
    if y.ndim == 1:
        if x1.ndim != 2 or x2.ndim != 2:
            raise RuntimeError(f"{op}: 1D target tensor expects 2D input tensors, but found inputs "
                               f"with sizes {list(x1.shape)} and {list(x2.shape)}.")
    elif y.ndim == 0:
        if x1.ndim != 1 or x2.ndim != 1:
            raise RuntimeError(f"{op}: 0D target tensor expects 1D input tensors, but found inputs "
                               f"with sizes {list(x1.shape)} and {list(x2.shape)}.")
    else:
        raise RuntimeError(f"{op}: 0D or 1D target tensor expected, multi-target not "
                           f"supported")
    axis = y.ndim
    _broadcast(op, x1, x2)
    prod = (x1 * x2).sum(axis=axis)
    mag1, mag2 = (x1 * x1).sum(axis=axis) + 1e-12, (x2 * x2).sum(axis=axis) + 1e-12
    cos = prod / (mag1 * mag2).sqrt()
    if cos.shape != y.shape:
        raise RuntimeError(f"{op}: the size of target {list(y.shape)} must match the batch "
                           f"size of the inputs {list(cos.shape)}")
    losses = where(y == 1, 1 - cos, 0.0) + where(y == -1, (cos - margin).clamp_min(0.0), 0.0)
    return _reduce_mean(losses, reduction)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: ``e^x − yx`` (``log_input``) or ``x − y log(x + eps)``;
    ``full`` adds Stirling's approximation of log y! where y > 1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "poisson_nll_loss"
    x, y = _floats(op, input=input, target=target)
    _check_reduction(op, reduction)
    log_input, full = checks.boolean(op, "log_input", log_input), checks.boolean(op, "full", full)
    eps = checks.real(op, "eps", eps)
    _broadcast(op, x, y)
    losses = x.exp() - y * x if log_input else x - y * (x + eps).log()
    if full:
        big = y.array > 1
        ys = where(big, y, 2.0)                        # masked entries never reach a log
        stirling = ys * ys.log() - ys + (ys * (2 * math.pi)).log() * 0.5
        losses = losses + where(big, stirling, 0.0)
    return _reduce_mean(losses, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """``½(log v + (x − y)²/v)`` with ``v = max(var, eps)`` (the clamp passes the gradient
    unchanged, as torch's no-grad clamp); ``var`` is the input's shape, one dim short of it,
    or broadcastable with a single size-1 mismatch (homoscedastic), or a float."""
    op = "gaussian_nll_loss"
    x, y = _floats(op, input=input, target=target)
    eps = checks.real(op, "eps", eps)
    full = checks.boolean(op, "full", full)
    if not isinstance(var, Tensor) and isinstance(var, (int, float)) and \
            not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        v = Tensor(np.full(x.shape, var, x.dtype))
    else:
        v = checks.tensor(op, "var", var)
        if np.any(v.array < 0):
            raise ValueError(f"{op}: var has negative entry/entries")
    if v.shape != x.shape:
        if tuple(x.shape[:-1]) == tuple(v.shape):
            v = v.unsqueeze(-1)
        elif not (x.ndim == v.ndim and sum(b for a, b in zip(x.shape, v.shape) if a != b) == 1):
            raise ValueError(f"{op}: var is of incorrect size")
    if reduction not in REDUCTIONS_GNLL:
        raise ValueError(f"{op}: {reduction} is not valid")
    v = make(np.maximum(v.array, eps), (v,), lambda g: (g,), "clamp_min_no_grad")
    d = x - y
    losses = (v.log() + d * d / v) * 0.5
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce_mean(losses, reduction)


REDUCTIONS_GNLL = ("none", "mean", "sum")


def _floats(op: str, **values) -> list[Tensor]:
    ts = [checks.tensor(op, name, v) for name, v in values.items()]
    check_arrays(op, **{name: t.array for name, t in zip(values, ts)})
    return ts


def _as_float(op: str, name: str, value, like: Tensor) -> Tensor:
    """A target as a float Tensor of ``like``'s dtype (integer 0/1 labels are cast, as torch
    promotes them)."""
    t = checks.tensor(op, name, value, "fiub")
    if t.dtype.kind != "f":
        return Tensor(t.array.astype(like.dtype))
    check_arrays(op, input=like.array, **{name: t.array})
    return t


def _broadcast(op: str, *tensors: Tensor) -> None:
    try:
        np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shown = ", ".join(str(list(t.shape)) for t in tensors)
        raise RuntimeError(f"{op}: the sizes of the tensors must match (or broadcast), got "
                           f"{shown}") from None


def _size(t: Tensor) -> str:
    return f"torch.Size({list(t.shape)})"
