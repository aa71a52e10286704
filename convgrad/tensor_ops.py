"""Differentiable elementwise, reduction and shape ops, attached to Tensor as operators.

Each op: forward in NumPy, backward beside it written with these same ops (so it is itself
differentiable). Broadcasting follows NumPy; a gradient is summed back to its input's shape.

Dtypes follow torch's promotion (``result_dtype``) with float64 as the default floating type:
the operands of a binary op are cast to one dtype first, and the gradient of a cast is cast
back, so every ``.grad`` has its tensor's dtype. Every op that takes a dim checks it with
``normalize_dim``/``normalize_dims``: out of range is torch's IndexError, never a wrap-around.
"""

from __future__ import annotations

import numpy as np

from .autograd import Tensor, as_tensor, make
from .semantics import DEFAULT_FLOAT, normalize_dim, normalize_dims, result_dtype


def unbroadcast(g: Tensor, shape: tuple) -> Tensor:
    """Sum g over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape)
                                       if n == 1 and g.shape[i + extra] != 1)
    return sum_(g, axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def add(a, b) -> Tensor:
    a, b = _pair(a, b, "add")
    return make(a.data + b.data, (a, b),
                lambda g: (unbroadcast(g, a.shape), unbroadcast(g, b.shape)), "add")


def sub(a, b) -> Tensor:
    if any(isinstance(v, (bool, np.bool_)) or isinstance(v, (Tensor, np.ndarray))
           and v.dtype == bool for v in (a, b)):
        raise TypeError("sub: subtraction of bool tensors is not supported (use ^ for xor)")
    a, b = _pair(a, b, "sub")
    return make(a.data - b.data, (a, b),
                lambda g: (unbroadcast(g, a.shape), unbroadcast(-g, b.shape)), "sub")


def mul(a, b) -> Tensor:
    a, b = _pair(a, b, "mul")
    return make(a.data * b.data, (a, b),
                lambda g: (unbroadcast(g * b, a.shape) if a.requires_grad else None,
                           unbroadcast(g * a, b.shape) if b.requires_grad else None), "mul")


def div(a, b) -> Tensor:
    """True division; integer or bool operands give the default float dtype (torch's rule)."""
    a, b = _pair(a, b, "div")
    if a.dtype.kind != "f":
        a, b = astype(a, DEFAULT_FLOAT), astype(b, DEFAULT_FLOAT)
    return make(a.data / b.data, (a, b),
                lambda g: (unbroadcast(g / b, a.shape) if a.requires_grad else None,
                           unbroadcast(-g * a / (b * b), b.shape) if b.requires_grad else None),
                "div")


def neg(a) -> Tensor:
    if a.dtype == bool:
        raise TypeError("neg: negation of a bool tensor is not supported (use ~ to invert a "
                        "mask)")
    return make(-a.data, (a,), lambda g: (-g,), "neg")


def power(a, b) -> Tensor:
    if isinstance(b, (bool, np.bool_)) and isinstance(a, (Tensor, np.ndarray)) and (
            a.dtype == bool):    # torch's scalar shortcuts: x ** True is x, x ** False is ones
        return Tensor(np.array(a.data if isinstance(a, Tensor) else a, copy=True) if b
                      else np.ones(a.shape, dtype=bool))
    a, b = _pair(a, b, "pow")
    if a.dtype == bool:
        raise TypeError("pow: bool tensors have no power (torch refuses them too)")
    if a.dtype.kind in "iub" and (b.data < 0).any():
        raise ValueError(f"pow: integers to negative integer powers are not allowed (dtype "
                         f"{a.dtype}, exponent {b.data[b.data < 0].flat[0]})")
    out = make(_pow(a.data, b.data), (a, b), None, "pow")
    out._backward = lambda g: (
        unbroadcast(g * b * a ** (b - 1), a.shape) if a.requires_grad else None,
        unbroadcast(g * out * log(a), b.shape) if b.requires_grad else None)
    return out


def _pow(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """x ** e, with torch's shortcuts for a scalar exponent ±½ (sqrt, 1/sqrt): they decide ±inf
    and −0 (``(−inf) ** 0.5`` is NaN in torch, inf in C's pow)."""
    if e.ndim == 0 and x.dtype.kind == "f" and e in (0.5, -0.5):
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.sqrt(x)
            return root if e > 0 else np.divide(1, root, dtype=x.dtype)
    return x ** e


def exp(a) -> Tensor:
    a = floating(a)
    out = make(np.exp(a.data), (a,), None, "exp")
    out._backward = lambda g: (g * out,)
    return out


def expm1(a) -> Tensor:
    """``eˣ − 1``, exact for small x."""
    a = floating(a)
    out = make(np.expm1(a.data), (a,), None, "expm1")
    out._backward = lambda g: (g * (out + 1),)
    return out


def log(a) -> Tensor:
    a = floating(a)
    return make(np.log(a.data), (a,), lambda g: (g / a,), "log")


def log1p(a) -> Tensor:
    """``log(1 + x)``, exact for small x."""
    a = floating(a)
    return make(np.log1p(a.data), (a,), lambda g: (g / (a + 1),), "log1p")


def tanh(a) -> Tensor:
    a = floating(a)
    out = make(np.tanh(a.data), (a,), None, "tanh")
    out._backward = lambda g: (g * (1 - out * out),)
    return out


def sigmoid(a) -> Tensor:
    """``σ(x) = 1/(1 + e^−x)``, exact in both tails: ``(1 + tanh(x/2))/2`` (few passes, exact
    to round-off where σ ≥ 0.1), and ``eˣ/(1 + eˣ)`` for x < −2, where the tanh form would
    cancel (σ(−40) = 4.25e−18, not 0). ∂σ/∂x = σ(1 − σ)."""
    a = floating(a)
    x = a.data
    r = np.multiply(x, 0.5, out=np.empty_like(x))  # (out= keeps 0-d results arrays)
    np.tanh(r, out=r)
    r += 1
    r *= 0.5
    tail = x < -2
    if tail.any():
        e = np.exp(x[tail])
        r[tail] = e / (1 + e)
    out = make(r, (a,), None, "sigmoid")
    out._backward = lambda g: (g * out * (1 - out),)
    return out


def relu(a) -> Tensor:
    """``max(x, 0)`` (NaN stays NaN, −inf gives 0); ∂/∂x = 0 where x ≤ 0, else 1 (NaN passes
    the gradient on, as in torch's ``threshold_backward``)."""
    if a.dtype == bool:
        raise TypeError("relu: bool input is not supported (torch refuses it too)")
    out = np.maximum(a.data, 0, dtype=a.dtype)
    mask = Tensor((out != 0).astype(a.dtype))      # x > 0 or NaN
    return make(out, (a,), lambda g: (g * mask,), "relu")


def abs_(a) -> Tensor:
    if a.dtype == bool:
        raise TypeError("abs: bool input is not supported")
    # ∂|x|/∂x = sign(x): 0 at 0 and, as torch's sign, at NaN (comparisons are false there)
    sign = Tensor((a.data > 0).astype(a.dtype) - (a.data < 0).astype(a.dtype))
    return make(np.abs(a.data), (a,), lambda g: (g * sign,), "abs")


def astype(a, dtype) -> Tensor:
    """``a`` cast to ``dtype``; the gradient is cast back to a's dtype."""
    dtype = np.dtype(dtype)
    if a.dtype == dtype:
        return a
    return make(a.data.astype(dtype), (a,), lambda g: (astype(g, a.dtype),), "astype")


def floating(a) -> Tensor:
    """``a`` itself when floating, else cast to the default float dtype (torch's rule for
    exp, log, tanh, sigmoid of integer or bool tensors)."""
    return a if a.dtype.kind == "f" else astype(a, DEFAULT_FLOAT)


def where(condition, a, b) -> Tensor:
    """Elementwise ``a if condition else b`` (condition: bool array, no gradient)."""
    a, b = _pair(a, b, "where")
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
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    a, b = as_tensor(a, like), as_tensor(b, like)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: both operands need ≥ 2 dims here, got {a.shape} @ {b.shape}")
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: both operands must have one dtype (as in torch), got "
                        f"{a.dtype} @ {b.dtype}")
    return make(a.data @ b.data, (a, b),
                lambda g: (unbroadcast(g @ b.swapaxes(-1, -2), a.shape) if a.requires_grad
                           else None,
                           unbroadcast(a.swapaxes(-1, -2) @ g, b.shape) if b.requires_grad
                           else None), "matmul")


def sum_(a, axis=None, keepdims: bool = False) -> Tensor:
    axes = normalize_dims(axis, a.ndim, "sum")
    kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
    return make(a.data.sum(axis=axes, keepdims=keepdims), (a,),
                lambda g: (broadcast_to(g.reshape(kept), a.shape),), "sum")


def mean(a, axis=None, keepdims: bool = False) -> Tensor:
    """Σ/count over the axes (NaN for an empty set, as in torch); floating tensors only."""
    if a.dtype.kind != "f":
        raise TypeError(f"mean: input must be floating point, got dtype {a.dtype} (cast first)")
    axes = normalize_dims(axis, a.ndim, "mean")
    count = int(np.prod([a.shape[i] for i in axes]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return sum_(a, axes, keepdims) / float(count)


def max_(a, axis=None, keepdims: bool = False) -> Tensor:
    """Maximum; the gradient is shared equally among tied maxima (PyTorch's rule for amax)."""
    axes = normalize_dims(axis, a.ndim, "max")
    empty = [i for i in axes if a.shape[i] == 0]
    if empty or (a.size == 0 and not axes):
        raise ValueError(f"max: cannot reduce over an empty dim (input shape {a.shape}, dims "
                         f"{axes}): a maximum needs at least one element")
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
    if not axes:
        axes = tuple(range(a.ndim))[::-1]
    elif len(axes) != a.ndim:
        raise ValueError(f"permute: needs one dim per axis of the input ({a.ndim}), got "
                         f"{tuple(axes)}")
    else:
        axes = tuple(normalize_dim(i, a.ndim, "permute") for i in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"permute: duplicate dims are not allowed, got {axes}")
    inverse = tuple(np.argsort(axes))
    return make(a.data.transpose(axes), (a,), lambda g: (permute(g, inverse),), "permute")


def swapaxes(a, i: int, j: int) -> Tensor:
    axes = list(range(a.ndim))
    i, j = normalize_dim(i, a.ndim, "swapaxes"), normalize_dim(j, a.ndim, "swapaxes")
    if a.ndim == 0:
        return a
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


def _pair(a, b, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of their promoted dtype (``result_dtype``)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype:
        return a, b                                           # the common case: nothing to do
    try:
        dtype = result_dtype(a, b)
    except TypeError as e:
        raise TypeError(f"{op}: {e}") from None
    return _operand(a, dtype), _operand(b, dtype)


def _operand(v, dtype: np.dtype) -> Tensor:
    if isinstance(v, Tensor):
        return astype(v, dtype)
    return Tensor(np.asarray(v, dtype=dtype))


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
                lambda self, other, op=op, name=name: Tensor(op(*(t.data for t in _pair(
                    self, other, name)))))
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
