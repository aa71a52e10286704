r"""Loss functions with PyTorch's reductions: ``'mean'`` (default), ``'sum'``, ``'none'``.

Cross entropy on logits z (N, C, *d) and class indices t (N, *d)::

    ℓ_i = −w[t_i] · log_softmax(z)_i[t_i]          mean = Σ ℓ_i / Σ w[t_i]

(targets equal to ``ignore_index`` count for nothing). With ``label_smoothing`` ε the target is
(1 − ε)·one-hot + ε/C.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, as_tensor
from ..ops.geometry import check_arrays
from ..tensor_ops import take_along_axis
from .activations import log_softmax

REDUCTIONS = ("mean", "sum", "none")


def cross_entropy(input, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross entropy of logits (N, C) or (N, C, *d) against class indices (N,) /
    (N, *d) — or against class probabilities of the logits' shape."""
    z = as_tensor(input)
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    if z.ndim < 2:
        raise ValueError(f"cross_entropy: input must be logits of shape (N, C) or (N, C, *d), "
                         f"got {z.shape}")
    logp = log_softmax(z, dim=1)
    classes = z.shape[1]
    w = None if weight is None else as_tensor(weight)
    if w is not None:
        check_arrays("cross_entropy", input=z.data, weight=w.data)
        if w.shape != (classes,):
            raise ValueError(f"cross_entropy: weight must have shape (C,) = ({classes},), got "
                             f"{w.shape}")
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind == "f" and t.shape == z.shape:            # class probabilities
        p = t * (1 - label_smoothing) + label_smoothing / classes
        per_class = logp * Tensor(p.astype(z.dtype))
        if w is not None:
            per_class = per_class * w.reshape(1, -1, *(1,) * (z.ndim - 2))
        losses = -per_class.sum(axis=1)
        return _reduce(losses, reduction, float(losses.size) if reduction == "mean" else None)
    nll = nll_loss(logp, t, w, ignore_index, reduction)
    if label_smoothing == 0.0:
        return nll
    keep = t != ignore_index
    per_class = logp if w is None else logp * w.reshape(1, -1, *(1,) * (z.ndim - 2))
    smooth = -per_class.sum(axis=1) * Tensor(keep.astype(z.dtype))
    if reduction == "mean":
        total = (w.data[t[keep]].sum() if w is not None else keep.sum())
        smooth = smooth.sum() / total
    elif reduction == "sum":
        smooth = smooth.sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def nll_loss(input, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C, *d) at class indices (N, *d)."""
    logp = as_tensor(input)
    _check_reduction("nll_loss", reduction)
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    expected = logp.shape[:1] + logp.shape[2:]
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold integer class indices, got dtype "
                        f"{t.dtype}")
    if t.shape != expected:
        raise ValueError(f"nll_loss: target shape {t.shape} must be input shape {logp.shape} "
                         f"without the class axis, i.e. {expected}")
    classes = logp.shape[1]
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= classes))
    if bad.any():
        raise ValueError(f"nll_loss: target values must lie in [0, {classes - 1}] (C={classes}) "
                         f"or equal ignore_index={ignore_index}; got {t[bad].flat[0]}")
    safe = np.where(keep, t, 0)
    picked = take_along_axis(logp, np.expand_dims(safe, 1), 1).reshape(t.shape)
    scale = keep.astype(logp.dtype)
    if weight is not None:
        scale = scale * as_tensor(weight).data[safe]
    losses = -picked * Tensor(scale)
    return _reduce(losses, reduction, float(scale.sum()) if reduction == "mean" else None)


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Squared error ``(x − y)²``, reduced."""
    x, y = as_tensor(input), as_tensor(target)
    _check_reduction("mse_loss", reduction)
    if x.shape != y.shape:
        raise ValueError(f"mse_loss: input {x.shape} and target {y.shape} must have one shape")
    diff = x - y
    return _reduce(diff * diff, reduction, float(diff.size) if reduction == "mean" else None)


def _reduce(losses: Tensor, reduction: str, denominator: float | None) -> Tensor:
    if reduction == "none":
        return losses
    total = losses.sum()
    return total / denominator if reduction == "mean" else total


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
