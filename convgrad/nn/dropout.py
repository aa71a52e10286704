"""Dropout layers (torch's ``_DropoutNd`` family): each applies its ``F`` function while
training and is the identity in eval mode."""

from __future__ import annotations

from .. import functional as F
from ..functional import basic, checks
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """Zero elements (or channels) with probability p while training, scaling the rest."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        name = type(self).__name__
        self.p = basic._probability(name, p)
        self.inplace = checks.boolean(name, "inplace", inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """``F.dropout``: elementwise, scaled by 1/(1 − p)."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """``F.dropout1d``: whole channels of (N, C, L) or (C, L)."""

    def forward(self, input):
        return basic.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """``F.dropout2d``: whole channels of (N, C, H, W)."""

    def forward(self, input):
        return basic.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """``F.dropout3d``: whole channels of (N, C, D, H, W) or (C, D, H, W)."""

    def forward(self, input):
        return basic.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """``F.alpha_dropout``: keeps SELU's zero mean and unit variance."""

    def forward(self, input):
        return basic.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """``F.feature_alpha_dropout``: alpha dropout of whole channels."""

    def forward(self, input):
        return basic.feature_alpha_dropout(input, self.p, self.training)
