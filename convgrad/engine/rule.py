"""The measured method rule: an ordered list of boundaries (``tuning.py`` holds their
values and where each was measured), each returning the method with the reason it decided.

It sees the padded x (B, G, Ci, *S) and w (G, Co, Ci, *K) of a correlation
(``engine.problem``); ``engine.plan`` then checks the answer against the algorithm's
``applies()`` and specialises it (the compiled depthwise kernels).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..ops import warmup, winograd
from ..ops.windows import output_length
from . import tuning
from .algorithms.fft import fft_pays
from .algorithms.winograd import form_of
from .kernels import jit


class Choice(str):
    """The method rule's answer: the method's name (a str), with ``reason`` — the boundary
    that decided it — and ``provisional``: Winograd would be taken once its compiled code is
    ready (``warmup``), so the answer may change."""

    reason: str
    provisional: bool

    def __new__(cls, name: str, reason: str, provisional: bool = False) -> Choice:
        choice = super().__new__(cls, name)
        choice.reason, choice.provisional = reason, provisional
        return choice


def choose_method(x_shape: Sequence[int], w_shape: Sequence[int], stride: Sequence[int],
                  dilation: Sequence[int], dtype=None) -> Choice:
    """The measured rule of thumb (see the module docstring and benchmarks/bench_ops.py) for
    the padded x (B, G, Ci, *S) and w (G, Co, Ci, *K): a ``Choice`` (the name, and why).
    ``dtype``: Winograd only for float32 (float64, the reference, keeps the direct sums)."""
    t = tuning.current()
    ci, co, kernel = x_shape[2], w_shape[1], w_shape[3:]
    pk = math.prod(kernel)
    out_per_image = math.prod(n - d * (k - 1) for n, k, d in zip(x_shape[3:], kernel, dilation))
    outputs = math.prod(output_length(n, k, s, d) for n, k, s, d in
                        zip(x_shape[3:], kernel, stride, dilation))
    if x_shape[0] * co <= 4 and outputs <= 64 and pk >= 8 * outputs:
        return Choice("window", f"B·C_out = {x_shape[0] * co} ≤ 4, {outputs} ≤ 64 outputs "
                                f"and ΠK = {pk} ≥ 8× as many taps: one einsum per output")
    if pk > 1 and ci <= t.window_channels and all(
            n - d * (k - 1) == 1 for n, k, d in zip(x_shape[3:], kernel, dilation)):
        return Choice("window", f"the kernel covers x (one output: a pointwise layer's ∂w) "
                                f"and C_in = {ci} ≤ {t.window_channels}: a sum of matmuls")
    if all(s == 1 for s in stride) and pk >= 16 and fft_pays(x_shape, w_shape, dilation):
        return Choice("fft", f"ΠK = {pk} ≥ 16 taps at stride 1, and the FFT cost model is "
                             f"under 0.8× the direct one")
    single = dtype is not None and np.dtype(dtype) == np.float32
    waiting = False
    if single and winograd.automatic():
        form, shape, channels, least, columns, width = winograd_rule(x_shape, w_shape, stride,
                                                                      dilation)
        if channels >= least and columns >= width:
            if warmup.ready(shape, dtype):
                return Choice("winograd", f"float32, its {form} form: {channels} ≥ {least} "
                                          f"channels and {columns} ≥ {width} columns per "
                                          f"phase (measured faster)")
            waiting = True      # until its compiled code is ready, a direct method: warmup.py
    choice = direct_choice(x_shape, w_shape, stride, dilation, single, pk, out_per_image,
                           outputs)
    if waiting:
        return Choice(choice, f"{choice.reason} (Winograd once its compiled code is ready)",
                      provisional=True)
    return choice


def winograd_rule(x_shape, w_shape, stride, dilation):
    """The measured Winograd rule's terms for the padded x and w: (form, the kernel shape its
    code is built for, channels, least channels, columns per dilation phase, least columns) —
    3×3 and 1-d 5-tap layers: the forward form (a forward or ∂x) by its kernel, the weight
    form by its output (the layer's kernel); no rule: least = ∞."""
    ci, co, kernel = x_shape[2], w_shape[1], w_shape[3:]
    form = form_of(x_shape, w_shape, stride, dilation)
    out_shape = tuple(output_length(n, k, s, d) for n, k, s, d in
                      zip(x_shape[3:], kernel, stride, dilation))
    least, width = tuning.current().winograd_rule(
        form, tuple(kernel) if form == "forward" else out_shape)
    channels, columns = (
        (min(ci, co), (x_shape[-1] - (kernel[-1] - 1) * dilation[-1]) // dilation[-1])
        if form == "forward" else (min(x_shape[0], co), -(-kernel[-1] // stride[-1])))
    return form, kernel if form == "forward" else out_shape, channels, least, columns, width


def direct_choice(x_shape, w_shape, stride, dilation, single: bool, pk: int,
                  out_per_image: int, outputs: int) -> Choice:
    """The direct methods' part of ``choose_method``."""
    t = tuning.current()
    ci, co, kernel = x_shape[2], w_shape[1], w_shape[3:]
    if pk > out_per_image and dilation[0] == 1 and not (single and len(kernel) == 1):
        # (a 1-d float32 weight gradient: im2col's one matmul, conv1d's ∂w 4.8 → 4.2 ms)
        out_rows = output_length(x_shape[3], kernel[0], stride[0])
        gemm_rows = x_shape[0] * outputs // max(out_rows, 1)
        if out_rows > 1 and gemm_rows >= t.outrows_gemm_rows:
            return Choice("outrows", f"ΠK = {pk} taps > {out_per_image} outputs per image (a "
                                     f"weight gradient), {out_rows} output rows of "
                                     f"{gemm_rows} ≥ {t.outrows_gemm_rows} matmul rows: "
                                     f"1/{out_rows} of im2col's copy")
    if any(s != 1 for s in stride):
        return Choice("im2col", f"stride {tuple(stride)} > 1: im2col is the method for "
                                f"strided windows")
    if pk > out_per_image:
        return Choice("im2col", f"ΠK = {pk} taps > {out_per_image} outputs per image: one "
                                f"matmul over the windows")
    if pk == 1:
        return Choice("shift", "a pointwise kernel: one plain matmul")
    if ci == 1 and co == 1:
        return Choice("shift", "depthwise (one channel per group): a multiply-add per tap")
    if co * pk <= ci:
        return Choice("stacked", f"C_out·ΠK = {co * pk} ≤ C_in = {ci}: one matmul of all "
                                 f"taps with x, no copy")
    rows = len(kernel) >= 2 and kernel[0] > 1 and ci >= 16
    if rows and outputs >= t.rows_positions:
        return Choice("rows", f"C_in = {ci} ≥ 16 and {outputs} ≥ {t.rows_positions} outputs "
                              f"per image: 1/{kernel[0]} of im2col's copy, a taller matmul")
    # With the adds compiled, the tall matmuls of stacked and rows pay from small images on
    # (tiny ones: im2col's one batch-folded matmul).
    if outputs >= t.small_positions and len(kernel) <= 3 and jit.available():
        compiled = f"{outputs} ≥ {t.small_positions} outputs per image, the adds compiled"
        if co < ci:
            return Choice("stacked", f"C_out = {co} < C_in = {ci}, {compiled}")
        if rows:
            return Choice("rows", f"C_in = {ci} ≥ 16 and C_out = {co} ≥ C_in, {compiled}")
        if co == ci:
            return Choice("stacked", f"C_out = C_in = {ci}, {compiled}")
    if pk >= 25 and ci >= 32 and len(kernel) == 3:
        return Choice("shift", f"3-d, ΠK = {pk} ≥ 25 taps and C_in = {ci} ≥ 32: each tap a "
                               f"matmul with depth")
    return Choice("im2col", f"{outputs} outputs per image, C_in = {ci}, C_out = {co}: no "
                            f"other boundary passed (im2col's one batch-folded matmul)")
