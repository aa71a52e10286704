"""The definitions, written plainly: loops over output positions and kernel taps.

Slow and obviously right — the oracle for tests and the text for teaching. The gradients here
are *not* convolutions: they apply the chain rule term by term to the forward sum,

    y[n, o, p] = b[o] + Σ_{c ∈ group(o), j} x[n, c, p·s + j·d − lo] · w[o, c, j]

so each term x·w sends ∂L/∂y[n, o, p]·w[o, c, j] to ∂L/∂x and ∂L/∂y[n, o, p]·x[…] to ∂L/∂w.
Only batch and channel axes are vectorised (one small matmul per position, tap and group).
"""

from __future__ import annotations

from itertools import product
from typing import Iterator, Sequence

import numpy as np

from .geometry import (
    ConvGeometry,
    IntOrInts,
    Padding,
    check_arrays,
    conv_geometry,
    transpose_geometry,
)


def conv_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   stride: IntOrInts = 1, padding: Padding = 0, dilation: IntOrInts = 1,
                   groups: int = 1) -> np.ndarray:
    """Forward convolution by its definition (same contract as ``ops.conv``)."""
    x, w, b = check_arrays("conv_reference", x=x, w=w, b=b)
    geo = conv_geometry("conv_reference", x.shape, w.shape, stride, padding, dilation, groups)
    y = np.zeros(geo.output_shape, dtype=x.dtype)
    for p, j, i, outs, ins in _terms(geo):
        y[(slice(None), outs) + p] += x[(slice(None), ins) + i] @ w[(outs, slice(None)) + j].T
    if b is not None:
        y += b.reshape(-1, *(1,) * geo.ndim)
    return y


def conv_grad_input_reference(dy: np.ndarray, w: np.ndarray, input_shape: Sequence[int], *,
                              stride: IntOrInts = 1, padding: Padding = 0,
                              dilation: IntOrInts = 1, groups: int = 1) -> np.ndarray:
    """∂L/∂x by the chain rule, term by term: ``dx[n, c, i] += dy[n, o, p]·w[o, c, j]``."""
    dy, w = check_arrays("conv_grad_input_reference", dy=dy, w=w)
    geo = conv_geometry("conv_grad_input_reference", input_shape, w.shape, stride, padding,
                        dilation, groups)
    dx = np.zeros(geo.input_shape, dtype=dy.dtype)
    for p, j, i, outs, ins in _terms(geo):
        dx[(slice(None), ins) + i] += dy[(slice(None), outs) + p] @ w[(outs, slice(None)) + j]
    return dx


def conv_grad_weight_reference(x: np.ndarray, dy: np.ndarray, weight_shape: Sequence[int], *,
                               stride: IntOrInts = 1, padding: Padding = 0,
                               dilation: IntOrInts = 1, groups: int = 1) -> np.ndarray:
    """∂L/∂w by the chain rule, term by term: ``dw[o, c, j] += dy[n, o, p]·x[n, c, i]``."""
    x, dy = check_arrays("conv_grad_weight_reference", x=x, dy=dy)
    geo = conv_geometry("conv_grad_weight_reference", x.shape, weight_shape, stride, padding,
                        dilation, groups)
    dw = np.zeros(geo.weight_shape, dtype=x.dtype)
    for p, j, i, outs, ins in _terms(geo):
        dw[(outs, slice(None)) + j] += dy[(slice(None), outs) + p].T @ x[(slice(None), ins) + i]
    return dw


def conv_transpose_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                             stride: IntOrInts = 1, padding: Padding = 0,
                             output_padding: IntOrInts = 0, groups: int = 1,
                             dilation: IntOrInts = 1) -> np.ndarray:
    """Transposed convolution by its definition: every ``x[n, c, p]`` scatters ``x·w[c, o, j]``
    to ``y[n, o, p·s + j·d − lo]``; the output is ``(n−1)·s − lo − hi + d·(k−1) + 1 + op`` long.
    """
    x, w, b = check_arrays("conv_transpose_reference", x=x, w=w, b=b)
    geo = transpose_geometry("conv_transpose_reference", x.shape, w.shape, stride, padding,
                             output_padding, groups, dilation)
    # geo describes the forward conv from y's shape to x's; scatter along its terms.
    y = np.zeros(geo.input_shape, dtype=x.dtype)
    for p, j, i, outs, ins in _terms(geo):
        y[(slice(None), ins) + i] += x[(slice(None), outs) + p] @ w[(outs, slice(None)) + j]
    if b is not None:
        y += b.reshape(-1, *(1,) * geo.ndim)
    return y


def _terms(geo: ConvGeometry) -> Iterator[tuple]:
    """Every (output position p, tap j, input position i, output-channel slice, input-channel
    slice) whose input position lies inside x (positions in the padding contribute zero)."""
    c_in, c_out = geo.in_channels // geo.groups, geo.out_channels // geo.groups
    for p in product(*(range(m) for m in geo.out_size)):
        for j in product(*(range(k) for k in geo.kernel)):
            i = tuple(pi * s + ji * d - lo for pi, ji, s, d, (lo, _) in
                      zip(p, j, geo.stride, geo.dilation, geo.padding))
            if all(0 <= ii < n for ii, n in zip(i, geo.in_size)):
                for g in range(geo.groups):
                    yield (p, j, i, slice(g * c_out, (g + 1) * c_out),
                           slice(g * c_in, (g + 1) * c_in))
