"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` (PyTorch's arguments,
parameter names and OIHW layouts)."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..ops.geometry import PADDING_STRINGS, as_tuple, resolve_padding
from . import init
from .module import Module, Parameter
from .options import as_input, factory_dtype

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    transposed = False

    def __init__(self, ndim: int, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", output_padding=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        dtype = factory_dtype(name, device, dtype)
        for label, v in (("in_channels", in_channels), ("out_channels", out_channels),
                         ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise TypeError(f"{name}: {label} must be an int, got {v!r}")
            if v < 1:
                raise ValueError(f"{name}: {label} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is defined for transposed "
                             f"convolution")
        self.ndim, self.in_channels, self.out_channels, self.groups = (ndim, in_channels,
                                                                      out_channels, groups)
        self.kernel_size = as_tuple(kernel_size, ndim, "kernel_size", name)
        self.stride = as_tuple(stride, ndim, "stride", name)
        self.dilation = as_tuple(dilation, ndim, "dilation", name)
        self.output_padding = as_tuple(output_padding, ndim, "output_padding", name, minimum=0)
        if self.transposed and any(e >= max(s, d) for e, s, d in zip(
                self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{name}: output_padding must be smaller than max(stride, "
                             f"dilation) along every dim, got output_padding="
                             f"{self.output_padding}, stride={self.stride}, dilation="
                             f"{self.dilation}")
        if not isinstance(padding, str):      # its spelling and sign; strings need the input
            resolve_padding(padding, self.kernel_size, self.kernel_size, self.stride,
                            self.dilation, name)
        elif padding.lower() not in (("valid",) if self.transposed else PADDING_STRINGS):
            raise ValueError(f"{name}: padding={padding!r} is not supported (strings allowed: "
                             + ("'valid'" if self.transposed else
                                ", ".join(map(repr, PADDING_STRINGS))) + ")")
        self.padding, self.padding_mode = padding, padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.register_parameter(
            "bias", Parameter(np.empty((out_channels,), dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default: weight Kaiming-uniform with a = √5 (U(±1/√fan_in)), bias
        U(±1/√fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        """torch's text: defaults left out, an int padding shown per dim."""
        padding = ((self.padding,) * self.ndim if isinstance(self.padding, (int, np.integer))
                   else self.padding)
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if isinstance(padding, str) or any(p != 0 for p in padding):
            text += f", padding={tuple(padding) if isinstance(padding, list) else padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.transposed and any(e != 0 for e in self.output_padding):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    def forward(self, x):
        name = type(self).__name__
        x = as_input(x)
        if x.ndim != self.ndim + 2:
            raise ValueError(f"{name}: input must have shape (N, C, {self.ndim} spatial dims), "
                             f"got {x.shape}")
        padding = self.padding
        if self.padding_mode != "zeros":
            pads = resolve_padding(padding, x.shape[2:], self.kernel_size, self.stride,
                                   self.dilation, name)
            x = F.basic.pad_sides(x, pads, mode=self.padding_mode)
            padding = 0
        return F.conv(x, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)


class _ConvTranspose(_ConvNd):
    transposed = True

    def forward(self, x, output_size=None):
        """``output_size`` (spatial, or full shape) picks output_padding like PyTorch."""
        extra = self.output_padding
        if output_size is not None:
            x_shape = np.shape(x.array if isinstance(x, Tensor) else x)
            size = tuple(output_size)[-self.ndim:]
            pads = resolve_padding(self.padding, x_shape[2:], self.kernel_size, self.stride,
                                   self.dilation, type(self).__name__, allow_strings=("valid",))
            smallest = [(n - 1) * s - lo - hi + d * (k - 1) + 1 for n, s, (lo, hi), d, k in
                        zip(x_shape[2:], self.stride, pads, self.dilation, self.kernel_size)]
            extra = tuple(want - low for want, low in zip(size, smallest))
            if len(size) != self.ndim or any(e < 0 or e >= max(s, d) for e, s, d in
                                             zip(extra, self.stride, self.dilation)):
                raise ValueError(f"{type(self).__name__}: output_size {tuple(output_size)} is "
                                 f"not reachable; sizes from {tuple(smallest)} up to "
                                 f"max(stride, dilation) − 1 more are")
        return F.conv_transpose(x, self.weight, self.bias, self.stride, self.padding, extra,
                                self.groups, self.dilation)


def _layer(base, ndim: int, name: str, doc: str):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        base.__init__(self, ndim, in_channels, out_channels, kernel_size, stride, padding,
                      dilation, groups, bias, padding_mode, device=device, dtype=dtype)
    return type(name, (base,), {"__init__": __init__, "__doc__": doc})


_CONV_DOC = """{n}-d convolution layer: ``y = x ⋆ weight + bias``.

``{name}(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
bias=True, padding_mode='zeros', device=None, dtype=None)``; weight (C_out, C_in/groups, *K)
and bias (C_out,) start as U(−1/√fan_in, 1/√fan_in) (PyTorch's Kaiming-uniform default). ``padding``
takes everything ``ops.conv`` does ('same' keeps ⌈n/s⌉ at any stride); ``padding_mode``
reflect/replicate/circular pads explicitly before a conv with no padding.
"""
_TRANSPOSE_DOC = """{n}-d transposed convolution layer (the input gradient of a conv).

``{name}(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
groups=1, bias=True, dilation=1, padding_mode='zeros', device=None, dtype=None)``;
weight (C_in, C_out/groups, *K).
"""

Conv1d, Conv2d, Conv3d = (_layer(_Conv, n, f"Conv{n}d", _CONV_DOC.format(n=n, name=f"Conv{n}d"))
                          for n in (1, 2, 3))


def _transpose_layer(ndim: int):
    name = f"ConvTranspose{ndim}d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        _ConvTranspose.__init__(self, ndim, in_channels, out_channels, kernel_size, stride,
                                padding, dilation, groups, bias, padding_mode, output_padding,
                                device=device, dtype=dtype)
    return type(name, (_ConvTranspose,), {"__init__": __init__,
                                          "__doc__": _TRANSPOSE_DOC.format(n=ndim, name=name)})


ConvTranspose1d, ConvTranspose2d, ConvTranspose3d = (_transpose_layer(n) for n in (1, 2, 3))
