r"""Optimizers with PyTorch's update rules (``torch.optim.SGD``, ``Adam``, ``AdamW``).

SGD with momentum μ, dampening τ, weight decay λ (g ← ∇ + λθ)::

    b ← g (first step), else μ·b + (1 − τ)·g;   θ ← θ − lr·(g + μ·b if nesterov else b)

Adam (step t, β₁, β₂, ε; AdamW decays θ ← θ(1 − lr·λ) instead of adding λθ to g)::

    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  θ ← θ − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .autograd import Tensor


class Optimizer:
    """Holds the parameters and per-parameter state; ``step()`` applies one update in place."""

    def __init__(self, params: Iterable[Tensor], **hyper):
        self.params = list(params)
        name = type(self).__name__
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{name}: every parameter must be a Tensor with "
                                f"requires_grad=True")
        for key, value in hyper.items():
            if isinstance(value, (int, float)) and value < 0:
                raise ValueError(f"{name}: {key} must be non-negative, got {value}")
        self.hyper = hyper
        self.state: dict[int, dict] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                self._update(p, p.grad.array, self.state.setdefault(id(p), {}))
                p._vc[0] += 1           # an in-place update, as torch counts it

    def _update(self, p: Tensor, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's formulation)."""

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        self.nesterov = nesterov

    def _update(self, p, g, state):
        h = self.hyper
        if h["weight_decay"]:
            g = g + h["weight_decay"] * p.array
        if h["momentum"]:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= h["momentum"]
                buf += (1 - h["dampening"]) * g
            buf = state["momentum_buffer"]
            g = g + h["momentum"] * buf if self.nesterov else buf
        p.array -= (h["lr"] * g).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` adds λθ to the gradient."""

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, lr=lr, eps=eps, weight_decay=weight_decay)
        if not all(0.0 <= b < 1.0 for b in betas) or len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be two values in [0, 1), got "
                             f"{betas}")
        self.betas, self.amsgrad = tuple(betas), amsgrad

    def _update(self, p, g, state):
        h, (b1, b2) = self.hyper, self.betas
        if h["weight_decay"]:
            if self.decoupled:
                p.array *= 1 - h["lr"] * h["weight_decay"]
            else:
                g = g + h["weight_decay"] * p.array
        if not state:
            state.update(step=0, m=np.zeros_like(p.array), v=np.zeros_like(p.array))
            if self.amsgrad:
                state["v_max"] = np.zeros_like(p.array)
        state["step"] += 1
        m, v, t = state["m"], state["v"], state["step"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        if self.amsgrad:
            np.maximum(state["v_max"], v, out=state["v_max"])
            v = state["v_max"]
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + h["eps"]
        p.array -= (h["lr"] / (1 - b1 ** t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): θ ← θ(1 − lr·λ) each step."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
