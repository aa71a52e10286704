"""Argument rules shared by the functional ops and the layers built on them.

Each checker returns the value in its canonical form or raises a ValueError/TypeError that names
the op, the argument, the value and the rule — so a layer constructor and its functional op
refuse the same values with the same words.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd import Tensor

KIND_NAMES = {"f": "floating point", "i": "integer", "u": "unsigned integer", "b": "bool"}


def tensor(op: str, name: str, value, kinds: str = "f") -> Tensor:
    """``value`` (Tensor, ndarray or array-like) as a Tensor whose dtype kind is in ``kinds``;
    floating tensors must be float32 or float64 (convgrad never casts silently)."""
    if isinstance(value, Tensor):
        t = value
    else:
        if value is None or isinstance(value, (str, bytes, dict, set)):
            raise TypeError(f"{op}: {name} must be a Tensor or an array, got "
                            f"{type(value).__name__}")
        try:
            t = Tensor(np.asarray(value))
        except (ValueError, TypeError) as e:
            raise TypeError(f"{op}: {name} is not an array ({e})") from None
    kind = t.dtype.kind
    if kind not in kinds or (kind == "f" and t.dtype not in (np.float32, np.float64)):
        wanted = " or ".join(KIND_NAMES[k] for k in kinds)
        extra = " (float32 or float64)" if "f" in kinds else ""
        raise TypeError(f"{op}: {name} must be {wanted}{extra}, got dtype {t.dtype}")
    return t


def real(op: str, name: str, value, low: float | None = None, high: float | None = None,
         open_low: bool = False, finite: bool = True) -> float:
    """A real number (finite unless ``finite=False``) in ``[low, high]`` (``(low, high]``
    with ``open_low``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    value = float(value)
    if math.isnan(value) and not finite:
        return value
    if finite and not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be finite, got {value}")
    if (low is not None and (value < low or (open_low and value == low))) or \
            (high is not None and value > high):
        bounds = f"{'(' if open_low else '['}{'-inf' if low is None else f'{low:g}'}, " \
                 f"{'inf' if high is None else f'{high:g}'}]"
        raise ValueError(f"{op}: {name} must be in {bounds}, got {value}")
    return value


def integer(op: str, name: str, value, low: int | None = None) -> int:
    """An int (not a bool) that is at least ``low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{op}: {name} must be ≥ {low}, got {value}")
    return int(value)


def boolean(op: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return bool(value)


def choice(op: str, name: str, value, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{op}: {name} must be one of {tuple(options)}, got {value!r}")
    return value
