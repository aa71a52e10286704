"""Spreading work over the cores where BLAS alone would not.

Two ways. ``matmul``: a stack of products each too small for BLAS to thread is split over
threads. ``map_parts``: a convolution's batch is split into one part per core, each computed in
its own thread with BLAS on one core — the way PyTorch's CPU convolutions parallelise (its
threads over images). One-core BLAS products run without the threads' synchronisation inside
every product, and the copies between the products (columns, padding, sums) run on all cores
too: a 56×56×64 layer's weight gradient 13.2 → 10.5 ms on two cores. This needs threadpoolctl
(the ``fast`` extra) to set BLAS's threads; without it the parts run one after another.
Winograd passes its batch shares to ``map_parts`` as single compiled calls (``winograd.py``):
the Python of the pass runs once, in the calling thread, and each part releases the GIL
until it is done.

``matmul`` in detail:

``np.matmul`` on a stack of matrices calls BLAS once per matrix, in one thread. OpenBLAS
threads a product only when M·N·K ≥ 4·65536; below that each call runs on one core — the
common case for small images (a 28×28 first layer: 32×9×784 per image), where a batch of 64
such products then uses one core of two. Here the stack is split over a few threads
(NumPy releases the GIL inside matmul, and one-core OpenBLAS calls may run side by side):
the small products of a first layer's forward and both gradients run ~1.5× faster on two
cores. ``CONVGRAD_THREADS=1`` (or ``ops.settings(threads=1)``) switches this off.

The thread count is ``engine.settings``'s ``threads`` (per context; ``set_threads`` changes the
process's default); the pool has as many workers as the largest count asked for.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import numpy as np

from .. import tuning
from ..settings import MAX_THREADS, current, set_defaults

# The thresholds (OpenBLAS's own threading threshold on M·N·K, the multiply-adds below which a
# thread costs more than it saves, a convolution's below which its batch stays on one thread)
# are ``engine.tuning``'s: blas_threads_from, min_work, concurrent_macs.


_pool: ThreadPoolExecutor | None = None
_pool_workers = 0
_local = threading.local()
_pool_lock = threading.Lock()


def threads() -> int:
    """The threads the engine computes with in this context (``Settings.threads``)."""
    return current().threads


def __getattr__(name: str):
    if name == "THREADS":             # the former module constant, read-only
        return current().threads
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def set_threads(n: int) -> None:
    """Use ``n`` threads from now on, in every thread that has not set its own
    (``convgrad.set_num_threads``): the process default ``Settings.threads``."""
    set_defaults(threads=max(1, min(MAX_THREADS, int(n))))


def _executor(workers: int) -> ThreadPoolExecutor:
    """The pool, with at least ``workers`` workers (rebuilt larger when a context asks for
    more threads than it has)."""
    global _pool, _pool_workers
    old = None
    with _pool_lock:
        if _pool is None or _pool_workers < workers:
            old, _pool, _pool_workers = _pool, None, max(workers, 1)
            _pool = ThreadPoolExecutor(_pool_workers, thread_name_prefix="convgrad")
        pool = _pool
    if old is not None:
        old.shutdown(wait=False)
    return pool


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` for stacks ``(..., M, K) @ (..., K, N)``, with the first
    batch axis split across ``threads()`` threads when each product is too small for BLAS to
    thread by itself (``splits``)."""
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    ndim = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (ndim - a.ndim) + a.shape)
    b = b.reshape((1,) * (ndim - b.ndim) + b.shape)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if not splits(m, k, n, batch):
        return np.matmul(a, b, out=out)
    count = batch[0]
    if out is None:
        out = np.empty(batch + (m, n), dtype=np.result_type(a, b))
    parts = min(threads(), count)
    bounds = [count * i // parts for i in range(parts + 1)]

    def run(i: int) -> None:
        rows = slice(bounds[i], bounds[i + 1])
        np.matmul(a if a.shape[0] == 1 else a[rows], b if b.shape[0] == 1 else b[rows],
                  out=out[rows])

    pool = _executor(parts - 1)
    futures = [pool.submit(run, i) for i in range(1, parts)]
    run(0)
    for f in futures:
        f.result()
    return out


def spread(run: Callable[[int], None], count: int) -> None:
    """``run(i)`` for every i < count, by this thread and up to ``threads − 1`` helpers taking
    chunks in turn from a shared counter (``run`` must release the GIL to gain anything); a
    helper still queued when the chunks run out is cancelled, one that started is waited for."""
    helpers = min(threads() - 1, count - 1)
    if helpers <= 0:
        for i in range(count):
            run(i)
        return
    taken = itertools.count()               # (next() is atomic: one chunk per taker)

    def work() -> None:
        i = next(taken)
        while i < count:
            run(i)
            i = next(taken)
    pool = _executor(helpers)
    futures = [pool.submit(work) for _ in range(helpers)]
    work()
    for f in futures:
        if not f.cancel():
            f.result()


def over_shares(run: Callable[[int, int], None], count: int, work: int) -> None:
    """``run(first, stop)`` over ``range(count)`` cut into one share per thread — at most
    ``threads()``, each with ≥ ``tuning.thread_elements`` of the ``work`` — the first share on
    the calling thread, the others on the pool's; for compiled loops that release the GIL
    and write disjoint rows (pooling)."""
    shares = max(1, min(threads(), count, work // tuning.current().thread_elements))
    if in_part():
        shares = 1
    bounds = [count * i // shares for i in range(shares + 1)]
    pool = _executor(shares - 1) if shares > 1 else None
    futures = [pool.submit(run, bounds[i], bounds[i + 1]) for i in range(1, shares)]
    run(bounds[0], bounds[1])
    for future in futures:
        future.result()


def splits(m: int, k: int, n: int, batch: Sequence[int]) -> bool:
    """Whether ``matmul`` spreads a stack of (M×K)·(K×N) products of this batch shape over the
    threads: several cores, several products, each below OpenBLAS's own threading threshold,
    together worth a thread — and not inside a batch part (``map_parts``), whose threads
    are the cores already."""
    work, t = m * n * k, tuning.current()
    return not (threads() == 1 or not batch or batch[0] < 2 or work >= t.blas_threads_from
                or work * math.prod(batch) < t.min_work or in_part())


def in_part() -> bool:
    """Whether this thread runs a part of ``map_parts`` or is one of the pool's workers."""
    return (getattr(_local, "in_part", False)
            or threading.current_thread().name.startswith("convgrad"))


@functools.cache
def blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries, or None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController  # noqa: PLC0415
    except ImportError:
        return None
    return ThreadpoolController()


@contextmanager
def one_core_blas() -> Iterator[None]:
    """BLAS on one core inside (threadpoolctl's limit; nothing without threadpoolctl): for
    products called from several threads at once."""
    controller = blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


def map_parts(fn: Callable, parts: Sequence, concurrent: bool = True) -> list:
    """``[fn(part) for part in parts]``; with ``concurrent`` (and several cores, threadpoolctl
    and not already inside a worker) the parts run ``threads()`` at a time, BLAS on one core."""
    count = min(threads(), len(parts))
    controller = blas_controller() if concurrent and count > 1 else None
    if controller is None or in_part():
        return [fn(part) for part in parts]
    results: list = [None] * len(parts)
    context = contextvars.copy_context()     # the engine settings of the submitting thread

    def work(first: int) -> None:            # parts first, first + threads, …
        _local.in_part = True
        try:
            run = context.copy().run         # one copy per thread: a context runs once at a time
            for i in range(first, len(parts), count):
                results[i] = run(fn, parts[i])
        finally:
            _local.in_part = False

    with one_core_blas():
        pool = _executor(count - 1)
        futures = [pool.submit(work, k) for k in range(1, count)]
        work(0)
        for f in futures:
            f.result()
    return results
