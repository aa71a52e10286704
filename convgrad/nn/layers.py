"""Layers around the functional ops: linear, activations, pooling, normalization, dropout,
reshaping and losses — each a thin Module over ``convgrad.functional``."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..functional import checks
from ..functional.losses import REDUCTIONS
from ..ops.geometry import as_tuple
from . import init
from .module import Module, Parameter


def layer_dtype(name: str, dtype) -> np.dtype:
    """The parameters' dtype: float32 or float64."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: dtype must be float32 or float64, got {dtype}")
    return dtype


class Linear(Module):
    """``y = x Wᵀ + b``; W (out, in) and b start as U(−1/√in, 1/√in) (PyTorch's default).
    ``in_features = 0`` is allowed (as in torch): W is (out, 0) and the output is b."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=np.float32):
        super().__init__()
        in_features = checks.integer("Linear", "in_features", in_features, 0)
        out_features = checks.integer("Linear", "out_features", out_features, 0)
        bias = checks.boolean("Linear", "bias", bias)
        dtype = layer_dtype("Linear", dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.kaiming_uniform((out_features, in_features), dtype=dtype))
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        self.register_parameter("bias", Parameter(init.uniform(
            (out_features,), bound, dtype)) if bias else None)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _real(op, name, value):
    return checks.real(op, name, value)


def _int(op, name, value):
    return checks.integer(op, name, value)


def _nonzero(op, name, value):
    if checks.real(op, name, value) == 0:
        raise ValueError(f"{op}: {name} must be non-zero, got {value}")
    return float(value)


def _elementwise(name: str, fn, doc: str, rules=None, **defaults):
    """A layer applying ``fn``; ``rules`` maps each option to its checker (op, name, value)."""
    rules = rules or {}

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        if len(args) > len(defaults):
            raise TypeError(f"{name}: takes at most {len(defaults)} positional arguments, got "
                            f"{len(args)}")
        kwargs.update(zip(defaults, args))
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{name}: unexpected arguments {sorted(unknown)}")
        self.options = {**defaults, **kwargs}
        for key, value in self.options.items():
            self.options[key] = rules[key](name, key, value)

    def forward(self, x):
        return fn(x, **self.options)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.options.items())
    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "extra_repr": extra_repr, "__doc__": doc})


ReLU = _elementwise("ReLU", F.relu, "max(x, 0)")
LeakyReLU = _elementwise("LeakyReLU", F.leaky_relu, "x if x > 0 else slope·x",
                         {"negative_slope": _real}, negative_slope=0.01)
ELU = _elementwise("ELU", F.elu, "x if x > 0 else α(eˣ − 1)", {"alpha": _real}, alpha=1.0)
SiLU = _elementwise("SiLU", F.silu, "x·σ(x)")
Softplus = _elementwise("Softplus", F.softplus, "log(1 + e^{βx})/β",
                        {"beta": _nonzero, "threshold": _real}, beta=1.0, threshold=20.0)
Sigmoid = _elementwise("Sigmoid", F.sigmoid, "1/(1 + e^−x)")
Tanh = _elementwise("Tanh", F.tanh, "tanh x")
def _dim(op, name, value):
    return None if value is None else checks.integer(op, name, value)


Softmax = _elementwise("Softmax", F.softmax, "softmax along dim", {"dim": _dim}, dim=None)
LogSoftmax = _elementwise("LogSoftmax", F.log_softmax, "log-softmax along dim", {"dim": _dim},
                          dim=None)
Identity = _elementwise("Identity", lambda x: _tensor(x), "x unchanged")
Flatten = _elementwise("Flatten", F.flatten, "merge axes start_dim..end_dim",
                       {"start_dim": _int, "end_dim": _int}, start_dim=1, end_dim=-1)


class Dropout(Module):
    """Zero elements with probability p while training (scaled by 1/(1 − p)); identity in eval."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = checks.real("Dropout", "p", p, 0.0, 1.0)

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
        self.kernel_size = as_tuple(kernel_size, ndim, "kernel_size", name)
        self.stride = None if stride is None else as_tuple(stride, ndim, "stride", name)
        self.options = {**defaults, **kwargs}
        for key, value in self.options.items():
            if key in ("padding", "dilation"):
                self.options[key] = as_tuple(value, ndim, key, name,
                                             minimum=0 if key == "padding" else 1)
            elif key in ("ceil_mode", "count_include_pad"):
                checks.boolean(name, key, value)
            elif value is not None:                        # divisor_override
                checks.integer(name, key, value, 1)

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
        name = type(self).__name__
        num_features = checks.integer(name, "num_features", num_features, 0)
        eps = checks.real(name, "eps", eps, 0.0)
        if momentum is not None:
            momentum = checks.real(name, "momentum", momentum, 0.0, 1.0)
        affine = checks.boolean(name, "affine", affine)
        track_running_stats = checks.boolean(name, "track_running_stats", track_running_stats)
        dtype = layer_dtype(name, dtype)
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
        x = _tensor(x)
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
        op = "CrossEntropyLoss"
        self.options = dict(
            weight=None if weight is None else checks.tensor(op, "weight", weight),
            ignore_index=checks.integer(op, "ignore_index", ignore_index),
            reduction=checks.choice(op, "reduction", reduction, REDUCTIONS),
            label_smoothing=checks.real(op, "label_smoothing", label_smoothing, 0.0, 1.0))

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, **self.options)


class MSELoss(Module):
    """``F.mse_loss`` as a module."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = checks.choice("MSELoss", "reduction", reduction, REDUCTIONS)

    def forward(self, x, target):
        return F.mse_loss(x, target, self.reduction)


def _tensor(x) -> Tensor:
    """x as a Tensor (an ndarray wrapped as it is; bad input is refused by the op, by name)."""
    return x if isinstance(x, Tensor) else Tensor.wrap(np.asarray(x))
