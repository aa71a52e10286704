"""In-place twins (``add_``, ``mul_``, ``zero_`` …) and the augmented operators (``+=`` …), each
a thin wrapper around ``autograd.modify``: torch's rules (refused on a leaf that requires grad
outside ``no_grad``, version bump, views), with a NumPy in-place fast path when nothing is
recorded — the optimizer idiom ``with no_grad(): p -= lr * p.grad`` runs there.

>>> import numpy as np
>>> from ..autograd import Tensor
>>> p = Tensor(np.ones(2)); q = p; p -= 0.5; q.tolist(), p is q
([0.5, 0.5], True)
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, astype, modify
from ..semantics import result_dtype
from . import elementwise, shape

__all__: list[str] = []     # the top-level twins (convgrad.exp …)


def _operand(other) -> np.ndarray:
    return other.array if isinstance(other, Tensor) else np.asarray(other)


def _binary(name: str, out_of_place, ufunc, reads_self: bool):
    def method(self, other, *, alpha=None):
        if alpha is not None:
            other = other * alpha
        return modify(self, lambda old: out_of_place(old, other), f"{name}_",
                      reads_self=reads_self, others=(other,),
                      fast=lambda a: _fast(ufunc, a, other, f"{name}_"))
    method.__name__ = f"{name}_"
    return method


def _fast(ufunc, a: np.ndarray, other, op: str) -> None:
    b = _operand(other)
    result_kind = result_dtype(a, other).kind
    if a.dtype.kind != "f" and (result_kind == "f" or ufunc is np.true_divide):
        raise RuntimeError(f"{op}: result type Float can't be cast to the desired output type "
                           f"{a.dtype}")
    if np.broadcast_shapes(a.shape, b.shape) != a.shape:
        raise RuntimeError(f"{op}: output with shape {list(a.shape)} doesn't match the "
                           f"broadcast shape {list(np.broadcast_shapes(a.shape, b.shape))}")
    ufunc(a, b, out=a, casting="unsafe")


def zero_(self) -> Tensor:
    return modify(self, lambda old: Tensor.wrap(np.zeros_like(old.array)), "zero_",
                  reads_self=False, fast=lambda a: a.fill(0))


def fill_(self, value) -> Tensor:
    v = _operand(value)
    return modify(self, lambda old: Tensor.wrap(np.full_like(old.array, v)), "fill_",
                  reads_self=False, others=(value,), fast=lambda a: a.fill(v))


def copy_(self, src, non_blocking: bool = False) -> Tensor:
    def compute(old):
        s = src if isinstance(src, Tensor) else Tensor.wrap(np.asarray(src))
        return shape.broadcast_to(astype(s, old.dtype), old.shape)
    return modify(self, compute, "copy_", reads_self=False, others=(src,),
                  fast=lambda a: np.copyto(a, np.broadcast_to(_operand(src), a.shape),
                                           casting="unsafe"))


def relu_(self) -> Tensor:
    return modify(self, elementwise.relu, "relu_", reads_self=False,
                  fast=lambda a: np.maximum(a, 0, out=a))


def _attach() -> None:
    table = {"add": (elementwise.add, np.add, False), "sub": (elementwise.sub, np.subtract,
                                                             False),
             "mul": (elementwise.mul, np.multiply, True),
             "div": (elementwise.div, np.true_divide, True)}
    for name, (fn, ufunc, reads) in table.items():
        method = _binary(name, fn, ufunc, reads)
        setattr(Tensor, f"{name}_", method)
    Tensor.__iadd__ = lambda self, other: Tensor.add_(self, other)
    Tensor.__isub__ = lambda self, other: Tensor.sub_(self, other)
    Tensor.__imul__ = lambda self, other: Tensor.mul_(self, other)
    Tensor.__itruediv__ = lambda self, other: Tensor.div_(self, other)
    Tensor.zero_, Tensor.fill_, Tensor.copy_, Tensor.relu_ = zero_, fill_, copy_, relu_


_attach()
