r"""``winograd``: Winograd's F(4, 3) per axis, F(4, 5) in 1-d (the matrices and the compiled
transforms are ``engine/winograd/``).

    Y = A₀ᵀ·[Σ_c (G₀·g·G₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·A₁        per tile d, one matmul per position

Stride 1, kernels 3×3, 1×3, 3 and 5 (1-d): x's overlapping 6×6 tiles and w transformed, 36
matmuls (Co × Ci) @ (Ci × tiles) instead of the 144 multiplies per 16 outputs of the direct
sum, transformed back. Its transpose computes such a layer's weight gradient (a correlation
with a 3- or 5-tap *output*): x's tiles and ∂L/∂y's blocks transformed, 36 matmuls
(Co × tiles) @ (tiles × Ci), G₀ᵀ·(·)·G₁. Chosen for float32 only, by the measured rule
(``tuning.winograd_rules``: 0.4–0.9× the time of the direct methods there); float32 error
~1e-6–1e-5 of the output's scale (direct: ~3e-7); float64, the reference, keeps the direct
sums unless forced.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ...ops.windows import output_length
from .. import tuning
from ..kernels import jit
from ..registry import Algorithm
from ..runtime import add_bias, finite, workspace, workspace_share
from ..winograd import blocks as wino
from ..winograd import matrices as transforms
from .im2col import exactly


def form_of(x_shape, w_shape, stride, dilation, pads=None) -> str | None:
    """Which Winograd computation this correlation is, if any: ``"forward"`` — a 3-tap kernel
    (3×3, 1×3, 3), stride 1 — or ``"weight"`` — a 3-tap *output* at dilation 1: the weight
    gradient of such a layer (its forward dilation is our stride), x (C_in, G, N, *S) and
    the kernel ∂L/∂y (G, C_out, N, *M)."""
    kernel = tuple(w_shape[3:])
    size = [n + (lo + hi if pads else 0) for n, (lo, hi) in
            zip(x_shape[3:], pads or ((0, 0),) * len(kernel))]
    out = tuple(output_length(n, k, s, d) for n, k, s, d in zip(size, kernel, stride, dilation))
    if all(s == 1 for s in stride) and wino.fits(kernel):
        return "forward"
    if all(d == 1 for d in dilation) and wino.fits(out):
        return "weight"
    return None


def forward(x, w, dilation, pads, bias=None, out=None):
    """Stride-1 correlation by Winograd's F(m, r) per axis (``engine/winograd/``), 1-d and 2-d:
    transform x's tiles and w, contract the channels by α₀α₁ matmuls (Co × Ci) @ (Ci × tiles),
    transform back and add the bias. A dilation splits the output into d₀·d₁ phases (every
    d-th row and column), each an undilated correlation of the matching phase of x. Tiles go
    a block of tile rows at a time, within the cache budget and the workspace cap. Into
    ``out`` when it is C-contiguous."""
    if x.ndim == 4:                         # 1-d as a single row
        y = forward(x[:, :, :, None], w[..., None, :], (1, *dilation), ((0, 0), *pads), bias,
                      None if out is None else out[:, :, :, None])
        return y[:, :, :, 0]
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    size = [n + lo + hi - d * (k - 1)
            for n, (lo, hi), k, d in zip(x.shape[3:], pads, kernel, dilation)]
    shape = (batch, groups, co, *size)
    y = (out if out is not None and out.shape == shape and out.flags.c_contiguous
         else np.empty(shape, dtype=x.dtype))
    positions = math.prod(transforms.alpha(k) for k in kernel)
    bias = None if bias is None else bias.reshape(groups, co)
    plan, v, m, u = workspaces("forward", size, kernel, dilation, batch,
                                   (groups, positions), (ci, co), x.dtype)
    wino.forward(x, w, kernel, pads, bias, plan, v, m, u, y)
    return y


def weight(x, dy, stride, pads):
    """The weight gradient of a 3-tap layer by Winograd — the transpose of its forward:
    ∂L/∂w = G₀ᵀ·[Σ_tiles (A₀·δ·A₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·G₁ per (C_out, C_in), the sum over tiles
    and images one matmul per transformed position (C_out × tiles) @ (tiles × C_in), deep in
    the contracted axis. x (C_in, G, N, *S) and dy (G, C_out, N, *M) as ``weight_grad_rule``
    passes them; ``stride`` is the layer's dilation (its phases), ``pads`` its padding."""
    if x.ndim == 4:                         # 1-d as a single row
        dw = weight(x[:, :, :, None], dy[..., None, :], (1, *stride), ((0, 0), *pads))
        return dw[:, :, :, 0]
    ci, groups, batch = x.shape[:3]
    co = dy.shape[1]
    kernel = tuple((n + lo + hi - m) // s + 1
                   for n, (lo, hi), m, s in zip(x.shape[3:], pads, dy.shape[3:], stride))
    xf, dyf = x.transpose(2, 1, 0, 3, 4), dy.transpose(2, 0, 1, 3, 4)   # (N, G, C, …) views
    positions = math.prod(transforms.matrices(k)[0].shape[0] for k in kernel)
    plan, v, d, products = workspaces("weight", dy.shape[3:], kernel, stride, batch,
                                          (groups, positions), (ci, co), x.dtype)
    return wino.weight(xf, dyf, kernel, pads, plan, v, d, products).transpose(2, 0, 1, 3, 4)


def workspaces(form: str, size, kernel, dilation, batch: int, planes, channels, dtype):
    """The plan of a Winograd computation whose output (per image) has ``size``: its blocks in
    shares of the batch, one per thread that ``wino.forward`` or ``weight`` runs at once
    (``wino.threads``) — and the workspaces: the two transformed operands'
    (threads, G, α₀α₁, C, ≥ slots) for ``channels`` (C_in, C_out), whole (C-contiguous) ones
    for the compiled transforms, which would compile a sliced view to strided loads (measured
    2× slower), and each share's transformed kernel's (forward: threads, α₀α₁, G, Co, Ci) or
    products' (weight: threads, G, α₀α₁, Co, Ci).
    Each share's blocks hold as many slots as ``tuning.winograd_block_bytes(form)`` and the
    thread's part of half the workspace cap allow: for the forward (products' N = slots)
    6 MiB — mnist_2's forward 2.32 → 2.11 ms against 16 MiB, the others within noise — for
    the weight gradient (K = slots: deeper is better) 16 MiB. Returns (plan, workspaces…)."""
    groups, positions = planes
    macs = batch * groups * math.prod(channels) * math.prod(size) * math.prod(kernel)
    threads = wino.threads(batch, dtype, macs)
    slot_bytes = positions * groups * sum(channels) * np.dtype(dtype).itemsize
    t = tuning.current()
    fit = min(workspace_share() // (2 * threads), t.tile_bytes,
              t.winograd_block_bytes(form)) // slot_bytes
    plan = _plan(tuple(size), tuple(kernel), tuple(dilation), fit, batch, threads)
    # An odd row length: with an even one (a multiple of 16: 32×32 images) the α₀α₁ planes a
    # transform writes or reads at once can share one cache set (measured 3× slower).
    spaces = [workspace(dtype, (threads, *planes, c, plan.longest | 1), slot)
              for c, slot in zip(channels, ("columns", "taps"))]
    ci, co = channels
    spaces.append(workspace(dtype, (threads, positions, groups, co, ci) if form == "forward"
                             else (threads, groups, positions, co, ci), "kernel"))
    return (plan, *spaces)


@functools.lru_cache(maxsize=256)
def _plan(size, kernel, dilation, fit: int, batch: int, threads: int) -> wino.Plan:
    """``blocks`` for each thread's share of the batch, kept per geometry (building
    the blocks and their tables is ~0.1 ms of Python, which two threads' parts wait for)."""
    return wino.Plan([list(blocks(size, kernel, dilation, fit, range(
        batch * t // threads, batch * (t + 1) // threads))) for t in range(threads)])


def blocks(size, kernel, dilation, fit: int, images: range):
    """The blocks (parts, used slots) of these images: per dilation phase, tile rows with each
    row of every image of a group one after another in a scratch row — long inner loops for
    small images — each image row taking its w outputs plus the α₁ − m₁ positions its last
    tile reads (``transforms.overlap``), with no gap to round it up to whole tiles (measured
    with 16-wide phase images: a spare tile per image row would cost 20 % more transforms and
    products), in blocks of up to ``fit`` tile slots, each block within one phase (measured
    on the dilated layer with the blocks of a share in one compiled call: forward
    2.22 → 1.92 ms, ∂x 2.32 → 1.97, ∂w 2.48 → 2.25 against blocks holding all four phases).
    A part is (phase, dilation, positions per image row, images, tile rows, first slot)."""
    steps = transforms.steps(kernel)
    m1, extra = steps[-1], transforms.overlap(kernel)
    parts, used = [], 0
    for phase in np.ndindex(*dilation):
        outputs = [len(range(a, m, d)) for m, a, d in zip(size, phase, dilation)]
        tiles = [-(-n // m) for n, m in zip(outputs, steps)]
        if min(tiles) <= 0:
            continue
        if parts:
            yield parts, used
            parts, used = [], 0
        seg = outputs[1] + extra
        per_group = max(1, min(len(images), fit * m1 // seg))
        per_block = max(1, min(tiles[0], fit * m1 // (per_group * seg)))
        for n0 in range(images.start, images.stop, per_group):
            group = slice(n0, min(n0 + per_group, images.stop))
            for i0 in range(0, tiles[0], per_block):
                rows = slice(i0, min(i0 + per_block, tiles[0]))
                count = -(-(group.stop - n0) * (rows.stop - i0) * seg // m1)
                if parts and used + count > fit:
                    yield parts, used
                    parts, used = [], 0
                parts.append((phase, dilation, seg, group, rows, used))
                used += count
    if parts:
        yield parts, used


class Winograd(Algorithm):
    name = "winograd"
    summary = ("Winograd's F(4, 3) per axis (F(4, 5) in 1-d): tiles and kernel transformed, "
               "α₀α₁ channel matmuls, transformed back")

    def form(self, problem) -> str | None:
        """``forward`` (a 3-tap kernel, stride 1), ``weight`` (a 3-tap output: a ∂w) or None."""
        return form_of(problem.x_shape, problem.w_shape, problem.stride, problem.dilation,
                       problem.pads)

    def applies(self, problem, settings):
        if self.form(problem) is not None:
            return None
        if not jit.available():
            return "needs numba (its transforms are compiled)"
        return ("needs stride 1 and a 3×3, 1×3, 3- or 5-tap kernel, or dilation 1 and such "
                "an output (a weight gradient)")

    def declined(self, problem, settings):
        from ...ops import warmup  # noqa: PLC0415  (warmup imports the engine)
        from ..rule import winograd_rule  # noqa: PLC0415  (the rule imports this module)
        if problem.dtype is None:
            return "the rule is asked without a dtype here: the direct methods only"
        if problem.dtype != "float32":
            return "the rule keeps the direct sums in float64 (the reference)"
        if not settings.winograd:
            return "switched off (settings(winograd=False) or CONVGRAD_WINOGRAD=0)"
        form, shape, channels, least, columns, width = winograd_rule(
            problem.padded_shape, problem.w_shape, problem.stride, problem.dilation)
        if least == math.inf:
            return f"no measured rule for its {form} form on {tuple(shape)}"
        if channels < least:
            return f"{channels} < {least} channels: measured slower than the direct sums"
        if columns < width:
            return f"{columns} < {width} output columns per phase: measured slower"
        state = warmup.state(shape, problem.dtype)
        if state != "ready":
            return f"its compiled code is not ready yet (ops.warmup: {state})"
        return "costs more"

    def cost(self, problem, tuning):
        share = math.prod(transforms.alpha(k) / (k * (transforms.alpha(k) + 1 - k))
                          if k > 1 else 1.0 for k in problem.kernel)
        return problem.macs * share * tuning.direct_mac

    def copied(self, problem):
        """The transformed tiles of x and of the output: α per axis for each tile of m."""
        kernel = problem.kernel if self.form(problem) != "weight" else problem.out_size
        area = tiles = 1
        for k, m in zip(kernel, problem.out_size if self.form(problem) != "weight"
                        else problem.kernel):
            alpha = transforms.alpha(k) if k > 1 else 1
            area, tiles = area * alpha, tiles * -(-m // (alpha - k + 1))
        return (problem.batch * problem.groups * tiles * area
                * (problem.in_channels + problem.out_channels))

    def runtime(self, problem):
        if self.form(problem) == "weight":
            return ("a non-finite result: recomputed by im2col",)
        return ("a non-finite x or w: im2col (the transforms would spread it)",)

    def run(self, plan, x, w, bias=None, out=None):
        p = plan.problem
        if plan.form == "weight":      # its result is w-sized: checked after
            y = add_bias(weight(x, w, p.stride, p.pads), bias)
            return y if finite(y) else exactly(x, w, p.stride, p.dilation, p.pads, bias)
        if not (finite(w) and finite(x)):
            return exactly(x, w, p.stride, p.dilation, p.pads, bias)
        return forward(x, w, p.dilation, p.pads, bias, out)
