"""``convgrad.accelerator``: none here (torch.accelerator's answers on a CPU-only machine).

>>> is_available(), current_accelerator()
(False, None)
"""


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    return None


def device_count() -> int:
    return 0
