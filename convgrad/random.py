"""The one source of randomness in convgrad: parameter init, dropout masks, data shuffles.

>>> _ = manual_seed(0); a = generator().random()
>>> _ = manual_seed(0); a == generator().random()
True
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed every random draw in convgrad (like ``torch.manual_seed``); returns the generator."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    """The generator that ``manual_seed`` last set."""
    return _generator
