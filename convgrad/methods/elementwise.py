"""Elementwise ops and operators (``+ - * / **``, comparisons), torch's type promotion.

Each op: forward in NumPy, backward beside it written with these same ops (so it is itself
differentiable). Broadcasting follows NumPy (= torch); a gradient is summed back to its input's
shape (``unbroadcast``). The operands of a binary op are cast to one dtype first
(``result_dtype``: Python floats take the default dtype), and the gradient of a cast is cast
back, so every ``.grad`` has its tensor's dtype.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, astype, make
from ..autograd.trace import traced
from ..semantics import get_default_dtype, result_dtype
from .reduction import unbroadcast

__all__: list[str] = []     # the top-level twins (convgrad.exp …)


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


def add(a, b) -> Tensor:
    a, b = _pair(a, b, "add")
    return make(a.array + b.array, (a, b),
                lambda g: (unbroadcast(g, a.shape), unbroadcast(g, b.shape)), "add")


def sub(a, b, *, op: str = "sub") -> Tensor:
    if any(isinstance(v, (bool, np.bool_)) or isinstance(v, (Tensor, np.ndarray))
           and v.dtype == bool for v in (a, b)):
        raise RuntimeError(f"{op}: Subtraction, the `-` operator, with a bool tensor is not "
                           f"supported. If you are trying to invert a mask, use the `~` or "
                           f"`logical_not()` operator instead.")
    a, b = _pair(a, b, "sub")
    return make(a.array - b.array, (a, b),
                lambda g: (unbroadcast(g, a.shape), unbroadcast(-g, b.shape)), op)


def mul(a, b) -> Tensor:
    a, b = _pair(a, b, "mul")
    return make(a.array * b.array, (a, b),
                lambda g: (unbroadcast(g * b, a.shape) if a.requires_grad else None,
                           unbroadcast(g * a, b.shape) if b.requires_grad else None), "mul")


def div(a, b) -> Tensor:
    """True division; integer or bool operands give the default float dtype (torch's rule)."""
    a, b = _pair(a, b, "div")
    if a.dtype.kind != "f":
        a, b = astype(a, get_default_dtype()), astype(b, get_default_dtype())
    return make(a.array / b.array, (a, b),
                lambda g: (unbroadcast(g / b, a.shape) if a.requires_grad else None,
                           unbroadcast(-g * a / (b * b), b.shape) if b.requires_grad else None),
                "div")


def neg(a) -> Tensor:
    if a.dtype == bool:
        raise RuntimeError("neg: Negation, the `-` operator, on a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")
    return make(-a.array, (a,), lambda g: (-g,), "neg")


def power(a, b) -> Tensor:
    if isinstance(b, (bool, np.bool_)) and isinstance(a, (Tensor, np.ndarray)) and (
            a.dtype == bool):    # torch's scalar shortcuts: x ** True is x, x ** False is ones
        return Tensor(np.array(a.array if isinstance(a, Tensor) else a, copy=True) if b
                      else np.ones(a.shape, dtype=bool))
    a, b = _pair(a, b, "pow")
    if a.dtype == bool:
        raise TypeError("pow: bool tensors have no power (torch refuses them too)")
    if a.dtype.kind in "iub" and (b.array < 0).any():
        raise RuntimeError(f"pow: Integers to negative integer powers are not allowed (dtype "
                           f"{a.dtype}, exponent {b.array[b.array < 0].flat[0]})")
    out = make(_pow(a.array, b.array), (a, b), None, "pow", saves_output=True)
    if out._requires_grad:
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
    out = make(np.exp(a.array), (a,), None, "exp", saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: (g * out,)
    return out


def expm1(a) -> Tensor:
    """``eˣ − 1``, exact for small x."""
    a = floating(a)
    out = make(np.expm1(a.array), (a,), None, "expm1", saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: (g * (out + 1),)
    return out


def log(a) -> Tensor:
    a = floating(a)
    return make(np.log(a.array), (a,), lambda g: (g / a,), "log")


def log1p(a) -> Tensor:
    """``log(1 + x)``, exact for small x."""
    a = floating(a)
    return make(np.log1p(a.array), (a,), lambda g: (g / (a + 1),), "log1p")


def tanh(a) -> Tensor:
    a = floating(a)
    out = make(np.tanh(a.array), (a,), None, "tanh", saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: (g * (1 - out * out),)
    return out


def sigmoid(a) -> Tensor:
    """``σ(x) = 1/(1 + e^−x)``, exact in both tails: ``(1 + tanh(x/2))/2`` (few passes, exact
    to round-off where σ ≥ 0.1), and ``eˣ/(1 + eˣ)`` for x < −2, where the tanh form would
    cancel (σ(−40) = 4.25e−18, not 0). ∂σ/∂x = σ(1 − σ)."""
    a = floating(a)
    x = a.array
    r = np.multiply(x, 0.5, out=np.empty_like(x))  # (out= keeps 0-d results arrays)
    np.tanh(r, out=r)
    r += 1
    r *= 0.5
    tail = x < -2
    if tail.any():
        e = np.exp(x[tail])
        r[tail] = e / (1 + e)
    out = make(r, (a,), None, "sigmoid", saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: (g * out * (1 - out),)
    return out


def relu(a) -> Tensor:
    """``max(x, 0)`` (NaN stays NaN, −inf gives 0); ∂/∂x = 0 where x ≤ 0, else 1 (NaN passes
    the gradient on, as in torch's ``threshold_backward``)."""
    if a.dtype == bool:
        raise TypeError("relu: bool input is not supported (torch refuses it too)")
    out = np.maximum(a.array, 0, dtype=a.dtype)
    mask = Tensor((out != 0).astype(a.dtype))      # x > 0 or NaN
    return make(out, (a,), lambda g: (g * mask,), "relu")


def abs_(a) -> Tensor:
    if a.dtype == bool:
        raise TypeError("abs: bool input is not supported")
    # ∂|x|/∂x = sign(x): 0 at 0 and, as torch's sign, at NaN (comparisons are false there)
    sign = Tensor((a.array > 0).astype(a.dtype) - (a.array < 0).astype(a.dtype))
    return make(np.abs(a.array), (a,), lambda g: (g * sign,), "abs")


def floating(a) -> Tensor:
    """``a`` itself when floating, else cast to the default float dtype (torch's rule for
    exp, log, tanh, sigmoid of integer or bool tensors)."""
    return a if a.dtype.kind == "f" else astype(a, get_default_dtype())


@traced("where")
def where(condition, a, b) -> Tensor:
    """Elementwise ``a if condition else b`` (condition: bool array, no gradient)."""
    a, b = _pair(a, b, "where")
    cond = np.asarray(condition.array if isinstance(condition, Tensor) else condition, dtype=bool)
    pick = Tensor(cond.astype(a.dtype))
    return make(np.where(cond, a.array, b.array), (a, b),
                lambda g: (unbroadcast(g * pick, a.shape) if a.requires_grad else None,
                           unbroadcast(g * (1 - pick), b.shape) if b.requires_grad else None),
                "where")


def _comparison(name: str):
    ufunc = getattr(np, {"lt": "less", "le": "less_equal", "gt": "greater",
                         "ge": "greater_equal", "eq": "equal", "ne": "not_equal"}[name])

    def compare(input, other) -> Tensor:
        return Tensor.wrap(ufunc(*(t.array for t in _pair(input, other, name))))
    compare.__name__ = f"__{name}__"
    return traced(name)(compare)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    binary = {"add": add, "sub": sub, "mul": mul, "truediv": div, "pow": power}
    for name, fn in binary.items():
        setattr(Tensor, f"__{name}__", lambda self, other, fn=fn: fn(self, other))
        setattr(Tensor, f"__r{name}__", lambda self, other, fn=fn: fn(other, self))
    Tensor.__rsub__ = lambda self, other: sub(other, self, op="rsub")
    Tensor.__neg__ = neg
    for name in ("lt", "le", "gt", "ge", "eq", "ne"):     # comparisons: no grad
        setattr(Tensor, f"__{name}__", _comparison(name))
    Tensor.__hash__ = object.__hash__
    Tensor.exp, Tensor.log, Tensor.tanh, Tensor.sigmoid, Tensor.relu = (exp, log, tanh,
                                                                         sigmoid, relu)
    Tensor.abs = Tensor.__abs__ = abs_
    Tensor.expm1, Tensor.log1p = expm1, log1p
