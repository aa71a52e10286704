"""Activations with parameters: one ONNX op each where ONNX has it (LeakyRelu, PRelu, Elu,
Selu, HardSigmoid, HardSwish, Shrink, Softplus, Softmax, LogSoftmax), a short composition where
it has not or where the ONNX op differs from torch's function:

* ``hardtanh(a, b)``, ``relu6`` → ``Clip``; ``threshold(t, v)`` → ``Where(x <= t, v, x)``;
* ``celu(α)`` → ``Max(x, 0) + Min(0, α·(exp(x/α) − 1))`` (ONNX's Celu is float32-only);
* ``softplus(β, t)`` → ``Where(βx > t, x, Softplus(βx)/β)``; ``logsigmoid`` →
  ``−Softplus(−x)``; ``mish`` → ``x·tanh(Softplus(x))``; ``tanhshrink`` → ``x − tanh x``;
* ``rrelu`` in evaluation → ``LeakyRelu((lower + upper)/2)`` (in training it is random and
  refused); ``softmax``/``log_softmax`` → ``Softmax``/``LogSoftmax`` (softmin: of −x).
"""

from __future__ import annotations

import numpy as np

from ...functional.activations_more import SELU_ALPHA, SELU_SCALE
from ..tracer import Value
from . import UnsupportedUse, register


def operand(g, v, dtype=None):
    """A traced value (or a literal array or number made a constant) as a graph input."""
    if isinstance(v, Value):
        return v if dtype is None or v.dtype == dtype else g.cast(v, dtype)
    return g.const(np.asarray(v, dtype))


def _scalar(g, value, dtype):
    return g.const(np.asarray(value, dtype))


def _input(g, node):
    x = node.args["input"]
    return operand(g, x, node.output.dtype)


@register("hardtanh", "relu6")
def hardtanh(g, node):
    low, high = ((0.0, 6.0) if node.kind == "relu6"
                 else (node.args["min_val"], node.args["max_val"]))
    dtype = node.output.dtype
    return g.op("Clip", [_input(g, node), _scalar(g, low, dtype), _scalar(g, high, dtype)],
                node.output)


@register("threshold")
def threshold(g, node):
    x, dtype = _input(g, node), node.output.dtype
    below = g.op("LessOrEqual", [x, _scalar(g, node.args["threshold"], dtype)])
    return g.op("Where", [below, _scalar(g, node.args["value"], dtype), x], node.output)


@register("leaky_relu")
def leaky_relu(g, node):
    return g.op("LeakyRelu", [_input(g, node)], node.output,
                alpha=float(node.args["negative_slope"]))


@register("rrelu")
def rrelu(g, node):
    if node.args["training"]:
        raise UnsupportedUse("rrelu with training=True draws a random slope per element")
    slope = (float(node.args["lower"]) + float(node.args["upper"])) / 2
    return g.op("LeakyRelu", [_input(g, node)], node.output, alpha=slope)


@register("prelu")
def prelu(g, node):
    x, w = node.args["input"], node.args["weight"]
    n = int(np.prod(w.shape, dtype=np.int64)) if isinstance(w, Value) else np.size(w)
    shape = [] if n == 1 else [n] + [1] * (x.ndim - 2)   # one slope, or one per channel
    slope = g.op("Reshape", [operand(g, w), g.const(shape)])
    return g.op("PRelu", [operand(g, x), slope], node.output)


@register("elu")
def elu(g, node):
    return g.op("Elu", [_input(g, node)], node.output, alpha=float(node.args["alpha"]))


@register("selu")
def selu(g, node):
    return g.op("Selu", [_input(g, node)], node.output, alpha=SELU_ALPHA, gamma=SELU_SCALE)


@register("celu")
def celu(g, node):
    x, dtype, alpha = _input(g, node), node.output.dtype, float(node.args["alpha"])
    a = _scalar(g, alpha, dtype)
    zero = _scalar(g, 0, dtype)
    exp = g.op("Exp", [g.op("Div", [g.op("Min", [x, zero]), a])])
    negative = g.op("Mul", [a, g.op("Sub", [exp, _scalar(g, 1, dtype)])])
    return g.op("Add", [g.op("Max", [x, zero]), g.op("Min", [negative, zero])], node.output)


@register("hardsigmoid")
def hardsigmoid(g, node):
    return g.op("HardSigmoid", [_input(g, node)], node.output, alpha=1 / 6, beta=0.5)


@register("hardswish")
def hardswish(g, node):
    return g.op("HardSwish", [_input(g, node)], node.output)


@register("hardshrink", "softshrink")
def shrink(g, node):
    lam = float(node.args["lambd"])
    return g.op("Shrink", [_input(g, node)], node.output, lambd=lam,
                bias=lam if node.kind == "softshrink" else 0.0)


@register("softplus")
def softplus(g, node):
    x, dtype = _input(g, node), node.output.dtype
    beta, limit = float(node.args["beta"]), float(node.args["threshold"])
    bx = x if beta == 1 else g.op("Mul", [x, _scalar(g, beta, dtype)])
    soft = g.op("Softplus", [bx])
    if beta != 1:
        soft = g.op("Div", [soft, _scalar(g, beta, dtype)])
    above = g.op("Greater", [bx, _scalar(g, limit, dtype)])
    return g.op("Where", [above, x, soft], node.output)


@register("logsigmoid")
def logsigmoid(g, node):
    x = _input(g, node)
    return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])], node.output)


@register("mish")
def mish(g, node):
    x = _input(g, node)
    return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])], node.output)


@register("tanhshrink")
def tanhshrink(g, node):
    x = _input(g, node)
    return g.op("Sub", [x, g.op("Tanh", [x])], node.output)


@register("softmax", "log_softmax")
def softmax(g, node):
    x, out = operand(g, node.args["x"]), node.output
    if out.ndim == 0:                 # one element: softmax 1, log_softmax 0
        one = node.kind == "softmax"
        return g.op("Add", [g.op("Mul", [x, _scalar(g, 0, out.dtype)]),
                            _scalar(g, float(one), out.dtype)], out)
    op_type = "LogSoftmax" if node.kind == "log_softmax" else "Softmax"
    return g.op(op_type, [x], out, axis=int(node.args["axis"]))
