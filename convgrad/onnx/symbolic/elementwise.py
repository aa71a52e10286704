"""Elementwise ops recorded by ``make`` (their operands are already of one dtype, broadcast as
NumPy = ONNX broadcasts): one ONNX op each, or a two-node composition where ONNX has none.
"""

from __future__ import annotations

import math

import numpy as np

from ..tracer import Value
from . import register

UNARY = {"neg": "Neg", "exp": "Exp", "log": "Log", "tanh": "Tanh", "sigmoid": "Sigmoid",
         "relu": "Relu", "abs": "Abs", "sqrt": "Sqrt", "sin": "Sin", "cos": "Cos", "tan": "Tan",
         "asin": "Asin", "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh",
         "erf": "Erf", "reciprocal": "Reciprocal", "floor": "Floor", "ceil": "Ceil",
         "sign": "Sign", "sgn": "Sign"}
BINARY = {"add": "Add", "sub": "Sub", "rsub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow",
          "matmul": "MatMul", "maximum": "Max", "minimum": "Min", "fmax": "Max", "fmin": "Min"}
IDENTITY = ("clone", "contiguous", "alias", "detach", "identity", "t", "movedim")


@register(*UNARY)
def unary(g, node):
    x = node.inputs[0]
    if node.kind in ("floor", "ceil") and x.dtype.kind in "biu":
        return g.op("Identity", [x], node.output)
    return g.op(UNARY[node.kind], [x], node.output)


@register(*BINARY)
def binary(g, node):
    return g.op(BINARY[node.kind], node.inputs[:2], node.output)


@register(*IDENTITY)
def identity(g, node):
    return g.op("Identity", [node.inputs[0]], node.output)


@register("to")
def cast(g, node):
    return g.cast(node.inputs[0], node.output.dtype, node.output)


def _one(g, x):
    return g.const(1, x.dtype)


@register("expm1")
def expm1(g, node):
    x = node.inputs[0]
    return g.op("Sub", [g.op("Exp", [x]), _one(g, x)], node.output)


@register("log1p")
def log1p(g, node):
    x = node.inputs[0]
    return g.op("Log", [g.op("Add", [x, _one(g, x)])], node.output)


@register("rsqrt")
def rsqrt(g, node):
    return g.op("Reciprocal", [g.op("Sqrt", [node.inputs[0]])], node.output)


@register("exp2")
def exp2(g, node):
    x = node.inputs[0]
    return g.op("Pow", [g.const(2, x.dtype), x], node.output)


@register("log2", "log10")
def log_base(g, node):
    x = node.inputs[0]
    base = 2.0 if node.kind == "log2" else 10.0
    return g.op("Div", [g.op("Log", [x]), g.const(math.log(base), x.dtype)], node.output)


def _trunc(g, x, out=1):
    return g.op("Mul", [g.op("Sign", [x]), g.op("Floor", [g.op("Abs", [x])])], out)


@register("trunc")
def trunc(g, node):
    x = node.inputs[0]
    if x.dtype.kind in "biu":
        return g.op("Identity", [x], node.output)
    return _trunc(g, x, node.output)


@register("frac")
def frac(g, node):
    x = node.inputs[0]
    return g.op("Sub", [x, _trunc(g, x)], node.output)


COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
           "ge": "GreaterOrEqual", "ne": "Equal"}
LOGICAL = {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}


def _common(g, a, b):
    """Both operands (Values or numbers) of one dtype, as the op promoted them."""
    from ...semantics import result_dtype  # noqa: PLC0415

    operands = [v if isinstance(v, Value) else Value("", np.asarray(v), True) for v in (a, b)]
    dtype = result_dtype(*(v.array if not v.const or v.ndim else v.array.item()
                           for v in operands))
    return [g.value(v) if v.name and v.dtype == dtype else
            g.const(np.asarray(v.array, dtype)) if not v.name else g.cast(v, dtype)
            for v in operands]


@register(*COMPARE)
def compare(g, node):
    a, b = _common(g, node.args["input"], node.args["other"])
    if node.kind == "ne":
        return g.op("Not", [g.op("Equal", [a, b])], node.output)
    return g.op(COMPARE[node.kind], [a, b], node.output)


def _bool(g, v):
    return v if v.dtype == bool else g.cast(v, bool)


@register(*LOGICAL)
def logical(g, node):
    a, b = (_bool(g, node.args[k]) for k in ("input", "other"))
    return g.op(LOGICAL[node.kind], [a, b], node.output)


@register("logical_not")
def logical_not(g, node):
    return g.op("Not", [_bool(g, node.args["input"])], node.output)


@register("isnan", "isinf", "isfinite", "isposinf", "isneginf")
def test(g, node):
    x = node.args["input"]
    if x.dtype.kind != "f":
        return g.op("Identity", [g.const(np.full(x.shape, node.kind == "isfinite"))],
                    node.output)
    if node.kind == "isnan":
        return g.op("IsNaN", [x], node.output)
    if node.kind == "isfinite":
        bad = g.op("Or", [g.op("IsNaN", [x]), g.op("IsInf", [x])])
        return g.op("Not", [bad], node.output)
    return g.op("IsInf", [x], node.output, detect_negative=int(node.kind != "isposinf"),
                detect_positive=int(node.kind != "isneginf"))


BITWISE = {"bitwise_and": ("And", "BitwiseAnd"), "bitwise_or": ("Or", "BitwiseOr"),
           "bitwise_xor": ("Xor", "BitwiseXor")}


@register(*BITWISE)
def bitwise(g, node):
    a, b = _common(g, node.args["input"], node.args["other"])
    logical, integer = BITWISE[node.kind]
    return g.op(logical if node.output.dtype == bool else integer, [a, b], node.output)


@register("bitwise_not")
def bitwise_not(g, node):
    x = node.args["input"]
    return g.op("Not" if x.dtype == bool else "BitwiseNot", [x], node.output)



def _pair(g, node):
    dtype = node.output.dtype
    return [v if isinstance(v, Value) and v.dtype == dtype else
            g.cast(v, dtype) if isinstance(v, Value) else g.const(np.asarray(v, dtype))
            for v in (node.args["input"], node.args["other"])]


@register("floor_divide")
def floor_divide(g, node):
    """⌊a/b⌋: ``Floor(a/b)`` for floats; for integers ``(a − Mod(a, b))/b`` (ONNX's integer
    Div truncates; Mod with fmod=0 takes the divisor's sign, as the floor needs)."""
    a, b = _pair(g, node)
    if node.output.dtype.kind == "f":
        return g.op("Floor", [g.op("Div", [a, b])], node.output)
    return g.op("Div", [g.op("Sub", [a, g.op("Mod", [a, b], fmod=0)]), b], node.output)


@register("remainder", "fmod")
def remainder(g, node):
    """``remainder``: ``a − b·⌊a/b⌋`` (the divisor's sign) — ``Mod`` for integers, the formula
    for floats (ONNX's float Mod is C's fmod); ``fmod``: ``Mod(a, b, fmod=1)``."""
    a, b = _pair(g, node)
    if node.kind == "fmod":
        return g.op("Mod", [a, b], node.output, fmod=1)
    if node.output.dtype.kind != "f":
        return g.op("Mod", [a, b], node.output, fmod=0)
    floor = g.op("Floor", [g.op("Div", [a, b])])
    return g.op("Sub", [a, g.op("Mul", [b, floor])], node.output)
