"""Counting, binning and statistics (``convgrad/methods/counting.py``, ``statistics.py``)
against torch: values and dtypes, gradients and gradients of gradients for the differentiable
ones, hypothesis over shapes/dims, and torch's error types."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, import_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg

torch = import_torch()
NAN = float("nan")


def both(fn, *inputs, **kw):
    check_op(lambda *x: fn(cg, *x), lambda *x: fn(torch, *x), *inputs, **kw)


def same(got, want):
    """Equal values (NaN where NaN), shapes and dtypes, through tuples and named tuples."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        if hasattr(want, "_fields") or hasattr(type(want), "n_fields"):
            assert type(got).__name__ == type(want).__name__.split(".")[-1]
        for g, w in zip(got, want):
            same(g, w)
        return
    g, w = np.asarray(got.numpy()), want.numpy()
    assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
    np.testing.assert_allclose(g, w, rtol=1e-6, equal_nan=True)


def parity(fn, *arrays):
    same(fn(cg, *(cg.tensor(a) for a in arrays)), fn(torch, *(torch.tensor(a) for a in arrays)))


def errors_alike(fn, *arrays):
    with pytest.raises(Exception) as want:
        fn(torch, *(torch.tensor(a) for a in arrays))
    with pytest.raises(want.type):
        fn(cg, *(cg.tensor(a) for a in arrays))


INTS = np.array([3, 1, 2, 3, 1, 5, 5, 5])
ROWS = np.array([[1, 2], [1, 2], [0, 5], [1, 2], [0, 5]])
X = np.array([[1.0, NAN, 3.0, 2.0], [NAN, NAN, NAN, NAN], [4.0, 1.0, NAN, 2.0]])
SEQ = np.array([1, 3, 5, 7, 9])


# ----------------------------------------------------------------------------- unique & co

@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True},
                                {"sorted": False}])
def test_unique(kw):
    parity(lambda L, x: L.unique(x, **kw), INTS)
    parity(lambda L, x: x.unique(**kw), INTS.reshape(2, 4))
    parity(lambda L, x: L.unique(x, dim=0, **kw), ROWS)
    parity(lambda L, x: L.unique(x, dim=1, **kw), ROWS.T)
    parity(lambda L, x: L.unique_consecutive(x, **kw), INTS) if "sorted" not in kw else None
    parity(lambda L, x: L.unique(x, **kw), np.array([NAN, 1.0, NAN]))


@pytest.mark.parametrize("kw", [{}, {"return_inverse": True, "return_counts": True}])
def test_unique_consecutive(kw):
    parity(lambda L, x: L.unique_consecutive(x, **kw), np.array([1, 1, 2, 2, 3, 1, 1]))
    parity(lambda L, x: x.unique_consecutive(dim=0, **kw), ROWS)
    parity(lambda L, x: L.unique_consecutive(x, **kw), np.array(3))
    parity(lambda L, x: L.unique_consecutive(x, dim=1, **kw), ROWS.T)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 99), st.data())
def test_unique_hypothesis(shape, seed, data):
    x = np.random.default_rng(seed).integers(0, 3, shape)
    dim = data.draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    for fn in ("unique", "unique_consecutive"):
        parity(lambda L, t, fn=fn: getattr(L, fn)(t, return_inverse=True, return_counts=True,
                                                  dim=dim), x)


def test_bincount():
    parity(lambda L, x: L.bincount(x), INTS)
    parity(lambda L, x: x.bincount(minlength=9), INTS)
    parity(lambda L, x, w: L.bincount(x, w, 7), INTS, np.arange(8, dtype=np.float32))
    parity(lambda L, x, w: L.bincount(x, weights=w), INTS, np.arange(8.0))
    parity(lambda L, x, w: L.bincount(x, weights=w), INTS, np.arange(8))
    parity(lambda L, x: L.bincount(x), np.zeros(0, np.int64))
    for bad in (np.array([-1, 1]), np.array([[1, 2]]), np.array([1.0, 2.0]),
                np.array([True, False])):
        errors_alike(lambda L, x: L.bincount(x), bad)
    errors_alike(lambda L, x: L.bincount(x, minlength=-1), INTS)
    errors_alike(lambda L, x, w: L.bincount(x, w), INTS, np.ones(3))


