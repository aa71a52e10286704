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

from ..autograd import Tensor, astype, make, modify
from ..autograd.inplace import _check_dtype
from ..semantics import result_dtype
from . import elementwise, linalg, logic, matrix, ordering, pointwise, shape

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


def _filled(old: Tensor, value) -> Tensor:
    """``value`` everywhere, still in old's graph (torch: the old value's gradient is zero;
    a Tensor value receives Σ g)."""
    parents = (old, value) if isinstance(value, Tensor) else (old,)
    return make(np.full_like(old.array, _operand(value)), parents, lambda g: (
        Tensor.wrap(np.zeros_like(g.array)),
        *((astype(g.sum(), value.dtype),) if len(parents) == 2 else ())), "fill")


def zero_(self) -> Tensor:
    return modify(self, lambda old: _filled(old, 0), "zero_", reads_self=False,
                  fast=lambda a: a.fill(0))


def fill_(self, value) -> Tensor:
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.ndim} dimensions.")
    v = _operand(value)
    return modify(self, lambda old: _filled(old, value), "fill_", reads_self=False,
                  others=(value,), fast=lambda a: a.fill(v))


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


def _write_result(a: np.ndarray, result: Tensor, op: str) -> None:
    """The no-grad path: an out-of-place result checked (dtype category, shape) and copied in."""
    _check_dtype(result.dtype, a.dtype, op)
    if result.shape != a.shape:
        raise RuntimeError(f"{op}: output with shape {list(a.shape)} doesn't match the "
                           f"broadcast shape {list(result.shape)}")
    np.copyto(a, result.array, casting="unsafe")


def _twin(name: str, fn, *, reads_self: bool = True, ufunc=None):
    """``t.<name>_(*args)``: ``fn(t, *args)`` written into t through ``modify``; without a
    graph, ``ufunc(array)`` in place for floats, or ``fn`` of the array copied in."""
    op = f"{name}_"

    def method(self, *args, **kwargs):
        def fast(a: np.ndarray) -> None:
            with np.errstate(all="ignore"):
                if ufunc is not None and a.dtype.kind == "f" and not args and not kwargs:
                    ufunc(a, out=a)
                else:
                    _write_result(a, fn(Tensor.wrap(a), *args, **kwargs), op)
        return modify(self, lambda old: fn(old, *args, **kwargs), op, reads_self=reads_self,
                      others=args + tuple(kwargs.values()), fast=fast)
    method.__name__ = method.__qualname__ = op
    method.__doc__ = f"In-place ``{name}``: ``t.{op}(…)`` is ``t.copy_(t.{name}(…))``, tracked."
    return method


# (name, out-of-place function, whether its backward reads the input, NumPy in-place ufunc)
_UNARY = (("sqrt", pointwise.sqrt, False, np.sqrt), ("rsqrt", pointwise.rsqrt, False, None),
          ("exp", elementwise.exp, False, np.exp), ("log", elementwise.log, True, np.log),
          ("abs", elementwise.abs_, False, np.abs), ("neg", logic.neg, False, np.negative),
          ("sigmoid", elementwise.sigmoid, False, None),
          ("tanh", elementwise.tanh, False, np.tanh), ("sin", pointwise.sin, True, np.sin),
          ("cos", pointwise.cos, True, np.cos), ("tan", pointwise.tan, False, np.tan),
          ("asin", pointwise.asin, True, np.arcsin), ("acos", pointwise.acos, True, np.arccos),
          ("atan", pointwise.atan, True, np.arctan), ("sinh", pointwise.sinh, True, np.sinh),
          ("cosh", pointwise.cosh, True, np.cosh), ("exp2", pointwise.exp2, False, np.exp2),
          ("log2", pointwise.log2, True, np.log2), ("log10", pointwise.log10, True, np.log10),
          ("erf", pointwise.erf, True, None), ("expm1", elementwise.expm1, False, np.expm1),
          ("log1p", elementwise.log1p, True, np.log1p), ("floor", pointwise.floor, False,
                                                          np.floor),
          ("ceil", pointwise.ceil, False, np.ceil), ("trunc", pointwise.trunc, False, np.trunc),
          ("fix", pointwise.trunc, False, np.trunc), ("frac", pointwise.frac, False, None),
          ("sign", pointwise.sign, False, None), ("sgn", pointwise.sgn, False, None),
          ("reciprocal", pointwise.reciprocal, False, np.reciprocal),
          ("square", pointwise.square, True, np.square))

