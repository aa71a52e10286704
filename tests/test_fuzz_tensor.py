"""Fuzz targets for Tensor methods and operators:

- every dim-taking method, with dims in and out of range, does what torch does: the same values,
  or torch's IndexError (same range in the message), never a wrap-around;
- binary operators over bool/int32/int64/float32/float64 tensors, 0-d tensors and Python
  scalars give torch's dtype (float32 the default float type in both libraries) and
  values, or are refused where torch refuses;
- unary and binary ops propagate NaN/±inf as torch does, with gradients.
"""

import operator

import numpy as np
from fuzzing import assert_same, bounded, fuzz
from helpers import import_torch
from hypothesis import assume, given
from hypothesis import strategies as st

import convgrad as cg
import convgrad.functional as F

torch = import_torch()
DTYPES = ["bool", "int32", "int64", "float32", "float64"]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e-300]


@st.composite
def values(draw, shape, dtype="float64", specials=True):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.standard_normal(shape) * 3
    if dtype == "bool":
        return np.asarray(a > 0)
    if dtype.startswith("int"):
        return np.asarray(np.round(a).astype(dtype))
    if specials and a.size and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIAL))
    return np.asarray(a.astype(dtype))


def torch_outcome(fn):
    """torch's result (float32 the default float type in both libraries), or the exception."""
    try:
        return fn(), None
    except (IndexError, RuntimeError, TypeError, ValueError) as e:
        return None, e


DIM_METHODS = {   # ours, theirs (dim → result)
    "sum": (lambda a, d, k: a.sum(axis=d, keepdims=k), lambda a, d, k: a.sum(dim=d, keepdim=k)),
    "mean": (lambda a, d, k: a.mean(axis=d, keepdims=k),
             lambda a, d, k: a.mean(dim=d, keepdim=k)),
    "max": (lambda a, d, k: a.max(axis=d, keepdims=k), lambda a, d, k: a.amax(dim=d, keepdim=k)),
    "softmax": (lambda a, d, k: F.softmax(a, d), lambda a, d, k: torch.softmax(a, d)),
    "log_softmax": (lambda a, d, k: F.log_softmax(a, d),
                    lambda a, d, k: torch.log_softmax(a, d)),
    "flatten": (lambda a, d, k: F.flatten(a, d), lambda a, d, k: torch.flatten(a, d)),
    "swapaxes": (lambda a, d, k: a.swapaxes(d, 0), lambda a, d, k: a.swapaxes(d, 0)),
    "permute": (lambda a, d, k: a.permute(d, *range(1, a.ndim)) if a.ndim else a.permute(d),
                lambda a, d, k: a.permute(d, *range(1, a.ndim)) if a.ndim else a.permute(d)),
}


@fuzz(250)
@given(st.data())
def test_dims_in_and_out_of_range_follow_torch(data):
    name = data.draw(st.sampled_from(sorted(DIM_METHODS)), label="method")
    shape = tuple(data.draw(st.lists(st.integers(1, 3), max_size=4), label="shape"))
    dim = data.draw(st.integers(-6, 6) | st.lists(st.integers(-5, 5), min_size=1, max_size=3)
                    .map(tuple) if name in ("sum", "mean", "max") else st.integers(-6, 6),
                    label="dim")
    keep = data.draw(st.booleans())
    x = data.draw(values(shape, specials=False))
    ours, theirs = DIM_METHODS[name]
    if name == "permute" and dim % max(len(shape), 1) != 0 and -len(shape) <= dim < len(shape):
        dim = 0 if len(shape) else dim            # (a permutation needs distinct dims)
    want, error = torch_outcome(lambda: theirs(torch.tensor(x, requires_grad=True), dim, keep))
    if error is not None:
        allowed = IndexError if isinstance(error, IndexError) else (ValueError, TypeError,
                                                                      RuntimeError)
        try:
            bounded(ours, cg.tensor(x, requires_grad=True), dim, keep)
        except allowed as e:
            if isinstance(error, IndexError):
                assert str(error).split("(")[1] in str(e), (str(error), str(e))
            return
        raise AssertionError(f"{name}(dim={dim}) of shape {shape} was accepted; torch: {error}")
    t = cg.tensor(x, requires_grad=True)
    y = bounded(ours, t, dim, keep)
    assert_same(y.array, want.detach().numpy(), name, 1e-12, 1e-6)
    g = np.random.default_rng(1).standard_normal(y.shape)
    tx = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(theirs(tx, dim, keep), tx, torch.tensor(g))
    assert_same(cg.grad(y, t, cg.tensor(g))[0].array, tg.numpy(), f"{name} grad", 1e-12, 1e-2)


