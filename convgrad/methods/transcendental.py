"""Special functions (lgamma, digamma, polygamma, erfc, erfinv, i0 …), inverse hyperbolics and
the small binary ops (xlogy, logaddexp, copysign, float_power …), with torch's values, dtypes
and gradients; plus the in-place twins torch has for them and for a few aliases.

The kernels live in ``special_kernels.py``.

>>> import numpy as np
>>> x = Tensor(np.array([1.0, 2.0, 5.0]))
>>> [round(v, 6) for v in lgamma(x).tolist()], round(digamma(x).tolist()[0], 6)
([0.0, 0.0, 3.178054], -0.577216)
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor, make
from ..semantics import result_dtype
from . import elementwise as ew
from . import logic, pointwise
from .inplace_ops import _twin
from .pointwise import _unary, tensor_arg
from .reduction import unbroadcast
from .special_kernels import (
    _PI,
    _bessel,
    _digamma_array,
    _erfc_array,
    _erfinv_array,
    _lgamma_array,
    _polygamma_array,
)

__all__ = ["acosh", "arccosh", "asinh", "arcsinh", "atanh", "arctanh", "lgamma", "digamma",
           "polygamma", "erfc", "erfinv", "logit", "xlogy", "logaddexp", "logaddexp2", "sinc",
           "deg2rad", "rad2deg", "heaviside", "copysign", "float_power", "i0", "signbit",
           "clamp_min", "clamp_max", "positive"]

# -- the ops -----------------------------------------------------------------------------------

def _from64(kernel):
    def fn(x: np.ndarray) -> np.ndarray:
        flat = np.atleast_1d(x.astype(np.float64))      # (kernels index with masks)
        return kernel(flat).reshape(x.shape).astype(x.dtype)
    return fn


acosh = _unary("acosh", np.arccosh, lambda g, a, out: g * pointwise.rsqrt(a * a - 1))
asinh = _unary("asinh", np.arcsinh, lambda g, a, out: g * pointwise.rsqrt(a * a + 1))
atanh = _unary("atanh", np.arctanh, lambda g, a, out: g / (1 - a * a))
arccosh, arcsinh, arctanh = acosh, asinh, atanh
lgamma = _unary("lgamma", _from64(_lgamma_array), lambda g, a, out: g * digamma(a))
lgamma.__doc__ = "``log|Γ(x)|``; ∂/∂x = ψ(x). lgamma(5.) = log 24 ≈ 3.178."
digamma = _unary("digamma", _from64(_digamma_array), lambda g, a, out: g * polygamma(1, a))
digamma.__doc__ = "``ψ(x) = d/dx log Γ(x)``; ∂/∂x = ψ′(x). digamma(1.) = −γ ≈ −0.5772."
erfc = _unary("erfc", _from64(_erfc_array),
              lambda g, a, out: g * ew.exp(-(a * a)) * (-2 / math.sqrt(_PI)))
erfc.__doc__ = "``erfc(x) = 1 − erf(x)``, exact in the tail; erfc(10.) ≈ 2.088e−45."
erfinv = _unary("erfinv", _from64(_erfinv_array),
                lambda g, a, out: g * ew.exp(out * out) * (math.sqrt(_PI) / 2), uses_out=True)
erfinv.__doc__ = "``erf⁻¹(y)``, |y| ≤ 1; ∂/∂y = √π/2·e^{erfinv(y)²}. erfinv(0.5) ≈ 0.4769."
i0 = _unary("i0", _from64(lambda x: _bessel(x, 0)), lambda g, a, out: g * i1(a))
i0.__doc__ = "Modified Bessel function I₀(x) = Σ (x/2)^{2k}/(k!)²; ∂/∂x = I₁(x). i0(1.) ≈ 1.266."


def _i1_grad(g: Tensor, a: Tensor, out: Tensor) -> Tensor:
    zero = a.array == 0
    return g * ew.where(zero, 0.5, i0(a) - out / ew.where(zero, 1.0, a))


i1 = _unary("i1", _from64(lambda x: _bessel(x, 1)), _i1_grad, uses_out=True)
i1.__doc__ = "Modified Bessel function I₁(x); ∂/∂x = I₀(x) − I₁(x)/x (½ at 0). i1(1.) ≈ 0.5652."
sinc = _unary("sinc", lambda x: np.where(x == 0, 1.0, np.sin(_PI * x) / (_PI * x)),
              lambda g, a, out: g * ew.where(
                  a.array == 0, 0.0, (pointwise.cos(a * _PI) * (a * _PI) -
                                      pointwise.sin(a * _PI)) / (a * a * _PI)))
sinc.__doc__ = "``sin(πx)/(πx)``, 1 at 0. sinc(0.5) = 2/π ≈ 0.6366."
deg2rad = _unary("deg2rad", lambda x: x * (_PI / 180), lambda g, a, out: g * (_PI / 180))
rad2deg = _unary("rad2deg", lambda x: x * (180 / _PI), lambda g, a, out: g * (180 / _PI))


def polygamma(n: int, input) -> Tensor:
    """``ψ⁽ⁿ⁾(x)``, the n-th derivative of digamma (n = 0 is digamma); ∂/∂x = ψ⁽ⁿ⁺¹⁾(x).
    polygamma(1, 1.) = π²/6 ≈ 1.645."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n = {n})")
    a = ew.floating(tensor_arg("polygamma", input))
    data = _polygamma_array(int(n), np.atleast_1d(a.array)).reshape(a.shape).astype(a.dtype)
    return make(data, (a,), lambda g: (g * polygamma(n + 1, a),), "polygamma")


