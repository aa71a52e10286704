r"""Differentiable convolutions: three functions that are each other's transposes.

With the bilinear form ``B(x, w, dy) = ⟨conv(x, w), dy⟩`` the engine's three kernels are its
partial derivatives::

    conv(x, w)              = ∂B/∂dy
    conv_grad_input(dy, w)  = ∂B/∂x      (a full correlation with rot180 w)
    conv_grad_weight(x, dy) = ∂B/∂w      (a correlation of x with dy)

so the backward of each one is written with the other two, and every order of derivative is
again a convolution: ``∂/∂w ⟨h, conv_grad_input(dy, w)⟩ = conv_grad_weight(h, dy)`` and so on.
The transposed convolution *is* ``conv_grad_input`` for the conv whose output has x's shape
(with output_padding ≥ stride, possible when dilation > stride, that conv crops the last
output_padding − stride + 1 positions of its input: ``ops.geometry.transpose_geometry``).

Each call checks its arguments once (``ops.conv.prepare_*``) and hands the resulting
``ConvGeometry`` to its backward (the private ``_geo`` argument): the gradients need not check
again, and can express geometries (a cropped input) that the public arguments cannot.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, make
from ..autograd.trace import traced
from ..creation import as_tensor
from ..methods.shape import broadcast_to
from ..ops.conv import conv_grad_bias as _bias_grad
from ..ops.conv import (
    conv_with,
    grad_geometry,
    grad_input_with,
    grad_weight_with,
    prepare_conv,
    prepare_transpose,
)

__all__ = ["conv", "conv1d", "conv2d", "conv3d", "conv_transpose", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "conv_grad_input", "conv_grad_weight",
           "conv_grad_bias"]


@traced("conv")
def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
         _geo=None) -> Tensor:
    """N-d cross-correlation ``y = x ⋆ w + b`` (``ops.conv``) with autograd; any spatial rank.

    Shapes: x (N, C_in, *S), w (C_out, C_in/groups, *K), b (C_out,) → y (N, C_out, *M),
    ``M = ⌊(n + lo + hi − d·(k−1) − 1)/s⌋ + 1``. Backward: ∂x = ``conv_grad_input``,
    ∂w = ``conv_grad_weight``, ∂b = Σ over batch and space.
    """
    x, w = _tensor("conv", "input", input), _tensor("conv", "weight", weight)
    b = None if bias is None else _tensor("conv", "bias", bias)
    geo = _geo
    if geo is None:
        geo = prepare_conv("conv", x.array, w.array, None if b is None else b.array, stride,
                           padding, dilation, groups)[3]
    parents = (x, w) if b is None else (x, w, b)

    def backward(g):
        return (conv_grad_input(g, w, x.shape, _geo=geo) if x.requires_grad else None,
                conv_grad_weight(x, g, w.shape, _geo=geo) if w.requires_grad else None,
                conv_grad_bias(g) if b is not None and b.requires_grad else None)
    # the bias is added in place inside ops.conv: no second pass over the output
    return make(conv_with(geo, x.array, w.array, None if b is None else b.array), parents,
                backward, "conv")


def conv_grad_input(dy, weight, input_shape, stride=1, padding=0, dilation=1, groups=1, *,
                    _geo=None) -> Tensor:
    """∂L/∂x of ``conv`` as a differentiable function of (dy, w) — linear in each."""
    dy = _tensor("conv_grad_input", "dy", dy)
    w = _tensor("conv_grad_input", "weight", weight)
    geo = _geo
    if geo is None:
        geo = grad_geometry("conv_grad_input", input_shape, w.shape, dy.array, stride,
                            padding, dilation, groups)
    return make(grad_input_with(geo, dy.array, w.array), (dy, w),
                lambda h: (conv(h, w, _geo=geo) if dy.requires_grad else None,
                           conv_grad_weight(h, dy, w.shape, _geo=geo) if w.requires_grad
                           else None), "conv_grad_input")


def conv_grad_weight(input, dy, weight_shape, stride=1, padding=0, dilation=1, groups=1, *,
                     _geo=None) -> Tensor:
    """∂L/∂w of ``conv`` as a differentiable function of (x, dy) — linear in each."""
    x = _tensor("conv_grad_weight", "input", input)
    dy = _tensor("conv_grad_weight", "dy", dy)
    geo = _geo
    if geo is None:
        geo = grad_geometry("conv_grad_weight", x.shape, weight_shape, dy.array, stride,
                            padding, dilation, groups)
    return make(grad_weight_with(geo, x.array, dy.array), (x, dy),
                lambda h: (conv_grad_input(dy, h, x.shape, _geo=geo) if x.requires_grad
                           else None,
                           conv(x, h, _geo=geo) if dy.requires_grad else None),
                "conv_grad_weight")


def conv_grad_bias(dy) -> Tensor:
    """∂L/∂b of ``conv``: ``Σ_{n,p} dy[n, o, p]`` (``ops.conv_grad_bias``); its backward
    spreads h[o] back over every (n, p)."""
    dy = _tensor("conv_grad_bias", "dy", dy)
    keep = (1, -1) + (1,) * (dy.ndim - 2)
    return make(_bias_grad(dy.array), (dy,),
                lambda h: (broadcast_to(h.reshape(*keep), dy.shape),), "conv_grad_bias")


@traced("conv_transpose")
def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                   dilation=1) -> Tensor:
    """Transposed convolution: ``conv_grad_input`` of the conv from the output back to x.

    x (N, C_in, *S), w (C_in, C_out/groups, *K) → (N, C_out, *O) with
    ``O = (n − 1)·s − lo − hi + d·(k − 1) + output_padding + 1``.
    """
    op = "conv_transpose"
    x, w = _tensor(op, "input", input), _tensor(op, "weight", weight)
    b = None if bias is None else _tensor(op, "bias", bias)
    geo = prepare_transpose(op, x.array, w.array, None if b is None else b.array, stride, padding,
                            output_padding, groups, dilation)[3]
    y = conv_grad_input(x, w, geo.input_shape, _geo=geo)
    return y if b is None else y + b.reshape(-1, *(1,) * (y.ndim - 2))


def _tensor(op: str, name: str, value) -> Tensor:
    """``as_tensor``, refusing what is not an array of numbers by name (a ragged list)."""
    try:
        return as_tensor(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{op}: {name} is not an array ({type(value).__name__}: {e})") from None


def _fixed_rank(fn, ndim: int, name: str):
    def wrapper(input, weight, *args, **kwargs) -> Tensor:
        for label, t in (("input", input), ("weight", weight)):
            rank = np.ndim(t.array if isinstance(t, Tensor) else t)
            if rank != ndim + 2:
                shape = np.shape(t.array if isinstance(t, Tensor) else t)
                raise ValueError(f"{name}: {label} must have {ndim + 2} dims (N/C_out, C, "
                                 f"{ndim} spatial), got shape {shape}")
        return fn(input, weight, *args, **kwargs)
    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = f"``{fn.__name__}`` for {ndim} spatial dim(s); see its docstring."
    return wrapper


conv1d, conv2d, conv3d = (_fixed_rank(conv, n, f"conv{n}d") for n in (1, 2, 3))
conv_transpose1d, conv_transpose2d, conv_transpose3d = (
    _fixed_rank(conv_transpose, n, f"conv_transpose{n}d") for n in (1, 2, 3))
