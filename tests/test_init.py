"""nn.init against torch's formulas: statistics on large tensors, exact eye_/dirac_, QᵀQ = I."""

import math

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad import nn
from convgrad.nn import init

torch = import_torch()
tinit = torch.nn.init


def big(*shape):
    return cg.empty(*shape, requires_grad=True)


@pytest.mark.parametrize("name, param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                         ("tanh", None), ("relu", None), ("leaky_relu", None),
                                         ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == tinit.calculate_gain(name, param)


@pytest.mark.parametrize("call", [lambda m: m.calculate_gain("foo"),
                                  lambda m: m.calculate_gain("leaky_relu", "x"),
                                  lambda m: m.kaiming_uniform_(m_tensor(m, 3, 3), mode="fan"),
                                  lambda m: m.eye_(m_tensor(m, 3)),
                                  lambda m: m.dirac_(m_tensor(m, 3, 3)),
                                  lambda m: m.dirac_(m_tensor(m, 3, 3, 3), groups=2),
                                  lambda m: m.xavier_uniform_(m_tensor(m, 3)),
                                  lambda m: m.orthogonal_(m_tensor(m, 3)),
                                  lambda m: m.sparse_(m_tensor(m, 3, 3, 3), 0.5)])
def test_errors_match_torch(call):
    got = want = None
    try:
        call(init)
    except ValueError as e:
        got = str(e)
    try:
        call(tinit)
    except ValueError as e:
        want = str(e)
    assert got == want and got is not None


def m_tensor(m, *shape):
    return cg.zeros(*shape) if m is init else torch.zeros(*shape)


def test_fans_match_torch():
    for shape in [(3, 4), (8, 2, 3, 3), (5, 6, 2), (2, 3, 1, 2, 2)]:
        assert (init._calculate_fan_in_and_fan_out(cg.zeros(*shape))
                == tinit._calculate_fan_in_and_fan_out(torch.zeros(*shape)))


def check_stats(t, mean, std, lo=None, hi=None):
    a = t.detach().numpy().astype(np.float64)
    assert abs(a.mean() - mean) < 0.02 * max(std, 1e-3) * 10
    assert abs(a.std() - std) < 0.02 * std
    if lo is not None:
        assert a.min() >= lo and a.max() <= hi


def test_distributions_follow_torch_formulas():
    cg.manual_seed(0)
    t = big(300, 200)
    out = init.uniform_(t, -2, 3)
    assert out is t and t.requires_grad and t.is_leaf and t.grad_fn is None
    check_stats(t, 0.5, 5 / math.sqrt(12), -2, 3)
    check_stats(init.normal_(big(300, 200), 1.0, 2.0), 1.0, 2.0)
    fan_in, fan_out = 200 * 9, 100 * 9
    w = big(100, 200, 3, 3)
    bound = math.sqrt(6 / (fan_in + fan_out))
    check_stats(init.xavier_uniform_(w), 0, bound / math.sqrt(3), -bound, bound)
    check_stats(init.xavier_normal_(w, gain=2.0), 0, 2 * math.sqrt(2 / (fan_in + fan_out)))
    gain = math.sqrt(2 / (1 + 5))
    b = gain * math.sqrt(3 / fan_in)
    check_stats(init.kaiming_uniform_(w, a=math.sqrt(5)), 0, b / math.sqrt(3), -b, b)
    check_stats(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), 0,
                math.sqrt(2) / math.sqrt(fan_out))
    # truncated normal: torch's moments of N(0, 1) on [-1, 2] and of N(0, 1) on [2, 3]
    for a, b in ((-1.0, 2.0), (2.0, 3.0)):
        x = init.trunc_normal_(big(400, 500), 0.0, 1.0, a, b).detach().numpy()
        ref = tinit.trunc_normal_(torch.empty(400, 500), 0.0, 1.0, a, b).numpy()
        assert x.min() >= a and x.max() <= b
        assert abs(x.mean() - ref.mean()) < 0.01 and abs(x.std() - ref.std()) < 0.01


def test_generator_and_seed_repeat_the_draws():
    g = cg.Generator().manual_seed(3)
    a = init.normal_(cg.empty(5), generator=g).tolist()
    g.manual_seed(3)
    assert init.normal_(cg.empty(5), generator=g).tolist() == a


def test_constants_eye_and_dirac_are_exact():
    assert init.constant_(cg.empty(2, 2), 0.3).tolist() == tinit.constant_(
        torch.empty(2, 2), 0.3).tolist()
    assert init.ones_(cg.empty(3)).tolist() == [1, 1, 1]
    assert init.zeros_(cg.ones(3)).tolist() == [0, 0, 0]
    for shape in [(3, 5), (5, 3)]:
        np.testing.assert_array_equal(init.eye_(cg.empty(*shape)).numpy(),
                                      tinit.eye_(torch.empty(*shape)).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 4, 3, 2, 3), 2),
                          ((2, 5, 4, 4), 1)]:
        np.testing.assert_array_equal(init.dirac_(cg.empty(*shape), groups).numpy(),
                                      tinit.dirac_(torch.empty(*shape), groups).numpy())


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 2, 2)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    q = init.orthogonal_(cg.empty(*shape, dtype=cg.float64), gain=2.0).numpy()
    flat = q.reshape(shape[0], -1) / 2.0
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_sparse_zeros_each_column():
    t = init.sparse_(cg.empty(10, 7), 0.3, std=0.5)
    assert ((t.numpy() == 0).sum(axis=0) >= 3).all()


def test_deprecated_aliases_and_layer_helpers():
    with pytest.warns(FutureWarning, match="nn.init.normal_"):
        init.normal(cg.empty(3))
    with pytest.warns(FutureWarning, match="nn.init.kaiming_uniform_"):
        init.kaiming_uniform(cg.empty(3, 3))
    with pytest.warns(FutureWarning):
        init.uniform(cg.empty(3), -1, 1)
    a = init.uniform((50,), 0.5, np.float64)
    assert a.dtype == np.float64 and np.abs(a).max() <= 0.5
    assert init.kaiming_uniform((4, 9)).dtype == np.float32 and init.fan_in((4, 3, 2, 2)) == 12
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(cg.empty(0, 3))


def test_default_layer_init_matches_torch_bounds():
    cg.manual_seed(1)
    conv = nn.Conv2d(8, 16, 3)
    bound = 1 / math.sqrt(8 * 9)
    assert np.abs(conv.weight.numpy(force=True)).max() <= bound
    assert np.abs(conv.bias.numpy(force=True)).max() <= bound
    conv.reset_parameters()
    assert np.abs(conv.weight.numpy(force=True)).max() <= bound
