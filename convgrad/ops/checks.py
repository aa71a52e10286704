"""Every check of a convolution call, made up front, before any work (``ops.conv``): its
arrays, its options, the shapes of its operands, and that its result and least workspace fit
the machine's memory (``geometry.check_memory``)."""

from __future__ import annotations

import numpy as np

from .geometry import (
    ConvGeometry,
    check_arrays,
    check_memory,
    check_shape,
    conv_geometry,
    transpose_geometry,
)


def prepare_conv(op: str, x, w, b, stride, padding, dilation, groups):
    """Every check of a ``conv`` call, before any work: (x, w, b, geometry)."""
    x, w, b = check_arrays(op, x=x, w=w, b=b)
    geo = conv_geometry(op, x.shape, w.shape, stride, padding, dilation, groups)
    check_bias(op, b, geo.out_channels)
    check_memory(op, geo, x.dtype, geo.output_shape)
    return x, w, b, geo


def prepare_transpose(op: str, x, w, b, stride, padding, output_padding, groups, dilation):
    """Every check of a ``conv_transpose`` call, before any work: (x, w, b, the geometry of
    the conv whose input gradient it is)."""
    x, w, b = check_arrays(op, x=x, w=w, b=b)
    geo = transpose_geometry(op, x.shape, w.shape, stride, padding, output_padding, groups,
                             dilation)
    check_bias(op, b, geo.in_channels)
    check_memory(op, geo, x.dtype, geo.input_shape)
    return x, w, b, geo


def grad_geometry(op: str, input_shape, weight_shape, dy: np.ndarray, stride, padding, dilation,
                  groups) -> ConvGeometry:
    """Geometry of the forward conv a gradient belongs to, checked against dy's shape, and its
    result (x's shape for ``conv_grad_input``, w's for ``conv_grad_weight``) against memory."""
    input_shape = check_shape(op, "input_shape", input_shape, empty_batch=True)
    weight_shape = check_shape(op, "weight_shape", weight_shape)
    geo = conv_geometry(op, input_shape, weight_shape, stride, padding, dilation, groups)
    if dy.shape != geo.output_shape:
        raise ValueError(
            f"{op}: dy.shape={dy.shape} does not match the forward output: input_shape="
            f"{tuple(geo.input_shape)}, weight_shape={tuple(geo.weight_shape)}, stride="
            f"{geo.stride}, padding={geo.padding}, dilation={geo.dilation} give "
            f"{geo.output_shape}")
    check_memory(op, geo, dy.dtype,
                 geo.input_shape if op == "conv_grad_input" else geo.weight_shape)
    return geo


def check_operands(op: str, geo: ConvGeometry, **arrays) -> None:
    """Each ``name=(array, shape)`` has that shape and all share one float dtype."""
    check_arrays(op, **{name: a for name, (a, _) in arrays.items()})
    for name, (a, shape) in arrays.items():
        if a.shape != tuple(shape):
            raise ValueError(f"{op}: {name}.shape={a.shape} does not fit the convolution, which "
                             f"needs {tuple(shape)}")


def check_bias(op: str, b: np.ndarray | None, out_channels: int) -> None:
    if b is not None and b.shape != (out_channels,):
        raise ValueError(f"{op}: bias must have shape (C_out,) = ({out_channels},), "
                         f"got b.shape={b.shape}")
