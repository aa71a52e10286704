"""Facts about tensors and dtypes (torch's names): ``is_tensor``, ``numel``, ``result_type``,
``promote_types``, ``can_cast``, ``finfo``/``iinfo``, ``typename``, the legacy tensor types
(``FloatTensor`` …), ``asarray``/``frombuffer``, the thread counts, and the no-op stand-ins for
torch's compiler, autocast and memory pinning (the thread counts, ``compile`` and ``autocast``
live in ``runtime.py``, the Tensor methods in ``info_tensor.py``; this module lists them all).

>>> import convgrad as cg
>>> promote_types(cg.int32, cg.float16), can_cast(cg.float32, cg.int64)
(dtype('float16'), False)
>>> isinstance(cg.zeros(2), FloatTensor), LongTensor([1.7, 2]).tolist()
(True, [1, 2])

Deviations, each because convgrad computes on the CPU in NumPy: ``compile`` returns the model
unchanged (there is no compiler); ``autocast`` is accepted and runs everything in the
tensors' own precision (no mixed precision), ``is_autocast_enabled()`` is always False;
``pin_memory`` raises torch's error for a machine without an accelerator; the legacy
constructors' "uninitialised" tensors (``FloatTensor(3)``) are zeros.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ..autograd import Tensor
from ..autograd.grad_mode import is_inference_mode_enabled
from ..autograd.printing import set_printoptions
from ..creation import _dtype, _from_python
from ..device import check_device
from ..semantics import _promote, get_default_dtype, result_dtype
from . import info_tensor as _it
from .info_tensor import (  # noqa: F401
    _TYPES,
    adjoint,
    conj,
    conj_physical,
    imag,
    is_conj,
    is_neg,
    real,
    resolve_conj,
    resolve_neg,
)
from .runtime import (
    autocast,
    compile,
    get_num_interop_threads,
    get_num_threads,
    is_autocast_enabled,
    set_num_interop_threads,
    set_num_threads,
)

__all__ = ["is_tensor", "is_storage", "numel", "is_floating_point", "is_complex", "is_nonzero",
           "is_signed", "is_same_size", "is_inference", "result_type", "promote_types",
           "can_cast", "finfo", "iinfo", "typename", "dtype", *_TYPES, "asarray", "frombuffer",
           "get_num_threads", "set_num_threads", "get_num_interop_threads",
           "set_num_interop_threads", "compile", "is_inference_mode_enabled", "set_printoptions",
           "is_autocast_enabled", "autocast", "adjoint", "conj", "conj_physical", "real",
           "imag", "resolve_conj", "resolve_neg", "is_conj", "is_neg"]

(FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, ByteTensor,
 CharTensor, BoolTensor) = (getattr(_it, name) for name in _TYPES)
dtype = np.dtype            # the type of convgrad's dtypes: isinstance(convgrad.float32, dtype)
_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2}


def _tensor_arg(x, op: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a convgrad Tensor. ``is_tensor([1])`` is False."""
    return isinstance(obj, Tensor)


def is_storage(obj) -> bool:
    """Always False: convgrad has no storage objects (a tensor's memory is its ndarray)."""
    return False


def numel(input) -> int:
    """The number of elements: ``numel(zeros(2, 3)) == 6``."""
    return _tensor_arg(input, "numel").array.size


def is_floating_point(input) -> bool:
    """Whether the tensor's dtype is a float type."""
    return _tensor_arg(input, "is_floating_point").array.dtype.kind == "f"


def is_complex(input) -> bool:
    """Always False for a tensor (convgrad has no complex dtypes)."""
    _tensor_arg(input, "is_complex")
    return False


def is_signed(input) -> bool:
    """Whether the dtype holds negative values (False for bool and uint8)."""
    return _tensor_arg(input, "is_signed").array.dtype.kind in "if"


def is_nonzero(input) -> bool:
    """``bool`` of a one-element tensor; torch's RuntimeError for zero or several elements."""
    return bool(_tensor_arg(input, "is_nonzero"))


