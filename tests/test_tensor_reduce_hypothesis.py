"""Reductions and ordering over random shapes, dims (negative, tuples), keepdim and dtypes
(hypothesis), each against torch with ``check_op`` (values, gradients, gradients of
gradients) and, for the named tuples, the indices too."""

from __future__ import annotations

import numpy as np
from helpers import check_op, import_torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convgrad as cg

torch = import_torch()


def same(got, want):
    """Equal values (NaN in the same places), shapes and dtypes; named tuples field by field."""
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            same(g, w)
        return
    got, want = got.detach().numpy(), want.detach().numpy()
    assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)


@st.composite
def shape_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    n = len(shape)
    dims = draw(st.one_of(
        st.none(), st.integers(-n, n - 1),
        st.lists(st.integers(0, n - 1), unique=True, min_size=1, max_size=n).map(
            lambda ds: tuple(d - n if i % 2 else d for i, d in enumerate(ds)))))
    return shape, dims, draw(st.booleans()), draw(st.sampled_from(["float64", "float32"]))


REDUCTIONS = {
    "sum": lambda t, d, k: t.sum(d, k) if d is not None else t.sum(),
    "mean": lambda t, d, k: t.mean(d, k) if d is not None else t.mean(),
    "amax": lambda t, d, k: t.amax(() if d is None else d, k),
    "var": lambda t, d, k: t.var(d, keepdim=k, correction=0),
    "std": lambda t, d, k: t.std(d, keepdim=k),
    "logsumexp": lambda t, d, k: t.logsumexp(tuple(range(t.ndim)) if d is None else d, k),
    "norm": lambda t, d, k: t.norm(2, d, k),
}


@settings(deadline=None)
@given(case=shape_and_dims(), op=st.sampled_from(list(REDUCTIONS)))
def test_hypothesis_reductions(case, op):
    shape, dims, keepdim, dtype = case
    fn = REDUCTIONS[op]
    count = np.prod([shape[d] for d in np.atleast_1d(range(len(shape)) if dims is None
                                                      else dims)])
    assume(op not in ("std", "norm") or count > 2)    # NaN, or 2nd derivative 0 ± round-off
    check_op(lambda t: fn(t, dims, keepdim), lambda t: fn(t, dims, keepdim), shape,
             dtypes=(dtype,))


@settings(deadline=None)
@given(case=shape_and_dims(), data=st.data())
def test_hypothesis_indexed(case, data):
    shape, _, keepdim, dtype = case
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    op = data.draw(st.sampled_from(["max", "min", "median", "sort", "topk", "cumsum",
                                    "cumprod", "cummax"]))
    call = {"max": lambda t: t.max(d, keepdim), "min": lambda t: t.min(d, keepdim),
            "median": lambda t: t.median(d, keepdim), "sort": lambda t: t.sort(d, True),
            "topk": lambda t: t.topk(1, d), "cumsum": lambda t: t.cumsum(d),
            "cumprod": lambda t: t.cumprod(d), "cummax": lambda t: t.cummax(d)}[op]
    pick = (lambda r: r) if op in ("cumsum", "cumprod") else (lambda r: r.values)
    check_op(lambda t: pick(call(t)), lambda t: pick(call(t)), shape, dtypes=(dtype,))
    x = np.random.default_rng(0).standard_normal(shape)
    same(call(cg.tensor(x)), call(torch.tensor(x)))
