"""Gradient clipping as torch.nn.utils: ``clip_grad_norm_`` (scale every gradient by
``min(1, max_norm/(‖g‖ + 1e-6))``, the norm taken over all gradients together),
``clip_grad_value_`` (clamp to ±value), ``get_total_norm``, ``clip_grads_with_norm_``.

>>> import numpy as np
>>> from ...autograd import Tensor
>>> p = Tensor(np.zeros(2), requires_grad=True); p.grad = Tensor(np.array([3.0, 4.0]))
>>> round(clip_grad_norm_([p], 1.0).item(), 6), np.round(p.grad.array, 4).tolist()
(5.0, [0.6, 0.8])
"""

from __future__ import annotations

import math
import warnings
from typing import Iterable

import numpy as np

from ...autograd import Tensor, no_grad
from ...semantics import get_default_dtype

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(a: np.ndarray, p: float) -> np.ndarray:
    """torch.linalg.vector_norm of the flattened array, in its dtype."""
    x = np.abs(a.reshape(-1))
    if p == math.inf:
        value = x.max() if x.size else 0.0
    elif p == -math.inf:
        value = x.min() if x.size else math.inf
    elif p == 0:
        value = np.count_nonzero(x)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            value = np.sum(x ** p) ** (1.0 / p)
    return np.asarray(value, dtype=a.dtype if a.dtype.kind == "f" else get_default_dtype())


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The norm of the norms of ``tensors`` (a Tensor or an iterable of them)."""
    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return Tensor.wrap(np.asarray(0.0, dtype=get_default_dtype()))
    norms = [_vector_norm(t.array, norm_type) for t in tensors]
    stacked = np.stack(norms) if len({n.dtype for n in norms}) == 1 else np.stack(
        [n.astype(np.result_type(*norms)) for n in norms])
    total = _vector_norm(stacked, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           f"`parameters` is non-finite, so it cannot be clipped. To disable "
                           f"this error and scale the gradients by the non-finite norm anyway, "
                           f"set `error_if_nonfinite=False`")
    return Tensor.wrap(total)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale the gradients by ``min(1, max_norm/(total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm.array if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.minimum(max_norm / (total + 1e-6), 1.0).astype(total.dtype)
    with no_grad():
        for g in grads:
            g.mul_(float(coef.astype(g.dtype)))


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Clip the gradients' total norm to ``max_norm`` in place; returns the total norm (before
    clipping) as a Tensor."""
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_`` (torch's FutureWarning)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient to [−clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
