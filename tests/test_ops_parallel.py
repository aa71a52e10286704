"""convgrad.ops.parallel.matmul: a stack of small products split over threads equals np.matmul."""

import threading

import numpy as np
import pytest
from helpers import import_optional

from convgrad import ops
from convgrad.engine.tuning import current as tuned_now
from convgrad.engine.tuning import tuned
from convgrad.ops import parallel


@pytest.fixture
def always_split(monkeypatch):
    """Split every stack, however small, over at least two threads."""
    with ops.settings(threads=max(2, parallel.threads())), tuned(min_work=0):
        yield


@pytest.mark.parametrize("a_shape, b_shape", [
    ((5, 3, 4), (5, 4, 2)),              # plain stacks, odd count
    ((3, 4), (7, 4, 6)),                 # one left matrix for the whole stack
    ((1, 2, 3, 4), (6, 2, 4, 5)),        # broadcast first batch axis, second axis kept
    ((6, 1, 3, 4), (1, 2, 4, 5)),        # both broadcast
    ((2, 3, 4), (2, 4, 3)),              # as many items as threads
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_split_stack_equals_numpy(a_shape, b_shape, dtype, always_split):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(dtype) for s in (a_shape, b_shape))
    want = np.matmul(a, b)
    got = parallel.matmul(a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-14)
    out = np.full(want.shape, np.nan, dtype=dtype)
    assert parallel.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-6 if dtype == "float32" else 1e-14)


def test_strided_views_and_an_out_slice(always_split):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 6, 5))[:, ::2]                   # (4, 3, 5), strided rows
    b = rng.standard_normal((4, 7, 5)).transpose(0, 2, 1)        # (4, 5, 7), transposed
    big = np.zeros((6, 3, 7))
    parallel.matmul(a, b, out=big[1:5])
    np.testing.assert_allclose(big[1:5], np.matmul(a, b), rtol=1e-14)
    assert not big[0].any() and not big[5].any()


def test_called_from_a_pool_thread_runs_in_that_thread(always_split):
    """A product submitted from inside the pool must not wait on the pool (no deadlock)."""
    a, b = np.ones((8, 2, 3)), np.ones((8, 3, 2))
    result = parallel._executor(1).submit(parallel.matmul, a, b).result(timeout=10)
    np.testing.assert_array_equal(result, np.full((8, 2, 2), 3.0))


def test_inside_map_parts_every_thread_knows_it_and_splits_nothing(always_split):
    """``in_part`` in every thread of a batch part — the main thread's too — and a stack is
    then not spread over the pool, whose threads are busy with the other parts."""
    import_optional("threadpoolctl")
    assert not parallel.in_part() and parallel.splits(2, 3, 4, (8,))
    seen = parallel.map_parts(lambda part: (threading.current_thread().name, parallel.in_part(),
                                            parallel.splits(2, 3, 4, (8,))), [0, 1, 2, 3])
    assert any(name == threading.main_thread().name for name, _, _ in seen)
    assert all(inside and not split for _, inside, split in seen)
    assert not parallel.in_part()


def test_large_products_are_left_to_blas(monkeypatch):
    """Above OpenBLAS's own threading threshold the stack is not split."""
    calls = []
    monkeypatch.setattr(parallel, "_executor", lambda workers: calls.append(1))
    a, b = np.ones((4, 64, 64)), np.ones((4, 64, 64))            # 64³ = 262 144 = threshold
    with ops.settings(threads=2):
        np.testing.assert_array_equal(parallel.matmul(a, b), np.full((4, 64, 64), 64.0))
    assert not calls


# ----------------------------------------------------------------------------- batch parts

