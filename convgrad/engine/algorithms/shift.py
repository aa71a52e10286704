r"""``shift``: per tap one matmul straight from x, summed — no copy.

    y_flat[b, g, :, q] = Σ_j w[g, :, :, j] @ x_flat[b, g, :, q + Σ_i j_i·d_i·row_i]

Stride 1: with the spatial axes flattened, tap j reads the *contiguous* slice starting at
offset Σ j·d·row_stride; outputs computed at the wrapped border columns are discarded. The
running sum goes block by block so it stays in cache. Best for large images, large kernels
and depthwise (then a multiply-add per tap; with numba, ``depthwise``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import tuning
from ..registry import Algorithm, direct_run, needs_stride_one


def shift(x, w, stride, dilation):
    """Per tap, one matmul (or multiply for depthwise) of a contiguous slice of flat x,
    accumulated block by block so the running sum stays in cache."""
    flat, offsets, length, finish = flat_taps(x, w, dilation)
    batch, groups, ci = x.shape[:3]
    co = w.shape[1]
    w_taps = w.reshape(groups, co, ci, -1)
    y = np.empty((batch, groups, co, flat.shape[-1]), dtype=x.dtype)
    if ci == 1 and co == 1:   # depthwise: rows are (image, channel) pairs
        flat, y = flat.reshape(batch * groups, -1), y.reshape(batch * groups, -1)
        w_taps = np.broadcast_to(w_taps[None, :, 0, 0], (batch, groups, len(offsets)))
        w_taps = w_taps.reshape(batch * groups, -1, 1)
        row_bytes = length * x.dtype.itemsize
        product = (lambda rows, t, off, out: np.multiply(flat[rows, off:off + length],
                                                         w_taps[rows, t], out=out))
    else:                     # rows are images
        row_bytes = groups * co * length * x.dtype.itemsize
        product = (lambda rows, t, off, out: np.matmul(w_taps[..., t],
                                                       flat[rows, ..., off:off + length], out=out))
    # one tap (pointwise) sums nothing: all rows in one call; else blocks whose sum stays in cache
    block = tuning.current().shift_block_bytes
    step = y.shape[0] if len(offsets) == 1 else max(1, block // row_bytes)
    tmp = np.empty((min(step, y.shape[0]) if len(offsets) > 1 else 0, *y.shape[1:-1], length),
                   dtype=x.dtype)
    for start in range(0, y.shape[0], step):
        rows = slice(start, min(start + step, y.shape[0]))
        acc, part = y[rows, ..., :length], tmp[:rows.stop - rows.start]
        for t, off in enumerate(offsets):
            product(rows, t, off, acc if t == 0 else part)
            if t:
                acc += part
    return finish(y.reshape(batch, groups, co, -1))


def flat_taps(x, w, dilation):
    """x with flattened spatial axes, each tap's flat offset, the run length covering every
    output position, and the function that cuts (B, G, Co, P) back to (B, G, Co, *M)."""
    size, kernel = x.shape[3:], w.shape[3:]
    row = [math.prod(size[i + 1:]) for i in range(len(size))]     # flat stride of each axis
    out_size = [n - d * (k - 1) for n, k, d in zip(size, kernel, dilation)]
    offsets = [sum(j * d * r for j, d, r in zip(tap, dilation, row))
               for tap in np.ndindex(*kernel)]
    length = sum((m - 1) * r for m, r in zip(out_size, row)) + 1
    flat = x.reshape(*x.shape[:3], -1)                             # a view when x is contiguous

    def finish(y):       # a view: the caller's copy into its output does the crop
        full = y.reshape(*y.shape[:3], *size)
        return full[(...,) + tuple(slice(0, m) for m in out_size)]

    return flat, offsets, length, finish


class Shift(Algorithm):
    name = "shift"
    summary = ("per tap one matmul with a contiguous slice of the flattened x (no copy), "
               "summed in cache-sized blocks")

    def applies(self, problem, settings):
        return needs_stride_one(problem)

    def run(self, plan, x, w, bias=None, out=None):
        return direct_run(shift, plan, x, w, bias)
