r"""``depthwise``: the compiled (numba) kernels of depthwise convolutions.

    y[b, g, p] = Σ_j x_pad[b, g, p·s + j·d] · w[g, j]            (one channel per group)
    ∂w[g, j] = Σ_p x_pad[0, g, p + j·d] · ∂L/∂y[g, p]           (a 2-d depthwise ∂w)

The specialisation of ``shift`` (per plane, the taps' multiply-adds, the plane padded in
cache) and of ``window`` (a depthwise weight gradient's dot products) for inputs large
enough to pay for the compiled call (``tuning.jit_elements``).
"""

from __future__ import annotations

import math

from ...ops.windows import output_length, pad_or_crop
from .. import tuning
from ..kernels import jit
from ..registry import Algorithm
from ..runtime import add_bias


def depthwise(method, x, w, stride, dilation, pads, bias):
    """The compiled depthwise kernels (``method`` shift: per-plane taps; window: a 2-d
    depthwise ∂w's dot products) pad each plane in cache: only a crop happens here."""
    x = pad_or_crop(x, [(min(lo, 0), min(hi, 0)) for lo, hi in pads])     # a view
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    if method == "shift":
        y = jit.depthwise_taps(x[:, :, 0], w[:, 0, 0], bias, dilation, pads, stride)
        return y[:, :, None]
    padded = [n + lo + hi for n, (lo, hi) in zip(x.shape[3:], pads)]
    out_size = [output_length(n, k, s, d) for n, k, s, d in
                zip(padded, w.shape[3:], stride, dilation)]
    dots = jit.window_dots(x[0].swapaxes(0, 1), w[:, 0].swapaxes(0, 1), stride, dilation, pads,
                           out_size)
    return add_bias(dots.reshape(1, x.shape[1], 1, *out_size), bias)


class Depthwise(Algorithm):
    name = "depthwise"
    summary = ("compiled (numba): per plane the taps' multiply-adds, padded in cache; or a "
               "2-d depthwise ∂w's dot products")

    def form(self, problem, via: str | None = None) -> str | None:
        """``taps`` (one channel per group: ``shift``'s case, or im2col's at a stride),
        ``dots`` (2-d, one image, one output channel: ``window``'s case) or None; ``via``
        limits it to one."""
        if via in (None, "shift", "im2col") and (problem.in_channels == 1
                                                 and problem.out_channels == 1):
            return "taps"
        if via in (None, "window") and (problem.ndim == 2 and problem.batch == 1
                                        and problem.out_channels == 1):
            return "dots"
        return None

    def applies(self, problem, settings):
        if self.form(problem) is None:
            return ("needs one channel per group, or a 2-d depthwise weight gradient (one "
                    "image, one output channel)")
        if not problem.same_dtype:
            return "needs x and w of one dtype"
        size, least = math.prod(problem.x_shape), tuning.current().jit_elements
        if size < least:
            return f"x has {size} < {least} elements (the compiled call does not pay)"
        if not jit.available():
            return "needs numba (the compiled kernels)"
        return None

    def run(self, plan, x, w, bias=None, out=None):
        p = plan.problem
        method = "shift" if plan.form == "taps" else "window"
        return depthwise(method, x, w, p.stride, p.dilation, p.pads, bias)
