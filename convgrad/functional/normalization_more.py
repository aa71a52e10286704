r"""Layer, group, instance, RMS and local-response normalisation with PyTorch's semantics.

The first three are views of the fused core ``normalization.normalize`` (x as (P, K, L),
standardised over P and L per K; γ, β one per A₁ of an (A₀, A₁, A₂) view):

* ``layer_norm``: over the trailing ``normalized_shape`` (D values): (1, M, D); γ, β have
  ``normalized_shape``: (M, D, 1).
* ``group_norm``: over each group of C/G channels and the spatial axes: (1, N·G, C/G·L);
  γ, β per channel: (N, C, L).
* ``instance_norm``: over the spatial axes, per sample and channel: (1, N·C, L); γ, β per
  channel. Running statistics (when given and ``use_input_stats``) move by the batch average
  of the per-instance mean and unbiased variance: r ← (1 − m)·r + m·meanₙ(stat).

``rms_norm``: y = x / √(mean(x²) + ε) ⊙ γ over ``normalized_shape`` (ε = None: the dtype's
machine epsilon). ``local_response_norm``: y_c = x_c / (k + α/size·Σ_{c'} x_{c'}²)^β over the
channel window c' ∈ [c − ⌊size/2⌋, c + ⌊(size − 1)/2⌋] (zero outside).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Tensor
from ..autograd.trace import traced
from . import checks
from .normalization import (
    NormShapeError,
    affine_stats,
    check_vectors,
    normalize,
    parameters,
    update_running,
)

__all__ = ["layer_norm", "group_norm", "instance_norm", "local_response_norm", "rms_norm"]


def shape_tuple(op: str, normalized_shape) -> tuple[int, ...]:
    """``normalized_shape`` (an int or a sequence of ints) as a non-empty tuple."""
    if isinstance(normalized_shape, (numbers.Integral, np.integer)) and \
            not isinstance(normalized_shape, bool):
        shape = (int(normalized_shape),)
    elif isinstance(normalized_shape, (tuple, list)) or (
            hasattr(normalized_shape, "__len__") and not isinstance(normalized_shape, str)):
        shape = tuple(checks.integer(op, "normalized_shape", int(v) if isinstance(
            v, np.integer) else v) for v in normalized_shape)
    else:
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}")
    if not shape:
        raise NormShapeError(f"{op}: Expected normalized_shape to be at least 1-dimensional, "
                             f"i.e., containing at least one element, but got "
                             f"normalized_shape = []")
    if any(n < 0 for n in shape):
        raise NormShapeError(f"{op}: Trying to create tensor with negative dimension "
                             f"{min(shape)}: {list(shape)}")
    return shape


def _trailing(op: str, x: Tensor, shape: tuple[int, ...]) -> int:
    """The number of leading rows M of x viewed as (M, *shape); torch's error otherwise."""
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise NormShapeError(f"{op}: Given normalized_shape={list(shape)}, expected input with "
                             f"shape [*, {', '.join(map(str, shape))}], but got input of size"
                             f"{list(x.shape)}")
    return int(np.prod(x.shape[:x.ndim - len(shape)], dtype=np.int64))


def _same_shape(op: str, shape: tuple[int, ...], **given) -> None:
    for name, s in given.items():
        if s is not None and tuple(s.shape) != shape:
            raise NormShapeError(f"{op}: Expected {name} to be of same shape as "
                                 f"normalized_shape, but got {name} of shape {list(s.shape)} "
                                 f"and normalized_shape = {list(shape)}")


