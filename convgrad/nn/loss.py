"""Loss layers, each over ``convgrad.functional``'s loss of the same name, with torch's
constructor signatures; ``size_average``/``reduce`` map onto ``reduction`` with torch's warning,
and ``weight`` (``pos_weight``) is a buffer, so it appears in the state dict as in torch."""

from __future__ import annotations

import numpy as np

from ..functional import checks
from ..functional import losses as FL
from ..functional import losses_more as FM
from ..functional.losses import REDUCTIONS, legacy_reduction
from .module import Module
from .options import as_input

__all__ = ["L1Loss", "NLLLoss", "MSELoss", "CrossEntropyLoss", "SmoothL1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "MarginRankingLoss",
           "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
           "MultiMarginLoss", "TripletMarginLoss", "CosineEmbeddingLoss", "PoissonNLLLoss",
           "GaussianNLLLoss"]


class _Loss(Module):
    """The reduction rule every loss shares (torch's ``_Loss``)."""

    reductions = REDUCTIONS

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        reduction = legacy_reduction(size_average, reduce, reduction, stacklevel=4)
        self.reduction = checks.choice(type(self).__name__, "reduction", reduction,
                                       self.reductions)


class _WeightedLoss(_Loss):
    """A loss with a ``weight`` buffer (None or an array of the caller's values)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(type(self).__name__, "weight", weight))


def _buffer(op: str, name: str, value):
    """None, or the values as a float ndarray (shared with a Tensor's memory)."""
    if value is None:
        return None
    return checks.tensor(op, name, value).array


def _opt(value):
    return None if value is None else as_input(value)


class L1Loss(_Loss):
    """``F.l1_loss``: mean absolute error."""

    def forward(self, input, target):
        return FL.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """``F.mse_loss``: mean squared error."""

    def forward(self, input, target):
        return FL.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """``F.nll_loss`` on log-probabilities."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = checks.integer(type(self).__name__, "ignore_index", ignore_index)

    def forward(self, input, target):
        return FL.nll_loss(input, target, _opt(self.weight), ignore_index=self.ignore_index,
                           reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """``F.cross_entropy`` on logits (class indices or class probabilities as targets)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        op = "CrossEntropyLoss"
        self.ignore_index = checks.integer(op, "ignore_index", ignore_index)
        self.label_smoothing = checks.real(op, "label_smoothing", label_smoothing, 0.0, 1.0)

    def forward(self, input, target):
        return FL.cross_entropy(input, target, _opt(self.weight), ignore_index=self.ignore_index,
                                reduction=self.reduction, label_smoothing=self.label_smoothing)


class SmoothL1Loss(_Loss):
    """``F.smooth_l1_loss`` with threshold ``beta``."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = checks.real("SmoothL1Loss", "beta", beta)

    def forward(self, input, target):
        return FL.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``F.huber_loss`` with threshold ``delta``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = checks.real("HuberLoss", "delta", delta)

    def forward(self, input, target):
        return FL.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """``F.binary_cross_entropy`` on probabilities."""

    def forward(self, input, target):
        return FL.binary_cross_entropy(input, target, _opt(self.weight),
                                       reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``F.binary_cross_entropy_with_logits``; ``weight`` and ``pos_weight`` are buffers."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        op = type(self).__name__
        self.register_buffer("weight", _buffer(op, "weight", weight))
        self.register_buffer("pos_weight", _buffer(op, "pos_weight", pos_weight))

    def forward(self, input, target):
        return FL.binary_cross_entropy_with_logits(input, target, _opt(self.weight),
                                                   reduction=self.reduction,
                                                   pos_weight=_opt(self.pos_weight))


class KLDivLoss(_Loss):
    """``F.kl_div`` (input: log-probabilities); ``reduction='batchmean'`` is the true KL."""

    reductions = (*REDUCTIONS, "batchmean")

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = checks.boolean("KLDivLoss", "log_target", log_target)

    def forward(self, input, target):
        return FL.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class MarginRankingLoss(_Loss):
    """``F.margin_ranking_loss``."""

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = checks.real("MarginRankingLoss", "margin", margin)

    def forward(self, input1, input2, target):
        return FM.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                      reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``F.hinge_embedding_loss``."""

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = checks.real("HingeEmbeddingLoss", "margin", margin)

    def forward(self, input, target):
        return FM.hinge_embedding_loss(input, target, margin=self.margin,
                                       reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """``F.soft_margin_loss``."""

    def forward(self, input, target):
        return FM.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """``F.multilabel_soft_margin_loss``."""

    def forward(self, input, target):
        return FM.multilabel_soft_margin_loss(input, target, _opt(self.weight),
                                              reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """``F.multi_margin_loss`` (p = 1 or 2)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                 reduce=None, reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2) or isinstance(p, bool):
            raise ValueError("only p == 1 and p == 2 supported")
        if self.weight is not None and np.ndim(self.weight) != 1:
            raise ValueError("MultiMarginLoss: weight must be a 1-D tensor")
        self.p, self.margin = p, checks.real("MultiMarginLoss", "margin", margin)

    def forward(self, input, target):
        return FM.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                    weight=_opt(self.weight), reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """``F.triplet_margin_loss``."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                 swap: bool = False, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        op = "TripletMarginLoss"
        margin = checks.real(op, "margin", margin)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got "
                             f"{margin} instead")
        self.margin, self.p = margin, checks.real(op, "p", p, finite=False)
        self.eps, self.swap = checks.real(op, "eps", eps), checks.boolean(op, "swap", swap)

    def forward(self, anchor, positive, negative):
        return FM.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                      eps=self.eps, swap=self.swap, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """``F.cosine_embedding_loss``."""

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = checks.real("CosineEmbeddingLoss", "margin", margin)

    def forward(self, input1, input2, target):
        return FM.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                        reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """``F.poisson_nll_loss``."""

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None,
                 eps: float = 1e-8, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        op = "PoissonNLLLoss"
        self.log_input = checks.boolean(op, "log_input", log_input)
        self.full, self.eps = checks.boolean(op, "full", full), checks.real(op, "eps", eps)

    def forward(self, log_input, target):
        return FM.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                   eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """``F.gaussian_nll_loss``; forward(input, target, var)."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        op = "GaussianNLLLoss"
        self.full, self.eps = checks.boolean(op, "full", full), checks.real(op, "eps", eps)

    def forward(self, input, target, var):
        return FM.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                    reduction=self.reduction)
