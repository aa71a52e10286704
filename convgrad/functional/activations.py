"""Activations and (log-)softmax; each a few Tensor ops, so every order of derivative works."""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, as_tensor
from ..tensor_ops import abs_, exp, log, relu, sigmoid, tanh, where

__all__ = ["relu", "leaky_relu", "elu", "silu", "softplus", "sigmoid", "tanh", "softmax",
           "log_softmax"]

_ = (relu, sigmoid, tanh)          # re-exported: x ↦ max(x, 0), 1/(1 + e^−x), tanh x


def leaky_relu(input, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope·x`` otherwise."""
    x = as_tensor(input)
    return x * Tensor(np.where(x.data > 0, 1.0, negative_slope).astype(x.dtype))


def elu(input, alpha: float = 1.0) -> Tensor:
    """x for x > 0, ``α(eˣ − 1)`` otherwise."""
    x = as_tensor(input)
    negative = x.data <= 0
    return where(~negative, x, alpha * (exp(x * Tensor(negative.astype(x.dtype))) - 1))


def silu(input) -> Tensor:
    """``x·σ(x)`` (swish)."""
    x = as_tensor(input)
    return x * sigmoid(x)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + e^{βx})/β``, computed as ``(relu(βx) + log(1 + e^{−|βx|}))/β`` (no overflow);
    x itself where ``βx > threshold`` (PyTorch's rule)."""
    x = as_tensor(input)
    bx = x * beta
    smooth = (relu(bx) + log(1 + exp(-abs_(bx)))) / beta
    return where(bx.data > threshold, x, smooth)


def log_softmax(input, dim: int = -1) -> Tensor:
    """``x − max − log Σ exp(x − max)`` along ``dim``; exact for logits of any size."""
    x = as_tensor(input)
    shifted = x - Tensor(x.data.max(axis=dim, keepdims=True))   # a constant: no gradient
    return shifted - log(exp(shifted).sum(axis=dim, keepdims=True))


def softmax(input, dim: int = -1) -> Tensor:
    """``exp(x − max) / Σ exp(x − max)`` along ``dim``."""
    x = as_tensor(input)
    e = exp(x - Tensor(x.data.max(axis=dim, keepdims=True)))
    return e / e.sum(axis=dim, keepdims=True)
