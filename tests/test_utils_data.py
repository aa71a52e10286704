"""convgrad.utils.data against torch.utils.data: batches (values, dtypes, structure) of
default_collate/default_convert, lengths, random_split sizes, samplers, argument errors, and
the worker threads (same batches as num_workers=0, errors, worker info, prefetch, overlap)."""

from __future__ import annotations

import collections
import threading
import time
import warnings

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
import convgrad.utils.data as cud

torch = import_torch()
import torch.utils.data as tud  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")
Point = collections.namedtuple("Point", ["x", "y"])


def sample(L, i: int):
    """Sample ``i`` of every kind default_collate knows, built with library ``L``."""
    return {"tensor": L.tensor([i, i + 0.5]), "int64": L.tensor(i),
            "ndarray": np.arange(3, dtype=np.int32) + i, "int": i, "float": i / 4,
            "bool": i % 2 == 0, "str": f"s{i}", "bytes": b"b", "np_f32": np.float32(i),
            "np_i16": np.int16(i), "tuple": (L.tensor([i]), i, "a"),
            "dict": {"x": np.ones(2) * i, "y": [i, i / 2]}, "namedtuple": Point(i, float(i)),
            "list": [[i, i + 1], "z"], "ndarray_f64": np.full((2, 2), i, np.float64)}


KINDS = list(sample(cg, 0))


class Samples:                         # a plain map-style dataset (no base class needed)
    def __init__(self, L, kind: str, n: int = 7):
        self.L, self.kind, self.n = L, kind, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return sample(self.L, i)[self.kind]


def same(got, want, where="batch"):
    """``got`` (convgrad) equals ``want`` (torch): structure, types, values, dtypes."""
    if isinstance(want, torch.Tensor):
        assert isinstance(got, cg.Tensor), f"{where}: {type(got)} is not a Tensor"
        assert got.dtype.name == str(want.dtype).split(".")[-1], f"{where}: dtype"
        assert got.shape == tuple(want.shape), f"{where}: shape"
        np.testing.assert_array_equal(got.array, want.numpy(), err_msg=where)
    elif isinstance(want, cg.Tensor):                    # convgrad against convgrad
        assert isinstance(got, cg.Tensor) and got.dtype == want.dtype, where
        np.testing.assert_array_equal(got.array, want.array, err_msg=where)
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want), where
        for k in want:
            same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), f"{where}: {got} != {want}"
        for k, (g, w) in enumerate(zip(got, want)):
            same(g, w, f"{where}[{k}]")
    elif isinstance(want, np.ndarray):
        np.testing.assert_array_equal(got, want, err_msg=where)
    else:
        assert type(got) is type(want) and got == want, f"{where}: {got!r} != {want!r}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (None, False)])
def test_batches_equal_torch(kind, batch_size, drop_last):
    got = cud.DataLoader(Samples(cg, kind), batch_size=batch_size, drop_last=drop_last)
    want = tud.DataLoader(Samples(torch, kind), batch_size=batch_size, drop_last=drop_last)
    assert len(got) == len(want)
    batches = list(got)
    assert len(batches) == len(want)
    same(batches, list(want))


def test_collate_and_convert_functions_equal_torch():
    for kind in KINDS:
        same(cud.default_collate([sample(cg, i)[kind] for i in range(3)]),
             tud.default_collate([sample(torch, i)[kind] for i in range(3)]), kind)
        same(cud.default_convert(sample(cg, 2)[kind]),
             tud.default_convert(sample(torch, 2)[kind]), kind)
    for bad in ([object()], [np.array(["a"])]):
        with pytest.raises(TypeError) as want:
            tud.default_collate(bad)
        with pytest.raises(TypeError, match="default_collate: batch must contain") as got:
            cud.default_collate(bad)
        assert str(got.value) == str(want.value)
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        cud.default_collate([[1, 2], [3]])


