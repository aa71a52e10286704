"""torch's rules that every op shares: which axis a ``dim`` names, and which dtype a mix of
operands computes in (type promotion, with ``get_default_dtype()`` — float32 unless
``set_default_dtype`` changed it — for Python floats).

>>> normalize_dim(-1, 3, "sum")
2
>>> import numpy as np
>>> result_dtype(np.ones(2, np.int32), 2.5), result_dtype(np.ones(2, np.float64), 2.5)
(dtype('float32'), dtype('float64'))
"""

from __future__ import annotations

import numpy as np

_default = [np.dtype(np.float32)]          # Python floats, int → float results (torch's default)
_FLOATS = tuple(np.dtype(d) for d in (np.float16, np.float32, np.float64))


def get_default_dtype() -> np.dtype:
    """The dtype of Python floats and lists of them (float32, as in torch)."""
    return _default[0]


def set_default_dtype(dtype) -> None:
    """Make ``dtype`` (float16, float32 or float64) the default floating type, process-wide as
    in torch; ``set_default_dtype(convgrad.float64)`` makes float64 the working precision."""
    try:
        d = np.dtype(dtype)
    except TypeError:
        d = None
    if d not in _FLOATS:
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the "
                        f"default type (float16, float32, float64), got {dtype!r}")
    _default[0] = d


def normalize_dim(dim, ndim: int, op: str) -> int:
    """The one dim checker: ``dim`` in ``[−n, n − 1]`` (a 0-d tensor takes −1 and 0, like a
    1-d one) → its index in ``[0, n − 1]``; torch's IndexError outside, TypeError for a
    non-int (bool included)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, (bool, np.bool_)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def normalize_dims(dims, ndim: int, op: str) -> tuple[int, ...]:
    """None (every axis), one dim or a sequence of distinct dims → sorted indices; a 0-d
    tensor has no axes to index, so any valid dim gives ``()``."""
    if dims is None:
        return tuple(range(ndim))
    many = isinstance(dims, (tuple, list))
    out = [normalize_dim(d, ndim, op) for d in (dims if many else (dims,))]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: a dim appears more than once in dim={tuple(dims)}")
    return tuple(sorted(out)) if ndim else ()


def result_dtype(*operands) -> np.dtype:
    """torch's type promotion (``torch.result_type``) over Tensors, ndarrays and Python
    numbers, with the default dtype for Python floats. Three priority classes: tensors with
    dims, 0-d tensors, Python scalars; a lower class decides only when it is of a higher
    category (bool < integer < floating): ``int32 tensor + 2.5`` is the default float type,
    ``float64 tensor + 2.5`` stays float64, ``float32 tensor + float64 0-d tensor`` stays
    float32."""
    classes = [None, None, None]
    for v in operands:
        v = v.array if isinstance(getattr(v, "array", None), np.ndarray) else v   # a Tensor
        if isinstance(v, np.ndarray):
            rank, dt = (1 if v.ndim else 0), v.dtype
        elif isinstance(v, (bool, np.bool_)):
            rank, dt = 2, np.dtype(bool)
        elif isinstance(v, (int, np.integer)):
            rank, dt = 2, np.dtype(np.int64)
        elif isinstance(v, (float, np.floating)):
            rank, dt = 2, _default[0]
        else:
            dt = np.asarray(v).dtype
            rank = 1 if np.ndim(v) else 2
        if dt.kind not in "biuf":
            raise TypeError(f"result_dtype: unsupported operand dtype {dt} (bool, integer and "
                            f"float32/float64 only)")
        slot = {1: 0, 0: 1, 2: 2}[rank]
        classes[slot] = dt if classes[slot] is None else _promote(classes[slot], dt)
    dim, zero, wrapped = classes
    return _combine(dim, _combine(zero, wrapped))


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2}


def _promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch.promote_types: a float meets an integer or bool → the float, else NumPy's rule."""
    if (a.kind == "f") != (b.kind == "f"):
        return a if a.kind == "f" else b
    return np.promote_types(a, b)


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or _CATEGORY[lower.kind] > _CATEGORY[higher.kind]:
        return _promote(higher, lower)
    return higher
