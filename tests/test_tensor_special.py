"""Special functions and the small binary ops (``convgrad/methods/transcendental.py``,
``convgrad/special.py``) against torch: one ``check_op`` line per differentiable op, wide-range
accuracy of lgamma/digamma/polygamma/erfinv/i0, dtypes, in-place twins and error types."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, import_torch

import convgrad as cg

torch = import_torch()

NAN, INF = float("nan"), float("inf")
UNIT = np.array([[0.3, -0.7, 0.1], [0.9, -0.2, 0.5]])
PROB = np.array([[0.3, 0.7, 0.1], [0.95, 0.02, 0.5]])
ABOVE1 = np.array([1.5, 2.0, 7.0, 30.0])
MIXED = np.array([-3.7, -0.4, 0.3, 1.2, 2.5, 11.0])
ZEROS = np.array([0.0, 1.5, 0.0, -2.0])
POS = np.array([0.7, 1.3, 2.0, 0.4])

CASES = {
    "acosh": (lambda x: x.acosh(), lambda x: x.acosh(), [ABOVE1], {}),
    "arccosh": (lambda x: cg.arccosh(x), lambda x: torch.arccosh(x), [ABOVE1], {}),
    "asinh": (lambda x: x.asinh(), lambda x: x.asinh(), [(3, 4)], {}),
    "arcsinh": (lambda x: cg.arcsinh(x), lambda x: torch.arcsinh(x), [(3, 4)], {}),
    "atanh": (lambda x: x.atanh(), lambda x: x.atanh(), [UNIT], {}),
    "arctanh": (lambda x: cg.arctanh(x), lambda x: torch.arctanh(x), [UNIT], {}),
    "lgamma": (lambda x: x.lgamma(), lambda x: x.lgamma(), [MIXED], {}),
    "digamma": (lambda x: cg.digamma(x), lambda x: torch.digamma(x), [MIXED], {}),
    "polygamma 1": (lambda x: cg.polygamma(1, x), lambda x: torch.polygamma(1, x), [MIXED], {}),
    "polygamma 2": (lambda x: x.polygamma(2), lambda x: x.polygamma(2), [MIXED], {}),
    "polygamma 3": (lambda x: cg.polygamma(3, x), lambda x: torch.polygamma(3, x), [MIXED], {}),
    "erfc": (lambda x: x.erfc(), lambda x: x.erfc(), [(3, 4)], {}),
    "erfinv": (lambda x: x.erfinv(), lambda x: x.erfinv(), [UNIT], {}),
    "logit": (lambda x: x.logit(), lambda x: x.logit(), [PROB], {}),
    "logit eps": (lambda x: cg.logit(x, eps=0.05), lambda x: torch.logit(x, eps=0.05), [PROB],
                  {}),
    "xlogy": (lambda x, y: x.xlogy(y), lambda x, y: x.xlogy(y), [ZEROS, POS], {}),
    "xlogy scalar": (lambda y: cg.xlogy(2.0, y), lambda y: torch.xlogy(2.0, y), [(3,)],
                     {"positive": True}),
    "logaddexp": (lambda x, y: x.logaddexp(y), lambda x, y: x.logaddexp(y), [(3, 4), (4,)], {}),
    "logaddexp2": (lambda x, y: cg.logaddexp2(x, y), lambda x, y: torch.logaddexp2(x, y),
                   [(3, 4), (3, 4)], {}),
    "sinc": (lambda x: x.sinc(), lambda x: x.sinc(), [(3, 4)], {}),
    "deg2rad": (lambda x: x.deg2rad(), lambda x: x.deg2rad(), [(3, 4)], {}),
    "rad2deg": (lambda x: cg.rad2deg(x), lambda x: torch.rad2deg(x), [(3, 4)], {}),
    "copysign": (lambda x, y: x.copysign(y), lambda x, y: x.copysign(y), [(3, 4), (4,)], {}),
    "float_power": (lambda x, y: x.float_power(y), lambda x, y: x.float_power(y),
                    [(3, 4), (4,)], {"positive": True}),
    "i0": (lambda x: x.i0(), lambda x: x.i0(), [(3, 4)], {}),
    "special.i1": (lambda x: cg.special.i1(x), lambda x: torch.special.i1(x), [(3, 4)], {}),
    "clamp_min": (lambda x: x.clamp_min(0.1), lambda x: x.clamp_min(0.1), [(3, 4)], {}),
    "clamp_max": (lambda x: cg.clamp_max(x, 0.1), lambda x: torch.clamp_max(x, 0.1), [(3, 4)],
                  {}),
    "positive": (lambda x: +x * 2, lambda x: +x * 2, [(3,)], {}),
    "special.xlog1py": (lambda x, y: cg.special.xlog1py(x, y),
                        lambda x, y: torch.special.xlog1py(x, y), [ZEROS, POS], {}),
    "special.entr": (lambda x: cg.special.entr(x), lambda x: torch.special.entr(x), [PROB], {}),
    "special.ndtr": (lambda x: cg.special.ndtr(x), lambda x: torch.special.ndtr(x), [(5,)], {}),
    "special.ndtri": (lambda x: cg.special.ndtri(x), lambda x: torch.special.ndtri(x), [PROB],
                      {}),
    "special.log_ndtr": (lambda x: cg.special.log_ndtr(x), lambda x: torch.special.log_ndtr(x),
                         [(5,)], {}),
    "special.expit": (lambda x: cg.special.expit(x), lambda x: torch.special.expit(x), [(5,)],
                      {}),
    "special.gammaln": (lambda x: cg.special.gammaln(x), lambda x: torch.special.gammaln(x),
                        [MIXED], {}),
    "special.psi": (lambda x: cg.special.psi(x), lambda x: torch.special.psi(x), [MIXED], {}),
    "special.exp2": (lambda x: cg.special.exp2(x), lambda x: torch.special.exp2(x), [(5,)], {}),
    "special.logsumexp": (lambda x: cg.special.logsumexp(x, 1),
                          lambda x: torch.special.logsumexp(x, 1), [(3, 4)], {}),
    "special.softmax": (lambda x: cg.special.softmax(x, 1), lambda x: torch.special.softmax(x, 1),
                        [(3, 4)], {}),
    "special.log_softmax": (lambda x: cg.special.log_softmax(x, 0),
                            lambda x: torch.special.log_softmax(x, 0), [(3, 4)], {}),
}
# torch's second derivative is a ZeroTensor (or absent) for these
FIRST_ORDER = {"copysign", "deg2rad", "rad2deg", "clamp_min", "clamp_max", "positive",
               "logit eps"}


@pytest.mark.parametrize("name", CASES)
def test_op_matches_torch(name):
    cg_fn, torch_fn, inputs, opts = CASES[name]
    check_op(cg_fn, torch_fn, *inputs, order=1 if name in FIRST_ORDER else 2, **opts)


def _wide(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(-60, 60, 4000), rng.uniform(0, 3, 4000),
                           np.exp(rng.uniform(-30, 200, 2000)), -np.exp(rng.uniform(-20, 9, 2000)),
                           [0.0, -0.0, 1.0, 2.0, -1.0, -2.0, INF, -INF, NAN]])


def _agree(got, want, rtol: float) -> None:
    got, want = np.asarray(got), np.asarray(want)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    inf = np.isinf(want)
    np.testing.assert_array_equal(got[inf], want[inf])
    fin = np.isfinite(want)
    rel = np.abs(got[fin] - want[fin]) / np.maximum(np.abs(want[fin]), 1e-300)
    assert rel.max() <= rtol, f"max relative error {rel.max():.3g} at {want[fin][rel.argmax()]}"


@pytest.mark.parametrize("name, rtol", [("lgamma", 1e-11), ("digamma", 1e-12), ("i0", 1e-13)])
def test_wide_range_accuracy(name, rtol):
    x = _wide()
    if name == "i0":
        x = x[np.abs(x) < 700]
    _agree(getattr(cg, name)(cg.tensor(x)).numpy(), getattr(torch, name)(torch.tensor(x)).numpy(),
           rtol)


def test_lgamma_far_from_roots_is_exact():
    x = _wide()
    x = x[(x > 0) | ((x < 0) & (np.abs(x - np.round(x)) > 0.05))]
    x = x[np.abs(torch.lgamma(torch.tensor(x)).numpy()) > 0.1]
    _agree(cg.lgamma(cg.tensor(x)).numpy(), torch.lgamma(torch.tensor(x)).numpy(), 1e-13)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_polygamma_wide_range(n):
    x = _wide(n)
    x = x[np.abs(x) < 1e5]
    _agree(cg.polygamma(n, cg.tensor(x)).numpy(), torch.polygamma(n, torch.tensor(x)).numpy(),
           1e-12 if n > 1 else 1e-14)


def test_erfinv_to_the_tails():
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.uniform(-1, 1, 5000), 1 - np.exp(rng.uniform(-36, 0, 2000)),
                        -1 + np.exp(rng.uniform(-36, 0, 2000)), np.exp(rng.uniform(-300, 0, 500)),
                        [1.0, -1.0, 0.0, -0.0, 1.5, -2.0, NAN]])
    _agree(cg.erfinv(cg.tensor(y)).numpy(), torch.erfinv(torch.tensor(y)).numpy(), 1e-14)


def test_erfc_tail():
    x = np.linspace(-30, 30, 2001)
    _agree(cg.erfc(cg.tensor(x)).numpy(), torch.erfc(torch.tensor(x)).numpy(), 1e-14)


@pytest.mark.parametrize("fn", ["lgamma", "digamma", "erfinv", "erfc", "i0", "sinc", "deg2rad",
                                "acosh", "signbit"])
@pytest.mark.parametrize("dtype", ["int64", "bool", "float32"])
def test_dtypes(fn, dtype):
    x = np.array([0, 1, 2]).astype(dtype)
    got, want = getattr(cg, fn)(cg.tensor(x)), getattr(torch, fn)(torch.tensor(x))
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    _agree(got.numpy().astype(np.float64), want.numpy().astype(np.float64), 1e-6)


def test_binary_values_and_dtypes():
    a, b = np.array([0.0, 1.0, -2.0, 0.0]), np.array([NAN, 0.0, 3.0, 2.0])
    for fn in ("xlogy", "logaddexp", "logaddexp2", "copysign", "float_power"):
        got = getattr(cg, fn)(cg.tensor(a), cg.tensor(b))
        want = getattr(torch, fn)(torch.tensor(a), torch.tensor(b))
        assert str(got.dtype) == str(want.dtype).replace("torch.", ""), fn
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-14, err_msg=fn)
    assert cg.float_power(cg.tensor([1, 2]), 2).dtype == np.float64
    assert cg.copysign(cg.tensor([1, 2]), -1).tolist() == [-1.0, -2.0]
    inf = cg.logaddexp(cg.tensor([INF, -INF]), cg.tensor([INF, -INF]))
    assert inf.tolist() == torch.logaddexp(torch.tensor([INF, -INF]),
                                           torch.tensor([INF, -INF])).tolist()
    assert cg.signbit(cg.tensor([-0.0, 1.0, -1.0])).tolist() == [True, False, True]
    h = cg.heaviside(cg.tensor([-1.0, 0.0, 2.0]), cg.tensor([0.5]))
    assert h.tolist() == [0.0, 0.5, 1.0]


def test_errors_match_torch():
    with pytest.raises(RuntimeError, match="different dtypes"):
        cg.heaviside(cg.tensor([1.0]), cg.tensor([1]))
    x = cg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="heaviside"):
        cg.heaviside(x, cg.tensor([1.0])).sum().backward()
    with pytest.raises(RuntimeError, match="bool"):
        +cg.tensor([True])
    with pytest.raises(RuntimeError, match="float_power_"):
        cg.tensor([1.0]).float_power_(2)
    with pytest.raises(NotImplementedError):
        cg.logaddexp(cg.tensor([1]), cg.tensor([2]))
    with pytest.raises(RuntimeError, match="negative"):
        cg.polygamma(-1, cg.tensor([1.0]))


@pytest.mark.parametrize("name, args", [
    ("acosh_", ()), ("asinh_", ()), ("arcsinh_", ()), ("atanh_", ()), ("lgamma_", ()),
    ("digamma_", ()), ("polygamma_", (2,)), ("erfc_", ()), ("erfinv_", ()), ("logit_", ()),
    ("sinc_", ()), ("deg2rad_", ()), ("rad2deg_", ()), ("i0_", ()), ("clamp_min_", (0.3,)),
    ("clamp_max_", (0.3,)), ("xlogy_", (2.0,)), ("copysign_", (-1.0,)),
    ("absolute_", ()), ("arccos_", ()), ("arcsin_", ()), ("arctan_", ()),
    ("multiply_", (3.0,)), ("divide_", (3.0,)), ("subtract_", (3.0,)), ("true_divide_", (3.0,)),
    ("eq_", (0.5,)), ("ne_", (0.5,)), ("lt_", (0.5,)), ("le_", (0.5,)), ("gt_", (0.5,)),
    ("ge_", (0.5,)), ("greater_", (0.5,)), ("less_", (0.5,)), ("greater_equal_", (0.5,)),
    ("less_equal_", (0.5,)), ("not_equal_", (0.5,))])
def test_inplace_twins(name, args):
    x = np.array([0.5, 0.25, 0.75, 1.5]) if name.startswith("acosh") is False else np.array(
        [1.5, 2.0, 3.0, 4.0])
    a, t = cg.tensor(x), torch.tensor(x)
    out = getattr(a, name)(*args)
    getattr(t, name)(*args)
    assert out is a
    np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-14, equal_nan=True)
    y = cg.tensor(x, requires_grad=True) * 1
    ty = torch.tensor(x, requires_grad=True)
    ty2 = ty * 1
    getattr(y, name)(*args)
    getattr(ty2, name)(*args)
    np.testing.assert_allclose(y.detach().numpy(), ty2.detach().numpy(), rtol=1e-14,
                               equal_nan=True)


def test_arctan2_inplace():
    a, t = cg.tensor([0.5, -1.0]), torch.tensor([0.5, -1.0])
    a.arctan2_(cg.tensor([2.0, 3.0])), t.arctan2_(torch.tensor([2.0, 3.0]))
    np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-6)


def test_inplace_comparison_keeps_dtype():
    a, t = cg.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    a.eq_(2), t.eq_(2)
    assert a.tolist() == t.tolist() and a.dtype == np.int64
    a, t = cg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    a.lt_(cg.tensor([2])), t.lt_(torch.tensor([2]))
    assert a.tolist() == t.tolist()


def test_special_namespace():
    x = np.array([0.2, 0.5, 0.9])
    for name in ("erf", "erfc", "erfinv", "log1p", "expm1", "i0", "sinc", "round", "logit",
                 "digamma", "gammaln", "ndtri", "ndtr", "log_ndtr", "entr", "expit"):
        got = getattr(cg.special, name)(cg.tensor(x))
        want = getattr(torch.special, name)(torch.tensor(x))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13, err_msg=name)
    got = cg.special.polygamma(2, cg.tensor(x))
    np.testing.assert_allclose(got.numpy(), torch.special.polygamma(2, torch.tensor(x)).numpy(),
                               rtol=1e-13)
    got = cg.special.xlogy(cg.tensor(x), cg.tensor(x))
    np.testing.assert_allclose(got.numpy(), torch.special.xlogy(torch.tensor(x),
                                                                torch.tensor(x)).numpy())
