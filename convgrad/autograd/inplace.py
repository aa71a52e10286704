"""In-place updates with torch's rules: ``t.add_(u)``, ``t += u``, ``t[i] = v``, ``t.zero_()``.

An in-place op writes its result into t's memory (so views of t and aliases of its array see
it) and bumps t's version. While a graph is recorded, t takes the new value's place in it: the
old value lives on as a separate node (a snapshot when the op's backward reads it), and an
update through a view rebuilds the base as "old base outside the view, new value inside", so
gradients reach both. Refused, as in torch: a leaf (or a view of a leaf) that requires grad,
outside ``no_grad``; a result that does not fit t's shape or dtype.

>>> import numpy as np
>>> x = Tensor(np.ones(3), requires_grad=True); y = x * 2
>>> _ = modify(y[1:], lambda v: v * 5, "mul_")      # y[1:] *= 5
>>> y.sum().backward(); x.grad.tolist()
[2.0, 10.0, 10.0]
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .grad_mode import is_grad_enabled, no_grad
from .tensor import Tensor, astype
from .trace import _local as _trace_local
from .trace import report_inplace

_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}


def modify(t: Tensor, compute: Callable[[Tensor], Tensor], op: str, *,
           reads_self: bool = True, fast: Callable[[np.ndarray], None] | None = None,
           others: tuple = ()) -> Tensor:
    """Replace t's value by ``compute(old_t)`` (an out-of-place Tensor expression) in place.

    ``reads_self=False`` promises that the backward of ``compute`` never reads its argument's
    values (add, fill, masked_fill …), which saves a snapshot. ``fast(array)``: the update
    written straight into the ndarray, used when nothing is recorded (``others``: the other
    operands, to decide that).
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    enabled = is_grad_enabled()
    recording = enabled and (t._requires_grad or any(isinstance(o, Tensor) and o._requires_grad
                                                     for o in others))
    tracing = _trace_local.tracer is not None
    if fast is not None and not recording and not tracing:
        _check_writeable(t, op)
        fast(t.array)
        t._vc[0] += 1
        return t
    if not enabled:
        with no_grad():
            new = compute(t)
            _write(t, new, op)
        if tracing:
            report_inplace(t, new)
        return t
    if t._requires_grad and t._backward is None:
        raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an "
                           f"in-place operation (update parameters inside "
                           f"`with convgrad.no_grad():`, as an optimizer step does)")
    base = t._base
    if base is not None and base._requires_grad and base._backward is None:
        raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is being used "
                           f"in an in-place operation.")
    if base is None:
        old = t._alias()
        if reads_self:
            old.array = t.array.copy()
        new = _fit(compute(old), old, t, op)
        _write(t, new, op)
        if new._requires_grad:
            t._adopt(new)
        if tracing:
            report_inplace(t, new)
        return t
    base_old = base._alias()
    view_old = t._view_fn(base_old)
    if reads_self:
        view_old = _snapshot(view_old)
    new = _fit(compute(view_old), view_old, t, op)
    if tracing:
        report_inplace(t, new)
    if not (new._requires_grad or base._requires_grad):
        _write(t, new, op)
        return t
    region = np.zeros_like(base.array, dtype=bool)
    with no_grad():
        t._view_fn(Tensor.wrap(region)).array[...] = True
    keep = Tensor.wrap((~region).astype(base.array.dtype))
    _write(t, new, op)
    replay = t._view_fn
    base._adopt(_node(base.array, (base_old, new),
                      lambda g: (g * keep, replay(g)), "copy_slices"))
    t._adopt(replay(base))
    return t


def _fit(new: Tensor, old: Tensor, t: Tensor, op: str) -> Tensor:
    """The result as t's dtype and shape; while t requires grad it stays in the graph (with a
    zero gradient to the old value when the result does not depend on it, e.g. ``zero_``)."""
    _check_dtype(new.array.dtype, t.array.dtype, op)
    if new.array.shape != t.array.shape:
        raise RuntimeError(f"{op}: output with shape {list(t.array.shape)} doesn't match the "
                           f"broadcast shape {list(new.array.shape)}")
    new = astype(new, t.array.dtype)
    if old._requires_grad and not new._requires_grad:
        new = _node(new.array, (old,), lambda g: (None,), op)
    return new


def _node(data: np.ndarray, parents: tuple, backward, op: str) -> Tensor:
    out = Tensor.wrap(data)
    out._requires_grad = True
    out._parents, out._backward, out._op = parents, backward, op
    out._versions = tuple(p._vc[0] for p in parents)
    return out


def _snapshot(v: Tensor) -> Tensor:
    """A copy of v's values that the in-place write cannot touch; the gradient passes through."""
    return _node(v.array.copy(), (v,), lambda g: (g,), "clone") if v._requires_grad else (
        Tensor.wrap(v.array.copy()))


def _check_dtype(result: np.dtype, target: np.dtype, op: str) -> None:
    if result != target and _CATEGORY[result.kind] > _CATEGORY[target.kind]:
        raise RuntimeError(f"{op}: result type {result} can't be cast to the desired output "
                           f"type {target}")


def _check_writeable(t: Tensor, op: str) -> None:
    if not t.array.flags.writeable:
        raise RuntimeError(f"{op}: unsupported operation: more than one element of the "
                           f"written-to tensor refers to a single memory location (an expanded "
                           f"tensor). Please clone() the tensor before performing the operation.")


def _write(t: Tensor, new: Tensor, op: str) -> None:
    src = new.array
    _check_dtype(src.dtype, t.array.dtype, op)
    if src.shape != t.array.shape:
        raise RuntimeError(f"{op}: output with shape {list(t.array.shape)} doesn't match the "
                           f"broadcast shape {list(src.shape)}")
    _check_writeable(t, op)
    if src is not t.array:
        np.copyto(t.array, src, casting="unsafe")
    t._vc[0] += 1