@pytest.mark.parametrize("grad", [False, True])
def test_tensor_dataset_batches_equal_torch(grad):
    x = np.arange(30.0).reshape(10, 3)
    y = np.arange(10) % 3
    mask = np.arange(10) % 2 == 0
    got = cud.TensorDataset(cg.tensor(x, requires_grad=grad), cg.tensor(y), cg.tensor(mask))
    want = tud.TensorDataset(torch.tensor(x, requires_grad=grad), torch.tensor(y),
                             torch.tensor(mask))
    same(got[3], tuple(t.detach() for t in want[3]) if grad else want[3])
    order = [7, 2, 2, 9, 0, 4]
    for bs, dl in ((4, False), (4, True), (1, False), (10, False)):
        cg_b = list(cud.DataLoader(got, batch_size=bs, drop_last=dl, sampler=order))
        th_b = list(tud.DataLoader(want, batch_size=bs, drop_last=dl, sampler=order))
        assert cg_b[0][0].requires_grad == th_b[0][0].requires_grad == grad
        same([[t.detach() for t in b] for b in cg_b], [[t.detach() for t in b] for b in th_b])
    nested_g = cud.Subset(cud.Subset(got, range(2, 10)), [5, 0, 7, -1])   # one fancy index
    nested_w = tud.Subset(tud.Subset(want, range(2, 10)), [5, 0, 7, -1])
    same([[t.detach() for t in b] for b in cud.DataLoader(nested_g, batch_size=3)],
         [[t.detach() for t in b] for b in tud.DataLoader(nested_w, batch_size=3)])
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        cud.TensorDataset(cg.zeros(3), cg.zeros(4))
    with pytest.raises(IndexError):
        list(cud.DataLoader(got, batch_size=2, sampler=[1, 10]))


def test_datasets_equal_torch():
    a, b = list(range(5)), list("abc")
    for L, M in ((cud, tud),):
        cat_g, cat_w = L.ConcatDataset([a, b]), M.ConcatDataset([a, b])
        assert len(cat_g) == len(cat_w) and [cat_g[i] for i in range(-8, 8)] == \
            [cat_w[i] for i in range(-8, 8)]
        assert cat_g.cumulative_sizes == cat_w.cumulative_sizes
        sub = L.Subset(a, [4, 1])
        assert (len(sub), sub[0], sub.__getitems__([1, 0])) == (2, 4, [1, 4])
        st = L.StackDataset(a[:3], b)
        assert st[1] == (1, "b") and st.__getitems__([0, 2]) == [(0, "a"), (2, "c")]
        assert L.StackDataset(p=a[:3], q=b).__getitems__([2]) == [{"p": 2, "q": "c"}]
    for make in (lambda M: M.StackDataset(), lambda M: M.StackDataset(a, b),
                 lambda M: M.StackDataset(a, q=b), lambda M: M.ConcatDataset([]),
                 lambda M: M.ConcatDataset([Count(M, 2)]), lambda M: M.ConcatDataset(
                     [a])[-9], lambda M: M.Dataset()[0]):
        with pytest.raises(Exception) as want:
            make(tud)
        with pytest.raises(want.type) as got:
            make(cud)
        assert str(got.value) == str(want.value)
    ds = cud.TensorDataset(cg.arange(3))
    assert isinstance(ds + ds, cud.ConcatDataset) and len(ds + ds) == 6
    chained = Count(cud, 2) + Count(cud, 3)
    assert isinstance(chained, cud.ChainDataset) and list(chained) == [0, 1, 0, 1, 2]
    assert len(chained) == 5


@pytest.mark.parametrize("n,lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]),
                                       (30, [0.3, 0.3, 0.4]), (7, [0.1, 0.2, 0.3, 0.4]),
                                       (5, [5, 0]), (3, [0.6, 0.4, 0.0])])
def test_random_split_sizes_equal_torch(n, lengths):
    with warnings.catch_warnings(record=True) as want_w:
        warnings.simplefilter("always")
        want = [len(s) for s in tud.random_split(range(n), lengths)]
    with warnings.catch_warnings(record=True) as got_w:
        warnings.simplefilter("always")
        parts = cud.random_split(range(n), lengths, generator=cg.Generator().manual_seed(1))
    assert [len(s) for s in parts] == want
    assert [str(w.message) for w in got_w] == [str(w.message) for w in want_w]
    assert sorted(i for p in parts for i in p) == list(range(n))


