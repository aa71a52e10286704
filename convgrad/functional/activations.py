"""Activations with torch.nn.functional's names and signatures; (log-)softmax and softmin.

This module holds the piecewise-linear family (relu, relu6, hardtanh, threshold, leaky_relu,
prelu, rrelu, hardswish, hardsigmoid, hardshrink, softshrink) and the softmaxes; the smooth ones
live in ``activations_more`` and are re-exported here (one ``__all__`` for the family).

Every function takes a Tensor or an ndarray. relu, relu6, hardtanh and threshold keep an
integer dtype (as torch); the others are floating-point only (torch refuses integers too).
At a kink the derivative is torch's: the flat side's (e.g. ∂relu6/∂x = 0 at 0 and at 6), and a
NaN input takes the side that torch's backward kernel gives it. Derivatives of piecewise-linear
pieces are constant masks, so second derivatives are zero, as in torch. ``inplace=True`` writes
through ``autograd.modify`` (the input is returned; a leaf requiring grad is refused).

relu, leaky_relu (and rrelu's evaluation), sigmoid and tanh run on ``activation_kernels``
(numba, one pass each way, on the cores) for large float arrays: their backwards read the saved
output (as torch's), so an in-place relu or leaky_relu (slope ≥ 0) needs no copy of its
input; with ``create_graph`` the backward is Tensor ops. sigmoid and tanh are redefined here
for that (``activations_more``'s are their small-array path).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import random
from ..autograd import Tensor, astype, make, modify
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.trace import traced
from ..creation import _dtype
from ..methods import elementwise
from ..semantics import normalize_dim
from . import activation_kernels as kernels
from . import activations_more, checks
from .activations_more import *  # noqa: F403
from .activations_more import activation_input, apply
from .losses_fused import log_softmax as _fused_log_softmax

__all__ = ["relu", "relu6", "hardtanh", "threshold", "leaky_relu", "prelu", "rrelu",
           "hardswish", "hardsigmoid", "hardshrink", "softshrink", "softmax", "log_softmax",
           "softmin", *activations_more.__all__]


# torch's hardsigmoid_backward multiplies by 1/6 rounded to float32, in every dtype
ONE_SIXTH = float(np.float32(1 / 6))


def _masked(x: Tensor, values: np.ndarray, slope: np.ndarray, op: str) -> Tensor:
    """A node of value ``values`` whose derivative is the constant array ``slope``."""
    slope = Tensor.wrap(np.asarray(slope, dtype=values.dtype))
    return make(values, (x,), lambda g: (g * slope,), op)


def relu(input, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; NaN stays NaN; ∂/∂x = 1 for x > 0 (and NaN), else 0."""
    x, inplace = activation_input("relu", input, inplace, "fiu")
    if not kernels.use(x.array):
        return apply("relu", x, elementwise.relu, inplace)
    if not inplace:
        return _relu(x)
    # the backward reads only the output: no snapshot of the overwritten input
    return modify(x, _relu, "relu_", reads_self=False, fast=lambda a: kernels.relu(a, a))


def _relu(x: Tensor) -> Tensor:
    """relu by the kernels: y in one pass, ∂x = g where y ≠ 0 from the saved y (as torch)."""
    y = kernels.relu(x.array)

    def backward(g):
        if is_grad_enabled():
            return (g * Tensor.wrap((y != 0).astype(y.dtype)),)
        return (Tensor.wrap(kernels.relu_grad(y, g.array)),)
    return make(y, (x,), backward, "relu", saves_output=True)


def _hardtanh(x: Tensor, low: float, high: float, op: str) -> Tensor:
    a = x.array
    with np.errstate(invalid="ignore"):
        values = np.clip(a, low, high).astype(a.dtype, copy=False)
        flat = (a <= low) | (a >= high)                # torch's hardtanh_backward
    return _masked(x, values, ~flat, op)


