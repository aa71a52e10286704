"""Calling conventions of hand-written convolutions, declared by the user, never guessed.

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
    """The checked function raised, returned the wrong kind of thing, or hung."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.cause: BaseException | None = None


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


def run_forward(fn, style: str, layout: str, features, config: CheckConfig, x, w, b, call):
    """The user's forward on NCHW inputs; returns (out in NCHW, cache or None)."""
    xu, wu = to_layout(x, layout), to_layout(w, layout, weight=True)
    extra = options(config, features)
    if style == "torch":
        result = call(fn, xu, wu, b.copy(), config.stride, config.padding, **extra)
        cache = None
    else:
        param = {"stride": config.stride, "pad": config.padding, **extra}
        result = call(fn, xu, wu, b.copy(), param)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise UserCodeError("returned", f"course-style forward must return (out, cache), "
                                            f"got {_kind(result)}")
        result, cache = result
    out = _array(result, "out")
    return from_layout(out, layout), cache


def run_backward(fn, forward, style: str, layout: str, features, config: CheckConfig, x, w, b,
                 dout, call):
    """The user's backward; returns (dx, dw, db) in NCHW/OIHW."""
    extra = options(config, features)
    dout_u = to_layout(dout, layout)
    if style == "torch":
        result = call(fn, dout_u, to_layout(x, layout), to_layout(w, layout, weight=True),
                      b.copy(), config.stride, config.padding, **extra)
    else:
        _, cache = run_forward(forward, "course", layout, features, config, x, w, b, call)
        result = call(fn, dout_u, cache)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        raise UserCodeError("returned", f"backward must return (dx, dw, db), got "
                                        f"{_kind(result)}")
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
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return type(value).__name__
