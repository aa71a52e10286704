"""Whether ops record a graph: torch's ``no_grad``, ``enable_grad``, ``inference_mode`` and
``set_grad_enabled``, each usable as a context manager and as a decorator (thread-local state).

>>> with no_grad():
...     is_grad_enabled()
False
>>> _ = set_grad_enabled(False); is_grad_enabled()     # a plain call switches it, as in torch
False
>>> _ = set_grad_enabled(True)
"""

from __future__ import annotations

import functools
import threading

_mode = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_mode, "enabled", True)


def _set(enabled: bool) -> None:
    _mode.enabled = bool(enabled)


class _GradMode:
    """Sets the mode on ``__enter__`` and restores the previous one on ``__exit__``; wraps a
    function the same way when used as a decorator."""

    enabled = False

    def __enter__(self):
        self._previous = is_grad_enabled()
        _set(self.enabled)
        return self

    def __exit__(self, *exc) -> None:
        _set(self._previous)

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: a decorator takes a function, got "
                            f"{type(fn).__name__}")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)(*self._args()):
                return fn(*args, **kwargs)
        return wrapper

    def _args(self) -> tuple:
        return ()

    def clone(self):
        return type(self)(*self._args())


class no_grad(_GradMode):  # noqa: N801  (torch's name)
    """No op records a graph inside (inference, optimizer steps); in-place updates of leaves
    that require grad are allowed here."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        return self if orig_func is None else _GradMode.__call__(self, orig_func)  # @no_grad

    def __init__(self, orig_func=None):
        pass


class enable_grad(no_grad):  # noqa: N801  (torch's name)
    """Ops record a graph inside, even within ``no_grad``."""

    enabled = True


class inference_mode(_GradMode):  # noqa: N801  (torch's name)
    """``no_grad`` for inference (``mode=False`` records as usual). Deviation: tensors made in
    inference mode are ordinary tensors here; torch forbids using them in autograd later."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self.enabled = not self.mode

    def __enter__(self):
        self._previous_inference = is_inference_mode_enabled()
        _mode.inference = self.mode
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        _mode.inference = self._previous_inference
        super().__exit__(*exc)

    def _args(self) -> tuple:
        return (self.mode,)


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block is active in this thread."""
    return getattr(_mode, "inference", False)


class set_grad_enabled(_GradMode):  # noqa: N801  (torch's name)
    """``set_grad_enabled(False)`` switches recording off at once (a plain call, as in torch);
    as a context manager or decorator it restores the previous mode afterwards."""

    def __init__(self, mode: bool):
        if not isinstance(mode, (bool, int)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        self.mode = self.enabled = bool(mode)
        self._previous = is_grad_enabled()
        _set(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        _set(self._previous)

    def __call__(self, fn):
        _set(self._previous)          # as a decorator the mode applies inside fn only
        return super().__call__(fn)

    def _args(self) -> tuple:
        return (self.mode,)
