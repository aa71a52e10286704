"""Pooling options, unpooling, LP and adaptive pooling, padding layers: values, gradients
(first and second order), indices, signatures, reprs and errors, all against torch."""

import inspect

import numpy as np
import pytest
from helpers import check_op, import_torch
from test_pooling_kernels import ROUTES, route

from convgrad.functional import adaptive as FA
from convgrad.functional import pooling as FP
from convgrad.nn import padding as NP
from convgrad.nn import pooling as NN

torch = import_torch()
tF = torch.nn.functional  # noqa: N816  (torch's F)

POOL_CASES = [
    ("max_pool1d", (3, 2, 1), {}, (2, 3, 9)),
    ("max_pool1d", (2,), dict(dilation=2, ceil_mode=True, padding=1), (2, 2, 8)),
    ("max_pool2d", (3, 2, 1), {}, (2, 2, 7, 6)),
    ("max_pool2d", ((2, 3), (2, 1)), dict(padding=(1, 0), dilation=(2, 1), ceil_mode=True),
     (1, 2, 7, 8)),
    ("max_pool3d", (2,), dict(stride=1, padding=1), (1, 2, 3, 4, 3)),
    ("avg_pool2d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False), (2, 2, 7, 6)),
    ("avg_pool2d", (2, 1), dict(divisor_override=3), (1, 2, 5, 5)),
    ("avg_pool3d", (2, 2, 1), dict(ceil_mode=True, divisor_override=2), (1, 1, 5, 4, 5)),
    ("avg_pool1d", (4, 3, 2), dict(ceil_mode=True, count_include_pad=False), (2, 2, 9)),
]


@ROUTES
@pytest.mark.parametrize("name,args,kwargs,shape", POOL_CASES)
def test_pooling_options_match_torch(compiled, name, args, kwargs, shape):
    with route(compiled):
        check_op(lambda x: getattr(FP, name)(x, *args, **kwargs),
                 lambda x: getattr(tF, name)(x, *args, **kwargs), shape)


@ROUTES
@pytest.mark.parametrize("name,args,kwargs,shape", [c for c in POOL_CASES if "max" in c[0]])
def test_max_pool_indices_equal_torch_and_unpool_inverts(compiled, name, args, kwargs, shape):
    x = np.random.default_rng(3).standard_normal(shape)
    with route(compiled):
        y, i = getattr(FP, name)(x, *args, return_indices=True, **kwargs)
    ty, ti = getattr(tF, name)(torch.tensor(x), *args, return_indices=True, **kwargs)
    np.testing.assert_array_equal(y.array, ty.numpy())
    assert i.dtype == np.int64
    np.testing.assert_array_equal(i.array, ti.numpy())


@pytest.mark.parametrize("n,k,s,p,shape", [
    (1, 3, 2, 1, (2, 3, 9)), (2, 2, None, 0, (2, 3, 6, 4)), (2, 3, 2, 1, (1, 2, 7, 7)),
    (3, 2, 2, 0, (1, 2, 4, 6, 4))])
def test_max_unpool_matches_torch(n, k, s, p, shape):
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _, ti = getattr(tF, f"max_pool{n}d")(x, k, s, p, return_indices=True)
    idx = ti.numpy()
    check_op(lambda y: getattr(FP, f"max_unpool{n}d")(y, idx, k, s, p),
             lambda y: getattr(tF, f"max_unpool{n}d")(y, ti, k, s, p), tuple(ti.shape))
    if n == 2 and k == 3:
        out = (7, 8)
        check_op(lambda y: FP.max_unpool2d(y, idx, k, s, p, output_size=out),
                 lambda y: tF.max_unpool2d(y, ti, k, s, p, output_size=out), tuple(ti.shape))


def test_max_unpool_errors_like_torch():
    x = np.arange(49.0).reshape(1, 1, 7, 7)                # maxima on the last row
    y, i = FP.max_pool2d(x, 3, 2, 1, return_indices=True)
    with pytest.raises(ValueError, match="output_size"):
        FP.max_unpool2d(y, i, 3, 2, 1, output_size=(9, 7))
    with pytest.raises(RuntimeError, match="invalid max index"):
        FP.max_unpool2d(y, i, 3, 2, 1, output_size=(6, 7))


@pytest.mark.parametrize("n,p,k,s,ceil,shape", [(1, 2, 3, None, False, (2, 3, 8)),
                                                (1, 1.5, 3, 2, True, (2, 3, 8)),
                                                (2, 2, 3, 2, False, (2, 3, 7, 5)),
                                                (2, 1, (2, 3), 1, True, (1, 2, 5, 6)),
                                                (3, 3, 2, None, False, (1, 2, 4, 5, 4))])
def test_lp_pool_matches_torch(n, p, k, s, ceil, shape):
    check_op(lambda x: getattr(FP, f"lp_pool{n}d")(x, p, k, s, ceil),
             lambda x: getattr(tF, f"lp_pool{n}d")(x, p, k, s, ceil), shape, positive=True)


ADAPTIVE = [(1, 4, (2, 3, 7)), (1, 3, (3, 7)), (1, 9, (2, 2, 5)), (2, (3, None), (2, 3, 7, 5)),
            (2, (4, 3), (2, 2, 7, 5)), (2, 2, (3, 6, 6)), (2, (10, 9), (1, 2, 4, 5)),
            (3, (2, 3, 4), (1, 2, 5, 7, 3)), (3, (None, 2, 4), (1, 1, 3, 5, 7))]


@ROUTES
@pytest.mark.parametrize("n,out,shape", ADAPTIVE)
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pooling_matches_torch(compiled, kind, n, out, shape):
    name = f"adaptive_{kind}_pool{n}d"
    with route(compiled):
        check_op(lambda x: getattr(FA, name)(x, out), lambda x: getattr(tF, name)(x, out),
                 shape)
    if kind == "max":
        x = np.random.default_rng(1).standard_normal(shape)
        with route(compiled):
            y, i = getattr(FA, name)(x, out, True)
        ty, ti = getattr(tF, name)(torch.tensor(x), out, True)
        np.testing.assert_array_equal(y.array, ty.numpy())
        assert i.dtype == np.int64
        np.testing.assert_array_equal(i.array, ti.numpy())


LAYERS = [
    ("MaxPool1d", (2,), {}), ("MaxPool2d", (3, (1, 2), 1), dict(return_indices=True)),
    ("MaxPool2d", ((2, 3),), dict(dilation=2, ceil_mode=True)), ("MaxPool3d", (2,), {}),
    ("AvgPool1d", (2,), {}), ("AvgPool1d", (3, 2, 1), dict(count_include_pad=False)),
    ("AvgPool2d", (2, 1), dict(divisor_override=2)), ("AvgPool3d", ((2, 2, 1),), {}),
    ("MaxUnpool1d", (2,), {}), ("MaxUnpool2d", (2, 1, (1, 0)), {}), ("MaxUnpool3d", (2,), {}),
    ("LPPool1d", (2, 3), {}), ("LPPool2d", (1.5, (2, 3), 1, True), {}), ("LPPool3d", (2, 2), {}),
    ("AdaptiveAvgPool1d", (3,), {}), ("AdaptiveAvgPool2d", ((None, 3),), {}),
    ("AdaptiveAvgPool3d", (2,), {}), ("AdaptiveMaxPool1d", (2,), {}),
    ("AdaptiveMaxPool2d", (3, True), {}), ("AdaptiveMaxPool3d", ((1, None, 2),), {}),
    ("ZeroPad1d", (2,), {}), ("ZeroPad2d", (1,), {}), ("ZeroPad2d", ((1, 2, 3, 4),), {}),
    ("ZeroPad3d", (1,), {}), ("ConstantPad1d", (2, 3.5), {}),
    ("ConstantPad2d", ((1, 2, 3, 4), 1), {}), ("ConstantPad3d", (1, 0.0), {}),
    ("ReflectionPad1d", (2,), {}), ("ReflectionPad2d", ([1, 2, 3, 0],), {}),
    ("ReflectionPad3d", (1,), {}), ("ReplicationPad1d", (1,), {}),
    ("ReplicationPad2d", ((1, 0, 2, 1),), {}), ("ReplicationPad3d", (1,), {}),
    ("CircularPad1d", (1,), {}), ("CircularPad2d", ((1, 2, 0, 1),), {}),
    ("CircularPad3d", (1,), {}),
]
MODULES = {**{n: NN for n in NN.__all__}, **{n: NP for n in NP.__all__}}


def _params(cls):
    return [(p.name, p.default, p.kind) for p in inspect.signature(cls).parameters.values()]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_layer_signatures_equal_torch(name):
    assert _params(getattr(MODULES[name], name)) == _params(getattr(torch.nn, name))


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_layer_reprs_and_outputs_equal_torch(name, args, kwargs):
    ours, theirs = getattr(MODULES[name], name)(*args, **kwargs), getattr(torch.nn, name)(
        *args, **kwargs)
    assert repr(ours) == repr(theirs)
    if "Unpool" in name:
        return
    d = int(name[-2])
    x = np.random.default_rng(0).standard_normal((2, 3) + (6, 5, 4)[:d])
    if "Pad" in name:
        check_op(lambda a: ours(a), lambda a: theirs(a), x)
        return
    y, ty = ours(x), theirs(torch.tensor(x))
    if kwargs.get("return_indices") or (len(args) > 1 and args[1] is True):
        np.testing.assert_array_equal(y[1].array, ty[1].numpy())
        y, ty = y[0], ty[0]
    np.testing.assert_allclose(y.array, ty.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_errors_name_the_layer():
    with pytest.raises(ValueError, match="MaxPool2d: kernel_size must be positive"):
        NN.MaxPool2d(0)
    with pytest.raises(TypeError, match="MaxPool1d: return_indices"):
        NN.MaxPool1d(2, return_indices=1)
    with pytest.raises(TypeError, match="AvgPool1d"):
        NN.AvgPool1d(2, divisor_override=2)            # (torch's AvgPool1d has none either)
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: output_size"):
        NN.AdaptiveAvgPool2d(-1)
    with pytest.raises(TypeError, match="AdaptiveMaxPool2d: output_size"):
        NN.AdaptiveMaxPool2d((1, 2, 3))
    with pytest.raises(ValueError, match="ZeroPad2d: padding length"):
        NP.ZeroPad2d((1, 2, 3))
    with pytest.raises(NotImplementedError, match="ReflectionPad2d"):
        NP.ReflectionPad2d(1)(np.ones((4, 4)))
    with pytest.raises(ValueError, match="CircularPad2d"):
        NP.CircularPad2d(1)(np.ones((4, 4)))
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: input must have shape"):
        FA.adaptive_avg_pool2d(np.ones((4, 4)), 2)


@pytest.mark.parametrize("n,out", [(1, 0), (2, (4, 0)), (2, (None, 0)), (3, (0, 2, 3))])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pooling_to_size_zero_is_empty_as_torch(kind, n, out):
    import convgrad as cg  # noqa: PLC0415
    name = f"adaptive_{kind}_pool{n}d"
    x = np.random.default_rng(0).standard_normal((1, 2) + (4,) * n)
    xt = cg.tensor(x, requires_grad=True)
    y = getattr(FA, name)(xt, out)
    assert y.shape == tuple(getattr(tF, name)(torch.tensor(x), out).shape)
    assert y.numel() == 0
    (g,) = cg.grad(y.sum(), [xt])
    np.testing.assert_array_equal(g.array, np.zeros_like(x))
    if kind == "max":
        i = getattr(FA, name)(x, out, True)[1]
        assert i.shape == y.shape and i.dtype == np.int64


@pytest.mark.parametrize("n,out", [(1, None), (1, (None,)), (2, None), (3, None)])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pooling_refuses_a_none_output_size_as_torch(kind, n, out):
    name = f"adaptive_{kind}_pool{n}d"
    x = np.ones((1, 2) + (4,) * n)
    with pytest.raises(TypeError):
        getattr(tF, name)(torch.tensor(x), out)
    with pytest.raises(TypeError, match=name):
        getattr(FA, name)(x, out)
