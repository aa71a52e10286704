"""The smooth activations: sigmoid, tanh, the exponential units (elu, selu, celu), gelu, silu,
mish, softplus, softsign, logsigmoid, tanhshrink and glu — each a few Tensor ops (or a node whose
backward is written in Tensor ops), so every order of derivative works.

Tails are kept precise where the textbook formula loses them: softplus and logsigmoid through
``log1p(e^−|x|)``, the exponential units through ``expm1``, tanhshrink by its series near 0.
NaN and ±inf land where torch puts them (e.g. ``silu(−inf)`` and ``softsign(±inf)`` are NaN).

``inplace=True`` (where torch has it) writes the result into the input through
``autograd.modify``: the input Tensor is returned, its version bumped, and a leaf that requires
grad is refused with torch's RuntimeError.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..autograd import Tensor, make, modify
from ..autograd.trace import traced
from ..methods import elementwise
from ..methods.elementwise import where
from ..methods.pointwise import erf
from ..semantics import normalize_dim
from . import checks

__all__ = ["sigmoid", "tanh", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus",
           "softsign", "logsigmoid", "tanhshrink", "glu"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def activation_input(op: str, input, inplace: bool = False, kinds: str = "f"
                     ) -> tuple[Tensor, bool]:
    """The checked input and ``inplace`` flag; an ndarray to be modified in place is wrapped
    without a copy, so the caller's array changes too."""
    inplace = checks.boolean(op, "inplace", inplace)
    if inplace and isinstance(input, np.ndarray):
        input = Tensor.wrap(input)
    return checks.tensor(op, "input", input, kinds), inplace


def apply(op: str, x: Tensor, fn: Callable[[Tensor], Tensor], inplace: bool) -> Tensor:
    """``fn(x)``, or (``inplace``) ``fn(x)`` written into x as torch's ``op_`` (x returned)."""
    return modify(x, fn, f"{op}_") if inplace else fn(x)


def sigmoid(input) -> Tensor:
    """``σ(x) = 1/(1 + e^−x)``, two-sided so that the left tail keeps its precision."""
    return elementwise.sigmoid(checks.tensor("sigmoid", "input", input, "fiub"))


def tanh(input) -> Tensor:
    """``tanh x``."""
    return elementwise.tanh(checks.tensor("tanh", "input", input, "fiub"))


def _exponential_unit(x: Tensor, alpha: float, scale: float = 1.0,
                      input_scale: float = 1.0) -> Tensor:
    """``scale·x`` for x > 0, ``scale·α·(e^{input_scale·x} − 1)`` otherwise (torch's ``elu``
    kernel with its three constants; ``expm1``: exact near 0). NaN takes the exponential side,
    as in torch's vectorised kernel."""
    a = x.array
    positive = a > 0
    with np.errstate(over="ignore", invalid="ignore"):
        inside = np.where(positive, 0, a) * input_scale      # (no e^{large} on the x side)
        values = np.where(positive, a * scale, np.expm1(inside) * (alpha * scale))
    out = make(values.astype(a.dtype, copy=False), (x,), None, "elu")
    if out.requires_grad:
        out._backward = lambda g: (g * _exponential_slope(x, positive, alpha, scale,
                                                          input_scale),)
    return out


def _exponential_slope(x: Tensor, positive: np.ndarray, alpha: float, scale: float,
                       input_scale: float) -> Tensor:
    """∂/∂x of the exponential unit: ``scale`` for x > 0, ``α·scale·input_scale·e^{input_scale·x}``
    otherwise (by ``exp``, not ``expm1 + 1``: elu′(−40) = 4.2e−18, not 0). Its own derivative
    is taken where x < 0 only, as torch's ``elu_double_backward`` (0 at x = 0)."""
    a = x.array
    inside = where((a < 0) | np.isnan(a), x, 0.0)
    return where(positive, scale, elementwise.exp(inside * input_scale) *
                 (alpha * scale * input_scale))


