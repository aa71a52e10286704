r"""Upsampling layers over ``F.interpolate``: ``Upsample``, ``UpsamplingNearest2d``,
``UpsamplingBilinear2d`` (torch.nn's signatures and reprs).

Output length per spatial axis: ``size``, or ``⌊n · scale_factor⌋`` (see ``F.interpolate``
for each mode's source-index formula).
"""

from __future__ import annotations

from typing import Sequence, Union

from ..functional import resample
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resize (N, C, *S) with ``F.interpolate(input, size, scale_factor, mode, align_corners,
    recompute_scale_factor=…)``; modes nearest, nearest-exact, linear, bilinear, bicubic,
    trilinear, area."""

    def __init__(self, size: Union[int, Sequence[int]] | None = None,
                 scale_factor: Union[float, Sequence[float]] | None = None,
                 mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return resample.interpolate(input, self.size, self.scale_factor, self.mode,
                                    self.align_corners,
                                    recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')`` of (N, C, H, W)."""

    def __init__(self, size: Union[int, Sequence[int]] | None = None,
                 scale_factor: Union[float, Sequence[float]] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` of (N, C, H, W)."""

    def __init__(self, size: Union[int, Sequence[int]] | None = None,
                 scale_factor: Union[float, Sequence[float]] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
