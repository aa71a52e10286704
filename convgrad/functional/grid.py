r"""Sampling at given points: ``grid_sample`` and the grids of ``affine_grid``.

``grid`` (N, *S_out, d) holds normalized points in [−1, 1]: component 0 is x (the last input
axis, W), component 1 is y (H), component 2 is z (D). Per axis of length n the point u maps to
the pixel coordinate

    align_corners=True:   i = (u + 1)/2 · (n − 1)       (−1 and 1 are the corner pixels' centers)
    align_corners=False:  i = ((u + 1)·n − 1)/2         (−1 and 1 are the corner pixels' edges)

then ``padding_mode`` handles points outside: ``zeros`` reads 0 there, ``border`` clamps i into
[0, n − 1], ``reflection`` mirrors i at the borders (the pixel centers with align_corners, the
edges −½ and n − ½ without) and clamps. ``bilinear`` (trilinear for 5-d input) mixes the 2^d
neighbours ``⌊i⌋, ⌊i⌋ + 1`` with weights ``Π (1 − |i − corner|)``; ``nearest`` reads the pixel
at ``round(i)`` (half to even). The gradient wrt the input scatter-adds the weights; wrt the
grid it flows through the weights (zero for ``nearest`` and where a clamp is active), so
both, and double backward, come from Tensor ops.

``affine_grid(θ, size)``: the points ``θ · (x, y[, z], 1)ᵀ`` over the base grid of
``size`` = (N, C, H, W) (θ: N×2×3) or (N, C, D, H, W) (θ: N×3×4), where each base coordinate
runs over ``linspace(−1, 1, n)`` (scaled by (n − 1)/n without align_corners).
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from ..autograd import Tensor
from ..methods.indexing import take_along_axis
from ..ops.geometry import check_arrays
from . import checks

__all__ = ["grid_sample", "affine_grid"]


def _unnormalize(u: Tensor, n: int, align_corners: bool) -> Tensor:
    return (u + 1) * ((n - 1) / 2) if align_corners else ((u + 1) * n - 1) / 2


def _clamp(i: Tensor, n: int) -> Tensor:
    """Clamp into [0, n − 1]; torch's gradient is 0 on and beyond the bounds."""
    inside = (i.array > 0) & (i.array < n - 1)
    const = np.where(i.array <= 0, 0.0, n - 1).astype(i.dtype)
    return i * Tensor(inside.astype(i.dtype)) + Tensor(np.where(inside, 0, const))