@traced("layer_norm")
def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` axes (per leading index); γ, β have
    ``normalized_shape``."""
    op = "layer_norm"
    shape = shape_tuple(op, normalized_shape)
    eps = checks.real(op, "eps", eps, 0.0)
    x, p = parameters(op, input, weight=weight, bias=bias)
    m = _trailing(op, x, shape)
    _same_shape(op, shape, **p)
    d = int(np.prod(shape, dtype=np.int64))
    return normalize(x, (1, m, d), p["weight"], p["bias"], (m, d, 1), eps, "native_layer_norm")[0]


@traced("group_norm")
def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalize (N, C, *) over each of ``num_groups`` groups of C/G channels and the spatial
    axes; γ, β per channel."""
    op = "group_norm"
    groups = checks.integer(op, "num_groups", num_groups, 1)
    eps = checks.real(op, "eps", eps, 0.0)
    x, p = parameters(op, input, weight=weight, bias=bias)
    if x.ndim < 2:
        raise NormShapeError(f"{op}: Expected at least 2 dimensions for input tensor but "
                             f"received {x.ndim}")
    n, c = x.shape[0], x.shape[1]
    if c % groups:
        raise NormShapeError(f"{op}: Expected number of channels in input to be divisible by "
                             f"num_groups, but got input of shape {list(x.shape)} and "
                             f"num_groups={groups}")
    for name, s in p.items():
        if s is not None and (s.ndim != 1 or s.shape[0] != c):
            raise NormShapeError(f"{op}: Expected {name} to be a vector of size equal to the "
                                 f"number of channels in input, but got {name} of shape "
                                 f"{list(s.shape)} and input of shape {list(x.shape)}")
    length = int(np.prod(x.shape[2:], dtype=np.int64))
    if (c // groups) * length < 2:
        raise ValueError(f"{op}: Expected more than 1 value per channel when training, got "
                         f"input size {list(x.shape)}")
    return normalize(x, (1, n * groups, c // groups * length), p["weight"], p["bias"],
                     (n, c, length), eps, "native_group_norm")[0]


@traced("instance_norm")
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Normalize (N, C, *) per sample and channel over the spatial axes (``use_input_stats``),
    or by the running statistics; γ, β per channel."""
    op = "instance_norm"
    use_input_stats = checks.boolean(op, "use_input_stats", use_input_stats)
    momentum = checks.real(op, "momentum", momentum, 0.0, 1.0)
    eps = checks.real(op, "eps", eps, 0.0)
    x, p = parameters(op, input, running_mean=running_mean, running_var=running_var,
                      weight=weight, bias=bias)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C, *), got shape {x.shape}")
    n, c = x.shape[0], x.shape[1]
    check_vectors(op, c, x.shape, **p)
    stats = (p["running_mean"], p["running_var"])
    if not use_input_stats:
        if stats[0] is None or stats[1] is None:
            raise NormShapeError(f"{op}: Expected running_mean and running_var to be defined "
                                 f"when use_input_stats is false")
        view = (1, c) + (1,) * (x.ndim - 2)
        return affine_stats(x, stats[0].array, stats[1].array, p["weight"], p["bias"], view,
                            eps)
    length = int(np.prod(x.shape[2:], dtype=np.int64))
    if length < 2:
        raise ValueError(f"{op}: Expected more than 1 spatial element when training, got "
                         f"input size {list(x.shape)}")
    y, mean, var = normalize(x, (1, n * c, length), p["weight"], p["bias"], (n, c, length),
                             eps, "native_instance_norm")
    if stats[0] is not None or stats[1] is not None:
        unbiased = var * (length / (length - 1))
        update_running(stats, (mean.reshape(n, c).mean(0), unbiased.reshape(n, c).mean(0)),
                       momentum)
    return y


def rms_norm(input, normalized_shape, weight=None, eps: float | None = None) -> Tensor:
    """y = x / √(mean(x²) + ε) ⊙ γ over the trailing ``normalized_shape`` axes."""
    op = "rms_norm"
    shape = shape_tuple(op, normalized_shape)
    x, p = parameters(op, input, weight=weight)
    eps = float(np.finfo(x.dtype).eps) if eps is None else checks.real(op, "eps", eps, 0.0)
    _trailing(op, x, shape)
    _same_shape(op, shape, **p)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    ms = (x * x).mean(dim=axes, keepdim=True)
    y = x * (ms + eps).rsqrt()
    return y if p["weight"] is None else y * p["weight"]


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """y_c = x_c / (k + α/size·Σ_{window} x²)^β over a window of ``size`` channels (dim 1)."""
    op = "local_response_norm"
    size = checks.integer(op, "size", size)
    alpha, beta, k = (checks.real(op, name, v) for name, v in
                      (("alpha", alpha), ("beta", beta), ("k", k)))
    x, _ = parameters(op, input)
    if x.ndim < 3:
        raise ValueError(f"{op}: Expected 3D or higher dimensionality input (got {x.ndim} "
                         f"dimensions)")
    if size <= 0:
        raise NormShapeError(f"{op}: kernel size should be greater than zero, but got kH: "
                             f"{size} kW: 1")
    c = x.shape[1]
    sq = x * x
    lo, hi = size // 2, (size - 1) // 2
    padded = _pad_channels(sq, lo, hi)
    # the window sum: one slice per offset in the window (size slices, not a loop over values)
    total = padded[:, 0:c]
    for i in range(1, size):
        total = total + padded[:, i:i + c]
    div = (total * (alpha / size) + k) ** beta
    return x / div


def _pad_channels(a: Tensor, lo: int, hi: int) -> Tensor:
    """a with ``lo`` zero channels before and ``hi`` after (differentiable)."""
    from .basic import pad  # noqa: PLC0415
    widths = [0, 0] * (a.ndim - 2) + [lo, hi]
    return pad(a, tuple(widths))