def is_same_size(input, other) -> bool:
    """Whether both tensors have the same shape (dtypes may differ)."""
    _tensor_arg(other, "is_same_size", "other")
    return _tensor_arg(input, "is_same_size").array.shape == other.array.shape


def is_inference(input) -> bool:
    """Always False: tensors made under ``inference_mode`` are ordinary tensors in convgrad."""
    _tensor_arg(input, "is_inference")
    return False


def _number(x) -> bool:
    return isinstance(x, (numbers.Number, np.number, np.bool_)) and not isinstance(x, Tensor)


def result_type(tensor, other) -> np.dtype:
    """torch.result_type of two tensors or numbers: ``result_type(tensor([1]), 1.0)`` is
    float32."""
    if not all(isinstance(v, Tensor) or _number(v) for v in (tensor, other)):
        raise TypeError(f"result_type() received an invalid combination of arguments - got "
                        f"({type(tensor).__name__}, {type(other).__name__}), but expected one "
                        f"of: (Tensor tensor, Tensor other), (Number scalar, Tensor tensor), "
                        f"(Tensor tensor, Number other), (Number scalar1, Number scalar2)")
    return result_dtype(tensor, other)


def _as_dtype(d, op: str, name: str, position: int) -> np.dtype:
    """A convgrad dtype (an ``np.dtype`` or a NumPy scalar type such as ``np.float32``)."""
    ok = isinstance(d, np.dtype) or (isinstance(d, type) and issubclass(d, np.generic))
    if ok and np.dtype(d).kind in "biuf":
        return np.dtype(d)
    raise TypeError(f"{op}(): argument '{name}' (position {position}) must be convgrad.dtype, "
                    f"not {type(d).__name__}")


def promote_types(type1, type2) -> np.dtype:
    """The smallest dtype both cast to (torch's rule: a float beats any integer)."""
    return _promote(_as_dtype(type1, "promote_types", "type1", 1),
                    _as_dtype(type2, "promote_types", "type2", 2))


def can_cast(from_, to) -> bool:
    """torch's casting rule: allowed unless it lowers the category (float → integer, integer
    or float → bool)."""
    a = _as_dtype(from_, "can_cast", "from_", 1)
    b = _as_dtype(to, "can_cast", "to", 2)
    return _CATEGORY[b.kind] >= _CATEGORY[a.kind]


