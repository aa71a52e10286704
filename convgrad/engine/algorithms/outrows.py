r"""``outrows``: the transpose of ``rows``, for many taps and few outputs (weight gradients).

    y[…, p₀, p'] = Σ_c cols[c, …, p₀·s₀·ΠK' : (p₀·s₀ + k₀)·ΠK'] @ w[c, …]

The row windows over the trailing axes, laid out (Ci, G, B·M', S₀·K') so that output row p₀'s
taps — kernel rows p₀·s₀ … p₀·s₀ + k₀ − 1 of x — are one contiguous slice; per output row one
matmul with the kernel seen as (Ci, G, ΠK, Co), summed over Ci. 1/M₀ of im2col's copy (none
in 1-d, where the row windows are x itself). Dilation 1 on the first axis.
"""

from __future__ import annotations

import math

import numpy as np

from ...ops.windows import output_length, sliding_windows
from ..registry import Algorithm, column_count, direct_run, mib, padding_bytes
from ..runtime import workspace, workspace_share


def outrows(x, w, stride, dilation):
    """Many taps, few outputs: row windows over the trailing axes, laid out (Ci, G, B·M', S₀·K')
    so that output row p₀'s taps — kernel rows p₀·s₀ … p₀·s₀ + k₀ − 1 of x — are one contiguous
    slice; one matmul per output row with the kernel seen as (Ci, G, ΠK, Co), summed over Ci.
    In 1-d the "row windows" are x itself: no copy at all."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    out0 = output_length(x.shape[3], kernel[0], stride[0])
    if ndim == 1:
        cols, out_rest = x.transpose(2, 1, 0, 3), ()            # (Ci, G, B, S0): a view
    else:
        win = sliding_windows(x, kernel[1:], stride[1:], dilation[1:])  # (B,G,Ci,S0,*M',*K')
        out_rest = win.shape[4:3 + ndim]     # (the plan takes im2col where win breaks the cap)
        order = (2, 1, 0, *range(4, 3 + ndim), 3, *range(3 + ndim, 2 + 2 * ndim))
        cols = workspace(x.dtype, [win.shape[i] for i in order])
        np.copyto(cols, win.transpose(order))
    pm1, pk1 = math.prod(out_rest), math.prod(kernel[1:])
    cols = cols.reshape(ci, groups, batch * pm1, -1)
    w_mat = w.transpose(2, 0, *range(3, 3 + ndim), 1).reshape(ci, groups, -1, co)
    y = np.empty((groups, batch, pm1, co, out0), dtype=x.dtype)
    span = kernel[0] * pk1
    for p in range(out0):
        first = p * stride[0] * pk1
        part = np.matmul(cols[..., first:first + span], w_mat)   # (Ci, G, B·M', Co)
        y[..., p] = part.sum(0).reshape(groups, batch, pm1, co)
    return np.moveaxis(y, 3, 2).reshape(groups, batch, co, *out_rest, out0).transpose(
        1, 0, 2, ndim + 2, *range(3, ndim + 2))


class Outrows(Algorithm):
    name = "outrows"
    summary = ("row windows over the trailing axes; per output row one matmul with the "
               "contiguous slice of its k₀ kernel rows")

    def applies(self, problem, settings):
        if problem.dilation[0] != 1:
            return f"needs dilation 1 on the first axis (dilation {problem.dilation})"
        return None

    def spills(self, problem) -> str | None:
        """Where its row windows break half this thread's workspace share (then im2col,
        the bias added afterwards as outrows would)."""
        windows = self.row_windows(problem)
        if windows > workspace_share() // (2 * problem.itemsize):
            return (f"its row windows ({mib(windows * problem.itemsize)}) exceed half this "
                    f"thread's workspace share")
        return None

    def row_windows(self, problem) -> int:
        """Elements of the row windows it copies (none in 1-d: they are x itself)."""
        if problem.ndim == 1:
            return 0
        return (problem.batch * problem.groups * problem.in_channels * problem.padded_size[0]
                * math.prod(problem.out_size[1:]) * math.prod(problem.kernel[1:]))

    def workspace(self, problem):
        return padding_bytes(problem) + self.row_windows(problem) * problem.itemsize

    def copied(self, problem):
        return 0 if problem.ndim == 1 else column_count(problem) // max(1, problem.out_size[0])

    def run(self, plan, x, w, bias=None, out=None):
        return direct_run(outrows, plan, x, w, bias)
