r"""Normalisation layers beyond batch norm, torch's names, signatures, state and repr:
SyncBatchNorm, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm.

* ``InstanceNorm{n}d``: per sample and channel over the spatial axes (``F.instance_norm``);
  ``affine=False``, ``track_running_stats=False`` by default; an unbatched input (one rank
  less) is normalised as a batch of one.
* ``LayerNorm``: over the trailing ``normalized_shape`` axes, γ = 1, β = 0 of that shape.
* ``GroupNorm``: over groups of C/G channels (``num_channels`` divisible by ``num_groups``).
* ``RMSNorm``: x/√(mean(x²) + ε)·γ over ``normalized_shape`` (ε None: machine epsilon).
* ``LocalResponseNorm``: x_c/(k + α/n·Σ_window x²)^β across channels.
* ``SyncBatchNorm``: batch norm over (N, C, *); on one process nothing is synchronised, so it
  is ``BatchNorm`` for any rank ≥ 2 (``process_group`` is kept, unused).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..functional import checks
from ..functional.normalization import NormShapeError
from ..functional.normalization_more import (
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    rms_norm,
    shape_tuple,
)
from .module import Module, Parameter
from .normalization import _BatchNorm, _NormBase
from .options import as_input, factory_dtype

__all__ = ["SyncBatchNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm",
           "GroupNorm", "RMSNorm", "LocalResponseNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) per channel; one process: nothing to synchronise."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)
        self.process_group = process_group

    def _check_input(self, x) -> None:
        if x.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {x.ndim}D "
                             f"input)")
        if x.shape[1] == 0:
            raise ValueError("SyncBatchNorm: SyncBatchNorm number of input channels should be "
                             "non-zero")
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise NormShapeError(f"SyncBatchNorm: input must have {self.num_features} channels "
                                 f"on axis 1, got {tuple(x.shape)}")

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Every BatchNorm*d in ``module`` replaced by a SyncBatchNorm with its state."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group, bias=module.bias is not None)
            for key, p in module._parameters.items():
                out.register_parameter(key, p)
            for key, b in module._buffers.items():
                out.register_buffer(key, b)
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


class _InstanceNorm(_NormBase):
    no_batch_dim = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input):
        x = as_input(input)
        name, nb = type(self).__name__, self.no_batch_dim
        if x.ndim not in (nb, nb + 1):
            raise ValueError(f"{name}: expected {nb}D or {nb + 1}D input (got {x.ndim}D input)")
        feature_dim = x.ndim - nb
        if x.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{name}: expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: "
                                 f"{x.shape[feature_dim]}.")
            warnings.warn(f"{name}: input's size at dim={feature_dim} does not match "
                          f"num_features. You can silence this warning by not passing in "
                          f"num_features, which is not used because affine=False",
                          stacklevel=2)
        batched = x if x.ndim == nb + 1 else x.unsqueeze(0)
        y = instance_norm(batched, self.running_mean, self.running_var, self.weight,
                          self.bias, self.training or not self.track_running_stats,
                          0.0 if self.momentum is None else self.momentum, self.eps)
        return y if x.ndim == nb + 1 else y.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) or unbatched (C, L) (see ``F.instance_norm``)."""
    no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) or unbatched (C, H, W) (see ``F.instance_norm``)."""
    no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (N, C, D, H, W) or unbatched (C, D, H, W)."""
    no_batch_dim = 4


class LayerNorm(Module):
    """Layer norm over the trailing ``normalized_shape`` axes (see ``F.layer_norm``)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        name = "LayerNorm"
        self.normalized_shape = shape_tuple(name, normalized_shape)
        checks.real(name, "eps", eps, 0.0)
        self.eps = eps
        self.elementwise_affine = checks.boolean(name, "elementwise_affine",
                                                 elementwise_affine)
        bias = checks.boolean(name, "bias", bias)
        dtype = factory_dtype(name, device, dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            self.register_parameter("bias", Parameter(np.zeros(self.normalized_shape, dtype))
                                    if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            self.weight.array[...] = 1
            if self.bias is not None:
                self.bias.array[...] = 0

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group norm: ``num_channels`` split in ``num_groups`` groups (see ``F.group_norm``)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        name = "GroupNorm"
        num_groups = checks.integer(name, "num_groups", num_groups, 1)
        num_channels = checks.integer(name, "num_channels", num_channels, 0)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        checks.real(name, "eps", eps, 0.0)
        affine = checks.boolean(name, "affine", affine)
        bias = checks.boolean(name, "bias", bias)
        dtype = factory_dtype(name, device, dtype)
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups, num_channels, eps, affine)
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            self.register_parameter("bias", Parameter(np.zeros(num_channels, dtype))
                                    if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.affine:
            self.weight.array[...] = 1
            if self.bias is not None:
                self.bias.array[...] = 0

    def forward(self, input):
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """RMS norm over the trailing ``normalized_shape`` axes (see ``F.rms_norm``)."""

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        name = "RMSNorm"
        self.normalized_shape = shape_tuple(name, normalized_shape)
        if eps is not None:
            checks.real(name, "eps", eps, 0.0)
        self.eps = eps
        self.elementwise_affine = checks.boolean(name, "elementwise_affine",
                                                 elementwise_affine)
        dtype = factory_dtype(name, device, dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            self.weight.array[...] = 1

    def forward(self, x):
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Local response norm across channels (see ``F.local_response_norm``)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        name = "LocalResponseNorm"
        checks.integer(name, "size", size)
        for key, value in (("alpha", alpha), ("beta", beta), ("k", k)):
            checks.real(name, key, value)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