BINARY = ["add", "sub", "mul", "truediv", "pow", "lt", "le", "gt", "ge", "eq", "ne"]


@st.composite
def operand(draw):
    kind = draw(st.sampled_from(["tensor", "0-d", "scalar"]))
    if kind == "scalar":
        return draw(st.sampled_from([True, False, 0, 2, -3, 2.5, -0.5, np.nan, np.inf]))
    dtype = draw(st.sampled_from(DTYPES))
    return draw(values((3,) if kind == "tensor" else (), dtype))


@fuzz(300)
@given(a=operand(), b=operand(), op=st.sampled_from(BINARY))
def test_binary_operators_follow_torchs_promotion_and_values(a, b, op):
    if not isinstance(a, np.ndarray):
        a, b = b, a
    if not isinstance(a, np.ndarray):
        a = np.asarray(2.0)
    fn = getattr(operator, op)
    tb = torch.tensor(b) if isinstance(b, np.ndarray) else b
    if op == "pow" and a.dtype.kind in "biu" and np.asarray(b).dtype.kind in "biu":
        assume(not (np.asarray(b) < 0).any())     # torch truncates 1/x to 0: convgrad refuses
    want, error = torch_outcome(lambda: fn(torch.tensor(a), tb))
    ours = cg.tensor(a)
    if error is not None:
        try:
            bounded(fn, ours, b)
        except (ValueError, TypeError, RuntimeError):
            return
        raise AssertionError(f"{a!r} {op} {b!r} was accepted; torch: {error}")
    got = bounded(fn, ours, b)
    tol = 1e-4 if got.dtype == np.float32 else 1e-12
    assert_same(got.array, want.numpy(), f"{a.dtype} {op} {b!r}", tol, 1e-6)


UNARY = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": None, "relu": None,
         "abs": np.abs, "neg": None}


@fuzz(150)
@given(st.data())
def test_unary_ops_propagate_nan_and_inf_like_torch(data):
    name = data.draw(st.sampled_from(sorted(UNARY)), label="op")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    x = data.draw(values(tuple(data.draw(st.lists(st.integers(1, 3), max_size=3))), dtype))
    ours = (lambda t: -t) if name == "neg" else getattr(cg.Tensor, name)
    theirs = (lambda t: -t) if name == "neg" else getattr(torch, name)
    want, error = torch_outcome(lambda: theirs(torch.tensor(x)))
    if error is not None:
        try:
            bounded(ours, cg.tensor(x))
        except (ValueError, TypeError, RuntimeError):
            return
        raise AssertionError(f"{name} of {x.dtype} was accepted; torch: {error}")
    with np.errstate(all="ignore"):
        got = bounded(ours, cg.tensor(x))
    tol = 1e-4 if "float32" in (dtype, str(got.dtype)) else 1e-12     # helpers.TOLERANCE
    assert_same(got.array, want.numpy(), f"{name}({dtype})", tol, 1e-6)
    if dtype.startswith("float"):
        t, tx = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        g = np.ones(x.shape, dtype)
        with np.errstate(all="ignore"):
            ours_g = cg.grad(ours(t), t, cg.tensor(g))[0].array
        (tg,) = torch.autograd.grad(theirs(tx), tx, torch.tensor(g))
        # 1 − tanh² (and σ(1 − σ)) cancels near saturation: both frameworks round O(1) terms
        # there (and their tanh may differ by an ulp), so the gradients agree to round-off of
        # 1 (float32 ~1e-7, float64 ~1e-16) absolute, not relative to the tiny gradient
        assert_same(ours_g, tg.numpy(), f"{name}({dtype}) grad", tol, 1e-2)
