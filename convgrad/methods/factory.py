"""Making tensors from a shape or a range (torch's factories): ``zeros``, ``ones``, ``full``,
``empty``, ``eye``, ``arange``, ``linspace``, ``logspace``, their ``*_like`` twins and the
``Tensor.new_*`` methods, with torch's dtype rules.

A size is given as ints or one sequence: ``zeros(2, 3)`` and ``zeros((2, 3))`` are the same
2 × 3 tensor. Default dtypes, as torch: ``get_default_dtype()`` (float32) for zeros, ones, empty,
eye, linspace, logspace; ``full`` follows its fill value (bool → bool, int → int64, float → the
default); ``arange`` gives int64 when every bound is an int; ``*_like`` and ``new_*`` keep the
tensor's dtype.

>>> zeros(2, 3).shape, full((2,), 3).dtype, arange(0, 1, 0.1).shape
(convgrad.Size([2, 3]), dtype('int64'), convgrad.Size([10]))

Deviation from torch: ``empty`` returns zeros (NumPy cannot cheaply hand out uninitialised
memory that is safe to print, and a zeroed tensor is a valid "uninitialised" one).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor
from ..autograd.trace import traced
from ..creation import tensor
from .factory_args import (  # the arguments (sizes, options, fill values) and constants
    _alloc,
    _bound,
    _cast,
    _finish,
    _int,
    _keep,
    _like,
    _number_dtype,
    _options,
    _scalar,
    _size,
    channels_last,
    contiguous_format,
    preserve_format,
    strided,
)

__all__ = ["zeros", "ones", "full", "empty", "eye", "arange", "linspace", "logspace",
           "zeros_like", "ones_like", "full_like", "empty_like", "strided", "preserve_format",
           "contiguous_format", "channels_last"]



# -- constant tensors --------------------------------------------------------------------------

def zeros(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False, layout=None,
          pin_memory: bool = False, out=None) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``; default dtype float32."""
    _no_out(out, "zeros")
    d = _options("zeros", dtype, device, layout)
    return _finish(_alloc(np.zeros, _size(sizes, "zeros", size), d, "zeros"), requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False, layout=None,
         pin_memory: bool = False, out=None) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``; default dtype float32."""
    _no_out(out, "ones")
    d = _options("ones", dtype, device, layout)
    return _finish(_alloc(np.ones, _size(sizes, "ones", size), d, "ones"), requires_grad)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False, layout=None,
          pin_memory: bool = False, memory_format=None, out=None) -> Tensor:
    """An "uninitialised" tensor — zeros here (see the module docstring)."""
    _no_out(out, "empty")
    d = _options("empty", dtype, device, layout)
    return _finish(_alloc(np.zeros, _size(sizes, "empty", size), d, "empty"), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
         layout=None, pin_memory: bool = False, out=None) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value unless ``dtype=``:
    ``full((2,), 3)`` is int64, ``full((2,), 3.0)`` float32, ``full((2,), True)`` bool."""
    _no_out(out, "full")
    shape = _size((size,), "full", sequence_only=True)
    value = _scalar(fill_value)
    d = _options("full", dtype, device, layout, _number_dtype(value))
    v = _cast(value, d, "full")
    return _finish(_alloc(lambda s, t: np.full(s, v, t), shape, d, "full"), requires_grad)


def _no_out(out, op: str) -> None:
    if out is not None:
        raise TypeError(f"{op}: out= is not supported by convgrad (assign the result instead)")


