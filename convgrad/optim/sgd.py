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
from . import _foreach
from .optimizer import Optimizer, ParamsT, _check_lr, _check_nonneg, _to_scalar

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
            mu, damp1 = group["momentum"], 1 - group["dampening"]
            maximize, nesterov = group["maximize"], group["nesterov"]
            for p, g, kern in _foreach.items(self, group):
                buf, first = None, False
                if mu != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    first = buf is None
                    if first:
                        buf = state["momentum_buffer"] = Tensor.wrap(np.empty_like(p.array))
                if kern is not None:
                    a = p.array.reshape(-1)
                    kern.sgd(a, g.reshape(-1),
                             _foreach.unused(a) if buf is None else buf.array.reshape(-1),
                             *_foreach.scalars(g, lr, wd, mu, damp1), maximize, mu != 0, first,
                             nesterov)
                else:
                    self._numpy_step(p.array, g, buf, first, lr, wd, mu, damp1, maximize,
                                     nesterov)
                p._vc[0] += 1
        return loss

    def _numpy_step(self, a: np.ndarray, g: np.ndarray, buf: Tensor | None, first: bool,
                    lr: float, wd: float, mu: float, damp1: float, maximize: bool,
                    nesterov: bool) -> None:
        s0, s1 = _foreach.scratch(self, a, 2)
        d = _foreach.direction(g, a, wd, maximize, s0)
        if buf is not None:
            b = buf.array
            if first:
                np.copyto(b, d)
            else:
                b *= mu
                if damp1 != 1:
                    np.multiply(d, damp1, out=s1)
                    b += s1
                else:
                    b += d
            if nesterov:
                np.multiply(b, mu, out=s1)
                d = np.add(d, s1, out=s1)
            else:
                d = b
        np.multiply(d, lr, out=s1)
        a -= s1
