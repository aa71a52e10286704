"""Every activation against torch: values, dtypes, first and second derivatives (check_op), the
NaN/inf/tail grid, signatures, reprs, in-place semantics, rrelu's noise, the softmax warning;
the compiled kernels (activation_kernels) against torch and the NumPy path."""

import inspect
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from helpers import check_op, import_torch

import convgrad as cg
import convgrad.nn as nn
import convgrad.nn.functional as F
from convgrad.engine.settings import settings
from convgrad.functional import activation_kernels
from convgrad.ops import jit

torch = import_torch()
tF = torch.nn.functional  # noqa: N816

# ----------------------------------------------------------------------------- check_op
# name: (our call, torch's call, input shapes or arrays); options as torch spells them
EDGES = np.array([-7.0, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 6.0, 7.0]) + 0.25
CASES = {
    "relu": (F.relu, tF.relu, [(3, 5)]),
    "relu6": (F.relu6, tF.relu6, [EDGES * 2]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: tF.leaky_relu(x, 0.2), [(3, 5)]),
    "leaky_relu_negative": (lambda x: F.leaky_relu(x, -1.5), lambda x: tF.leaky_relu(x, -1.5),
                            [(3, 5)]),
    "rrelu_eval": (lambda x: F.rrelu(x, 0.1, 0.4), lambda x: tF.rrelu(x, 0.1, 0.4), [(3, 5)]),
    "elu": (F.elu, tF.elu, [(3, 5)]),
    "elu_alpha": (lambda x: F.elu(x, 0.7), lambda x: tF.elu(x, 0.7), [(3, 5)]),
    "selu": (F.selu, tF.selu, [(3, 5)]),
    "celu": (F.celu, tF.celu, [(3, 5)]),
    "celu_alpha": (lambda x: F.celu(x, 2.5), lambda x: tF.celu(x, 2.5), [(3, 5)]),
    "celu_negative_alpha": (lambda x: F.celu(x, -0.5), lambda x: tF.celu(x, -0.5), [(3, 5)]),
    "gelu": (F.gelu, tF.gelu, [(3, 5)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: tF.gelu(x, approximate="tanh"), [(3, 5)]),
    "silu": (F.silu, tF.silu, [(3, 5)]),
    "mish": (F.mish, tF.mish, [(3, 5)]),
    "hardtanh": (F.hardtanh, tF.hardtanh, [EDGES]),
    "hardtanh_bounds": (lambda x: F.hardtanh(x, -2.0, 0.5), lambda x: tF.hardtanh(x, -2.0, 0.5),
                        [EDGES]),
    "hardswish": (F.hardswish, tF.hardswish, [EDGES]),
    "hardsigmoid": (F.hardsigmoid, tF.hardsigmoid, [EDGES], 1),   # torch: no ∂² for it
    "hardshrink": (F.hardshrink, tF.hardshrink, [EDGES / 4]),
    "hardshrink_lambd": (lambda x: F.hardshrink(x, 1.5), lambda x: tF.hardshrink(x, 1.5),
                         [EDGES]),
    "softshrink": (F.softshrink, tF.softshrink, [EDGES / 4]),
    "softshrink_lambd": (lambda x: F.softshrink(x, 1.5), lambda x: tF.softshrink(x, 1.5),
                         [EDGES]),
    "tanhshrink": (F.tanhshrink, tF.tanhshrink, [(3, 5)]),
    "tanhshrink_small": (F.tanhshrink, tF.tanhshrink, [EDGES / 50]),
    "sigmoid": (F.sigmoid, tF.sigmoid, [(3, 5)]),
    "tanh": (F.tanh, tF.tanh, [(3, 5)]),
    "softplus": (F.softplus, tF.softplus, [(3, 5)]),
    "softplus_options": (lambda x: F.softplus(x, 2.0, 1.0), lambda x: tF.softplus(x, 2.0, 1.0),
                         [(3, 5)]),
    "softsign": (F.softsign, tF.softsign, [(3, 5)]),
    "logsigmoid": (F.logsigmoid, tF.logsigmoid, [(3, 5)]),
    "threshold": (lambda x: F.threshold(x, 0.3, -2.0), lambda x: tF.threshold(x, 0.3, -2.0),
                  [(3, 5)]),
    "glu": (F.glu, tF.glu, [(3, 4)]),
    "glu_dim0": (lambda x: F.glu(x, 0), lambda x: tF.glu(x, 0), [(4, 3)]),
    "softmax": (lambda x: F.softmax(x, 1), lambda x: tF.softmax(x, 1), [(3, 4, 2)]),
    "log_softmax": (lambda x: F.log_softmax(x, -1), lambda x: tF.log_softmax(x, -1), [(3, 5)]),
    "softmin": (lambda x: F.softmin(x, 0), lambda x: tF.softmin(x, 0), [(3, 5)]),
    "softmax_dtype": (lambda x: F.softmax(x, 1, dtype=cg.float64),
                      lambda x: tF.softmax(x, 1, dtype=torch.float64), [(3, 5)]),
    "prelu_one": (lambda x, w: F.prelu(x, w), tF.prelu, [(2, 3, 4), (1,)]),
    "prelu_channels": (lambda x, w: F.prelu(x, w), tF.prelu, [(2, 3, 4), (3,)]),
    "prelu_0d_weight": (lambda x, w: F.prelu(x, w), tF.prelu, [(2, 3), np.array(0.3)]),
    "prelu_1d_input": (lambda x, w: F.prelu(x, w), tF.prelu, [(5,), (1,)]),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name):
    ours, theirs, inputs, *order = CASES[name]
    check_op(ours, theirs, *inputs, order=order[0] if order else 2)


def test_every_function_has_a_case():
    names = {"relu", "relu6", "leaky_relu", "prelu", "rrelu", "elu", "selu", "celu", "gelu",
             "silu", "mish", "hardtanh", "hardswish", "hardsigmoid", "hardshrink", "softshrink",
             "tanhshrink", "sigmoid", "tanh", "softplus", "softsign", "logsigmoid", "softmax",
             "log_softmax", "softmin", "threshold", "glu"}
    assert names <= set(F.__all__)
    assert all(any(c == n or c.startswith(n + "_") for c in CASES) for n in names)


# --------------------------------------------------------------------- the extreme-value grid
GRID = np.array([-1e3, -40, -3, -1, -0.5, -1e-8, -0.0, 0.0, 1e-8, 0.5, 1, 2.5, 3, 6, 20, 21,
                 40, 1e3, np.nan, np.inf, -np.inf, -2.5])
GRID_CALLS = {
    "relu": {}, "relu6": {}, "leaky_relu": {"negative_slope": 0.2}, "rrelu": {},
    "elu": {"alpha": 0.5}, "selu": {}, "celu": {"alpha": 2.0}, "gelu": {},
    "gelu_tanh": {"approximate": "tanh"}, "silu": {}, "mish": {},
    "hardtanh": {"min_val": -2.5, "max_val": 3.0}, "hardswish": {}, "hardsigmoid": {},
    "hardshrink": {"lambd": 1.0}, "softshrink": {"lambd": 1.0}, "tanhshrink": {},
    "sigmoid": {}, "tanh": {}, "softplus": {}, "softplus_options": {"beta": 2.0, "threshold": 6.0},
    "softsign": {}, "logsigmoid": {}, "threshold": {"threshold": 1.0, "value": -7.0},
    "glu": {}, "softmax": {"dim": 0}, "log_softmax": {"dim": 0}, "softmin": {"dim": 0},
}
# where convgrad deliberately differs from torch on the grid: (call, dtype or None, what, x)
DEVIATIONS = {
    # torch's elu backward at NaN depends on the element's position (vector loop: NaN, scalar
    # tail loop: g); convgrad is the vector loop's (see test_functional's elu NaN test)
    **{(n, None, w, "nan"): "position" for n in ("elu", "selu", "celu") for w in ("g", "gg")},
    ("gelu", "float32", "y", "inf"): "torch's float32 erf kernel gives NaN; float64 gives inf",
    ("mish", None, "gg", "1000.0"): "torch's double backward overflows (inf/inf); exact is 0",
}


def _torch_call(name, opts):
    base = name.split("_options")[0].split("_tanh")[0]
    return lambda x: getattr(tF, base)(x, **opts), lambda x: getattr(F, base)(x, **opts)


def _close(got, want, dtype):
    """Elementwise: NaN and ±inf at the same places, the rest within rtol of max(|want|,
    floor) (below the floor values are round-off of O(1) terms in both frameworks)."""
    rtol, floor = (1e-12, 1e-3) if dtype == "float64" else (1e-5, 1.0)
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    same_nan = np.isnan(got) == np.isnan(want)
    with np.errstate(invalid="ignore"):
        near = (got == want) | (np.abs(got - want) <= rtol * np.maximum(np.abs(want), floor))
    return same_nan & (near | np.isnan(want))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", GRID_CALLS)
def test_the_extreme_grid_matches_torch(name, dtype):
    theirs, ours = _torch_call(name, GRID_CALLS[name])
    x = GRID.astype(dtype)
    xc, xt = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with np.errstate(all="ignore"):
        y, yt = ours(xc), theirs(xt)
        g = np.linspace(0.5, 1.5, y.shape[0]).astype(dtype)
        (gc,) = cg.grad(y, [xc], cg.tensor(g), create_graph=True)
        (gt,) = torch.autograd.grad(yt, [xt], torch.tensor(g), create_graph=True)
        v = np.linspace(-1, 1, x.size).astype(dtype)
        (ggc,) = (cg.grad((gc * cg.tensor(v)).sum(), [xc], allow_unused=True)
                  if gc.requires_grad else (None,))       # (piecewise linear: ∂² = 0)
        ggt = (torch.autograd.grad((gt * torch.tensor(v)).sum(), [xt], allow_unused=True)[0]
               if gt.requires_grad and name != "hardsigmoid" else None)   # (torch has no ∂²)
    ggc = np.zeros(x.shape, dtype) if ggc is None else ggc.numpy()
    ggt = np.zeros(x.shape, dtype) if ggt is None else ggt.numpy()
    for what, a, b in (("y", y.detach().numpy(), yt.detach().numpy()),
                       ("g", gc.detach().numpy(), gt.detach().numpy()), ("gg", ggc, ggt)):
        assert a.dtype == b.dtype, f"{name} {what}: dtype {a.dtype} != {b.dtype}"
        ok = _close(a, b, dtype)
        points = x if a.shape == x.shape else x[x.size // 2:]     # glu: the gate half
        for i in np.flatnonzero(~ok):
            key = str(float(points[i]))
            if not any((name, d, what, key) in DEVIATIONS for d in (None, dtype)):
                pytest.fail(f"{name} {dtype} {what} at x={key}: {a[i]!r} vs torch {b[i]!r}")


@pytest.mark.parametrize("fn, x, want", [
    ("elu", -40.0, 4.248354255291589e-18), ("selu", -40.0, 7.469e-18),
    ("celu", -60.0, 8.75651076269652e-27), ("logsigmoid", -40.0, 1.0),
    ("tanhshrink", 1e-8, 1e-16), ("tanhshrink", 0.1, 0.009933599239785286),
])
def test_derivatives_keep_their_tails(fn, x, want):
    """elu′ by e^x (not expm1 + 1: 0 at −40), logsigmoid′ = σ(−x), tanhshrink′ = tanh²x."""
    t = cg.tensor(np.array([x]), requires_grad=True)
    getattr(F, fn)(t).sum().backward()
    np.testing.assert_allclose(t.grad.array, [want], rtol=1e-3)


@pytest.mark.parametrize("fn, x, want", [             # (40-digit mpmath values)
    ("tanhshrink", 1e-8, 3.333333333333333e-25), ("tanhshrink", 1e-3, 3.33333200000054e-10),
    ("tanhshrink", -0.149, -0.0010929449038180842), ("tanhshrink", 0.151, 0.0011372790188299534),
    ("logsigmoid", -800.0, -800.0), ("logsigmoid", 40.0, -4.248354255291589e-18),
    ("softplus", -40.0, 4.248354255291589e-18), ("mish", -40.0, -1.6993417021166355e-16)])
def test_tails_are_exact(fn, x, want):
    """torch's x − tanh x is 0 at 1e−8; convgrad's series keeps it."""
    np.testing.assert_allclose(getattr(F, fn)(np.array(x)).item(), want, rtol=1e-14)


# ------------------------------------------------------------------- signatures and reprs
LAYERS = ["ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
          "Mish", "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink",
          "Tanhshrink", "Sigmoid", "Tanh", "Softplus", "Softsign", "LogSigmoid", "Softmax",
          "LogSoftmax", "Softmin", "Softmax2d", "Threshold", "GLU"]


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", LAYERS)
def test_layer_signatures_are_torchs(name):
    assert _params(getattr(nn, name)) == _params(getattr(torch.nn, name))


PY_FUNCTIONS = ["relu", "relu6", "leaky_relu", "rrelu", "elu", "selu", "celu", "silu", "mish",
                "hardtanh", "hardswish", "hardsigmoid", "tanhshrink", "sigmoid", "tanh",
                "softsign", "softmax", "log_softmax", "softmin", "threshold", "glu"]
BUILTINS = {"prelu": ["input", "weight"], "gelu": ["input", "approximate"],
            "hardshrink": ["input", "lambd"], "softshrink": ["input", "lambd"],
            "softplus": ["input", "beta", "threshold"], "logsigmoid": ["input"]}


@pytest.mark.parametrize("name", PY_FUNCTIONS)
def test_function_signatures_are_torchs(name):
    theirs = getattr(tF, name)
    assert _params(getattr(F, name)) == _params(theirs)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_function_signatures_are_torchs_documented_ones(name):
    ours = inspect.signature(getattr(F, name)).parameters
    assert list(ours) == BUILTINS[name]
    doc = getattr(tF, name).__doc__
    for p in list(ours.values())[2 if name == "prelu" else 1:]:
        assert f"{p.name}={p.default!r}".replace("'", "") in doc.replace("'", "").replace(
            " = ", "=").replace("=1,", "=1.0,").replace("=20)", "=20.0)"), (name, p)


REPRS = [("ReLU", (), {}), ("ReLU", (True,), {}), ("ReLU6", (), {}), ("ReLU6", (True,), {}),
         ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}), ("LeakyReLU", (1,), {}),
         ("PReLU", (), {}), ("PReLU", (3, 0.1), {}), ("RReLU", (), {}),
         ("RReLU", (0.1, 0.2, True), {}), ("ELU", (), {}), ("ELU", (2, True), {}),
         ("SELU", (), {}), ("SELU", (True,), {}), ("CELU", (1.5,), {}),
         ("CELU", (), {"inplace": True}), ("GELU", (), {}), ("GELU", ("tanh",), {}),
         ("SiLU", (True,), {}), ("Mish", (), {}), ("Mish", (True,), {}), ("Hardtanh", (), {}),
         ("Hardtanh", (-2, 3.5, True), {}), ("Hardswish", (True,), {}),
         ("Hardsigmoid", (True,), {}), ("Hardshrink", (), {}), ("Hardshrink", (1,), {}),
         ("Softshrink", (0.25,), {}), ("Tanhshrink", (), {}), ("Sigmoid", (), {}),
         ("Tanh", (), {}), ("Softplus", (), {}), ("Softplus", (2, 10), {}),
         ("Softsign", (), {}), ("LogSigmoid", (), {}), ("Softmax", (), {}),
         ("Softmax", (1,), {}), ("LogSoftmax", (), {"dim": -1}), ("Softmin", (0,), {}),
         ("Softmax2d", (), {}), ("Threshold", (0.1, 20), {}), ("Threshold", (1, 2.0, True), {}),
         ("GLU", (), {}), ("GLU", (0,), {})]


