"""Pointwise math (sqrt, sin, clamp, round, maximum, lerp …) with torch's dtypes and gradients.

Integer and bool inputs of the transcendental ops give the default float dtype (torch's rule:
``sqrt(int tensor)`` is float32); rounding ops keep an integer input as it is. Each backward is
written with Tensor ops, so second derivatives work:

>>> import numpy as np
>>> x = Tensor(np.array([4.0]), requires_grad=True)
>>> y = sqrt(x); y.backward(); y.item(), x.grad.item()      # d√x/dx = 1/(2√x)
(2.0, 0.25)
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor, astype, make
from ..autograd.trace import traced
from ..semantics import result_dtype
from . import elementwise as ew
from .reduction import unbroadcast
from .special_kernels import _erf_array

__all__ = ["sqrt", "rsqrt", "square", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
           "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "exp2", "log2", "log10",
           "erf", "clamp", "clip", "sign", "sgn", "floor", "ceil", "round", "trunc", "fix",
           "frac", "reciprocal", "maximum", "minimum", "fmax", "fmin", "lerp", "addcmul",
           "addcdiv", "masked_fill", "nan_to_num", "hypot"]


def tensor_arg(op: str, x, name: str = "input") -> Tensor:
    """x itself when it is a Tensor, else torch's TypeError naming the argument."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def _not_for(op: str, a: Tensor, kinds: str) -> None:
    """torch's NotImplementedError for a dtype the op has no kernel for (e.g. floor of bool)."""
    if a.dtype.kind in kinds:
        raise NotImplementedError(f"{op}: not implemented for dtype {a.dtype} (torch has no "
                                  f"kernel for it either)")


def _unary(op: str, fn, grad, *, uses_out: bool = False):
    """An op on floats (int/bool inputs cast to the default float); ``grad(g, a, out)``."""
    def forward(input) -> Tensor:
        a = ew.floating(tensor_arg(op, input))
        with np.errstate(all="ignore"):
            data = np.asarray(fn(a.array), dtype=a.dtype)
        out = make(data, (a,), None, op, saves_output=uses_out)
        if out.requires_grad:
            out._backward = lambda g: (grad(g, a, out),)
        return out
    forward.__name__ = forward.__qualname__ = op
    forward.__doc__ = f"Elementwise ``{op}(x)`` (torch.{op}); int/bool input → default float."
    return forward


_LN2, _LN10 = math.log(2.0), math.log(10.0)
sqrt = _unary("sqrt", np.sqrt, lambda g, a, out: g / (out * 2), uses_out=True)
rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda g, a, out: g * out ** 3 * -0.5,
               uses_out=True)
sin = _unary("sin", np.sin, lambda g, a, out: g * cos(a))
cos = _unary("cos", np.cos, lambda g, a, out: -(g * sin(a)))
tan = _unary("tan", np.tan, lambda g, a, out: g * (out * out + 1), uses_out=True)
asin = _unary("asin", np.arcsin, lambda g, a, out: g * rsqrt(1 - a * a))
acos = _unary("acos", np.arccos, lambda g, a, out: -(g * rsqrt(1 - a * a)))
atan = _unary("atan", np.arctan, lambda g, a, out: g / (a * a + 1))
sinh = _unary("sinh", np.sinh, lambda g, a, out: g * cosh(a))
cosh = _unary("cosh", np.cosh, lambda g, a, out: g * sinh(a))
exp2 = _unary("exp2", np.exp2, lambda g, a, out: g * out * _LN2, uses_out=True)
log2 = _unary("log2", np.log2, lambda g, a, out: g / (a * _LN2))
log10 = _unary("log10", np.log10, lambda g, a, out: g / (a * _LN10))
reciprocal = _unary("reciprocal", lambda x: 1 / x, lambda g, a, out: -(g * out * out),
                    uses_out=True)
arcsin, arccos, arctan = asin, acos, atan


erf = _unary("erf", _erf_array,
             lambda g, a, out: g * ew.exp(-(a * a)) * (2 / math.sqrt(math.pi)))
erf.__doc__ = """``erf(x) = 2/√π ∫₀ˣ e^(−t²) dt``; ∂/∂x = 2/√π·e^(−x²). erf(0.5) ≈ 0.5205."""


def atan2(input, other) -> Tensor:
    """The angle of the point (other, input): ``atan2(y, x)``, in (−π, π].
    ∂/∂y = x/(x² + y²), ∂/∂x = −y/(x² + y²)."""
    a, b = ew._pair(tensor_arg("atan2", input), tensor_arg("atan2", other, "other"), "atan2")
    a, b = ew.floating(a), ew.floating(b)
    with np.errstate(all="ignore"):
        data = np.arctan2(a.array, b.array)
    return make(data, (a, b), lambda g: (unbroadcast(g * b / (a * a + b * b), a.shape),
                                         unbroadcast(-(g * a) / (a * a + b * b), b.shape)),
                "atan2")


