"""The compiled pooling kernels (functional/pooling_kernels.py): each against its NumPy twin
on drawn 1-3 d geometries, both routes of max/avg pooling (compiled, window) against torch and
each other, the backward as a differentiable op (a graph only under create_graph), and
switching the kernels off between forward and backward."""

from contextlib import contextmanager

import numpy as np
import pytest
from helpers import import_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg
import convgrad.nn.functional as F
from convgrad.functional import adaptive as FA
from convgrad.functional import pooling_kernels as K
from convgrad.ops.jit import jit_enabled

torch = import_torch()
tF = torch.nn.functional  # noqa: N816  (torch's F)
compiled_only = pytest.mark.skipif(not K.available(), reason="numba missing or switched off")
ROUTES = pytest.mark.parametrize("compiled", [
    pytest.param(True, id="compiled", marks=compiled_only), pytest.param(False, id="window")])


@contextmanager
def route(compiled: bool):
    """Pooling through the compiled kernels or through the window path."""
    with jit_enabled(compiled):
        assert K.available() == compiled
        yield


@st.composite
def poolings(draw, kind: str, edge: bool = True):
    """(rank, shape, kernel, stride, padding, dilation, ceil_mode) that torch accepts; with
    ``edge``, those convgrad accepts: padding up to half the effective kernel and inputs so
    small that a dilated window may have no tap inside x (torch refuses the first and its
    backward writes outside ∂x for the second)."""
    n = draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 3)) for _ in range(n))
    s = tuple(draw(st.integers(1, 3)) for _ in range(n))
    d = tuple(draw(st.integers(1, 3)) if kind == "max" else 1 for _ in range(n))
    p = tuple(draw(st.integers(0, (di * (ki - 1) + 1) // 2 if edge else ki // 2))
              for ki, di in zip(k, d))                      # (convgrad's limit; torch's)
    size = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - (2 * pi if edge else 0)), 7))
                 for ki, di, pi in zip(k, d, p))
    return n, (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + size, k, s, p, d, \
        draw(st.booleans())


def _values(rng, shape, dtype, special: bool):
    """Normal values, or small integers (ties) with NaN and −∞ sprinkled in."""
    if not special:
        return rng.standard_normal(shape).astype(dtype)
    x = rng.integers(0, 3, shape).astype(dtype)
    x[rng.random(shape) < 0.1] = np.nan
    x[rng.random(shape) < 0.2] = -np.inf
    return x


def _geometry(x, kernel, stride, padding, dilation, ceil, op):
    """The kernels' geometry, and the planes, as pooling.py builds them."""
    from convgrad.functional import pooling as P  # noqa: PLC0415
    t = cg.tensor(x)
    k, s, d, pads = P._pool_geometry(op, t, kernel, stride, padding, dilation, ceil, x.ndim - 2)
    geo, out = P._compiled_geometry(t, k, s, d, pads)
    return geo, x.reshape(x.shape[0] * x.shape[1], -1), out


@compiled_only
@settings(max_examples=50, deadline=None, derandomize=True)
@given(poolings("max"), st.sampled_from(["float32", "float64"]), st.booleans())
def test_max_kernels_equal_their_twins(case, dtype, special):
    _, shape, k, s, p, d, ceil = case
    rng = np.random.default_rng(len(shape))
    geo, planes, _ = _geometry(_values(rng, shape, dtype, special), k, s, p, d, ceil, "t")
    values, index = K.max_forward(planes, geo)
    twin_values, twin_index = K.max_forward_numpy(planes, geo)
    np.testing.assert_array_equal(values, twin_values)
    np.testing.assert_array_equal(index, twin_index)
    assert values.dtype == planes.dtype and index.dtype == np.int64
    g = rng.standard_normal(values.shape).astype(dtype)
    np.testing.assert_array_equal(K.scatter_add(g, index, planes.shape[1]),
                                  K.scatter_add_numpy(g, index, planes.shape[1]))


@compiled_only
@settings(max_examples=50, deadline=None, derandomize=True)
@given(poolings("avg"), st.sampled_from(["float32", "float64"]), st.booleans(),
       st.sampled_from([None, 1, 3]))
def test_avg_kernels_equal_their_twins(case, dtype, include_pad, override):
    _, shape, k, s, p, d, ceil = case
    rng = np.random.default_rng(len(shape))
    geo, planes, _ = _geometry(_values(rng, shape, dtype, False), k, s, p, d, ceil, "t")
    div = K.divisors(geo, include_pad, override, dtype)
    out = K.avg_forward(planes, geo, div)
    np.testing.assert_array_equal(out, K.avg_forward_numpy(planes, geo, div))  # same order
    g = rng.standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(K.avg_backward(g, geo, div), K.avg_backward_numpy(g, geo, div),
                               rtol=1e-5 if dtype == "float32" else 1e-13, atol=1e-6)


def _pool_both(x, kind, n, k, s, p, d, ceil, backward=True, **options):
    """(ours, torch's): output, indices (max) and input gradient for upstream 1 + position
    (ours against zeros where ``backward`` is off)."""
    ours, theirs = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    args = (k, s, p, d, ceil) if kind == "max" else (k, s, p, ceil)
    kw = dict(return_indices=True) if kind == "max" else options
    got = getattr(F, f"{kind}_pool{n}d")(ours, *args, **kw)
    want = getattr(tF, f"{kind}_pool{n}d")(theirs, *args, **kw)
    y, ty = (got[0], want[0]) if kind == "max" else (got, want)
    g = np.arange(1, y.numel() + 1, dtype=x.dtype).reshape(y.shape)
    y.backward(cg.tensor(g))
    if backward:
        ty.backward(torch.tensor(g))
    extra = [(got[1].numpy(), want[1].numpy())] if kind == "max" else []
    return [(y.detach().numpy(), ty.detach().numpy()), (ours.grad.numpy(), theirs.grad.numpy()
                                                         if backward else 0 * x)] + extra


@ROUTES
@settings(max_examples=30, deadline=None, derandomize=True)
@given(poolings("max", edge=False), st.booleans())
def test_max_pooling_of_any_rank_equals_torch_bit_for_bit(compiled, case, special):
    n, shape, k, s, p, d, ceil = case
    x = _values(np.random.default_rng(sum(shape)), shape, "float32", special)
    with route(compiled):
        for got, want in _pool_both(x, "max", n, k, s, p, d, ceil):
            np.testing.assert_array_equal(got, want)


@compiled_only
@settings(max_examples=30, deadline=None, derandomize=True)
@given(poolings("max"), st.booleans())
def test_both_routes_agree_where_torch_refuses_or_misbehaves(case, special):
    """Padding beyond half the kernel, windows with no element of x: the compiled route and
    the window path give the same values, indices (torch's rule) and gradients."""
    n, shape, k, s, p, d, ceil = case
    x = _values(np.random.default_rng(sum(shape)), shape, "float64", special)
    results = []
    for compiled in (True, False):
        t = cg.tensor(x, requires_grad=True)
        with route(compiled):
            y, i = getattr(F, f"max_pool{n}d")(t, k, s, p, d, ceil, return_indices=True)
            y.backward(cg.tensor(np.arange(1.0, y.numel() + 1).reshape(y.shape)))
        results.append((y.detach().numpy(), i.numpy(), t.grad.numpy()))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


@ROUTES
@settings(max_examples=30, deadline=None, derandomize=True)
@given(poolings("avg"), st.booleans(), st.sampled_from([None, 2]))
def test_avg_pooling_of_any_rank_equals_torch(compiled, case, include_pad, override):
    n, shape, k, s, p, _, ceil = case
    if n == 1 and override is not None:
        override = None                                  # (torch's avg_pool1d has none)
    options = dict(count_include_pad=include_pad) | (
        {} if override is None else dict(divisor_override=override))
    x = _values(np.random.default_rng(sum(shape)), shape, "float64", False)
    with route(compiled):
        for got, want in _pool_both(x, "avg", n, k, s, p, 1, ceil, **options):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@compiled_only
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_the_backward_has_a_graph_only_under_create_graph(kind):
    x = cg.tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6)), requires_grad=True)
    pool = getattr(F, f"{kind}_pool2d")
    with route(True):
        y = pool(x, 3, 2, 1)
        g = cg.tensor(np.ones(y.shape), requires_grad=True)
        (plain,) = cg.autograd.grad(pool(x, 3, 2, 1), x, g)
        (graph,) = cg.autograd.grad(y, x, g, create_graph=True)
    assert not plain.requires_grad
    assert graph.requires_grad and graph._op == f"{kind}_pool_backward"
    np.testing.assert_array_equal(plain.numpy(), graph.detach().numpy())


