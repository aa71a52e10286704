"""Shape ops: views and rearrangements of the same elements (reshape, permute, transpose …).

Ops whose result shares the input's memory are views (``make(view=…)``): they share its version
counter and can be updated in place, as in torch. Every dim is checked by ``normalize_dim``.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, make
from ..semantics import normalize_dim
from . import reduction as _reduction

__all__ = ["flatten", "reshape", "permute", "swapaxes", "broadcast_to"]


def broadcast_to(a, shape) -> Tensor:
    shape = tuple(shape)
    return make(np.broadcast_to(a.array, shape).copy(), (a,),
                lambda g: (_reduction.unbroadcast(g, a.shape),), "broadcast_to")


def reshape(a, *shape) -> Tensor:
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return make(a.array.reshape(shape), (a,), lambda g: (g.reshape(a.shape),), "reshape",
                view=lambda b: reshape(b, shape))


def permute(a, *axes) -> Tensor:
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    if not axes:
        axes = tuple(range(a.ndim))[::-1]
    elif len(axes) != a.ndim:
        raise ValueError(f"permute: needs one dim per axis of the input ({a.ndim}), got "
                         f"{tuple(axes)}")
    else:
        axes = tuple(normalize_dim(i, a.ndim, "permute") for i in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"permute: duplicate dims are not allowed, got {axes}")
    inverse = tuple(np.argsort(axes))
    return make(a.array.transpose(axes), (a,), lambda g: (permute(g, inverse),), "permute",
                view=lambda b: permute(b, axes))


def swapaxes(a, i: int, j: int) -> Tensor:
    """Dims i and j exchanged (torch.transpose): a view; its own inverse, so the backward
    swaps them back."""
    i, j = normalize_dim(i, a.ndim, "swapaxes"), normalize_dim(j, a.ndim, "swapaxes")
    if a.ndim == 0:
        return a
    return make(a.array.swapaxes(i, j), (a,), lambda g: (swapaxes(g, i, j),), "transpose",
                view=lambda b: swapaxes(b, i, j))


def flatten(a, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims ``start_dim … end_dim`` merged into one (torch.flatten); a 0-d tensor becomes 1-d."""
    if a.ndim == 0:
        return reshape(a, 1)
    lo, hi = (normalize_dim(d, a.ndim, "flatten") for d in (start_dim, end_dim))
    if lo > hi:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                           f"({end_dim})")
    return reshape(a, *a.shape[:lo], -1, *a.shape[hi + 1:])


def _attach() -> None:
    Tensor.reshape, Tensor.permute, Tensor.swapaxes = reshape, permute, swapaxes
    Tensor.transpose = swapaxes
    Tensor.T = property(lambda self: permute(self))
    Tensor.flatten = flatten


_attach()
