"""convgrad.testing against torch.testing: the same verdict, exception type and message."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import import_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg
from convgrad.testing import assert_allclose, assert_close, make_tensor

NAN, INF = float("nan"), float("inf")
DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


def outcome(fn, *args, **kw) -> tuple[str, str]:
    try:
        fn(*args, **kw)
    except Exception as e:          # noqa: BLE001  (the type is the result)
        return type(e).__name__, str(e)
    return "ok", ""


def both(a, e, **kw):
    """The outcome in convgrad (ndarrays → Tensors) and in torch (→ torch tensors)."""
    torch = import_torch()

    def conv(v, make):
        if isinstance(v, np.ndarray):
            return make(v)
        if isinstance(v, (list, tuple)):
            return type(v)(conv(x, make) for x in v)
        if isinstance(v, dict):
            return {k: conv(x, make) for k, x in v.items()}
        return v
    mine = outcome(assert_close, conv(a, cg.tensor), conv(e, cg.tensor), **kw)
    theirs = outcome(torch.testing.assert_close, conv(a, torch.from_numpy),
                     conv(e, torch.from_numpy), **kw)
    return mine, theirs


def same(a, e, **kw):
    mine, theirs = both(a, e, **kw)
    assert mine[0] == theirs[0], (mine, theirs)
    text = mine[1].replace("convgrad.autograd.tensor.Tensor", "convgrad.Tensor")
    assert text == theirs[1].replace("torch.", "convgrad."), (mine, theirs)


f32 = lambda *v: np.array(v, np.float32)
f64 = lambda *v: np.array(v, np.float64)
i64 = lambda *v: np.array(v, np.int64)


@pytest.mark.parametrize("a, e, kw", [
    (f32(1, 2, 3), f32(1, 2, 3.1), {}),
    (f32(1, 2, 3), f32(1, 2, 3 + 1e-6), {}),
    (f32(1, 2, 3), i64(1, 2, 3), {}),
    (i64(1, 2, 3), i64(1, 2, 4), {}),
    (np.array([[1, 2], [3, 4]], np.float32), np.array([[2, 2], [3, 5]], np.float32), {}),
    (f32(1, 2), f32(1, 2, 3), {}),
    (np.array(1.0, np.float32), np.array(1.5, np.float32), {}),
    (f32(NAN), f32(NAN), {}),
    (f32(NAN), f32(NAN), {"equal_nan": True}),
    (f32(INF), f32(INF), {}),
    (f32(INF), f32(-INF), {}),
    (f32(0, 0), f32(0, NAN), {}),
    (f32(3, 2), f32(0, 0), {}),
    (f32(1), f32(2), {"rtol": 0.1}),
    (f32(1), f32(2), {"atol": 1}),
    (f32(1), f32(2), {"rtol": 1, "atol": 0}),
    (f32(1), f32(2), {"msg": "custom"}),
    (f32(1), f64(2), {"check_dtype": False}),
    (f32(1, 2), i64(1, 3), {"check_dtype": False}),
    (np.array([True]), np.array([False]), {}),
    (np.array([True, False]), np.array([True, True]), {"rtol": 0.1, "atol": 0.0}),
    (i64(1, 2), i64(1, 3), {"rtol": 0.5, "atol": 0.0}),
    (i64(1, 2), i64(1, 3), {"rtol": 0.1, "atol": 0.0}),
    (np.array([1, 2], np.int32), np.array([1, 3], np.int64), {"check_dtype": False}),
    (np.array([1, 2, 3], np.float16), np.array([1.1, 2.2, 3], np.float16), {}),
    (f32(1e10), f32(1.00001e10), {}),
    (f32(0), f32(1e-6), {}),
    (np.zeros(0, np.float32), np.zeros(0, np.float32), {}),
    (1.0, 1.5, {}), (1, 2, {}), (1, 1.0, {}), (2, 3.0, {"check_dtype": False}),
    (1.0, 1.0 + 1e-8, {}), (NAN, NAN, {}), (NAN, NAN, {"equal_nan": True}),
    (True, False, {}), (None, None, {}), (None, 1, {}), ("a", "a", {}),
    (np.float32(1), np.float32(2), {}),
    ([1.0, 2.0], [1.0, 2.5], {}), ([1.0, 2.0], [1.0], {}), ((1, 2), [1, 2.5], {}),
    ([f32(1), f32(2)], [f32(1), f32(3)], {}),
    ({"a": f32(1)}, {"a": f32(2)}, {}), ({"a": f32(1)}, {"b": f32(1)}, {}),
    (f32(1), 1.0, {}), (1.0, np.array(1.0, np.float32), {}), (f32(1), [1.0], {}),
])
def test_assert_close_like_torch(a, e, kw):
    same(a, e, **kw)


def test_msg_callable_and_item_suffix():
    same([f32(1), f32(2)], [f32(1), f32(3)], msg=lambda m: "X" + m)


@pytest.mark.parametrize("kw", [{"rtol": -1.0, "atol": 0.0}, {"rtol": 0.0, "atol": -1.0}])
def test_negative_tolerance_is_an_error(kw):
    mine, theirs = both(f32(1), f32(1), **kw)
    assert mine[0] == theirs[0] == "RuntimeError"


def test_ndarray_and_tensor_do_not_pair():
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(np.zeros(2), cg.zeros(2, dtype=cg.float64))


def test_stride_checked_on_request():
    x = cg.zeros(2, 3)
    assert_close(x.t(), cg.zeros(3, 2))
    with pytest.raises(AssertionError, match=r"stride\(\)' do not match: \(1, 3\) != \(2, 1\)"):
        assert_close(x.t(), cg.zeros(3, 2), check_stride=True)


def test_requires_grad_and_parameters_compare_by_value():
    assert_close(cg.nn.Parameter(cg.tensor([1.0])), cg.tensor([1.0]))
    assert_close(cg.tensor([1.0], requires_grad=True), cg.tensor([1.0]))


values = st.one_of(st.floats(-1e3, 1e3, width=32), st.sampled_from([0.0, NAN, INF, -INF]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(values, values), min_size=1, max_size=6),
       st.sampled_from(DTYPES), st.sampled_from(DTYPES),
       st.one_of(st.none(), st.tuples(st.sampled_from([0.0, 1e-6, 1e-3, 0.1, 1.0]),
                                      st.sampled_from([0.0, 1e-5, 1e-2, 1.0]))),
       st.booleans(), st.booleans())
def test_verdict_and_message_over_a_space(pairs, da, de, tols, equal_nan, check_dtype):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = np.array([p[0] for p in pairs]).astype(da) if da == "bool" or "float" in da else (
            np.nan_to_num(np.array([p[0] for p in pairs]), posinf=5, neginf=-5).astype(da))
        e = np.array([p[1] for p in pairs]).astype(de) if de == "bool" or "float" in de else (
            np.nan_to_num(np.array([p[1] for p in pairs]), posinf=5, neginf=-5).astype(de))
    kw = dict(equal_nan=equal_nan, check_dtype=check_dtype)
    if tols is not None:
        kw.update(rtol=tols[0], atol=tols[1])
    same(a, e, **kw)


@settings(max_examples=100, deadline=None)
@given(st.floats(-10, 10, width=32), st.integers(-40, 40), st.sampled_from(["float16",
                                                                            "float32"]))
def test_verdict_at_the_tolerance_boundary(x, ulps, dtype):
    """Values a few ulps around ``atol + rtol·|e|``: torch's float arithmetic decides."""
    e = np.array([x], dtype)
    step = np.spacing(np.abs(e).astype(dtype) + 1)
    a = (e + (1e-5 + 1.3e-6 * np.abs(e)).astype(dtype) + ulps * step).astype(dtype)
    same(a, e, rtol=1.3e-6, atol=1e-5)


