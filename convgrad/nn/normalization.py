r"""Normalisation layers: batch norm in 1-3 d (``normalization_more``: the others).

``_NormBase`` is torch's: γ (``weight``, ones) and β (``bias``, zeros) of ``num_features``
values when ``affine``; buffers ``running_mean`` (zeros), ``running_var`` (ones) and
``num_batches_tracked`` (int64 0) when ``track_running_stats`` (else the three are None).

Batch norm, training: y = (x − μ_B)/√(σ²_B + ε)·γ + β over the batch and spatial axes, and
r ← (1 − m)·r + m·stat with m = ``momentum`` (``None``: the cumulative average, m = 1/t after
t batches). Evaluation uses the running statistics when tracked, the batch's otherwise.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional import checks
from ..functional.normalization import NormShapeError
from .module import Module, Parameter
from .options import as_input, factory_dtype

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


def buffer_array(b) -> np.ndarray | None:
    """A buffer's ndarray (buffers may be Tensors or ndarrays)."""
    return None if b is None else getattr(b, "array", b)


class _NormBase(Module):
    """The state shared by batch and instance norm (torch's ``_NormBase``)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        num_features = checks.integer(name, "num_features", num_features, 0)
        checks.real(name, "eps", eps, 0.0)
        if momentum is not None:
            checks.real(name, "momentum", momentum, 0.0, 1.0)
        affine = checks.boolean(name, "affine", affine)
        track_running_stats = checks.boolean(name, "track_running_stats", track_running_stats)
        bias = checks.boolean(name, "bias", bias)
        dtype = factory_dtype(name, device, dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.register_parameter("bias", Parameter(np.zeros(num_features, dtype=dtype))
                                    if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for key in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(key, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, no batches tracked."""
        if self.track_running_stats:
            buffer_array(self.running_mean)[...] = 0
            buffer_array(self.running_var)[...] = 1
            buffer_array(self.num_batches_tracked)[...] = 0

    def reset_parameters(self) -> None:
        """The running statistics reset, γ = 1 and β = 0."""
        self.reset_running_stats()
        if self.affine:
            self.weight.array[...] = 1
            if self.bias is not None:
                self.bias.array[...] = 0

    def _stats_factor(self) -> float:
        """Count this batch (training with tracked statistics); the update factor m."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            count = buffer_array(self.num_batches_tracked)
            count += 1
            if self.momentum is None:                  # cumulative moving average
                factor = 1.0 / float(count)
        return factor

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def _check_input(self, x) -> None:
        name = type(self).__name__
        dims = " or ".join(map(str, self.ndims))
        if x.ndim not in self.ndims:
            raise ValueError(f"{name}: input must have {dims} dims with {self.num_features} "
                             f"channels on axis 1, got {tuple(x.shape)} (expected "
                             f"{'D or '.join(map(str, self.ndims))}D input (got {x.ndim}D "
                             f"input))")
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise NormShapeError(f"{name}: input must have {dims} dims with "
                                 f"{self.num_features} channels on axis 1, got "
                                 f"{tuple(x.shape)}")

    def forward(self, input):
        x = as_input(input)
        self._check_input(x)
        factor = self._stats_factor()
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        tracked = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if tracked else None,
                            self.running_var if tracked else None, self.weight, self.bias,
                            use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L), per channel (see ``F.batch_norm``)."""
    ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W), per channel (see ``F.batch_norm``)."""
    ndims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W), per channel (see ``F.batch_norm``)."""
    ndims = (5,)
