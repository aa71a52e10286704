r"""``stacked``: the transpose of ``shift`` — one matmul of every tap's weights with x.

    P[b, g, (j, o), q] = Σ_c w[g, o, c, j] · x[b, g, c, q]
    y[b, g, o, p] = Σ_j P[b, g, (j, o), p + j·d − lo]

Stride 1: the taps of the kernel axes stacked into the rows of one matmul with the *unpadded*
x, whose products are then added where they land (a col2im; compiled with numba). ΠK times
taller than im2col's matmul, and the copy it saves is the largest one: best when
C_out·ΠK ≤ C_in, and with the adds compiled whenever C_out < C_in on images of 100–1600
outputs. ``rows`` (rows.py) is the same kernel with only the leading axes stacked.
"""

from __future__ import annotations

import math

import numpy as np

from ...ops.windows import pad_or_crop, sliding_windows
from .. import tuning
from ..kernels import jit
from ..registry import Algorithm, needs_stride_one, padding_bytes
from ..runtime import add_bias, column_matrix, finite, pad, workspace, workspace_share
from ..runtime import pool as parallel
from .im2col import exactly


def stacked(x, w, stride, dilation, pads, bias=None, split=None):
    """The taps of the first ``split`` kernel axes stacked into the rows of one matmul, whose
    products are then added where they land (a col2im over those axes); the other axes, if any,
    as im2col columns. ``split = ndim`` (``stacked``): the matmul reads x itself, unpadded.
    ``split < ndim`` (``rows``): the columns hold only the trailing axes' taps, over the
    leading axes' *unpadded* rows. Either way the leading axes (stride 1) are never padded —
    a product row that would read padding is simply not added.

    With numba the adding is one compiled pass instead of one strided NumPy add per tap. The
    products go through a reused buffer within the cache budget and the workspace cap: a few
    images at a time, or for large images one image and a chunk of the taps at a time."""
    ndim = x.ndim - 3
    split = ndim if split is None else split
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    # crop (negative padding) the leading axes; their positive padding is never materialised
    x = pad_or_crop(x, [(min(lo, 0), min(hi, 0)) for lo, hi in pads[:split]]
                    + [(0, 0)] * (ndim - split))
    lead_pads = [(max(lo, 0), max(hi, 0)) for lo, hi in pads[:split]]
    lead, lead_kernel = x.shape[3:3 + split], kernel[:split]
    out_lead = [n + lo + hi - d * (k - 1)
                for n, (lo, hi), k, d in zip(lead, lead_pads, lead_kernel, dilation)]
    taps, depth = math.prod(lead_kernel), ci * math.prod(kernel[split:])
    shifts = tap_shifts(lead_kernel, dilation, lead_pads)
    if split < ndim:     # columns of the trailing axes' windows: (Ci, *K'', *S', *M'')
        win = sliding_windows(pad(x, pads[split:]), kernel[split:], stride[split:],
                              dilation[split:])
        tail_out = win.shape[3 + split:3 + ndim]
        rest = math.prod(tail_out)     # merged with the last stacked axis: long runs to add
        spatial, out_spatial = (*lead[:-1], lead[-1] * rest), (*out_lead[:-1], out_lead[-1] * rest)
        shifts = [shift[:-1] + [shift[-1] * rest] for shift in shifts]
        order = (0, 1, 2, *range(3 + ndim, 3 + 2 * ndim - split), *range(3, 3 + ndim))
    else:
        tail_out, spatial, out_spatial = (), lead, out_lead
        flat = x.reshape(batch, groups, ci, -1)
    positions = math.prod(spatial)
    if split == ndim:
        w_taps = tap_major(w)
    else:
        w_taps = np.ascontiguousarray(np.moveaxis(w.reshape(groups, co, ci, taps, -1), 3, 1))
    w_taps = w_taps.reshape(groups, taps, co, depth)
    compiled = (batch * groups * taps * co * positions >= tuning.current().jit_elements
                and jit.available())
    y = (np.empty if compiled else np.zeros)((batch, groups, co, *out_spatial), dtype=x.dtype)
    tile, chunk, columns, per_tap = tiling(batch, groups, co, depth, taps, positions,
                                           split < ndim, x.dtype.itemsize)
    for start in range(0, batch, tile):
        part = slice(start, min(start + tile, batch))
        nb = part.stop - part.start
        if split < ndim:
            src = column_matrix(win[part], order, (nb, groups, depth, positions), 2, 0)
        else:
            src = flat[part]
        for t0 in range(0, taps, chunk):
            nt = min(chunk, taps - t0)
            products = workspace(x.dtype, (nb, groups, nt * co, positions),
                                  slot="taps" if split < ndim else "columns")
            parallel.matmul(w_taps[:, t0:t0 + nt].reshape(groups, nt * co, depth), src,
                            out=products)
            products = products.reshape(nb, groups, nt, co, *spatial)
            if compiled:
                jit.add_taps(products, bias, shifts[t0:t0 + nt], y[part], first=t0 == 0)
                continue
            for t, shift in enumerate(shifts[t0:t0 + nt]):
                dst, src_at = [], []
                for s, n, m in zip(shift, spatial, out_spatial):
                    first, last = max(0, -s), min(m, n - s)
                    dst.append(slice(first, last))
                    src_at.append(slice(first + s, last + s))
                if all(sl.start < sl.stop for sl in dst):
                    y[part][(..., *dst)] += products[:, :, t][(..., *src_at)]
    y = y.reshape(batch, groups, co, *out_lead, *tail_out)
    return y if compiled else add_bias(y, bias)