def test_assert_allclose_is_deprecated_and_loose():
    with pytest.warns(FutureWarning):
        assert_allclose(cg.tensor([1.0]), cg.tensor([1.00005]))
    with pytest.warns(FutureWarning), pytest.raises(AssertionError):
        assert_allclose([1.0], [1.1])
    with pytest.warns(FutureWarning):
        assert_allclose(cg.tensor([NAN]), [NAN])


@pytest.mark.parametrize("dtype, low, high, lo, hi", [
    ("float32", None, None, -9, 9), ("float64", -1, 1, -1, 1), ("int64", None, None, -9, 9),
    ("uint8", None, None, 0, 9), ("bool", None, None, 0, 1), ("int8", -200, 200, -128, 127),
    ("float16", None, None, -9, 9)])
def test_make_tensor_range(dtype, low, high, lo, hi):
    """torch's documented default ranges, clamped to the dtype's values."""
    t = make_tensor(200, dtype=np.dtype(dtype), device="cpu", low=low, high=high)
    a = t.numpy().astype(float)
    assert t.dtype == np.dtype(dtype) and a.shape == (200,)
    assert lo <= a.min() and a.max() <= hi and a.max() - a.min() > (hi - lo) / 2


def test_make_tensor_options():
    t = make_tensor((2, 3), dtype=cg.float32, device="cpu", requires_grad=True,
                    noncontiguous=True, exclude_zero=True)
    assert t.requires_grad and tuple(t.shape) == (2, 3) and not t.is_contiguous()
    assert (t.detach().numpy() != 0).all()
    assert (make_tensor(100, dtype=cg.int64, device="cpu", low=0, high=1,
                        exclude_zero=True).numpy() == 1).all()


@pytest.mark.parametrize("kw, error", [
    ({"dtype": cg.int64, "requires_grad": True}, ValueError),
    ({"dtype": cg.float32, "low": 2, "high": 1}, ValueError),
    ({"dtype": cg.float32, "low": NAN}, ValueError),
    ({"dtype": cg.uint8, "low": -10, "high": -1}, ValueError),
    ({"dtype": "complex64"}, TypeError),
])
def test_make_tensor_errors_like_torch(kw, error):
    with pytest.raises(error):
        make_tensor(3, device="cpu", **kw)
