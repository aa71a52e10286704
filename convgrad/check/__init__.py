"""``convgrad.check``: verify anyone's convolution forward/backward against convgrad and find
the smallest configuration where it is wrong — and why.

>>> import numpy as np
>>> def forward(x, w, b, stride, padding):          # a user's (correct) convolution
...     from convgrad import ops
...     return ops.conv(x, w, b, stride=stride, padding=padding)
>>> conv_forward(forward, max_examples=20).passed
True

Conventions: ``style`` 'torch' (``f(x, w, b, stride, padding)``) or 'course'
(``conv_forward(x, w, b, conv_param) -> (out, cache)``, ``conv_backward(dout, cache)
-> (dx, dw, db)``), inferred from the signature when None; ``layout`` 'nchw' or 'nhwc'
(weights HWIO); ``features`` the function claims, from ``stride, padding, dilation, groups,
nonsquare``, plus the declared convention ``tiled`` (``assume_tiling=True``: only sizes where
the windows tile the padded input exactly); ``dims`` 1, 2 or 3. A function that does not follow
the convention at its first call raises ``ConventionError`` naming the right one (bad options:
``CheckError``; both are ValueErrors).

A course-style backward is judged on its own where its forward's cache has the documented form
``(x, w, b, conv_param)`` (the cache is then built from correct pieces); its forward is checked
too, and its verdict is ``Report.forward_report``.
"""

from __future__ import annotations

from .config import DEFAULT_FEATURES, FEATURES, CheckConfig
from .conventions import CheckError, ConventionError, guess
from .render import render_text, save_figure
from .runner import Failure, Report, report_for

__all__ = ["conv_forward", "conv_backward", "conv_pair", "Report", "Failure", "CheckConfig",
           "FEATURES", "DEFAULT_FEATURES", "CheckError", "ConventionError", "render_text",
           "save_figure"]


def conv_forward(fn, *, style: str | None = None, layout: str = "nchw", dims: int = 2,
                 features=DEFAULT_FEATURES, max_examples: int = 200, timeout: float = 10.0,
                 rtol: float = 1e-6, seed: int = 0, assume_tiling: bool = False) -> Report:
    """Check a forward convolution; returns a Report (``.passed``, ``.failure``)."""
    style = style or guess(fn)[0] or "torch"
    features = _features(features, assume_tiling)
    _validate(style, layout, dims, features)
    return report_for(fn, getattr(fn, "__name__", "forward"), "forward", style, layout, dims,
                      features, None, max_examples, timeout, rtol, seed)


def conv_backward(fn, forward=None, *, style: str | None = None, layout: str = "nchw",
                  dims: int = 2, features=DEFAULT_FEATURES, max_examples: int = 200,
                  timeout: float = 10.0, rtol: float = 1e-6, seed: int = 0,
                  assume_tiling: bool = False, check_forward: bool = True) -> Report:
    """Check a backward convolution (``dx, dw, db``). Course style needs the matching
    ``forward`` (it makes the cache); with ``check_forward`` that forward is checked first
    (``Report.forward_report``). The report's verdict is the backward's own."""
    style = style or guess(fn)[0] or (guess(forward)[0] if forward else None) or "torch"
    features = _features(features, assume_tiling)
    _validate(style, layout, dims, features)
    forward_report = None
    if style == "course":
        if forward is None:
            raise CheckError("conv_backward: the course style needs forward= (the "
                             "conv_forward that makes the cache)")
        if check_forward:
            forward_report = report_for(forward, getattr(forward, "__name__", "forward"),
                                        "forward", style, layout, dims, features, None,
                                        max_examples, timeout, rtol, seed)
    report = report_for(fn, getattr(fn, "__name__", "backward"), "backward", style, layout,
                        dims, features, forward if style == "course" else None, max_examples,
                        timeout, rtol, seed, getattr(forward, "__name__", None))
    report.forward_report = forward_report
    return report


def conv_pair(forward, backward, **options) -> tuple[Report, Report]:
    """Check a forward, then its backward (``--kind both``): (forward's, backward's) report;
    a course-style backward's ``forward_report`` is the first."""
    if options.get("style") is None:
        options["style"] = guess(forward)[0] or guess(backward)[0] or "torch"
    first = conv_forward(forward, **options)
    second = conv_backward(backward, forward, check_forward=False, **options)
    if second.style == "course":
        second.forward_report = first
    return first, second


def _features(features, assume_tiling: bool) -> tuple:
    features = tuple(features)
    return features + ("tiled",) if assume_tiling and "tiled" not in features else features


def _validate(style, layout, dims, features) -> None:
    from .adapters import LAYOUTS, STYLES  # noqa: PLC0415

    if style not in STYLES:
        raise CheckError(f"check: style must be one of {STYLES}, got {style!r}")
    if layout not in LAYOUTS:
        raise CheckError(f"check: layout must be one of {LAYOUTS}, got {layout!r}")
    if dims not in (1, 2, 3):
        raise CheckError(f"check: dims must be 1, 2 or 3, got {dims!r}")
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise CheckError(f"check: unknown feature {unknown[0]!r}; choose from "
                         f"{', '.join(FEATURES)}")