@traced("elu")
def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``ELU(x) = x`` for x > 0, ``α(eˣ − 1)`` otherwise."""
    x, inplace = activation_input("elu", input, inplace)
    alpha = checks.real("elu", "alpha", alpha)
    return apply("elu", x, lambda v: _exponential_unit(v, alpha), inplace)


@traced("selu")
def selu(input, inplace: bool = False) -> Tensor:
    """``SELU(x) = λ·x`` for x > 0, ``λ·α(eˣ − 1)`` otherwise, with torch's constants
    α ≈ 1.6733, λ ≈ 1.0507 (self-normalising)."""
    x, inplace = activation_input("selu", input, inplace)
    return apply("selu", x, lambda v: _exponential_unit(v, SELU_ALPHA, SELU_SCALE), inplace)


@traced("celu")
def celu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``CELU(x) = x`` for x > 0, ``α(e^{x/α} − 1)`` otherwise (α ≠ 0)."""
    x, inplace = activation_input("celu", input, inplace)
    alpha = checks.real("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 for CELU (it divides x)")
    return apply("celu", x, lambda v: _exponential_unit(v, alpha, 1.0, 1.0 / alpha), inplace)


def gelu(input, approximate: str = "none") -> Tensor:
    """``GELU(x) = x·Φ(x) = ½x(1 + erf(x/√2))``; ``approximate='tanh'``:
    ``½x(1 + tanh(√(2/π)(x + 0.044715x³)))`` (torch's two forms, derivatives by autograd:
    ``Φ(x) + x·φ(x)`` for the exact one)."""
    x = checks.tensor("gelu", "input", input)
    approximate = checks.choice("gelu", "approximate", approximate, ("none", "tanh"))
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)
        return x * 0.5 * (elementwise.tanh(inner) + 1)
    return x * 0.5 * (erf(x * math.sqrt(0.5)) + 1)


def silu(input, inplace: bool = False) -> Tensor:
    """``SiLU(x) = x·σ(x)`` (swish)."""
    x, inplace = activation_input("silu", input, inplace)
    return apply("silu", x, lambda v: v * elementwise.sigmoid(v), inplace)


def _log1p_exp_array(z: np.ndarray) -> np.ndarray:
    """``log(1 + e^z)`` as ``log1p(e^−|z|) + max(z, 0)`` (no overflow, no lost left tail)."""
    v = np.empty_like(z)
    np.abs(z, out=v)
    np.negative(v, out=v)
    np.exp(v, out=v)
    np.log1p(v, out=v)
    v += np.maximum(z, 0)
    return v


def _log1p_exp(z: Tensor) -> Tensor:
    """``log(1 + e^z)``; ∂/∂z = σ(z)."""
    return make(_log1p_exp_array(z.array), (z,), lambda g: (g * elementwise.sigmoid(z),),
                "softplus")


def _gated(t: Tensor, mask: np.ndarray) -> Tensor:
    """t itself, whose derivative passes only where ``mask``."""
    gate = Tensor.wrap(mask.astype(t.dtype))
    return make(t.array, (t,), lambda g: (g * gate,), "gate")


@traced("mish")
def mish(input, inplace: bool = False) -> Tensor:
    """``Mish(x) = x·tanh(softplus(x))``; ∂/∂x = tanh(sp) + x·σ(x)·(1 − tanh²(sp))."""
    x, inplace = activation_input("mish", input, inplace)
    return apply("mish", x, lambda v: v * elementwise.tanh(_log1p_exp(v)), inplace)