def test_histc_and_histogram():
    v = np.array([1.0, 2.0, 1.0, 7.0, 3.0, 0.2], np.float32)
    parity(lambda L, x: L.histc(x, bins=4, min=0, max=3), v)
    parity(lambda L, x: x.histc(4), v)
    parity(lambda L, x: L.histc(x, bins=4), np.array([2.0, 2.0]))
    parity(lambda L, x: L.histc(x, bins=3, min=0, max=3), np.array([1.0, NAN, 2.0]))
    parity(lambda L, x: L.histogram(x, bins=4), v)
    parity(lambda L, x: x.histogram(3, range=(0.0, 4.0)), v.astype(np.float64))
    parity(lambda L, x, e, w: L.histogram(x, bins=e, weight=w, density=True), v,
           np.array([0.0, 1.5, 2.5, 8.0], np.float32), np.arange(6, dtype=np.float32))
    parity(lambda L, x: L.histogram(x, bins=2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    errors_alike(lambda L, x: L.histc(x, bins=3), np.array([1, 2]))
    errors_alike(lambda L, x: L.histc(x, bins=0), v)
    errors_alike(lambda L, x: L.histc(x, bins=3, min=3, max=1), v)
    errors_alike(lambda L, x: L.histc(x, bins=3), np.array([1.0, NAN]))
    errors_alike(lambda L, x: L.histogram(x, bins=2, range=(2.0, 1.0)), v)
    errors_alike(lambda L, x, e: L.histogram(x, bins=e), v, np.array([1, 2]))


# ----------------------------------------------------------------------------- searching

@pytest.mark.parametrize("kw", [{}, {"right": True}, {"side": "right"}, {"side": "left"},
                                {"out_int32": True}])
def test_searchsorted(kw):
    v = np.array([[3, 6, 9], [0, 10, 5]])
    parity(lambda L, s, x: L.searchsorted(s, x, **kw), SEQ, v)
    parity(lambda L, s, x: L.searchsorted(s, x, **kw), SEQ.astype(float), v)
    parity(lambda L, s, x: L.searchsorted(s, x, **kw), np.array([[1, 3, 5], [2, 4, 6]]),
           np.array([[3, 0], [3, 7]]))
    parity(lambda L, s, x: L.searchsorted(s, x, **kw), SEQ, np.array(5))
    same(cg.searchsorted(cg.tensor(SEQ), 5, **kw), torch.searchsorted(torch.tensor(SEQ), 5, **kw))
    parity(lambda L, s, x, o: L.searchsorted(s, x, sorter=o, **kw), np.array([5, 1, 3]),
           np.array([2, 4]), np.array([1, 2, 0]))
    parity(lambda L, x, b: L.bucketize(x, b, **{k: w for k, w in kw.items() if k != "side"}),
           v, SEQ)


def test_searchsorted_errors():
    s2 = np.array([[1, 3, 5], [2, 4, 6]])
    errors_alike(lambda L, s, x: L.searchsorted(s, x), s2, np.array([3, 3]))
    errors_alike(lambda L, s, x: L.searchsorted(s, x), s2, np.array([[3], [3], [4]]))
    errors_alike(lambda L, s, x: L.searchsorted(s, x, right=True, side="left"), SEQ, SEQ)
    errors_alike(lambda L, s, x: L.searchsorted(s, x, side="up"), SEQ, SEQ)
    errors_alike(lambda L, s, x: L.searchsorted(s, x), np.array(1), SEQ)
    errors_alike(lambda L, s, x: L.searchsorted(s, x, sorter=L.tensor([0, 1])), SEQ, SEQ)
    errors_alike(lambda L, s, x: L.searchsorted(s, x, sorter=L.tensor([0, 1, 2, 3, 7])), SEQ, SEQ)
    errors_alike(lambda L, s: L.searchsorted(s, 3), s2)
    errors_alike(lambda L, x, b: L.bucketize(x, b), SEQ, s2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=2), st.integers(1, 6),
       st.integers(0, 99), st.booleans(), st.booleans())
def test_searchsorted_hypothesis(lead, n, seed, right, batched):
    rng = np.random.default_rng(seed)
    s = np.sort(rng.integers(0, 8, (*lead, n) if batched else (n,)), -1)
    v = rng.integers(-1, 9, (*lead, 3) if batched else (*lead, 3))
    parity(lambda L, a, b: L.searchsorted(a, b, right=right), s, v)


# ----------------------------------------------------------------------------- mode, medians

def test_mode_and_msort():
    parity(lambda L, x: L.mode(x, 1), np.array([[1, 2, 2, 1, 3], [5, 5, 4, 4, 4]]))
    parity(lambda L, x: x.mode(), np.array([3.0, 1.0, 3.0, 1.0, 2.0]))
    parity(lambda L, x: x.mode(0, keepdim=True), np.array([[1.0, 2.0], [1.0, 2.0]]))
    parity(lambda L, x: L.mode(x), np.array(3.0))
    parity(lambda L, x: L.msort(x), np.array([[3, 1], [1, 2], [0, 5]]))
    errors_alike(lambda L, x: L.mode(x), np.zeros(0))
    both(lambda L, x: L.mode(L.round(x * 2), 1).values, (3, 6))
    both(lambda L, x: L.msort(x), (4, 3))


def test_nanmedian():
    parity(lambda L, x: L.nanmedian(x), X)
    parity(lambda L, x: x.nanmedian(1).values, X)
    parity(lambda L, x: x.nanmedian(1), np.nan_to_num(X))
    parity(lambda L, x: L.nanmedian(x[[0, 2]], 1, keepdim=True), X)
    parity(lambda L, x: L.nanmedian(x), np.array([NAN, NAN]))
    both(lambda L, x: L.nanmedian(x), (3, 4))
    both(lambda L, x: L.nanmedian(x, 0).values, (3, 4))


QS = [0.0, 0.3, 0.5, 0.77, 1.0]


@pytest.mark.parametrize("mode", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile(mode):
    both(lambda L, x: L.quantile(x, 0.3, interpolation=mode), (3, 4))
    both(lambda L, x: x.quantile(0.6, dim=1, keepdim=True, interpolation=mode), (3, 5))
    both(lambda L, x: L.quantile(x, L.tensor(QS, dtype=x.dtype), dim=0, interpolation=mode),
         (4, 3))
    both(lambda L, x: L.quantile(x, L.tensor(QS, dtype=x.dtype), keepdim=True,
                                 interpolation=mode), (2, 3))
    both(lambda L, x: L.nanquantile(x, 0.4, dim=-1, interpolation=mode), (3, 4))
    parity(lambda L, x: L.quantile(x, L.tensor([0.1, 0.3, 0.5, 0.7], dtype=x.dtype),
                                   interpolation=mode), np.arange(1.0, 7.0))
    parity(lambda L, x: L.nanquantile(x, 0.5, dim=1, interpolation=mode), X)
    parity(lambda L, x: L.quantile(x, 0.5, dim=1, interpolation=mode), X)


def test_quantile_errors():
    v = np.ones((2, 3))
    errors_alike(lambda L, x: L.quantile(x, 1.5), v)
    errors_alike(lambda L, x: L.quantile(x, 0.5), np.ones(3, np.int64))
    errors_alike(lambda L, x: L.quantile(x, L.tensor([0.5], dtype=L.float32)), v)
    errors_alike(lambda L, x: L.quantile(x, L.tensor([[0.5]], dtype=L.float64)), v)
    errors_alike(lambda L, x: L.quantile(x, 0.5, interpolation="foo"), v)
    errors_alike(lambda L, x: L.quantile(x, 0.5), np.zeros(0))
    errors_alike(lambda L, x: L.quantile(x, 0.5, dim=2), v)


# ----------------------------------------------------------------------------- aminmax, scans

def test_aminmax():
    parity(lambda L, x: L.aminmax(x), np.nan_to_num(X))
    parity(lambda L, x: x.aminmax(dim=1, keepdim=True), np.nan_to_num(X))
    parity(lambda L, x: L.aminmax(x, keepdim=True), X)
    parity(lambda L, x: L.aminmax(x), np.array([1, 2]))
    parity(lambda L, x: L.aminmax(x, dim=0, keepdim=True), np.array(2.0))
    both(lambda L, x: L.aminmax(x).min * 2 + L.aminmax(x).max, (3, 4))
    both(lambda L, x: L.stack(L.aminmax(x, dim=0)), (3, 4))
    both(lambda L, x: L.stack(L.aminmax(L.round(x), dim=1, keepdim=True)), (3, 4))
    errors_alike(lambda L, x: L.aminmax(x, dim=(0, 1)), v := np.ones((2, 2)))
    errors_alike(lambda L, x: L.aminmax(x), np.zeros(0))
    errors_alike(lambda L, x: L.aminmax(x, dim=1), np.zeros((2, 0)))
    assert v.shape == (2, 2)


def test_logcumsumexp():
    both(lambda L, x: L.logcumsumexp(x, 1), (3, 4))
    both(lambda L, x: x.logcumsumexp(0), (5,))
    both(lambda L, x: x.logcumsumexp(-1), ())
    parity(lambda L, x: L.logcumsumexp(x, 0), np.array([1.0, -np.inf, 1000.0, -np.inf]))
    parity(lambda L, x: L.logcumsumexp(x, 0), np.array([-np.inf, -np.inf]))
    errors_alike(lambda L, x: L.logcumsumexp(x, 0), np.array([1, 2]))
    errors_alike(lambda L, x: L.logcumsumexp(x, 2), np.ones((2, 2)))


def test_diff():
    both(lambda L, x: L.diff(x), (3, 5))
    both(lambda L, x: x.diff(n=2, dim=0), (4, 3))
    both(lambda L, x, p, a: L.diff(x, 2, 1, prepend=p, append=a), (2, 4), (2, 1), (2, 3))
    both(lambda L, x: L.diff(x, 7), (2, 4))
    a = np.array([[1, 3, 6], [2, 2, 9]])
    parity(lambda L, x: L.diff(x), a)
    parity(lambda L, x: L.diff(x, 0), a)
    parity(lambda L, x: L.diff(x, 2, 1, prepend=L.tensor([[0], [0]]),
                               append=L.tensor([[1.0], [1.0]])), a)
    parity(lambda L, x: L.diff(x), np.array([True, False, False]))
    errors_alike(lambda L, x: L.diff(x), np.array(1.0))
    errors_alike(lambda L, x: L.diff(x, -1), a)
    errors_alike(lambda L, x: L.diff(x, prepend=L.tensor([1])), a)
    errors_alike(lambda L, x: L.diff(x, prepend=L.tensor([[1], [2], [3]])), a)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 3), st.data())
