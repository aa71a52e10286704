"""Making tensors, with torch's dtype rules: Python floats (and lists of them) take the default
dtype (float32), Python ints int64, bools bool; NumPy arrays keep their dtype.

>>> tensor([1.0, 2.0]).dtype, tensor([1, 2]).dtype, tensor(np.zeros(2)).dtype
(dtype('float32'), dtype('int64'), dtype('float64'))
"""

from __future__ import annotations

import numpy as np

from .autograd import Tensor
from .device import check_device

__all__ = ["tensor", "as_tensor", "from_numpy", "from_dlpack"]
from .semantics import get_default_dtype


def _dtype(dtype, op: str) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype must be a dtype (convgrad.float32, np.int64, …), got "
                        f"{dtype!r}") from None
    if d.kind not in "biuf":
        raise TypeError(f"{op}: unsupported dtype {d} (bool, integer and floating types only)")
    return d


def _infer(data) -> np.dtype:
    """torch's dtype for Python data: bool < int64 < the default float, by the widest element."""
    flat = [data]
    kind = "b"
    while flat:
        v = flat.pop()
        if isinstance(v, Tensor):
            v = v.array
        if isinstance(v, (np.ndarray, np.generic)):
            k = "f" if v.dtype.kind == "f" else "i" if v.dtype.kind in "iu" else "b"
        elif isinstance(v, (bool, np.bool_)):
            k = "b"
        elif isinstance(v, int):
            k = "i"
        elif isinstance(v, float):
            k = "f"
        elif isinstance(v, (list, tuple)):
            flat.extend(v)
            continue
        else:
            raise TypeError(f"tensor: could not infer dtype of {type(v).__name__}")
        kind = max(kind, k, key="bif".index)
    return {"b": np.dtype(bool), "i": np.dtype(np.int64), "f": get_default_dtype()}[kind]


def _from_python(data, dtype: np.dtype | None, op: str) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.array
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
        data = [v.array if isinstance(v, Tensor) else v for v in data]
    try:
        target = dtype if dtype is not None else (
            data.dtype if isinstance(data, np.generic) else _infer(data))
        return np.array(data, dtype=target)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"{op}: cannot make a tensor of {type(data).__name__} data ({e})") \
            from None


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, an ndarray, a Tensor)."""
    check_device(device, "tensor")
    array = _from_python(data, _dtype(dtype, "tensor"), "tensor")
    return Tensor(np.array(array, copy=True), requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory with an ndarray or Tensor of the same dtype."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    return Tensor(_from_python(data, _dtype(dtype, "as_tensor"), "as_tensor"))


def from_numpy(array: np.ndarray) -> Tensor:
    """The ndarray as a tensor; both share memory (a change to one shows in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    _dtype(array.dtype, "from_numpy")
    return Tensor(array)


def from_dlpack(ext) -> Tensor:
    """A tensor sharing memory with any object that has ``__dlpack__`` (a torch tensor, an
    ndarray …)."""
    return Tensor(np.from_dlpack(ext))
