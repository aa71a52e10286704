r"""Padding layers over ``F.pad``, torch.nn's names, padding-tuple rules and reprs.

``padding`` is an int p (every side of the n padded axes: ``(p,)·2n``) or the tuple F.pad takes,
``(left, right, top, bottom, front, back)``, the *last* axis first. Output length of a padded
axis: ``n + lo + hi`` (negative entries crop). Zero and constant padding take any input rank;
reflection, replication and circular padding of n axes take (C, *n axes) or (N, C, *n axes).
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ..functional import basic, checks
from .module import Module

__all__ = [f"{kind}{n}d" for kind in ("ZeroPad", "ConstantPad", "ReflectionPad",
                                       "ReplicationPad", "CircularPad") for n in (1, 2, 3)]

Pads = Union[int, Sequence[int]]


def _padding(name: str, padding, ndim: int) -> tuple[int, ...]:
    """torch's ``_ntuple(2·ndim)``: an int repeated, a sequence kept as a tuple."""
    def is_int(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    if is_int(padding):
        return (int(padding),) * (2 * ndim)
    if isinstance(padding, (tuple, list)) and all(is_int(p) for p in padding):
        if len(padding) % 2:
            raise ValueError(f"{name}: padding length must be divisible by 2, got "
                             f"{tuple(padding)}")
        return tuple(int(p) for p in padding)
    raise TypeError(f"{name}: padding must be an int or a tuple of {2 * ndim} ints, got "
                    f"{padding!r}")


class _PadNd(Module):
    ndim = 0
    mode = "constant"

    def __init__(self, padding: Pads) -> None:
        super().__init__()
        self.padding = _padding(type(self).__name__, padding, self.ndim)

    def forward(self, input):
        x = checks.tensor(type(self).__name__, "input", input, "fiu")
        if self.mode != "constant" and (x.ndim not in (self.ndim + 1, self.ndim + 2)
                                        or len(self.padding) != 2 * self.ndim):
            error = ValueError if self.mode == "circular" else NotImplementedError
            raise error(f"{type(self).__name__}: expected a ({self.ndim + 1})-d or "
                        f"({self.ndim + 2})-d input and {2 * self.ndim} paddings, got input "
                        f"{x.shape} and padding {self.padding}")
        return basic.pad(x, self.padding, self.mode, getattr(self, "value", 0.0))

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Pads, value: float) -> None:
        super().__init__(padding)
        checks.real(type(self).__name__, "value", value, finite=False)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last axis with ``value``: (*, W) → (*, W + left + right)."""
    ndim = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 axes with ``value``: (*, H, W) → (*, H + top + bottom, W + left + right)."""
    ndim = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 axes with ``value``: each grows by its two paddings."""
    ndim = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: Pads) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last axis with zeros: (*, W) → (*, W + left + right)."""
    ndim = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 axes with zeros: (*, H, W) → (*, H + top + bottom, W + left + right)."""
    ndim = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 axes with zeros: each grows by its two paddings."""
    ndim = 3


class _ReflectionPadNd(_PadNd):
    mode = "reflect"


class ReflectionPad1d(_ReflectionPadNd):
    """Mirror the last axis without repeating the edge (each padding < W)."""
    ndim = 1


class ReflectionPad2d(_ReflectionPadNd):
    """Mirror the last 2 axes without repeating the edge (each padding < its axis)."""
    ndim = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Mirror the last 3 axes without repeating the edge (each padding < its axis)."""
    ndim = 3


class _ReplicationPadNd(_PadNd):
    mode = "replicate"


class ReplicationPad1d(_ReplicationPadNd):
    """Repeat the edge values of the last axis."""
    ndim = 1


class ReplicationPad2d(_ReplicationPadNd):
    """Repeat the edge values of the last 2 axes."""
    ndim = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Repeat the edge values of the last 3 axes."""
    ndim = 3


class _CircularPadNd(_PadNd):
    mode = "circular"


class CircularPad1d(_CircularPadNd):
    """Wrap the last axis around (each padding ≤ W)."""
    ndim = 1


class CircularPad2d(_CircularPadNd):
    """Wrap the last 2 axes around (each padding ≤ its axis)."""
    ndim = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last 3 axes around (each padding ≤ its axis)."""
    ndim = 3
