"""Pointwise math, logic and in-place twins (``convgrad/methods/pointwise.py``, ``logic.py``,
``inplace_ops.py``) against torch: one ``check_op`` line per differentiable op (value, dtype,
gradients, second order where torch has one), dtype promotion, boundary and tie gradients,
NaN/inf, in-place rules and error types."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, import_torch

import convgrad as cg

torch = import_torch()

NAN, INF = float("nan"), float("inf")
TIES = np.array([[1.0, 2.0, -1.0], [0.5, 0.5, 3.0]])
OTHER = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, 1.0]])
UNIT = np.array([[0.3, -0.7, 0.1], [0.9, -0.2, 0.5]])       # inside (−1, 1) for asin/acos

# (cg, torch, inputs, options): the same lambda text for both where the spelling is ours
CASES = {
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), [(3, 4)], {"positive": True}),
    "cg.sqrt": (lambda x: cg.sqrt(x), lambda x: torch.sqrt(x), [(3,)], {"positive": True}),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: x.rsqrt(), [(3, 4)], {"positive": True}),
    "square": (lambda x: x.square(), lambda x: x.square(), [(3, 4)], {}),
    "sin": (lambda x: x.sin(), lambda x: x.sin(), [(3, 4)], {}),
    "cos": (lambda x: cg.cos(x), lambda x: torch.cos(x), [(3, 4)], {}),
    "tan": (lambda x: x.tan(), lambda x: x.tan(), [UNIT], {}),
    "asin": (lambda x: x.asin(), lambda x: x.asin(), [UNIT], {}),
    "acos": (lambda x: x.acos(), lambda x: x.acos(), [UNIT], {}),
    "atan": (lambda x: x.atan(), lambda x: x.atan(), [(3, 4)], {}),
    "arctan2": (lambda y, x: cg.arctan2(y, x), lambda y, x: torch.arctan2(y, x),
                [(3, 4), (3, 4)], {}),
    "atan2 broadcast": (lambda y, x: y.atan2(x), lambda y, x: y.atan2(x), [(3, 4), (4,)], {}),
    "sinh": (lambda x: x.sinh(), lambda x: x.sinh(), [(3, 4)], {}),
    "cosh": (lambda x: x.cosh(), lambda x: x.cosh(), [(3, 4)], {}),
    "exp2": (lambda x: x.exp2(), lambda x: x.exp2(), [(3, 4)], {}),
    "log2": (lambda x: x.log2(), lambda x: x.log2(), [(3, 4)], {"positive": True}),
    "log10": (lambda x: cg.log10(x), lambda x: torch.log10(x), [(3, 4)], {"positive": True}),
    "erf": (lambda x: x.erf(), lambda x: x.erf(), [(3, 4)], {}),
    "erf tails": (lambda x: x.erf(), lambda x: x.erf(),
                  [np.array([-7.0, -4.5, -1.0, 0.2, 0.46875, 3.9, 4.0, 5.5, 30.0])], {}),
    "reciprocal": (lambda x: x.reciprocal(), lambda x: x.reciprocal(), [(3, 4)],
                   {"positive": True}),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5), [(3, 4)], {}),
    "clamp min": (lambda x: x.clamp(min=0.0), lambda x: x.clamp(min=0.0), [(3, 4)], {}),
    "clip max": (lambda x: cg.clip(x, max=0.2), lambda x: torch.clip(x, max=0.2), [(3, 4)], {}),
    "clamp at bounds": (lambda x: x.clamp(0.5, 2.0), lambda x: x.clamp(0.5, 2.0), [TIES], {}),
    "clamp tensor bounds": (lambda x, lo, hi: x.clamp(lo, hi), lambda x, lo, hi: x.clamp(lo, hi),
                            [(3, 4), (4,), (3, 1)], {}),
    "clamp min>max": (lambda x, lo, hi: x.clamp(lo + 1, hi - 1),
                      lambda x, lo, hi: x.clamp(lo + 1, hi - 1), [(3, 4), (3, 4), (3, 4)], {}),
    "maximum": (lambda x, y: x.maximum(y), lambda x, y: x.maximum(y), [(3, 4), (3, 4)], {}),
    "maximum ties": (lambda x, y: cg.maximum(x, y), lambda x, y: torch.maximum(x, y),
                     [TIES, OTHER], {}),
    "minimum ties broadcast": (lambda x, y: x.minimum(y), lambda x, y: x.minimum(y),
                               [TIES, OTHER[:1]], {}),
    "fmax ties": (lambda x, y: x.fmax(y), lambda x, y: x.fmax(y), [TIES, OTHER], {}),
    "fmin ties": (lambda x, y: cg.fmin(x, y), lambda x, y: torch.fmin(x, y), [TIES, OTHER], {}),
    "lerp scalar": (lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3), [(3, 4), (3, 4)],
                    {}),
    "lerp tensor weight": (lambda a, b, w: cg.lerp(a, b, w), lambda a, b, w: torch.lerp(a, b, w),
                           [(3, 4), (4,), (3, 4)], {}),
    "addcmul": (lambda a, b, c: a.addcmul(b, c, value=0.5),
                lambda a, b, c: a.addcmul(b, c, value=0.5), [(3, 4), (3, 4), (4,)], {}),
    "addcdiv": (lambda a, b, c: cg.addcdiv(a, b, c, value=-2),
                lambda a, b, c: torch.addcdiv(a, b, c, value=-2), [(3, 4), (3, 4), (3, 4)],
                {"positive": True}),
    "masked_fill": (lambda x: x.masked_fill(cg.tensor(TIES > 0.7), -1.0),
                    lambda x: x.masked_fill(torch.tensor(TIES > 0.7), -1.0), [(2, 3)], {}),
    "masked_fill tensor value": (
        lambda x, v: x.masked_fill(cg.tensor([True, False, True]), v.sum()),
        lambda x, v: x.masked_fill(torch.tensor([True, False, True]), v.sum()),
        [(2, 3), (2,)], {}),
    "hypot": (lambda x, y: x.hypot(y), lambda x, y: x.hypot(y), [(3, 4), (3, 4)], {}),
    "nan_to_num": (lambda x: x.nan_to_num(posinf=5.0), lambda x: x.nan_to_num(posinf=5.0),
                   [(3, 4)], {}),
    "frac": (lambda x: x.frac() * x, lambda x: x.frac() * x, [(3, 4)], {}),
    "floor": (lambda x: x.floor() * x, lambda x: x.floor() * x, [(3, 4)], {"order": 1}),
    "ceil": (lambda x: x.ceil() + x, lambda x: x.ceil() + x, [(3, 4)], {"order": 1}),
    "trunc": (lambda x: cg.trunc(x) + x, lambda x: torch.trunc(x) + x, [(3, 4)], {"order": 1}),
    "round": (lambda x: x.round() + x, lambda x: x.round() + x, [(3, 4)], {"order": 1}),
    "round decimals": (lambda x: x.round(decimals=1) + x, lambda x: x.round(decimals=1) + x,
                       [(3, 4)], {"order": 1}),
    "sign": (lambda x: x.sign() * x, lambda x: x.sign() * x, [TIES - 1], {"order": 1}),
    "sgn": (lambda x: cg.sgn(x) + x, lambda x: torch.sgn(x) + x, [TIES - 1], {"order": 1}),
    "abs at 0": (lambda x: cg.abs(x), lambda x: torch.abs(x), [TIES - 1], {"order": 1}),
    "remainder": (lambda x, y: x % y, lambda x, y: x % y, [(3, 4), (3, 4)], {"positive": True}),
    "remainder scalar": (lambda x: x.remainder(0.7), lambda x: x.remainder(0.7), [(3, 4)], {}),
    "fmod": (lambda x, y: cg.fmod(x, y), lambda x, y: torch.fmod(x, y), [(3, 4), (4,)], {}),
    "div floor": (lambda x, y: x.div(y, rounding_mode="floor") + x,
                  lambda x, y: x.div(y, rounding_mode="floor") + x, [(3, 4), (3, 4)],
                  {"order": 1}),
    "add alpha": (lambda x, y: x.add(y, alpha=2), lambda x, y: x.add(y, alpha=2),
                  [(3, 4), (4,)], {}),
    "sub alpha": (lambda x, y: cg.sub(x, y, alpha=0.5), lambda x, y: torch.sub(x, y, alpha=0.5),
                  [(3, 4), (3, 4)], {}),
    "mul/div/pow": (lambda x, y: cg.div(cg.mul(x, y), cg.pow(y, 2)),
                    lambda x, y: torch.div(torch.mul(x, y), torch.pow(y, 2)), [(3, 4), (3, 4)],
                    {"positive": True}),
    "neg/negative": (lambda x: cg.neg(x).negative().multiply(3), lambda x: torch.neg(
        x).negative().multiply(3), [(3, 4)], {}),
    "where scalar": (lambda x: cg.where(cg.tensor(TIES > 0.7), x, 0.0),
                     lambda x: torch.where(torch.tensor(TIES > 0.7), x, 0.0), [(2, 3)], {}),
    "Tensor.where": (lambda x, y: x.where(cg.tensor(TIES > 0.7), y),
                     lambda x, y: x.where(torch.tensor(TIES > 0.7), y), [(2, 3), (3,)], {}),
    "softmax method": (lambda x: x.softmax(1), lambda x: x.softmax(1), [(3, 4)], {}),
    "log_softmax method": (lambda x: x.log_softmax(-1), lambda x: x.log_softmax(-1), [(3, 4)],
                           {}),
    "top-level twins": (lambda x: cg.sigmoid(x) * cg.tanh(x) + cg.exp(x) + cg.log1p(cg.relu(x)),
                        lambda x: torch.sigmoid(x) * torch.tanh(x) + torch.exp(x) + torch.log1p(
                            torch.relu(x)), [(3, 4)], {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_against_torch(name):
    cg_fn, torch_fn, inputs, options = CASES[name]
    check_op(cg_fn, torch_fn, *inputs, **options)


def _both(expr: str, **arrays):
    """Evaluate expr with ``m`` = convgrad then torch (arrays become tensors of each)."""
    out = []
    for m in (cg, torch):
        env = {k: m.tensor(v) for k, v in arrays.items()}
        out.append(eval(expr, {"m": m, "np": np, **env}))  # noqa: S307
    return out


def _same(got, want):
    if isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    if isinstance(want, bool):
        assert got is want
        return
    assert str(got.dtype).replace("convgrad.", "") == str(want.dtype).replace("torch.", ""), (
        got.dtype, want.dtype)
    np.testing.assert_allclose(got.numpy().astype(float), want.numpy().astype(float),
                               rtol=1e-6, equal_nan=True)


INTS, FLOATS = np.array([-7, 2, 3, 0]), np.array([1.5, -2.5, NAN, INF])
BOOLS = np.array([True, False, True, False])
EXPRESSIONS = [
    "m.sqrt(i)", "i.sin()", "b.exp2()", "i.erf()", "i.reciprocal()", "i.rsqrt()", "m.atan2(i, i)",
    "i.clamp(2.5)", "i.clamp(min=1)", "b.clamp(0)", "f.clamp(0, 1)", "f.clamp(max=m.tensor(0.))",
    "m.clamp(f, m.tensor([0., 0, 0, 0], dtype=m.float64))", "f.clamp(float('nan'))",
    "f.clamp(m.tensor([NAN, 0., 0., 0.]))",
    "i.sign()", "b.sign()", "f.sign()", "i.floor()", "i.round()", "i.square()", "b.square()",
    "m.round(m.tensor([0.5, 1.5, 2.5, -0.5, -1.5]))",
    "m.round(m.tensor([1.25, 2.675, 15., -35.]), decimals=1)",
    "m.tensor([15., 25., -35., 1234.]).round(decimals=-1)",
    "m.maximum(i, f)", "m.maximum(b, b)", "m.minimum(f, m.tensor([NAN, 0., 0., 9.]))",
    "m.fmax(f, m.tensor([NAN, 0., NAN, 9.]))", "m.fmin(i, f)", "m.nan_to_num(f)",
    "m.nan_to_num(f, nan=1.0, neginf=-2.0)", "m.nan_to_num(i)", "m.nan_to_num(f.half())",
    "i.masked_fill(b, 2.5)", "i.masked_fill(b, m.tensor(2.5))",
    "f.float().masked_fill(b, m.tensor(2.5, dtype=m.float64))",
    "i.addcmul(i, f)", "i % 2", "i % 2.5", "i % -2", "-7 % i.clamp(1)", "7.5 % i", "i // 2",
    "i // 2.5", "i // -2", "f // 2", "f % -2", "m.fmod(i, 2)", "m.fmod(f, -2)",
    "m.remainder(2, i.clamp(1))", "f // 0", "i.floor_divide(3)", "i & 3", "b & True", "b | b",
    "i ^ b", "~i", "~b", "i << 1", "1 << i.clamp(0)", "i >> 1", "b << 1", "3 & i", "True ^ b",
    "m.bitwise_and(i, 3)", "m.eq(i, 2.0)", "i.eq(f)", "i == 2", "f != f", "i < 2.5", "i.ge(f)",
    "m.greater(i, 0)", "m.less_equal(f, 1)", "m.not_equal(b, True)",
    "m.equal(i, i.float())", "m.equal(i, i[:2])", "m.equal(f, f)", "m.allclose(i, i)",
    "m.isclose(i, i + 1, atol=1)", "m.isclose(f, f, equal_nan=True)", "m.isnan(f)", "m.isnan(i)",
    "m.isinf(f)", "m.isfinite(f)", "m.isposinf(f)", "m.isneginf(-f)", "m.isposinf(i)",
    "m.logical_and(i, f)", "m.logical_not(f)", "m.logical_or(b, i)", "m.logical_xor(i, b)",
    "i.div(2, rounding_mode='floor')", "i.div(2, rounding_mode='trunc')",
    "f.div(2, rounding_mode='trunc')", "i.add(f, alpha=2)", "f.add(f, alpha=2)",
    "m.add(2, i)", "m.mul(i, 2.5)", "i.true_divide(2)", "i.divide(4)", "m.pow(2, i.clamp(0))",
    "m.pow(i, 2)", "i.pow(0.5)", "m.neg(i)", "i.negative()", "m.subtract(i, 1)",
    "m.where(b)", "m.where(b, 1.0, 0)", "m.where(b, 1, 0)", "m.where(b, i, 2.5)",
    "m.where(b, f, 2)", "m.where(b, f.double(), f.float())", "m.abs(i)", "m.exp(i)",
    "m.lerp(f, f, 2)", "m.hypot(f, f)",
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_values_and_dtypes(expr):
    got, want = _both(expr.replace("NAN", "float('nan')"), i=INTS, f=FLOATS, b=BOOLS)
    _same(got, want)


ERRORS = [
    ("m.sqrt(2.0)", TypeError), ("m.maximum(f, 2.0)", TypeError), ("m.atan2(f, 2.0)", TypeError),
    ("m.hypot(f, 1.0)", TypeError), ("m.clamp(f)", RuntimeError), ("i.frac()", NotImplementedError),
    ("b.floor()", NotImplementedError), ("i.round(decimals=1)", NotImplementedError),
    ("m.lerp(f, f.float(), 0.5)", RuntimeError), ("m.lerp(i, i, 0.5)", NotImplementedError),
    ("m.addcdiv(i, i, i)", RuntimeError), ("f.masked_fill(i, 1.)", RuntimeError),
    ("f.masked_fill(b, m.tensor([1., 2, 3, 4]))", RuntimeError),
    ("m.hypot(i, i)", NotImplementedError),
    ("m.neg(b)", RuntimeError), ("i.sub(b)", RuntimeError), ("m.where(i, f, f)", RuntimeError),
    ("i // 0", RuntimeError), ("i % 0", RuntimeError), ("b // b", NotImplementedError),
    ("b % b", NotImplementedError), ("f & 1", NotImplementedError),
    ("i & 1.5", NotImplementedError),
    ("~f", TypeError), ("m.allclose(f, f.float())", RuntimeError),
    ("m.logical_xor(i, 2)", TypeError), ("i.div(2, rounding_mode='x')", RuntimeError),
    ("i.add(2, alpha=1.5)", RuntimeError), ("i.pow(-1)", RuntimeError),
    ("i.clamp_(0.5)", RuntimeError), ("i.sqrt_()", RuntimeError), ("b.__iand__(1)", RuntimeError),
    ("i.__imod__(2.5)", RuntimeError), ("m.zeros(2, 3, 3).fill_diagonal_(1)", RuntimeError),
    ("i.addcmul_(i, f)", RuntimeError), ("f.lerp_(f.float(), 0.5)", RuntimeError),
]


@pytest.mark.parametrize("expr, error", ERRORS)
def test_error_types_match_torch(expr, error):
    for m in (torch, cg):
        env = {"m": m, "i": m.tensor(INTS), "f": m.tensor(FLOATS), "b": m.tensor(BOOLS)}
        with pytest.raises(error):
            eval(expr, env)  # noqa: S307


def test_promotion_float32_float64_and_scalars():
    a32, a64 = np.ones(3, np.float32), np.ones(3)
    for expr in ("m.maximum(x, y)", "m.atan2(x, y)", "m.fmod(x, y)", "x.clamp(y)", "x % y",
                 "m.hypot(x, y)", "x.sqrt() + 2.5", "m.remainder(x, 2)", "x.lerp(x, y.float())"):
        got, want = _both(expr, x=a32, y=a64)
        _same(got, want)


def test_nan_propagation_and_gradients():
    x = cg.tensor([NAN, 1.0, 2.0], requires_grad=True)
    t = torch.tensor([NAN, 1.0, 2.0], requires_grad=True)
    o, to = cg.tensor([0.0, NAN, 2.0]), torch.tensor([0.0, NAN, 2.0])
    for fn in ("maximum", "minimum", "fmax", "fmin"):
        x.grad, t.grad = None, None
        y, ty = getattr(cg, fn)(x, o), getattr(torch, fn)(t, to)
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy().astype(np.float32))
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    assert np.isnan(cg.tensor([NAN]).clamp(0, 1).item())


# -- in-place twins ------------------------------------------------------------------------

INPLACE = ["sqrt_()", "rsqrt_()", "exp_()", "log_()", "abs_()", "neg_()", "sigmoid_()",
           "tanh_()", "sin_()", "cos_()", "floor_()", "ceil_()", "round_()",
           "round_(decimals=1)", "trunc_()", "sign_()", "reciprocal_()", "clamp_(0.5, 1.2)",
           "clip_(max=1.0)", "pow_(2)", "pow_(m.tensor([1.5, 2., 0.5]))",
           "masked_fill_(m.tensor([True, False, True]), 0.25)", "addcmul_(c, c, value=0.5)",
           "addcdiv_(c, c + 1, value=-2)", "lerp_(c, 0.25)", "lerp_(c, c)", "erf_()",
           "square_()", "frac_()", "nan_to_num_()", "__imod__(0.7)",
           "__ipow__(3)"]


@pytest.mark.parametrize("call", INPLACE)
def test_inplace_twin_matches_torch(call):
    data, cdata = np.array([0.7, 1.3, 2.4]), np.array([0.5, 2.0, 1.5])
    results = []
    for m in (cg, torch):
        # without a graph (the fast NumPy path)
        x, c = m.tensor(data), m.tensor(cdata)
        same = eval(f"x.{call}", {"m": m, "x": x, "c": c})  # noqa: S307
        assert same is x
        # with a graph: through a non-leaf, gradients to the leaf
        leaf = m.tensor(data, requires_grad=True)
        c2 = m.tensor(cdata, requires_grad=True)
        y = leaf * 1.5
        eval(f"y.{call}", {"m": m, "y": y, "c": c2})  # noqa: S307
        (y * m.tensor([1.0, 2.0, 3.0], dtype=m.float64)).sum().backward()
        grads = [v.grad.numpy() if v.grad is not None else np.zeros(3) for v in (leaf, c2)]
        results.append((x.numpy().copy(), y.detach().numpy().copy(), *grads))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call", ["sqrt_()", "clamp_(0, 1)", "masked_fill_(m.tensor(True), 0.)",
                                  "addcmul_(x, x)", "__ipow__(2)", "fill_diagonal_(1.0)"])
def test_inplace_on_leaf_requiring_grad_refused(call):
    for m in (torch, cg):
        x = m.ones(2, 2, requires_grad=True) if hasattr(m, "ones") else m.tensor(
            np.ones((2, 2)), requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            eval(f"x.{call}", {"m": m, "x": x})  # noqa: S307


def test_inplace_version_counter_error_at_backward():
    for m in (torch, cg):
        x = m.tensor([0.5, 1.0], requires_grad=True)
        a = x * 1
        b = a.sin()                       # sin's backward reads a
        a.exp_()
        with pytest.raises(RuntimeError):
            b.sum().backward()


def test_floor_divide_has_no_derivative():
    for m in (torch, cg):
        leaf = m.tensor([0.7, 1.3], requires_grad=True)
        y = leaf * 1.5
        y //= 0.3
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="derivative for .*floor_divide"):
            y.sum().backward()
        x = m.tensor([0.7, 1.3])
        x //= 0.3                     # without a graph: fine
        assert x.tolist() == [2.0, 4.0]


def test_inplace_integer_and_bitwise():
    for expr in ("x.__iand__(m.tensor([1, 0, 3]))", "x.__ior__(4)", "x.__ixor__(x)",
                 "x.__ifloordiv__(2)", "x.__imod__(2)", "x.__ipow__(2)", "x.floor_()",
                 "x.abs_()", "x.neg_()", "x.clamp_(0, 2)", "x.bitwise_left_shift_(1)"):
        results = []
        for m in (cg, torch):
            x = m.tensor([-3, 5, 7])
            assert eval(expr, {"m": m, "x": x}) is x  # noqa: S307
            results.append(x.numpy().copy())
        np.testing.assert_array_equal(*results, err_msg=expr)


def test_fill_diagonal_wrap():
    for shape, wrap in (((3, 3), False), ((5, 2), True), ((5, 2), False), ((2, 4), True)):
        got = cg.tensor(np.zeros(shape)).fill_diagonal_(2.0, wrap=wrap).numpy()
        want = torch.zeros(shape, dtype=torch.float64).fill_diagonal_(2.0, wrap=wrap).numpy()
        np.testing.assert_array_equal(got, want)
    x = cg.tensor(np.ones((2, 2)), requires_grad=True)
    y = x * 3
    y.fill_diagonal_(0.0)
    y.sum().backward()
    assert x.grad.tolist() == [[0.0, 3.0], [3.0, 0.0]]


def test_fast_path_adam_idiom():
    p, m_, v = (cg.tensor(np.full(3, 1.0)) for _ in range(3))
    g = cg.tensor(np.array([0.1, -0.2, 0.3]))
    with cg.no_grad():
        v.mul_(0.9).addcmul_(g, g, value=0.1)
        p.addcdiv_(m_.add_(g), v.sqrt().add_(1e-8), value=-0.01)
    tp, tm, tv = (torch.full((3,), 1.0, dtype=torch.float64) for _ in range(3))
    tg = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    tv.mul_(0.9).addcmul_(tg, tg, value=0.1)
    tp.addcdiv_(tm.add_(tg), tv.sqrt().add_(1e-8), value=-0.01)
    np.testing.assert_allclose(p.numpy(), tp.numpy(), rtol=1e-12)