arctan2 = atan2


def hypot(input, other) -> Tensor:
    """``√(x² + y²)`` without overflow; ∂/∂x = x/out. hypot(3, 4) = 5."""
    a, b = ew._pair(tensor_arg("hypot", input), tensor_arg("hypot", other, "other"), "hypot")
    _not_for("hypot", a, "biu")
    out = make(np.hypot(a.array, b.array), (a, b), None, "hypot", saves_output=True)
    if out.requires_grad:
        out._backward = lambda g: (unbroadcast(g * a / out, a.shape),
                                   unbroadcast(g * b / out, b.shape))
    return out


def square(input) -> Tensor:
    """``x²`` (an integer stays an integer, bool becomes int64, as torch)."""
    a = tensor_arg("square", input)
    return ew.power(astype(a, np.int64) if a.dtype == bool else a, 2)


# -- piecewise-constant ops: zero gradient ------------------------------------------------

def _constant(op: str, fn, *, keep_int: bool = True, no_kernel: str = "b"):
    def forward(input) -> Tensor:
        a = tensor_arg(op, input)
        _not_for(op, a, no_kernel)
        data = np.array(a.array, copy=True) if keep_int and a.dtype.kind in "biu" else fn(a.array)
        zeros = Tensor.wrap(np.zeros(a.shape, a.dtype))
        return make(np.asarray(data, a.dtype), (a,), lambda g: (zeros,), op)
    forward.__name__ = forward.__qualname__ = op
    forward.__doc__ = f"Elementwise ``{op}(x)``; an integer input is returned as it is; ∂ = 0."
    return forward


floor = _constant("floor", np.floor)
ceil = _constant("ceil", np.ceil)
trunc = fix = _constant("trunc", np.trunc)


def _sign_array(x: np.ndarray) -> np.ndarray:
    if x.dtype == bool:
        return x.copy()
    return np.where(np.isnan(x), 0, np.sign(x)) if x.dtype.kind == "f" else np.sign(x)


sign = _constant("sign", _sign_array, keep_int=False, no_kernel="")
sgn = _constant("sgn", _sign_array, keep_int=False, no_kernel="")
sign.__doc__ = sgn.__doc__ = ("−1, 0 or 1 by the sign of x (0 at ±0 and at NaN, as torch): "
                               "sign([-2., 0., 3.]) = [-1, 0, 1]; ∂ = 0.")


def round_(input, *, decimals: int = 0) -> Tensor:
    """Round half to even (torch's and NumPy's rule): round([0.5, 1.5, 2.5]) = [0, 2, 2];
    ``decimals`` rounds ``x·10^d`` and divides back (negative: to tens, hundreds …)."""
    a = tensor_arg("round", input)
    if decimals != 0:
        _not_for("round", a, "biu")
    _not_for("round", a, "b")
    if a.dtype.kind in "iu":
        data = a.array.copy()
    elif decimals == 0:
        data = np.rint(a.array)
    else:
        scale = np.asarray(10.0 ** abs(decimals), a.dtype)
        data = (np.rint(a.array * scale) / scale if decimals > 0
                else np.rint(a.array / scale) * scale)
    zeros = Tensor.wrap(np.zeros(a.shape, a.dtype))
    return make(np.asarray(data, a.dtype), (a,), lambda g: (zeros,), "round")


def frac(input) -> Tensor:
    """``x − trunc(x)`` (the sign of x kept): frac(-2.5) = -0.5; ∂/∂x = 1."""
    a = tensor_arg("frac", input)
    _not_for("frac", a, "biu")
    return make(a.array - np.trunc(a.array), (a,), lambda g: (g,), "frac")


# -- clamp ---------------------------------------------------------------------------------

