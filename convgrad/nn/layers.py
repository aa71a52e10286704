"""Layers around the functional ops: linear, activations, pooling, normalization, dropout,
reshaping and losses — each a thin Module over ``convgrad.functional``."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import as_tensor
from . import init
from .module import Module, Parameter


class Linear(Module):
    """``y = x Wᵀ + b``; W (out, in) and b start as U(−1/√in, 1/√in) (PyTorch's default)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=np.float32):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.kaiming_uniform((out_features, in_features), dtype=dtype))
        self.register_parameter("bias", Parameter(init.uniform(
            (out_features,), 1 / math.sqrt(in_features), dtype)) if bias else None)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _elementwise(name: str, fn, doc: str, **defaults):
    def __init__(self, **kwargs):
        Module.__init__(self)
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{name}: unexpected arguments {sorted(unknown)}")
        self.options = {**defaults, **kwargs}

    def forward(self, x):
        return fn(x, **self.options)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.options.items())
    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "extra_repr": extra_repr, "__doc__": doc})


ReLU = _elementwise("ReLU", F.relu, "max(x, 0)")
LeakyReLU = _elementwise("LeakyReLU", F.leaky_relu, "x if x > 0 else slope·x",
                         negative_slope=0.01)
ELU = _elementwise("ELU", F.elu, "x if x > 0 else α(eˣ − 1)", alpha=1.0)
SiLU = _elementwise("SiLU", F.silu, "x·σ(x)")
Softplus = _elementwise("Softplus", F.softplus, "log(1 + e^{βx})/β", beta=1.0, threshold=20.0)
Sigmoid = _elementwise("Sigmoid", F.sigmoid, "1/(1 + e^−x)")
Tanh = _elementwise("Tanh", F.tanh, "tanh x")
Softmax = _elementwise("Softmax", F.softmax, "softmax along dim", dim=-1)
LogSoftmax = _elementwise("LogSoftmax", F.log_softmax, "log-softmax along dim", dim=-1)
Identity = _elementwise("Identity", lambda x: as_tensor(x), "x unchanged")
Flatten = _elementwise("Flatten", F.flatten, "merge axes start_dim..end_dim", start_dim=1,
                       end_dim=-1)


class Dropout(Module):
    """Zero elements with probability p while training (scaled by 1/(1 − p)); identity in eval."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _pool_layer(name: str, fn, ndim: int, doc: str, **defaults):
    def __init__(self, kernel_size, stride=None, **kwargs):
        Module.__init__(self)
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{name}: unexpected arguments {sorted(unknown)}")
        self.kernel_size, self.stride = kernel_size, stride
        self.options = {**defaults, **kwargs}

    def forward(self, x):
        return fn(x, self.kernel_size, self.stride, ndim=ndim, op=name, **self.options)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, " + ", ".join(
            f"{k}={v}" for k, v in self.options.items())
    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "extra_repr": extra_repr, "__doc__": doc})


MaxPool1d, MaxPool2d, MaxPool3d = (
    _pool_layer(f"MaxPool{n}d", F.max_pool, n, F.max_pool.__doc__, padding=0, dilation=1,
                ceil_mode=False) for n in (1, 2, 3))
AvgPool1d, AvgPool2d, AvgPool3d = (
    _pool_layer(f"AvgPool{n}d", F.avg_pool, n, F.avg_pool.__doc__, padding=0, ceil_mode=False,
                count_include_pad=True, divisor_override=None) for n in (1, 2, 3))


class _BatchNorm(Module):
    ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=np.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x):
        x = as_tensor(x)
        name = type(self).__name__
        if x.ndim not in self.ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{name}: input must have {' or '.join(map(str, self.ndims))} dims "
                             f"with {self.num_features} channels on axis 1, got {x.shape}")
        use_batch = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:          # cumulative moving average, as in PyTorch
                momentum = 1.0 / float(self.num_batches_tracked)
        stats = ((self.running_mean, self.running_var) if self.track_running_stats
                 else (None, None))
        return F.batch_norm(x, *stats, self.weight if self.affine else None,
                            self.bias if self.affine else None, use_batch, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L), per channel (see ``F.batch_norm``)."""
    ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W), per channel (see ``F.batch_norm``)."""
    ndims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W), per channel (see ``F.batch_norm``)."""
    ndims = (5,)


class CrossEntropyLoss(Module):
    """``F.cross_entropy`` as a module."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__()
        self.options = dict(weight=weight, ignore_index=ignore_index, reduction=reduction,
                            label_smoothing=label_smoothing)

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, **self.options)


class MSELoss(Module):
    """``F.mse_loss`` as a module."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, x, target):
        return F.mse_loss(x, target, self.reduction)