@compiled_only
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_second_and_third_derivatives_through_the_kernels_equal_torch(kind):
    """∂ of a function of ∂x with respect to g: the backward's backward (gather / average),
    and once more its backward (scatter / spread)."""
    x = np.random.default_rng(4).standard_normal((2, 2, 7, 6))
    ours, theirs = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pool, tpool = getattr(F, f"{kind}_pool2d"), getattr(tF, f"{kind}_pool2d")
    with route(True):
        g = np.random.default_rng(5).standard_normal(pool(cg.tensor(x), 3, 2, 1).shape)
        og, tg = cg.tensor(g, requires_grad=True), torch.tensor(g, requires_grad=True)
        (dx,) = cg.autograd.grad(pool(ours, 3, 2, 1), ours, og, create_graph=True)
        (ggo,) = cg.autograd.grad((dx * dx * dx).sum(), og, create_graph=True)
        (gggo,) = cg.autograd.grad((ggo * ggo).sum(), og)
    (tdx,) = torch.autograd.grad(tpool(theirs, 3, 2, 1), theirs, tg, create_graph=True)
    (tggo,) = torch.autograd.grad((tdx * tdx * tdx).sum(), tg, create_graph=True)
    (tgggo,) = torch.autograd.grad((tggo * tggo).sum(), tg)
    np.testing.assert_allclose(ggo.detach().numpy(), tggo.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gggo.numpy(), tgggo.numpy(), rtol=1e-12)