@traced("clamp")
def clamp(input, min=None, max=None) -> Tensor:  # noqa: A002  (torch's names)
    """``min(max(x, lo), hi)``; NaN (in x or a bound) stays NaN; lo > hi gives hi everywhere.
    ∂/∂x = 1 on [lo, hi] including the boundaries (torch's rule), else 0; a tensor bound gets
    the gradient where it is the result. clamp([-2., 0.5, 3.], 0, 1) = [0., 0.5, 1.]."""
    a = tensor_arg("clamp", input)
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    for v in (min, max):
        if v is not None and not isinstance(v, (Tensor, int, float, np.number)):
            raise TypeError(f"clamp(): min and max must be numbers or Tensors, got "
                            f"{type(v).__name__}")
    bounds = [v for v in (min, max) if v is not None]
    dtype = result_dtype(a, *bounds)
    x = astype(a, dtype)
    lo = None if min is None else ew._operand(min, dtype)
    hi = None if max is None else ew._operand(max, dtype)
    if dtype.kind == "b":
        raise NotImplementedError("clamp: not implemented for dtype bool")
    data = x.array
    with np.errstate(invalid="ignore"):
        if lo is not None:
            data = np.maximum(data, lo.array)
        if hi is not None:
            data = np.minimum(data, hi.array)
    xa = x.array
    z = np.False_
    ge = np.True_ if lo is None else xa >= lo.array
    le = np.True_ if hi is None else xa <= hi.array
    keep_x = Tensor.wrap((ge & le).astype(dtype))
    if lo is not None:
        upper = z if hi is None else lo.array < hi.array
        keep_lo = Tensor.wrap(((xa < lo.array) & upper).astype(dtype))
    if hi is not None:
        flipped = z if lo is None else hi.array < lo.array
        keep_hi = Tensor.wrap(((xa > hi.array) | flipped).astype(dtype))
    parents = (x,) + ((lo,) if lo is not None else ()) + ((hi,) if hi is not None else ())

    def backward(g):
        grads = [unbroadcast(g * keep_x, x.shape)]
        if lo is not None:
            grads.append(unbroadcast(g * keep_lo, lo.shape))
        if hi is not None:
            grads.append(unbroadcast(g * keep_hi, hi.shape))
        return tuple(grads)
    return make(np.asarray(data, dtype), parents, backward, "clamp")


clip = clamp


# -- binary extremes -----------------------------------------------------------------------

def _extreme(op: str, input, other, pick, first_wins, nan_aware: bool) -> Tensor:
    a, b = ew._pair(tensor_arg(op, input), tensor_arg(op, other, "other"), op)
    x, y = a.array, b.array
    with np.errstate(invalid="ignore"):
        data = pick(x, y)
        if nan_aware:      # fmax/fmin: ties and a NaN other go to input (torch's rule)
            to_a = first_wins(x, y) | (x == y) | np.isnan(y)
            wa, wb = to_a, ~to_a
        else:              # maximum/minimum: ties split in halves, NaN passes to both
            tie, a_wins, b_wins = x == y, first_wins(x, y), first_wins(y, x)
            wa = np.where(tie, 0.5, ~b_wins)
            wb = np.where(tie, 0.5, ~a_wins)
    dt = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    wa, wb = (Tensor.wrap(np.asarray(w, dt)) for w in (wa, wb))
    return make(data, (a, b), lambda g: (unbroadcast(g * wa, a.shape),
                                         unbroadcast(g * wb, b.shape)), op)


def maximum(input, other) -> Tensor:
    """The elementwise larger value; NaN wins. ∂: the larger operand takes g, a tie gives g/2
    to each (torch's rule). maximum([1., 3.], [2., 3.]) = [2., 3.]."""
    return _extreme("maximum", input, other, np.maximum, np.greater, False)


def minimum(input, other) -> Tensor:
    """The elementwise smaller value (see ``maximum``)."""
    return _extreme("minimum", input, other, np.minimum, np.less, False)


def fmax(input, other) -> Tensor:
    """``maximum`` that ignores NaN (NaN only where both are): fmax(nan, 1.) = 1.; a tie's
    gradient goes to input (torch's rule)."""
    return _extreme("fmax", input, other, np.fmax, np.greater, True)


def fmin(input, other) -> Tensor:
    """``minimum`` that ignores NaN (see ``fmax``)."""
    return _extreme("fmin", input, other, np.fmin, np.less, True)


# -- combinations --------------------------------------------------------------------------