@pytest.mark.parametrize("name, args, kwargs", REPRS)
def test_reprs_are_torchs(name, args, kwargs):
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(
        getattr(torch.nn, name)(*args, **kwargs))


def test_hardtanh_takes_the_deprecated_spellings_with_torchs_warning():
    with pytest.warns(FutureWarning, match="`min_value` is deprecated and renamed to `min_val`"):
        layer = nn.Hardtanh(min_value=-2)
    assert repr(layer) == "Hardtanh(min_val=-2, max_val=1.0)"
    with pytest.warns(FutureWarning, match="`max_value` is deprecated"):
        assert nn.Hardtanh(max_value=3).max_val == 3


# ------------------------------------------------------------------------------- layers
@pytest.mark.parametrize("name, args", [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.3,)), ("RReLU", (0.1, 0.3)), ("ELU", (0.5,)),
    ("SELU", ()), ("CELU", (2.0,)), ("GELU", ("tanh",)), ("SiLU", ()), ("Mish", ()),
    ("Hardtanh", (-0.5, 2.0)), ("Hardswish", ()), ("Hardsigmoid", ()), ("Hardshrink", (0.3,)),
    ("Softshrink", (0.3,)), ("Tanhshrink", ()), ("Sigmoid", ()), ("Tanh", ()),
    ("Softplus", (2.0, 3.0)), ("Softsign", ()), ("LogSigmoid", ()), ("Softmax", (1,)),
    ("LogSoftmax", (0,)), ("Softmin", (-1,)), ("Softmax2d", ()), ("Threshold", (0.2, -1.0)),
    ("GLU", (3,)), ("PReLU", (3, 0.1))])