def _reflect(i: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """Mirror i into [low, high] (torch's ``reflect_coordinates``): ±i plus a constant."""
    if twice_low == twice_high:
        return i * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    v = i.array - low
    sign = np.where(v < 0, -1.0, 1.0)
    v = np.abs(v)
    extra, flips = np.fmod(v, span), np.floor(v / span)
    even = np.fmod(flips, 2) == 0
    out = np.where(even, extra + low, span - extra + low)
    slope = np.where(even, sign, -sign).astype(i.dtype)
    return i * Tensor(slope) + Tensor((out - slope * i.array).astype(i.dtype))


def _source(u: Tensor, n: int, padding_mode: str, align_corners: bool) -> Tensor:
    i = _unnormalize(u, n, align_corners)
    if padding_mode == "border":
        i = _clamp(i, n)
    elif padding_mode == "reflection":
        i = _reflect(i, 0, 2 * (n - 1)) if align_corners else _reflect(i, -1, 2 * n - 1)
        i = _clamp(i, n)
    return i


def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample (N, C, *S) at the points of grid (N, *S_out, d) → (N, C, *S_out); see the
    module doc for the coordinate map, the padding modes and the weights."""
    x = checks.tensor("grid_sample", "input", input)
    g = checks.tensor("grid_sample", "grid", grid)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not implemented in convgrad")
    align_corners = False if align_corners is None else checks.boolean(
        "grid_sample", "align_corners", align_corners)
    d = x.ndim - 2
    if x.ndim not in (4, 5) or g.ndim != x.ndim or g.shape[0] != x.shape[0] or \
            g.shape[-1] != d:
        raise RuntimeError(f"grid_sample(): expected 4-D or 5-D input and a grid (N, *S_out, "
                           f"{d}) with the input's N and rank, got input {x.shape} and grid "
                           f"{g.shape}")
    if x.dtype != g.dtype:
        raise RuntimeError(f"grid_sample(): expected input and grid to have the same dtype, "
                           f"but input has {x.dtype} and grid has {g.dtype}")
    check_arrays("grid_sample", input=x.array)
    size = x.shape[2:]
    n_batch, c = x.shape[:2]
    points = int(np.prod(g.shape[1:-1]))
    # coordinate along spatial axis a comes from grid component d − 1 − a
    src = [_source(g[..., d - 1 - a].reshape(n_batch, points), size[a], padding_mode,
                   align_corners) for a in range(d)]
    flat = x.reshape(n_batch, c, -1)

    def read(corner: Sequence[np.ndarray]):
        ok = np.ones(corner[0].shape, bool)
        index = np.zeros(corner[0].shape, np.int64)
        for k, n in zip(corner, size):
            ok &= (k >= 0) & (k < n)
            index = index * n + np.clip(k, 0, n - 1)
        index = np.broadcast_to(index[:, None, :], (n_batch, c, points))
        return take_along_axis(flat, index, -1), ok

    if mode == "nearest":
        vals, ok = read([np.rint(i.array).astype(np.int64) for i in src])
        out = vals * Tensor(ok[:, None, :].astype(x.dtype))
    else:
        lows = [np.floor(i.array) for i in src]
        out = None
        for bits in itertools.product((0, 1), repeat=d):
            weight = None
            for i, low, b in zip(src, lows, bits):
                w = (i - Tensor(low.astype(x.dtype))) if b else (Tensor(
                    (low + 1).astype(x.dtype)) - i)
                weight = w if weight is None else weight * w
            vals, ok = read([(low + b).astype(np.int64) for low, b in zip(lows, bits)])
            term = vals * (weight * Tensor(ok.astype(x.dtype))).reshape(n_batch, 1, points)
            out = term if out is None else out + term
    return out.reshape(n_batch, c, *g.shape[1:-1])


def _base(n: int, align_corners: bool, dtype) -> np.ndarray:
    if n <= 1:
        return np.zeros(max(n, 1), dtype)
    r = np.linspace(-1, 1, n, dtype=dtype)
    return r if align_corners else r * ((n - 1) / n)


def _size(size) -> list[int]:
    """``size`` as a list of ints (torch's "tuple of ints"; a bool or a float is no int here)."""
    def is_int(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    if not isinstance(size, (tuple, list)) or not all(is_int(s) for s in size):
        raise TypeError(f"affine_grid: size must be a tuple of ints, got {size!r}")
    return [int(s) for s in size]


def affine_grid(theta, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of the affine maps θ; see the module
    doc. Differentiable wrt θ."""
    t = checks.tensor("affine_grid", "theta", theta, "fiub")
    if t.dtype.kind != "f":
        raise ValueError(f"affine_grid: Expected theta to have floating point type, but got "
                         f"{t.dtype}")
    align_corners = False if align_corners is None else checks.boolean(
        "affine_grid", "align_corners", align_corners)
    size = _size(size)
    if len(size) == 4:
        if t.ndim != 3 or t.shape[-2:] != (2, 3):
            raise ValueError(f"affine_grid: Expected a batch of 2D affine matrices of shape "
                             f"Nx2x3 for size {size}. Got {tuple(t.shape)}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if t.ndim != 3 or t.shape[-2:] != (3, 4):
            raise ValueError(f"affine_grid: Expected a batch of 3D affine matrices of shape "
                             f"Nx3x4 for size {size}. Got {tuple(t.shape)}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if min(size) <= 0:
        raise ValueError(f"affine_grid: Expected non-zero, positive output size. Got {size}")
    if size[0] != t.shape[0]:
        raise ValueError(f"affine_grid: theta has batch {t.shape[0]} but size has {size[0]}")
    d = len(spatial)
    axes = [_base(n, align_corners, t.dtype) for n in spatial]        # (D,) H, W
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([*mesh[::-1], np.ones(tuple(spatial), t.dtype)], axis=-1)   # x, y[, z], 1
    base = Tensor(base.reshape(1, -1, d + 1))
    return (base @ t.transpose(1, 2)).reshape(size[0], *spatial, d)
