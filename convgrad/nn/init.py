"""Parameter initialisation with PyTorch's defaults, drawn from convgrad's seeded generator."""

from __future__ import annotations

import math

import numpy as np

from .. import random


def uniform(shape, bound: float, dtype=np.float32) -> np.ndarray:
    """U(−bound, bound) samples."""
    return random.generator().uniform(-bound, bound, size=shape).astype(dtype)


def fan_in(shape) -> int:
    """Inputs feeding one output: ``shape[1]·∏ kernel`` (PyTorch's ``_calculate_fan_in``)."""
    return int(shape[1] * math.prod(shape[2:]))


def kaiming_uniform(shape, a: float = math.sqrt(5), dtype=np.float32) -> np.ndarray:
    """U(−b, b) with ``b = gain·√(3/fan_in)``, ``gain = √(2/(1 + a²))``. PyTorch's default for
    Conv and Linear weights uses a = √5, i.e. ``b = 1/√fan_in``. With fan_in = 0 the weight
    has no elements (torch skips the draw)."""
    gain = math.sqrt(2.0 / (1 + a * a))
    n = fan_in(shape)
    return uniform(shape, gain * math.sqrt(3.0 / n) if n else 0.0, dtype)
