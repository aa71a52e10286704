"""The engine's switches as one immutable value per context (thread), read from the
environment once.

=================  =======================  ==================================================
field              environment (default)    meaning
=================  =======================  ==================================================
``method``         —  (None)                force one algorithm (``engine.algorithms.names()``)
                                            for every correlation where it applies (else
                                            im2col); None: the method rule chooses
``winograd``       ``CONVGRAD_WINOGRAD``    the rule may choose Winograd for float32 layers
                   (1)                      that pay; 0: float32 results come from direct sums
``jit``            ``CONVGRAD_JIT`` (1)     use the compiled (numba) kernels when installed
``blas_calls``     ``CONVGRAD_BLAS_CALLS``  call BLAS's gemm directly (ctypes) where it saves
                   (1)                      a copy
``sharing``        —  (1)                   batch parts running at once that share the
                                            workspace cap (set by the engine itself)
``threads``        ``CONVGRAD_THREADS``     threads the engine computes with (its batch parts,
                   (the cores, ≤ 16)        split matrix products); 1: one core
``workspace_limit``  —  (256 MiB)           cap (bytes) on one call's column buffer
``cache_dir``      ``CONVGRAD_CACHE_DIR``   where compiled kernels are kept between processes
                   (``$XDG_CACHE_HOME/convgrad`` or ``~/.cache/convgrad``)
=================  =======================  ==================================================

``with settings(method="im2col", winograd=False): ...`` changes them for the block, in this
context only: another thread keeps its own, and the batch parts the engine runs on other cores
inherit the submitting thread's. A thread starts from the process's defaults — the
environment's values until ``set_defaults(...)`` changes them (``convgrad.set_num_threads``
and ``ops.set_workspace_limit`` do, as in torch they are process-wide); a block's own changes
stay in force over the defaults. ``ops.forced_method``, ``ops.use_winograd`` and
``ops.jit.jit_enabled`` are thin aliases.

>>> with settings(method="fft"):
...     current().method
'fft'
>>> current().method is None
True
>>> with settings(threads=1):
...     current().threads
1
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Iterator, Mapping

MAX_THREADS = 16


@dataclass(frozen=True)
class Settings:
    """One value of every engine switch (see the module docstring)."""

    method: str | None = None
    winograd: bool = True
    jit: bool = True
    blas_calls: bool = True
    sharing: int = 1
    threads: int = 1
    workspace_limit: int = 256 * 2**20
    cache_dir: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The defaults a process starts from (a malformed ``CONVGRAD_THREADS`` is refused)."""
        on = {name: environ.get(f"CONVGRAD_{name.upper()}", "1") != "0"
              for name in ("winograd", "jit", "blas_calls")}
        threads = environ.get("CONVGRAD_THREADS", "0").strip() or "0"
        if not threads.isdigit():
            raise ValueError(f"convgrad: CONVGRAD_THREADS={threads!r} is not a number of "
                             "threads (0: all cores)")
        cache = (environ.get("CONVGRAD_CACHE_DIR") or Path(
            environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convgrad")
        return cls(**on, threads=max(1, min(MAX_THREADS, int(threads) or _cores())),
                   cache_dir=str(cache))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:           # not Linux
        return os.cpu_count() or 1


_FIELDS = tuple(f.name for f in fields(Settings))
_defaults = Settings.from_environment()
_generation = 0                       # bumped by set_defaults
# a context holds only its own changes (so that new defaults show through them); their merge
# with the defaults is made once per (defaults, changes) and kept
_CHANGES: ContextVar[tuple] = ContextVar("convgrad_engine_settings", default=())
_merged: dict = {}


def current() -> Settings:
    """The settings in force in this context."""
    changes = _CHANGES.get()
    if not changes:
        return _defaults
    key = (_generation, changes)
    merged = _merged.get(key)
    if merged is None:
        if len(_merged) > 1024:
            _merged.clear()
        merged = _merged[key] = replace(_defaults, **dict(changes))
    return merged


@contextmanager
def settings(**changes) -> Iterator[Settings]:
    """The current settings with ``changes`` for the duration of the block (this context)."""
    changes = _checked(changes)
    merged = dict(_CHANGES.get())
    merged.update(changes)
    token = _CHANGES.set(tuple(sorted(merged.items())))
    try:
        yield current()
    finally:
        _CHANGES.reset(token)


@contextmanager
def using(value: Settings) -> Iterator[Settings]:
    """Exactly the settings ``value`` for the block (every field), whatever the defaults."""
    token = _CHANGES.set(tuple((name, getattr(value, name)) for name in _FIELDS))
    try:
        yield current()
    finally:
        _CHANGES.reset(token)


def defaults() -> Settings:
    """The process's defaults (what a new thread starts from)."""
    return _defaults


def set_defaults(**changes) -> Settings:
    """Change the process's defaults (every thread, unless its block changed the same
    field); returns the previous defaults."""
    global _defaults, _generation
    changes = _checked(changes)
    old, _defaults = _defaults, replace(_defaults, **changes)
    _generation += 1
    return old


def _checked(changes: dict) -> dict:
    for name, value in changes.items():
        _check(name, value)
    if "cache_dir" in changes:
        changes = {**changes, "cache_dir": os.fspath(changes["cache_dir"])}
    return changes


def _check(name: str, value) -> None:
    if name not in _FIELDS:
        raise TypeError(f"settings: unknown setting {name!r}; choose from {', '.join(_FIELDS)}")
    if name == "method":
        from .algorithms import names  # noqa: PLC0415  (the algorithms import the ops)

        if value is not None and value not in names():
            raise ValueError(f"settings: unknown method {value!r}; choose from {names()}")
    elif name in ("sharing", "threads", "workspace_limit"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"settings: {name} must be a positive int, got {value!r}")
        if name == "threads" and value > MAX_THREADS:
            raise ValueError(f"settings: threads must be at most {MAX_THREADS}, got {value}")
    elif name == "cache_dir":
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            raise TypeError(f"settings: cache_dir must be a folder path, got {value!r}")
    elif not isinstance(value, bool):
        raise TypeError(f"settings: {name} must be a bool, got {value!r}")
