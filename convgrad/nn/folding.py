"""Unfold (im2col) and Fold (col2im) layers, and the distance layers, over
``convgrad.functional``'s functions of the same names."""

from __future__ import annotations

from .. import functional as F
from ..functional import checks
from .module import Module

__all__ = ["Unfold", "Fold", "CosineSimilarity", "PairwiseDistance"]


class Unfold(Module):
    """``F.unfold``: (N, C, H, W) → (N, C·kh·kw, L), the sliding blocks as columns."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = (kernel_size, dilation,
                                                                      padding, stride)

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """``F.fold``: (N, C·kh·kw, L) → (N, C, *output_size), overlapping blocks added."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class CosineSimilarity(Module):
    """``F.cosine_similarity`` along ``dim``: x₁·x₂ / max(‖x₁‖‖x₂‖, eps)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = checks.integer("CosineSimilarity", "dim", dim)
        self.eps = checks.real("CosineSimilarity", "eps", eps)

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``F.pairwise_distance``: ‖x₁ − x₂ + eps‖_p over the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = checks.real("PairwiseDistance", "p", p, finite=False)
        self.eps = checks.real("PairwiseDistance", "eps", eps)
        self.keepdim = checks.boolean("PairwiseDistance", "keepdim", keepdim)

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