def test_random_split_errors_and_seeding():
    for lengths in ([3, 4], [0.5, 0.6], [1.5, -0.5]):
        with pytest.raises(ValueError) as want:
            tud.random_split(range(10), lengths)
        with pytest.raises(ValueError) as got:
            cud.random_split(range(10), lengths)
        assert str(got.value) == str(want.value)
    cg.manual_seed(3)
    first = [list(s) for s in cud.random_split(range(20), [5, 15])]
    cg.manual_seed(3)
    assert [list(s) for s in cud.random_split(range(20), [5, 15])] == first


def test_samplers_equal_torch():
    data = list(range(10))
    for L, G in ((cud, cg.Generator), (tud, torch.Generator)):
        g = G().manual_seed(0)
        assert list(L.SequentialSampler(data)) == data
        assert sorted(L.RandomSampler(data, generator=g)) == data
        assert len(L.RandomSampler(data, True, 45, g)) == 45 == len(
            list(L.RandomSampler(data, True, 45, g)))
        wide = list(L.RandomSampler(data, num_samples=25, generator=g))
        assert len(wide) == 25 and sorted(wide[:20]) == sorted(data * 2)
        assert sorted(L.SubsetRandomSampler([5, 7, 9], g)) == [5, 7, 9]
        w = L.WeightedRandomSampler([0.0, 1.0, 0.0, 2.0], 6, generator=g)
        assert len(w) == 6 and set(w) <= {1, 3}
        assert sorted(L.WeightedRandomSampler([1, 1, 1, 0], 3, False, g)) == [0, 1, 2]
    for drop in (False, True):
        for bs in (1, 3, 10, 11):
            got, want = cud.BatchSampler(data, bs, drop), tud.BatchSampler(data, bs, drop)
            assert len(got) == len(want) and list(got) == list(want)


SAMPLER_ERRORS = [
    lambda L: L.RandomSampler(range(3), replacement=1),
    lambda L: L.RandomSampler(range(3), num_samples=0),
    lambda L: L.RandomSampler(range(3), num_samples=2.0),
    lambda L: L.WeightedRandomSampler([1.0], 0),
    lambda L: L.WeightedRandomSampler([1.0], True),
    lambda L: L.WeightedRandomSampler([1.0], 2, replacement="no"),
    lambda L: L.WeightedRandomSampler([[1.0]], 2),
    lambda L: L.BatchSampler(range(3), 0, False),
    lambda L: L.BatchSampler(range(3), 2, None),
    lambda L: len(L.DataLoader(Sharded(L, 3))),
]


@pytest.mark.parametrize("make", SAMPLER_ERRORS)
def test_sampler_errors_equal_torch(make):
    with pytest.raises(Exception) as want:
        make(tud)
    with pytest.raises(want.type) as got:
        make(cud)
    assert str(got.value) == str(want.value)


LOADER_ERRORS = [
    dict(batch_sampler=[[0, 1]], batch_size=2), dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_sampler=[[0]], sampler=[0]), dict(batch_sampler=[[0]], drop_last=True),
    dict(sampler=[0], shuffle=True), dict(batch_size=None, drop_last=True),
    dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
    dict(num_workers=1, prefetch_factor=-1), dict(persistent_workers=True),
    dict(multiprocessing_context="fork"), dict(num_workers=1, multiprocessing_context="nope"),
    dict(num_workers=1, multiprocessing_context=3), dict(iterable=True, shuffle=True),
    dict(iterable=True, sampler=[0]), dict(iterable=True, batch_sampler=[[0]]),
]


@pytest.mark.parametrize("kwargs", LOADER_ERRORS)
def test_loader_errors_equal_torch(kwargs):
    kwargs = dict(kwargs)
    iterable = kwargs.pop("iterable", False)
    with pytest.raises(Exception) as want:
        tud.DataLoader(Count(tud, 3) if iterable else list(range(3)), **kwargs)
    with pytest.raises(want.type) as got:
        cud.DataLoader(Count(cud, 3) if iterable else list(range(3)), **kwargs)
    assert str(got.value).split(" got ")[0] == str(want.value).split(" got ")[0]


