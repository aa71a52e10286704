"""Calling conventions of hand-written convolutions (declared, or inferred from the signature by
``conventions.guess``; a mismatch found at the first call is a usage error).

Styles
------
``torch``   ``forward(x, w, b, stride, padding[, dilation=, groups=]) -> out`` and
            ``backward(dout, x, w, b, stride, padding[, dilation=, groups=]) -> (dx, dw, db)``
``course``  the widespread course style: ``conv_forward(x, w, b, conv_param) -> (out, cache)``
            with ``conv_param = {'stride': s, 'pad': p}`` (plus ``'dilation'``, ``'groups'``
            when claimed) and ``conv_backward(dout, cache) -> (dx, dw, db)``

Layouts
-------
``nchw``    x (N, C, H, W), w (F, C/groups, KH, KW) — PyTorch
``nhwc``    x (N, H, W, C), w (KH, KW, C/groups, F) — TensorFlow, numpy-ml
``b`` is (F,) in both; outputs come back in the same layout as the inputs.
"""

from __future__ import annotations

import numpy as np

from .config import CheckConfig

STYLES = ("torch", "course")
LAYOUTS = ("nchw", "nhwc")


class UserCodeError(Exception):
    """The checked function raised, returned the wrong kind of thing, or hung. ``convention``:
    the error is about the calling convention (what was passed, or the structure of what came
    back), which makes it a usage error when it happens at the first call. ``entered``: whether
    the function's body ran (False: Python refused the arguments; None: unknown)."""

    def __init__(self, kind: str, message: str, convention: bool = False):
        super().__init__(message)
        self.kind = kind
        self.cause: BaseException | None = None
        self.convention = convention
        self.entered: bool | None = None


def to_layout(a: np.ndarray, layout: str, weight: bool = False) -> np.ndarray:
    """From NCHW/OIHW into ``layout``."""
    if layout == "nchw":
        return a
    nd = a.ndim
    if weight:   # (O, I, *K) → (*K, I, O)
        return np.ascontiguousarray(a.transpose(*range(2, nd), 1, 0))
    return np.ascontiguousarray(a.transpose(0, *range(2, nd), 1))


def from_layout(a: np.ndarray, layout: str, weight: bool = False) -> np.ndarray:
    """From ``layout`` back into NCHW/OIHW."""
    if layout == "nchw":
        return a
    nd = a.ndim
    if weight:   # (*K, I, O) → (O, I, *K)
        return a.transpose(nd - 1, nd - 2, *range(nd - 2))
    return a.transpose(0, nd - 1, *range(1, nd - 1))


def options(config: CheckConfig, features) -> dict:
    extra = {}
    if "dilation" in features:
        extra["dilation"] = config.dilation
    if "groups" in features:
        extra["groups"] = config.groups
    return extra


def course_param(config: CheckConfig, features) -> dict:
    """The course style's ``conv_param``."""
    return {"stride": config.stride, "pad": config.padding, **options(config, features)}


def user_inputs(layout: str, x, w, b) -> tuple:
    """x, w, b as the user's function receives them (fresh arrays: it may write into them)."""
    return to_layout(x, layout).copy(), to_layout(w, layout, weight=True).copy(), b.copy()


def run_forward(fn, style: str, layout: str, features, config: CheckConfig, x, w, b, call):
    """The user's forward on NCHW inputs; returns (out in NCHW, cache or None)."""
    xu, wu, bu = user_inputs(layout, x, w, b)
    if style == "torch":
        result = call(fn, xu, wu, bu, config.stride, config.padding,
                      **options(config, features))
        if isinstance(result, tuple) and len(result) == 2:
            raise UserCodeError("returned", f"a torch-style forward returns the output array "
                                            f"alone, got {_kind(result)}", convention=True)
        cache = None
    else:
        result = call(fn, xu, wu, bu, course_param(config, features))
        if not (isinstance(result, tuple) and len(result) == 2):
            raise UserCodeError("returned", f"course-style forward must return (out, cache), "
                                            f"got {_kind(result)}", convention=True)
        result, cache = result
    out = _array(result, "out")
    return from_layout(out, layout), cache


def documented_cache(layout: str, features, config: CheckConfig, x, w, b) -> tuple:
    """The course's documented cache ``(x, w, b, conv_param)``, built from correct pieces."""
    return (*user_inputs(layout, x, w, b), course_param(config, features))


def run_backward(fn, style: str, layout: str, features, config: CheckConfig, x, w, b, dout,
                 call, cache=None):
    """The user's backward; returns (dx, dw, db) in NCHW/OIHW. The course style takes the
    ``cache`` its forward made (or one built by ``documented_cache``)."""
    dout_u = to_layout(dout, layout).copy()
    if style == "torch":
        result = call(fn, dout_u, *user_inputs(layout, x, w, b), config.stride,
                      config.padding, **options(config, features))
    else:
        result = call(fn, dout_u, cache)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        raise UserCodeError("returned", f"backward must return (dx, dw, db), got "
                                        f"{_kind(result)}", convention=True)
    dx, dw, db = (_array(a, name) for a, name in zip(result, ("dx", "dw", "db")))
    return from_layout(dx, layout), from_layout(dw, layout, weight=True), db.reshape(-1) \
        if db.size == config.cout else db


def _array(value, name: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise UserCodeError("returned", f"{name} must be a NumPy array, got {_kind(value)}")
    if value.dtype.kind != "f":
        raise UserCodeError("dtype", f"{name} has dtype {value.dtype}; float64 inputs should "
                                     f"give float64 results")
    return value


def _kind(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__
