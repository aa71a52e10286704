r"""``PixelShuffle`` and ``PixelUnshuffle`` over ``F.pixel_shuffle`` / ``F.pixel_unshuffle``:

    PixelShuffle(r):   (*, C·r², H, W) → (*, C, H·r, W·r)
    PixelUnshuffle(r): (*, C, H·r, W·r) → (*, C·r², H, W)
"""

from __future__ import annotations

from ..functional import resample
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """Move r² channel groups into r×r spatial blocks (sub-pixel convolution's last step)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return resample.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Move r×r spatial blocks into r² channel groups (the inverse of ``PixelShuffle``)."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return resample.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
