"""convgrad.ops.parallel.matmul: a stack of small products split over threads equals np.matmul."""

import numpy as np
import pytest

from convgrad.ops import parallel


@pytest.fixture
def always_split(monkeypatch):
    """Split every stack, however small, over at least two threads."""
    monkeypatch.setattr(parallel, "_MIN_WORK", 0)
    monkeypatch.setattr(parallel, "THREADS", max(2, parallel.THREADS))


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
    result = parallel._executor().submit(parallel.matmul, a, b).result(timeout=10)
    np.testing.assert_array_equal(result, np.full((8, 2, 2), 3.0))


def test_large_products_are_left_to_blas(monkeypatch):
    """Above OpenBLAS's own threading threshold the stack is not split."""
    calls = []
    monkeypatch.setattr(parallel, "_executor", lambda: calls.append(1))
    monkeypatch.setattr(parallel, "THREADS", 2)
    a, b = np.ones((4, 64, 64)), np.ones((4, 64, 64))            # 64³ = 262 144 = threshold
    np.testing.assert_array_equal(parallel.matmul(a, b), np.full((4, 64, 64), 64.0))
    assert not calls
