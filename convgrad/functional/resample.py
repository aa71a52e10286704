r"""Resampling: ``interpolate`` (and its deprecated ``upsample*`` aliases), pixel (un)shuffle.

Every ``interpolate`` mode is separable: along each spatial axis, of input length n and output
length m, output cell j reads input cells at fixed weights, so the op is one matrix ``A (m × n)``
per axis (``y = x ×_axis A``) — or, for the nearest modes, one gather. The backward is the
transpose (``Aᵀ``, a scatter-add of the weights), and double backward comes with it.

Output length (PyTorch's rule): ``m = size``, or ``m = ⌊n·scale_factor⌋``.

Coordinate scale per axis (``area_pixel_compute_scale``):

- ``align_corners=True``: ``σ = (n − 1)/(m − 1)`` (0 when m = 1), source ``x = σ·j``;
- otherwise ``σ = 1/scale_factor`` when a scale factor was given and
  ``recompute_scale_factor`` is not True, else ``σ = n/m``; source ``x = σ·(j + ½) − ½``
  (clamped at 0 for the linear modes, not for bicubic). The linear modes (and ``nearest`` on
  4-d input, as torch's 2-d kernel) leave alone any axis whose length does not change,
  whatever the scale factor; 2-d ``nearest`` also reads j // 2 where the length doubles.

Modes: ``nearest`` reads ``min(⌊σ·j⌋, n − 1)`` and ``nearest-exact`` ``min(⌊σ·(j + ½)⌋, n − 1)``
(σ in float32, as torch); ``linear/bilinear/trilinear`` weigh cells ``⌊x⌋`` and ``⌊x⌋ + 1`` by
``1 − t, t`` (t = x − ⌊x⌋); ``bicubic`` weighs ``⌊x⌋ − 1 … ⌊x⌋ + 2`` by Keys' cubic
convolution with a = −0.75, reading indices clamped into [0, n − 1]; ``area`` is
``adaptive_avg_pool``.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence, Union

import numpy as np

from ..autograd import Tensor
from ..ops.geometry import check_arrays
from . import adaptive, checks

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
           "pixel_unshuffle"]

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
RANK_OF_MODE = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
CUBIC_A = -0.75


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def interpolate(input, size: Union[int, Sequence[int]] | None = None,
                scale_factor: Union[float, Sequence[float]] | None = None,
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, *S) to (N, C, *size) (see the module doc for each mode's formula)."""
    return _interpolate("interpolate", input, size, scale_factor, mode, align_corners,
                        recompute_scale_factor, antialias)


def _interpolate(op: str, input, size, scale_factor, mode, align_corners,
                 recompute_scale_factor=None, antialias=False) -> Tensor:
    """``interpolate`` whose errors name ``op`` (the ``upsample*`` aliases name themselves)."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{op}: align_corners option can only be set with the "
                             f"interpolating modes: linear | bilinear | bicubic | trilinear")
    else:
        if align_corners is None:
            align_corners = False
        checks.boolean(op, "align_corners", align_corners)
    x = checks.tensor(op, "input", input)
    dim = x.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    scales = None
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    f"{op}: Input and output must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(x.shape[2:])} and output size "
                    f"of {size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    f"and output size in (o1, o2, ...,oK) format.")
            if not all(_is_int(v) for v in size):
                raise TypeError(f"{op}: expected size to be an int or a tuple of ints, got "
                                f"{size!r}")
            out = [int(v) for v in size]
        elif _is_int(size):
            out = [int(size)] * dim
        else:
            raise TypeError(f"{op}: expected size to be an int or a tuple of ints, got "
                            f"{size!r}")
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    f"{op}: Input and scale_factor must have the same number of spatial "
                    f"dimensions, but got input with spatial dimensions of {list(x.shape[2:])} and "
                    f"scale_factor of shape {scale_factor}. Please provide input tensor in "
                    f"(N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                    f"format.")
            scales = [checks.real(op, "scale_factor", s) for s in scale_factor]
        else:
            scales = [checks.real(op, "scale_factor", scale_factor)] * dim
        out = []
        for n, s in zip(x.shape[2:], scales):
            m = n * s
            if not abs(m) < 2.0 ** 63:              # torch's int64 output size overflows
                raise RuntimeError(f"{op}: the output size {m:g} ({n}·scale_factor {s:g}) "
                                   f"cannot be converted to type int64_t without overflow")
            out.append(math.floor(m))
    else:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit "
                         f"size.")
    if recompute_scale_factor or mode == "area":
        scales = None
    if antialias:
        if not (mode in ("bilinear", "bicubic") and x.ndim == 4):
            raise ValueError(f"{op}: Anti-alias option is restricted to bilinear, bicubic, and "
                             f"lanczos modes and requires a 4-D tensor as input")
        raise NotImplementedError(f"{op}: antialias=True is not implemented in convgrad")
    if x.ndim not in (3, 4, 5) or mode not in MODES:
        raise NotImplementedError(
            f"{op}: Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})")
    if mode in RANK_OF_MODE and x.ndim != RANK_OF_MODE[mode]:
        raise NotImplementedError(f"{op}: Got {x.ndim}D input, but {mode} mode needs "
                                  f"{RANK_OF_MODE[mode]}D input")
    check_arrays(op, input=x.array)
    if mode == "area":
        return adaptive.adaptive_avg_pool(x, tuple(out), ndim=dim, op=op)
    if any(m <= 0 for m in out) or any(n <= 0 for n in x.shape[2:]):
        raise RuntimeError(f"{op}: input and output sizes should be greater than 0, "
                           f"but got input {tuple(x.shape[2:])} and output {tuple(out)}")
    # torch's kernels leave an axis whose length does not change alone — the linear modes
    # always, nearest only in its 2-d kernel (its 1-d and 3-d ones compute every index)
    shortcuts = mode == "nearest" and dim == 2
    skips = shortcuts or mode not in ("nearest", "nearest-exact", "bicubic")
    if skips and tuple(out) == tuple(x.shape[2:]):
        return x[...]
    for axis, (n, m) in enumerate(zip(x.shape[2:], out)):
        scale = None if scales is None else scales[axis]
        if m == n and skips:
            continue
        if mode in ("nearest", "nearest-exact"):
            index = _nearest_index(n, m, scale, mode == "nearest-exact", shortcuts)
            x = x[(slice(None),) * (2 + axis) + (index,)]
        else:
            a = _weights(n, m, scale, align_corners, mode == "bicubic", x.dtype)
            x = (x.movedim(2 + axis, -1) @ Tensor(a.T)).movedim(-1, 2 + axis)
    return x


def _nearest_index(n: int, m: int, scale: float | None, exact: bool,
                   shortcuts: bool = False) -> np.ndarray:
    """Torch's float32 source index of each output cell (``nearest_idx``; with ``shortcuts``,
    as its 2-d kernel: m = n is the identity and m = 2n is j // 2, whatever the scale)."""
    j = np.arange(m)
    if shortcuts and m == n:
        return j
    if shortcuts and m == 2 * n:
        return j >> 1
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n) / m
    src = (j.astype(np.float32) + np.float32(0.5 if exact else 0.0)) * np.float32(s)
    return np.minimum(np.floor(src).astype(np.int64), n - 1)


