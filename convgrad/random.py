"""The one source of randomness in convgrad (torch.random's names): parameter init, dropout
masks, data shuffles and every ``rand``/``randn``/``normal_`` … draw from a ``Generator``;
``manual_seed(s)`` reseeds the default one, so a seeded script repeats exactly.

>>> _ = manual_seed(0); a = generator().random()
>>> _ = manual_seed(0); a == generator().random()
True
>>> g = Generator().manual_seed(42); s = g.get_state(); x = g._rng.random()
>>> _ = g.set_state(s); x == g._rng.random()
True

Deviation from torch: the bits come from NumPy's PCG64, not torch's Mersenne Twister, so a seed
gives other numbers than in torch (the same ones on every run and platform). The state
(``get_state``) is a uint8 tensor of 64 bytes, little-endian: ``b"cgPCG64\\x01"`` (format tag),
PCG64's 128-bit state and 128-bit increment, ``has_uint32`` and ``uinteger`` (uint64 each) and
the initial seed (uint64).
"""

from __future__ import annotations

import secrets

import numpy as np

from .device import device as _device

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "default_generator", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled"]

_MAGIC = b"cgPCG64\x01"
_STATE_BYTES = 64
_DEFAULT_SEED = 67280421310721              # torch's seed of a fresh ``Generator()``


def _seed_value(seed, op: str) -> int:
    """torch's seed rule: an int in [−2⁶³, 2⁶⁴); a negative one wraps to uint64."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, float, np.integer,
                                                                      np.floating)):
        if hasattr(seed, "__index__"):
            seed = seed.__index__()
        else:
            raise TypeError(f"{op}: seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"{op}: Overflow when unpacking long long (seed {seed} is outside "
                         f"[-2**63, 2**64))")
    return seed % 2 ** 64


class Generator:
    """torch.Generator: a seeded stream of random bits; pass it as ``generator=`` to
    ``rand``/``randn``/``randint``/``normal_`` … for draws independent of the global seed.

    >>> g = Generator().manual_seed(3); g.initial_seed()
    3
    """

    def __init__(self, device="cpu"):
        self.device = _device(device)
        if self.device.type != "cpu":
            raise RuntimeError(f"Generator: convgrad computes on the CPU only; device "
                               f"'{self.device}' is not available")
        self._rng = np.random.default_rng(_DEFAULT_SEED)
        self._seed = _DEFAULT_SEED

    def manual_seed(self, seed) -> Generator:
        """Reseed; returns the generator itself (so ``Generator().manual_seed(0)`` chains)."""
        self._seed = _seed_value(seed, "manual_seed")
        self._rng.bit_generator.state = np.random.PCG64(self._seed).state
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(secrets.randbits(64))
        return self._seed

    def initial_seed(self) -> int:
        """The seed set last (by ``manual_seed`` or ``seed``)."""
        return self._seed

    def get_state(self):
        """The full state as a uint8 tensor (64 bytes; the format is in the module docstring)."""
        from .autograd import Tensor  # noqa: PLC0415  (autograd imports nothing from here)
        s = self._rng.bit_generator.state
        raw = (_MAGIC + s["state"]["state"].to_bytes(16, "little")
               + s["state"]["inc"].to_bytes(16, "little")
               + int(s["has_uint32"]).to_bytes(8, "little")
               + int(s["uinteger"]).to_bytes(8, "little") + self._seed.to_bytes(8, "little"))
        return Tensor(np.frombuffer(raw, np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from ``get_state`` (a uint8 Tensor or ndarray); returns self."""
        array = getattr(new_state, "array", new_state)
        if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
            raise TypeError(f"set_state: expected a convgrad.uint8 tensor (from get_state), "
                            f"got {type(new_state).__name__}")
        raw = array.tobytes()
        if len(raw) != _STATE_BYTES or raw[:8] != _MAGIC:
            raise RuntimeError(f"set_state: expected a state of {_STATE_BYTES} bytes made by "
                               f"get_state, got {len(raw)} bytes")
        word = [int.from_bytes(raw[i:j], "little")
                for i, j in ((8, 24), (24, 40), (40, 48), (48, 56), (56, 64))]
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64", "state": {"state": word[0], "inc": word[1]},
            "has_uint32": word[2], "uinteger": word[3]}
        self._seed = word[4]
        return self

    def __repr__(self) -> str:
        return f"<convgrad.Generator device='{self.device}' initial_seed={self._seed}>"


default_generator = Generator()
default_generator.seed()                     # torch: a fresh process is seeded nondeterministically


def manual_seed(seed) -> Generator:
    """Reseed every random draw in convgrad (``torch.manual_seed``); returns the default
    generator. Internal draws (``generator()``) follow it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Reseed the default generator nondeterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's seed."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (a uint8 tensor, see ``Generator.get_state``)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from ``get_rng_state``."""
    default_generator.set_state(new_state)


def generator() -> np.random.Generator:
    """The NumPy generator behind the default ``Generator`` (the library's internal draws)."""
    return default_generator._rng


def numpy_rng(gen: Generator | None, op: str) -> np.random.Generator:
    """The NumPy generator of ``generator=`` (None: the default one)."""
    if gen is None:
        return default_generator._rng
    if not isinstance(gen, Generator):
        raise TypeError(f"{op}: generator must be a convgrad.Generator, got "
                        f"{type(gen).__name__}")
    return gen._rng


_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted for torch scripts; convgrad's algorithms are deterministic anyway."""
    if not isinstance(mode, bool):
        raise RuntimeError(f"use_deterministic_algorithms expects a bool, but got "
                           f"{type(mode).__name__}")
    _deterministic.update(mode=mode, warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled() -> bool:
    """What ``use_deterministic_algorithms`` last set (convgrad is deterministic either way)."""
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]
