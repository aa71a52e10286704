r"""The Adam family: ``Adam``, ``AdamW``, ``Adamax``, ``NAdam``, ``RAdam`` (torch's rules).

Common notation: gradient g (negated for ``maximize``), step t, learning rate γ, β₁, β₂, ε,
weight decay λ: coupled g ← g + λθ, or decoupled θ ← θ(1 − γλ) (AdamW, ``decoupled_*``).

Adam::

    m ← m + (1 − β₁)(g − m);   v ← β₂v + (1 − β₂)g²;   v̂ ← max(v̂, v) if amsgrad
    θ ← θ − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

Adamax:  u ← max(β₂u, |g| + ε);  θ ← θ − γ/(1 − β₁ᵗ) · m/u.

NAdam (ψ momentum decay):  μₜ = β₁(1 − ½·0.96^(tψ)),  Πₜ = ∏ μ₁…μₜ,
``θ ← θ − γ(1 − μₜ)/(1 − Πₜ)·g/d − γμₜ₊₁/(1 − Πₜμₜ₊₁)·m/d``, d = √(v/(1 − β₂ᵗ)) + ε.

RAdam:  ρ∞ = 2/(1 − β₂) − 1,  ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ);  m̂ = m/(1 − β₁ᵗ);
θ ← θ − γ·m̂·r·√(1 − β₂ᵗ)/(√v + ε) with r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ)) when
ρₜ > 5, else θ ← θ − γ·m̂.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..autograd import Tensor
from . import _foreach
from .optimizer import (
    Optimizer,
    ParamsT,
    _buffer,
    _check_betas,
    _check_lr,
    _check_nonneg,
    _step_tensor,
    _to_scalar,
)

__all__ = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]


def _moments(opt: Optimizer, a: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
             lr: float, wd: float, decoupled: bool, maximize: bool, b1: float,
             b2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The NumPy path's common start: weight decay, m ← lerp(m, d, 1 − β₁), v ← β₂v +
    (1 − β₂)d²; returns d and two scratch arrays (d may live in the first)."""
    s0, s1 = _foreach.scratch(opt, a, 2)
    if wd != 0 and decoupled:
        a *= 1 - lr * wd
        wd = 0
    d = _foreach.direction(g, a, wd, maximize, s0)
    _foreach.lerp_(m, d, 1 - b1, s1)
    v *= b2
    _foreach.addcmul_(v, d, 1 - b2, s1)
    return d, s0, s1


def _decays(lr: float, wd: float, decoupled: bool) -> tuple[float, float]:
    """The kernels' (coupled λ, decoupled factor δ): (λ, 1) or (0, 1 − γλ)."""
    return (0.0, 1 - lr * wd) if decoupled and wd != 0 else (wd, 1.0)


def _check_common(lr: Any, eps: float, betas: tuple, weight_decay: float) -> None:
    _check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    _check_betas(betas)
    _check_nonneg(weight_decay, "weight_decay")


