"""``convgrad.cuda``: there is no CUDA here, so scripts written for a GPU take their CPU branch
(``device = 'cuda' if convgrad.cuda.is_available() else 'cpu'``); seeding calls are no-ops.

>>> is_available(), device_count()
(False, 0)
"""

from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No CUDA generator to seed (``convgrad.manual_seed`` seeds every draw)."""


manual_seed_all = manual_seed


def seed() -> None:
    """No CUDA generator to seed."""


seed_all = seed


def synchronize(device=None) -> None:
    """Nothing runs asynchronously here."""


def empty_cache() -> None:
    """No device memory to release."""


def current_device() -> int:
    raise RuntimeError("convgrad.cuda: convgrad has no CUDA (convgrad.cuda.is_available() is "
                       "False); compute on the CPU")


get_device_name = current_device
