"""The loader's workers: threads that fetch and collate batches (torch uses processes; here
NumPy's copies and fancy indexing release the GIL, and nothing must be pickled).

>>> get_worker_info() is None        # in the main thread
True
>>> _generate_state(0, 0) == _generate_state(0, 0) != _generate_state(0, 1)
True
"""

from __future__ import annotations

import copy
import queue
import random
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ...autograd import Tensor
from ...random import Generator
from .collate import default_collate
from .dataset import Subset, TensorDataset

__all__ = ["WorkerInfo", "get_worker_info"]

_local = threading.local()


@dataclass(frozen=True)
class _RNG:
    """Per-worker generators, seeded from the worker's ``seed`` (torch's thread-worker RNG)."""
    random_generator: random.Random
    torch_generator: Generator
    numpy_generator: np.random.Generator | None = None


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id`` (0 … num_workers − 1),
    ``num_workers``, ``seed`` (``base_seed + id``), ``dataset`` (this worker's shallow copy of
    the dataset), ``rng`` (a ``random.Random``, a ``convgrad.Generator`` and a NumPy generator
    seeded for this worker) and ``worker_method`` ("thread")."""
    id: int
    num_workers: int
    seed: int
    dataset: Any
    rng: _RNG | None = None
    worker_method: str | None = "thread"


def get_worker_info() -> WorkerInfo | None:
    """The ``WorkerInfo`` of the calling loader worker; None in any other thread."""
    return getattr(_local, "info", None)


def _generate_state(base_seed: int, worker_id: int) -> list[int]:
    """torch's NumPy seed for a worker: four 32-bit words hashed from (worker_id, base_seed)."""
    mask = 0xFFFFFFFF
    entropy = [worker_id, base_seed & mask, base_seed >> 32, 0]
    const_a = [0x43B0D7E5]

    def hash32(value: int) -> int:
        value = (value ^ const_a[0]) & mask
        const_a[0] = (const_a[0] * 0x931E8875) & mask
        value = (value * const_a[0]) & mask
        return (value ^ (value >> 16)) & mask

    def mix(x: int, y: int) -> int:
        result = (((0xCA01F9DD * x) & mask) - ((0x4973F715 * y) & mask)) & mask
        return (result ^ (result >> 16)) & mask

    pool = [hash32(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash32(pool[i_src]))
    const_b, state = 0x8B51F9DD, []
    for value in pool:
        value = (value ^ const_b) & mask
        const_b = (const_b * 0x58F38DED) & mask
        value = (value * const_b) & mask
        state.append((value ^ (value >> 16)) & mask)
    return state


class KeyErrorMessage(str):
    """A KeyError's message that prints as it is (KeyError would repr() it)."""

    def __repr__(self) -> str:
        return self


class ExceptionWrapper:
    """An exception caught in a worker, re-raised in the consumer's thread with the worker id
    and the original traceback in its message (torch's wording)."""

    def __init__(self, exc_info: tuple, where: str = "in background") -> None:
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self) -> None:
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


@dataclass(frozen=True)
class IterableDatasetStopIteration:
    worker_id: int


@dataclass(frozen=True)
class ResumeIteration:
    pass


def _tensor_source(dataset) -> tuple | None:
    """(a plain TensorDataset, the index arrays of the plain Subsets around it, outermost
    first) when ``dataset`` is one, else None: its default-collated batch is then one fancy
    index per tensor, equal to torch's stack of the samples."""
    maps = []
    while type(dataset) is Subset and isinstance(dataset.indices, (list, tuple, range,
                                                                    np.ndarray)):
        maps.append(np.asarray(dataset.indices, dtype=np.int64))
        dataset = dataset.dataset
    plain = (type(dataset).__getitem__ is TensorDataset.__getitem__
             and getattr(dataset, "__getitems__", None) is None
             and all(isinstance(t, Tensor) and type(t).__getitem__ is Tensor.__getitem__
                     for t in getattr(dataset, "tensors", (None,))))
    return (dataset, maps) if plain else None


class MapFetcher:
    """Fetch one index (no batching) or a list of indices (then collate) from a map-style
    dataset; a plain ``TensorDataset`` (maybe in ``Subset`` s) with ``default_collate`` is
    cut by one fancy index per tensor."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn
        self.fast = (_tensor_source(dataset) if auto_collation and collate_fn is default_collate
                     else None)

    def fetch(self, index) -> Any:
        if self.auto_collation:
            at = np.asarray(index) if self.fast is not None and len(index) else None
            if at is not None and at.dtype.kind in "iu" and at.ndim == 1:
                source, maps = self.fast
                for m in maps:
                    at = m[at]
                return source._batch(at)
            getitems = getattr(self.dataset, "__getitems__", None)
            if getitems:
                data = getitems(index)
            else:
                data = [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class IterableFetcher:
    """Draw the next sample (or up to ``len(index)`` of them, then collate) from an
    iterable dataset; StopIteration once it is exhausted (or a short last batch is dropped)."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset_iter = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = (auto_collation, collate_fn,
                                                                 drop_last)
        self.ended = False

    def fetch(self, index) -> Any:
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


def make_fetcher(iterable: bool, dataset, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool):
    kind = IterableFetcher if iterable else MapFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)


def worker_loop(iterable: bool, dataset, index_queue: queue.Queue, data_queue: queue.Queue,
                done: threading.Event, auto_collation: bool, collate_fn: Callable,
                drop_last: bool, base_seed: int, init_fn: Callable | None, worker_id: int,
                num_workers: int) -> None:
    """One worker thread: serve ``(task, index)`` from ``index_queue`` until ``None``."""
    seed = base_seed + worker_id
    try:
        dataset = copy.copy(dataset)
    except Exception:                 # an uncopyable dataset is shared as it is
        pass
    rng = _RNG(random.Random(seed), Generator().manual_seed(seed),
               np.random.default_rng(_generate_state(base_seed, worker_id)))
    _local.info = WorkerInfo(worker_id, num_workers, seed, dataset, rng)
    where = f"in DataLoader worker process {worker_id}"
    init_exception = fetcher = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
    except Exception as e:
        init_exception = ExceptionWrapper((type(e), e, e.__traceback__), where)
    ended = False
    while True:
        r = index_queue.get()
        if r is None:
            break
        if isinstance(r, ResumeIteration):
            ended = False
            try:
                fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn,
                                       drop_last)
            except Exception as e:
                init_exception = ExceptionWrapper((type(e), e, e.__traceback__), where)
            data_queue.put((r, None))
            continue
        if done.is_set() or ended:
            continue
        idx, index = r
        if init_exception is not None:
            data, init_exception = init_exception, None
        else:
            try:
                data = fetcher.fetch(index)
            except Exception as e:
                if iterable and isinstance(e, StopIteration):
                    data, ended = IterableDatasetStopIteration(worker_id), True
                else:
                    data = ExceptionWrapper((type(e), e, e.__traceback__), where)
        data_queue.put((idx, data))
        del data, r, index
    _local.info = None