def concurrent_case():
    """A layer big enough (19 M multiply-adds) to be split over the cores."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((8, 16, 32, 32)), rng.standard_normal((16, 16, 3, 3))
    return x, w, rng.standard_normal((8, 16, 32, 32))


@pytest.fixture
def two_threads():
    """Two threads (even on one core: the engine's thread count is a setting)."""
    with ops.settings(threads=2):
        yield


def test_map_parts_runs_parts_at_once_with_blas_on_one_core(two_threads):
    import_optional("threadpoolctl")
    seen = []

    def fn(part):
        blas = [lib["num_threads"] for lib in parallel.blas_controller().select(
            user_api="blas").info()]
        seen.append((threading.current_thread().name, blas))
        return part * 10

    assert parallel.map_parts(fn, [1, 2, 3, 4]) == [10, 20, 30, 40]      # in order
    assert any(name.startswith("convgrad") for name, _ in seen)          # a worker took one
    assert all(threads == [1] * len(threads) for _, threads in seen)     # BLAS on one core
    assert parallel.map_parts(fn, [5], concurrent=True) == [50]


@pytest.mark.parametrize("method", [None, "winograd"])
def test_a_split_batch_gives_the_numbers_of_one_thread(method, monkeypatch):
    """Forward and both gradients with the batch in one part per core equal the one-thread
    results (∂w sums the parts in another order: round-off only) — also where Winograd shares
    the batch among numba's threads in one compiled call instead."""
    import_optional("threadpoolctl")
    from convgrad.engine import execute

    x, w, dy = concurrent_case()
    geo = ops.conv_geometry("conv", x.shape, w.shape, 1, 1, 1, 1)

    def passes():
        with ops.forced_method(method):
            return (ops.conv(x, w, padding=1), ops.conv_grad_input(dy, w, x.shape, padding=1),
                    ops.conv_grad_weight(x, dy, w.shape, padding=1))

    with ops.settings(threads=2):
        assert execute.batch_parts(geo, x.dtype).concurrent
        split = passes()
    with ops.settings(threads=1):
        assert not execute.batch_parts(geo, x.dtype).concurrent
        serial = passes()
    for a, b in zip(split, serial):     # round-off of each array's scale (∂w: ~140, so a
        # value of -0.01 may differ by ~1e-12 in float64; a lost or doubled part by ~its size)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * np.abs(b).max())


def test_workers_keep_the_forced_method_and_a_share_of_the_cap(monkeypatch, two_threads):
    import_optional("threadpoolctl")
    from convgrad.engine import runtime
    from convgrad.engine.algorithms import im2col

    x, w, _ = concurrent_case()
    seen = []
    original = im2col.im2col

    def spy(*args):
        seen.append((threading.current_thread().name, runtime.workspace_share()))
        return original(*args)

    monkeypatch.setattr(im2col, "im2col", spy)
    with ops.forced_method("im2col"):
        ops.conv(x, w, padding=1)
    assert len(seen) == 2 and any(name.startswith("convgrad") for name, _ in seen)
    assert all(budget == ops.get_workspace_limit() // 2 for _, budget in seen)


def test_winograd_called_from_two_python_threads_at_once(monkeypatch):
    """Two callers at once: one runs its shares on numba's threads, the other — the threaded
    call is one at a time — its blocks one by one; both get the right numbers every time."""
    import_optional("numba")
    import_optional("threadpoolctl")
    x, w, dy = concurrent_case()
    with ops.forced_method("winograd"):
        want = ops.conv(x, w, padding=1), ops.conv_grad_weight(x, dy, w.shape, padding=1)
    barrier, failures = threading.Barrier(2), []

    def caller():
        barrier.wait()
        with ops.forced_method("winograd"):
            for _ in range(20):
                got = ops.conv(x, w, padding=1), ops.conv_grad_weight(x, dy, w.shape, padding=1)
                failures.extend(not np.allclose(g, e, rtol=1e-12, atol=1e-12)
                                for g, e in zip(got, want))

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(failures) == 80 and not any(failures)


def test_a_small_winograd_layer_stays_on_one_thread(monkeypatch, two_threads):
    """Below ``CONCURRENT_MACS`` a Winograd pass runs its one share on the calling thread, as
    the direct methods keep a small batch in one part (a thread costs ~0.1 ms to wake)."""
    import_optional("numba")
    import_optional("threadpoolctl")
    from convgrad.ops import winograd

    macs = tuned_now().concurrent_macs
    assert winograd.threads(8, "float32", macs) == 2
    assert winograd.threads(8, "float32", macs - 1) == 1
    assert winograd.threads(1, "float32", macs) == 1
    seen = []
    original = parallel.map_parts
    monkeypatch.setattr(parallel, "map_parts", lambda fn, parts, concurrent=True: seen.append(
        len(parts)) or original(fn, parts, concurrent))
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 8, 8, 8), dtype=np.float32), rng.standard_normal(
        (8, 8, 3, 3), dtype=np.float32)
    with ops.forced_method("winograd"):
        ops.conv(x, w, padding=1)
    assert seen == [1]
