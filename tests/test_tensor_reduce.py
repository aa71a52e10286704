"""Reductions and ordering (``convgrad/methods/reduction.py``, ``ordering.py``) against torch:
one ``check_op`` line per op and variant (value, dtype, every gradient, gradient of gradient),
result dtypes for integer/bool input, ties, NaN, empty inputs, torch's error types, and the
silent divergences of the old Tensor as named regression tests. (Random shapes and dims:
``test_tensor_reduce_hypothesis.py``.)"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, import_torch

import convgrad as cg

torch = import_torch()

INF, NAN = float("inf"), float("nan")
NEAR_ZEROS = np.array([[1.5, 0.0, -2.0, 0.5], [0.0, 0.0, 3.0, 1.0], [2.0, -1.0, 0.5, 1.25]])

# (cg, torch, inputs): the same lambda text for both wherever torch's spelling is ours
CASES = {
    "sum": (lambda x: x.sum(), lambda x: x.sum(), [(3, 4)]),
    "sum dim": (lambda x: x.sum(1), lambda x: x.sum(1), [(3, 4)]),
    "sum dim=": (lambda x: x.sum(dim=1), lambda x: x.sum(dim=1), [(3, 4)]),
    "sum neg keepdim": (lambda x: x.sum(-1, True), lambda x: x.sum(-1, True), [(2, 3, 4)]),
    "sum tuple": (lambda x: x.sum((0, 2)), lambda x: x.sum((0, 2)), [(2, 3, 4)]),
    "sum list keepdim": (lambda x: x.sum([0, -1], keepdim=True),
                         lambda x: x.sum([0, -1], keepdim=True), [(2, 3, 4)]),
    "sum empty tuple": (lambda x: x.sum(()), lambda x: x.sum(()), [(2, 3)]),
    "sum 0-d": (lambda x: x.sum(0), lambda x: x.sum(0), [()]),
    "sum axis alias": (lambda x: x.sum(axis=1, keepdims=True),
                       lambda x: x.sum(dim=1, keepdim=True), [(3, 4)]),
    "cg.sum": (lambda x: cg.sum(x, 0), lambda x: torch.sum(x, 0), [(3, 4)]),
    "mean": (lambda x: x.mean(), lambda x: x.mean(), [(3, 4)]),
    "mean batch": (lambda x: x.mean(0), lambda x: x.mean(0), [(5, 3)]),
    "mean tuple keepdim": (lambda x: x.mean((0, 2), True), lambda x: x.mean((0, 2), True),
                           [(2, 3, 4)]),
    "cg.mean": (lambda x: cg.mean(x, -1), lambda x: torch.mean(x, -1), [(3, 4)]),
    "nansum": (lambda x: x.nansum(1), lambda x: x.nansum(1),
               [np.array([[1.0, NAN, 2.0], [NAN, NAN, 3.0]])]),
    "nanmean": (lambda x: x.nanmean(1), lambda x: x.nanmean(1),
                [np.array([[1.0, NAN, 2.0], [NAN, 4.0, 3.0]])]),
    "prod": (lambda x: x.prod(), lambda x: x.prod(), [(3, 4)]),
    "prod dim": (lambda x: x.prod(1), lambda x: x.prod(1), [(3, 4)]),
    "prod keepdim": (lambda x: x.prod(-2, True), lambda x: x.prod(-2, True), [(3, 4)]),
    "prod zeros": (lambda x: x.prod(1), lambda x: x.prod(1), [NEAR_ZEROS]),
    "prod zeros all": (lambda x: x.prod(), lambda x: x.prod(), [NEAR_ZEROS[2:] * [1, 0, 1, 1]]),
    "prod zeros dim0": (lambda x: x.prod(0), lambda x: x.prod(0), [NEAR_ZEROS]),
    "var": (lambda x: x.var(), lambda x: x.var(), [(3, 4)]),
    "var dim": (lambda x: x.var(1), lambda x: x.var(1), [(3, 4)]),
    "var legacy unbiased": (lambda x: x.var(1, True), lambda x: x.var(1, True), [(3, 4)]),
    "var legacy keepdim": (lambda x: x.var(0, False, True), lambda x: x.var(0, False, True),
                           [(3, 4)]),
    "var correction": (lambda x: x.var((0, 1), correction=0, keepdim=True),
                       lambda x: x.var((0, 1), correction=0, keepdim=True), [(2, 3, 4)]),
    "std": (lambda x: x.std(), lambda x: x.std(), [(3, 4)]),
    "std dim": (lambda x: x.std(0), lambda x: x.std(0), [(3, 4)]),
    "std population": (lambda x: x.std(unbiased=False), lambda x: x.std(unbiased=False),
                       [(3, 4)]),
    "std bool overload": (lambda x: x.std(False), lambda x: x.std(False), [(3, 4)]),
    "std correction 2": (lambda x: x.std(-1, correction=2), lambda x: x.std(-1, correction=2),
                         [(3, 5)]),
    "std_mean": (lambda x: cg.std_mean(x, 1)[0] + cg.std_mean(x, 1)[1],
                 lambda x: torch.std_mean(x, 1)[0] + torch.std_mean(x, 1)[1], [(3, 4)]),
    "var_mean": (lambda x: cg.var_mean(x, (0, 1), keepdim=True)[0] * 2
                 + cg.var_mean(x, (0, 1), keepdim=True)[1],
                 lambda x: torch.var_mean(x, (0, 1), keepdim=True)[0] * 2
                 + torch.var_mean(x, (0, 1), keepdim=True)[1], [(3, 4)]),
    "amax": (lambda x: x.amax(), lambda x: x.amax(), [(3, 4)]),
    "amax dims": (lambda x: x.amax((0, 2), True), lambda x: x.amax((0, 2), True), [(2, 3, 4)]),
    "amin dim": (lambda x: x.amin(-1), lambda x: x.amin(-1), [(3, 4)]),
    "amax ties": (lambda x: x.amax(1), lambda x: x.amax(1),
                  [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    "max": (lambda x: x.max(), lambda x: x.max(), [(3, 4)]),
    "max ties": (lambda x: x.max(), lambda x: x.max(), [np.array([[1.0, 3.0], [3.0, 0.0]])]),
    "min ties": (lambda x: x.min(), lambda x: x.min(), [np.array([[1.0, 3.0], [1.0, 1.0]])]),
    "max dim": (lambda x: x.max(1).values, lambda x: x.max(1).values, [(3, 4)]),
    "max dim ties": (lambda x: x.max(1)[0], lambda x: x.max(1)[0],
                     [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    "max dim= keepdim": (lambda x: x.max(dim=-1, keepdim=True).values,
                         lambda x: x.max(dim=-1, keepdim=True).values, [(2, 3, 4)]),
    "min dim": (lambda x: x.min(0).values, lambda x: x.min(0).values, [(3, 4)]),
    "max other": (lambda x, y: x.max(y), lambda x, y: x.max(y), [(3, 4), (3, 4)]),
    "min other broadcast": (lambda x, y: cg.min(x, y), lambda x, y: torch.min(x, y),
                            [(3, 4), (4,)]),
    "cg.max dim": (lambda x: cg.max(x, 0).values, lambda x: torch.max(x, 0).values, [(3, 4)]),
    "logsumexp": (lambda x: x.logsumexp(1), lambda x: x.logsumexp(1), [(3, 4)]),
    "logsumexp tuple": (lambda x: x.logsumexp((0, 1), True),
                        lambda x: x.logsumexp((0, 1), True), [(3, 4)]),
    "logsumexp large": (lambda x: x.logsumexp(0), lambda x: x.logsumexp(0),
                        [np.array([1000.0, 1001.0, 999.0])]),
    "logsumexp -inf": (lambda x: x.logsumexp(1), lambda x: x.logsumexp(1),
                       [np.array([[-INF, 1.0], [2.0, -INF]])]),
    "norm": (lambda x: x.norm(), lambda x: x.norm(), [(3, 4)]),
    "norm dim": (lambda x: x.norm(dim=1), lambda x: x.norm(dim=1), [(3, 4)]),
    "norm 1": (lambda x: x.norm(1, 0, True), lambda x: x.norm(1, 0, True), [(3, 4)], 1),
    "norm 3": (lambda x: x.norm(3, -1), lambda x: x.norm(3, -1), [(3, 4)]),
    "norm inf": (lambda x: x.norm(INF, 1), lambda x: x.norm(INF, 1), [(3, 4)], 1),
    "norm -inf": (lambda x: x.norm(-INF), lambda x: x.norm(-INF), [(3, 4)], 1),
    "norm 0": (lambda x: x.norm(0, 1), lambda x: x.norm(0, 1), [NEAR_ZEROS]),
    "norm fro dims": (lambda x: x.norm("fro", (0, 1)), lambda x: x.norm("fro", (0, 1)),
                      [(2, 3, 4)]),
    "norm at 0": (lambda x: x.norm(dim=1), lambda x: x.norm(dim=1),
                  [np.array([[0.0, 0.0], [3.0, 4.0]])], 1),   # torch's 2nd order: NaN at 0
    "median": (lambda x: x.median(), lambda x: x.median(), [(3, 4)]),
    "median ties": (lambda x: x.median(), lambda x: x.median(),
                    [np.array([2.0, 1.0, 2.0, 3.0])]),
    "median dim": (lambda x: x.median(1).values, lambda x: x.median(1).values, [(3, 5)]),
    "median dim even": (lambda x: x.median(0, True)[0], lambda x: x.median(0, True)[0],
                        [(4, 3)]),
    "kthvalue": (lambda x: x.kthvalue(2, 1).values, lambda x: x.kthvalue(2, 1).values,
                 [(3, 4)]),
    "topk": (lambda x: x.topk(2).values, lambda x: x.topk(2).values, [(3, 5)]),
    "topk smallest dim0": (lambda x: x.topk(2, 0, largest=False)[0],
                           lambda x: x.topk(2, 0, largest=False)[0], [(3, 5)]),
    "sort": (lambda x: x.sort().values, lambda x: x.sort().values, [(3, 5)]),
    "sort desc dim0": (lambda x: x.sort(0, True)[0], lambda x: x.sort(0, True)[0], [(3, 5)]),
    "cumsum": (lambda x: x.cumsum(1), lambda x: x.cumsum(1), [(3, 4)]),
    "cumsum neg": (lambda x: cg.cumsum(x, -3), lambda x: torch.cumsum(x, -3), [(2, 3, 4)]),
    "cumprod": (lambda x: x.cumprod(1), lambda x: x.cumprod(1), [(3, 4)]),
    "cumprod zeros": (lambda x: x.cumprod(1), lambda x: x.cumprod(1), [NEAR_ZEROS]),
    "cumprod zeros dim0": (lambda x: x.cumprod(0), lambda x: x.cumprod(0), [NEAR_ZEROS]),
    "cummax": (lambda x: x.cummax(1).values, lambda x: x.cummax(1).values, [(3, 6)]),
    "cummin": (lambda x: x.cummin(0)[0], lambda x: x.cummin(0)[0], [(4, 3)]),
    "cummax ties": (lambda x: x.cummax(0)[0], lambda x: x.cummax(0)[0],
                    [np.array([1.0, 3.0, 1.0, 3.0, 2.0])]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_parity(name):
    cg_fn, torch_fn, inputs, *order = CASES[name]
    # order 1 where torch's second derivative is a ZeroTensor (helpers cannot read it)
    check_op(cg_fn, torch_fn, *inputs, order=order[0] if order else 2)


# ----------------------------------------------------------------------------- helpers

def both(fn, array):
    """fn on a convgrad tensor and on a torch tensor of the same array."""
    return fn(cg.tensor(array)), fn(torch.tensor(array))


def same(got, want):
    """Equal values (NaN in the same places), shape and dtype; named tuples field by field."""
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__.split(".")[-1]
        for g, w in zip(got, want):
            same(g, w)
        return
    got, want = got.numpy(), want.numpy()
    assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)


# ----------------------------------------------------------------------------- dtypes

INTS = np.array([[3, -1, 2], [0, 5, 5]])
DTYPE_CASES = {
    "sum int32": (lambda x: x.sum(), INTS.astype(np.int32)),
    "sum bool": (lambda x: x.sum(1), INTS > 1),
    "sum uint8": (lambda x: x.sum(0), INTS.astype(np.uint8)),
    "sum dtype=": (lambda x: x.sum(dtype=cg.float64 if isinstance(x, cg.Tensor)
                                   else torch.float64), INTS),
    "nansum int": (lambda x: x.nansum(1), INTS.astype(np.int32)),
    "prod int32": (lambda x: x.prod(1), INTS.astype(np.int32)),
    "prod bool": (lambda x: x.prod(), INTS > -5),
    "cumsum int32": (lambda x: x.cumsum(1), INTS.astype(np.int32)),
    "cumsum bool": (lambda x: x.cumsum(0), INTS > 1),
    "cumprod int": (lambda x: x.cumprod(1), INTS),
    "amax int": (lambda x: x.amax(1), INTS),
    "amin bool": (lambda x: x.amin(), INTS > 1),
    "max int": (lambda x: x.max(), INTS),
    "max dim int": (lambda x: x.max(1), INTS),
    "max dim bool": (lambda x: x.max(0), INTS > 1),
    "argmax int": (lambda x: x.argmax(), INTS),
    "argmin dim keepdim": (lambda x: x.argmin(1, True), INTS),
    "argmax keepdim no dim": (lambda x: x.argmax(keepdim=True), INTS),
    "all": (lambda x: x.all(), INTS),
    "any dim": (lambda x: x.any(1), INTS),
    "all tuple keepdim": (lambda x: x.all((0, 1), True), INTS > -3),
    "all uint8": (lambda x: x.all(), INTS.astype(np.uint8)),
    "any bool": (lambda x: x.any(0, keepdim=True), INTS > 3),
    "count_nonzero": (lambda x: x.count_nonzero(), INTS),
    "count_nonzero dims": (lambda x: x.count_nonzero((0, 1)), INTS.astype(np.float32)),
    "count_nonzero dim": (lambda x: x.count_nonzero(1), INTS),
    "logsumexp int": (lambda x: x.logsumexp(1), INTS),
    "median int": (lambda x: x.median(), INTS),
    "median dim int": (lambda x: x.median(1).values, INTS),
    "sort int": (lambda x: x.sort(1), INTS),
    "sort bool desc": (lambda x: x.sort(0, descending=True).values, INTS > 1),
    "argsort int": (lambda x: x.argsort(1, True), np.array([[3, 1, 2], [0, 5, 4]])),
    "topk int": (lambda x: x.topk(2).values, INTS),
    "cummax int": (lambda x: x.cummax(1), INTS),
    "cummin int": (lambda x: x.cummin(1), INTS),
    "mean dtype=": (lambda x: x.mean(dtype=cg.float64 if isinstance(x, cg.Tensor)
                                     else torch.float64), INTS),
}


@pytest.mark.parametrize("name", list(DTYPE_CASES))
def test_dtype_and_value(name):
    fn, array = DTYPE_CASES[name]
    same(*both(fn, array))


# ----------------------------------------------------------------------------- NaN, ties, empty

NANS = np.array([[1.0, NAN, 3.0, NAN], [2.0, 1.0, 2.0, 5.0]])
EMPTY = np.zeros((3, 0))
SPECIAL = {
    "max nan": (lambda x: x.max(), NANS),
    "max dim nan": (lambda x: x.max(1), NANS),
    "min dim nan": (lambda x: x.min(1), NANS),
    "argmax nan": (lambda x: x.argmax(1), NANS),
    "argmin nan": (lambda x: x.argmin(), NANS),
    "amax nan": (lambda x: x.amax(0), NANS),
    "median nan": (lambda x: x.median(), NANS),
    "median dim nan": (lambda x: x.median(1), NANS),
    "sort nan": (lambda x: x.sort(1), NANS),
    "sort nan desc": (lambda x: x.sort(1, descending=True), NANS),
    "topk nan": (lambda x: x.topk(2, 1), NANS[1:] * [1, NAN, 1, 1]),
    "kthvalue nan": (lambda x: x.kthvalue(3), np.array([1.0, NAN, 3.0])),
    "cumsum nan": (lambda x: x.cumsum(1), NANS),
    "cummax nan": (lambda x: x.cummax(0), np.array([1.0, 3, 1, 3, 2, NAN, 4, NAN])),
    "logsumexp inf": (lambda x: x.logsumexp(0), np.array([INF, 1.0])),
    "logsumexp all -inf": (lambda x: x.logsumexp(0), np.array([-INF, -INF])),
    "max ties first index": (lambda x: x.max(0), np.array([3.0, 1, 3, 2, 3])),
    "min ties first index": (lambda x: x.min(0), np.array([1.0, 3, 1, 2, 1])),
    "argmax ties": (lambda x: x.argmax(), np.array([3.0, 1, 3, 2, 3])),
    "sort stable ties": (lambda x: x.sort(descending=True, stable=True),
                         np.array([2.0, 1, 2, 2, 1, 1])),
    "median ties index": (lambda x: x.median(0), np.array([2.0, 1, 2, 2, 1, 1])),
    "cummin ties": (lambda x: x.cummin(0), np.array([3.0, 1, 3, 1, 2])),
    "sum empty": (lambda x: x.sum(1), EMPTY),
    "prod empty": (lambda x: x.prod(1), EMPTY),
    "mean empty": (lambda x: x.mean(1), EMPTY),
    "std empty": (lambda x: x.std(1), EMPTY),
    "logsumexp empty": (lambda x: x.logsumexp(1), EMPTY),
    "norm empty": (lambda x: x.norm(dim=1), EMPTY),
    "all empty": (lambda x: x.all(1), EMPTY),
    "any empty": (lambda x: x.any(1), EMPTY),
    "max over the other dim of empty": (lambda x: x.max(0), EMPTY),
    "median empty": (lambda x: x.median(), EMPTY),
    "0-d max": (lambda x: x.max(0), np.array(3.0)),
    "0-d sort": (lambda x: x.sort(), np.array(3.0)),
    "0-d cumsum": (lambda x: x.cumsum(0), np.array(3.0)),
    "0-d argmax": (lambda x: x.argmax(0), np.array(3.0)),
    "0-d topk": (lambda x: x.topk(1), np.array(3.0)),
    "std of one element": (lambda x: x.std(), np.array([1.0])),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(SPECIAL))
def test_nan_ties_empty(name):
    fn, array = SPECIAL[name]
    same(*both(fn, array))


ERRORS = {
    "sum dim out of range": (lambda x: x.sum(5), IndexError),
    "sum repeated dim": (lambda x: x.sum((0, 0)), RuntimeError),
    "sum float dim": (lambda x: x.sum(1.0), TypeError),
    "mean of int": (lambda x: (x > 0).sum(1).mean(), RuntimeError),
    "std of int": (lambda x: (x > 0).sum(1).std(), RuntimeError),
    "norm of int": (lambda x: (x > 0).sum(1).norm(), RuntimeError),
    "prod tuple dim": (lambda x: x.prod((0, 1)), TypeError),
    "max tuple dim": (lambda x: x.max((0, 1)), TypeError),
    "argmax tuple dim": (lambda x: x.argmax((0, 1)), TypeError),
    "max of empty": (lambda x: x[:, :0].max(), RuntimeError),
    "max over empty dim": (lambda x: x[:, :0].max(1), IndexError),
    "amax over empty dim": (lambda x: x[:, :0].amax(1), IndexError),
    "argmax of empty": (lambda x: x[:, :0].argmax(), IndexError),
    "median over empty dim": (lambda x: x[:, :0].median(1), IndexError),
    "topk k too large": (lambda x: x.topk(5), RuntimeError),
    "norm inf empty": (lambda x: x[:, :0].norm(INF, 1), RuntimeError),
    "max dim out of range": (lambda x: x.max(-3), IndexError),
    "cumsum dim out of range": (lambda x: x.cumsum(2), IndexError),
    "sort dim out of range": (lambda x: x.sort(2), IndexError),
    "std unbiased and correction": (lambda x: x.std(0, True, correction=1), TypeError),
    "logsumexp needs a dim": (lambda x: x.logsumexp(), TypeError),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_as_torch(name):
    fn, error = ERRORS[name]
    with pytest.raises(error):
        fn(torch.tensor(np.ones((3, 4))))
    with pytest.raises(error):
        fn(cg.tensor(np.ones((3, 4))))


# ----------------------------------------------------------------------------- regressions

@pytest.mark.parametrize("batch", [1, 2, 3])
def test_regression_max_dim_unpacks_to_indices(batch):
    """``_, predicted = outputs.max(1)`` unpacked the *values* for a batch of 2 and failed for
    other sizes: max(1) is the named tuple (values, indices)."""
    logits = np.random.default_rng(batch).standard_normal((batch, 10))
    _, predicted = cg.tensor(logits).max(1)
    _, want = torch.tensor(logits).max(1)
    assert predicted.dtype == np.int64 and predicted.tolist() == want.tolist()
    values, indices = cg.max(cg.tensor(logits), dim=1)
    assert indices.tolist() == want.tolist() and values.shape == (batch,)


def test_regression_sum_dim_keyword():
    """``x.sum(dim=1)`` failed (only ``axis=`` was accepted)."""
    x = np.arange(12.0).reshape(3, 4)
    same(*both(lambda t: t.sum(dim=1), x))
    same(*both(lambda t: t.mean(dim=(0, 1), keepdim=True), x))


def test_regression_std_is_unbiased():
    """``x.std()`` must divide by N − 1 (torch's default), not N (NumPy's)."""
    x = np.array([1.0, 2.0, 4.0, 8.0])
    same(*both(lambda t: t.std(), x))
    assert cg.tensor(x).std().item() != pytest.approx(np.std(x))


def test_regression_mean_of_integers_is_refused():
    """``mean`` of an integer tensor is torch's RuntimeError, never an integer mean."""
    with pytest.raises(RuntimeError, match="mean"):
        cg.tensor(INTS).mean()


