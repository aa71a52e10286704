"""Shapes, layouts, indexing and joining: reshape (view, flatten, squeeze …), expand, permute,
transpose, ``x[index]`` (ints, slices, None, ..., one integer-tensor index), cat, where, clamp,
embedding.
"""

from __future__ import annotations

import numpy as np

from ..tracer import Value
from . import UnsupportedUse, register

INT64_MAX = np.iinfo(np.int64).max


@register("reshape", "view", "squeeze", "unsqueeze", "unflatten", "flatten")
def reshape(g, node):
    x = node.inputs[0]
    return g.reshape(x, x.shape, node.output.shape, node.output)


@register("expand")
def expand(g, node):
    x, out = node.inputs[0], node.output
    shape = list(out.shape)
    lead = len(shape) - x.ndim
    if g.dynamic and lead == 0 and shape and x.shape[0] == shape[0]:
        shape[0] = 1                          # broadcasting keeps the (dynamic) batch
    return g.op("Expand", [x, g.const(shape)], out)


def _axes(axes: tuple, ndim: int) -> list[int]:
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    return [int(a) % ndim for a in axes] if axes else list(range(ndim))[::-1]


@register("permute")
def permute(g, node):
    x = node.args["a"]
    return g.op("Transpose", [x], node.output, perm=_axes(tuple(node.args["axes"]), x.ndim))


@register("transpose")
def transpose(g, node):
    x = node.args["a"]
    if x.ndim == 0:
        return g.op("Identity", [x], node.output)
    perm = list(range(x.ndim))
    i, j = node.args["dim0"] % x.ndim, node.args["dim1"] % x.ndim
    perm[i], perm[j] = perm[j], perm[i]
    return g.op("Transpose", [x], node.output, perm=perm)


@register("cat")
def cat(g, node):
    parts = [v for v in node.args["ts"] if v.shape != (0,) or v.ndim != 1]
    dtype = node.output.dtype
    parts = [p if p.dtype == dtype else g.cast(p, dtype) for p in parts]
    axis = int(node.args["dim"]) % node.output.ndim
    return g.op("Concat", parts, node.output, axis=axis)


@register("where")
def where(g, node):
    cond, a, b = node.args["condition"], node.args["a"], node.args["b"]
    dtype = node.output.dtype
    cond = cond if isinstance(cond, Value) else Value("", np.asarray(cond, bool), True)
    if cond.dtype != bool:
        cond = g.cast(cond, bool)
    a, b = (_operand(g, v, dtype) for v in (a, b))
    return g.op("Where", [cond, a, b], node.output)


def _operand(g, v, dtype):
    if isinstance(v, Value):
        return v if v.dtype == dtype else g.cast(v, dtype)
    return g.const(np.asarray(v, dtype))


@register("clamp")
def clamp(g, node):
    x, out = node.args["input"], node.output
    x = x if x.dtype == out.dtype else g.cast(x, out.dtype)
    low, high = node.args["min"], node.args["max"]
    if isinstance(low, Value) or isinstance(high, Value):
        y = x
        if low is not None:
            y = g.op("Max", [y, _operand(g, low, out.dtype)])
        if high is not None:
            y = g.op("Min", [y, _operand(g, high, out.dtype)])
        return g.op("Identity", [y], out)
    bounds = [None if v is None else g.const(np.asarray(v, out.dtype)) for v in (low, high)]
    return g.op("Clip", [x, *bounds], out)


@register("getitem")
def getitem(g, node):
    """Basic indexing as one Slice, one integer index as a Gather, the rest as a Reshape to
    the traced result's shape (ints drop their dim, None adds one)."""
    x, out = node.args["a"], node.output
    items = node.args["index"]
    items = list(items) if isinstance(items, tuple) else [items]
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    probe = np.broadcast_to(np.zeros((), x.dtype), x.shape)
    starts, ends, axes, steps, gather, dim = [], [], [], [], None, 0
    for item in items:
        if item is None:
            continue
        if item is Ellipsis:
            dim += x.ndim - consumed
            continue
        if isinstance(item, (bool, np.bool_)) or (isinstance(item, Value)
                                                 and item.dtype == bool):
            raise UnsupportedUse("getitem with a boolean mask (its result's shape depends on "
                              "the data)")
        if isinstance(item, (int, np.integer)):
            i = int(item)
            starts.append(i), ends.append(i + 1 if i != -1 else INT64_MAX)
            axes.append(dim), steps.append(1)
        elif isinstance(item, slice):
            step = 1 if item.step is None else int(item.step)
            if not (item.start in (None, 0) and item.stop is None and step == 1):
                starts.append(0 if item.start is None else int(item.start))
                ends.append(INT64_MAX if item.stop is None else int(item.stop))
                axes.append(dim), steps.append(step)
        else:
            if gather is not None:
                raise UnsupportedUse("getitem with more than one tensor index")
            gather = (dim, item)
        dim += 1
    y = x
    if axes:
        y = g.op("Slice", [y, g.const(starts), g.const(ends), g.const(axes), g.const(steps)])
        probe = probe[tuple(slice(s, e, st) if a is not None else slice(None)
                            for s, e, a, st in _by_axis(starts, ends, axes, steps, x.ndim))]
    if gather is not None:
        axis, index = gather
        if isinstance(index, Value):
            index_shape = index.shape
            if index.dtype not in (np.int32, np.int64):
                index = g.cast(index, np.int64)
        else:
            index = np.asarray(index, np.int64)
            index_shape, index = index.shape, g.const(index)
        y = g.op("Gather", [y, index], axis=axis)
        shape = probe.shape
        probe = np.broadcast_to(np.zeros((), x.dtype),
                                shape[:axis] + tuple(index_shape) + shape[axis + 1:])
    if probe.shape == out.shape:
        return g.op("Identity", [y], out)
    return g.reshape(y, probe.shape, out.shape, out)


def _by_axis(starts, ends, axes, steps, ndim):
    where = dict(zip(axes, zip(starts, ends, steps)))
    for a in range(ndim):
        s, e, st = where.get(a, (None, None, None))
        yield (s, None if e == INT64_MAX else e, a if a in where else None, st)


@register("embedding")
def embedding(g, node):
    """Rows ``weight[input]`` → ``Gather(weight, input, axis=0)``; ``max_norm`` renorms the
    weight in place at every lookup, which a graph cannot do."""
    if node.args["max_norm"] is not None:
        raise UnsupportedUse("embedding with max_norm (it rewrites the weight at each lookup)")
    index = node.args["input"]
    if isinstance(index, Value):
        index = index if index.dtype == np.int64 else g.cast(index, np.int64)
    else:
        index = g.const(np.asarray(index, np.int64))
    return g.op("Gather", [node.args["weight"], index], node.output, axis=0)
