r"""``im2col``: every window copied into a column matrix, one matmul per group.

    cols[(c, j), (b, p)] = x_pad[b, g, c, p·s + j·d]      y[b, g] = w[g] (Co × Ci·ΠK) @ cols

The column buffer is laid out so that the longer of (taps, output positions) is innermost —
where x is read sequentially; the bias is a last row of ones. Best when Ci·ΠK is small or the
images are small; the only direct method for stride > 1, and the one that applies to every
problem (the plans' fallback). Its products are exactly torch's (each tap times the
zero-padded x), so the data-dependent fallbacks of the other methods come here (``exactly``).
"""

from __future__ import annotations

import math

import numpy as np

from ...ops.windows import sliding_windows
from .. import tuning
from ..registry import Algorithm, column_count
from ..runtime import add_bias, column_matrix, pad, workspace, workspace_share
from ..runtime import pool as parallel


def im2col(x, w, stride, dilation, bias=None):
    """Column buffer laid out so that the longer of (taps, output positions) is innermost —
    where x is read sequentially — contracted by one matmul per group. Tiles over the batch
    and, when one image is too big, over the first output axis, so that a tile's columns stay
    within a cache-sized budget (and always within the workspace cap)."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    win = sliding_windows(x, kernel, stride, dilation)          # (B, G, Ci, *M, *K)
    out_size = win.shape[3:3 + ndim]
    pk, pm = math.prod(kernel), math.prod(out_size)
    if pk > pm and batch <= tuning.current().channel_batched_images and \
            w.strides[2] > w.strides[1]:
        return add_bias(batched_channels(x, w, win, out_size), bias)
    w_mat = w.reshape(groups, co, ci * pk)
    depth, extra = ci * pk, int(bias is not None)      # extra: a row of ones for the bias
    if extra:
        w_mat = np.concatenate([w_mat, bias.reshape(groups, co, 1)], axis=2)
    m_axes, k_axes = tuple(range(3, 3 + ndim)), tuple(range(3 + ndim, 3 + 2 * ndim))
    out = np.empty((batch, groups, co, pm), dtype=x.dtype)
    t = tuning.current()
    budget = min(workspace_share(), t.tile_bytes)
    per_row = groups * ci * pk * (pm // out_size[0]) * x.dtype.itemsize   # one output row
    per_item = per_row * out_size[0]
    tile = max(1, min(batch, budget // per_item))
    rows = out_size[0] if per_item <= budget else max(1, min(out_size[0], budget // per_row))
    rest = pm // out_size[0]
    taps_inner = pk > pm
    for start in range(0, batch, tile):
        for r0 in range(0, out_size[0], rows):
            part = win[start:start + tile, :, :, r0:r0 + rows]
            nb, nr = part.shape[0], part.shape[3]
            cells = slice(r0 * rest, (r0 + nr) * rest)
            if taps_inner:   # columns (G, nb·positions, Ci·ΠK)
                cols = column_matrix(part, (1, 0, *m_axes, 2, *k_axes),
                                (groups, nb * nr * rest, depth), 2, extra)
                res = np.matmul(cols, w_mat.transpose(0, 2, 1)).reshape(groups, nb, nr * rest, co)
                out[start:start + nb, :, :, cells] = res.transpose(1, 0, 3, 2)
            elif nb > 1 and pm < t.fold_positions and depth >= t.fold_depth:
                # small images, deep columns: (G, Ci·ΠK, nb·positions), one big matmul instead
                # of nb small ones (for shallow columns the transposed copy back costs more)
                cols = column_matrix(part, (1, 2, *k_axes, 0, *m_axes),
                                (groups, depth, nb * nr * rest), 1, extra)
                res = np.matmul(w_mat, cols)
                out[start:start + nb, :, :, cells] = res.reshape(
                    groups, co, nb, nr * rest).transpose(2, 0, 1, 3)
            else:            # columns (nb, G, Ci·ΠK, positions): output positions innermost
                cols = column_matrix(part, (0, 1, 2, *k_axes, *m_axes),
                                (nb, groups, depth, nr * rest), 2, extra)
                parallel.matmul(w_mat, cols, out=out[start:start + nb, :, :, cells])
    return out.reshape(batch, groups, co, *out_size)


def batched_channels(x, w, win, out_size):
    """Few images (B ≤ ``tuning.channel_batched_images``), many taps, and a kernel whose
    channel axis is outermost in memory — the weight gradient of a layer with few input
    channels per group (a network's first layer), where the kernel is ∂L/∂y seen batch-major.
    A matmul batched over the contracted channels (the layer's images), then summed, reads
    ∂L/∂y in place instead of transposing it; the columns hold each image's windows with x's
    rows innermost (contiguous reads), the B images' outputs side by side."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    pk, pm = math.prod(kernel), math.prod(out_size)
    w_by_channel = np.moveaxis(w, 2, 0).reshape(ci, groups, co, pk)   # a view of ∂L/∂y
    spatial = tuple(range(3, 3 + 2 * ndim))
    order = (2, 1, 0, *spatial)                                        # (Ci, G, B, *M, *K)
    per_channel = groups * batch * pk * pm * x.dtype.itemsize
    step = max(1, min(ci, min(workspace_share(), tuning.current().tile_bytes) // per_channel))
    y = np.zeros((groups, co, batch * pm), dtype=x.dtype)
    for start in range(0, ci, step):
        part = win[:, :, start:start + step]                           # (B, G, c, *M, *K)
        cols = workspace(x.dtype, [part.shape[i] for i in order])
        np.copyto(cols, part.transpose(order))                         # x rows innermost
        cols = cols.reshape(-1, groups, batch * pm, pk)
        y += parallel.matmul(w_by_channel[start:start + step],
                             cols.transpose(0, 1, 3, 2)).sum(0)
    return y.reshape(groups, co, batch, *out_size).transpose(2, 0, 1, *range(3, 3 + ndim))


def exactly(x, w, stride, dilation, pads, bias) -> np.ndarray:
    """The correlation by im2col, whose products are PyTorch's — which is what decides where a
    NaN or inf lands. PyTorch multiplies every tap with the zero-padded x (im2col, shift,
    window, outrows do too); stacked and rows never multiply the padding, which matters (0·NaN)
    only for a non-finite w; fft and winograd mix whole transforms, so a non-finite operand
    spreads — but never vanishes (no coefficient is zero for a value it reads, and 0·inf is
    NaN). So a non-finite operand sends a Winograd forward here, while a Winograd weight
    gradient and an FFT are checked by their result (w-sized; the FFT's own passes dwarf one
    more) and computed again where it is not finite. (Checking a forward's result, just
    written by the other core, measured slower than checking its operands.)"""
    return im2col(pad(x, pads), w, stride, dilation, bias)


class Im2col(Algorithm):
    name = "im2col"
    summary = "every window copied into a column matrix (Ci·ΠK rows), one matmul per group"

    def copied(self, problem):
        return column_count(problem)

    def runtime(self, problem):
        if (problem.batch <= tuning.current().channel_batched_images
                and problem.taps > problem.outputs):
            return ("a kernel with its channel axis outermost (a ∂w's ∂L/∂y): matmuls batched "
                    "over the channels, read in place",)
        return ()

    def run(self, plan, x, w, bias=None, out=None):
        p = plan.problem
        x = pad(x, p.pads)
        if plan.bias_after:       # outrows's budget fallback: the bias added afterwards
            return add_bias(im2col(x, w, p.stride, p.dilation), bias)
        return im2col(x, w, p.stride, p.dilation, bias)


IM2COL = Im2col()