def test_max_axis_keeps_numpy_meaning():
    """``x.max(axis=1)`` (NumPy's spelling, used inside the library) returns the maxima only."""
    x = np.array([[1.0, 5.0], [7.0, 2.0]])
    out = cg.tensor(x).max(axis=1, keepdims=True)
    assert isinstance(out, cg.Tensor) and out.tolist() == [[5.0], [7.0]]


def test_return_types_are_named_tuples():
    x = cg.tensor(np.array([[1.0, 5.0], [7.0, 2.0]]))
    for name, r in {"max": x.max(1), "min": x.min(1), "sort": x.sort(), "topk": x.topk(1),
                    "median": x.median(0), "kthvalue": x.kthvalue(1), "cummax": x.cummax(0),
                    "cummin": x.cummin(1)}.items():
        assert type(r).__name__ == name and r._fields == ("values", "indices")
        assert r.indices.dtype == np.int64 and r[0] is r.values


def test_integer_results_carry_no_gradient():
    x = cg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert x.max(1).values.requires_grad and not x.max(1).indices.requires_grad
    assert not x.argmax().requires_grad and not x.argsort().requires_grad
    assert not x.all().requires_grad and not x.count_nonzero().requires_grad


def test_top_level_twins():
    for name in ("sum", "mean", "nansum", "nanmean", "prod", "std", "var", "std_mean",
                 "var_mean", "amax", "amin", "logsumexp", "norm", "all", "any", "count_nonzero",
                 "max", "min", "argmax", "argmin", "median", "kthvalue", "topk", "sort",
                 "argsort", "cumsum", "cumprod", "cummax", "cummin"):
        assert callable(getattr(cg, name)), name
    x = np.arange(6.0).reshape(2, 3)
    same(cg.max(cg.tensor(x), 1), torch.max(torch.tensor(x), 1))
    same(cg.var_mean(cg.tensor(x), 1)[0], torch.var_mean(torch.tensor(x), 1)[0])


def test_errors_name_the_op_and_values():
    x = cg.tensor(np.ones((3, 4)))
    with pytest.raises(IndexError, match=r"sum: .*\[-2, 1\], but got 5"):
        x.sum(5)
    with pytest.raises(IndexError, match="max.*dim 1 to have non-zero size"):
        x[:, :0].max(1)
    with pytest.raises(RuntimeError, match="topk.*k=5"):
        x.topk(5)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        x[:, :1].std(1)
