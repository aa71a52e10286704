"""The arguments torch's tensor makers share, read and checked the torch way, for the factories
(``factory.py``) and the random tensors (``sampling.py``): sizes and int arguments, the
``dtype=``/``device=``/``layout=`` options, fill values and range bounds, the new leaf's
``requires_grad``, and the layout and memory-format constants (``strided`` …, all meaning
strided, C order)."""

from __future__ import annotations

import math
import operator

import numpy as np

from ..autograd import Tensor
from ..creation import _dtype
from ..device import check_device
from ..semantics import get_default_dtype


class _Name(str):
    """torch's layout / memory-format constants (accepted, and all mean strided, C order)."""

    def __repr__(self) -> str:
        return f"convgrad.{self}"


strided, preserve_format = _Name("strided"), _Name("preserve_format")
contiguous_format, channels_last = _Name("contiguous_format"), _Name("channels_last")
_LAYOUTS = (None, strided)


def _int(value, op: str, name: str) -> int:
    """An int argument (a Python/NumPy int or a one-element integer tensor); bool and float are
    torch's TypeError."""
    if isinstance(value, (bool, np.bool_, float, np.floating)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{op}(): argument '{name}' must be int, not "
                        f"{type(value).__name__}") from None


def _size(size: tuple, op: str, keyword=None, *, sequence_only: bool = False) -> tuple:
    """``(2, 3)`` from ``size`` = ``(2, 3)`` (varargs) or ``((2, 3),)`` (one sequence), or
    from the ``size=`` keyword; a negative length is torch's RuntimeError."""
    if keyword is not None:
        if size:
            raise TypeError(f"{op}(): size given both positionally and as size=")
        size, sequence_only = (keyword,), True
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    elif sequence_only or not size:
        got = "nothing" if not size else type(size[0]).__name__
        raise TypeError(f"{op}(): argument 'size' must be a tuple of ints, got {got}")
    try:
        shape = tuple(_int(n, op, "size") for n in size)
    except TypeError:
        raise TypeError(f"{op}(): argument 'size' must be a tuple of ints, got "
                        f"{tuple(size)!r}") from None
    if any(n < 0 for n in shape):
        raise RuntimeError(f"{op}: Trying to create tensor with negative dimension "
                           f"{min(shape)}: {list(shape)} (dimension sizes must be non-negative)")
    return shape


def _options(op: str, dtype, device, layout=None, default=None) -> np.dtype:
    """The dtype to make (``dtype=`` validated, else ``default``, else the default float), after
    checking ``device=`` and ``layout=``."""
    check_device(device, op)
    if layout not in _LAYOUTS:
        raise TypeError(f"{op}: only the strided layout exists in convgrad, got {layout!r}")
    d = _dtype(dtype, op)
    return d if d is not None else (default if default is not None else get_default_dtype())


def _alloc(fn, shape: tuple, dtype: np.dtype, op: str) -> np.ndarray:
    try:
        return fn(shape, dtype)
    except ValueError as e:                     # "array is too big"
        raise RuntimeError(f"{op}: cannot allocate a tensor of size {list(shape)} ({e})") \
            from None


def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    """The new leaf; ``requires_grad=True`` on a non-float dtype is torch's RuntimeError."""
    t = Tensor.wrap(array)
    if requires_grad:
        t.requires_grad = True
    return t


def _keep(dtype, t: Tensor):
    """``dtype=`` if given, else t's (an np.dtype is falsy, so never ``dtype or …``)."""
    return t.dtype if dtype is None else dtype


def _like(input, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return input


def _scalar(value):
    """A fill value as a Python number (a one-element tensor gives its item)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(f"a Tensor with {value.numel()} elements cannot be converted "
                               f"to Scalar")
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    if not isinstance(value, (bool, int, float)):
        raise TypeError(f"expected a number as the fill value, got {type(value).__name__}")
    return value


def _number_dtype(value) -> np.dtype:
    """torch's dtype for a Python scalar: bool, int64 or the default float."""
    if isinstance(value, bool):
        return np.dtype(bool)
    return np.dtype(np.int64) if isinstance(value, int) else get_default_dtype()


def _cast(value, dtype: np.dtype, op: str):
    """``value`` as a ``dtype`` scalar, torch's way: floats truncate into integers, ints wrap
    into uint8 from negative, and a value out of range is RuntimeError (never a silent wrap)."""
    if dtype.kind == "b":
        return np.bool_(value)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        ok = math.isfinite(value) and info.min <= math.trunc(value) <= info.max
        if dtype.kind == "u" and isinstance(value, int) and -info.max - 1 <= value < 0:
            ok = True                            # torch: uint8 takes -1 as 255
        if not ok:
            raise RuntimeError(f"{op}: value cannot be converted to type {dtype} without "
                               f"overflow: {value}")
        return np.array(math.trunc(value)).astype(dtype)[()]
    if math.isfinite(value) and abs(value) > float(np.finfo(dtype).max):
        raise RuntimeError(f"{op}: value cannot be converted to type {dtype} without "
                           f"overflow: {value}")
    return dtype.type(value)


def _bound(value, op: str, name: str):
    """A range bound as a Python int or float (bool counts as an int, as in torch)."""
    if isinstance(value, Tensor):
        value = _scalar(value)
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (bool, int, float)):
        raise TypeError(f"{op}(): argument '{name}' must be a number, not "
                        f"{type(value).__name__}")
    return int(value) if isinstance(value, bool) else value