def tiling(batch: int, groups: int, co: int, depth: int, taps: int, positions: int,
           columns: bool, itemsize: int) -> tuple[int, int, int, int]:
    """(images per tile, taps per chunk, bytes of one image's columns, bytes of one image's
    products of one tap): a few images at a time within half this thread's workspace share
    and the cache budget, or one image and a chunk of the taps."""
    per_tap = max(1, groups * co * positions * itemsize)
    columns = groups * depth * positions * itemsize if columns else 0
    budget = min(workspace_share() // 2, tuning.current().tile_bytes)
    tile = max(1, min(batch, budget // (columns + taps * per_tap)))
    chunk = taps if tile > 1 else max(1, min(taps, (budget - columns) // per_tap))
    return tile, chunk, columns, per_tap


def tap_shifts(kernel, dilation, pads) -> list[list[int]]:
    """Per tap (row-major), where its products land: output i of a stride-1 correlation padded
    by ``pads`` reads x[i + shift], shift = j·d − lo per axis."""
    return [[j * d - lo for j, d, (lo, _) in zip(tap, dilation, pads)]
            for tap in np.ndindex(*kernel)]


def tap_major(w: np.ndarray) -> np.ndarray:
    """The kernel (G, Co, Ci, *K) as a contiguous (G, ΠK, Co, Ci): one (Co, Ci) matrix per tap.
    An input gradient's kernel is a transposed, flipped view; its copy is tiled in cache when
    compiled (NumPy's strided copy of it: 1.2 → 0.3 ms for 256×128×3×3 float64)."""
    least = tuning.current().jit_elements // 8
    if w.strides[2] > w.strides[1] and w.size >= least and jit.available():
        return jit.tap_major(w)
    return np.ascontiguousarray(np.moveaxis(w.reshape(*w.shape[:3], -1), 3, 1))


class Stacked(Algorithm):
    name = "stacked"
    summary = ("one matmul of every tap's weights with the unpadded x, the ΠK shifted "
               "products added where they land")

    def applies(self, problem, settings):
        return needs_stride_one(problem)

    def stacked_axes(self, problem) -> int:
        """How many leading kernel axes are stacked into the matmul rows (all, here)."""
        return problem.ndim

    def workspace(self, problem):
        """A tile's columns (the trailing axes' windows, padded) and its taps' products."""
        split, ndim = self.stacked_axes(problem), problem.ndim
        lead = [n + max(lo, 0) + max(hi, 0) for n, (lo, hi) in
                zip(problem.x_shape[3:3 + split], problem.pads[:split])]
        out_tail = problem.out_size[split:]
        positions = math.prod(lead) * math.prod(out_tail)
        depth = problem.in_channels * math.prod(problem.kernel[split:])
        tile, chunk, columns, per_tap = tiling(
            problem.batch, problem.groups, problem.out_channels, depth,
            math.prod(problem.kernel[:split]), positions, split < ndim, problem.itemsize)
        padded = padding_bytes(problem) if split < ndim else 0
        return padded + tile * (columns + chunk * per_tap)

    def runtime(self, problem):
        if any(lo > 0 or hi > 0 for lo, hi in problem.pads):
            return ("a non-finite w: im2col (it never multiplies the padding, torch does: "
                    "0·NaN)",)
        return ()

    def run(self, plan, x, w, bias=None, out=None):
        p = plan.problem
        pads, ndim = p.pads, p.ndim
        if any(lo > 0 or hi > 0 for lo, hi in pads) and not finite(w):
            return exactly(x, w, p.stride, p.dilation, pads, bias)    # torch's products
        if any(max(-lo, 0) + max(-hi, 0) > n for n, (lo, hi) in zip(x.shape[3:], pads)):
            x, pads = pad(x, pads), ((0, 0),) * ndim    # a crop into the padding: first
        return stacked(x, w, p.stride, p.dilation, pads, bias,
                       ndim if plan.split is None else plan.split)
