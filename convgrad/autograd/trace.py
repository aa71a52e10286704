"""Recording one forward pass as a graph of ops, for exporters (``convgrad.onnx``).

While a tracer is active (``tracing(t)``), every op output reaches it once:

* ``make`` reports each primitive op: ``t.op(out, parents, op)`` (``add``, ``relu``, ``exp`` …:
  the op name and its operands say everything);
* a function decorated with ``@traced(kind)`` reports itself as one op with its bound
  arguments: ``t.region(kind, arguments, out)`` (a convolution with its stride and padding, a
  pooling, a normalization …), and the primitive ops it runs inside are not reported;
* ``modify`` reports an in-place update: ``t.inplace(target, new)`` (``t`` now holds ``new``).

Nothing is recorded (and the cost is one global lookup per op) while no tracer is active.

A profiler (``convgrad.autograd.profiler``) listens at the same places, through
``_local.profiler``: ``make``'s report (``profiler.op(op)``), each ``@traced`` call
(``profiler.region(kind, fn, args, kwargs)`` runs it) and each backward node the engine runs
(``run_backward``); ``state`` counts it too, so the cost while none is active is unchanged.

>>> import numpy as np
>>> from .tensor import Tensor
>>> class Names:
...     depth = 0
...     def op(self, out, parents, op): print(op, [p.dim() for p in parents])
...     def region(self, kind, arguments, out): print(kind, sorted(arguments))
...     def inplace(self, target, new): pass
>>> @traced("double")
... def double(x, scale=2):
...     return x * scale
>>> with tracing(Names()):
...     y = double(Tensor(np.ones(3))) + 1
double ['scale', 'x']
add [1, 0]
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from typing import Any, Callable


class _Local(threading.local):
    tracer: Any = None
    profiler: Any = None


_local = _Local()
state = [0]          # how many tracers and profilers are active: ``make`` reads only this


def active() -> Any:
    """The tracer recording this thread's ops, or None."""
    return _local.tracer


@contextlib.contextmanager
def tracing(tracer: Any):
    """Make ``tracer`` receive this thread's ops for the duration (tracers do not nest)."""
    if active() is not None:
        raise RuntimeError("tracing: a forward pass is already being traced in this thread")
    _local.tracer = tracer
    state[0] += 1
    try:
        yield tracer
    finally:
        _local.tracer = None
        state[0] -= 1


def traced(kind: str) -> Callable[[Callable], Callable]:
    """Decorator: the function is one op ``kind`` for a tracer (its arguments bound by name,
    defaults applied); the ops it runs inside are hidden from the tracer."""
    def decorate(fn: Callable) -> Callable:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args, **kwargs):
            if not state[0]:                  # nothing traces anywhere: the common case
                return fn(*args, **kwargs)
            profiler = _local.profiler
            if profiler is not None and not profiler.depth:
                return profiler.region(kind, record, args, kwargs)
            return record(*args, **kwargs)

        def record(*args, **kwargs):
            tracer = _local.tracer
            if tracer is None or tracer.depth:
                return fn(*args, **kwargs)
            tracer.depth += 1
            try:
                out = fn(*args, **kwargs)
            finally:
                tracer.depth -= 1
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            for name, p in signature.parameters.items():
                if p.kind is p.VAR_KEYWORD:
                    arguments.update(arguments.pop(name))
            tracer.region(kind, arguments, out)
            return out
        call.__traced__ = kind
        return call
    return decorate


def report_op(out, parents, op: str) -> None:
    """``make``'s report (a no-op without a tracer or inside a traced function)."""
    tracer = _local.tracer
    if tracer is not None and not tracer.depth:
        tracer.op(out, parents, op)
    profiler = _local.profiler
    if profiler is not None and not profiler.depth:
        profiler.op(op)


def run_backward(node, g):
    """The engine's call of ``node._backward(g)`` while ``state`` is set (a profiler times it
    as one op)."""
    profiler = _local.profiler
    if profiler is None or profiler.depth:
        return node._backward(g)
    return profiler.backward(node, g)


def report_inplace(target, new) -> None:
    """``modify``'s report: ``target`` now holds the value of ``new``."""
    tracer = _local.tracer
    if tracer is not None and not tracer.depth:
        tracer.inplace(target, new)
