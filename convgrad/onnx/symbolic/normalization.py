"""Normalizations as exported (eval mode):

* ``batch_norm`` with running statistics (``training=False``) → ``BatchNormalization``; with
  batch statistics (``training=True``: a BatchNorm without running statistics, in eval too) →
  ``(x − mean)/√(var + ε)·γ + β`` over N and the spatial axes, the biased variance;
* ``instance_norm`` → ``InstanceNormalization`` (by the running statistics when
  ``use_input_stats=False``: ``BatchNormalization``);
* ``layer_norm`` → ``LayerNormalization`` over the trailing ``normalized_shape`` axes;
* ``group_norm`` → the input reshaped to (N, G, −1), standardised over the last axis, reshaped
  back, then ``·γ + β`` per channel (ONNX's GroupNormalization changed meaning in opset 21).

A missing γ is ones, a missing β zeros (ONNX wants both).
"""

from __future__ import annotations

import numpy as np

from ...functional.normalization_more import shape_tuple
from . import register
from .activation import operand


def _vector(g, v, n: int, dtype, fill: float):
    if v is None:
        return g.const(np.full(n, fill, dtype))
    return operand(g, v, dtype)


def _standardize(g, x, axes, eps: float, dtype, out=1):
    """(x − mean)/√(var + ε) over ``axes`` (the biased variance)."""
    mean = g.reduce("ReduceMean", x, axes, True)
    dev = g.op("Sub", [x, mean])
    var = g.reduce("ReduceMean", g.op("Mul", [dev, dev]), axes, True)
    std = g.op("Sqrt", [g.op("Add", [var, g.const(np.asarray(eps, dtype))])])
    return g.op("Div", [dev, std], out)


def _per_channel(g, v, ndim: int):
    return g.op("Reshape", [v, g.const([-1] + [1] * (ndim - 2))])


def _affine(g, y, weight, bias, ndim: int, dtype, out):
    if weight is not None:
        y = g.op("Mul", [y, _per_channel(g, operand(g, weight, dtype), ndim)])
    if bias is not None:
        y = g.op("Add", [y, _per_channel(g, operand(g, bias, dtype), ndim)])
    return g.op("Identity", [y], out)


def _by_running(g, node, x, c: int, dtype):
    a = node.args
    return g.op("BatchNormalization",
                [x, _vector(g, a["weight"], c, dtype, 1.0), _vector(g, a["bias"], c, dtype, 0.0),
                 operand(g, a["running_mean"], dtype), operand(g, a["running_var"], dtype)],
                node.output, epsilon=float(a["eps"]))


@register("batch_norm")
def batch_norm(g, node):
    a, out = node.args, node.output
    x, dtype, ndim = operand(g, a["input"], out.dtype), out.dtype, out.ndim
    if not a["training"]:
        return _by_running(g, node, x, out.shape[1], dtype)
    y = _standardize(g, x, [0] + list(range(2, ndim)), float(a["eps"]), dtype)
    return _affine(g, y, a["weight"], a["bias"], ndim, dtype, out)


@register("instance_norm")
def instance_norm(g, node):
    a, out = node.args, node.output
    x, dtype, c = operand(g, a["input"], out.dtype), out.dtype, out.shape[1]
    if not a["use_input_stats"]:
        return _by_running(g, node, x, c, dtype)
    return g.op("InstanceNormalization",
                [x, _vector(g, a["weight"], c, dtype, 1.0), _vector(g, a["bias"], c, dtype, 0.0)],
                out, epsilon=float(a["eps"]))


@register("layer_norm")
def layer_norm(g, node):
    a, out = node.args, node.output
    x, dtype = operand(g, a["input"], out.dtype), out.dtype
    shape = shape_tuple("onnx.export: layer_norm", a["normalized_shape"])
    scale = (g.const(np.ones(shape, dtype)) if a["weight"] is None
             else operand(g, a["weight"], dtype))
    inputs = [x, scale] + ([] if a["bias"] is None else [operand(g, a["bias"], dtype)])
    return g.op("LayerNormalization", inputs, out, axis=-len(shape), epsilon=float(a["eps"]))


@register("group_norm")
def group_norm(g, node):
    a, out = node.args, node.output
    x, dtype, ndim = operand(g, a["input"], out.dtype), out.dtype, out.ndim
    groups = int(a["num_groups"])
    grouped = g.op("Reshape", [x, g.const([0, groups, -1])])
    y = _standardize(g, grouped, [2], float(a["eps"]), dtype)
    y = g.op("Reshape", [y, g.op("Shape", [x])])
    return _affine(g, y, a["weight"], a["bias"], ndim, dtype, out)