def test_layers_match_torch(name, args):
    ours, theirs = getattr(nn, name)(*args).double(), getattr(torch.nn, name)(*args).double()
    ours.eval(), theirs.eval()                      # (RReLU: its mean slope)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2)) * 3
    xc, xt = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xc), theirs(xt)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_prelu_layer_has_torchs_parameter_and_factory_kwargs():
    layer = nn.PReLU(4, 0.1, device="cpu", dtype=cg.float64)
    assert layer.weight.dtype == np.float64 and layer.weight.shape == (4,)
    assert list(layer.state_dict()) == ["weight"]
    np.testing.assert_array_equal(layer.weight.detach().numpy(), np.full(4, 0.1))
    assert nn.PReLU().weight.dtype == np.float32
    with pytest.raises(TypeError, match="PReLU: dtype must be float32 or float64"):
        nn.PReLU(dtype=cg.int64)
    with pytest.raises(RuntimeError, match="PReLU: convgrad computes on the CPU only"):
        nn.PReLU(device="cuda")


# ---------------------------------------------------------------------------- in place
INPLACE = {"relu": {}, "relu6": {}, "leaky_relu": {"negative_slope": 0.2}, "elu": {},
           "selu": {}, "celu": {"alpha": 1.5}, "silu": {}, "mish": {}, "hardtanh": {},
           "hardswish": {}, "hardsigmoid": {}, "threshold": {"threshold": 0.1, "value": 2.0},
           "rrelu": {}}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_modifies_and_returns_the_input(name):
    opts = INPLACE[name]
    x = np.random.default_rng(1).standard_normal(7) * 4
    t = cg.tensor(x)
    version = t._version
    out = getattr(F, name)(t, inplace=True, **opts)
    assert out is t and t._version > version
    np.testing.assert_allclose(t.numpy(), getattr(tF, name)(torch.tensor(x), **opts).numpy(),
                               rtol=1e-12)
    a = x.copy()
    getattr(F, name)(a, inplace=True, **opts)          # an ndarray changes too
    np.testing.assert_array_equal(a, t.numpy())


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_on_a_leaf_requiring_grad_is_torchs_error(name):
    opts = INPLACE[name]
    leaf = cg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        getattr(F, name)(leaf, inplace=True, **opts)
    with pytest.raises(RuntimeError):
        getattr(tF, name)(torch.ones(3, requires_grad=True), inplace=True, **opts)


