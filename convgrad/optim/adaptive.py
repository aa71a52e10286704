r"""Per-coordinate adaptive rates: ``RMSprop``, ``Adagrad``, ``Adadelta`` (torch's rules).

Gradient g (negated for ``maximize``; plus λθ for weight decay λ), learning rate γ.

RMSprop (α smoothing, μ momentum)::

    v ← αv + (1 − α)g²;   centered: ḡ ← ḡ + (1 − α)(g − ḡ), a = √(v − ḡ²) + ε, else a = √v + ε
    μ > 0: b ← μb + g/a, θ ← θ − γb;   else θ ← θ − γ·g/a

Adagrad (lr_decay η, step t)::

    s ← s + g²  (s₀ = initial_accumulator_value);   θ ← θ − γ/(1 + (t − 1)η) · g/(√s + ε)

Adadelta (ρ)::

    v ← ρv + (1 − ρ)g²;   Δ = √(u + ε)/√(v + ε) · g;   u ← ρu + (1 − ρ)Δ²;   θ ← θ − γΔ
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..autograd import Tensor
from . import _foreach
from .optimizer import (
    Optimizer,
    ParamsT,
    _buffer,
    _check_lr,
    _check_nonneg,
    _step_tensor,
    _to_scalar,
)

__all__ = ["RMSprop", "Adagrad", "Adadelta"]


def _eps_ok(eps: float) -> None:
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")


class RMSprop(Optimizer):
    """RMSprop (Hinton), optionally centered and with momentum."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        _eps_ok(eps)
        _check_nonneg(momentum, "momentum")
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(alpha, "alpha")
        super().__init__(params, dict(
            lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
            weight_decay=weight_decay, capturable=capturable, foreach=foreach,
            maximize=maximize, differentiable=differentiable))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RMSprop update; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps = _to_scalar(group["lr"]), group["alpha"], group["eps"]
            mu, wd, centered = group["momentum"], group["weight_decay"], group["centered"]
            maximize = group["maximize"]
            for p, g, kern in _foreach.items(self, group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _buffer(p)
                    if mu > 0:
                        state["momentum_buffer"] = _buffer(p)
                    if centered:
                        state["grad_avg"] = _buffer(p)
                state["step"].array += 1
                a, v = p.array, state["square_avg"].array
                ga = state["grad_avg"].array if centered else _foreach.unused(a)
                buf = state["momentum_buffer"].array if mu > 0 else _foreach.unused(a)
                if kern is not None:
                    f = _foreach.flat
                    c = _foreach.scalars(a, *_foreach.lerp_weights(1 - alpha), eps, mu, -lr)
                    kern.rmsprop(f(a), f(g), f(v), f(ga), f(buf), maximize,
                                 *_foreach.scalars(a, wd, alpha, 1 - alpha), centered, *c)
                    p._vc[0] += 1
                    continue
                s0, s1 = _foreach.scratch(self, a, 2)
                d = _foreach.direction(g, a, wd, maximize, s0)
                v *= alpha
                _foreach.addcmul_(v, d, 1 - alpha, s1)
                if centered:
                    _foreach.lerp_(ga, d, 1 - alpha, s1)
                    np.multiply(ga, ga, out=s1)
                    np.subtract(v, s1, out=s1)
                    np.sqrt(s1, out=s1)
                else:
                    np.sqrt(v, out=s1)
                s1 += eps
                if mu > 0:
                    buf *= mu
                    np.divide(d, s1, out=s1)
                    buf += s1
                    np.multiply(buf, lr, out=s1)
                    a -= s1
                else:
                    _foreach.addcdiv_(a, d, s1, -lr, s0)
                p._vc[0] += 1
        return loss


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): the rate shrinks with the accumulated squared gradient."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_nonneg(lr_decay, "lr_decay")
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(initial_accumulator_value, "initial_accumulator_value")
        _eps_ok(eps)
        super().__init__(params, dict(
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach,
            maximize=maximize, differentiable=differentiable, fused=fused))
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:      # torch creates Adagrad's state eagerly
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p: Tensor) -> None:
        state = self.state[p]
        state["step"] = _step_tensor()
        state["sum"] = _buffer(p, self.defaults["initial_accumulator_value"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adagrad update; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps, lr_decay = _to_scalar(group["lr"]), group["eps"], group["lr_decay"]
            wd, maximize = group["weight_decay"], group["maximize"]
            for p, g, kern in _foreach.items(self, group):
                if len(self.state[p]) == 0:
                    self._init_state(p)
                state = self.state[p]
                st = state["step"].array
                st += 1
                clr = lr / (1 + (float(st) - 1) * lr_decay)
                a, s = p.array, state["sum"].array
                if kern is not None:
                    f = _foreach.flat
                    kern.adagrad(f(a), f(g), f(s), maximize, *_foreach.scalars(a, wd, eps, -clr))
                else:
                    s0, s1 = _foreach.scratch(self, a, 2)
                    d = _foreach.direction(g, a, wd, maximize, s0)
                    _foreach.addcmul_(s, d, 1, s1)
                    np.sqrt(s, out=s1)
                    s1 += eps
                    _foreach.addcdiv_(a, d, s1, -clr, s0)
                p._vc[0] += 1
        return loss


class Adadelta(Optimizer):
    """Adadelta (Zeiler): unit-consistent steps from running averages of g² and Δ²."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _eps_ok(eps)
        _check_nonneg(weight_decay, "weight_decay")
        super().__init__(params, dict(
            lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
            capturable=capturable, foreach=foreach, differentiable=differentiable))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adadelta update; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = _to_scalar(group["lr"]), group["rho"], group["eps"]
            wd, maximize = group["weight_decay"], group["maximize"]
            for p, g, kern in _foreach.items(self, group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _buffer(p)
                    state["acc_delta"] = _buffer(p)
                state["step"].array += 1
                a, v, u = p.array, state["square_avg"].array, state["acc_delta"].array
                if kern is not None:
                    f = _foreach.flat
                    kern.adadelta(f(a), f(g), f(v), f(u), maximize,
                                  *_foreach.scalars(a, wd, rho, 1 - rho, eps, -lr))
                    p._vc[0] += 1
                    continue
                s0, s1, s2 = _foreach.scratch(self, a, 3)
                d = _foreach.direction(g, a, wd, maximize, s0)
                v *= rho
                _foreach.addcmul_(v, d, 1 - rho, s1)
                np.add(v, eps, out=s1)
                np.sqrt(s1, out=s1)                   # std = √(v + ε)
                np.add(u, eps, out=s2)
                np.sqrt(s2, out=s2)
                s2 /= s1
                s2 *= d                               # Δ = √(u + ε)/std·d
                u *= rho
                _foreach.addcmul_(u, s2, 1 - rho, s1)
                np.multiply(s2, lr, out=s1)
                a -= s1
                p._vc[0] += 1
        return loss
