"""Activation layers, each over ``convgrad.functional``'s function of the same name, with
torch.nn's constructor signatures, attribute names and ``repr``.

Options are checked when the layer is built (the same words as the functional op); they are
kept as given, so ``repr`` prints them as torch does (``Threshold(threshold=1, value=2.0)``).
This module holds the piecewise-linear layers and the softmaxes; ``activation_more`` the smooth
ones (re-exported here).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import functional as F
from ..functional import checks
from . import activation_more
from .activation_more import *  # noqa: F403
from .activation_more import Pointwise, flag, inplace_repr
from .module import Parameter
from .options import factory_dtype

__all__ = ["ReLU", "ReLU6", "Hardtanh", "Threshold", "LeakyReLU", "PReLU", "RReLU", "Hardswish",
           "Hardsigmoid", "Hardshrink", "Softshrink", "Softmax", "LogSoftmax", "Softmin",
           "Softmax2d", *activation_more.__all__]


class ReLU(Pointwise):
    """``ReLU(x) = max(x, 0)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return inplace_repr(self)


class Hardtanh(Pointwise):
    """``HardTanh(x) = min(max(x, min_val), max_val)`` (``min_value``/``max_value``: torch's
    deprecated spellings, with its FutureWarning)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        for old, new in (("min_value", min_value), ("max_value", max_value)):
            if new is not None:
                warnings.warn(f"keyword argument `{old}` is deprecated and renamed to "
                              f"`{old[:3]}_val`", FutureWarning, stacklevel=2)
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        low = checks.real(name, "min_val", min_val)
        if checks.real(name, "max_val", max_val) <= low:
            raise ValueError(f"{name}: max_val ({max_val}) must be greater than min_val "
                             f"({min_val})")
        self.min_val, self.max_val = min_val, max_val
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace_repr(self, ', ')}"


class ReLU6(Hardtanh):
    """``ReLU6(x) = min(max(x, 0), 6)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def forward(self, input):
        return F.relu6(input, self.inplace)

    def extra_repr(self) -> str:
        return inplace_repr(self)


class Threshold(Pointwise):
    """``y = x`` if ``x > threshold`` else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        checks.real("Threshold", "threshold", threshold)
        checks.real("Threshold", "value", value, finite=False)
        self.threshold, self.value = threshold, value
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{inplace_repr(self, ', ')}"


class LeakyReLU(Pointwise):
    """``x`` for x > 0, ``negative_slope·x`` otherwise."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        checks.real("LeakyReLU", "negative_slope", negative_slope)
        self.negative_slope = negative_slope
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{inplace_repr(self, ', ')}"


class PReLU(Pointwise):
    """``max(0, x) + a·min(0, x)`` with a learnable ``weight`` a of ``num_parameters`` values
    (1, or one per channel: dim 1 of the input), all starting at ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters = checks.integer("PReLU", "num_parameters", num_parameters, 0)
        self.init = checks.real("PReLU", "init", init)
        dtype = factory_dtype("PReLU", device, dtype)
        self.weight = Parameter(np.full(self.num_parameters, self.init, dtype=dtype))

    def reset_parameters(self) -> None:
        """Every slope back to ``init``."""
        self.weight.array[...] = self.init

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Pointwise):
    """Randomized leaky ReLU: slopes ~ U(lower, upper) per element in training, their mean
    in evaluation (``F.rrelu(x, lower, upper, self.training)``)."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        if checks.real("RReLU", "lower", lower) > checks.real("RReLU", "upper", upper):
            raise ValueError(f"RReLU: Lower bound should be less than or equal to the upper "
                             f"bound, got lower={lower}, upper={upper}")
        self.lower, self.upper = lower, upper
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{inplace_repr(self, ', ')}"


class Hardswish(Pointwise):
    """``x·relu6(x + 3)/6`` (torch prints no options for it)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.hardswish(input, self.inplace)


class Hardsigmoid(Pointwise):
    """``relu6(x + 3)/6`` (torch prints no options for it)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(self, inplace)

    def forward(self, input):
        return F.hardsigmoid(input, self.inplace)


class Hardshrink(Pointwise):
    """``x`` where ``|x| > λ``, else 0."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        checks.real("Hardshrink", "lambd", lambd)
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Pointwise):
    """``x − λ`` for x > λ, ``x + λ`` for x < −λ, else 0 (λ ≥ 0)."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        checks.real("Softshrink", "lambd", lambd, 0.0)
        self.lambd = lambd

    def forward(self, input):
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class _SoftmaxLayer(Pointwise):
    _fn = staticmethod(F.softmax)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is not None:
            checks.integer(type(self).__name__, "dim", dim)
        self.dim = dim

    def forward(self, input):
        return type(self)._fn(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxLayer):
    """``exp(x)/Σ exp(x)`` along ``dim`` (None: torch's deprecated implicit choice)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)


class LogSoftmax(_SoftmaxLayer):
    """``log softmax(x)`` along ``dim``."""

    _fn = staticmethod(F.log_softmax)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)


class Softmin(_SoftmaxLayer):
    """``softmax(−x)`` along ``dim``."""

    _fn = staticmethod(F.softmin)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)


class Softmax2d(Pointwise):
    """Softmax over the channels (dim −3) of a (C, H, W) or (N, C, H, W) input."""

    def forward(self, input):
        x = checks.tensor("Softmax2d", "input", input)
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead")
        return F.softmax(x, -3, _stacklevel=5)
