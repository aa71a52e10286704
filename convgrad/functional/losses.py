r"""Loss functions with PyTorch's reductions: ``'mean'`` (default), ``'sum'``, ``'none'``.

Cross entropy on logits z (N, C, *d) and class indices t (N, *d)::

    ℓ_i = −w[t_i] · log_softmax(z)_i[t_i]          mean = Σ ℓ_i / Σ w[t_i]

(targets equal to ``ignore_index`` count for nothing and are never read: a −inf log-probability
on an ignored row changes neither the loss nor any gradient). With ``label_smoothing`` ε the
target is (1 − ε)·one-hot + ε/C. A 1-d input (C,) is one sample, its target a 0-d index.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..methods.elementwise import where
from ..methods.indexing import take_along_axis
from ..ops.geometry import check_arrays
from . import checks
from .activations import log_softmax

REDUCTIONS = ("mean", "sum", "none")


def cross_entropy(input, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross entropy of logits (N, C) or (N, C, *d) against class indices (N,) /
    (N, *d) — or against class probabilities of the logits' shape."""
    z = checks.tensor("cross_entropy", "input", input)
    _check_reduction("cross_entropy", reduction)
    label_smoothing = checks.real("cross_entropy", "label_smoothing", label_smoothing, 0.0, 1.0)
    ignore_index = checks.integer("cross_entropy", "ignore_index", ignore_index)
    t = _target("cross_entropy", target)
    if z.ndim == 1:                                            # one sample: (C,), target ()
        one = cross_entropy(z.reshape(1, -1), t[None], weight, ignore_index, reduction,
                            label_smoothing)
        return one.reshape(()) if reduction == "none" else one
    if z.ndim < 1:
        raise ValueError(f"cross_entropy: input must be logits of shape (C,), (N, C) or "
                         f"(N, C, *d), got {z.shape}")
    logp = log_softmax(z, dim=1)
    classes = z.shape[1]
    w = _weight("cross_entropy", weight, z)
    if t.dtype.kind == "f" and t.shape == z.shape:            # class probabilities
        check_arrays("cross_entropy", input=z.array, target=t)
        p = t * (1 - label_smoothing) + label_smoothing / classes
        per_class = logp * Tensor(p.astype(z.dtype))
        if w is not None:
            per_class = per_class * w.reshape(1, -1, *(1,) * (z.ndim - 2))
        losses = -per_class.sum(axis=1)
        return _reduce(losses, reduction, float(losses.numel()) if reduction == "mean" else None)
    nll = nll_loss(logp, t, w, ignore_index, reduction)
    if label_smoothing == 0.0:
        return nll
    keep = t != ignore_index
    per_class = logp if w is None else logp * w.reshape(1, -1, *(1,) * (z.ndim - 2))
    smooth = where(keep, -per_class.sum(axis=1), 0.0)          # ignored rows are not read
    if reduction == "mean":
        total = (w.array[t[keep]].sum() if w is not None else keep.sum())
        smooth = _mean_over(smooth, keep.astype(z.dtype), keep, total)
    elif reduction == "sum":
        smooth = smooth.sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def nll_loss(input, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C, *d) at class indices (N, *d)."""
    logp = checks.tensor("nll_loss", "input", input)
    _check_reduction("nll_loss", reduction)
    ignore_index = checks.integer("nll_loss", "ignore_index", ignore_index)
    t = _target("nll_loss", target)
    if logp.ndim == 1:                                         # one sample: (C,), target ()
        one = nll_loss(logp.reshape(1, -1), t[None], weight, ignore_index, reduction)
        return one.reshape(()) if reduction == "none" else one
    if logp.ndim < 1:
        raise ValueError(f"nll_loss: input must be log-probabilities of shape (C,), (N, C) or "
                         f"(N, C, *d), got {logp.shape}")
    w = _weight("nll_loss", weight, logp)
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
    if w is not None:
        scale = scale * w.array[safe]
    if keep.all():                                             # the common case: no mask
        losses = -picked * Tensor(scale) if w is not None else -picked
        return _reduce(losses, reduction, float(scale.sum()) if reduction == "mean" else None)
    picked = where(keep, picked, 0.0)                          # ignored rows are not read
    if reduction == "mean":
        return _mean_over(-picked, scale, keep, scale.sum())
    return _reduce(-picked * Tensor(scale), reduction, None)


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Squared error ``(x − y)²``, reduced."""
    x, y = checks.tensor("mse_loss", "input", input), checks.tensor("mse_loss", "target", target)
    check_arrays("mse_loss", input=x.array, target=y.array)
    _check_reduction("mse_loss", reduction)
    if x.shape != y.shape:
        raise ValueError(f"mse_loss: input {x.shape} and target {y.shape} must have one shape")
    diff = x - y
    return _reduce(diff * diff, reduction, float(diff.numel()) if reduction == "mean" else None)


def _mean_over(terms: Tensor, multipliers: np.ndarray, keep: np.ndarray, total) -> Tensor:
    """``Σ terms·m / total`` with every ignored entry's share exactly 0, so its gradient is 0
    even when ``total = 0`` (all ignored: the value is NaN, as in torch)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(keep, multipliers / total, 0).astype(terms.dtype)
    out = (terms * Tensor(share)).sum()
    return out + Tensor(np.array(np.nan, terms.dtype)) if total == 0 else out


def _reduce(losses: Tensor, reduction: str, denominator: float | None) -> Tensor:
    if reduction == "none":
        return losses
    total = losses.sum()
    return total / denominator if reduction == "mean" else total


def _check_reduction(op: str, reduction: str) -> None:
    checks.choice(op, "reduction", reduction, REDUCTIONS)


def _target(op: str, target) -> np.ndarray:
    if isinstance(target, Tensor):
        return target.array
    if target is None or isinstance(target, (str, bytes, dict)):
        raise TypeError(f"{op}: target must be a Tensor or an array, got "
                        f"{type(target).__name__}")
    return np.asarray(target)


def _weight(op: str, weight, logits: Tensor) -> Tensor | None:
    """The per-class weight: None, or a (C,) array of the input's dtype (a constant)."""
    if weight is None:
        return None
    w = checks.tensor(op, "weight", weight)
    check_arrays(op, input=logits.array, weight=w.array)
    classes = logits.shape[1]
    if w.shape != (classes,):
        raise ValueError(f"{op}: weight must have shape (C,) = ({classes},) — one weight per "
                         f"class — got {w.shape}")
    return w
