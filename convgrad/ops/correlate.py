"""The core of the primitive: a grouped, valid, strided, dilated correlation, nine ways.

    y[b, g, o, p] = Σ_{c, j} x[b, g, c, p·s + j·d] · w[g, o, c, j]
    x (B, G, Ci, *S), w (G, Co, Ci, *K) → y (B, G, Co, *M)

All contract in BLAS and differ in what they copy — or, for fft and winograd, in how many
multiplies they need (measured on the project machine):

``im2col``   copy every window into a column buffer (Ci·ΠK rows), then one batched matmul. Best
             when Ci·ΠK is small or the images are small; the only one for stride > 1.
``shift``    stride 1: flatten the spatial axes, so tap j reads the *contiguous* slice starting
             at offset Σ j·d·row_stride; one matmul per tap straight from x (no copy), summed
             into the output; outputs computed at the wrapped border columns are discarded.
             Best for large images, large kernels and depthwise (then a multiply-add per tap).
``stacked``  stride 1, the transpose of shift: one matmul of every tap's weights with all of x,
             then the ΠK shifted slices are summed. Best when C_out·ΠK ≤ C_in (e.g. the input
             gradient of a first layer, where C_out is the image's channel count) — and, with
             the summing compiled (numba), whenever C_out < C_in on images of 100 to 1600
             outputs: its matmul is ΠK times taller than im2col's and the copy it saves is
             the largest one.
``rows``     im2col and stacked combined: im2col over the trailing axes, the taps of the
             leading kernel axis (two in 3-d when C_out is small) stacked into the matmul rows
             as in ``stacked``, their products added along the leading axes by its col2im.
             1/k₀ of im2col's copy, and a matmul k₀ times taller — for 16–64 channels the
             shape BLAS runs fastest (C_out = 32: 105 → 142 GFLOP/s on one core). Stride 1
             on the stacked axes; best for C_in ≥ 16 from 1600 outputs per image and, with
             the adds compiled, from 100 outputs when C_out ≥ C_in.
``outrows``  the transpose of rows, for many taps and few outputs (weight gradients): the same
             row windows, and per *output* row one matmul with a contiguous slice of them
             holding that row's k₀ kernel rows. Dilation 1 on the first axis.
``window``   one einsum per *output* position over channels and taps, on a strided slice of x
             (no copy). For few outputs and many taps with tiny B·Co: the weight gradient of a
             depthwise convolution, where each channel's ΠK weights are dot products.
``fft``      stride 1: real FFTs (scipy.fft on all cores when installed, else numpy.fft) of x
             and of the (dilated) kernel over a length L ≥ n per axis, one complex matmul
             over channels per frequency, one inverse FFT. Circular wrap-around only touches
             outputs past n − ke, which are cut. Best for large kernels, where the other
             methods copy or multiply ΠK times; float32 error stays ~1e-6 relative.
``winograd`` stride 1, kernels 3×3, 1×3, 3 and 5 (1-d): Winograd's F(4, 3) per axis, F(4, 5)
             (ops/winograd.py) — x's overlapping 6×6 tiles and w transformed, 36 matmuls
             (Co × Ci) @ (Ci × tiles) instead of the 144 multiplies per 16 outputs of the
             direct sum, transformed back; the transforms compiled (numba). Its transpose
             computes such a layer's weight gradient (a correlation with a 3- or 5-tap
             *output*): x's tiles and ∂L/∂y's blocks transformed, 36 matmuls
             (Co × tiles) @ (tiles × Ci), G₀ᵀ·(·)·G₁. Chosen for float32 only, by the
             measured ``tuning.winograd_rules`` (3×3: from 8 input and output channels and 6
             output columns per dilation phase; 1-d 5-tap: 16 channels and 256 columns, a
             weight gradient 8 and 256): 0.4–0.9× the time of the direct methods there
             (resnet_3x3's forward 9.4 → 4.0–4.5 ms; mnist_2's 0.5×). Its float32
             error is ~1e-6–1e-5 of the output's scale (direct: ~3e-7); float64, the
             reference, keeps the direct sums.
``depthwise`` compiled (numba) kernels for one channel per group (shift's case: per plane the
             taps' multiply-adds, padded in cache) and a 2-d depthwise ∂w (window's dots).

Each algorithm is one module of ``engine/algorithms/`` (its applicability, its cost and its
kernel); ``depthwise`` there is the compiled specialisation of ``shift`` and ``window``.
``engine.plan`` decides which one computes a correlation and why (``ops.plan`` explains a
whole convolution); the thresholds are ``engine.tuning``'s. This module is the glue the
convolution rules call.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..engine import plan as plans
from ..engine.algorithms import names
from ..engine.algorithms.rows import row_split as _row_split  # noqa: F401  (re-exported)
from ..engine.algorithms.stacked import tap_major as _tap_major
from ..engine.algorithms.stacked import tap_shifts as _tap_shifts
from ..engine.kernels import jit
from ..engine.problem import Problem
from ..engine.rule import Choice, choose_method  # noqa: F401  (re-exported)
from ..engine.runtime import (  # noqa: F401  (re-exported: ops' workspace API)
    finite,
    get_workspace_limit,
    padding_buffer,
    set_workspace_limit,
    shared_workspace,
)
from ..engine.runtime import pool as parallel
from ..engine.runtime import workspace as _workspace
from ..engine.runtime import workspace_share as _budget
from ..engine.settings import current, settings
from ..engine.tuning import current as _tuning
from . import winograd

METHODS = ("im2col", "rows", "outrows", "shift", "stacked", "window", "fft", "winograd")


def current_method() -> str | None:
    """The method forced in this context (``forced_method``), if any."""
    return current().method


def forced_method(name: str | None):
    """Force one of ``METHODS`` for every correlation in this context (tests, benchmarks):
    ``engine.settings(method=name)``."""
    if name is not None and name not in names():
        raise ValueError(f"forced_method: unknown method {name!r}; choose from {names()}")
    return settings(method=name)


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int], dilation: Sequence[int],
              pads: Sequence[tuple[int, int]] | None = None,
              bias: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """Grouped valid correlation ``x (B, G, Ci, *S) ⋆ w (G, Co, Ci, *K) → (B, G, Co, *M)`` of x
    padded (or, negative, cropped) by ``pads`` ``(lo, hi)`` per spatial axis, plus ``bias``
    (G, Co) if given; into ``out`` (that shape) if given — a batch part's slice of the whole
    result, which ``winograd`` writes directly (one pass over the output less).

    ``engine.plan``'s plan of these shapes runs it: ``plan(problem).run(x, w, bias, out)``.
    The padded copy goes to a reused scratch buffer — except along the axes whose taps
    ``stacked`` and ``rows`` stack into their matmul: they multiply the unpadded x and add each
    tap's product where it lands. ``im2col`` adds the bias inside its matmul (a row of ones in
    the columns), ``stacked`` and ``rows`` as the start of their sums, the others in place
    afterwards.
    """
    y = _correlate(x, w, stride, dilation, pads, bias, out)
    if out is None or y is out:
        return y
    np.copyto(out, y)
    return out


def threads_itself(problem: Problem) -> bool:
    """Whether ``correlate`` of this problem runs on several cores by itself (Winograd:
    ``winograd.threads``) — the caller then passes the whole batch from one thread."""
    if plans.plan_for(problem).name != "winograd":
        return False
    return winograd.threads(problem.batch, problem.dtype, problem.macs) > 1


def _correlate(x, w, stride, dilation, pads, bias, out):
    pads = (tuple((lo, hi) for lo, hi in pads) if pads is not None
            else ((0, 0),) * (x.ndim - 3))
    return plans.for_arrays(x, w, stride, dilation, pads).run(x, w, bias, out)


def correlate_phases(x: np.ndarray, w: np.ndarray, dilation: Sequence[int], phases,
                     out: np.ndarray) -> bool:
    """Several stride-1 correlations of one x (B, G, Ci, *S) with parts of one kernel w
    (G, Co, Ci, *K), each written into its own view of ``out``: ``phases`` holds
    ``(taps, dilation, pads, where)`` — the kernel ``w[(…, *taps)]`` and the (B, G, Co, *m)
    result ``out[(…, *where)]``. These are the stride phases of an input gradient (conv.py):
    together they hold every tap of w once, so ``stacked`` runs them as one matmul of all taps
    with x — the matmul of the stride-1 correlation with all of w — and adds each phase's
    products into its strided view.

    Returns False, doing nothing, where that full correlation would not be ``stacked`` (by
    ``choose_method`` or a forced method), without the compiled adds, or when one image's
    products break the cache budget; the caller then runs the phases one by one."""
    ndim = x.ndim - 3
    if plans.shared_phases(x.shape, w.shape, dilation, x.dtype) is not None:
        return False
    full = plans.full_pads(w.shape[3:], dilation)
    plans.record(plans.plan_for(Problem.of(x.shape, w.shape, (1,) * ndim, dilation, full,
                                           None, x.dtype == w.dtype)))      # (trace())
    batch, groups, ci = x.shape[:3]
    co, size = w.shape[1], x.shape[3:]
    per_image = groups * math.prod(w.shape[3:]) * co * math.prod(size) * x.dtype.itemsize
    budget = min(_budget() // 2, _tuning().tile_bytes)
    tap_major = _tap_major(w).reshape(groups, *w.shape[3:], co, ci)         # (G, *K, Co, Ci)
    subs = [tap_major[(slice(None), *taps)] for taps, *_ in phases]       # (G, *k, Co, Ci)
    blocks = [sub.reshape(groups, -1, co, ci) for sub in subs]
    w_taps = np.concatenate(blocks, axis=1)
    taps = w_taps.shape[1]
    shifts = [shift for sub, (_, dil, pads, _) in zip(subs, phases)
              for shift in _tap_shifts(sub.shape[1:1 + ndim], dil, pads)]
    flat = x.reshape(batch, groups, ci, -1)
    tile = max(1, min(batch, budget // per_image))
    for start in range(0, batch, tile):
        rows = slice(start, min(start + tile, batch))
        nb = rows.stop - rows.start
        products = _workspace(x.dtype, (nb, groups, taps * co, flat.shape[-1]))
        parallel.matmul(w_taps.reshape(groups, taps * co, ci), flat[rows], out=products)
        products = products.reshape(nb, groups, taps, co, *size)
        first = 0
        for block, (_, _, _, where) in zip(blocks, phases):
            count = block.shape[1]
            jit.add_taps(products[:, :, first:first + count], None,
                         shifts[first:first + count], out[rows][(slice(None),) * 3 + where])
            first += count
    return True