@pytest.mark.parametrize("name", sorted(set(INPLACE) - {"rrelu"}))
def test_inplace_inside_a_graph_has_torchs_gradient(name):
    opts = INPLACE[name]
    x = np.random.default_rng(2).standard_normal(9) * 4
    xc, xt = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hc, ht = xc * 2, xt * 2
    yc = getattr(F, name)(hc, inplace=True, **opts)
    yt = getattr(tF, name)(ht, inplace=True, **opts)
    assert yc is hc
    (yc * yc).sum().backward()
    (yt * yt).sum().backward()        # (torch's in-place elu′ is y + α: less exact in the tail)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_inplace_layers_modify_their_input():
    t = cg.tensor(np.array([-1.0, 2.0]))
    assert nn.ReLU(inplace=True)(t) is t and t.tolist() == [0.0, 2.0]
    assert nn.Hardtanh(-0.5, 1.0, True)(t) is t and t.tolist() == [0.0, 1.0]


# ------------------------------------------------------------------------------ rrelu
def test_rrelu_training_draws_slopes_from_convgrads_generator():
    x = -np.abs(np.random.default_rng(3).standard_normal(2000)) - 0.1
    x[:10] = np.abs(x[:10])
    cg.manual_seed(5)
    t = cg.tensor(x, requires_grad=True)
    y = F.rrelu(t, 0.1, 0.3, training=True)
    slopes = y.detach().numpy() / x
    assert np.all(slopes[:10] == 1)
    assert slopes[10:].min() >= 0.1 and slopes[10:].max() <= 0.3 and slopes[10:].std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), slopes, rtol=1e-12)
    cg.manual_seed(5)
    np.testing.assert_array_equal(F.rrelu(x, 0.1, 0.3, training=True).numpy(), y.detach().numpy())
    layer = nn.RReLU(0.1, 0.3)
    assert not np.array_equal(layer(x).numpy(), layer.eval()(x).numpy())
    np.testing.assert_allclose(layer(x).numpy(), tF.leaky_relu(torch.tensor(x), 0.2).numpy())