def logit(input, eps: float | None = None) -> Tensor:
    """``log(p/(1 − p))``, p first clamped to [eps, 1 − eps] when eps is given (then the
    gradient is 0 outside that range). logit(0.5) = 0."""
    a = ew.floating(tensor_arg("logit", input))
    x = a.array if eps is None else np.clip(a.array, eps, 1 - eps)
    with np.errstate(all="ignore"):
        data = np.log(x / (1 - x)).astype(a.dtype)
    inside = None if eps is None else Tensor.wrap(
        ((a.array >= eps) & (a.array <= 1 - eps)).astype(a.dtype))
    return make(data, (a,), lambda g: (
        g / (a * (1 - a)) if inside is None else g * inside / (a * (1 - a)),), "logit")


def _binary_float(op: str, input, other) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of their promoted dtype, made floating."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{op}(): at least one argument must be a Tensor")
    dtype = result_dtype(input, other)
    if dtype.kind != "f":
        dtype = np.dtype(ew.get_default_dtype())
    return ew._operand(input, dtype), ew._operand(other, dtype)


def xlogy(input, other) -> Tensor:
    """``x·log(y)``, 0 where x = 0 (unless y is NaN); ∂/∂x = log y (torch's, even at x = 0),
    ∂/∂y = x/y. xlogy(0., 0.) = 0."""
    x, y = _binary_float("xlogy", input, other)
    with np.errstate(all="ignore"):
        data = np.where((x.array == 0) & ~np.isnan(y.array), 0, x.array * np.log(y.array))
    return make(data.astype(x.dtype), (x, y), lambda g: (
        unbroadcast(g * ew.log(y), x.shape) if x.requires_grad else None,
        unbroadcast(g * x / y, y.shape) if y.requires_grad else None), "xlogy")


def xlog1py(input, other) -> Tensor:
    """``x·log(1 + y)``, 0 where x = 0 (unless y is NaN). xlog1py(2., 0.) = 0."""
    x, y = _binary_float("xlog1py", input, other)
    with np.errstate(all="ignore"):
        data = np.where((x.array == 0) & ~np.isnan(y.array), 0, x.array * np.log1p(y.array))
    return make(data.astype(x.dtype), (x, y), lambda g: (
        unbroadcast(g * ew.log1p(y), x.shape) if x.requires_grad else None,
        unbroadcast(g * x / (y + 1), y.shape) if y.requires_grad else None), "xlog1py")


def _logaddexp(op: str, input, other, base2: bool) -> Tensor:
    a, b = ew._pair(tensor_arg(op, input), tensor_arg(op, other, "other"), op)
    if a.dtype.kind != "f":
        raise NotImplementedError(f"\"{op}_cpu\" not implemented for '{a.dtype}' (float only)")
    x, y = a.array, b.array
    with np.errstate(all="ignore"):
        m = np.maximum(x, y)
        d = -np.abs(x - y)
        rest = np.log1p(np.exp2(d)) / math.log(2) if base2 else np.log1p(np.exp(d))
        data = np.where(np.isinf(x) & (x == y), x, m + rest)
    power = (lambda t: pointwise.exp2(t)) if base2 else ew.exp
    return make(data.astype(a.dtype), (a, b), lambda g: (
        unbroadcast(g / (power(b - a) + 1), a.shape) if a.requires_grad else None,
        unbroadcast(g / (power(a - b) + 1), b.shape) if b.requires_grad else None), op)


