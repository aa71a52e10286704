"""Products against torch: matmul's dimension rules, mm/bmm/mv/dot/outer/addmm/tensordot,
einsum (explicit, implicit, ellipsis, broadcasting, diagonals), values, dtypes, gradients and
gradients of gradients; torch's errors for mixed dtypes and mismatched shapes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, import_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg

torch = import_torch()


def both(fn, *inputs, **kw):
    check_op(lambda *x: fn(cg, *x), lambda *x: fn(torch, *x), *inputs, **kw)


MATMUL = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
          ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)),
          ((1, 2, 3), (5, 3, 4)), ((5, 2, 3), (3,)), ((3,), (5, 3, 2)), ((2, 5, 2, 3), (3, 1))]


@pytest.mark.parametrize("shapes", MATMUL)
def test_matmul(shapes):
    both(lambda L, a, b: L.matmul(a, b), *shapes)
    both(lambda L, a, b: a @ b, *shapes, dtypes=("float32",))


def test_rmatmul_with_an_ndarray():
    a = np.random.default_rng(0).standard_normal((2, 3))
    check_op(lambda b: a @ b, lambda b: torch.tensor(a) @ b, (3, 4), dtypes=("float64",))


def test_products():
    both(lambda L, a, b: L.mm(a, b), (2, 3), (3, 4))
    both(lambda L, a, b: a.mm(b.T), (2, 3), (4, 3))              # a transposed view
    both(lambda L, a, b: L.bmm(a, b), (5, 2, 3), (5, 3, 4))
    both(lambda L, a, b: a.mv(b), (2, 3), (3,))
    both(lambda L, a, b: L.dot(a, b), (3,), (3,))
    both(lambda L, a, b: a.outer(b), (3,), (4,))
    both(lambda L, a, b: L.ger(a, b), (3,), (4,))
    both(lambda L, c, a, b: L.addmm(c, a, b), (4,), (2, 3), (3, 4))
    both(lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=-2.0), (2, 4), (2, 3), (3, 4))
    both(lambda L, c, a, b: c.addmm(a, b, beta=0), (2, 4), (2, 3), (3, 4))
    both(lambda L, a, b: L.tensordot(a, b), (2, 3, 4), (3, 4, 5))
    both(lambda L, a, b: L.tensordot(a, b, dims=([1, 2], [1, 0])), (2, 3, 4), (4, 3, 5))
    both(lambda L, a, b: L.tensordot(a, b, dims=0), (2, 3), (4,))
    both(lambda L, a, b: L.tensordot(a, b, dims=[[1], [0]]), (2, 3), (3, 5))


def test_integer_products_are_exact_and_keep_their_dtype():
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    for fn in (lambda L, x, y: x @ y, lambda L, x, y: L.einsum("ij,jk->ik", x, y)):
        got, want = fn(cg, cg.tensor(a), cg.tensor(b)), fn(torch, torch.tensor(a),
                                                           torch.tensor(b))
        assert got.dtype == cg.int64 and got.tolist() == want.tolist()


def test_outer_promotes_as_torch():
    got = cg.outer(cg.tensor(np.ones(2, np.float32)), cg.tensor(np.ones(3)))
    want = torch.outer(torch.ones(2), torch.ones(3, dtype=torch.float64))
    assert got.dtype == cg.float64 and want.dtype == torch.float64


EINSUM = [("ij,jk->ik", (2, 3), (3, 4)), ("ij,jk", (2, 3), (3, 4)), ("bij,bjk->bik", (5, 2, 3),
          (5, 3, 4)), ("bhqd,bhkd->bhqk", (2, 3, 4, 5), (2, 3, 6, 5)), ("i,i", (3,), (3,)),
          ("i,j->ij", (3,), (4,)), ("ij->ji", (2, 3)), ("ij->", (2, 3)), ("ij->j", (2, 3)),
          ("ii->i", (3, 3)), ("ii", (3, 3)), ("iij->ij", (3, 3, 2)), ("i j -> j i", (2, 3)),
          ("...ij,...jk->...ik", (5, 2, 3), (3, 4)), ("...ij,...jk", (5, 1, 2, 3), (4, 3, 4)),
          ("b...,b...->b", (2, 3, 4), (2, 3, 4)), ("ij,jk->ik", (2, 1), (3, 4)),
          ("ij,ij->ij", (2, 1), (1, 4)), ("ij,j->i", (2, 3), (1,)), ("iJ,Jk->ik", (2, 3), (3, 4)),
          ("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)), ("bn,anm,bm->ba", (2, 3), (4, 3, 5), (2, 5)),
          ("ii,i->i", (3, 3), (3,))]


@pytest.mark.parametrize("case", EINSUM, ids=[c[0] for c in EINSUM])
def test_einsum(case):
    eq, *shapes = case
    both(lambda L, *xs: L.einsum(eq, *xs), *shapes)


def test_einsum_list_form():
    both(lambda L, a, b: L.einsum("ij,jk->ik", [a, b]), (2, 3), (3, 4))


# -- named regressions: NumPy would promote silently; torch refuses mixed dtypes

MIXED = [lambda L, a, b: L.matmul(a, b), lambda L, a, b: a @ b, lambda L, a, b: L.mm(a, b),
         lambda L, a, b: L.einsum("ij,jk->ik", a, b),
         lambda L, a, b: L.bmm(a.reshape(1, 2, 2), b.reshape(1, 2, 2)),
         lambda L, a, b: L.dot(a.reshape(-1), b.reshape(-1)),
         lambda L, a, b: L.mv(a, b[0])]


@pytest.mark.parametrize("case", range(len(MIXED)))
def test_mixed_float_dtypes_raise_as_torch(case):
    for L in (cg, torch):
        a, b = L.tensor(np.ones((2, 2), np.float32)), L.tensor(np.ones((2, 2)))
        with pytest.raises(RuntimeError):
            MIXED[case](L, a, b)
        with pytest.raises(RuntimeError):
            MIXED[case](L, L.tensor(np.ones((2, 2), np.int32)), L.tensor(np.ones((2, 2), int)))


ERRORS = [
    (lambda L, o: L.matmul(o(3), o(4)), RuntimeError),
    (lambda L, o: L.matmul(o(2, 3), o(4)), RuntimeError),
    (lambda L, o: L.matmul(o(4), o(3, 2)), RuntimeError),
    (lambda L, o: L.matmul(o(5, 2, 3), o(4, 2)), RuntimeError),
    (lambda L, o: L.matmul(o(5, 2, 3), o(4, 3, 2)), RuntimeError),
    (lambda L, o: L.matmul(L.tensor(1.0), o(3)), RuntimeError),
    (lambda L, o: L.matmul(o(3), 2.0), TypeError),
    (lambda L, o: L.matmul(o(2, 2).bool(), o(2, 2).bool()) if L is torch else L.matmul(
        L.tensor(np.ones((2, 2), bool)), L.tensor(np.ones((2, 2), bool))), RuntimeError),
    (lambda L, o: L.mm(o(3), o(3, 2)), RuntimeError),
    (lambda L, o: L.mm(o(2, 3), o(4, 2)), RuntimeError),
    (lambda L, o: L.bmm(o(2, 3), o(3, 2)), RuntimeError),
    (lambda L, o: L.bmm(o(2, 2, 3), o(3, 3, 2)), RuntimeError),
    (lambda L, o: L.mv(o(2, 3), o(4)), RuntimeError),
    (lambda L, o: L.dot(o(3), o(4)), RuntimeError),
    (lambda L, o: L.dot(o(3, 1), o(3, 1)), RuntimeError),
    (lambda L, o: L.outer(o(3, 1), o(4)), RuntimeError),
    (lambda L, o: L.einsum("ij,jk->ik", o(2, 3), o(4, 4)), RuntimeError),
    (lambda L, o: L.einsum("ij->ij", o(2, 3, 4)), RuntimeError),
    (lambda L, o: L.einsum("ij,jk->ik", o(2, 3)), RuntimeError),
    (lambda L, o: L.einsum("ij->ii", o(2, 3)), RuntimeError),
    (lambda L, o: L.einsum("ij->k", o(2, 3)), RuntimeError),
    (lambda L, o: L.einsum("ii->i", o(2, 3)), RuntimeError),
    (lambda L, o: L.tensordot(o(2, 3), o(4, 5), dims=1), RuntimeError),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_as_torch(case):
    fn, error = ERRORS[case]
    for L in (cg, torch):
        with pytest.raises(error):
            fn(L, lambda *s, L=L: L.tensor(np.ones(s, np.float32)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_matmul_hypothesis(data):
    """Random ranks 1–4 with broadcast batch dims (size-1 and missing dims)."""
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))

    def side(core):
        if data.draw(st.booleans()):
            return core[-1:] if core[-1] == k else core[:1]
        b = tuple(1 if data.draw(st.booleans()) else d for d in batch)
        return b[data.draw(st.integers(0, len(b))):] + core
    a, b = side((m, k)), side((k, n))
    if len(a) == 1 and a[0] != k:
        a = (k,)
    if len(b) == 1 and b[0] != k:
        b = (k,)
    both(lambda L, x, y: L.matmul(x, y), a, b, dtypes=("float64",))
