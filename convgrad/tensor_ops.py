"""Differentiable elementwise, reduction and shape ops, attached to Tensor as operators.

Each op: forward in NumPy, backward beside it written with these same ops (so it is itself
differentiable). Broadcasting follows NumPy; a gradient is summed back to its input's shape.
"""

from __future__ import annotations

import numpy as np

from .autograd import Tensor, as_tensor, make


def unbroadcast(g: Tensor, shape: tuple) -> Tensor:
    """Sum g over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape)
                                       if n == 1 and g.shape[i + extra] != 1)
    return sum_(g, axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def add(a, b) -> Tensor:
    a, b = _pair(a, b)
    return make(a.data + b.data, (a, b),
                lambda g: (unbroadcast(g, a.shape), unbroadcast(g, b.shape)), "add")


def sub(a, b) -> Tensor:
    a, b = _pair(a, b)
    return make(a.data - b.data, (a, b),
                lambda g: (unbroadcast(g, a.shape), unbroadcast(-g, b.shape)), "sub")


def mul(a, b) -> Tensor:
    a, b = _pair(a, b)
    return make(a.data * b.data, (a, b),
                lambda g: (unbroadcast(g * b, a.shape) if a.requires_grad else None,
                           unbroadcast(g * a, b.shape) if b.requires_grad else None), "mul")


def div(a, b) -> Tensor:
    a, b = _pair(a, b)
    return make(a.data / b.data, (a, b),
                lambda g: (unbroadcast(g / b, a.shape) if a.requires_grad else None,
                           unbroadcast(-g * a / (b * b), b.shape) if b.requires_grad else None),
                "div")


def neg(a) -> Tensor:
    return make(-a.data, (a,), lambda g: (-g,), "neg")


def power(a, b) -> Tensor:
    a, b = _pair(a, b)
    out = make(a.data ** b.data, (a, b), None, "pow")
    out._backward = lambda g: (
        unbroadcast(g * b * a ** (b - 1), a.shape) if a.requires_grad else None,
        unbroadcast(g * out * log(a), b.shape) if b.requires_grad else None)
    return out


def exp(a) -> Tensor:
    out = make(np.exp(a.data), (a,), None, "exp")
    out._backward = lambda g: (g * out,)
    return out


def log(a) -> Tensor:
    return make(np.log(a.data), (a,), lambda g: (g / a,), "log")


def tanh(a) -> Tensor:
    out = make(np.tanh(a.data), (a,), None, "tanh")
    out._backward = lambda g: (g * (1 - out * out),)
    return out


def sigmoid(a) -> Tensor:
    out = make(0.5 * (np.tanh(0.5 * a.data) + 1), (a,), None, "sigmoid")   # stable for all x
    out._backward = lambda g: (g * out * (1 - out),)
    return out


def relu(a) -> Tensor:
    mask = Tensor((a.data > 0).astype(a.dtype))          # ∂relu/∂x = 1 where x > 0, else 0
    return make(a.data * mask.data, (a,), lambda g: (g * mask,), "relu")


def abs_(a) -> Tensor:
    sign = Tensor(np.sign(a.data))                        # ∂|x|/∂x = sign(x), 0 at 0
    return make(np.abs(a.data), (a,), lambda g: (g * sign,), "abs")


def where(condition, a, b) -> Tensor:
    """Elementwise ``a if condition else b`` (condition: bool array, no gradient)."""
    a, b = _pair(a, b)
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    pick = Tensor(cond.astype(a.dtype))
    return make(np.where(cond, a.data, b.data), (a, b),
                lambda g: (unbroadcast(g * pick, a.shape) if a.requires_grad else None,
                           unbroadcast(g * (1 - pick), b.shape) if b.requires_grad else None),
                "where")


def take_along_axis(a, indices: np.ndarray, axis: int) -> Tensor:
    """``np.take_along_axis`` with autograd; the backward adds g back at the same indices."""
    indices = np.asarray(indices)
    return make(np.take_along_axis(a.data, indices, axis), (a,),
                lambda g: (put_along_axis(g, indices, axis, a.shape),), "take_along_axis")


def put_along_axis(g, indices: np.ndarray, axis: int, shape) -> Tensor:
    """Zeros of ``shape`` with g added at ``indices`` along ``axis``: the transpose of
    ``take_along_axis`` (repeated indices accumulate)."""
    out = np.zeros(shape, dtype=g.dtype)
    if indices.shape[axis] == 1:                  # one index per line: no repeats possible
        np.put_along_axis(out, indices, g.data, axis)
    else:
        grid = list(np.indices(indices.shape, sparse=True))
        grid[axis % len(shape)] = indices
        np.add.at(out, tuple(grid), g.data)
    return make(out, (g,), lambda h: (take_along_axis(h, indices, axis),), "put_along_axis")


def matmul(a, b) -> Tensor:
    a, b = _pair(a, b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: both operands need ≥ 2 dims here, got {a.shape} @ {b.shape}")
    return make(a.data @ b.data, (a, b),
                lambda g: (unbroadcast(g @ b.swapaxes(-1, -2), a.shape) if a.requires_grad
                           else None,
                           unbroadcast(a.swapaxes(-1, -2) @ g, b.shape) if b.requires_grad
                           else None), "matmul")


def sum_(a, axis=None, keepdims: bool = False) -> Tensor:
    axes = _axes(axis, a.ndim)
    kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
    return make(a.data.sum(axis=axes, keepdims=keepdims), (a,),
                lambda g: (broadcast_to(g.reshape(kept), a.shape),), "sum")


def mean(a, axis=None, keepdims: bool = False) -> Tensor:
    count = int(np.prod([a.shape[i] for i in _axes(axis, a.ndim)]))
    return sum_(a, axis, keepdims) / count


def max_(a, axis=None, keepdims: bool = False) -> Tensor:
    """Maximum; the gradient is shared equally among tied maxima (PyTorch's rule for amax)."""
    axes = _axes(axis, a.ndim)
    top = a.data.max(axis=axes, keepdims=True)
    hit = (a.data == top).astype(a.dtype)
    share = Tensor(hit / hit.sum(axis=axes, keepdims=True))
    kept = top.shape
    return make(top if keepdims else top.reshape([n for i, n in enumerate(a.shape)
                                                  if i not in axes]), (a,),
                lambda g: (broadcast_to(g.reshape(kept), a.shape) * share,), "max")


def broadcast_to(a, shape) -> Tensor:
    shape = tuple(shape)
    return make(np.broadcast_to(a.data, shape).copy(), (a,),
                lambda g: (unbroadcast(g, a.shape),), "broadcast_to")


def reshape(a, *shape) -> Tensor:
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return make(a.data.reshape(shape), (a,), lambda g: (g.reshape(a.shape),), "reshape")


def permute(a, *axes) -> Tensor:
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    axes = tuple(range(a.ndim))[::-1] if not axes else tuple(int(i) % a.ndim for i in axes)
    inverse = tuple(np.argsort(axes))
    return make(a.data.transpose(axes), (a,), lambda g: (permute(g, inverse),), "permute")


def swapaxes(a, i: int, j: int) -> Tensor:
    axes = list(range(a.ndim))
    axes[i], axes[j] = axes[j], axes[i]
    return permute(a, axes)


def getitem(a, index) -> Tensor:
    index = index.data if isinstance(index, Tensor) else index
    return make(a.data[index], (a,), lambda g: (scatter(g, a.shape, index),), "getitem")


def scatter(g, shape, index) -> Tensor:
    """Zeros of ``shape`` with g added at ``index`` (repeated indices accumulate); the
    transpose of indexing."""
    out = np.zeros(shape, dtype=g.dtype)
    parts = index if isinstance(index, tuple) else (index,)
    if all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in parts):
        out[index] += g.data                      # basic indexing: each element at most once
    else:
        np.add.at(out, index, g.data)             # fancy indexing: repeats must accumulate
    return make(out, (g,), lambda h: (getitem(h, index),), "scatter")