def eye(n, m=None, *, dtype=None, device=None, requires_grad: bool = False, layout=None,
        pin_memory: bool = False, out=None) -> Tensor:
    """The n × m identity (m = n by default): ones on the diagonal, zeros elsewhere.

    >>> eye(2, 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    _no_out(out, "eye")
    n = _int(n, "eye", "n")
    m = n if m is None else _int(m, "eye", "m")
    for name, v in (("n", n), ("m", m)):
        if v < 0:
            raise RuntimeError(f"eye: {name} must be greater or equal to 0, got {v}")
    d = _options("eye", dtype, device, layout)
    return _finish(_alloc(lambda s, t: np.eye(*s, dtype=t), (n, m), d, "eye"), requires_grad)


# -- ranges ------------------------------------------------------------------------------------


def _no_bool(d: np.dtype, op: str) -> None:
    if d.kind == "b":
        raise NotImplementedError(f'"{op}_cpu" not implemented for \'Bool\'')


def arange(start=None, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False, layout=None, pin_memory: bool = False,
           out=None) -> Tensor:
    """``start, start + step, …`` up to (not including) ``end``: ⌈(end − start) / step⌉
    values. ``arange(end)`` starts at 0; int64 when every bound is an int, else the default
    float; the values are ``start + i·step`` computed in float64 (as torch on the CPU).

    >>> arange(5).tolist(), arange(1, 2, 0.25).tolist()
    ([0, 1, 2, 3, 4], [1.0, 1.25, 1.5, 1.75])
    """
    _no_out(out, "arange")
    if end is None:
        if start is None:
            raise TypeError("arange() missing 1 required positional argument: 'end'")
        start, end = 0, start
    start = 0 if start is None else start
    start, end, step = (_bound(v, "arange", k) for k, v in
                        (("start", start), ("end", end), ("step", step)))
    ints = all(isinstance(v, int) for v in (start, end, step))
    d = _options("arange", dtype, device, layout, np.dtype(np.int64) if ints else None)
    _no_bool(d, "arange")
    if not all(math.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end}")
    if step == 0 or not math.isfinite(step):
        raise RuntimeError(f"arange: step must be nonzero and finite, got {step}")
    if (step > 0 and start > end) or (step < 0 and start < end):
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if d == np.int64:                          # torch: int64 truncates the bounds first
        if math.trunc(step) == 0:
            raise ValueError(f"arange: step must be nonzero (step {step} truncates to 0 "
                             f"in int64)")
        start, end, step = math.trunc(start), math.trunc(end), math.trunc(step)
    if all(isinstance(v, int) for v in (start, end, step)):
        n = -((start - end) // step)                     # ⌈(end − start) / step⌉, exactly
    else:
        n = math.ceil((float(end) - float(start)) / float(step))
    if n > np.iinfo(np.int64).max:
        raise RuntimeError(f"arange: invalid size, possible overflow? ({n} elements)")
    if d.kind in "iu":
        first, delta = math.trunc(start), math.trunc(step)
        values = first + _alloc(lambda s, t: np.arange(s[0], dtype=t), (n,), np.int64,
                                "arange") * delta
        return _finish(values.astype(d), requires_grad)
    index = _alloc(lambda s, t: np.arange(s[0], dtype=t), (n,), np.float64, "arange")
    return _finish((float(start) + index * float(step)).astype(d), requires_grad)


def _steps(steps, op: str) -> int:
    n = _int(steps, op, "steps")
    if n < 0:
        raise RuntimeError(f"{op}: number of steps must be non-negative, got {n}")
    return n


def _linear(start, end, n: int, d: np.dtype) -> np.ndarray:
    """torch's symmetric linspace: ``start + i·step`` for the first half, ``end − (n−1−i)·step``
    for the second (so both ends are exact); float types compute in their own precision."""
    work = d if d.kind == "f" else np.dtype(np.float64)
    if d.kind in "iu":
        start, end = math.trunc(start), math.trunc(end)
    a, b = work.type(start), work.type(end)
    if n == 1:
        return np.array([a], work)
    step = (b - a) / work.type(max(n - 1, 1))
    i = np.arange(n, dtype=work)
    half = n // 2
    return np.where(i < half, a + step * i, b - step * (work.type(n - 1) - i))


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad: bool = False,
             layout=None, pin_memory: bool = False, out=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included): step
    (end − start) / (steps − 1). Default dtype float32.

    >>> linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    _no_out(out, "linspace")
    start, end = _bound(start, "linspace", "start"), _bound(end, "linspace", "end")
    n = _steps(steps, "linspace")
    d = _options("linspace", dtype, device, layout)
    _no_bool(d, "linspace")
    return _finish(_linear(start, end, n, d).astype(d), requires_grad)


def logspace(start, end, steps, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False, layout=None, pin_memory: bool = False,
             out=None) -> Tensor:
    """``base ** linspace(start, end, steps)`` (computed in float64, then cast).

    >>> logspace(0, 2, 3).tolist()
    [1.0, 10.0, 100.0]
    """
    _no_out(out, "logspace")
    start, end = _bound(start, "logspace", "start"), _bound(end, "logspace", "end")
    base = _bound(base, "logspace", "base")
    n = _steps(steps, "logspace")
    d = _options("logspace", dtype, device, layout)
    _no_bool(d, "logspace")
    if d.kind in "iu":                          # torch: integer exponents, truncated
        start, end = math.trunc(start), math.trunc(end)
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.power(float(base), _linear(float(start), float(end), n,
                                               np.dtype(np.float64)))
        return _finish(values.astype(d), requires_grad)


# -- *_like and Tensor.new_* -------------------------------------------------------------------

@traced("zeros_like")
def zeros_like(input, *, dtype=None, device=None, requires_grad: bool = False, layout=None,
               pin_memory: bool = False, memory_format=None) -> Tensor:
    """Zeros of ``input``'s shape and dtype (``dtype=`` overrides)."""
    t = _like(input, "zeros_like")
    return zeros(t.shape, dtype=_keep(dtype, t), device=device, requires_grad=requires_grad,
                 layout=layout)