# (name, out-of-place function, whether its backward reads the input)
_WITH_ARGS = (("clamp", pointwise.clamp, False), ("clip", pointwise.clamp, False),
              ("round", pointwise.round_, False), ("pow", elementwise.power, True),
              ("masked_fill", pointwise.masked_fill, False), ("lerp", pointwise.lerp, False),
              ("addcmul", pointwise.addcmul, False), ("addcdiv", pointwise.addcdiv, False),
              ("nan_to_num", pointwise.nan_to_num, False), ("atan2", pointwise.atan2, True),
              ("hypot", pointwise.hypot, True), ("remainder", logic.remainder, False),
              ("fmod", logic.fmod, False), ("floor_divide", logic.floor_divide, False),
              ("bitwise_and", logic.bitwise_and, False), ("bitwise_or", logic.bitwise_or, False),
              ("bitwise_xor", logic.bitwise_xor, False),
              ("bitwise_left_shift", logic.bitwise_left_shift, False),
              ("bitwise_right_shift", logic.bitwise_right_shift, False),
              ("logical_and", logic.logical_and, False), ("logical_or", logic.logical_or, False),
              ("logical_xor", logic.logical_xor, False), ("logical_not", logic.logical_not,
                                                          False),
              ("bitwise_not", logic.bitwise_not, False))


def _addc(name: str, out_of_place, combine):
    """``self + value·combine(tensor1, tensor2)`` in place (the Adam idioms
    ``v.addcmul_(g, g, value=…)``, ``p.addcdiv_(m, d, value=−lr)`` run in NumPy, no graph)."""
    def method(self, tensor1, tensor2, *, value=1) -> Tensor:
        def fast(a: np.ndarray) -> None:
            if a.dtype.kind != "f" or not all(isinstance(t, Tensor) and t.dtype.kind == "f"
                                               for t in (tensor1, tensor2)):
                _write_result(a, out_of_place(Tensor.wrap(a), tensor1, tensor2, value=value),
                              name)
                return
            with np.errstate(all="ignore"):
                step = combine(tensor1.array, tensor2.array) * value
            _fast(np.add, a, Tensor.wrap(step), name)
        return modify(self, lambda old: out_of_place(old, tensor1, tensor2, value=value),
                      name, reads_self=False, others=(tensor1, tensor2), fast=fast)
    method.__name__ = name
    return method


addcmul_ = _addc("addcmul_", pointwise.addcmul, np.multiply)
addcdiv_ = _addc("addcdiv_", pointwise.addcdiv, np.divide)


def fill_diagonal_(self, fill_value, wrap: bool = False) -> Tensor:
    """Set the main diagonal (``t[i, i, …]``) to ``fill_value``; a tall 2-D matrix with
    ``wrap=True`` starts again after N columns, leaving one row out (torch's and NumPy's rule).
    All dims must have the same length when ndim > 2."""
    if self.ndim < 2:
        raise RuntimeError(f"fill_diagonal_: dimensions must larger than 1, got {self.ndim}")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError(f"fill_diagonal_: all dimensions of input must be of equal length, "
                           f"got shape {list(self.shape)}")
    mask = np.zeros(self.shape, bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()

    def compute(old: Tensor) -> Tensor:
        keep = Tensor.wrap((~mask).astype(old.dtype))
        return make(np.where(mask, np.asarray(fill_value).astype(old.dtype), old.array),
                    (old,), lambda g: (g * keep,), "fill_diagonal_")
    return modify(self, compute, "fill_diagonal_", reads_self=False,
                  fast=lambda a: np.copyto(a, np.asarray(fill_value).astype(a.dtype),
                                           where=mask))


# the in-place twins of products and scans (out of place elsewhere; each reads its input)
_OTHERS = (("addmm", linalg.addmm), ("addmv", matrix.addmv), ("addr", matrix.addr),
           ("baddbmm", matrix.baddbmm), ("addbmm", matrix.addbmm),
           ("cumsum", ordering.cumsum), ("cumprod", ordering.cumprod),
           ("negative", logic.neg))


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    for name, fn in _OTHERS:
        setattr(Tensor, f"{name}_", _twin(name, fn))
    for name, fn, reads, ufunc in _UNARY:
        setattr(Tensor, f"{name}_", _twin(name, fn, reads_self=reads, ufunc=ufunc))
    for name, fn, reads in _WITH_ARGS:
        setattr(Tensor, f"{name}_", _twin(name, fn, reads_self=reads))
    Tensor.addcmul_, Tensor.addcdiv_, Tensor.fill_diagonal_ = addcmul_, addcdiv_, fill_diagonal_
    for dunder, name in (("mod", "remainder"), ("floordiv", "floor_divide"), ("pow", "pow"),
                         ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
                         ("lshift", "bitwise_left_shift"), ("rshift", "bitwise_right_shift")):
        setattr(Tensor, f"__i{dunder}__",
                lambda self, other, name=name: getattr(Tensor, f"{name}_")(self, other))
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