@traced("hardtanh")
def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``min(max(x, min_val), max_val)``; ∂/∂x = 1 strictly inside, 0 on and past the bounds."""
    x, inplace = activation_input("hardtanh", input, inplace, "fiu")
    low = checks.real("hardtanh", "min_val", min_val)
    high = checks.real("hardtanh", "max_val", max_val)
    if low > high:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={low}, "
                         f"max_val={high}")
    return apply("hardtanh", x, lambda v: _hardtanh(v, low, high, "hardtanh"), inplace)


@traced("relu6")
def relu6(input, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` = ``hardtanh(x, 0, 6)``."""
    x, inplace = activation_input("relu6", input, inplace, "fiu")
    return apply("relu6", x, lambda v: _hardtanh(v, 0.0, 6.0, "relu6"), inplace)


@traced("threshold")
def threshold(input, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``; ∂/∂x = 1 where x > threshold (and NaN)."""
    x, inplace = activation_input("threshold", input, inplace, "fiu")
    th = checks.real("threshold", "threshold", threshold)
    val = checks.real("threshold", "value", value, finite=False)

    def fn(v: Tensor) -> Tensor:
        below = v.array <= th
        return _masked(v, np.where(below, val, v.array).astype(v.dtype), ~below, "threshold")
    return apply("threshold", x, fn, inplace)


def _leaky(x: Tensor, slope: float) -> Tensor:
    """x·(1 where x > 0, else the slope): by the kernels where they run (one pass each way;
    the backward's mask from the output for a slope ≥ 0, from the input otherwise)."""
    if not kernels.use(x.array):
        return x * Tensor.wrap(np.where(x.array > 0, 1.0, slope).astype(x.dtype))
    y = kernels.leaky(x.array, slope)
    from_output = slope >= 0

    def backward(g):
        r = y if from_output else x.array
        if is_grad_enabled():
            return (g * Tensor.wrap(np.where(r > 0, 1.0, slope).astype(y.dtype)),)
        return (Tensor.wrap(kernels.leaky_grad(r, g.array, slope)),)
    return make(y, (x,), backward, "leaky_relu", saves_output=from_output)


def _leaky_apply(op: str, x: Tensor, slope: float, inplace: bool) -> Tensor:
    """``_leaky``, or written into x (no snapshot of x where the backward reads the output)."""
    if not inplace:
        return _leaky(x, slope)
    if not kernels.use(x.array):
        return apply(op, x, lambda v: _leaky(v, slope), inplace)
    return modify(x, lambda v: _leaky(v, slope), f"{op}_", reads_self=slope < 0,
                  fast=lambda a: kernels.leaky(a, slope, a))


@traced("leaky_relu")
def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for x > 0, ``negative_slope·x`` otherwise."""
    x, inplace = activation_input("leaky_relu", input, inplace)
    slope = checks.real("leaky_relu", "negative_slope", negative_slope)
    return _leaky_apply("leaky_relu", x, slope, inplace)


@traced("prelu")
def prelu(input, weight) -> Tensor:
    """``x`` for x > 0, ``a·x`` otherwise, with a learnable slope ``a`` = ``weight``: one value,
    or one per channel (dim 1; an input of rank < 2 has one channel)."""
    x = checks.tensor("prelu", "input", input)
    w = checks.tensor("prelu", "weight", weight)
    if w.ndim > 1:
        raise ValueError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                         f"ndim = {w.ndim}")
    if w.dtype != x.dtype:
        raise TypeError(f"prelu: input and weight must share one dtype, got {x.dtype} and "
                        f"{w.dtype}")
    if w.array.size == 1:
        w = w.reshape(())
    else:
        if x.ndim == 0:
            raise ValueError("prelu: Not allow zero-dim input tensor (with more than one "
                             "weight).")
        channels = x.shape[1] if x.ndim >= 2 else 1
        if w.array.size != channels:
            raise ValueError(f"prelu: Mismatch of parameter numbers and input channel size. "
                             f"Found parameter numbers = {w.array.size} and channel size = "
                             f"{channels}.")
        w = w.reshape((1, channels) + (1,) * (x.ndim - 2))
    positive = x.array > 0
    negative_part = elementwise.where(positive, 0.0, x)    # no inf·0 into a's gradient
    return elementwise.where(positive, x, w * negative_part)


@traced("rrelu")
def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: ``x`` for x > 0, ``a·x`` otherwise; in training each element
    draws its own ``a ~ U(lower, upper)`` (convgrad's generator: ``manual_seed`` repeats it),
    in evaluation ``a = (lower + upper)/2``. ∂/∂x = the slope used."""
    x, inplace = activation_input("rrelu", input, inplace)
    lower = checks.real("rrelu", "lower", lower)
    upper = checks.real("rrelu", "upper", upper)
    training = checks.boolean("rrelu", "training", training)
    if lower > upper:
        raise ValueError(f"rrelu: Lower bound should be less than or equal to the upper bound, "
                         f"got lower={lower}, upper={upper}")
    if not training:
        return _leaky_apply("rrelu", x, (lower + upper) / 2, inplace)

    def fn(v: Tensor) -> Tensor:
        noise = random.generator().uniform(lower, upper, v.shape)
        noise = np.where(v.array <= 0, noise, 1.0).astype(v.dtype)
        return v * Tensor.wrap(noise)
    return apply("rrelu", x, fn, inplace)


def sigmoid(input) -> Tensor:
    """``σ(x) = 1/(1 + e^−x)`` (``activations_more.sigmoid``'s values); where the kernels run,
    its backward g·(1 − σ)·σ is one pass."""
    x = checks.tensor("sigmoid", "input", input, "fiub")
    if not kernels.use(x.array):
        return elementwise.sigmoid(x)
    y = elementwise.sigmoid(Tensor.wrap(x.array)).array
    return _smooth(x, y, "sigmoid", kernels.sigmoid_grad, lambda g, out: g * out * (1 - out))


def tanh(input) -> Tensor:
    """``tanh x`` (NumPy's); where the kernels run, its backward g·(1 − y²) is one pass."""
    x = checks.tensor("tanh", "input", input, "fiub")
    if not kernels.use(x.array):
        return elementwise.tanh(x)
    return _smooth(x, np.tanh(x.array), "tanh", kernels.tanh_grad,
                   lambda g, out: g * (1 - out * out))


def _smooth(x: Tensor, y: np.ndarray, op: str, fused, composed) -> Tensor:
    """A node of value y whose backward, a function of the output, is ``fused(y, g)`` (one
    pass), or ``composed(g, out)`` in Tensor ops under create_graph (any order)."""
    out = make(y, (x,), None, op, saves_output=True)
    if out._requires_grad:
        out._backward = lambda g: ((composed(g, out),) if is_grad_enabled() else
                                   (Tensor.wrap(fused(y, g.array)),))
    return out


def _hardswish(x: Tensor) -> Tensor:
    a = x.array
    with np.errstate(invalid="ignore"):
        values = (a * np.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False)
        # torch's hardswish_backward: 0 up to −3, x/3 + ½ inside (−3, 3), 1 from 3 on (and
        # at NaN); its own derivative is 1/3 inside
        slope = np.where(a <= -3, 0.0, np.where(a < 3, a / 3 + 0.5, 1.0)).astype(a.dtype)
        inside = (a > -3) & (a < 3)
    out = make(values, (x,), None, "hardswish")
    if out.requires_grad:
        out._backward = lambda g: (g * _masked(x, slope, inside / 3, "hardswish_backward"),)
    return out


@traced("hardswish")
def hardswish(input, inplace: bool = False) -> Tensor:
    """``x·relu6(x + 3)/6``: 0 for x ≤ −3, x for x ≥ 3, ``x(x + 3)/6`` between."""
    x, inplace = activation_input("hardswish", input, inplace)
    return apply("hardswish", x, _hardswish, inplace)


def _hardsigmoid(x: Tensor) -> Tensor:
    a = x.array
    with np.errstate(invalid="ignore"):
        values = (np.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False)
        inside = (a > -3) & (a < 3)
    return _masked(x, values, inside * ONE_SIXTH, "hardsigmoid")


@traced("hardsigmoid")
def hardsigmoid(input, inplace: bool = False) -> Tensor:
    """``relu6(x + 3)/6``: 0 for x ≤ −3, 1 for x ≥ 3, ``x/6 + ½`` between; ∂/∂x = 1/6 strictly
    inside (torch's float32-rounded 1/6 = 0.16666667163…, also in float64), else 0."""
    x, inplace = activation_input("hardsigmoid", input, inplace)
    return apply("hardsigmoid", x, _hardsigmoid, inplace)


@traced("hardshrink")
def hardshrink(input, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > λ``, else 0 (∂/∂x = 1 there, NaN included)."""
    x = checks.tensor("hardshrink", "input", input)
    lam = checks.real("hardshrink", "lambd", lambd)
    a = x.array
    zero = (a >= -lam) & (a <= lam)
    return _masked(x, np.where(zero, 0, a).astype(a.dtype), ~zero, "hardshrink")


@traced("softshrink")
def softshrink(input, lambd: float = 0.5) -> Tensor:
    """``x − λ`` for x > λ, ``x + λ`` for x < −λ, 0 between (λ ≥ 0); NaN stays NaN."""
    x = checks.tensor("softshrink", "input", input)
    lam = checks.real("softshrink", "lambd", lambd, 0.0)
    a = x.array
    with np.errstate(invalid="ignore"):
        values = np.where(a > lam, a - lam, np.where(a < -lam, a + lam, a * 0))
    zero = (a >= -lam) & (a <= lam)
    return _masked(x, values.astype(a.dtype, copy=False), ~zero, "softshrink")


def _softmax_input(op: str, input, dim, stacklevel, dtype) -> Tensor:
    """The input (cast to ``dtype`` first, as torch) and the axis; ``dim=None`` is torch's
    deprecated implicit choice (0 for 0-, 1- and 3-d input, else 1) with torch's warning."""
    checks.integer(op, "_stacklevel", stacklevel)
    target = _dtype(dtype, op)
    x = checks.tensor(op, "input", input, "f" if target is None else "fiub")
    if target is not None:
        x = checks.tensor(op, "input", astype(x, target))
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                      f"to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return x, normalize_dim(dim, x.ndim, op)


def _shifted(x: Tensor, axis: int) -> tuple[Tensor, tuple[int, ...]]:
    """x − max(x) along ``axis`` (the max is a constant: no gradient) and the reduced axes."""
    axes = (axis,) if x.ndim else ()
    if x.array.size == 0:
        return x, axes
    return x - Tensor(x.array.max(axis=axes, keepdims=True)), axes


@traced("softmax")
def _softmax(x: Tensor, axis: int) -> Tensor:
    shifted, axes = _shifted(x, axis)
    e = elementwise.exp(shifted)
    return e / e.sum(axis=axes, keepdims=True)


def log_softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x − max − log Σ exp(x − max)`` along ``dim``; exact for logits of any size.
    ``dtype``: the input is cast to it first."""
    x, axis = _softmax_input("log_softmax", input, dim, _stacklevel, dtype)
    return _log_softmax(x, axis)


@traced("log_softmax")
def _log_softmax(x: Tensor, axis: int) -> Tensor:
    """One fused node (``losses_fused.log_softmax``: the shift, the log-sum-exp and, in the
    backward, ``g − softmax·Σg`` in one pass each)."""
    return _fused_log_softmax(x, axis)


def softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x − max) / Σ exp(x − max)`` along ``dim``."""
    x, axis = _softmax_input("softmax", input, dim, _stacklevel, dtype)
    return _softmax(x, axis)


def softmin(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(−x)`` along ``dim``."""
    x, axis = _softmax_input("softmin", input, dim, _stacklevel, dtype)
    return _softmax(-x, axis)