def _weights(n: int, m: int, scale: float | None, align_corners: bool, cubic: bool,
             dtype) -> np.ndarray:
    """The (m × n) matrix of one axis for the linear modes or bicubic, in the input's dtype."""
    t = np.dtype(dtype).type
    if align_corners:
        s = t(n - 1) / t(m - 1) if m > 1 else t(0)
    else:
        s = t(1.0 / scale) if scale is not None and scale > 0 else t(n) / t(m)
    j = np.arange(m).astype(dtype)
    src = s * j if align_corners else s * (j + t(0.5)) - t(0.5)
    a = np.zeros((m, n), dtype)
    rows = np.arange(m)
    if not cubic:
        src = np.maximum(src, t(0))
        i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
        lam = np.clip(src - i0, 0, 1).astype(dtype)
        i1 = i0 + (i0 < n - 1)
        np.add.at(a, (rows, i0), t(1) - lam)
        np.add.at(a, (rows, i1), lam)
        return a
    i0 = np.floor(src)
    f = (src - i0).astype(dtype)
    i0 = i0.astype(np.int64)
    for k, w in enumerate(_cubic_coefficients(f)):
        np.add.at(a, (rows, np.clip(i0 - 1 + k, 0, n - 1)), w)
    return a


def _cubic_coefficients(f: np.ndarray):
    """Keys' cubic convolution weights of the taps −1, 0, 1, 2 at fraction f (a = −0.75)."""
    a = f.dtype.type(CUBIC_A)

    def near(x):    # |x| ≤ 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):     # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    one = f.dtype.type(1)
    return far(f + one), near(f), near(one - f), far(one - f + one)


def upsample(input, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of ``interpolate`` (torch warns the same)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate "
                  "instead.", stacklevel=2)
    return _interpolate("upsample", input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use "
                  "nn.functional.interpolate instead.", stacklevel=2)
    return _interpolate("upsample_nearest", input, size, scale_factor, "nearest", None)


def upsample_bilinear(input, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, 'bilinear', align_corners=True)``."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use "
                  "nn.functional.interpolate instead.", stacklevel=2)
    return _interpolate("upsample_bilinear", input, size, scale_factor, "bilinear", True)


def _factor(op: str, name: str, value) -> int:
    if not _is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    if value <= 0:
        raise RuntimeError(f"{op} expects a positive {name}, but got {value}")
    return int(value)


def pixel_shuffle(input, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r): ``y[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]``
    (a reshape, a permute and a reshape)."""
    x = checks.tensor("pixel_shuffle", "input", input, "fiub")
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {x.ndim} dimension(s)")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of ``pixel_shuffle``."""
    x = checks.tensor("pixel_unshuffle", "input", input, "fiub")
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    *lead, c, h, w = x.shape
    for side, n in (("height", h), ("width", w)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {side} to be divisible by "
                               f"downscale_factor, but input.size({-2 if side == 'height' else -1}"
                               f")={n} is not divisible by {r}")
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)
