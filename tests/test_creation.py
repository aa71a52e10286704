"""Tensor factories (zeros, ones, full, empty, eye, arange, linspace, logspace, *_like, new_*)
against torch: values, dtypes, shapes, requires_grad and argument errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import import_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg

torch = import_torch()


def same(got, want) -> None:
    """Equal shape, dtype (by name) and values: integers exactly, floats to a few ulps (torch's
    vectorised linspace rounds once per ``start + i·step``, as a fused multiply-add)."""
    assert tuple(got.shape) == tuple(want.shape)
    assert got.dtype.name == str(want.dtype).removeprefix("torch."), (got.dtype, want.dtype)
    g, w = got.numpy(), want.numpy()
    if g.dtype.kind != "f":
        np.testing.assert_array_equal(g, w)
        return
    eps = 4 * float(np.finfo(g.dtype).eps)
    scale = float(np.max(np.abs(w[np.isfinite(w)]), initial=0.0))
    np.testing.assert_allclose(g, w, rtol=eps, atol=eps * scale)


def both(fn) -> None:
    same(fn(cg), fn(torch))


CASES = [
    lambda L: L.zeros(2, 3), lambda L: L.zeros((2, 3)), lambda L: L.zeros([4]),
    lambda L: L.zeros(L.Size([2, 3])), lambda L: L.zeros(()), lambda L: L.zeros([]),
    lambda L: L.zeros(size=(2, 3)), lambda L: L.zeros(0, 3), lambda L: L.zeros(3, dtype=L.int32),
    lambda L: L.zeros(2, dtype=L.bool), lambda L: L.zeros(L.tensor(3)),
    lambda L: L.zeros([2, L.tensor(3)]), lambda L: L.ones(2, 3), lambda L: L.ones((2,)),
    lambda L: L.ones(2, dtype=L.float64), lambda L: L.ones(2, 3, dtype=L.bool),
    lambda L: L.ones(size=(1, 2)), lambda L: L.empty(2, 3).zero_(),
    lambda L: L.empty((2,), dtype=L.int8).zero_(),
    lambda L: L.full((2,), 3), lambda L: L.full((2,), True), lambda L: L.full((2,), 3.5),
    lambda L: L.full([2, 2], 3, dtype=L.float64), lambda L: L.full((2,), 1.5, dtype=L.int64),
    lambda L: L.full((2,), -1, dtype=L.uint8), lambda L: L.full((), 3),
    lambda L: L.full((2,), L.tensor(3.0)), lambda L: L.full((2,), L.tensor(3)),
    lambda L: L.full((3,), float("inf")), lambda L: L.full((3,), 2.5, dtype=L.bool),
    lambda L: L.eye(3), lambda L: L.eye(2, 3), lambda L: L.eye(3, m=2), lambda L: L.eye(n=2),
    lambda L: L.eye(3, dtype=L.int32), lambda L: L.eye(2, 3, dtype=L.bool), lambda L: L.eye(0),
    lambda L: L.arange(5), lambda L: L.arange(5.0), lambda L: L.arange(1, 5),
    lambda L: L.arange(0, 10, 3), lambda L: L.arange(5, 1, -1), lambda L: L.arange(5, 5),
    lambda L: L.arange(0, 1, 0.1), lambda L: L.arange(0, 1, 0.3), lambda L: L.arange(1, 2.5, 0.5),
    lambda L: L.arange(start=1, end=5), lambda L: L.arange(end=5), lambda L: L.arange(True),
    lambda L: L.arange(1, 5, dtype=L.float64), lambda L: L.arange(0.0, 3.0, 0.7, dtype=L.float64),
    lambda L: L.arange(0.5, 3, dtype=L.int64), lambda L: L.arange(-0.5, 3, 1, dtype=L.int64),
    lambda L: L.arange(-0.5, 3, 1, dtype=L.int32), lambda L: L.arange(0, 5, 0.5, dtype=L.int32),
    lambda L: L.arange(3, dtype=L.uint8), lambda L: L.arange(L.tensor(5)),
    lambda L: L.arange(L.tensor(5.0)), lambda L: L.arange(-3, 3, 0.5, dtype=L.float16),
    lambda L: L.linspace(0, 1, 5), lambda L: L.linspace(0, 1, 0), lambda L: L.linspace(0, 1, 1),
    lambda L: L.linspace(1, 0, 5), lambda L: L.linspace(0, 1, steps=3),
    lambda L: L.linspace(0, 10, 5, dtype=L.int64),
    lambda L: L.linspace(0.5, 10.5, 5, dtype=L.int64),
    lambda L: L.linspace(L.tensor(0.0), L.tensor(1.0), 3),
    lambda L: L.linspace(-2, 7, 11, dtype=L.float64),
    lambda L: L.logspace(0, 2, 3), lambda L: L.logspace(0, 2, 3, base=2),
    lambda L: L.logspace(0, 2, 3, 2), lambda L: L.logspace(0, 3, 4, dtype=L.int64),
    lambda L: L.logspace(0, 2, 3, base=-2), lambda L: L.logspace(0.5, 2.5, 3, dtype=L.int64),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_factory_matches_torch(case):
    both(CASES[case])


LIKE = [
    lambda L, t: L.zeros_like(t), lambda L, t: L.ones_like(t), lambda L, t: L.empty_like(t).zero_(),
    lambda L, t: L.full_like(t, 2.7), lambda L, t: L.full_like(t, True),
    lambda L, t: L.zeros_like(t, dtype=L.float64), lambda L, t: L.full_like(t, 3, dtype=L.int64),
    lambda L, t: L.ones_like(t, memory_format=L.preserve_format),
    lambda L, t: t.new_zeros(3), lambda L, t: t.new_zeros((3, 4)), lambda L, t: t.new_ones(2, 1),
    lambda L, t: t.new_ones(2, dtype=L.int8), lambda L, t: t.new_full((3,), 2),
    lambda L, t: t.new_full([2], 1.5), lambda L, t: t.new_empty(2, 3).zero_(),
    lambda L, t: t.new_tensor([1, 2]), lambda L, t: t.new_tensor([1.5]),
    lambda L, t: t.new_tensor(True), lambda L, t: t.new_tensor([1, 2], dtype=L.int64),
    lambda L, t: t.new_zeros(size=(2,)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("case", range(len(LIKE)))
def test_like_and_new_match_torch(case, dtype):
    base = np.array([[1, 0, 1], [0, 1, 1]]).astype(dtype)
    same(LIKE[case](cg, cg.tensor(base)), LIKE[case](torch, torch.tensor(base)))


ERRORS = [
    (RuntimeError, lambda L: L.zeros(-1)), (RuntimeError, lambda L: L.zeros(2, -3)),
    (RuntimeError, lambda L: L.ones((2, -1))), (RuntimeError, lambda L: L.empty(-2)),
    (RuntimeError, lambda L: L.full((-1,), 2.0)), (RuntimeError, lambda L: L.ones(2).new_zeros(-1)),
    (TypeError, lambda L: L.zeros()), (TypeError, lambda L: L.zeros(2.0)),
    (TypeError, lambda L: L.zeros(True)), (TypeError, lambda L: L.zeros((2, 3), 4)),
    (TypeError, lambda L: L.zeros([2, [3]])), (TypeError, lambda L: L.zeros(2, 3.0)),
    (TypeError, lambda L: L.full(2, 3)), (TypeError, lambda L: L.ones(2).new_full(3, 2)),
    (TypeError, lambda L: L.ones(2).new_zeros()),
    (RuntimeError, lambda L: L.zeros(2, 3, dtype=L.int64, requires_grad=True)),
    (RuntimeError, lambda L: L.full((2,), 2, requires_grad=True)),
    (RuntimeError, lambda L: L.arange(3, requires_grad=True)),
    (RuntimeError, lambda L: L.full((2,), 300, dtype=L.uint8)),
    (RuntimeError, lambda L: L.full((2,), 128, dtype=L.int8)),
    (RuntimeError, lambda L: L.full((2,), 1e20, dtype=L.int64)),
    (RuntimeError, lambda L: L.full((2,), float("nan"), dtype=L.int64)),
    (RuntimeError, lambda L: L.full((2,), 1e40, dtype=L.float32)),
    (RuntimeError, lambda L: L.eye(-1)), (RuntimeError, lambda L: L.eye(3, -1)),
    (TypeError, lambda L: L.eye(2.0)),
    (RuntimeError, lambda L: L.arange(1, 5, 0)), (RuntimeError, lambda L: L.arange(5, 1)),
    (RuntimeError, lambda L: L.arange(1, 5, -1)), (RuntimeError, lambda L: L.arange(float("inf"))),
    (RuntimeError, lambda L: L.arange(float("nan"))),
    (RuntimeError, lambda L: L.arange(0, 1e20, 1)),
    (ValueError, lambda L: L.arange(0, 5, 0.5, dtype=L.int64)),
    (NotImplementedError, lambda L: L.arange(3, dtype=L.bool)),
    (TypeError, lambda L: L.arange()),
    (TypeError, lambda L: L.linspace(0, 1)), (TypeError, lambda L: L.linspace(0, 1, 4.0)),
    (TypeError, lambda L: L.linspace(0, 1, True)), (RuntimeError, lambda L: L.linspace(0, 1, -1)),
    (NotImplementedError, lambda L: L.linspace(0, 1, 3, dtype=L.bool)),
    (TypeError, lambda L: L.zeros_like([1, 2])), (TypeError, lambda L: L.full_like(3, 1)),
    (RuntimeError, lambda L: L.zeros(2, device="cuda")),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    kind, fn = ERRORS[case]
    if case != len(ERRORS) - 1:                       # torch without CUDA: AssertionError
        with pytest.raises(kind):
            fn(torch)
    with pytest.raises(kind):
        fn(cg)


# -- hypothesis over sizes and dtypes ----------------------------------------------------------

SHAPES = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
DTYPES = st.sampled_from(["float32", "float64", "float16", "int64", "int32", "int8", "uint8",
                          "bool"])


@settings(max_examples=60, deadline=None)
@given(SHAPES, DTYPES, st.booleans())
def test_zeros_ones_any_shape_and_dtype(shape, dtype, as_tuple):
    for name in ("zeros", "ones"):
        args = (shape,) if as_tuple or not shape else shape
        same(getattr(cg, name)(*args, dtype=getattr(cg, dtype)),
             getattr(torch, name)(*args, dtype=getattr(torch, dtype)))


@settings(max_examples=60, deadline=None)
@given(SHAPES, st.one_of(st.booleans(), st.integers(-100, 100),
                         st.floats(-1e3, 1e3, allow_nan=False)),
       st.one_of(st.none(), st.sampled_from(["float32", "float64", "int64", "int32"])))
def test_full_any_value(shape, value, dtype):
    kw = {} if dtype is None else {"dtype": getattr(cg, dtype)}
    tkw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    same(cg.full(shape, value, **kw), torch.full(shape, value, **tkw))


NUMBER = st.one_of(st.integers(-50, 50), st.floats(-50, 50, allow_nan=False).map(
    lambda v: round(v, 3)))


@settings(max_examples=150, deadline=None)
@given(NUMBER, NUMBER, st.one_of(st.integers(-7, 7), st.sampled_from([0.1, 0.25, -0.3, 0.7, 2.5])),
       st.sampled_from([None, "float32", "float64", "int64", "int32"]))
def test_arange_any_range(start, end, step, dtype):
    kw = {} if dtype is None else {"dtype": getattr(cg, dtype)}
    tkw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    try:
        want = torch.arange(start, end, step, **tkw)
    except (RuntimeError, ValueError) as e:
        with pytest.raises(type(e)):
            cg.arange(start, end, step, **kw)
        return
    got = cg.arange(start, end, step, **kw)
    assert tuple(got.shape) == tuple(want.shape) and got.dtype.name == str(want.dtype)[6:]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-5)


@settings(max_examples=150, deadline=None)
@given(NUMBER, NUMBER, st.integers(0, 40),
       st.sampled_from([None, "float32", "float64", "int64", "int32", "float16"]))
def test_linspace_any_range(start, end, steps, dtype):
    kw = {} if dtype is None else {"dtype": getattr(cg, dtype)}
    tkw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    got, want = cg.linspace(start, end, steps, **kw), torch.linspace(start, end, steps, **tkw)
    assert tuple(got.shape) == tuple(want.shape) and got.dtype.name == str(want.dtype)[6:]
    tol = 2e-3 if dtype == "float16" else 1e-6
    atol = 1 if dtype in ("int64", "int32") else tol * 50
    np.testing.assert_allclose(got.numpy().astype(float), want.numpy().astype(float),
                               rtol=tol, atol=atol)


@settings(max_examples=60, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 20), st.sampled_from([10.0, 2.0, 0.5]))
def test_logspace_any_range(start, end, steps, base):
    np.testing.assert_allclose(cg.logspace(start, end, steps, base).numpy(),
                               torch.logspace(start, end, steps, base).numpy(), rtol=1e-5)


# -- regressions and options -------------------------------------------------------------------

def test_arange_of_ints_is_int64():
    assert cg.arange(5).dtype == cg.int64 and cg.arange(1, 4, 2).dtype == cg.int64


def test_arange_float_step_length_as_torch():
    assert len(cg.arange(0, 1, 0.1)) == 10 == len(torch.arange(0, 1, 0.1))
    assert cg.arange(0, 1, 0.1).dtype == cg.float32


def test_full_of_an_int_is_int64():
    assert cg.full((2,), 3).dtype == cg.int64
    assert cg.full((2,), 3.0).dtype == cg.float32 and cg.full((2,), False).dtype == cg.bool


def test_requires_grad_option():
    x = cg.zeros(2, 3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    (x * 2).sum().backward()
    assert x.grad.tolist() == [[2.0] * 3] * 2
    for t in (cg.ones(2, requires_grad=True), cg.full((2,), 1.5, requires_grad=True),
              cg.eye(2, requires_grad=True), cg.arange(3.0, requires_grad=True),
              cg.linspace(0, 1, 3, requires_grad=True), cg.zeros_like(x, requires_grad=True),
              x.new_zeros(2, requires_grad=True)):
        assert t.requires_grad
    assert not cg.zeros_like(x).requires_grad and not x.new_ones(2).requires_grad


def test_default_dtype_is_followed():
    cg.set_default_dtype(cg.float64)
    try:
        for t in (cg.zeros(2), cg.ones(2), cg.empty(2), cg.eye(2), cg.arange(2.0),
                  cg.linspace(0, 1, 3), cg.logspace(0, 1, 3), cg.full((1,), 0.5)):
            assert t.dtype == cg.float64
        assert cg.arange(2).dtype == cg.int64 and cg.full((1,), 1).dtype == cg.int64
    finally:
        cg.set_default_dtype(cg.float32)


def test_empty_is_zeros():
    assert not cg.empty(3, 2).numpy().any() and not cg.empty_like(cg.ones(2)).numpy().any()


def test_device_cpu_accepted_and_results_fresh():
    a = cg.zeros(2, device="cpu")
    b = cg.zeros_like(a, device=cg.device("cpu"))
    b.add_(1)
    assert a.tolist() == [0.0, 0.0] and b.tolist() == [1.0, 1.0]


def test_top_level_names():
    for name in ("zeros", "ones", "full", "empty", "eye", "arange", "linspace", "logspace",
                 "zeros_like", "ones_like", "full_like", "empty_like"):
        assert name in cg.__all__ and callable(getattr(cg, name))
