"""Comparisons, logical and bitwise ops, ``%`` and ``//``, and the arithmetic twins
(``add(…, alpha=)``, ``div(…, rounding_mode=)``, ``pow``, ``where`` …), with torch's dtypes.

Comparisons and logical ops give bool tensors (no gradient); bitwise ops take bool and integer
tensors only; ``//`` and ``%`` round toward −∞ as Python does (``fmod`` and
``rounding_mode='trunc'`` toward 0):

>>> import numpy as np
>>> a = Tensor(np.array([-7, 7]))
>>> (a // 2).tolist(), (a % 2).tolist(), fmod(a, 2).tolist(), (a > 0).tolist()
([-4, 3], [1, 1], [-1, 1], [False, True])
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, astype, make
from ..autograd.trace import traced
from ..semantics import result_dtype
from . import elementwise as ew
from .indexing import nonzero
from .pointwise import tensor_arg
from .reduction import unbroadcast

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
           "less_equal", "not_equal", "equal", "allclose", "isclose", "isnan", "isinf",
           "isfinite", "isposinf", "isneginf", "isreal", "logical_and", "logical_or",
           "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
           "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "remainder", "fmod",
           "floor_divide", "add", "sub", "subtract", "mul", "multiply", "div", "divide",
           "true_divide", "pow", "neg", "negative", "where", "softmax", "log_softmax", "exp",
           "expm1", "log", "log1p", "sigmoid", "tanh", "relu", "abs", "absolute"]

_NUMBER = (bool, int, float, np.number)


def _arrays(op: str, a, b) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    """Both operands' values as ndarrays of their promoted dtype (no graph)."""
    for v in (a, b):
        if not isinstance(v, (Tensor, np.ndarray) + _NUMBER):
            raise TypeError(f"{op}(): expected a Tensor or a number, got {type(v).__name__}")
    try:
        dtype = result_dtype(a, b)
    except TypeError as e:
        raise TypeError(f"{op}: {e}") from None
    return tuple(np.asarray(v.array if isinstance(v, Tensor) else v).astype(dtype, copy=False)
                 for v in (a, b)) + (dtype,)


# -- comparisons ---------------------------------------------------------------------------

def _comparison(op: str, ufunc):
    def compare(input, other) -> Tensor:
        x, y, _ = _arrays(op, tensor_arg(op, input), other)
        with np.errstate(invalid="ignore"):
            return Tensor.wrap(np.asarray(ufunc(x, y)))
    compare.__name__ = compare.__qualname__ = op
    compare.__doc__ = (f"Elementwise ``{op}`` after type promotion, a bool tensor: "
                       f"``eq([1, 2], 2.0)`` = [False, True].")
    return traced(op)(compare)


