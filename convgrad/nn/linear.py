"""Linear maps and reshaping layers: Linear, Bilinear, Identity, Flatten, Unflatten."""

from __future__ import annotations

import math

from .. import functional as F
from ..functional import checks
from ..functional.basic import bilinear
from . import init
from .module import Module, Parameter
from .options import as_input, factory_dtype

__all__ = ["Linear", "Bilinear", "Identity", "Flatten", "Unflatten"]


class Linear(Module):
    """``y = x Wᵀ + b``; W (out, in) and b start as U(−1/√in, 1/√in) (PyTorch's default).
    ``in_features = 0`` is allowed (as in torch): W is (out, 0) and the output is b."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        in_features = checks.integer("Linear", "in_features", in_features, 0)
        out_features = checks.integer("Linear", "out_features", out_features, 0)
        bias = checks.boolean("Linear", "bias", bias)
        dtype = factory_dtype("Linear", device, dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.kaiming_uniform((out_features, in_features), dtype=dtype))
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        self.register_parameter("bias", Parameter(init.uniform(
            (out_features,), bound, dtype)) if bias else None)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y = x₁ᵀ W x₂ + b``; W (out, in1, in2) and b (out,) start as U(−1/√in1, 1/√in1)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        op = "Bilinear"
        in1 = checks.integer(op, "in1_features", in1_features, 0)
        in2 = checks.integer(op, "in2_features", in2_features, 0)
        out = checks.integer(op, "out_features", out_features, 0)
        bias = checks.boolean(op, "bias", bias)
        dtype = factory_dtype(op, device, dtype)
        self.in1_features, self.in2_features, self.out_features = in1, in2, out
        bound = 1 / math.sqrt(in1) if in1 else 0.0
        self.weight = Parameter(init.uniform((out, in1, in2), bound, dtype))
        self.register_parameter("bias", Parameter(init.uniform((out,), bound, dtype))
                                if bias else None)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Identity(Module):
    """The input unchanged; any constructor arguments are accepted and ignored (torch's rule)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return as_input(input)


class Flatten(Module):
    """``F.flatten`` of axes ``start_dim..end_dim``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = checks.integer("Flatten", "start_dim", start_dim)
        self.end_dim = checks.integer("Flatten", "end_dim", end_dim)

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (a tuple or list of ints; one may be −1)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, n in enumerate(unflattened_size):
            if not isinstance(n, int) or isinstance(n, bool):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element "
                                f"of type {type(n).__name__} at pos {i}")
        self.dim = checks.integer("Unflatten", "dim", dim)
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return as_input(input).unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