@traced("softplus")
def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + e^{βx})/β``, computed as ``(log1p(e^{−|βx|}) + max(βx, 0))/β`` (no overflow,
    no lost left tail), with ∂/∂x = σ(βx); x itself where ``βx > threshold`` (PyTorch's rule).
    β = 0 is refused (torch returns inf there)."""
    x = checks.tensor("softplus", "input", input)
    beta = checks.real("softplus", "beta", beta)
    threshold = checks.real("softplus", "threshold", threshold)
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero (it divides), got 0.0")
    bx = x.array * beta
    above, below = bx > threshold, bx < threshold
    with np.errstate(invalid="ignore"):
        values = np.where(above, x.array, _log1p_exp_array(bx) / beta)
    out = make(values.astype(x.dtype, copy=False), (x,), None, "softplus")
    if out.requires_grad:       # torch: ∂ = 1 above the threshold, σ(βx) else; ∂² only below
        out._backward = lambda g: (g * where(above, 1.0, elementwise.sigmoid(
            _gated(x * beta, below))),)
    return out


def softsign(input) -> Tensor:
    """``x/(1 + |x|)`` (torch's composite: NaN at ±inf; integers give the default float)."""
    x = checks.tensor("softsign", "input", input, "fiu")
    return x / (elementwise.abs_(x) + 1)


@traced("logsigmoid")
def logsigmoid(input) -> Tensor:
    """``log σ(x) = min(x, 0) − log1p(e^−|x|)`` (exact in both tails); ∂/∂x = σ(−x), whose
    derivative is ``−σ(x)·σ(−x)`` (both factors two-sided: exact in both tails too)."""
    x = checks.tensor("logsigmoid", "input", input)
    a = x.array
    with np.errstate(over="ignore"):
        v = np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))
    out = make(v.astype(a.dtype, copy=False), (x,), None, "log_sigmoid")
    if out.requires_grad:
        out._backward = lambda g: (g * _logsigmoid_slope(x),)
    return out


def _logsigmoid_slope(x: Tensor) -> Tensor:
    s_neg = elementwise.sigmoid(Tensor.wrap(-x.array))
    return make(s_neg.array, (x,), lambda g: (
        -(g * elementwise.sigmoid(x) * elementwise.sigmoid(-x)),), "log_sigmoid_backward")


# x − tanh x = Σ c_k x^(2k+1), k ≥ 1 (the tanh series from x³ on, signs flipped)
_TANHSHRINK_SERIES = (1 / 3, -2 / 15, 17 / 315, -62 / 2835, 1382 / 155925, -21844 / 6081075,
                      929569 / 638512875)


@traced("tanhshrink")
def tanhshrink(input) -> Tensor:
    """``x − tanh x``; for |x| < 0.15 by its series ``x³/3 − 2x⁵/15 + 17x⁷/315 − …`` (the
    difference would cancel: tanhshrink(1e−8) = 3.3e−25, not 0). ∂/∂x = tanh²x."""
    x = elementwise.floating(checks.tensor("tanhshrink", "input", input, "fiu"))
    a = x.array
    v = np.subtract(a, np.tanh(a), out=np.empty_like(a))
    small = np.abs(a) < 0.15
    if small.any():
        s = a[small]
        s2, term, total = s * s, s * s * s, np.zeros_like(s)
        for c in _TANHSHRINK_SERIES:
            total += c * term
            term = term * s2
        v[small] = total
    return make(v, (x,), lambda g: (g * elementwise.tanh(x) ** 2,), "tanhshrink")


def glu(input, dim: int = -1) -> Tensor:
    """``GLU(a, b) = a ⊗ σ(b)``, a and b the two halves of the input along ``dim``."""
    x = checks.tensor("glu", "input", input)
    dim = checks.integer("glu", "dim", dim)
    if x.ndim == 0:
        raise ValueError("glu: glu does not support scalars because halving size must be even")
    axis = normalize_dim(dim, x.ndim, "glu")
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu: Halving dimension must be even, but dimension {axis} is size "
                         f"{n}")
    head = (slice(None),) * axis
    return x[head + (slice(0, n // 2),)] * elementwise.sigmoid(x[head + (slice(n // 2, n),)])
