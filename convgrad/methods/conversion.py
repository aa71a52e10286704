"""Conversions: ``to`` (dtype, device, another tensor), the dtype shorthands (``float()``,
``long()`` …), ``type``, ``type_as``, ``cpu``/``cuda`` and ``clone``, with torch's rules.

``to`` returns the tensor itself when nothing changes (and ``copy=False``); otherwise a cast
that is differentiable between float dtypes. A cast to an integer or bool dtype leaves the
graph: its result never requires grad (torch's rule).

>>> import numpy as np
>>> x = Tensor(np.array([1.5, 2.0], np.float32), requires_grad=True)
>>> x.to(np.float32) is x, x.double().dtype, x.long().tolist(), x.long().requires_grad
(True, dtype('float64'), [1, 2], False)
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, astype, make
from ..device import CPU, check_device, device

__all__ = ["clone"]

_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
          "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
_BY_NAME = {name: np.dtype(dt) for dt, name in _NAMES.items()}


def _as_dtype(value, op: str) -> np.dtype | None:
    """A dtype argument (a NumPy dtype or scalar type, as convgrad.float32 is) or None."""
    if value is None:
        return None
    if getattr(value, "__name__", None) == "bfloat16" or str(value) == "bfloat16":
        raise TypeError(f"{op}: bfloat16 is not supported (NumPy has no bfloat16; use "
                        f"float16 or float32)")
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        d = np.dtype(value)
        if d.kind not in "biuf":
            raise TypeError(f"{op}: unsupported dtype {d}")
        return d
    if value in (float, int, bool):
        return np.dtype({float: np.float64, int: np.int64, bool: np.bool_}[value])
    raise TypeError(f"{op}(): dtype must be a convgrad dtype (e.g. convgrad.float32), got "
                    f"{value!r}")


def _is_dtype(value) -> bool:
    return isinstance(value, np.dtype) or value in (float, int, bool) or (
        isinstance(value, type) and issubclass(value, np.generic))


def _is_device(value) -> bool:
    return isinstance(value, (str, device)) or (isinstance(value, int)
                                                and not isinstance(value, bool))


def cast(a: Tensor, dtype: np.dtype, copy: bool = False) -> Tensor:
    """``a`` as ``dtype``: a itself when it already is (unless ``copy``); a differentiable cast
    between floats (op "to"); a cast to an integer or bool dtype is outside the graph."""
    if a.dtype == dtype:
        return make(a.array.copy(), (a,), lambda g: (g,), "to") if copy else a
    if dtype.kind != "f" or a.dtype.kind != "f":      # (an integer a never requires grad)
        return Tensor.wrap(a.array.astype(dtype))
    return astype(a, dtype)


def to(self, *args, **kwargs) -> Tensor:
    """``to(dtype)``, ``to(device, dtype=None)``, ``to(other)`` (its dtype and device), with
    keywords ``dtype=``, ``device=``, ``non_blocking=``, ``copy=``, ``memory_format=``.
    Returns self when neither dtype nor device changes and ``copy`` is False."""
    allowed = {"dtype", "device", "non_blocking", "copy", "memory_format"}
    unknown = set(kwargs) - allowed
    if unknown:
        raise TypeError(f"to() received an invalid combination of arguments: unexpected "
                        f"keyword {sorted(unknown)[0]!r} (expected dtype, device, "
                        f"non_blocking, copy, memory_format)")
    dtype, where = kwargs.get("dtype"), kwargs.get("device")
    flags = []
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        dtype, where = other.dtype, other.device
    elif rest and _is_dtype(rest[0]):
        dtype = rest.pop(0)
    elif rest and (_is_device(rest[0]) or rest[0] is None):
        where = rest.pop(0)
        if rest and (_is_dtype(rest[0]) or rest[0] is None):
            dtype = rest.pop(0)
    for value in rest:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"to() received an invalid combination of arguments: got "
                            f"{', '.join(type(a).__name__ for a in args)} (expected a dtype, "
                            f"a device or a Tensor, then the bools non_blocking, copy)")
        flags.append(bool(value))
    if len(flags) > 2:
        raise TypeError("to(): too many positional arguments")
    copy = kwargs.get("copy", flags[1] if len(flags) > 1 else False)
    if isinstance(where, str):
        try:
            where = device(where)
        except RuntimeError:
            raise RuntimeError(f"to(): Invalid device string: '{where}'") from None
    elif isinstance(where, int) and not isinstance(where, bool):
        where = device("cuda", where)
    check_device(where, "to")
    return cast(self, _as_dtype(dtype, "to") if dtype is not None else self.dtype, bool(copy))


def cpu(self, memory_format=None) -> Tensor:
    """The tensor itself: it already lives on the CPU."""
    return self


def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
    """Refused: convgrad computes on the CPU only (torch's error without CUDA)."""
    check_device("cuda", "cuda")
    return self


def _shorthand(name: str, dtype):
    def method(self, memory_format=None) -> Tensor:
        return cast(self, np.dtype(dtype))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``self.to({np.dtype(dtype)})`` (self when it already is)."
    return method


def bfloat16(self, memory_format=None) -> Tensor:
    """Refused: NumPy has no bfloat16."""
    return cast(self, _as_dtype("bfloat16", "bfloat16"))


def type_(self, dtype=None, non_blocking: bool = False, **kwargs):
    """No argument: the type's name, e.g. ``'convgrad.FloatTensor'`` (torch's
    ``'torch.FloatTensor'``); with a dtype or such a name: ``self.to(dtype)``."""
    if dtype is None:
        return f"convgrad.{_NAMES[str(self.dtype)]}Tensor"
    if isinstance(dtype, str):
        prefix, _, name = dtype.rpartition(".")
        if prefix not in ("convgrad", "torch") or not name.endswith("Tensor") or (
                name[:-6] not in _BY_NAME):
            raise ValueError(f"type: invalid type: {dtype!r} (expected e.g. "
                             f"'convgrad.DoubleTensor')")
        return cast(self, _BY_NAME[name[:-6]])
    return cast(self, _as_dtype(dtype, "type"))


def type_as(self, other) -> Tensor:
    """``self.to(other.dtype)``."""
    if not isinstance(other, Tensor):
        raise TypeError(f"type_as(): argument 'other' must be Tensor, not "
                        f"{type(other).__name__}")
    return cast(self, other.dtype)


def clone(input, *, memory_format=None) -> Tensor:
    """A copy of the values in new memory; differentiable (the gradient passes through)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"clone(): argument 'input' must be Tensor, not {type(input).__name__}")
    return make(input.array.copy(), (input,), lambda g: (g,), "clone")


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    Tensor.to, Tensor.cpu, Tensor.cuda, Tensor.type, Tensor.type_as = to, cpu, cuda, type_, type_as
    Tensor.clone, Tensor.bfloat16 = clone, bfloat16
    for name, dtype in (("float", np.float32), ("double", np.float64), ("half", np.float16),
                        ("long", np.int64), ("int", np.int32), ("short", np.int16),
                        ("char", np.int8), ("byte", np.uint8), ("bool", np.bool_)):
        setattr(Tensor, name, _shorthand(name, dtype))
    if not isinstance(getattr(Tensor, "device", None), property):
        Tensor.device = property(lambda self: CPU)
