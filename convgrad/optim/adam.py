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
from .optimizer import (
    Optimizer,
    ParamsT,
    _addcmul_,
    _buffer,
    _check_betas,
    _check_lr,
    _check_nonneg,
    _grad,
    _lerp_,
    _step_tensor,
    _to_scalar,
)

__all__ = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]


def _decay(p: Tensor, g: np.ndarray, lr: float, wd: float, decoupled: bool) -> np.ndarray:
    """Weight decay: θ ← θ(1 − γλ) (decoupled) or g + λθ; returns the gradient to use."""
    if wd != 0:
        if decoupled:
            p.array *= 1 - lr * wd
        else:
            g = g + wd * p.array
    return g


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
            amsgrad = group["amsgrad"]
            for p in self._params_with_grad(group):
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
                g = _decay(p, _grad(p, group, group["maximize"]), lr, wd,
                           group["decoupled_weight_decay"])
                m, v = state["exp_avg"].array, state["exp_avg_sq"].array
                _lerp_(m, g, 1 - b1)
                v *= b2
                _addcmul_(v, g, 1 - b2)
                if amsgrad:
                    vmax = state["max_exp_avg_sq"].array
                    np.maximum(vmax, v, out=vmax)
                    v = vmax
                step_size = lr / (1 - b1 ** t)
                denom = np.sqrt(v)
                denom /= (1 - b2 ** t) ** 0.5
                denom += eps
                np.divide(m, denom, out=denom)
                denom *= -step_size
                p.array += denom
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
            for p in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _buffer(p)
                    state["exp_inf"] = _buffer(p)
                st = state["step"].array
                st += 1
                g = _decay(p, _grad(p, group, group["maximize"]), lr, wd, False)
                m, u = state["exp_avg"].array, state["exp_inf"].array
                _lerp_(m, g, 1 - b1)
                u *= b2
                a = np.abs(g)
                a += eps
                np.maximum(u, a, out=u)
                clr = lr / (1 - b1 ** float(st))
                np.divide(m, u, out=a)
                a *= -clr
                p.array += a
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
            psi = group["momentum_decay"]
            for p in self._params_with_grad(group):
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
                g = _decay(p, _grad(p, group, group["maximize"]), lr, wd,
                           group["decoupled_weight_decay"])
                mu = b1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
                mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
                mu_prod *= mu                       # in the state's own (float32) precision
                prod = float(mu_prod)
                m, v = state["exp_avg"].array, state["exp_avg_sq"].array
                _lerp_(m, g, 1 - b1)
                v *= b2
                _addcmul_(v, g, 1 - b2)
                denom = np.divide(v, bc2)
                np.sqrt(denom, out=denom)
                denom += eps
                upd = np.divide(g, denom)
                upd *= -lr * (1.0 - mu) / (1.0 - prod)
                p.array += upd
                np.divide(m, denom, out=upd)
                upd *= (-lr * mu_next) / (1.0 - prod * mu_next)
                p.array += upd
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
            for p in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _buffer(p)
                    state["exp_avg_sq"] = _buffer(p)
                st = state["step"].array
                st += 1
                t = float(st)
                g = _decay(p, _grad(p, group, group["maximize"]), lr, wd,
                           group["decoupled_weight_decay"])
                m, v = state["exp_avg"].array, state["exp_avg_sq"].array
                _lerp_(m, g, 1 - b1)
                v *= b2
                _addcmul_(v, g, 1 - b2)
                bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
                upd = m / bc1
                rho_inf = 2 / (1 - b2) - 1
                rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
                upd *= lr
                if rho_t > 5.0:
                    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                     / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                    adaptive = np.sqrt(v)
                    adaptive += eps
                    np.divide(bc2 ** 0.5, adaptive, out=adaptive)
                    upd *= adaptive
                    upd *= rect
                p.array -= upd
                p._vc[0] += 1
        return loss