# ----------------------------------------------------------------------- softmax's dim
@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_implicit_dim_is_torchs_choice_with_its_warning(fn, ndim):
    x = np.random.default_rng(4).standard_normal((2, 3, 2, 2)[:ndim])
    message = f"Implicit dimension choice for {fn} has been deprecated"
    with pytest.warns(UserWarning, match=message) as record:
        got = getattr(F, fn)(x)
    assert record[0].filename == __file__                 # stacklevel: the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(tF, fn)(torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match=message.replace("softmin", "softmin")):
        getattr(nn, {"softmax": "Softmax", "log_softmax": "LogSoftmax",
                     "softmin": "Softmin"}[fn])()(x)


def test_softmax2d_is_over_the_channels():
    x = np.random.default_rng(5).standard_normal((3, 2, 2))
    np.testing.assert_allclose(nn.Softmax2d()(x).numpy(),
                               torch.nn.Softmax2d()(torch.tensor(x)).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(np.ones((2, 3)))


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("call, error, match", [
    (lambda: F.hardtanh(np.ones(2), 2.0, 1.0), ValueError, "min_val cannot be greater"),
    (lambda: nn.Hardtanh(2, 1), ValueError, r"Hardtanh: max_val \(1\) must be greater than"),
    (lambda: F.softshrink(np.ones(2), -1.0), ValueError, r"softshrink: lambd must be in \[0"),
    (lambda: nn.Softshrink(-1), ValueError, r"Softshrink: lambd must be in \[0"),
    (lambda: F.rrelu(np.ones(2), 0.5, 0.1), ValueError, "Lower bound should be less than"),
    (lambda: nn.RReLU(0.5, 0.1), ValueError, "RReLU: Lower bound"),
    (lambda: F.celu(np.ones(2), 0.0), ValueError, "celu: alpha cannot be 0"),
    (lambda: nn.CELU(0), ValueError, "CELU: alpha cannot be 0"),
    (lambda: F.glu(np.ones(3)), ValueError, "Halving dimension must be even, but dimension 0 is"),
    (lambda: F.glu(np.array(1.0)), ValueError, "glu does not support scalars"),
    (lambda: F.glu(np.ones((2, 4)), 2), IndexError, "glu: Dimension out of range"),
    (lambda: F.prelu(np.ones((2, 3)), np.ones(2)), ValueError, "parameter numbers = 2 and "
                                                               "channel size = 3"),
    (lambda: F.prelu(np.ones(3), np.ones(3)), ValueError, "channel size = 1"),
    (lambda: F.prelu(np.array(1.0), np.ones(3)), ValueError, "zero-dim input"),
    (lambda: F.prelu(np.ones((2, 3)), np.ones((3, 1))), ValueError, "scalar or 1D"),
    (lambda: F.prelu(np.ones((2, 3)), np.ones(3, np.float32)), TypeError, "share one dtype"),
    (lambda: F.gelu(np.ones(2), "fast"), ValueError, "gelu: approximate must be one of"),
    (lambda: nn.GELU("fast"), ValueError, "GELU: approximate must be one of"),
    (lambda: F.relu(np.ones(2), inplace=1), TypeError, "relu: inplace must be True or False"),
    (lambda: nn.ELU(inplace="yes"), TypeError, "ELU: inplace must be True or False"),
    (lambda: nn.PReLU(-1), ValueError, "PReLU: num_parameters must be ≥ 0"),
    (lambda: F.threshold(np.ones(2), "a", 1.0), TypeError, "threshold: threshold must be a real"),
    (lambda: F.softmax(np.ones(2), 0, _stacklevel=1.5), TypeError, "_stacklevel must be an int"),
    (lambda: F.softmax(np.ones(2), 0, dtype="nonsense"), TypeError, "softmax: dtype must be a"),
    (lambda: F.relu6(np.array([True])), TypeError, "relu6: input must be floating point or int"),
    (lambda: F.mish(np.array([1, 2])), TypeError, "mish: input must be floating point"),
    (lambda: F.hardswish(np.array([1, 2])), TypeError, "hardswish: input must be floating"),
    (lambda: F.softmin(np.array([1, 2]), 0), TypeError, "softmin: input must be floating"),
])
def test_bad_arguments_are_refused_naming_the_rule(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_integer_inputs_follow_torch():
    ints = np.array([-3, 0, 2, 7])
    for fn, opts in (("relu6", {}), ("hardtanh", {"min_val": -1.5, "max_val": 1.5}),
                     ("threshold", {"threshold": 1, "value": 5}), ("softsign", {}),
                     ("tanhshrink", {})):
        want = getattr(tF, fn)(torch.tensor(ints), **opts).numpy()
        got = getattr(F, fn)(ints, **opts).numpy()
        assert got.dtype == want.dtype, fn
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert F.softmax(ints, 0, dtype=cg.float64).dtype == np.float64


# -------------------------------------------------------------------- the compiled kernels
# relu, leaky_relu (rrelu's evaluation), sigmoid and tanh by activation_kernels: the same
# values and gradients as torch and as the NumPy path — first order by the fused backward
# (create_graph=False), by the composed one (create_graph=True), second order — on data
# holding the extreme grid (NaN, ±inf, ±0), out of place and in place.
KERNEL_CALLS = {"relu": {}, "leaky_relu": {"negative_slope": 0.2},
                "leaky_relu_negative": {"negative_slope": -1.5},
                "leaky_relu_flat": {"negative_slope": 0.0}, "rrelu": {}, "sigmoid": {},
                "tanh": {}}
HAS_INPLACE = ("relu", "leaky_relu", "rrelu")


@contextmanager
def activation_path(name: str):
    """The NumPy path (jit off) or the kernels at every size."""
    if name == "numpy":
        with settings(jit=False):
            yield
        return
    if not jit.available():
        pytest.skip("numba is not installed or CONVGRAD_JIT=0")
    with activation_kernels.min_elements(0):
        yield


def _activation_run(lib, name, x, g, inplace, create_graph):
    base = name.split("_negative")[0].split("_flat")[0]
    fn, opts = getattr(F if lib is cg else tF, base), KERNEL_CALLS[name]
    new = (lambda a, **kw: cg.tensor(a, **kw)) if lib is cg else \
        (lambda a, **kw: torch.tensor(a, **kw))
    xs = new(x, requires_grad=True)
    h = xs * 1
    if lib is cg and inplace:
        y = fn(h, inplace=True, **opts)
        assert y is h
    else:           # (torch refuses a negative slope's in-place backward: out of place there)
        y = fn(h, **opts)
    grad = cg.grad if lib is cg else torch.autograd.grad
    (gx,) = grad(y, [xs], new(g), create_graph=create_graph)
    gg = None
    if create_graph and gx.requires_grad:
        v = np.linspace(-1, 1, x.size).reshape(x.shape).astype(x.dtype)
        (gg,) = grad((gx * new(v)).sum(), [xs], allow_unused=True)
    arrays = [y, gx, gg]
    return [None if a is None else a.detach().numpy() for a in arrays]


def _assert_close_grid(got, want, dtype, what):
    if got is None or want is None:
        assert not np.any(np.nan_to_num(got if got is not None else want)), what
        return
    assert got.dtype == want.dtype, what
    ok = _close(got, want, dtype)
    assert ok.all(), f"{what}: {got[~ok][:4]} vs {want[~ok][:4]}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, inplace", [(n, i) for n in KERNEL_CALLS for i in (False, True)
                                           if not i or n.startswith(HAS_INPLACE)])
def test_kernels_match_torch_and_the_numpy_path(name, inplace, dtype):
    rng = np.random.default_rng(6)
    x = np.concatenate([rng.standard_normal(278) * 3, GRID]).reshape(4, 75).astype(dtype)
    x[0, :3] = 0.0
    g = rng.standard_normal(x.shape).astype(dtype)
    with np.errstate(all="ignore"):
        theirs = _activation_run(torch, name, x, g, False, True)
        with activation_path("kernels"):
            fast = _activation_run(cg, name, x, g, inplace, False)
            composed = _activation_run(cg, name, x, g, inplace, True)
        with activation_path("numpy"):
            reference = _activation_run(cg, name, x, g, inplace, False)
    for label, ours in (("fast", fast), ("composed", composed), ("numpy path", reference)):
        for what, a, b in zip(("y", "g", "gg"), ours, theirs):
            if what == "gg" and label != "composed":
                continue
            _assert_close_grid(a, b, dtype, f"{name} {label} {what}")
        np.testing.assert_array_equal(ours[0], fast[0])          # the same values, bit for bit


@pytest.mark.parametrize("name", HAS_INPLACE)
def test_kernels_in_place_without_a_graph(name):
    x = np.random.default_rng(7).standard_normal((3, 40)) * 3
    want = getattr(tF, name)(torch.tensor(x), **KERNEL_CALLS[name]).numpy()
    with activation_path("kernels"):
        t = cg.tensor(x.copy())
        version = t._version
        assert getattr(F, name)(t, inplace=True, **KERNEL_CALLS[name]) is t
        assert t._version > version
        a = x.copy()
        getattr(F, name)(a, inplace=True, **KERNEL_CALLS[name])     # an ndarray changes too
    np.testing.assert_allclose(t.numpy(), want, rtol=1e-12)
    np.testing.assert_array_equal(a, t.numpy())


def test_kernels_run_from_the_threshold_on_and_are_refused_below_it():
    if not jit.available():
        pytest.skip("numba is not installed or CONVGRAD_JIT=0")
    big = np.zeros(activation_kernels.MIN_ELEMENTS, np.float32)
    assert activation_kernels.use(big)
    assert not activation_kernels.use(big[:-1])
    assert not activation_kernels.use(big[::2])                       # not contiguous
    assert not activation_kernels.use(big.astype(np.int32))
    with settings(jit=False):
        assert not activation_kernels.use(big)


def test_the_output_of_a_kernel_relu_changed_in_place_is_refused_at_backward():
    """relu's backward reads its output (as torch's), so changing it in place is refused."""
    with activation_path("kernels"):
        x = cg.tensor(np.random.default_rng(8).standard_normal(50), requires_grad=True)
        y = F.relu(x)
        y.mul_(2)
        with pytest.raises(RuntimeError):
            y.sum().backward()


@pytest.mark.parametrize("name", KERNEL_CALLS)
def test_kernels_in_chunks_on_two_threads_match_the_numpy_path(name):
    """≥ norm_kernels.SPREAD_ELEMENTS values: chunks shared by two threads."""
    if not jit.available():
        pytest.skip("numba is not installed or CONVGRAD_JIT=0")
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((64, 4500)) * 3).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    with settings(threads=2):
        fast = _activation_run(cg, name, x, g, False, False)
    with activation_path("numpy"):
        reference = _activation_run(cg, name, x, g, False, False)
    np.testing.assert_array_equal(fast[0], reference[0])
    np.testing.assert_allclose(fast[1], reference[1], rtol=1e-6, atol=1e-7)
