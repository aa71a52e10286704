r"""Differentiable convolutions: three functions that are each other's transposes.

With the bilinear form ``B(x, w, dy) = ⟨conv(x, w), dy⟩`` the engine's three kernels are its
partial derivatives::

    conv(x, w)              = ∂B/∂dy
    conv_grad_input(dy, w)  = ∂B/∂x      (a full correlation with rot180 w)
    conv_grad_weight(x, dy) = ∂B/∂w      (a correlation of x with dy)

so the backward of each one is written with the other two, and every order of derivative is
again a convolution: ``∂/∂w ⟨h, conv_grad_input(dy, w)⟩ = conv_grad_weight(h, dy)`` and so on.
The transposed convolution *is* ``conv_grad_input`` for the conv whose output has x's shape.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import Tensor, as_tensor, make
from ..ops.geometry import check_arrays, transpose_geometry
from ..tensor_ops import broadcast_to


def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """N-d cross-correlation ``y = x ⋆ w + b`` (``ops.conv``) with autograd; any spatial rank.

    Shapes: x (N, C_in, *S), w (C_out, C_in/groups, *K), b (C_out,) → y (N, C_out, *M),
    ``M = ⌊(n + lo + hi − d·(k−1) − 1)/s⌋ + 1``. Backward: ∂x = ``conv_grad_input``,
    ∂w = ``conv_grad_weight``, ∂b = Σ over batch and space.
    """
    x, w = as_tensor(input), as_tensor(weight)
    opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    b = None if bias is None else as_tensor(bias)
    parents = (x, w) if b is None else (x, w, b)

    def backward(g):
        return (conv_grad_input(g, w, x.shape, **opts) if x.requires_grad else None,
                conv_grad_weight(x, g, w.shape, **opts) if w.requires_grad else None,
                conv_grad_bias(g) if b is not None and b.requires_grad else None)
    # the bias is added in place inside ops.conv: no second pass over the output
    return make(ops.conv(x.data, w.data, None if b is None else b.data, **opts), parents,
                backward, "conv")


def conv_grad_input(dy, weight, input_shape, stride=1, padding=0, dilation=1,
                    groups=1) -> Tensor:
    """∂L/∂x of ``conv`` as a differentiable function of (dy, w) — linear in each."""
    dy, w = as_tensor(dy), as_tensor(weight)
    opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return make(ops.conv_grad_input(dy.data, w.data, tuple(input_shape), **opts), (dy, w),
                lambda h: (conv(h, w, **opts) if dy.requires_grad else None,
                           conv_grad_weight(h, dy, w.shape, **opts) if w.requires_grad
                           else None), "conv_grad_input")


def conv_grad_weight(input, dy, weight_shape, stride=1, padding=0, dilation=1,
                     groups=1) -> Tensor:
    """∂L/∂w of ``conv`` as a differentiable function of (x, dy) — linear in each."""
    x, dy = as_tensor(input), as_tensor(dy)
    opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return make(ops.conv_grad_weight(x.data, dy.data, tuple(weight_shape), **opts), (x, dy),
                lambda h: (conv_grad_input(dy, h, x.shape, **opts) if x.requires_grad else None,
                           conv(x, h, **opts) if dy.requires_grad else None),
                "conv_grad_weight")


def conv_grad_bias(dy) -> Tensor:
    """∂L/∂b of ``conv``: ``Σ_{n,p} dy[n, o, p]`` (``ops.conv_grad_bias``); its backward
    spreads h[o] back over every (n, p)."""
    dy = as_tensor(dy)
    keep = (1, -1) + (1,) * (dy.ndim - 2)
    return make(ops.conv_grad_bias(dy.data), (dy,),
                lambda h: (broadcast_to(h.reshape(*keep), dy.shape),), "conv_grad_bias")


def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                   dilation=1) -> Tensor:
    """Transposed convolution: ``conv_grad_input`` of the conv from the output back to x.

    x (N, C_in, *S), w (C_in, C_out/groups, *K) → (N, C_out, *O) with
    ``O = (n − 1)·s − lo − hi + d·(k − 1) + output_padding + 1``.
    """
    x, w = as_tensor(input), as_tensor(weight)
    check_arrays("conv_transpose", x=x.data, w=w.data)
    geo = transpose_geometry("conv_transpose", x.shape, w.shape, stride, padding, output_padding,
                             groups, dilation)
    y = conv_grad_input(x, w, geo.input_shape, stride=geo.stride, padding=geo.padding,
                        dilation=geo.dilation, groups=geo.groups)
    return _add_bias("conv_transpose", y, bias)


def _add_bias(op: str, y: Tensor, bias) -> Tensor:
    if bias is None:
        return y
    b = as_tensor(bias)
    check_arrays(op, y=y.data, b=b.data)
    if b.shape != (y.shape[1],):
        raise ValueError(f"{op}: bias must have shape (C_out,) = ({y.shape[1]},), "
                         f"got {b.shape}")
    return y + b.reshape(-1, *(1,) * (y.ndim - 2))


def _fixed_rank(fn, ndim: int, name: str):
    def wrapper(input, weight, *args, **kwargs) -> Tensor:
        for label, t in (("input", input), ("weight", weight)):
            rank = np.ndim(t.data if isinstance(t, Tensor) else t)
            if rank != ndim + 2:
                shape = np.shape(t.data if isinstance(t, Tensor) else t)
                raise ValueError(f"{name}: {label} must have {ndim + 2} dims (N/C_out, C, "
                                 f"{ndim} spatial), got shape {shape}")
        return fn(input, weight, *args, **kwargs)
    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = f"``{fn.__name__}`` for {ndim} spatial dim(s); see its docstring."
    return wrapper


conv1d, conv2d, conv3d = (_fixed_rank(conv, n, f"conv{n}d") for n in (1, 2, 3))
conv_transpose1d, conv_transpose2d, conv_transpose3d = (
    _fixed_rank(conv_transpose, n, f"conv_transpose{n}d") for n in (1, 2, 3))