def lerp(input, end, weight) -> Tensor:
    """``start + weight·(end − start)``: lerp(0., 10., 0.25) = 2.5. start and end must share a
    float dtype (torch's rule). ∂start = 1 − w, ∂end = w, ∂weight = end − start."""
    a, e = tensor_arg("lerp", input), tensor_arg("lerp", end, "end")
    _not_for("lerp", a, "biu")
    if e.dtype != a.dtype:
        raise RuntimeError(f"lerp: expected dtype {a.dtype} for `end` but got dtype {e.dtype}")
    if isinstance(weight, Tensor):
        if weight.dtype != a.dtype:
            raise RuntimeError(f"lerp: expected dtype {a.dtype} for `weight` but got dtype "
                               f"{weight.dtype}")
        w = weight
    elif isinstance(weight, (int, float, np.number)) and not isinstance(weight, bool):
        w = Tensor.wrap(np.asarray(weight, a.dtype))
    else:
        raise TypeError(f"lerp(): argument 'weight' must be a number or a Tensor, got "
                        f"{type(weight).__name__}")
    return a + w * (e - a)


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value·tensor1·tensor2``: addcmul(1., 2., 3., value=0.5) = 4."""
    a = tensor_arg("addcmul", input)
    t1, t2 = tensor_arg("addcmul", tensor1, "tensor1"), tensor_arg("addcmul", tensor2, "tensor2")
    return a + t1 * t2 * value if value != 1 else a + t1 * t2


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value·tensor1/tensor2`` (integer tensor1 and tensor2 are refused, as in
    torch): addcdiv(1., 2., 4., value=2) = 2."""
    a = tensor_arg("addcdiv", input)
    t1, t2 = tensor_arg("addcdiv", tensor1, "tensor1"), tensor_arg("addcdiv", tensor2, "tensor2")
    if t1.dtype.kind in "biu" and t2.dtype.kind in "biu":
        raise RuntimeError("addcdiv: Integer division with addcdiv is no longer supported; "
                           "use (input + value * tensor1 / tensor2) for true division or "
                           "floor_divide for integer division")
    quotient = ew.div(t1, t2)
    return a + (quotient * value if value != 1 else quotient)


def masked_fill(input, mask, value) -> Tensor:
    """``value`` where the bool ``mask`` is True, input elsewhere (mask broadcast; value a
    number or a 0-d tensor, cast to input's dtype). ∂input = g where not mask; ∂value = Σ g
    over the mask. masked_fill([1., 2.], [True, False], 0.) = [0., 2.]."""
    a = tensor_arg("masked_fill", input)
    m = mask.array if isinstance(mask, Tensor) else None
    if m is None or m.dtype != bool:
        got = "a non-tensor" if m is None else f"mask with dtype {m.dtype}"
        raise RuntimeError(f"masked_fill: only supports boolean masks, but got {got}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill: only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        v = astype(value, a.dtype) if a.dtype.kind == "f" else Tensor.wrap(
            value.array.astype(a.dtype))
    elif isinstance(value, (bool, int, float, np.number)):
        v = Tensor.wrap(np.asarray(value).astype(a.dtype))
    else:
        raise TypeError(f"masked_fill(): argument 'value' must be a number or a 0-d Tensor, "
                        f"got {type(value).__name__}")
    shape = np.broadcast_shapes(a.shape, m.shape)
    keep = Tensor.wrap(np.broadcast_to(~m, shape).astype(a.dtype if a.dtype.kind == "f"
                                                          else np.float64))
    fill = Tensor.wrap(np.broadcast_to(m, shape).astype(keep.dtype))
    data = np.where(m, v.array, a.array)
    return make(data, (a, v), lambda g: (unbroadcast(g * keep, a.shape),
                                         (g * fill).sum()), "masked_fill")


def nan_to_num(input, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN → ``nan``, ±inf → ``posinf``/``neginf`` (default: the dtype's largest/lowest
    finite value); ∂/∂x = 1 where x is finite, else 0. nan_to_num([nan, 1.]) = [0., 1.]."""
    a = tensor_arg("nan_to_num", input)
    if a.dtype.kind != "f":
        return make(a.array.copy(), (a,), lambda g: (g,), "nan_to_num")
    data = np.nan_to_num(a.array, nan=nan, posinf=posinf, neginf=neginf)
    finite = Tensor.wrap(np.isfinite(a.array).astype(a.dtype))
    return make(data, (a,), lambda g: (g * finite,), "nan_to_num")


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name in ("sqrt", "rsqrt", "square", "sin", "cos", "tan", "asin", "acos", "atan",
                 "atan2", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "exp2",
                 "log2", "log10", "erf", "clamp", "clip", "sign", "sgn", "floor", "ceil",
                 "trunc", "fix", "frac", "reciprocal", "maximum", "minimum", "fmax", "fmin",
                 "lerp", "addcmul", "addcdiv", "masked_fill", "nan_to_num", "hypot"):
        setattr(Tensor, name, globals()[name])
    Tensor.round = round_
    Tensor.__round__ = lambda self, ndigits=None: round_(self, decimals=ndigits or 0)
    Tensor.__floor__, Tensor.__ceil__, Tensor.__trunc__ = floor, ceil, trunc


# the top-level twin that shadows a builtin (bound last: nothing above calls the builtin)
round = round_  # noqa: A001
