r"""``torch.optim.SGD``.

With gradient g, weight decay λ, momentum μ, dampening τ, learning rate γ (g ← −g for
``maximize``)::

    g ← g + λθ
    b ← g (first step), else μ·b + (1 − τ)·g          (when μ ≠ 0)
    g ← g + μ·b if nesterov else b
    θ ← θ − γ·g
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, ParamsT, _check_lr, _check_nonneg, _grad, _to_scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float | Tensor = 0,
                 nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_nonneg(momentum, "momentum")
        _check_nonneg(_to_scalar(weight_decay), "weight_decay")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd = _to_scalar(group["lr"]), _to_scalar(group["weight_decay"])
            momentum, dampening = group["momentum"], group["dampening"]
            for p in self._params_with_grad(group):
                g = _grad(p, group, group["maximize"])
                if wd != 0:
                    g = g + wd * p.array
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        state["momentum_buffer"] = Tensor.wrap(np.array(g, copy=True))
                        buf_a = state["momentum_buffer"].array
                    else:
                        buf_a = buf.array
                        buf_a *= momentum
                        buf_a += (1 - dampening) * g
                    g = g + momentum * buf_a if group["nesterov"] else buf_a
                p.array -= lr * g
                p._vc[0] += 1
        return loss
