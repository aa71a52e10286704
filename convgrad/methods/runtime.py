"""The process-wide settings torch keeps at its top level: the thread counts
(``get_num_threads``/``set_num_threads`` and the inter-op pair), and the no-op stand-ins for
torch's compiler and mixed precision (``compile``, ``autocast``, ``is_autocast_enabled``; see
``info.py`` for why they do nothing). ``info`` lists them among its names."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from ..creation import _dtype
from ..device import device as _device
from ..ops import parallel as _parallel  # (through ops: its import order builds the engine)

# -- threads ------------------------------------------------------------------------------------

_threads: dict[str, int] = {}


def _check_threads(n, op: str) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise RuntimeError(f"{op} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{op} expects a positive integer")
    return int(n)


def get_num_threads() -> int:
    """The threads convgrad computes with (BLAS and its own batch parts): ``CONVGRAD_THREADS``
    or the cores, until ``set_num_threads``."""
    return _threads.get("intra", _parallel.threads())


def set_num_threads(n: int) -> None:
    """Compute with ``n`` threads: BLAS's (through threadpoolctl, when installed) and convgrad's
    own (``convgrad.ops.parallel``)."""
    n = _check_threads(n, "set_num_threads")
    _threads["intra"] = n
    controller = _parallel.blas_controller()
    if controller is not None:
        controller.limit(limits=n, user_api="blas")       # applied until the next call
    setter = getattr(_parallel, "set_threads", None)
    if setter is not None:
        setter(n)


def get_num_interop_threads() -> int:
    """The inter-op thread count (remembered only: convgrad runs one op at a time)."""
    return _threads.get("interop", _parallel.threads())


def set_num_interop_threads(n: int) -> None:
    """Set the inter-op thread count (remembered for ``get_num_interop_threads``)."""
    _threads["interop"] = _check_threads(n, "set_num_interop_threads")


# -- stand-ins for torch's compiler and mixed precision --------------------------------------

def compile(model: Callable | None = None, **kwargs: Any):  # noqa: A001  (torch's name)
    """``model`` itself, unchanged: convgrad has no compiler (torch.compile's options are
    accepted and ignored). Without a model, a decorator that returns the function as it is.

    >>> f = lambda x: x + 1
    >>> compile(f) is f, compile(mode="max-autotune")(f) is f
    (True, True)
    """
    if model is None:
        return lambda fn: fn
    return model


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Always False: convgrad never autocasts (see ``autocast``)."""
    return False


class autocast:  # noqa: N801  (torch's name)
    """torch.autocast, accepted as a context manager or decorator and doing nothing: the ops
    inside run in their tensors' own dtypes (no mixed precision on convgrad's CPU engine).
    torch's warnings for a dtype CPU autocast does not support and for an absent CUDA remain.

    >>> with autocast("cpu"):
    ...     is_autocast_enabled("cpu")
    False
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: "
                             f"`{type(device_type)}`")
        self.device_type = _device(device_type).type
        self.fast_dtype = None if dtype is None else _dtype(dtype, "autocast")
        self.enabled = bool(enabled)
        unsupported = self.fast_dtype is not None and self.fast_dtype != np.float16
        if self.enabled and self.device_type == "cpu" and unsupported:
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                          "autocast.\nCPU Autocast only supports dtypes of convgrad.bfloat16, "
                          "convgrad.float16 currently.", UserWarning, stacklevel=2)
            self.enabled = False
        elif self.enabled and self.device_type == "cuda":
            warnings.warn("CUDA is not available. Disabling autocast.", UserWarning,
                          stacklevel=2)
            self.enabled = False

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, fn: Callable) -> Callable:
        return fn
