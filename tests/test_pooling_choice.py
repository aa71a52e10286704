"""Max pooling against torch where the choice of the maximal element matters: ties, windows of
−∞ only with padding, NaN, overlapping windows (stride < kernel), dilation, ceil_mode; values,
indices, gradients and second derivatives (the oracle any faster max pooling must meet)."""

import numpy as np
import pytest
from helpers import import_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pooling_kernels import ROUTES, route

import convgrad as cg
import convgrad.nn.functional as F

torch = import_torch()
tF = torch.nn.functional  # noqa: N816  (torch's F)


def _both(x, n, *args, compiled=True, **kwargs):
    """(ours, torch's) output, indices and input gradient for upstream ones·(1 + position),
    ours through the compiled kernels or the window path."""
    ours = cg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    with route(compiled):
        y, i = getattr(F, f"max_pool{n}d")(ours, *args, return_indices=True, **kwargs)
        g = np.arange(1, y.numel() + 1, dtype=x.dtype).reshape(y.shape)
        y.backward(cg.tensor(g))
    ty, ti = getattr(tF, f"max_pool{n}d")(theirs, *args, return_indices=True, **kwargs)
    ty.backward(torch.tensor(g))
    return (y.detach().numpy(), i.numpy(), ours.grad.numpy()), (
        ty.detach().numpy(), ti.numpy(), theirs.grad.numpy())


def _same(got, want):
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@ROUTES
@pytest.mark.parametrize("n,args,kwargs,shape", [
    (2, (2,), {}, (2, 3, 6, 6)), (2, (3, 1, 1), {}, (1, 2, 5, 5)),
    (2, (3, 2, 1), dict(ceil_mode=True), (2, 2, 7, 6)), (1, (3, 2, 1), dict(dilation=2), (2, 2, 9)),
    (3, (2, 1), {}, (1, 1, 3, 4, 3)), (2, ((2, 3), (1, 2), (1, 1)), dict(dilation=(2, 1)),
                                       (1, 2, 7, 8)),
])
def test_ties_pick_the_first_maximum_as_torch(compiled, n, args, kwargs, shape):
    x = np.random.default_rng(0).integers(0, 3, shape).astype(np.float64)     # many ties
    _same(*_both(x, n, *args, compiled=compiled, **kwargs))


@ROUTES
def test_windows_of_minus_infinity_and_nan_go_where_torchs_do(compiled):
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 5))
    x[0, 0, :2, :2] = -np.inf                    # a corner window of −∞ inside the padding
    x[0, 1, 2, 3] = x[0, 1, 1, 2] = np.nan       # overlapping windows with one and two NaN
    got, want = _both(x, 2, 3, 2, 1, compiled=compiled)
    np.testing.assert_array_equal(got[0], want[0])           # NaN where torch has NaN
    np.testing.assert_array_equal(got[1], want[1])           # the last NaN of a window
    np.testing.assert_array_equal(got[2], want[2])
    assert np.isnan(got[0][0, 1]).sum() == np.isnan(want[0][0, 1]).sum() > 0


@ROUTES
def test_second_derivatives_match_torch(compiled):
    """∂²: the backward (a scatter of g) is linear in g, and differentiable again."""
    x = np.random.default_rng(2).standard_normal((2, 2, 6, 5))
    ours = cg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    g = np.random.default_rng(3).standard_normal(F.max_pool2d(cg.tensor(x), 3, 2, 1).shape)
    og, tg = cg.tensor(g, requires_grad=True), torch.tensor(g, requires_grad=True)
    with route(compiled):
        (dx,) = cg.autograd.grad(F.max_pool2d(ours, 3, 2, 1), ours, og, create_graph=True)
        (ggo,) = cg.autograd.grad((dx * dx).sum(), og)
    (tdx,) = torch.autograd.grad(tF.max_pool2d(theirs, 3, 2, 1), theirs, tg, create_graph=True)
    (tggo,) = torch.autograd.grad((tdx * tdx).sum(), tg)
    np.testing.assert_allclose(ggo.numpy(), tggo.numpy(), rtol=1e-12)


@ROUTES
@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.booleans(), st.integers(0, 1),
       st.integers(3, 8), st.integers(3, 8), st.booleans())
def test_drawn_configurations_match_torch(compiled, k, s, d, ceil, p, h, w, ties):
    if p > k // 2 or d * (k - 1) + 1 > min(h, w) + 2 * p:     # (torch's padding rule)
        return
    rng = np.random.default_rng(k * 100 + s * 10 + h)
    x = (rng.integers(0, 2, (2, 2, h, w)) if ties else rng.standard_normal((2, 2, h, w)))
    _same(*_both(x.astype(np.float32), 2, k, s, p, dilation=d, ceil_mode=ceil,
                 compiled=compiled))