class Adam(Optimizer):
    """Adam (Kingma & Ba), with ``amsgrad`` and ``decoupled_weight_decay`` (= AdamW)."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_common(lr, eps, betas, weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        betas = tuple(map(_to_scalar, betas))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam update of every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, eps = _to_scalar(group["lr"]), group["weight_decay"], group["eps"]
            b1, b2 = (_to_scalar(b) for b in group["betas"])
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p, g, kern in _foreach.items(self, group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _buffer(p)
                    state["exp_avg_sq"] = _buffer(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = _buffer(p)
                st = state["step"].array
                st += 1
                t = float(st)
                a, m, v = p.array, state["exp_avg"].array, state["exp_avg_sq"].array
                vmax = state["max_exp_avg_sq"].array if amsgrad else _foreach.unused(a)
                step_size, bc2s = lr / (1 - b1 ** t), (1 - b2 ** t) ** 0.5
                if kern is not None:
                    f = _foreach.flat
                    c = _foreach.scalars(a, *_decays(lr, wd, decoupled),
                                         *_foreach.lerp_weights(1 - b1), b2, 1 - b2)
                    kern.adam(f(a), f(g), f(m), f(v), f(vmax), maximize, *c, amsgrad,
                              *_foreach.scalars(a, bc2s, eps, -step_size))
                else:
                    _, s0, s1 = _moments(self, a, g, m, v, lr, wd, decoupled, maximize, b1, b2)
                    if amsgrad:
                        np.maximum(vmax, v, out=vmax)
                        v = vmax
                    np.sqrt(v, out=s1)
                    s1 /= bc2s
                    s1 += eps
                    _foreach.addcdiv_(a, m, s1, -step_size, s0)
                p._vc[0] += 1
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): θ ← θ(1 − γλ) each step."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm, u ← max(β₂u, |g| + ε)."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_common(lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adamax update; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, eps = _to_scalar(group["lr"]), group["weight_decay"], group["eps"]
            b1, b2 = group["betas"]
            maximize = group["maximize"]
            for p, g, kern in _foreach.items(self, group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _buffer(p)
                    state["exp_inf"] = _buffer(p)
                st = state["step"].array
                st += 1
                a, m, u = p.array, state["exp_avg"].array, state["exp_inf"].array
                clr = lr / (1 - b1 ** float(st))
                if kern is not None:
                    f = _foreach.flat
                    c = _foreach.scalars(a, wd, *_foreach.lerp_weights(1 - b1), b2, eps, -clr)
                    kern.adamax(f(a), f(g), f(m), f(u), maximize, *c)
                else:
                    s0, s1 = _foreach.scratch(self, a, 2)
                    d = _foreach.direction(g, a, wd, maximize, s0)
                    _foreach.lerp_(m, d, 1 - b1, s1)
                    u *= b2
                    np.abs(d, out=s1)
                    s1 += eps
                    np.maximum(u, s1, out=u)
                    _foreach.addcdiv_(a, m, u, -clr, s1)
                p._vc[0] += 1
        return loss


class NAdam(Optimizer):
    """NAdam (Dozat): Adam with Nesterov momentum and a momentum-decay schedule."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_common(lr, eps, betas, weight_decay)
        _check_nonneg(momentum_decay, "momentum_decay")
        super().__init__(params, dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
            momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One NAdam update; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, eps = _to_scalar(group["lr"]), group["weight_decay"], group["eps"]
            b1, b2 = group["betas"]
            psi, maximize = group["momentum_decay"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p, g, kern in _foreach.items(self, group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["mu_product"] = _step_tensor(1.0)
                    state["exp_avg"] = _buffer(p)
                    state["exp_avg_sq"] = _buffer(p)
                st, mu_prod = state["step"].array, state["mu_product"].array
                st += 1
                t = float(st)
                bc2 = 1 - b2 ** t
                mu = b1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
                mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
                mu_prod *= mu                       # in the state's own (float32) precision
                prod = float(mu_prod)
                s1v = -lr * (1.0 - mu) / (1.0 - prod)
                s2v = (-lr * mu_next) / (1.0 - prod * mu_next)
                a, m, v = p.array, state["exp_avg"].array, state["exp_avg_sq"].array
                if kern is not None:
                    f = _foreach.flat
                    c = _foreach.scalars(a, *_decays(lr, wd, decoupled),
                                         *_foreach.lerp_weights(1 - b1), b2, 1 - b2, bc2, eps,
                                         s1v, s2v)
                    kern.nadam(f(a), f(g), f(m), f(v), maximize, *c)
                else:
                    d, s0, s1 = _moments(self, a, g, m, v, lr, wd, decoupled, maximize, b1, b2)
                    np.divide(v, bc2, out=s1)
                    np.sqrt(s1, out=s1)
                    s1 += eps
                    _foreach.addcdiv_(a, d, s1, s1v, s0)
                    _foreach.addcdiv_(a, m, s1, s2v, s0)
                p._vc[0] += 1
        return loss


class RAdam(Optimizer):
    """RAdam (Liu et al.): Adam with the variance rectification term r."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_common(lr, eps, betas, weight_decay)
        super().__init__(params, dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
            foreach=foreach, capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RAdam update; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, eps = _to_scalar(group["lr"]), group["weight_decay"], group["eps"]
            b1, b2 = group["betas"]
            maximize, decoupled = group["maximize"], group["decoupled_weight_decay"]
            for p, g, kern in _foreach.items(self, group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _buffer(p)
                    state["exp_avg_sq"] = _buffer(p)
                st = state["step"].array
                st += 1
                t = float(st)
                bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
                rho_inf = 2 / (1 - b2) - 1
                rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) if rho_t > 5 else 1
                a, m, v = p.array, state["exp_avg"].array, state["exp_avg_sq"].array
                if kern is not None:
                    f = _foreach.flat
                    c = _foreach.scalars(a, *_decays(lr, wd, decoupled),
                                         *_foreach.lerp_weights(1 - b1), b2, 1 - b2, bc1, lr)
                    kern.radam(f(a), f(g), f(m), f(v), maximize, *c, rho_t > 5.0,
                               *_foreach.scalars(a, rect, bc2 ** 0.5, eps))
                else:
                    _, s0, s1 = _moments(self, a, g, m, v, lr, wd, decoupled, maximize, b1, b2)
                    np.divide(m, bc1, out=s0)
                    s0 *= lr
                    if rho_t > 5.0:
                        np.sqrt(v, out=s1)
                        s1 += eps
                        np.divide(bc2 ** 0.5, s1, out=s1)
                        s0 *= s1
                        s0 *= rect
                    a -= s0
                p._vc[0] += 1
        return loss
