r"""Loss functions with PyTorch's names, signatures and reductions: ``'mean'`` (default),
``'sum'``, ``'none'`` (the deprecated ``size_average``/``reduce`` map onto them with torch's
warning).

Cross entropy on logits z (N, C, *d) and class indices t (N, *d)::

    ℓ_i = −w[t_i] · log_softmax(z)_i[t_i]          mean = Σ ℓ_i / Σ w[t_i]

(targets equal to ``ignore_index`` count for nothing and are never read: a −inf log-probability
on an ignored row changes neither the loss nor any gradient). With ``label_smoothing`` ε the
target is (1 − ε)·one-hot + ε/C. A 1-d input (C,) is one sample, its target a 0-d index.

Regression losses on d = x − y (broadcast, with torch's warning when the shapes differ)::

    mse: d²     l1: |d|     smooth_l1(β): ½d²/β if |d| < β else |d| − ½β
    huber(δ): ½d² if |d| < δ else δ(|d| − ½δ)

Binary cross entropy ``−w[y log x + (1 − y) log(1 − x)]`` with each log clamped at −100;
with logits ``w[(1 − y)x − (1 + (p_w − 1)y) log σ(x)]``; ``kl_div``: ``y(log y − x)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd import Tensor, make
from ..methods.elementwise import where
from ..methods.indexing import take_along_axis
from ..ops.geometry import check_arrays
from . import checks, losses_fused
from .activations import log_softmax

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]

REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(size_average, reduce, reduction: str, stacklevel: int = 3) -> str:
    """torch's ``_Reduction.legacy_get_string``: the deprecated flags win (with its warning)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{ret}' instead.", UserWarning, stacklevel=stacklevel)
    return ret


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross entropy of logits (N, C) or (N, C, *d) against class indices (N,) /
    (N, *d) — or against class probabilities of the logits' shape (then ``−Σ_c w_c p_c log
    softmax(z)_c``, mean over the N·∏d rows)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    z = checks.tensor("cross_entropy", "input", input)
    _check_reduction("cross_entropy", reduction)
    label_smoothing = checks.real("cross_entropy", "label_smoothing", label_smoothing, 0.0, 1.0)
    ignore_index = checks.integer("cross_entropy", "ignore_index", ignore_index)
    probabilities = _is_float(target) and tuple(np.shape(_array(target))) == tuple(z.shape)
    if z.ndim == 1:                                            # one sample: (C,), target ()
        t = (checks.tensor("cross_entropy", "target", target) if probabilities
             else Tensor(_target("cross_entropy", target)))
        one = cross_entropy(z.reshape(1, -1), t.reshape(1, *t.shape), weight,
                            ignore_index=ignore_index, reduction=reduction,
                            label_smoothing=label_smoothing)
        return one.reshape(()) if reduction == "none" else one
    if z.ndim < 1:
        raise ValueError(f"cross_entropy: input must be logits of shape (C,), (N, C) or "
                         f"(N, C, *d), got {z.shape}")
    w = _weight("cross_entropy", weight, z)
    fused, classes = losses_fused.enabled() and z.array.size > 0, z.shape[1]
    if probabilities:                                          # class probabilities
        p = checks.tensor("cross_entropy", "target", target)
        check_arrays("cross_entropy", input=z.array, target=p.array)
        if fused:
            return losses_fused.cross_entropy_probabilities(z, p, w, reduction, label_smoothing)
        if label_smoothing:
            p = p * (1 - label_smoothing) + label_smoothing / classes
        per_class = log_softmax(z, dim=1) * p
        if w is not None:
            per_class = per_class * w.reshape(1, -1, *(1,) * (z.ndim - 2))
        losses = -per_class.sum(axis=1)
        return _reduce(losses, reduction, float(losses.numel()) if reduction == "mean" else None)
    t = _class_targets(z, _target("cross_entropy", target), ignore_index)
    if fused:
        return losses_fused.cross_entropy_indices(z, t, w, ignore_index, reduction,
                                                  label_smoothing)
    logp = log_softmax(z, dim=1)                               # the composed reference path
    nll = nll_loss(logp, t, w, ignore_index=ignore_index, reduction=reduction)
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


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood ``−w[t]·logp[t]`` of log-probabilities (N, C, *d) at class
    indices (N, *d); mean = Σ ℓ / Σ w[t] over the rows not ignored."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    logp = checks.tensor("nll_loss", "input", input)
    _check_reduction("nll_loss", reduction)
    ignore_index = checks.integer("nll_loss", "ignore_index", ignore_index)
    t = _target("nll_loss", target)
    if logp.ndim == 1:                                         # one sample: (C,), target ()
        one = nll_loss(logp.reshape(1, -1), t[None], weight, ignore_index=ignore_index,
                       reduction=reduction)
        return one.reshape(()) if reduction == "none" else one
    if logp.ndim < 1:
        raise ValueError(f"nll_loss: input must be log-probabilities of shape (C,), (N, C) or "
                         f"(N, C, *d), got {logp.shape}")
    w = _weight("nll_loss", weight, logp)
    t = _class_targets(logp, t, ignore_index)
    if losses_fused.enabled() and logp.array.size > 0:
        return losses_fused.nll(logp, t, w, ignore_index, reduction)
    keep = t != ignore_index
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