def test_loader_attributes_and_timeout_equal_torch():
    for L in (cud, tud):
        loader = L.DataLoader(list(range(5)), batch_size=2)
        with pytest.raises(ValueError, match="batch_size attribute should not be set after "
                                             "DataLoader is initialized"):
            loader.batch_size = 3
        loader.num_workers = 0                              # allowed, as in torch
        with pytest.raises(AssertionError, match="requires timeout == 0"):
            iter(L.DataLoader(list(range(5)), timeout=1))
        with pytest.warns(UserWarning, match="'pin_memory' argument is set as true"):
            iter(L.DataLoader(list(range(5)), pin_memory=True))


def test_shuffle_is_a_permutation_and_seeded():
    ds = cud.TensorDataset(cg.arange(23))
    cg.manual_seed(0)
    loader = cud.DataLoader(ds, batch_size=5, shuffle=True)
    epoch1 = [b[0].tolist() for b in loader]
    epoch2 = [b[0].tolist() for b in loader]
    assert sorted(sum(epoch1, [])) == list(range(23)) and epoch1 != epoch2
    cg.manual_seed(0)
    assert [b[0].tolist() for b in loader] == epoch1
    g = cg.Generator().manual_seed(5)
    a = [b[0].tolist() for b in cud.DataLoader(ds, batch_size=5, shuffle=True, generator=g)]
    g.manual_seed(5)
    cg.manual_seed(99)                                      # the global seed does not matter
    b = [b[0].tolist() for b in cud.DataLoader(ds, batch_size=5, shuffle=True, generator=g)]
    assert a == b


class Count:                           # an iterable dataset, made a subclass of L's class
    def __new__(cls, L, n):
        kind = type("Counter", (L.IterableDataset,), {
            "__iter__": lambda self: iter(range(self.n)), "__len__": lambda self: self.n})
        obj = kind()
        obj.n = n
        return obj


class Sharded:
    def __new__(cls, L, n):
        def __iter__(self):
            info = L.get_worker_info()
            if info is None:
                return iter(range(self.n))
            return iter(range(info.id, self.n, info.num_workers))
        obj = type("Sharded", (L.IterableDataset,), {"__iter__": __iter__})()
        obj.n = n
        return obj


@pytest.mark.parametrize("workers", [0, 2, 3])
@pytest.mark.parametrize("batch_size,drop_last", [(2, False), (2, True), (None, False)])
def test_iterable_dataset_equal_torch(workers, batch_size, drop_last):
    for make in (Count, Sharded):
        kw = dict(batch_size=batch_size, drop_last=drop_last, num_workers=workers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = list(tud.DataLoader(make(tud, 7), **kw))
            got = list(cud.DataLoader(make(cud, 7), **kw))
        same(got, want, make.__name__)
    assert len(cud.DataLoader(Count(cud, 7), batch_size=2)) == 4
    assert len(cud.DataLoader(Count(cud, 7), batch_size=2, drop_last=True)) == 3


class Slow(cud.Dataset):
    def __init__(self, n=12, seconds=0.0, fail_at=None):
        self.n, self.seconds, self.fail_at = n, seconds, fail_at
        self.calls, self.threads, self.infos = [], set(), []
        self.lock = threading.Lock()

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.seconds)
        with self.lock:
            self.calls.append(i)
            self.threads.add(threading.current_thread())
            self.infos.append(cud.get_worker_info())
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        return {"i": i, "x": np.full(3, i, np.float32)}