def _pair(a, b) -> tuple[Tensor, Tensor]:
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    return as_tensor(a, like), as_tensor(b, like)


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def _attach() -> None:
    binary = {"add": add, "sub": sub, "mul": mul, "truediv": div, "pow": power, "matmul": matmul}
    for name, fn in binary.items():
        setattr(Tensor, f"__{name}__", lambda self, other, fn=fn: fn(self, other))
        setattr(Tensor, f"__r{name}__", lambda self, other, fn=fn: fn(other, self))
    Tensor.__neg__ = neg
    Tensor.__getitem__ = getitem
    for name in ("lt", "le", "gt", "ge", "eq", "ne"):     # comparisons: no grad
        op = getattr(np, {"lt": "less", "le": "less_equal", "gt": "greater",
                          "ge": "greater_equal", "eq": "equal", "ne": "not_equal"}[name])
        setattr(Tensor, f"__{name}__",
                lambda self, other, op=op: Tensor(op(self.data, as_tensor(other).data)))
    Tensor.__hash__ = object.__hash__
    Tensor.sum, Tensor.mean, Tensor.max = sum_, mean, max_
    Tensor.reshape, Tensor.permute, Tensor.swapaxes = reshape, permute, swapaxes
    Tensor.transpose = lambda self, *axes: permute(self, *axes)
    Tensor.T = property(lambda self: permute(self))
    Tensor.exp, Tensor.log, Tensor.tanh, Tensor.sigmoid, Tensor.relu = (exp, log, tanh,
                                                                         sigmoid, relu)
    Tensor.abs = Tensor.__abs__ = abs_
    Tensor.flatten = lambda self: reshape(self, -1)


_attach()
