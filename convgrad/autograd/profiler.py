"""Where a forward and backward spend their time, per op: ``profile()``, with the names of
``torch.autograd.profiler`` (``profile``, ``record_function``, ``key_averages().table()``).

>>> import convgrad
>>> x = convgrad.ones(3, requires_grad=True)
>>> with profile() as prof:
...     (x * 2).sum().backward()
>>> sorted((e.key, e.count) for e in prof.key_averages())
[('MulBackward0', 1), ('SumBackward0', 1), ('mul', 1), ('sum', 1)]
>>> print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=2))  # doctest: +SKIP

What is recorded, per op name: how often it ran (``count``), its self time and its total time
(µs, ``self_cpu_time_total``, ``cpu_time_total``). The op kinds are the ones a tracer sees
(``convgrad.autograd.trace``):

* a ``@traced`` function (``conv``, ``max_pool``, ``batch_norm``, ``log_softmax`` …) is one op
  timed from its call to its return; the ops it runs inside are part of it, not recorded;
* a backward node is one op, under torch's node name (``ConvolutionBackward0``, ``MulBackward0``
  …: ``tensor.grad_fn.name()``), timed around its closure — everything it runs is part of it.
  The backward of a ``@traced`` function made of several primitive ops shows as their nodes
  (``max_pool``'s as ``TakeAlongAxisBackward0``, ``WindowViewBackward0`` …): the graph
  records those;
* a primitive op (``add``, ``matmul``, ``reshape`` …) reports only when its output is made, so
  its self time is the time from the previous recorded event (an op's end, a region's start or
  end, the profile's start) to then: the op's own work plus the Python run between the two
  ops. Time outside any op that ends in a region boundary (optimizer steps, the engine's
  bookkeeping between backward nodes) is recorded nowhere;
* ``record_function(name)`` is a user's region: its total is its span, its self time the span
  less the ops recorded inside it (as torch's).

So the self times partition part of the profiled span: their sum is at most its wall time.
Ops are recorded for the thread that entered ``profile()``. Profiles nest: an inner one sees its
own span, the outer one everything. While no profile is active nothing is recorded and the
ops pay what they paid without this module (the tracer's one global lookup).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable

from . import trace

_clock = time.perf_counter_ns
_SORT_KEYS = ("self_cpu_time_total", "cpu_time_total", "cpu_time", "self_cpu_time", "count")


class FunctionEventAvg:
    """One op name's totals (torch's ``FunctionEventAvg``): times in µs."""

    def __init__(self, key: str, count: int, self_ns: int, total_ns: int):
        self.key, self.count = key, count
        self.self_cpu_time_total = self_ns / 1e3
        self.cpu_time_total = total_ns / 1e3

    cpu_time = property(lambda self: self.cpu_time_total / max(self.count, 1))
    self_cpu_time = property(lambda self: self.self_cpu_time_total / max(self.count, 1))

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time="
                f"{_format_time(self.self_cpu_time_total)} cpu_time="
                f"{_format_time(self.cpu_time_total)} count={self.count}>")


class EventList(list):
    """``key_averages()``'s answer: a list of ``FunctionEventAvg`` with ``table()``."""

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_name_column_width: int = 55, header: str | None = None) -> str:
        """torch's table: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg,
        # of Calls; rows sorted by ``sort_by`` (descending), at most ``row_limit``."""
        rows = list(self)
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise ValueError(f"table: sort_by={sort_by!r} is not one of {_SORT_KEYS}")
            rows.sort(key=lambda e: getattr(e, sort_by), reverse=True)
        if row_limit > 0:
            rows = rows[:row_limit]
        total = self.self_cpu_time_total or 1.0
        width = max([len("Name"), *(min(len(e.key), max_name_column_width) for e in rows)])
        columns = ("Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                   "# of Calls")
        rule = "-" * width + "  " + "  ".join("-" * 12 for _ in columns) + "  "
        lines = ([header] if header else []) + [
            rule, "Name".rjust(width) + "  " + "  ".join(c.rjust(12) for c in columns) + "  ",
            rule]
        for e in rows:
            cells = (f"{100 * e.self_cpu_time_total / total:.2f}%",
                     _format_time(e.self_cpu_time_total),
                     f"{100 * e.cpu_time_total / total:.2f}%", _format_time(e.cpu_time_total),
                     _format_time(e.cpu_time), str(e.count))
            name = e.key[:max_name_column_width]
            lines.append(name.rjust(width) + "  " + "  ".join(c.rjust(12) for c in cells) + "  ")
        lines += [rule, f"Self CPU time total: {_format_time(self.self_cpu_time_total)}", ""]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _format_time(us: float) -> str:
    """torch's time format: us below a millisecond, ms below a second, else s."""
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class profile:  # noqa: N801  (torch's name)
    """Record the ops run in this thread while the ``with`` block runs (``enabled=False``:
    record nothing). After the block, ``key_averages()`` gives the totals per op name."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.entered = False
        self._running = False
        self._totals: dict[str, list[int]] = {}        # name → [count, self ns, total ns]

    def __enter__(self) -> profile:
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        if self.enabled:
            _Recorder.attach(self)
            self._running = True
        return self

    def __exit__(self, *exc) -> None:
        if self._running:
            _Recorder.detach(self)
            self._running = False

    def _add(self, name: str, self_ns: int, total_ns: int) -> None:
        totals = self._totals.get(name)
        if totals is None:
            self._totals[name] = [1, self_ns, total_ns]
        else:
            totals[0] += 1
            totals[1] += self_ns
            totals[2] += total_ns

    def key_averages(self) -> EventList:
        """One ``FunctionEventAvg`` per op name, in the order first seen."""
        if self._running:
            raise RuntimeError("Profiler didn't finish running")
        return EventList(FunctionEventAvg(k, *v) for k, v in self._totals.items())

    @property
    def self_cpu_time_total(self) -> float:
        """The sum of every op's self time, µs."""
        return sum(v[1] for v in self._totals.values()) / 1e3

    def table(self, sort_by: str | None = None, row_limit: int = 100, **kwargs: Any) -> str:
        return self.key_averages().table(sort_by=sort_by, row_limit=row_limit, **kwargs)


class record_function(contextlib.ContextDecorator):  # noqa: N801  (torch's name)
    """A named region of the user's code (torch's ``record_function``): one op ``name``
    whose self time excludes the ops recorded inside it. Free while nothing profiles."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self._frame: list | None = None

    def __enter__(self) -> record_function:
        recorder = trace._local.profiler
        if recorder is not None and not recorder.depth:
            self._frame = recorder.open_frame()
        return self

    def __exit__(self, *exc) -> None:
        if self._frame is not None:
            recorder = trace._local.profiler
            if recorder is not None:
                recorder.close_frame(self.name, self._frame)
            self._frame = None


class _Recorder:
    """The listener in ``trace._local.profiler`` while a profile is active in this thread:
    times the events and hands each to every active profile. ``depth`` > 0 inside an opaque
    op (a ``@traced`` region, a backward node), whose inner ops are then not reported."""

    def __init__(self):
        self.profiles: list[profile] = []
        self.depth = 0
        self.frames: list[list] = []                    # open record_functions
        self.last = _clock()

    @staticmethod
    def attach(p: profile) -> None:
        recorder = trace._local.profiler
        if recorder is None:
            recorder = trace._local.profiler = _Recorder()
            trace.state[0] += 1
        recorder.profiles.append(p)
        recorder.last = _clock()

    @staticmethod
    def detach(p: profile) -> None:
        recorder = trace._local.profiler
        recorder.profiles.remove(p)
        if not recorder.profiles:
            trace._local.profiler = None
            trace.state[0] -= 1

    def _record(self, name: str, self_ns: int, total_ns: int) -> None:
        for p in self.profiles:
            p._add(name, self_ns, total_ns)
        if self.frames:
            self.frames[-1][1] += total_ns

    def op(self, name: str) -> None:
        now = _clock()
        spent, self.last = now - self.last, now
        self._record(name, spent, spent)

    def _opaque(self, name: str | Callable[[], str], run: Callable[[], Any]) -> Any:
        start = _clock()
        self.depth += 1
        try:
            return run()
        finally:
            self.depth -= 1
            self.last = end = _clock()
            self._record(name if isinstance(name, str) else name(), end - start, end - start)

    def region(self, kind: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        return self._opaque(kind, lambda: fn(*args, **kwargs))

    def backward(self, node, g) -> Any:
        from .engine import Node  # noqa: PLC0415

        return self._opaque(lambda: Node(node).name(), lambda: node._backward(g))

    def open_frame(self) -> list:
        self.last = start = _clock()
        frame = [start, 0]                              # start, children's total
        self.frames.append(frame)
        return frame

    def close_frame(self, name: str, frame: list) -> None:
        self.last = end = _clock()
        self.frames = [f for f in self.frames if f is not frame]
        total = end - frame[0]
        self._record(name, max(total - frame[1], 0), total)
