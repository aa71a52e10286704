"""The legacy tensor types (``FloatTensor`` …) and the Tensor's facts that only matter to
complex or pinned-memory tensors in torch (``conj``, ``real``, ``H``, ``is_pinned`` …), which for
convgrad's real, CPU tensors are the tensor itself or a constant. Part of ``info``.

>>> import convgrad as cg
>>> FloatTensor([1, 2]).dtype, LongTensor(3).tolist(), isinstance(cg.zeros(1), FloatTensor)
(dtype('float32'), [0, 0, 0], True)
>>> x = cg.zeros(2, 3); x.conj() is x, x.H.shape, x.layout
(True, convgrad.Size([3, 2]), convgrad.strided)
"""

from __future__ import annotations

import numbers
import operator
import warnings
from typing import Callable

import numpy as np

from ..autograd import Size, Tensor
from ..creation import _from_python
from ..device import check_device
from .factory_args import strided

_TYPES = ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
          "ByteTensor", "CharTensor", "BoolTensor")


class _TensorType(type):
    """The metaclass of the legacy types: calling one makes a Tensor of its dtype, and
    ``isinstance(t, FloatTensor)`` asks whether the tensor's dtype is float32 (torch's rule)."""

    dtype: np.dtype

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.array.dtype == cls.dtype

    def __subclasscheck__(cls, sub) -> bool:
        return sub is cls

    def __repr__(cls) -> str:
        return f"<class 'convgrad.{cls.__name__}'>"

    def __call__(cls, *args, device=None, **kwargs) -> Tensor:
        name = cls.__name__
        check_device(device, name)
        if kwargs:
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"unexpected keyword(s) {', '.join(kwargs)}; it takes a size "
                            f"(ints or a Size), data (a sequence, ndarray or Tensor) and "
                            f"device=")
        d = cls.dtype
        if len(args) == 1 and isinstance(args[0], Size):
            args = tuple(args[0])
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))
               for a in args):                             # a size (no args: an empty tensor)
            shape = [int(a) for a in args] if args else [0]
            if any(s < 0 for s in shape):
                bad = next(s for s in shape if s < 0)
                raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: "
                                   f"{shape}")
            return Tensor(np.zeros(shape, dtype=d))
        if len(args) != 1:
            raise TypeError(f"{name}(): expected a size (ints) or one data argument, got "
                            f"({', '.join(type(a).__name__ for a in args)})")
        data = args[0]
        if isinstance(data, Tensor):
            if data.array.dtype != d:
                raise TypeError(f"{name}(): expected a tensor of dtype {d}, got "
                                f"{data.array.dtype} (use .to({d}) to convert)")
            return Tensor.wrap(data.array)                 # shares the memory, as in torch
        if isinstance(data, str):
            raise TypeError(f"{name}(): invalid data type 'str'")
        if not isinstance(data, (list, tuple, np.ndarray)):
            raise TypeError(f"{name}(): data must be a sequence (got {type(data).__name__})")
        array = _from_python(data, None, name)
        if array.dtype.kind == "f" and not isinstance(data, np.ndarray):
            array = _from_python(data, np.dtype(np.float64), name)    # Python floats exactly
        if d.kind in "iu" and array.dtype.kind == "f" and array.size:
            info = np.iinfo(d)
            if not (info.min <= array.min() and array.max() <= info.max):
                raise RuntimeError(f"value cannot be converted to type {d} without overflow")
        return Tensor(np.array(array, copy=True).astype(d, casting="unsafe"))


def _legacy(name: str, dtype) -> _TensorType:
    cls = _TensorType(name, (), {"dtype": np.dtype(dtype), "is_cuda": False,
                                 "__module__": "convgrad",
                                 "__doc__": f"The legacy constructor of {np.dtype(dtype)} "
                                            f"tensors, and the isinstance test for them."})
    return cls


FloatTensor = _legacy("FloatTensor", np.float32)
DoubleTensor = _legacy("DoubleTensor", np.float64)
HalfTensor = _legacy("HalfTensor", np.float16)
LongTensor = _legacy("LongTensor", np.int64)
IntTensor = _legacy("IntTensor", np.int32)
ShortTensor = _legacy("ShortTensor", np.int16)
ByteTensor = _legacy("ByteTensor", np.uint8)
CharTensor = _legacy("CharTensor", np.int8)
BoolTensor = _legacy("BoolTensor", np.bool_)


# -- complex-number facts of real tensors ----------------------------------------------------

def _tensor(x, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def conj(input) -> Tensor:
    """The complex conjugate: the tensor itself for a real tensor."""
    return _tensor(input, "conj")


def resolve_conj(input) -> Tensor:
    """The tensor itself (no lazy conjugation exists for real tensors)."""
    return _tensor(input, "resolve_conj")


def resolve_neg(input) -> Tensor:
    """The tensor itself (no lazy negation exists for real tensors)."""
    return _tensor(input, "resolve_neg")


def conj_physical(input) -> Tensor:
    """The conjugate in new memory: a copy for a real tensor (differentiable)."""
    return _tensor(input, "conj_physical").clone()


def real(input) -> Tensor:
    """The real part: the tensor itself."""
    return _tensor(input, "real")


def imag(input) -> Tensor:
    """torch's RuntimeError: a real tensor has no imaginary part."""
    _tensor(input, "imag")
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def is_conj(input) -> bool:
    """Always False (no lazy conjugation)."""
    _tensor(input, "is_conj")
    return False


def is_neg(input) -> bool:
    """Always False (no lazy negation)."""
    _tensor(input, "is_neg")
    return False


def adjoint(input) -> Tensor:
    """The conjugate transpose of the last two dims (``mT`` for real tensors)."""
    if _tensor(input, "adjoint").ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.ndim}-D tensor.")
    return input.mT