def logaddexp(input, other) -> Tensor:
    """``log(eˣ + eʸ)`` without overflow. logaddexp(0., 0.) = log 2."""
    return _logaddexp("logaddexp", input, other, False)


def logaddexp2(input, other) -> Tensor:
    """``log₂(2ˣ + 2ʸ)`` without overflow. logaddexp2(0., 0.) = 1."""
    return _logaddexp("logaddexp2", input, other, True)


def heaviside(input, values) -> Tensor:
    """0 where x < 0, ``values`` where x = 0, 1 where x > 0 (same dtypes; no derivative)."""
    a, v = tensor_arg("heaviside", input), tensor_arg("heaviside", values, "values")
    if a.dtype != v.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    data = np.where(a.array == 0, v.array, (a.array > 0).astype(a.dtype)).astype(a.dtype)

    def backward(g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")
    return make(data, (a, v), backward, "heaviside")


def copysign(input, other) -> Tensor:
    """|x| with the sign of y (−0 counts as negative); float result. copysign(2, -0.) = −2."""
    x, y = _binary_float("copysign", tensor_arg("copysign", input), other)
    data = np.copysign(x.array, y.array)
    with np.errstate(all="ignore"):
        ratio = Tensor.wrap(np.where(x.array == 0, 0, data / x.array).astype(x.dtype))
    return make(data, (x, y), lambda g: (unbroadcast(g * ratio, x.shape),
                                         unbroadcast(g * 0, y.shape)), "copysign")


def float_power(input, exponent) -> Tensor:
    """``xʸ`` computed in float64 (always a float64 result). float_power(2, 3) = 8.0."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): at least one argument must be a Tensor")
    f64 = np.dtype(np.float64)
    return ew.power(ew._operand(input, f64), ew._operand(exponent, f64))


def signbit(input) -> Tensor:
    """True where the sign bit is set (−0. and negatives), a bool tensor."""
    a = tensor_arg("signbit", input)
    return Tensor.wrap(np.signbit(a.array) if a.dtype.kind == "f" else a.array < 0)


def clamp_min(input, min) -> Tensor:  # noqa: A002  (torch's name)
    """``max(x, min)`` (``clamp(x, min=min)``)."""
    return pointwise.clamp(input, min=min)


def clamp_max(input, max) -> Tensor:  # noqa: A002
    """``min(x, max)`` (``clamp(x, max=max)``)."""
    return pointwise.clamp(input, max=max)


def positive(input) -> Tensor:
    """``+x``: x itself (bool refused, as torch)."""
    a = tensor_arg("positive", input)
    if a.dtype == bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return a


def _float_power_(self, exponent) -> Tensor:
    if self.dtype != np.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype} but the "
                           f"operation's result requires dtype Double")
    return _twin("float_power", float_power)(self, exponent)


def _comparison_twin(name: str, fn):
    def compare(old: Tensor, other) -> Tensor:
        data = fn(old, other).array.astype(old.dtype)
        return make(data, (old,), lambda g: (g * 0,), f"{name}_")
    return _twin(name, compare, reads_self=False)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in __all__:
        setattr(Tensor, name, globals()[name])
    Tensor.polygamma = lambda self, n: polygamma(n, self)
    Tensor.i1, Tensor.xlog1py = i1, xlog1py
    Tensor.__pos__ = positive
    for name in ("acosh", "arccosh", "asinh", "arcsinh", "atanh", "arctanh", "lgamma",
                 "digamma", "erfc", "erfinv", "i0", "sinc", "deg2rad", "rad2deg", "logit",
                 "xlogy", "heaviside", "copysign", "clamp_min", "clamp_max"):
        setattr(Tensor, f"{name}_", _twin(name, globals()[name]))
    Tensor.polygamma_ = _twin("polygamma", lambda self, n: polygamma(n, self))
    Tensor.float_power_ = _float_power_
    Tensor.absolute_, Tensor.arccos_, Tensor.arcsin_ = Tensor.abs_, Tensor.acos_, Tensor.asin_
    Tensor.arctan_ = Tensor.atan_
    Tensor.arctan2_ = _twin("arctan2", pointwise.atan2)
    Tensor.multiply_, Tensor.subtract_ = Tensor.mul_, _twin("subtract", logic.sub)
    Tensor.divide_ = _twin("divide", logic.div)
    Tensor.true_divide_ = _twin("true_divide", logic.div)
    for name in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
                 "less_equal", "not_equal"):
        setattr(Tensor, f"{name}_", _comparison_twin(name, getattr(logic, name)))