def test_diff_hypothesis(shape, n, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    both(lambda L, x: L.diff(x, n, dim), tuple(shape), order=1, dtypes=("float64",))


# ----------------------------------------------------------------------------- covariance

def test_cov_and_corrcoef():
    both(lambda L, x: L.cov(x), (3, 5))
    both(lambda L, x: x.cov(correction=0), (2, 4))
    both(lambda L, x: L.cov(x), (6,))
    both(lambda L, x: L.cov(x, fweights=L.tensor([1, 2, 1, 3])), (2, 4))
    both(lambda L, x, w: L.cov(x, aweights=w.abs() + 0.1), (2, 4), (4,))
    both(lambda L, x, w: L.cov(x, fweights=L.tensor([1, 2, 1, 3]), aweights=w.abs(),
                               correction=2), (3, 4), (4,))
    both(lambda L, x: L.corrcoef(x), (3, 6))
    parity(lambda L, x: x.corrcoef(), np.array([1.0, 2.0, 4.0]))
    parity(lambda L, x: L.cov(x), np.array([[0, 1, 2], [2, 1, 0]]))
    parity(lambda L, x: L.corrcoef(x), np.array([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]]))
    with pytest.warns(UserWarning, match="degrees of freedom"):
        parity(lambda L, x: L.cov(x), np.array([1.0]))
    x = np.array([[0, 1, 2], [2, 1, 0]])
    errors_alike(lambda L, t: L.cov(t), np.zeros((2, 2, 2)))
    errors_alike(lambda L, t: L.cov(t, fweights=L.tensor([1.0, 2.0, 1.0])), x)
    errors_alike(lambda L, t: L.cov(t, fweights=L.tensor([-1, 2, 1])), x)
    errors_alike(lambda L, t: L.cov(t, aweights=L.tensor([-1.0, 2.0, 1.0])), x)
    errors_alike(lambda L, t: L.cov(t, fweights=L.tensor([1, 2])), x)
    errors_alike(lambda L, t: L.cov(t, aweights=L.tensor([1, 2, 1])), x)
