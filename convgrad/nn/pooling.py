r"""Pooling layers with torch.nn's signatures and reprs: max, average, power-average (LP),
max-unpooling and adaptive pooling in 1-3 d.

Output length per axis of the windowed pools: ``m = ⌊(n + 2p − d·(k−1) − 1)/s⌋ + 1`` (rounded
up with ``ceil_mode``); of ``MaxUnpool``: ``(n − 1)·s − 2p + k``; of the adaptive pools: the
``output_size`` asked for (``None`` keeps the input's length).
"""

from __future__ import annotations

from typing import Sequence, Union

from ..functional import adaptive as FA
from ..functional import checks
from ..functional import pooling as FP
from ..ops.geometry import as_tuple
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "LPPool1d", "LPPool2d", "LPPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]

Size = Union[int, Sequence[int]]


def _name(layer) -> str:
    return type(layer).__name__


class _MaxPoolNd(Module):
    ndim = 0

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
                 dilation: Size = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        name, n = _name(self), self.ndim
        as_tuple(kernel_size, n, "kernel_size", name)
        if stride is not None:
            as_tuple(stride, n, "stride", name)
        as_tuple(padding, n, "padding", name, minimum=0)
        as_tuple(dilation, n, "dilation", name)
        checks.boolean(name, "return_indices", return_indices)
        checks.boolean(name, "ceil_mode", ceil_mode)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return FP.max_pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                           self.ceil_mode, self.return_indices, ndim=self.ndim, op=_name(self))

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f", dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over windows of (N, C, L); see ``F.max_pool1d``."""
    ndim = 1


class MaxPool2d(_MaxPoolNd):
    """Max over windows of (N, C, H, W); see ``F.max_pool2d``."""
    ndim = 2


class MaxPool3d(_MaxPoolNd):
    """Max over windows of (N, C, D, H, W); see ``F.max_pool3d``."""
    ndim = 3


class _AvgPoolNd(Module):
    ndim = 0

    def _setup(self, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override) -> None:
        name, n = _name(self), self.ndim
        as_tuple(kernel_size, n, "kernel_size", name)
        if stride is not None:
            as_tuple(stride, n, "stride", name)
        as_tuple(padding, n, "padding", name, minimum=0)
        checks.boolean(name, "ceil_mode", ceil_mode)
        checks.boolean(name, "count_include_pad", count_include_pad)
        if divisor_override is not None:
            checks.integer(name, "divisor_override", divisor_override, 1)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad = count_include_pad
        if n > 1:
            self.divisor_override = divisor_override

    def forward(self, input):
        return FP.avg_pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                           self.count_include_pad, getattr(self, "divisor_override", None),
                           ndim=self.ndim, op=_name(self))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of (N, C, L); see ``F.avg_pool1d``."""
    ndim = 1

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self._setup(kernel_size, stride, padding, ceil_mode, count_include_pad, None)
        self.kernel_size = as_tuple(kernel_size, 1, "kernel_size", "AvgPool1d")   # torch's
        self.stride = as_tuple(self.stride, 1, "stride", "AvgPool1d")             # _single
        self.padding = as_tuple(padding, 1, "padding", "AvgPool1d", minimum=0)


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of (N, C, H, W); see ``F.avg_pool2d``."""
    ndim = 2

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self._setup(kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override)


class AvgPool3d(_AvgPoolNd):
    """Mean over windows of (N, C, D, H, W); see ``F.avg_pool3d``."""
    ndim = 3

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self._setup(kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override)


class _MaxUnpoolNd(Module):
    ndim = 0

    def __init__(self, kernel_size: Size, stride: Size | None = None,
                 padding: Size = 0) -> None:
        super().__init__()
        name, n = _name(self), self.ndim
        self.kernel_size = as_tuple(kernel_size, n, "kernel_size", name)
        self.stride = as_tuple(stride if stride is not None else kernel_size, n, "stride", name)
        self.padding = as_tuple(padding, n, "padding", name, minimum=0)

    def forward(self, input, indices, output_size=None):
        return FP.max_unpool(input, indices, self.kernel_size, self.stride, self.padding,
                             output_size, ndim=self.ndim, op=_name(self))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Inverse of ``MaxPool1d`` given its indices; see ``F.max_unpool1d``."""
    ndim = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Inverse of ``MaxPool2d`` given its indices; see ``F.max_unpool2d``."""
    ndim = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Inverse of ``MaxPool3d`` given its indices; see ``F.max_unpool3d``."""
    ndim = 3


class _LPPoolNd(Module):
    ndim = 0

    def __init__(self, norm_type: float, kernel_size: Size, stride: Size | None = None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        name, n = _name(self), self.ndim
        checks.real(name, "norm_type", norm_type, finite=False)
        as_tuple(kernel_size, n, "kernel_size", name)
        if stride is not None:
            as_tuple(stride, n, "stride", name)
        checks.boolean(name, "ceil_mode", ceil_mode)
        self.norm_type, self.kernel_size, self.stride = norm_type, kernel_size, stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return FP.lp_pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode,
                          ndim=self.ndim, op=_name(self))

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """``(Σ_window x^p)^(1/p)`` over (N, C, L); see ``F.lp_pool1d``."""
    ndim = 1


class LPPool2d(_LPPoolNd):
    """``(Σ_window x^p)^(1/p)`` over (N, C, H, W); see ``F.lp_pool2d``."""
    ndim = 2


class LPPool3d(_LPPoolNd):
    """``(Σ_window x^p)^(1/p)`` over (N, C, D, H, W); see ``F.lp_pool3d``."""
    ndim = 3


class _AdaptiveAvgPoolNd(Module):
    ndim = 0

    def __init__(self, output_size) -> None:
        super().__init__()
        FA.output_sizes(output_size, self.ndim, _name(self))
        self.output_size = output_size

    def forward(self, input):
        return FA.adaptive_avg_pool(input, self.output_size, ndim=self.ndim, op=_name(self))

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Mean over torch's adaptive windows of (N, C, L); see ``F.adaptive_avg_pool1d``."""
    ndim = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Mean over torch's adaptive windows of (N, C, H, W); see ``F.adaptive_avg_pool2d``."""
    ndim = 2


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Mean over torch's adaptive windows of (N, C, D, H, W); see ``F.adaptive_avg_pool3d``."""
    ndim = 3


class _AdaptiveMaxPoolNd(Module):
    ndim = 0

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        FA.output_sizes(output_size, self.ndim, _name(self))
        checks.boolean(_name(self), "return_indices", return_indices)
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return FA.adaptive_max_pool(input, self.output_size, self.return_indices,
                                    ndim=self.ndim, op=_name(self))

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max over torch's adaptive windows of (N, C, L); see ``F.adaptive_max_pool1d``."""
    ndim = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max over torch's adaptive windows of (N, C, H, W); see ``F.adaptive_max_pool2d``."""
    ndim = 2


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max over torch's adaptive windows of (N, C, D, H, W); see ``F.adaptive_max_pool3d``."""
    ndim = 3