def _class_targets(logp: Tensor, t: np.ndarray, ignore_index: int) -> np.ndarray:
    """Integer class indices (N, *d) in [0, C) or ``ignore_index`` (torch's checks)."""
    expected = logp.shape[:1] + logp.shape[2:]
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold integer class indices (expected target "
                        f"dtype to be Long or Byte), got dtype {t.dtype}")
    if t.shape != expected:
        raise ValueError(f"nll_loss: target shape {t.shape} must be input shape {logp.shape} "
                         f"without the class axis, i.e. {expected} (expected input batch_size "
                         f"({logp.shape[0]}) to match target batch_size)")
    classes = logp.shape[1]
    if t.size == 0 or (t.min() >= 0 and t.max() < classes):   # every index in range
        return t
    bad = (t != ignore_index) & ((t < 0) | (t >= classes))
    if bad.any():
        raise IndexError(f"nll_loss: Target {t[bad].flat[0]} is out of bounds: target values "
                         f"must lie in [0, {classes - 1}] (C={classes}) or equal "
                         f"ignore_index={ignore_index}")
    return t


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
             weight=None) -> Tensor:
    """Squared error ``w·(x − y)²``; with ``weight`` (the input's shape) mean = Σ w d² / Σ w."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, y = _pair("mse_loss", input, target, reduction)
    diff = x - y
    return _weighted("mse_loss", diff * diff, weight, x, reduction, by_weight=True)


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
            weight=None) -> Tensor:
    """Absolute error ``w·|x − y|``; with ``weight`` mean = Σ w |d| / Σ w."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, y = _pair("l1_loss", input, target, reduction)
    return _weighted("l1_loss", (x - y).abs(), weight, x, reduction, by_weight=True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``½d²/β`` where ``|d| < β``, else ``|d| − ½β`` (β = 0 is the L1 loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    beta = checks.real("smooth_l1_loss", "beta", beta)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, y = _pair("smooth_l1_loss", input, target, reduction)
    d = x - y
    if beta == 0.0:
        return _reduce_mean(d.abs(), reduction)
    z = np.abs(d.array) < beta
    return _reduce_mean(where(z, d * d * (0.5 / beta), d.abs() - 0.5 * beta), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """``½d²`` where ``|d| < δ``, else ``δ(|d| − ½δ)``; with ``weight`` mean = mean(w·ℓ)."""
    delta = checks.real("huber_loss", "delta", delta)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    x, y = _pair("huber_loss", input, target, reduction)
    d = x - y
    z = np.abs(d.array) < delta
    losses = where(z, d * d * 0.5, (d.abs() - 0.5 * delta) * delta)
    return _weighted("huber_loss", losses, weight, x, reduction, by_weight=False)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """``−w[y·max(log x, −100) + (1 − y)·max(log(1 − x), −100)]`` for probabilities x ∈ [0, 1];
    ∂/∂x = w(x − y)/max(x(1 − x), 1e−12) (torch's formula), ∂/∂y = w(log(1 − x) − log x)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "binary_cross_entropy"
    x, y = checks.tensor(op, "input", input), checks.tensor(op, "target", target)
    _check_reduction(op, reduction)
    check_arrays(op, input=x.array, target=y.array)
    if y.shape != x.shape:
        raise ValueError(f"Using a target size ({_size(y)}) that is different to the input "
                         f"size ({_size(x)}) is deprecated. Please ensure they have the same "
                         f"size.")
    xa = x.array
    if np.any((xa < 0) | (xa > 1)):
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1")
    w = None
    if weight is not None:
        w = checks.tensor(op, "weight", weight)
        w = Tensor(np.broadcast_to(w.array, np.broadcast_shapes(w.shape, y.shape)).copy())
    with np.errstate(divide="ignore", invalid="ignore"):
        log_x, log_1mx = np.maximum(np.log(xa), -100), np.maximum(np.log1p(-xa), -100)
        value = (y.array - 1) * log_1mx - y.array * log_x
    if w is not None:
        value = value * w.array

    def backward(g):
        if w is not None:
            g = g * w
        gx = gy = None
        if x.requires_grad:
            gx = g * (x - y) / (x * (1 - x)).clamp_min(1e-12)
        if y.requires_grad:
            gy = g * ((1 - x).log().clamp_min(-100) - x.log().clamp_min(-100))
        return gx, gy
    return _reduce_mean(make(value.astype(xa.dtype), (x, y), backward, op), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """``w·[(1 − y)x − (1 + (p_w − 1)y)·log σ(x)]`` with the stable ``log σ(x) = min(x, 0) −
    log1p(e^{−|x|})``; ``pos_weight`` broadcasts along the last (class) axis."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    op = "binary_cross_entropy_with_logits"
    x, y = checks.tensor(op, "input", input), checks.tensor(op, "target", target)
    _check_reduction(op, reduction)
    check_arrays(op, input=x.array, target=y.array)
    if y.shape != x.shape:
        raise ValueError(f"Target size ({_size(y)}) must be the same as input size "
                         f"({_size(x)})")
    logsig = log_sigmoid(x)
    if pos_weight is not None:
        pw = checks.tensor(op, "pos_weight", pos_weight)
        losses = (1 - y) * x - ((pw - 1) * y + 1) * logsig
    else:
        losses = (1 - y) * x - logsig
    if weight is not None:
        losses = losses * checks.tensor(op, "weight", weight)
    return _reduce_mean(losses, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Pointwise KL divergence of log-probabilities x from y: ``y(log y − x)`` (0 where y = 0),
    or ``e^y(y − x)`` with ``log_target``. ``'batchmean'`` divides the sum by the batch size;
    ``'mean'`` (torch warns) by the element count."""
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition.'mean' will be changed to behave the "
                      "same as 'batchmean' in the next major release.", UserWarning,
                      stacklevel=2)
    checks.choice(op, "reduction", reduction, (*REDUCTIONS, "batchmean"))
    log_target = checks.boolean(op, "log_target", log_target)
    x, y = checks.tensor(op, "input", input), checks.tensor(op, "target", target)
    check_arrays(op, input=x.array, target=y.array)
    losses = y.exp() * (y - x) if log_target else y.xlogy(y) - y * x
    if reduction == "batchmean":
        total = losses.sum()
        return total / x.shape[0] if x.ndim else total
    return _reduce_mean(losses, reduction)


# ----------------------------------------------------------------------------- shared helpers

def log_sigmoid(x: Tensor) -> Tensor:
    """``log σ(x) = min(x, 0) − log1p(e^{−|x|})`` (no overflow, no lost tail)."""
    return x.clamp_max(0.0) - (-x.abs()).exp().log1p()


def _pair(op: str, input, target, reduction: str) -> tuple[Tensor, Tensor]:
    """Input and target as Tensors of one float dtype; torch's warning when the shapes differ
    (they then broadcast, as in torch)."""
    x, y = checks.tensor(op, "input", input), checks.tensor(op, "target", target)
    check_arrays(op, input=x.array, target=y.array)
    _check_reduction(op, reduction)
    if x.shape != y.shape:
        warnings.warn(f"Using a target size ({_size(y)}) that is different to the input size "
                      f"({_size(x)}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise RuntimeError(f"{op}: the size of input {tuple(x.shape)} and of target "
                               f"{tuple(y.shape)} do not broadcast") from None
    return x, y


def _size(t: Tensor) -> str:
    return f"torch.Size({list(t.shape)})"


def _weighted(op: str, losses: Tensor, weight, x: Tensor, reduction: str,
              by_weight: bool) -> Tensor:
    """Multiply by an elementwise ``weight`` of the input's shape; mean is Σ wℓ / Σ w
    (``by_weight``) or the plain mean."""
    if weight is None:
        return _reduce_mean(losses, reduction)
    w = checks.tensor(op, "weight", weight)
    if w.shape != x.shape:
        raise ValueError("Weights and input must have the same size.")
    losses = losses * w
    if reduction == "mean" and by_weight:
        return losses.sum() / w.sum()
    return _reduce_mean(losses, reduction)


def _reduce_mean(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return losses
    return losses.mean() if reduction == "mean" else losses.sum()


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


def _array(value):
    return value.array if isinstance(value, Tensor) else np.asarray(value)


def _is_float(value) -> bool:
    try:
        return _array(value).dtype.kind == "f"
    except (TypeError, ValueError):
        return False


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