@compiled_only
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_kernels_switched_off_before_the_backward_give_the_same_gradient(kind):
    x = np.random.default_rng(6).standard_normal((2, 3, 7, 7)).astype(np.float32)
    grads = []
    for off_in_backward in (False, True):
        t = cg.tensor(x, requires_grad=True)
        with route(True):
            y = getattr(F, f"{kind}_pool2d")(t, 3, 2, 1)
        with route(not off_in_backward):
            y.backward(cg.tensor(np.ones(y.shape, np.float32) * 0.5))
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


@ROUTES
@pytest.mark.parametrize("n,x,args,backward", [
    (1, [[[5.0, 1.0]]], (2, 1, 1, 3), False),      # window 0: taps −1 and 2, none in x
    (2, [[[[5.0, 1.0], [2.0, 3.0]]]], (2, 1, 1, 3), False),
    (2, [[[[5.0, 1.0], [2.0, 3.0]]]], ((1, 2), 1, (0, 1), 3), False),
    (1, [[[1.0, np.nan, 3.0, np.nan, 2.0, 1.0]]], (3, 1), True),   # several NaN: the last
    (2, [[[[1.0, np.nan, 3.0, np.nan], [5, 6, 7, 8]]]], ((2, 4),), True),
    (3, [[[[[-np.inf, -np.inf], [1.0, 2.0]]]]], ((1, 2, 2), 1, (0, 1, 1)), True),
])
def test_edge_windows_index_as_torch(compiled, n, x, args, backward):
    """No tap inside x: value −∞ and torch's index (its clamped start; the gradient goes
    nowhere); NaN: the last NaN of the window; −∞ only: its first element inside x."""
    x = np.asarray(x, np.float64)
    with route(compiled):
        for got, want in _pool_both(x, "max", n, *args, *((1, 1, 0, 1, False)[len(args):]),
                                    backward=backward):
            np.testing.assert_array_equal(got, want)


@ROUTES
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_an_empty_batch_pools_to_an_empty_batch(compiled, kind):
    with route(compiled):
        for shape in ((0, 3, 4, 4), (0, 1, 5, 4)):
            x = cg.tensor(np.ones(shape, np.float32), requires_grad=True)
            y = getattr(F, f"{kind}_pool2d")(x, 2)
            assert y.shape == (*shape[:2], shape[2] // 2, 2) and y.dtype == np.float32
            y.sum().backward()
            assert x.grad.shape == shape


@ROUTES
@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.integers(1, 3), st.data(), st.booleans())
def test_adaptive_max_pooling_equals_torch_bit_for_bit(compiled, n, data, special):
    """Adaptive windows (overlapping where m does not divide n), ties, NaN and −∞."""
    size = tuple(data.draw(st.integers(1, 7)) for _ in range(n))
    out = tuple(data.draw(st.integers(1, 8)) for _ in range(n))
    x = _values(np.random.default_rng(sum(size)), (2, 3) + size, "float32", special)
    ours, theirs = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    name = f"adaptive_max_pool{n}d"
    with route(compiled):
        y, i = getattr(FA, name)(ours, out, True)
        g = np.arange(1, y.numel() + 1, dtype=x.dtype).reshape(y.shape)
        y.backward(cg.tensor(g))
    ty, ti = getattr(tF, name)(theirs, out, True)
    ty.backward(torch.tensor(g))
    for got, want in ((y.detach().numpy(), ty.detach().numpy()), (i.numpy(), ti.numpy()),
                      (ours.grad.numpy(), theirs.grad.numpy())):
        np.testing.assert_array_equal(got, want)


def test_divisors_and_spans_follow_torchs_window_rule():
    geo = K.geometry((5,), (3,), (3,), (2,), (1,), (1,))      # windows [−1, 2), [1, 4), [3, 6)
    np.testing.assert_array_equal(K.divisors(geo, True, None, np.float64), [3, 3, 3])
    np.testing.assert_array_equal(K.divisors(geo, False, None, np.float64), [2, 3, 2])
    np.testing.assert_array_equal(K.spans(geo)[2], [[0, 1, 3], [2, 3, 2]])
    np.testing.assert_array_equal(K.clamped_starts(geo), [0, 1, 3])
    np.testing.assert_array_equal(K.adaptive_spans((5,), (3,))[2], [[0, 1, 3], [2, 3, 2]])
