"""Reductions over dims: ``sum``/``mean``/``prod``/``amax``/``amin``/``logsumexp`` →
``ReduceSum``/``ReduceMean``/``ReduceProd``/``ReduceMax``/``ReduceMin``/``ReduceLogSumExp``;
``argmax``/``argmin`` → ``ArgMax``/``ArgMin`` (the first index among ties, as torch);
``var``/``std`` → ``Σ(x − mean)²/(N − correction)`` (and its ``Sqrt``). The reduced axes are
resolved by the same functions the library reduces with (``dim``/``axis`` aliases included).
A ``dtype`` argument casts the input first; integer sums are int64 (torch's rule), as traced.
"""

from __future__ import annotations

import numpy as np

from ...methods.reduction import alias, reduced_axes
from ...methods.spread import _correction
from . import register
from .activation import operand

REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "prod": "ReduceProd",
          "amax": "ReduceMax", "amin": "ReduceMin", "logsumexp": "ReduceLogSumExp"}


def _dims(kind: str, args: dict, ndim: int):
    """(axes or None for all, keepdim) of a traced reduction."""
    dim = alias(kind, args.get("dim"), args.get("axis"), "dim")
    keep = alias(kind, args.get("keepdim", False), args.get("keepdims"), "keepdim", False)
    axes = reduced_axes(dim, ndim, kind)
    return (None if len(axes) == ndim else list(axes)), bool(keep)


@register(*REDUCE)
def reduce(g, node):
    x, out = node.args["input"], node.output
    x = operand(g, x, out.dtype)                      # dtype=..., int → int64, int → float
    ndim = len(getattr(node.args["input"], "shape", np.shape(node.args["input"])))
    if ndim == 0:
        return g.op("Identity", [x], out)
    axes, keep = _dims(node.kind, node.args, ndim)
    if node.kind == "prod" and node.args["dim"] is None:
        axes, keep = None, False
    return g.reduce(REDUCE[node.kind], x, axes, keep, out)


@register("argmax", "argmin")
def argmax(g, node):
    x, out, dim = node.args["input"], node.output, node.args["dim"]
    x = operand(g, x)
    op_type = "ArgMax" if node.kind == "argmax" else "ArgMin"
    ndim = len(node.args["input"].shape) if hasattr(node.args["input"], "shape") else 0
    if ndim == 0:
        return g.op("Mul", [g.cast(x, np.int64), g.const(np.asarray(0, np.int64))], out)
    if dim is None:
        flat = g.op("Reshape", [x, g.const([-1])])
        index = g.op(op_type, [flat], axis=0, keepdims=int(bool(node.args["keepdim"])))
        return g.op("Reshape", [index, g.const(list(out.shape))], out)
    return g.op(op_type, [x], out, axis=int(dim) % ndim,
                keepdims=int(bool(node.args["keepdim"])), select_last_index=0)


@register("var", "std")
def spread(g, node):
    x, out = node.args["input"], node.output
    shape = node.args["input"].shape
    x = operand(g, x)
    args = dict(node.args)
    args["dim"], correction = _correction(node.kind, alias(node.kind, args["dim"],
                                                           args.get("axis"), "dim"),
                                          args["unbiased"], args["correction"])
    args["axis"] = None
    axes, keep = _dims(node.kind, args, len(shape))
    every = list(range(len(shape))) if axes is None else axes
    count = int(np.prod([shape[i] for i in every], dtype=np.int64))
    mean = g.reduce("ReduceMean", x, every, True)
    dev = g.op("Sub", [x, mean])
    total = g.reduce("ReduceSum", g.op("Mul", [dev, dev]), every, keep)
    dof = np.asarray(max(0.0, count - correction), out.dtype)
    if node.kind == "var":
        return g.op("Div", [total, g.const(dof)], out)
    return g.op("Sqrt", [g.op("Div", [total, g.const(dof)])], out)


@register("norm")
def norm(g, node):
    """The vector p-norm: ``ReduceL2`` (p = 2, 'fro'), ``ReduceL1`` (1), ``ReduceMax``/
    ``ReduceMin`` of ``|x|`` (±inf), the count of non-zeros (0), ``(Σ|x|^p)^(1/p)`` else."""
    out = node.output
    ndim = len(node.args["input"].shape)
    x = operand(g, node.args["input"], out.dtype)
    axes, keep = _dims(node.kind, node.args, ndim)
    p = node.args["p"]
    p = 2.0 if p is None or p == "fro" else float(p)
    if p in (1.0, 2.0):
        return g.reduce("ReduceL1" if p == 1 else "ReduceL2", x, axes, keep, out)
    size = g.op("Abs", [x])
    if p in (np.inf, -np.inf):
        return g.reduce("ReduceMax" if p > 0 else "ReduceMin", size, axes, keep, out)
    if p == 0:
        nonzero = g.cast(g.op("Not", [g.op("Equal", [size, g.const(np.zeros((), out.dtype))])]),
                         out.dtype)
        return g.reduce("ReduceSum", nonzero, axes, keep, out)
    power = g.op("Pow", [size, g.const(np.asarray(p, out.dtype))])
    total = g.reduce("ReduceSum", power, axes, keep)
    return g.op("Pow", [total, g.const(np.asarray(1 / p, out.dtype))], out)
