r"""The input gradient ∂L/∂x of ``conv`` — which is also the transposed convolution.

    ∂L/∂x[n, c, i] = Σ_{o, p, j : p·s + j·d = i + lo}  ∂L/∂y[n, o, p] · w[o, c, j]

For finite weights it is a correlation of ∂L/∂y, s − 1 zeros inserted between its elements
and padded by (ke − 1 − lo, ke − 1 − hi + r), with rot180(w) (in/out channels swapped),
computed stride phase by stride phase without the zeros (``_input_grad_phases``); the rule
itself, cut into batch parts, is ``conv.input_grad_rule``.

That correlation multiplies the padding by every tap, and 0·NaN = NaN: a weight with a NaN or
inf would poison every output. PyTorch's col2im forms only the products of real ∂L/∂y values
(each tap's products scattered where they land), so a NaN tap stays local. For a non-finite
weight, ``_scatter`` does exactly that, tap by tap.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np

from ..engine import tuning
from ..engine.kernels import jit
from ..engine.problem import Problem
from ..engine.settings import current
from .correlate import correlate, correlate_phases
from .geometry import ConvGeometry, effective_kernel


def _input_grad_chunk(dy: np.ndarray, w: np.ndarray, geo: ConvGeometry,
                      out: np.ndarray | None = None) -> np.ndarray:
    """dx as a sum over stride phases of stride-1 correlations with sub-sampled rot180(w);
    into ``out`` (``geo.input_shape``, C-contiguous: a batch slice of the whole dx) if given."""
    g, ndim = geo.groups, geo.ndim
    dyg = dy.reshape(geo.batch, g, -1, *geo.out_size)
    # rot180, in/out channels swapped within each group: (g, C_in/g, C_out/g, *K)
    flip = (slice(None),) * 3 + (slice(None, None, -1),) * ndim
    w_rot = w.reshape(g, -1, *w.shape[1:]).swapaxes(1, 2)[flip]
    phases = _phases(geo)
    if all(s == 1 for s in geo.stride):      # one phase, all taps: the textbook full correlation
        _, dil, pads, _ = zip(*(axis[0] for axis in phases))
        into = None if out is None else out.reshape(geo.batch, g, -1, *geo.in_size)
        return correlate(dyg, w_rot, (1,) * ndim, dil, pads, out=into).reshape(geo.input_shape)
    parts = [tuple(zip(*combo)) for combo in product(*phases)]   # (taps, dil, pads, where)
    # positions of a phase that meets no tap stay zero; else every position is written
    whole = all(len(axis) == min(s, n) for axis, s, n in zip(phases, geo.stride, geo.in_size))
    shape = (geo.batch, g, geo.in_channels // g, *geo.in_size)
    dx = np.empty(shape, dy.dtype) if out is None else out.reshape(shape)
    if not whole:
        dx[...] = 0
    if parts and not correlate_phases(dyg, w_rot, geo.dilation, parts, dx):   # one matmul
        for taps, dil, pads, where in parts:
            dx[(slice(None),) * 3 + where] = correlate(dyg, w_rot[(slice(None),) * 3 + taps],
                                                       (1,) * ndim, dil, pads)
    return dx.reshape(geo.input_shape)


def scatters_depthwise(geo: ConvGeometry) -> bool:
    """Whether the compiled depthwise scatter computes this input gradient: one channel per
    group (no channel multiplier), a stride > 1 (at stride 1 the full correlation is the
    depthwise kernel's own case), no crop, numba, enough products (∂L/∂y's elements × taps)
    to pay for the call, and no method forced (which forces the phases' correlations)."""
    return (geo.groups == geo.in_channels == geo.out_channels and any(s > 1 for s in geo.stride)
            and current().method is None
            and all(lo >= 0 and hi >= 0 for lo, hi in geo.padding)
            and math.prod(geo.output_shape) * math.prod(geo.kernel)
            >= tuning.current().jit_elements and jit.available())


def _depthwise_chunk(dy: np.ndarray, w: np.ndarray, geo: ConvGeometry,
                     out: np.ndarray | None = None) -> np.ndarray:
    """dx of a strided depthwise layer by the definition, each plane's products added where
    they land (``jit.depthwise_scatter``): one pass, none of the stride phases' copies."""
    return jit.depthwise_scatter(dy, w[:, 0], geo.in_size, geo.stride, geo.dilation,
                                 geo.padding, out)


def full_problem(geo: ConvGeometry, dtype, batch: int | None = None) -> Problem:
    """Stride 1: the input rule's one correlation — ∂L/∂y (N, g, C_out/g, *M) with rot180(w)
    as (g, C_in/g, C_out/g, *K), padded by ke − 1 − lo, ke − 1 − hi."""
    _, dilation, pads, _ = zip(*(axis[0] for axis in _phases(geo)))
    return phase_problems(geo, dtype, batch, [(slice(None),) * geo.ndim, dilation, pads])[0]


def phase_problems(geo: ConvGeometry, dtype, batch: int | None = None,
                   *only) -> list[Problem]:
    """The correlation of each stride phase (``_input_grad_phases``): ∂L/∂y with the phase's
    taps of rot180(w), stride 1, the phase's dilation and padding."""
    g, n = geo.groups, geo.batch if batch is None else batch
    parts = only or [tuple(zip(*combo)) for combo in product(*_phases(geo))]
    return [Problem.of((n, g, geo.out_channels // g, *geo.out_size),
                       (g, geo.in_channels // g, geo.out_channels // g,
                        *(len(range(k)[tap]) for k, tap in zip(geo.kernel, taps))),
                       (1,) * geo.ndim, dil, pads, dtype) for taps, dil, pads, *_ in parts]


def _phases(geo: ConvGeometry) -> list[list[tuple]]:
    """``_input_grad_phases`` per axis."""
    return [_input_grad_phases(n, m, k, s, d, lo)
            for n, m, k, s, d, (lo, _) in zip(geo.in_size, geo.out_size, geo.kernel,
                                              geo.stride, geo.dilation, geo.padding)]


def _input_grad_phases(n: int, m: int, k: int, s: int, d: int, lo: int) -> list[tuple]:
    """Per-axis stride phases of the input gradient: (taps, dilation, (lo, hi), output slice).

    Output positions i ≡ a (mod s) read the zero-inserted dy only through the rotated taps j with
    j·d ≡ P − a (mod s), P = ke − 1 − lo. Those taps are j_a, j_a + s', … with s' = s/gcd(d, s);
    consecutive ones land d/gcd(d, s) apart in dy. So phase a is a stride-1 correlation of dy with
    rot180(w)[j_a::s'], dilation d/gcd(d, s), padded by −e_a on the low side, where
    e_a = (a + j_a·d − P)/s, and as much on the high side as gives ⌈(n − a)/s⌉ outputs.
    Phases that meet no tap contribute zeros and are left out — found from the taps, so a huge
    stride costs nothing.
    """
    ke = effective_kernel(k, d)
    big_p = ke - 1 - lo
    step = s // math.gcd(d, s)
    phase_dilation = d // math.gcd(d, s)
    # tap j < step meets phase a ≡ P − j·d (mod s), and these residues are distinct: the phases
    # with taps come straight from the taps (never a loop over all s phases)
    firsts = sorted(((big_p - j * d) % s, j) for j in range(min(k, step)))
    phases = []
    for a, first in firsts:
        if a >= n:
            continue
        count = len(range(first, k, step))
        e = (a + first * d - big_p) // s
        length = -(-(n - a) // s)
        hi = length - 1 + effective_kernel(count, phase_dilation) - m + e
        phases.append((slice(first, None, step), phase_dilation, (-e, hi), slice(a, None, s)))
    return phases


def _scatter(dy: np.ndarray, w: np.ndarray, geo: ConvGeometry,
             out: np.ndarray | None = None) -> np.ndarray:
    """dx by the definition, tap by tap: for each tap j one matmul of w[:, :, j] with the real
    dy at the positions p whose i = p·s + j·d − lo lies inside x, added into the strided
    slice of those i (PyTorch's col2im: no product of a padded or inserted zero is formed)."""
    g = geo.groups
    ci, co = geo.in_channels // g, geo.out_channels // g
    dyg = dy.reshape(geo.batch, g, co, *geo.out_size)
    wg = w.reshape(g, co, ci, *geo.kernel)
    shape = (geo.batch, g, ci, *geo.in_size)
    dx = np.zeros(shape, dy.dtype) if out is None else out.reshape(shape)
    if out is not None:
        dx[...] = 0
    for tap in np.ndindex(*geo.kernel):
        src, dst = [], []
        for j, n, m, s, d, (lo, _) in zip(tap, geo.in_size, geo.out_size, geo.stride,
                                          geo.dilation, geo.padding):
            first = max(0, -(-(lo - j * d) // s))            # the first p landing at i ≥ 0
            last = min(m - 1, (n - 1 + lo - j * d) // s)     # the last landing at i < n
            if first > last:
                break
            src.append(slice(first, last + 1))
            start = first * s + j * d - lo
            dst.append(slice(start, start + (last - first) * s + 1, s))
        else:
            block = dyg[(slice(None),) * 3 + tuple(src)]
            taps = wg[(slice(None),) * 3 + tap].swapaxes(1, 2)          # (G, Ci, Co)
            products = np.matmul(taps, block.reshape(*block.shape[:3], -1))
            dx[(slice(None),) * 3 + tuple(dst)] += products.reshape(
                *products.shape[:3], *block.shape[3:])
    return dx.reshape(geo.input_shape)