def _h(self: Tensor) -> Tensor:
    if self.ndim == 0:
        warnings.warn("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().",
                      UserWarning, stacklevel=2)
        return self
    if self.ndim != 2:
        hint = " For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{self.ndim}-D tensor.{hint}")
    return self.mT


def _mh(self: Tensor) -> Tensor:
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. "
                           f"Got {self.ndim}-D tensor.")
    return self.mT


def _imag(self: Tensor) -> Tensor:
    return imag(self)


# -- memory facts --------------------------------------------------------------------------------

def data_ptr(self: Tensor) -> int:
    """The address of the first element (0 for an empty tensor)."""
    return int(self.array.ctypes.data) if self.array.size else 0


def share_memory_(self: Tensor) -> Tensor:
    """Marks the tensor shared (``is_shared()`` then says True); its memory stays where it is:
    threads share it already, and convgrad has no multiprocessing tensors."""
    self._shared = True
    return self


def is_shared(self: Tensor) -> bool:
    """Whether ``share_memory_()`` was called on the tensor."""
    return bool(getattr(self, "_shared", False))


def pin_memory(self: Tensor, device=None) -> Tensor:
    """torch's error on a machine without an accelerator: pinned memory needs one."""
    raise RuntimeError("Cannot access accelerator device when none is available.")


def is_pinned(self: Tensor, device=None) -> bool:
    """Always False (no pinned memory without an accelerator)."""
    return False


# -- apply_ -------------------------------------------------------------------------------------

def _to_int(v) -> int:
    if isinstance(v, numbers.Real) or isinstance(v, (np.number, Tensor)):
        return int(v)
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"'{type(v).__name__}' object cannot be interpreted as an "
                        f"integer") from None


def _to_float(v) -> float:
    if isinstance(v, (numbers.Real, np.number, Tensor)) and not isinstance(v, complex):
        return float(v)
    raise TypeError(f"must be real number, not {type(v).__name__}")


def apply_(self: Tensor, callable: Callable) -> Tensor:  # noqa: A002  (torch's name)
    """Replace each element ``v`` by ``callable(v)`` (a Python number in and out), in place;
    refused, as in torch, on a tensor that requires grad. Slow: one Python call per element.

    >>> Tensor(np.arange(3.0)).apply_(lambda v: v * 2).tolist()
    [0.0, 2.0, 4.0]
    """
    if self.requires_grad:
        raise RuntimeError("Can't call apply_() on Variable that requires grad. Use "
                           "var.detach().apply_() instead.")
    a = self.array
    if not a.flags.writeable:
        raise RuntimeError("apply_(): unsupported operation: more than one element of the "
                           "written-to tensor refers to a single memory location (an expanded "
                           "tensor). Please clone() the tensor before performing the operation.")
    kind = a.dtype.kind
    convert = _to_float if kind == "f" else _to_int
    info = np.iinfo(a.dtype) if kind in "iu" else None
    with np.nditer(a, op_flags=["readwrite"]) as it:
        for cell in it:
            v = convert(callable(cell.item()))
            if info is not None and not info.min <= v <= info.max:
                if a.dtype == np.int64:
                    raise ValueError("Overflow when unpacking long long")
                raise RuntimeError(f"value cannot be converted to type {a.dtype} without "
                                   f"overflow")
            cell[...] = bool(v) if kind == "b" else v
    self._vc[0] += 1
    return self


def attach() -> None:
    """Set the Tensor methods and properties of this module and ``info``'s."""
    T = Tensor
    T.is_signed = lambda self: self.array.dtype.kind in "if"
    T.is_complex = lambda self: False
    T.is_inference = lambda self: False
    T.is_conj = T.is_neg = lambda self: False
    T.conj = T.resolve_conj = T.resolve_neg = lambda self: self
    T.conj_physical, T.adjoint = conj_physical, adjoint
    T.real = property(lambda self: self)
    T.imag = property(_imag)
    T.H, T.mH = property(_h), property(_mh)
    T.layout = property(lambda self: strided)
    T.output_nr = property(lambda self: 0)
    T.data_ptr, T.share_memory_, T.is_shared = data_ptr, share_memory_, is_shared
    T.pin_memory, T.is_pinned, T.apply_ = pin_memory, is_pinned, apply_

    def is_same_size(self, other) -> bool:
        if not isinstance(other, Tensor):
            raise TypeError(f"is_same_size(): argument 'other' (position 1) must be Tensor, "
                            f"not {type(other).__name__}")
        return self.array.shape == other.array.shape

    def is_nonzero(self) -> bool:
        return bool(self)

    T.is_same_size, T.is_nonzero = is_same_size, is_nonzero