@pytest.mark.parametrize("workers,in_order", [(1, True), (2, True), (4, True), (2, False)])
def test_workers_give_the_sequential_batches(workers, in_order):
    ds = Slow(n=37)
    want = list(cud.DataLoader(ds, batch_size=4))
    got = list(cud.DataLoader(ds, batch_size=4, num_workers=workers, in_order=in_order))
    if in_order:
        same(got, want)
    else:
        assert sorted(b["i"].tolist() for b in got) == sorted(b["i"].tolist() for b in want)
    g = cg.Generator()
    shuffled = [list(cud.DataLoader(ds, 3, True, num_workers=w, generator=g.manual_seed(7)))
                for w in (0, workers)]
    if in_order:
        same(shuffled[1], shuffled[0])


def test_worker_exception_reraised_with_worker_id():
    for L, ds in ((tud, Slow(fail_at=5)), (cud, Slow(fail_at=5))):
        if L is tud:
            with pytest.raises(ValueError) as want:
                list(L.DataLoader(ds, batch_size=2, num_workers=2))
        else:
            with pytest.raises(ValueError) as got:
                list(L.DataLoader(ds, batch_size=2, num_workers=2))
    first = str(want.value).splitlines()[0]
    assert first == "Caught ValueError in DataLoader worker process 0."
    assert str(got.value).splitlines()[0] == first and "bad sample 5" in str(got.value)

    def init_fails(worker_id):
        raise KeyError(worker_id)
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
        list(cud.DataLoader(Slow(), num_workers=2, worker_init_fn=init_fails))


def test_worker_info_init_fn_and_persistent_workers():
    ds, seen = Slow(n=8), []
    lock = threading.Lock()

    def init(worker_id):
        info = cud.get_worker_info()
        with lock:
            seen.append((worker_id, info.id, info.num_workers, info.dataset is not ds))
        info.dataset.tag = worker_id                       # this worker's own copy

    assert cud.get_worker_info() is None
    loader = cud.DataLoader(ds, batch_size=2, num_workers=2, worker_init_fn=init,
                            persistent_workers=True, generator=cg.Generator().manual_seed(0))
    first, second = list(loader), list(loader)
    same(first, second)
    assert sorted(seen) == [(0, 0, 2, True), (1, 1, 2, True)]  # once per worker, not per epoch
    assert len(ds.threads) == 2 and not hasattr(ds, "tag")
    infos = {info.id: info for info in ds.infos}
    assert infos[1].seed == infos[0].seed + 1 and infos[0].worker_method == "thread"
    assert isinstance(infos[0].rng.torch_generator, cg.Generator)
    loader = cud.DataLoader(ds, batch_size=2, num_workers=2)
    list(loader), list(loader)
    assert len(ds.threads) == 6                            # new workers each epoch


def test_prefetch_is_bounded_and_loading_overlaps():
    ds = Slow(n=200)
    it = iter(cud.DataLoader(ds, num_workers=2, prefetch_factor=2))
    next(it)
    time.sleep(0.3)
    assert len(ds.calls) <= 2 * 2 + 1                      # prefetch_factor * workers, + 1
    del it
    # loading runs in parallel: with workers, several __getitem__ calls are in flight at once
    # (a count, not a timing: speed is measured in benchmarks/bench_dataloader.py)
    for workers, parallel in ((0, False), (4, True)):
        ds = Overlapping(n=24, seconds=0.05)
        list(cud.DataLoader(ds, batch_size=2, num_workers=workers))
        assert (ds.count["most"] > 1) == parallel, (workers, ds.count)


class Overlapping(Slow):
    """Counts how many ``__getitem__`` calls run at the same time (in a dict: each worker holds
    a shallow copy of the dataset)."""

    def __init__(self, n, seconds):
        super().__init__(n, seconds)
        self.count = {"now": 0, "most": 0}

    def __getitem__(self, i):
        with self.lock:
            self.count["now"] += 1
            self.count["most"] = max(self.count["most"], self.count["now"])
        try:
            return super().__getitem__(i)
        finally:
            with self.lock:
                self.count["now"] -= 1


def test_timeout_and_early_break():
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.05 seconds"):
        list(cud.DataLoader(Slow(n=4, seconds=0.5), num_workers=1, timeout=0.05))
    before = threading.active_count()
    for i, _ in enumerate(cud.DataLoader(Slow(n=50), num_workers=2)):
        if i == 3:
            break
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before
