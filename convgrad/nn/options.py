"""What the layers share: the parameters' dtype rule, the input as a Tensor, option checkers
and the factory of option-only layers (``elementwise_layer``)."""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..device import check_device
from ..functional import checks
from ..semantics import get_default_dtype
from .module import Module


def layer_dtype(name: str, dtype) -> np.dtype:
    """The parameters' dtype: float32 or float64."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: dtype must be float32 or float64, got {dtype}")
    return dtype


def factory_dtype(name: str, device, dtype) -> np.dtype:
    """torch's factory kwargs of a layer: the parameters' dtype (None: the default dtype,
    float32 or float64 only); ``device`` must be the CPU."""
    check_device(device, name)
    return layer_dtype(name, get_default_dtype() if dtype is None else dtype)


def real(op, name, value):
    return checks.real(op, name, value)


def integer(op, name, value):
    return checks.integer(op, name, value)


def nonzero(op, name, value):
    if checks.real(op, name, value) == 0:
        raise ValueError(f"{op}: {name} must be non-zero, got {value}")
    return float(value)


def elementwise_layer(name: str, fn, doc: str, rules=None, **defaults):
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


def dim(op, name, value):
    return None if value is None else checks.integer(op, name, value)


def as_input(x) -> Tensor:
    """x as a Tensor (an ndarray wrapped as it is; bad input is refused by the op, by name)."""
    return x if isinstance(x, Tensor) else Tensor.wrap(np.asarray(x))
