"""torch's ``out=`` argument for the top-level functions: ``convgrad.mul(a, b, out=c)`` computes
``a * b`` and writes it into ``c`` (resized when its shape differs, as torch does; a warning
unless ``c`` was empty), then returns ``c``.

>>> import numpy as np
>>> from ..autograd import Tensor
>>> c = Tensor(np.zeros(2)); r = with_out(lambda a: a + 1, "add")(Tensor(np.ones(2)), out=c)
>>> r is c, c.tolist()
(True, [2.0, 2.0])
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ..autograd import Tensor, is_grad_enabled

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def with_out(fn, name: str):
    """``fn`` with an ``out=`` keyword (a Tensor, or a tuple of them for tuple results)."""
    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if is_grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad
                                     for a in (*args, *kwargs.values(), out)):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               f"automatic differentiation, but one of the arguments requires "
                               f"grad.")
        result = fn(*args, **kwargs)
        if isinstance(result, Tensor):
            _write(result, out, name)
            return out
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if not isinstance(result, tuple) or len(outs) != len(result):
            raise TypeError(f"{name}(): out= must be a tuple of {len(result)} tensors")
        for r, o in zip(result, outs):
            _write(r, o, name)
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)
    return wrapper


def _write(result: Tensor, out, name: str) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _CATEGORY[result.dtype.kind] > _CATEGORY[out.dtype.kind]:
        raise RuntimeError(f"{name}(): result type {result.dtype} can't be cast to the desired "
                           f"output type {out.dtype}")
    if not out.array.flags.writeable:
        raise RuntimeError(f"{name}(): out= is a read-only tensor")
    if out.shape != result.shape:
        if out.array.size:
            warnings.warn(f"{name}(): an output with one or more elements was resized since it "
                          f"had shape {list(out.shape)}, which does not match the required "
                          f"output shape {list(result.shape)}", UserWarning, stacklevel=3)
        out.array = np.array(result.array, dtype=out.dtype)
    else:
        np.copyto(out.array, result.array, casting="unsafe")
    out._vc[0] += 1