@traced("ones_like")
def ones_like(input, *, dtype=None, device=None, requires_grad: bool = False, layout=None,
              pin_memory: bool = False, memory_format=None) -> Tensor:
    """Ones of ``input``'s shape and dtype (``dtype=`` overrides)."""
    t = _like(input, "ones_like")
    return ones(t.shape, dtype=_keep(dtype, t), device=device, requires_grad=requires_grad,
                layout=layout)


@traced("empty_like")
def empty_like(input, *, dtype=None, device=None, requires_grad: bool = False, layout=None,
               pin_memory: bool = False, memory_format=None) -> Tensor:
    """An "uninitialised" (zero) tensor of ``input``'s shape and dtype."""
    t = _like(input, "empty_like")
    return empty(t.shape, dtype=_keep(dtype, t), device=device, requires_grad=requires_grad,
                 layout=layout)


@traced("full_like")
def full_like(input, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
              layout=None, pin_memory: bool = False, memory_format=None) -> Tensor:
    """``fill_value`` in ``input``'s shape and dtype: ``full_like(int_t, 2.7)`` holds 2."""
    t = _like(input, "full_like")
    return full(t.shape, fill_value, dtype=_keep(dtype, t), device=device,
                requires_grad=requires_grad, layout=layout)


def _new(make, what: str):
    def method(self, *sizes, size=None, dtype=None, device=None, requires_grad: bool = False,
               layout=None, pin_memory: bool = False) -> Tensor:
        return make(*sizes, size=size, dtype=_keep(dtype, self), device=device,
                    requires_grad=requires_grad, layout=layout)
    method.__name__ = f"new_{make.__name__}"
    method.__doc__ = f"{what} of the given size in this tensor's dtype (``dtype=`` overrides)."
    return method


new_zeros, new_ones = _new(zeros, "Zeros"), _new(ones, "Ones")
new_empty = _new(empty, "An uninitialised (zero) tensor")


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
             layout=None, pin_memory: bool = False) -> Tensor:
    """``fill_value`` in the given size and this tensor's dtype."""
    return full(size, fill_value, dtype=_keep(dtype, self), device=device,
                requires_grad=requires_grad, layout=layout)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad: bool = False,
               layout=None, pin_memory: bool = False) -> Tensor:
    """A copy of ``data`` in this tensor's dtype: ``float_t.new_tensor([1])`` is float32."""
    return tensor(data, dtype=_keep(dtype, self), device=device, requires_grad=requires_grad)


def attach() -> None:
    """Set this module's Tensor methods (``convgrad.methods`` calls it once, in order)."""
    Tensor.new_zeros, Tensor.new_ones, Tensor.new_empty = new_zeros, new_ones, new_empty
    Tensor.new_full, Tensor.new_tensor = new_full, new_tensor
