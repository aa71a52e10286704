"""Indexing along a dim (gather/scatter and kin), masked_select, take, nonzero, tril/triu and
diagonal against torch: values, dtypes, gradients (and gradients of gradients), errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, import_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg

torch = import_torch()

I = np.array([[0, 1, 3], [2, 0, 0]])             # (2, 3) into a (3, 4) input along dim 1
ROWS = np.array([[0, 2, 1, 0], [1, 1, 0, 2]])    # (2, 4) along dim 0
MASK = np.random.default_rng(3).random((3, 4)) > 0.5


def both(fn, *inputs, **kw):
    check_op(lambda *x: fn(cg, *x), lambda *x: fn(torch, *x), *inputs, **kw)


def test_gather():
    both(lambda L, x: x.gather(1, L.tensor(I)), (3, 4))
    both(lambda L, x: x.gather(0, L.tensor(ROWS)), (3, 4))
    both(lambda L, x: L.gather(x, -1, L.tensor(I[:1, :2])), (3, 4))
    both(lambda L, x: x.gather(0, L.tensor(0)), (1,))
    both(lambda L, x: x.gather(0, L.tensor([2, 2, 0])), (3,))


def test_scatter():
    both(lambda L, x, s: x.scatter(1, L.tensor(I[:, :2]), s), (3, 4), (2, 2))
    both(lambda L, x: x.scatter(1, L.tensor(I), 2.0) * x, (3, 4))
    both(lambda L, x, s: L.scatter(x, 0, L.tensor(ROWS[:, :2]), s), (3, 4), (2, 2))


def test_scatter_add():
    both(lambda L, x, s: x.scatter_add(1, L.tensor(I), s), (3, 4), (2, 3))
    both(lambda L, x, s: L.scatter_add(x, 0, L.tensor(ROWS), s), (3, 4), (2, 4))
    both(lambda L, x, s: x.scatter(1, L.tensor(I), s, reduce="add") if L is cg
         else x.scatter_add(1, L.tensor(I), s), (3, 4), (2, 3))     # torch: no gradient here


def test_scatter_reads_the_corner_of_a_larger_src():
    """torch reads src[:2, :2] but refuses the backward (its gradient has index's shape);
    here the gradient is zero outside that corner (a deliberate deviation)."""
    check_op(lambda x, s: x.scatter(1, cg.tensor(I[:, :2]), s),
             lambda x, s: x.scatter(1, torch.tensor(I[:, :2]), s[:2, :2]), (3, 4), (3, 3))


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    both(lambda L, x, s: x.scatter_reduce(0, L.tensor(ROWS), s, reduce,
                                          include_self=include_self), (3, 4), (2, 4))


def test_scatter_reduce_prod_forward():
    x, s = np.random.default_rng(0).random((2, 3, 4))
    got = cg.tensor(x).scatter_reduce(0, cg.tensor(ROWS[:, :4] % 2), cg.tensor(s[:2]), "prod")
    want = torch.tensor(x).scatter_reduce(0, torch.tensor(ROWS % 2), torch.tensor(s[:2]), "prod")
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_in_place_scatters():
    def fn(L, x, s):
        y = x * 1
        y.scatter_(1, L.tensor(I[:, :2]), s)
        y.scatter_add_(0, L.tensor(ROWS), x[:2] * s.sum())
        return y * y
    both(fn, (3, 4), (2, 2))
    for L in (cg, torch):                         # the one-hot idiom
        y = L.tensor(np.zeros((3, 4), np.float32)).scatter_(1, L.tensor([[1], [3], [0]]), 1.0)
        assert y.argmax(1).tolist() == [1, 3, 0] if hasattr(y, "argmax") else y.sum() == 3


def test_index_select_add_fill():
    both(lambda L, x: x.index_select(1, L.tensor([3, 0, 0])), (3, 4))
    both(lambda L, x: L.index_select(x, 0, L.tensor(2)), (3, 4))
    both(lambda L, x, s: x.index_add(1, L.tensor([0, 2, 0]), s, alpha=2.0), (3, 4), (3, 3))
    both(lambda L, x: x.index_fill(1, L.tensor([1, 3]), -1.0) * x, (3, 4))
    both(lambda L, x, v: x.index_fill(0, L.tensor([1]), v), (3, 4), ())


def test_take_and_take_along_dim():
    both(lambda L, x: x.take(L.tensor([[0, 11], [-1, 5]])), (3, 4))
    both(lambda L, x: L.take_along_dim(x, L.tensor(I.T.copy()), 1), (3, 4))
    both(lambda L, x: x.take_along_dim(L.tensor([[0], [1], [-1]]), dim=1), (3, 4))
    both(lambda L, x: x.take_along_dim(L.tensor([[0, 3]]), dim=1), (3, 4))       # broadcast
    both(lambda L, x: x.take_along_dim(L.tensor([7, 0, 7])), (3, 4))             # flattened


def test_masked_select():
    both(lambda L, x: x.masked_select(L.tensor(MASK)), (3, 4))
    both(lambda L, x: L.masked_select(x, L.tensor(MASK[0])), (3, 4))              # broadcast


def test_nonzero_and_argwhere():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    for arr in (x, x[0], np.array(3.0), np.array(0.0), np.zeros((2, 0))):
        got, want = cg.tensor(arr).nonzero(), torch.tensor(arr).nonzero()
        assert got.dtype == cg.int64 and got.shape == want.shape
        assert got.tolist() == want.tolist()
        assert cg.argwhere(cg.tensor(arr)).tolist() == torch.argwhere(torch.tensor(arr)).tolist()
        tup, ttup = cg.tensor(arr).nonzero(as_tuple=True), torch.tensor(arr).nonzero(as_tuple=True)
        assert [t.tolist() for t in tup] == [t.tolist() for t in ttup]


@pytest.mark.parametrize("k", [-2, 0, 1, 5])
def test_tril_triu(k):
    both(lambda L, x: x.tril(k), (3, 4))
    both(lambda L, x: L.triu(x, k), (2, 3, 4))

    def fn(L, x):
        y = x * 2
        y.tril_(k)
        y.triu_(k - 1)
        return y * x
    both(fn, (4, 4))


@pytest.mark.parametrize("args", [(0, 0, 1), (1, 0, 1), (-1, 1, 0), (0, -1, 0)])
def test_diagonal(args):
    both(lambda L, x: x.diagonal(*args), (3, 4, 2))
    both(lambda L, x: L.diagonal(x * x, *args) * 2, (3, 4, 2))


def test_diagonal_is_a_writable_view():
    x = cg.tensor(np.zeros((3, 3)))
    d = x.diagonal()
    d[1] = 5.0
    assert x[1, 1].item() == 5.0


# -- named regressions: NumPy's take_along_axis would wrap these silently

def test_gather_refuses_negative_and_out_of_range_indices():
    for L in (cg, torch):
        x = L.tensor(np.zeros((3, 4)))
        for bad in ([[-1]], [[4]]):
            with pytest.raises(RuntimeError, match="out of bounds"):
                x.gather(1, L.tensor(bad))
            with pytest.raises(RuntimeError):
                x.scatter(1, L.tensor(bad), 1.0)


def test_take_along_dim_refuses_out_of_range():
    with pytest.raises(IndexError, match="out of bounds"):
        cg.tensor(np.zeros((3, 4))).take_along_dim(cg.tensor([[4]]), 1)


ERRORS = [
    (lambda L, x: x.gather(1, L.tensor([0])), RuntimeError),               # ndim
    (lambda L, x: x.gather(0, L.tensor([[0] * 5])), RuntimeError),         # too large
    (lambda L, x: x.gather(2, L.tensor([[0]])), IndexError),               # dim
    (lambda L, x: x.scatter(1, L.tensor(I), L.tensor(np.ones((1, 1)))), RuntimeError),
    (lambda L, x: x.scatter(1, L.tensor(I), L.tensor(np.ones((2, 3), np.float32))),
     RuntimeError),                                                        # dtype
    (lambda L, x: x.scatter(1, L.tensor(I), 1.0, reduce="sum"), RuntimeError),
    (lambda L, x: x.scatter_reduce(1, L.tensor(I), x, "bad"), RuntimeError),
    (lambda L, x: x.index_select(1, L.tensor([0, 5])), RuntimeError),
    (lambda L, x: x.index_select(1, L.tensor([[0]])), IndexError),
    (lambda L, x: x.index_select(1, L.tensor([1.0])), RuntimeError),
    (lambda L, x: x.index_add(1, L.tensor([0, 0]), L.tensor(np.ones((3, 3)))), RuntimeError),
    (lambda L, x: x.index_fill(1, L.tensor([0]), L.tensor([2.0])), RuntimeError),
    (lambda L, x: x.take(L.tensor([12])), IndexError),
    (lambda L, x: x.take_along_dim(L.tensor([0]), 1), RuntimeError),
    (lambda L, x: x.masked_select(L.tensor([1, 0, 1, 1])), RuntimeError),
    (lambda L, x: x.masked_select(L.tensor([True, False])), RuntimeError),
    (lambda L, x: x[0].tril(), RuntimeError),
    (lambda L, x: x.diagonal(0, 0, 0), RuntimeError),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_as_torch(case):
    fn, error = ERRORS[case]
    for L in (cg, torch):
        with pytest.raises(error):
            fn(L, L.tensor(np.zeros((3, 4))))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_gather_scatter_add_hypothesis(data):
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    dim = data.draw(st.integers(-ndim, ndim - 1))
    ishape = tuple(data.draw(st.integers(1, n)) if k != dim % ndim else data.draw(
        st.integers(0, 5)) for k, n in enumerate(shape))
    idx = np.random.default_rng(data.draw(st.integers(0, 99))).integers(
        0, shape[dim], ishape)
    both(lambda L, x: x.gather(dim, L.tensor(idx)), shape, dtypes=("float64",))
    both(lambda L, x, s: x.scatter_add(dim, L.tensor(idx), s), shape, ishape,
         dtypes=("float64",))