class finfo:  # noqa: N801  (torch's name)
    """torch.finfo: ``bits, eps, max, min, tiny, smallest_normal, resolution, dtype`` of a float
    dtype (the default dtype without argument), as Python numbers.

    >>> finfo().eps == 2.0 ** -23, finfo(np.float16).max
    (True, 65504.0)
    """

    def __init__(self, type=None):  # noqa: A002  (torch's name)
        d = get_default_dtype() if type is None else _info_dtype(type, "finfo")
        if d.kind != "f":
            raise TypeError("convgrad.finfo() requires a floating point input type. Use "
                            "convgrad.iinfo to handle 'convgrad.finfo'")
        f = np.finfo(d)
        self.bits, self.eps, self.max, self.min = f.bits, float(f.eps), float(f.max), float(f.min)
        self.tiny = self.smallest_normal = float(f.smallest_normal)
        self.resolution, self.dtype = float(10.0 ** -f.precision), d.name

    def __eq__(self, other) -> bool:
        return isinstance(other, finfo) and other.dtype == self.dtype

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801  (torch's name)
    """torch.iinfo: ``bits, max, min, dtype`` of an integer dtype.

    >>> iinfo(np.int8).min, iinfo(np.uint8).max
    (-128, 255)
    """

    def __init__(self, type):  # noqa: A002  (torch's name)
        d = _info_dtype(type, "iinfo")
        if d.kind == "b":
            raise TypeError("convgrad.bool is not supported by convgrad.iinfo")
        if d.kind not in "iu":
            raise TypeError("convgrad.iinfo() requires an integer input type. Use "
                            "convgrad.finfo to handle 'convgrad.iinfo'")
        i = np.iinfo(d)
        self.bits, self.max, self.min, self.dtype = i.bits, int(i.max), int(i.min), d.name

    def __eq__(self, other) -> bool:
        return isinstance(other, iinfo) and other.dtype == self.dtype

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def _info_dtype(d, op: str) -> np.dtype:
    return _as_dtype(d, op, "type", 1)


def typename(obj) -> str:
    """The type's name: ``'convgrad.FloatTensor'`` for a float32 tensor, ``'int'`` for 3."""
    if isinstance(obj, Tensor):
        return obj.type()
    if isinstance(obj, np.dtype):
        return "convgrad.dtype"
    module, qualname = getattr(obj, "__module__", "") or "", getattr(obj, "__qualname__", None)
    if qualname is None:
        qualname = getattr(obj, "__name__", None)
    if qualname is None:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


# -- asarray, frombuffer ------------------------------------------------------------------------

def _with_grad(t: Tensor, requires_grad: bool | None) -> Tensor:
    if requires_grad is True and not t.requires_grad:
        t.requires_grad = True
    elif requires_grad is False and t.requires_grad:
        if t.is_leaf:
            t.requires_grad = False
        else:
            t = t.detach()
    return t


def asarray(obj, *, dtype=None, device=None, copy: bool | None = None,
            requires_grad: bool | None = None) -> Tensor:
    """torch.asarray: ``obj`` as a tensor, sharing memory with a Tensor, an ndarray or a buffer
    when the dtype allows (``copy=False`` insists, ``copy=True`` always copies).

    >>> a = np.zeros(2, np.float32); t = asarray(a); a[0] = 1; t.tolist()
    [1.0, 0.0]
    """
    check_device(device, "asarray")
    d = _dtype(dtype, "asarray")
    if isinstance(obj, Tensor):
        if requires_grad is None and obj.requires_grad:
            warnings.warn("convgrad.asarray: unspecified requires_grad now defaults to "
                          "obj.requires_grad instead of False. Pass requires_grad=False "
                          "explicitly to get the old behavior and silence this warning.",
                          UserWarning, stacklevel=2)
        same = d is None or d == obj.dtype
        if same and not copy:
            return _with_grad(obj, requires_grad)
        if not same and copy is False:
            raise ValueError(f"can't alias tensor with dtype {obj.dtype} into dtype {d}.")
        return _with_grad(obj.clone() if same else obj.to(d), requires_grad)
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        _dtype(array.dtype, "asarray")
        if d is not None and d != array.dtype:
            if copy is False:
                raise ValueError(f"can't alias array with dtype {array.dtype} into dtype {d}.")
            array = array.astype(d)
        elif copy or isinstance(obj, np.generic):
            array = array.copy()
    elif isinstance(obj, (bytes, bytearray, memoryview)) or (
            not isinstance(obj, (list, tuple)) and hasattr(obj, "__buffer__")):
        array = np.frombuffer(obj, dtype=d or get_default_dtype())
        if copy:
            array = array.copy()
    else:
        if copy is False:
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        array = np.array(_from_python(obj, d, "asarray"), copy=True)
    return _with_grad(Tensor(array), requires_grad)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D tensor over the bytes of ``buffer`` (bytes, bytearray, memoryview …), sharing its
    memory: ``count`` elements of ``dtype`` from byte ``offset`` (−1: all the rest).

    >>> frombuffer(bytearray(b"\\x01\\x02"), dtype=np.uint8).tolist()
    [1, 2]
    """
    d = _dtype(dtype, "frombuffer")
    try:
        length = memoryview(buffer).nbytes
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if not 0 <= offset < length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    size = d.itemsize
    if count < 0:
        if (length - offset) % size:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                             f"bytes) must be a multiple of element size ({size})")
        count = (length - offset) // size
    elif offset + count * size > length:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({length} bytes)")
    return Tensor(np.frombuffer(buffer, dtype=d, count=count, offset=offset),
                  requires_grad=requires_grad)
