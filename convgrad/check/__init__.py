"""``convgrad.check``: verify anyone's convolution forward/backward against convgrad and find
the smallest configuration where it is wrong — and why.

>>> import numpy as np
>>> def forward(x, w, b, stride, padding):          # a user's (correct) convolution
...     from convgrad import ops
...     return ops.conv(x, w, b, stride=stride, padding=padding)
>>> conv_forward(forward, max_examples=20).passed
True

Conventions are declared, not guessed: ``style`` 'torch' (``f(x, w, b, stride, padding)``) or
'course' (``conv_forward(x, w, b, conv_param) -> (out, cache)``, ``conv_backward(dout, cache)
-> (dx, dw, db)``); ``layout`` 'nchw' or 'nhwc' (weights HWIO); ``features`` the function
claims, from ``stride, padding, dilation, groups, nonsquare``; ``dims`` 1, 2 or 3.
"""

from __future__ import annotations

from .config import DEFAULT_FEATURES, FEATURES, CheckConfig
from .render import render_text, save_figure
from .runner import Failure, Report, report_for

__all__ = ["conv_forward", "conv_backward", "Report", "Failure", "CheckConfig", "FEATURES",
           "DEFAULT_FEATURES", "render_text", "save_figure"]


def conv_forward(fn, *, style: str = "torch", layout: str = "nchw", dims: int = 2,
                 features=DEFAULT_FEATURES, max_examples: int = 200, timeout: float = 10.0,
                 rtol: float = 1e-6, seed: int = 0) -> Report:
    """Check a forward convolution; returns a Report (``.passed``, ``.failure``)."""
    _validate(style, layout, dims, features)
    return report_for(fn, getattr(fn, "__name__", "forward"), "forward", style, layout, dims,
                      features, None, max_examples, timeout, rtol, seed)


def conv_backward(fn, forward=None, *, style: str = "torch", layout: str = "nchw",
                  dims: int = 2, features=DEFAULT_FEATURES, max_examples: int = 200,
                  timeout: float = 10.0, rtol: float = 1e-6, seed: int = 0) -> Report:
    """Check a backward convolution (``dx, dw, db``). Course style needs the matching
    ``forward`` (it makes the cache)."""
    _validate(style, layout, dims, features)
    if style == "course" and forward is None:
        raise ValueError("conv_backward: the course style needs forward= (the conv_forward "
                         "that makes the cache)")
    return report_for(fn, getattr(fn, "__name__", "backward"), "backward", style, layout, dims,
                      features, forward, max_examples, timeout, rtol, seed)


def _validate(style, layout, dims, features) -> None:
    from .adapters import LAYOUTS, STYLES  # noqa: PLC0415

    if style not in STYLES:
        raise ValueError(f"check: style must be one of {STYLES}, got {style!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"check: layout must be one of {LAYOUTS}, got {layout!r}")
    if dims not in (1, 2, 3):
        raise ValueError(f"check: dims must be 1, 2 or 3, got {dims!r}")
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ValueError(f"check: unknown feature {unknown[0]!r}; choose from "
                         f"{', '.join(FEATURES)}")
