"""Freed memory kept for the next training step, instead of being handed back to the system.

A training step allocates and frees the same large arrays (activations, gradients, columns)
every step. glibc's ``malloc`` serves an array above its mmap threshold (128 KiB, rising by
itself up to 32 MiB) with a fresh ``mmap`` and returns it with ``munmap`` when it is freed,
and trims the heap's free top back to the system above 128 KiB. So each step faults all its
memory in again — the kernel zeroes every page — and each ``munmap`` interrupts the other
cores to flush their TLBs: on the 2-core project machine (a VM) a MobileNet step spent 0.1 to
0.5 s of its 0.4 to 0.8 s in the kernel, and the step right after a torch step in the same
process was 2–3× slower still. With the thresholds raised, freed arrays are reused by the next
step: no page faults after the first steps, no system time, steady step times — the same
effect as running under jemalloc or tcmalloc, which PyTorch's CPU performance guides advise.

``keep_freed_memory()`` raises them (mallopt ``M_MMAP_THRESHOLD`` to 1 GiB, ``M_TRIM_THRESHOLD``
to 2 GiB − 1: arrays up to 1 GiB come from the heap, up to 2 GiB of freed heap stay in the
process); ``import convgrad`` calls it once, unless ``CONVGRAD_KEEP_MEMORY=0``. It changes
the process's ``malloc`` (every library in it gains, torch too); the price is a resident size
that stays near the peak after the work is done — ``release()`` hands the free memory back
(glibc's ``malloc_trim``). On other C libraries (macOS, Windows, musl) both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3          # glibc's mallopt parameters
MMAP_THRESHOLD = 1 << 30
TRIM_THRESHOLD = (1 << 31) - 1                       # mallopt takes an int


@functools.cache
def _glibc():
    """glibc, when this process runs on it (its ``mallopt`` and ``malloc_trim``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()                  # glibc's own: musl has none
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory() -> bool:
    """Keep freed memory in the process for reuse (see the module); True where it took."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def release() -> bool:
    """Hand the process's free heap memory back to the system (glibc ``malloc_trim(0)``);
    True where some was released."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0))


def apply_default() -> bool:
    """``import convgrad``'s call: ``keep_freed_memory()`` unless ``CONVGRAD_KEEP_MEMORY=0``."""
    if os.environ.get("CONVGRAD_KEEP_MEMORY", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return keep_freed_memory()