eq, ne = _comparison("eq", np.equal), _comparison("ne", np.not_equal)
lt, le = _comparison("lt", np.less), _comparison("le", np.less_equal)
gt, ge = _comparison("gt", np.greater), _comparison("ge", np.greater_equal)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input, other) -> bool:
    """True when both have the same shape and equal values (NaN ≠ NaN): a Python bool."""
    a, b = tensor_arg("equal", input), tensor_arg("equal", other, "other")
    if a.shape != b.shape:
        return False
    x, y, _ = _arrays("equal", a, b)
    return bool(np.array_equal(x, y))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``|a − b| ≤ atol + rtol·|b|`` elementwise (inf equals inf of its sign); both tensors must
    share a dtype (torch's rule). isclose([1., 2.], [1., 2.1]) = [True, False]."""
    a, b = tensor_arg("isclose", input), tensor_arg("isclose", other, "other")
    if a.dtype != b.dtype:
        raise RuntimeError(f"isclose: {a.dtype} did not match {b.dtype}")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol and atol must be non-negative, got rtol={rtol}, "
                           f"atol={atol}")
    x, y = a.array, b.array
    if x.dtype == bool:
        return Tensor.wrap(np.asarray(x == y))
    return Tensor.wrap(np.asarray(np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """``isclose(...).all()`` as a Python bool (the shapes must broadcast)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())


def _test(op: str, fn, default: bool):
    def test(input) -> Tensor:
        a = tensor_arg(op, input).array
        return Tensor.wrap(np.asarray(fn(a)) if a.dtype.kind == "f"
                           else np.full(a.shape, default))
    test.__name__ = test.__qualname__ = op
    test.__doc__ = f"Elementwise ``{op}`` (a bool tensor; integers: all {default})."
    return traced(op)(test)


isnan, isinf = _test("isnan", np.isnan, False), _test("isinf", np.isinf, False)
isfinite = _test("isfinite", np.isfinite, True)
isposinf, isneginf = _test("isposinf", np.isposinf, False), _test("isneginf", np.isneginf, False)
isreal = _test("isreal", np.isreal, True)


# -- logical and bitwise -------------------------------------------------------------------

def _logical(op: str, ufunc):
    def logical(input, other) -> Tensor:
        a, b = tensor_arg(op, input), tensor_arg(op, other, "other")
        return Tensor.wrap(np.asarray(ufunc(a.array.astype(bool), b.array.astype(bool))))
    logical.__name__ = logical.__qualname__ = op
    logical.__doc__ = f"Elementwise ``{op}`` of the truth values (non-zero is True), a bool tensor."
    return traced(op)(logical)


logical_and, logical_or = _logical("logical_and", np.logical_and), _logical("logical_or",
                                                                               np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)


@traced("logical_not")
def logical_not(input) -> Tensor:
    """Elementwise ``not x`` (non-zero is True), a bool tensor."""
    return Tensor.wrap(np.logical_not(tensor_arg("logical_not", input).array))


def _integral(op: str, dtype: np.dtype) -> None:
    if dtype.kind not in "biu":
        raise NotImplementedError(f"{op}: not implemented for dtype {dtype} (bitwise ops take "
                                  f"bool and integer tensors only)")


def _bitwise(op: str, ufunc):
    def bitwise(input, other) -> Tensor:
        x, y, dtype = _arrays(op, input, other)
        _integral(op, dtype)
        return Tensor.wrap(np.asarray(ufunc(x, y)).astype(dtype, copy=False))
    bitwise = traced(op)(bitwise)
    bitwise.__name__ = bitwise.__qualname__ = op
    bitwise.__doc__ = f"Elementwise ``{op}`` of bool/integer tensors: and(6, 3) = 2."
    return bitwise


bitwise_and, bitwise_or = _bitwise("bitwise_and", np.bitwise_and), _bitwise("bitwise_or",
                                                                             np.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", np.bitwise_xor)


def _shift(op: str, ufunc):
    def shift(input, other) -> Tensor:
        x, y, dtype = _arrays(op, input, other)
        _integral(op, dtype)
        if dtype.kind == "b":                   # bool << 1 computes in int64, as torch
            x, y, dtype = x.astype(np.int64), y.astype(np.int64), np.dtype(np.int64)
        return Tensor.wrap(np.asarray(ufunc(x, y)).astype(dtype, copy=False))
    shift.__name__ = shift.__qualname__ = op
    shift.__doc__ = f"``{op}``: x shifted by y bits (x·2^y or ⌊x/2^y⌋)."
    return shift


bitwise_left_shift = _shift("bitwise_left_shift", np.left_shift)
bitwise_right_shift = _shift("bitwise_right_shift", np.right_shift)


@traced("bitwise_not")
def bitwise_not(input) -> Tensor:
    """``~x``: logical not of a bool tensor, ``−x − 1`` of an integer one."""
    a = tensor_arg("bitwise_not", input)
    if a.dtype.kind not in "biu":
        raise TypeError(f"~ (operator.invert) is only implemented on integer and Boolean-type "
                        f"tensors, got dtype {a.dtype}")
    return Tensor.wrap(np.invert(a.array))


# -- % and // ------------------------------------------------------------------------------

def _divisor_check(op: str, y: np.ndarray, dtype: np.dtype) -> None:
    if dtype.kind == "b":
        raise NotImplementedError(f"{op}: not implemented for dtype bool")
    if dtype.kind in "iu" and (y == 0).any():
        raise RuntimeError(f"{op}: ZeroDivisionError (integer division by zero)")


def _as_tensor(v, dtype) -> Tensor:
    return ew._operand(v, dtype)


def _modulo(op: str, input, other, ufunc, rounding: str) -> Tensor:
    x, y, dtype = _arrays(op, input, other)
    _divisor_check(op, y, dtype)
    with np.errstate(all="ignore"):
        data = np.asarray(ufunc(x, y)).astype(dtype, copy=False)
    if dtype.kind != "f":
        return Tensor.wrap(data)
    a, b = _as_tensor(input, dtype), _as_tensor(other, dtype)
    scalar_dividend = not isinstance(input, Tensor)

    def backward(g):
        if scalar_dividend and b.requires_grad:
            raise RuntimeError(f"derivative for {op} with a scalar dividend is not "
                               f"implemented (as in torch)")
        gb = None
        if b.requires_grad:
            q = div(a, b, rounding_mode=rounding).detach()
            gb = unbroadcast(-(g * q), b.shape)
        return unbroadcast(g, a.shape), gb
    return make(data, (a, b), backward, op)


@traced("remainder")
def remainder(input, other) -> Tensor:
    """``a − b·⌊a/b⌋``: the sign of the divisor, as Python's ``%``: remainder(-7, 2) = 1.
    ∂/∂a = 1, ∂/∂b = −⌊a/b⌋."""
    return _modulo("remainder", input, other, np.remainder, "floor")


@traced("fmod")
def fmod(input, other) -> Tensor:
    """``a − b·trunc(a/b)``: the sign of the dividend, as C's fmod: fmod(-7, 2) = -1.
    ∂/∂a = 1, ∂/∂b = −trunc(a/b)."""
    return _modulo("fmod", tensor_arg("fmod", input), other, np.fmod, "trunc")


def _no_derivative(op: str):
    def backward(g):
        raise RuntimeError(f"derivative for {op} is not implemented (as in torch; use "
                           f"div(a, b, rounding_mode='floor'), whose gradient is zero)")
    return backward


@traced("floor_divide")
def floor_divide(input, other) -> Tensor:
    """``⌊a/b⌋`` as Python's ``//``: floor_divide(-7, 2) = -4; its own dtype by promotion."""
    x, y, dtype = _arrays("floor_divide", input, other)
    _divisor_check("floor_divide", y, dtype)
    with np.errstate(all="ignore"):
        data = np.asarray(np.floor_divide(x, y)).astype(dtype, copy=False)
    if dtype.kind != "f":
        return Tensor.wrap(data)
    parents = tuple(v for v in (input, other) if isinstance(v, Tensor))
    return make(data, parents, _no_derivative("floor_divide"), "floor_divide")


# -- arithmetic twins ----------------------------------------------------------------------

def _alpha(op: str, a, b, alpha):
    if alpha is None or (not isinstance(alpha, bool) and alpha == 1):
        return b
    dtype = result_dtype(a, b)
    if dtype.kind in "biu" and isinstance(alpha, (float, np.floating)):
        raise RuntimeError(f"{op}: For integral input tensors, argument alpha must not be a "
                           f"floating point number (got {alpha}).")
    return ew.mul(_as_tensor(b, dtype), alpha)


def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha·other``: add([1., 2.], 3., alpha=2) = [7., 8.]."""
    return ew.add(input, _alpha("add", input, other, alpha))


def sub(input, other, *, alpha=1) -> Tensor:
    """``input − alpha·other`` (bool operands refused, as in torch)."""
    return ew.sub(input, _alpha("sub", input, other, alpha))


def mul(input, other) -> Tensor:
    """``input · other`` after type promotion."""
    return ew.mul(input, other)


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division (``rounding_mode=None``, integers give the default float), or rounded
    toward −∞ (``'floor'``) or toward 0 (``'trunc'``) keeping an integer dtype; the rounded
    forms have a zero gradient. div(-7, 2, rounding_mode='trunc') = -3."""
    if rounding_mode is None:
        return ew.div(input, other)
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    x, y, dtype = _arrays("div", input, other)
    _divisor_check("div", y, dtype)
    with np.errstate(all="ignore"):
        if dtype.kind == "f":
            data = np.floor_divide(x, y) if rounding_mode == "floor" else np.trunc(x / y)
        else:
            data = np.floor_divide(x, y)
            if rounding_mode == "trunc":
                data = data + ((data < 0) & (np.remainder(x, y) != 0))
    data = np.asarray(data).astype(dtype, copy=False)
    if dtype.kind != "f":
        return Tensor.wrap(data)
    a, b = _as_tensor(input, dtype), _as_tensor(other, dtype)
    return make(data, (a, b), lambda g: (unbroadcast(g * 0, a.shape),
                                         unbroadcast(g * 0, b.shape)), "div")


def pow(input, exponent) -> Tensor:  # noqa: A001  (torch's name)
    """``input ** exponent`` (either may be a number; integers to negative integer powers are
    refused, as in torch): pow(2, tensor([1, 3])) = [2, 8]."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("pow(): one of input and exponent must be a Tensor")
    return ew.power(input, exponent)


def neg(input) -> Tensor:
    """``−x`` (bool refused, as in torch)."""
    return ew.neg(tensor_arg("neg", input))


subtract, multiply, divide, true_divide, negative = sub, mul, div, ew.div, neg


def where(condition, input=None, other=None):
    """``input`` where the bool ``condition`` holds, ``other`` elsewhere (either may be a
    number; all three broadcast); ``where(condition)`` alone is ``nonzero(as_tuple=True)``.
    where(tensor([True, False]), 1., 0.) = [1., 0.]."""
    c = tensor_arg("where", condition, "condition")
    if input is None and other is None:
        return nonzero(c, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where(): expected both input and other (or neither)")
    if c.dtype != bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {c.dtype}")
    return ew.where(c, input, other)

def softmax(input, dim: int, dtype=None) -> Tensor:
    """``exp(x)/Σ exp(x)`` along dim (``convgrad.functional.softmax``)."""
    from ..functional.activations import softmax as fn  # noqa: PLC0415  (functional imports us)
    a = tensor_arg("softmax", input)
    return fn(a if dtype is None else astype(a, dtype), dim)


def log_softmax(input, dim: int, dtype=None) -> Tensor:
    """``x − logsumexp(x)`` along dim (``convgrad.functional.log_softmax``)."""
    from ..functional.activations import log_softmax as fn  # noqa: PLC0415
    a = tensor_arg("log_softmax", input)
    return fn(a if dtype is None else astype(a, dtype), dim)


def _checked(op: str, fn):
    def twin(input, *args, **kwargs):
        return fn(tensor_arg(op, input), *args, **kwargs)
    twin.__name__ = twin.__qualname__ = op
    twin.__doc__ = fn.__doc__
    return twin


exp, expm1, log, log1p = (_checked(n, getattr(ew, n)) for n in ("exp", "expm1", "log", "log1p"))
sigmoid, tanh, relu = (_checked(n, getattr(ew, n)) for n in ("sigmoid", "tanh", "relu"))
absolute = abs_ = _checked("abs", ew.abs_)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
                 "less_equal", "not_equal", "equal", "allclose", "isclose", "isnan", "isinf",
                 "isfinite", "isposinf", "isneginf", "isreal", "logical_and", "logical_or",
                 "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
                 "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "remainder",
                 "fmod", "floor_divide", "add", "sub", "subtract", "mul", "multiply", "div",
                 "divide", "true_divide", "pow", "neg", "negative", "softmax", "log_softmax",
                 "expm1", "log1p", "absolute"):
        setattr(Tensor, name, globals()[name])
    Tensor.where = lambda self, condition, other: where(condition, self, other)
    for dunder, fn in (("and", bitwise_and), ("or", bitwise_or), ("xor", bitwise_xor),
                       ("lshift", bitwise_left_shift), ("rshift", bitwise_right_shift),
                       ("mod", remainder), ("floordiv", floor_divide)):
        setattr(Tensor, f"__{dunder}__", lambda self, other, fn=fn: fn(self, other))
        setattr(Tensor, f"__r{dunder}__", lambda self, other, fn=fn: fn(other, self))
    Tensor.__invert__ = bitwise_not
    for dunder, fn in (("eq", eq), ("ne", ne)):   # torch: ``t == None`` is False
        setattr(Tensor, f"__{dunder}__", lambda self, other, fn=fn, d=dunder: (
            d == "ne" if other is None else fn(self, other)))
    Tensor.__hash__ = object.__hash__


# the top-level twin that shadows a builtin (bound last: nothing above calls the builtin)
abs = abs_  # noqa: A001
