"""What an index means: ``t[index]``'s index turned once (``_normalize``) into the index NumPy
should apply, with torch's rules — a negative step is a ValueError, a uint8 tensor is a mask
(deprecated), only int64/int32/bool/uint8 tensors index, a list holding slices or sequences is a
tuple, and an int is applied before the advanced indices (``_TwoStage``). ``_get``/``_set`` apply
a normalized index; the ops themselves are in ``indexing.py``."""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd import Tensor

_SIMPLE = (int, type(None), type(Ellipsis))
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


def _bad_index(p) -> IndexError:
    return IndexError(f"index: only integers, slices (`:`), ellipsis (`...`), None and long or "
                      f"byte Variables are valid indices (got {type(p).__name__})")


def _array_part(arr: np.ndarray):
    """An array used as one index: a mask (bool, or uint8 as torch), an int array, or — 0-d
    integer — a plain int (basic indexing, as torch)."""
    kind = arr.dtype
    if kind.kind == "b":
        return arr
    if kind == np.uint8:
        warnings.warn("indexing with dtype uint8 is deprecated (torch treats it as a mask); use "
                      "a bool mask instead", UserWarning, stacklevel=4)
        return arr.astype(bool)
    if kind not in _INDEX_DTYPES:
        if arr.size == 0 and kind.kind == "f":            # [] from a Python list
            return arr.astype(np.int64)
        raise IndexError(f"index: tensors used as indices must be long, int, byte or bool "
                         f"tensors (got {kind})")
    return int(arr) if arr.ndim == 0 else arr


def _part(p):
    """One element of an index, as NumPy should see it; raises torch's errors."""
    t = type(p)
    if t in _SIMPLE:
        return p
    if t is slice:
        if p.step is not None:
            step = p.step.__index__()
            if step == 0:
                raise ValueError("index: slice step cannot be zero")
            if step < 0:
                raise ValueError(f"index: step must be greater than zero (got {step}; torch "
                                 f"has no negative steps: use flip())")
        return p
    if isinstance(p, Tensor):
        return _array_part(p.array)
    if isinstance(p, (bool, np.bool_)):
        return bool(p)
    if isinstance(p, np.integer):
        return int(p)
    if isinstance(p, np.ndarray):
        return _array_part(p)
    if isinstance(p, (list, tuple, range)):
        try:
            arr = np.asarray([v.array if isinstance(v, Tensor) else v for v in p]
                             if isinstance(p, list) else p)
        except ValueError:
            raise _bad_index(p) from None
        if arr.dtype.kind not in "biuf" or (arr.dtype.kind == "f" and arr.size):
            raise _bad_index(p)
        return _array_part(arr.astype(np.int64) if arr.dtype.kind in "iu" else arr)
    raise _bad_index(p)


def _sequence_as_tuple(index: list) -> bool:
    """torch 2.x still reads ``x[[0, slice(None)]]`` or ``x[[[0, 1], [1, 2]]]`` as a tuple of
    indices (NumPy's old rule, deprecated in torch): a list holding a slice, None, ``...``, a
    Tensor or a sequence."""
    return len(index) < 32 and any(
        isinstance(v, (slice, Tensor, list, tuple, range, np.ndarray)) or v is None
        or v is Ellipsis for v in index)


def _normalize(index) -> tuple[tuple, bool, bool]:
    """(NumPy index tuple, basic?, accumulate?): basic ⇔ a view; accumulate ⇔ an integer
    array that may repeat positions (its backward must add, not assign)."""
    if type(index) is tuple:
        parts = index
    elif type(index) is list and _sequence_as_tuple(index):
        warnings.warn("indexing with a non-tuple sequence: read as x[tuple(seq)] as torch does "
                      "(deprecated there); write the tuple explicitly", UserWarning, stacklevel=3)
        parts = tuple(index)
    else:
        parts = (index,)
    if all(type(p) in _SIMPLE or type(p) is slice and p.step is None for p in parts):
        return parts + (Ellipsis,) if Ellipsis not in parts else parts, True, False
    parts = tuple(_part(p) for p in parts)
    arrays = [p for p in parts if isinstance(p, np.ndarray) or type(p) is bool]
    if not arrays:
        has_ellipsis = any(p is Ellipsis for p in parts)
        return parts if has_ellipsis else parts + (Ellipsis,), True, False
    accumulate = any(isinstance(p, np.ndarray) and p.dtype != bool and p.size > 1
                     for p in arrays)
    if any(type(p) is int for p in parts):
        return _TwoStage(parts), False, accumulate
    return parts, False, accumulate


class _TwoStage:
    """torch applies an int index as a select (a view) before the advanced indices, so ints
    never join NumPy's advanced group: ``x[0, :, [1, 2]]`` of a (3, 4, 5) x is (4, 2) in torch,
    (2, 4) in NumPy. Here: the basic part first (arrays replaced by full slices), then the
    advanced part on that view."""

    __slots__ = ("first", "second")

    def __init__(self, parts: tuple):
        first, second = [], []
        for p in parts:
            if type(p) is int:
                first.append(p)
            elif type(p) is bool or isinstance(p, np.ndarray) and p.ndim == 0:
                first.append(None)
                second.append(np.array([bool(p)]))
            elif isinstance(p, np.ndarray):
                first.extend([slice(None)] * (p.ndim if p.dtype == bool else 1))
                second.append(p)
            else:
                first.append(p)
                second.append(slice(None) if p is not Ellipsis else p)
        if not any(p is Ellipsis for p in first):
            first.append(Ellipsis)
        self.first, self.second = tuple(first), tuple(second)


def _get(array: np.ndarray, idx) -> np.ndarray:
    if type(idx) is _TwoStage:
        return array[idx.first][idx.second]
    return array[idx]


def _set(array: np.ndarray, idx, value: np.ndarray, accumulate: bool = False) -> None:
    if type(idx) is _TwoStage:
        array, idx = array[idx.first], idx.second
    if accumulate:
        np.add.at(array, idx, value)
    else:
        array[idx] = value


def _numpy_error(e: Exception, op: str, shape) -> IndexError:
    msg = str(e).replace("axis", "dimension")
    return IndexError(f"{op}: {msg} (indexing a tensor of shape {list(shape)})")
