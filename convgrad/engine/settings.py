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
=================  =======================  ==================================================

``with settings(method="im2col", winograd=False): ...`` changes them for the block, in this
thread only: another thread keeps its own (a thread starts from the environment's values),
and the batch parts the engine runs on other cores inherit the submitting thread's.
``ops.forced_method``, ``ops.use_winograd`` and ``ops.jit.jit_enabled`` are thin aliases.

>>> with settings(method="fft"):
...     current().method
'fft'
>>> current().method is None
True
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import Iterator, Mapping


@dataclass(frozen=True)
class Settings:
    """One value of every engine switch (see the module docstring)."""

    method: str | None = None
    winograd: bool = True
    jit: bool = True
    blas_calls: bool = True
    sharing: int = 1

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        on = {name: environ.get(f"CONVGRAD_{name.upper()}", "1") != "0"
              for name in ("winograd", "jit", "blas_calls")}
        return cls(**on)


_CURRENT: ContextVar[Settings] = ContextVar("convgrad_engine_settings",
                                            default=Settings.from_environment())  # noqa: B039 (frozen)
_FIELDS = tuple(f.name for f in fields(Settings))


def current() -> Settings:
    """The settings in force in this context."""
    return _CURRENT.get()


@contextmanager
def settings(**changes) -> Iterator[Settings]:
    """The current settings with ``changes`` for the duration of the block (this context)."""
    for name, value in changes.items():
        _check(name, value)
    token = _CURRENT.set(replace(current(), **changes))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def _check(name: str, value) -> None:
    if name not in _FIELDS:
        raise TypeError(f"settings: unknown setting {name!r}; choose from {', '.join(_FIELDS)}")
    if name == "method":
        from .algorithms import names  # noqa: PLC0415  (the algorithms import the ops)

        if value is not None and value not in names():
            raise ValueError(f"settings: unknown method {value!r}; choose from {names()}")
    elif name == "sharing":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"settings: sharing must be a positive int, got {value!r}")
    elif not isinstance(value, bool):
        raise TypeError(f"settings: {name} must be a bool, got {value!r}")
