"""Activations and (log-)softmax; each a few Tensor ops, so every order of derivative works.

Every function takes a Tensor or an ndarray. The smooth activations are floating-point only
(torch refuses integer input for them too); ``relu`` keeps an integer dtype; ``sigmoid`` and
``tanh`` of an integer tensor are float64 (torch's promotion to the default float type).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, make
from ..methods import elementwise
from ..methods.elementwise import expm1, log, where
from ..semantics import normalize_dim
from . import checks

__all__ = ["relu", "leaky_relu", "elu", "silu", "softplus", "sigmoid", "tanh", "softmax",
           "log_softmax"]


def relu(input) -> Tensor:
    """``max(x, 0)``; NaN stays NaN."""
    return elementwise.relu(checks.tensor("relu", "input", input, "fiu"))


def sigmoid(input) -> Tensor:
    """``σ(x) = 1/(1 + e^−x)``, two-sided so that the left tail keeps its precision."""
    return elementwise.sigmoid(checks.tensor("sigmoid", "input", input, "fiub"))


def tanh(input) -> Tensor:
    """``tanh x``."""
    return elementwise.tanh(checks.tensor("tanh", "input", input, "fiub"))


def leaky_relu(input, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope·x`` otherwise."""
    x = checks.tensor("leaky_relu", "input", input)
    slope = checks.real("leaky_relu", "negative_slope", negative_slope)
    return x * Tensor(np.where(x.array > 0, 1.0, slope).astype(x.dtype))


def elu(input, alpha: float = 1.0) -> Tensor:
    """x for x > 0, ``α(eˣ − 1)`` otherwise (by ``expm1``: exact near 0)."""
    x = checks.tensor("elu", "input", input)
    alpha = checks.real("elu", "alpha", alpha)
    negative = ~(x.array > 0)                  # NaN takes the exponential side, as in torch
    inside = where(negative, x, 0.0)          # the exponential never sees the positive side
    return where(~negative, x, expm1(inside) * alpha)


def silu(input) -> Tensor:
    """``x·σ(x)`` (swish)."""
    x = checks.tensor("silu", "input", input)
    return x * elementwise.sigmoid(x)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + e^{βx})/β``, computed as ``(log1p(e^{−|βx|}) + max(βx, 0))/β`` (no overflow,
    no lost left tail), with ∂/∂x = σ(βx) (0.5 at 0, where the relu-based form had a kink);
    x itself where ``βx > threshold`` (PyTorch's rule)."""
    x = checks.tensor("softplus", "input", input)
    beta = checks.real("softplus", "beta", beta)
    threshold = checks.real("softplus", "threshold", threshold)
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero (it divides), got 0.0")
    bx = x * beta
    v = np.empty_like(bx.array)
    np.abs(bx.array, out=v)                        # log1p(e^−|βx|) + max(βx, 0), in place
    np.negative(v, out=v)
    np.exp(v, out=v)
    np.log1p(v, out=v)
    v += np.maximum(bx.array, 0)
    v /= beta
    smooth = make(v, (bx,), lambda g: (g * elementwise.sigmoid(bx) / beta,), "softplus")
    return where(bx.array > threshold, x, smooth)


def _shifted(op: str, input, dim) -> tuple[Tensor, tuple[int, ...]]:
    """x − max(x) along ``dim`` (the max is a constant: no gradient) and the reduced axes."""
    x = checks.tensor(op, "input", input)
    if dim is None:                             # torch's legacy implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
    axis = normalize_dim(dim, x.ndim, op)
    axes = (axis,) if x.ndim else ()
    if x.array.size == 0:
        return x, axes
    return x - Tensor(x.array.max(axis=axes, keepdims=True)), axes


def log_softmax(input, dim: int | None = None) -> Tensor:
    """``x − max − log Σ exp(x − max)`` along ``dim``; exact for logits of any size.
    ``dim=None`` is torch's implicit (deprecated) choice: 0 for 0-, 1- and 3-d input, else 1."""
    shifted, axes = _shifted("log_softmax", input, dim)
    return shifted - log(elementwise.exp(shifted).sum(axis=axes, keepdims=True))


def softmax(input, dim: int | None = None) -> Tensor:
    """``exp(x − max) / Σ exp(x − max)`` along ``dim`` (``None``: as in ``log_softmax``)."""
    shifted, axes = _shifted("softmax", input, dim)
    e = elementwise.exp(shifted)
    return e / e.sum(axis=axes, keepdims=True)
