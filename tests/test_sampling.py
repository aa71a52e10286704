"""Random tensors and in-place random fills: the values cannot be torch's (another bit
generator, see convgrad/random.py), so these test dtype, shape, seeding, generator
independence, the distributions' statistics and every argument error against torch's type."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg

torch = import_torch()
N = 100_000

DRAWS = {   # name → a call taking (L, **kw), kw carrying generator= (or nothing)
    "rand": lambda L, **k: L.rand(3, 4, **k), "randn": lambda L, **k: L.randn((3, 4), **k),
    "randint": lambda L, **k: L.randint(2, 9, (3, 4), **k),
    "randperm": lambda L, **k: L.randperm(12, **k),
    "normal": lambda L, **k: L.normal(1.0, 2.0, (3, 4), **k),
    "normal_t": lambda L, **k: L.normal(L.zeros(3, 4), L.ones(4), **k),
    "bernoulli": lambda L, **k: L.bernoulli(L.full((3, 4), 0.5), **k),
    "multinomial": lambda L, **k: L.multinomial(L.ones(3, 5), 4, **k),
    "multinomial_r": lambda L, **k: L.multinomial(L.ones(5), 7, True, **k),
    "poisson": lambda L, **k: L.poisson(L.full((3, 4), 3.0), **k),
    "rand_like": lambda L, **k: L.rand_like(L.ones(3, 4, dtype=L.float64), **k),
    "randn_like": lambda L, **k: L.randn_like(L.ones(3, 4), **k),
    "randint_like": lambda L, **k: L.randint_like(L.ones(3, 4), 5, **k),
    "normal_": lambda L, **k: L.zeros(3, 4).normal_(1, 2, **k),
    "uniform_": lambda L, **k: L.zeros(3, 4).uniform_(2, 3, **k),
    "bernoulli_": lambda L, **k: L.zeros(3, 4).bernoulli_(0.3, **k),
    "random_": lambda L, **k: L.zeros(3, 4, dtype=L.int64).random_(2, 7, **k),
    "exponential_": lambda L, **k: L.zeros(3, 4).exponential_(2, **k),
    "geometric_": lambda L, **k: L.zeros(3, 4).geometric_(0.3, **k),
    "log_normal_": lambda L, **k: L.zeros(3, 4, dtype=L.float64).log_normal_(0, 1, **k),
    "cauchy_": lambda L, **k: L.zeros(3, 4).cauchy_(1, 2, **k),
}


def _name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


@pytest.mark.parametrize("name", DRAWS)
def test_dtype_and_shape_as_torch(name):
    got, want = DRAWS[name](cg), DRAWS[name](torch)
    assert tuple(got.shape) == tuple(want.shape) and got.dtype.name == _name(want.dtype)


@pytest.mark.parametrize("name", DRAWS)
def test_manual_seed_repeats(name):
    cg.manual_seed(7)
    a = DRAWS[name](cg).numpy()
    cg.manual_seed(7)
    np.testing.assert_array_equal(a, DRAWS[name](cg).numpy())


@pytest.mark.parametrize("name", DRAWS)
def test_private_generator_repeats_and_leaves_the_global_stream(name):
    cg.manual_seed(3)
    plain = cg.rand(8).numpy()
    cg.manual_seed(3)
    a = DRAWS[name](cg, generator=cg.Generator().manual_seed(11)).numpy()
    assert np.array_equal(cg.rand(8).numpy(), plain)        # global stream untouched
    b = DRAWS[name](cg, generator=cg.Generator().manual_seed(11)).numpy()
    np.testing.assert_array_equal(a, b)


def test_generator_must_be_a_generator():
    with pytest.raises(TypeError):
        cg.rand(2, generator=np.random.default_rng(0))


# -- statistics on 10⁵ samples -----------------------------------------------------------------

def close(x, mean, std, name):
    x = np.asarray(x, np.float64)
    assert abs(x.mean() - mean) < 0.02 * max(std, 1) + 5 * std / np.sqrt(x.size), name
    assert abs(x.std() - std) < 0.03 * max(std, 1), name


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_continuous_draws_in_their_dtype(dtype):
    d = getattr(cg, dtype)
    u = cg.rand(N, dtype=d)
    assert u.dtype == d and 0 <= u.numpy().min() and u.numpy().max() < 1
    close(u.numpy(), 0.5, np.sqrt(1 / 12), "rand")
    close(cg.randn(N, dtype=d).numpy(), 0, 1, "randn")
    close(cg.normal(3.0, 2.0, (N,), dtype=d).numpy(), 3, 2, "normal")
    for t, mean, std in ((cg.zeros(N, dtype=d).normal_(-1, 0.5), -1, 0.5),
                         (cg.zeros(N, dtype=d).uniform_(2, 4), 3, 2 / np.sqrt(12)),
                         (cg.zeros(N, dtype=d).exponential_(2), 0.5, 0.5)):
        assert t.dtype == d
        close(t.numpy(), mean, std, "fill")


def test_float32_uniform_never_reaches_one():
    cg.manual_seed(0)
    assert cg.rand(10 ** 6).numpy().max() < 1
    assert cg.rand(10 ** 5, dtype=cg.float16).numpy().max() < 1


def test_discrete_statistics():
    r = cg.randint(-3, 5, (N,)).numpy()
    assert r.min() == -3 and r.max() == 4 and r.dtype == np.int64
    close(r, 0.5, np.sqrt((8 ** 2 - 1) / 12), "randint")
    b = cg.bernoulli(cg.full((N,), 0.3)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    assert abs(cg.zeros(N, dtype=cg.bool).bernoulli_(0.8).numpy().mean() - 0.8) < 0.01
    close(cg.poisson(cg.full((N,), 4.0)).numpy(), 4, 2, "poisson")
    g = cg.zeros(N).geometric_(0.25).numpy()
    assert g.min() >= 1 and abs(g.mean() - 4) < 0.1
    ln = np.log(cg.zeros(N, dtype=cg.float64).log_normal_(1, 0.5).numpy())
    close(ln, 1, 0.5, "log_normal_")
    c = cg.zeros(N, dtype=cg.float64).cauchy_(2, 3).numpy()
    assert abs(np.median(c) - 2) < 0.1 and abs(np.subtract(*np.percentile(c, [75, 25])) - 6) < 0.3


def test_random_ranges_by_dtype():
    assert set(np.unique(cg.zeros(N, dtype=cg.bool).random_().numpy())) == {False, True}
    u8 = cg.zeros(N, dtype=cg.uint8).random_().numpy()
    assert u8.min() == 0 and u8.max() == 255
    f = cg.zeros(N).random_().numpy()
    assert f.min() >= 0 and f.max() <= 2 ** 24 and np.all(f == np.round(f))
    assert cg.zeros(N, dtype=cg.int64).random_().numpy().min() >= 0
    x = cg.zeros(N).random_(5).numpy()
    assert set(np.unique(x)) == {0, 1, 2, 3, 4}
    y = cg.zeros(N, dtype=cg.int8).random_(-3, None).numpy()
    assert y.min() == -3 and y.max() == 127
    z = cg.zeros(N, dtype=cg.int16).random_(to=4).numpy()
    assert set(np.unique(z)) == {0, 1, 2, 3}


def test_randperm_is_a_permutation():
    for n in (0, 1, 7, 1000):
        p = cg.randperm(n)
        assert p.dtype == cg.int64 and sorted(p.tolist()) == list(range(n))
    assert sorted(cg.randperm(10, dtype=cg.float32).tolist()) == list(map(float, range(10)))


def test_multinomial_without_replacement():
    probs = cg.tensor([[0.0, 1.0, 2.0, 0.0, 3.0, 1.0]] * 500)
    s = cg.multinomial(probs, 4).numpy()
    assert s.shape == (500, 4) and s.dtype == np.int64
    assert all(len(set(row)) == 4 for row in s.tolist())
    assert not np.isin(s, [0, 3]).any()                   # zero-probability classes
    first = np.bincount(s[:, 0], minlength=6) / 500     # the first draw follows p
    np.testing.assert_allclose(first, [0, 1 / 7, 2 / 7, 0, 3 / 7, 1 / 7], atol=0.07)


def test_multinomial_with_replacement():
    p = np.array([0.1, 0.0, 0.6, 0.3, 0.0])
    s = cg.multinomial(cg.tensor(np.stack([p, p[::-1]])), N, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(s[0], minlength=5) / N, p, atol=0.01)
    np.testing.assert_allclose(np.bincount(s[1], minlength=5) / N, p[::-1], atol=0.01)
    assert cg.multinomial(cg.tensor([1.0, 0.0, 0.0]), 2, True).tolist() == [0, 0]
    assert tuple(cg.multinomial(cg.ones(0, 3), 1).shape) == (0, 1)


def test_normal_tensor_forms():
    mean = cg.tensor([0.0, 100.0, -100.0], dtype=cg.float64)
    x = cg.normal(cg.zeros(N, 1, dtype=cg.float64) + mean, cg.tensor([1.0, 2.0, 0.5]))
    assert x.dtype == cg.float64 and tuple(x.shape) == (N, 3)
    np.testing.assert_allclose(x.numpy().mean(0), [0, 100, -100], atol=0.05)
    np.testing.assert_allclose(x.numpy().std(0), [1, 2, 0.5], rtol=0.03)
    assert cg.normal(1.0, cg.ones(3, dtype=cg.float64)).dtype == cg.float64
    assert cg.normal(cg.zeros(3), cg.ones(3, dtype=cg.float64)).dtype == cg.float32
    assert cg.normal(mean=cg.zeros(2), std=0.0).tolist() == [0.0, 0.0]


def test_random_results_of_grad_tensors_have_zero_gradients():
    for make in (lambda L, m: L.normal(m, 1.0), lambda L, m: L.normal(0.0, m.exp()),
                 lambda L, m: L.bernoulli(m.sigmoid()), lambda L, m: L.poisson(m.exp())):
        m = cg.zeros(3, requires_grad=True)
        y = make(cg, m)
        assert y.requires_grad and make(torch, torch.zeros(3, requires_grad=True)).requires_grad
        y.sum().backward()
        assert m.grad.tolist() == [0.0] * 3
    assert not cg.multinomial(cg.ones(3, requires_grad=True), 2).requires_grad


def test_inplace_fill_rules():
    leaf = cg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        leaf.normal_()
    with cg.no_grad():
        assert leaf.uniform_() is leaf and leaf._version == 1
    x = cg.zeros(3, requires_grad=True)
    y = x * 2
    y[1:].normal_()
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 0.0]
    base = cg.zeros(4)
    view = base[1:3]
    view.fill_(0).bernoulli_(1.0)
    assert base.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert cg.zeros(3).bernoulli_(cg.tensor([0.0, 1.0, 0.0])).tolist() == [0.0, 1.0, 0.0]


def test_requires_grad_option():
    assert cg.rand(2, requires_grad=True).requires_grad
    assert cg.randn_like(cg.ones(2), requires_grad=True).requires_grad
    assert not cg.randn_like(cg.ones(2, requires_grad=True)).requires_grad
    assert cg.randint(5, (3,), dtype=cg.float32, requires_grad=True).requires_grad


ERRORS = [
    (RuntimeError, lambda L: L.rand(-1)), (TypeError, lambda L: L.rand(2.0)),
    (NotImplementedError, lambda L: L.rand(2, dtype=L.int64)),
    (NotImplementedError, lambda L: L.randn(2, dtype=L.int64)),
    (NotImplementedError, lambda L: L.rand_like(L.ones(2, dtype=L.int64))),
    (TypeError, lambda L: L.randint(5, 3)), (TypeError, lambda L: L.randint(5)),
    (TypeError, lambda L: L.randint(5.5, (3,))), (RuntimeError, lambda L: L.randint(5, 2, (3,))),
    (RuntimeError, lambda L: L.randint(0, (3,))), (RuntimeError, lambda L: L.randint(5, (-3,))),
    (RuntimeError, lambda L: L.randint(5, (3,), dtype=L.bool)),
    (RuntimeError, lambda L: L.randint(300, (3,), dtype=L.uint8)),
    (RuntimeError, lambda L: L.randint(-1, 200, (3,), dtype=L.uint8)),
    (RuntimeError, lambda L: L.randint(5, (3,), requires_grad=True)),
    (RuntimeError, lambda L: L.randint_like(L.ones(2), 0)),
    (RuntimeError, lambda L: L.randperm(-1)), (TypeError, lambda L: L.randperm(5.0)),
    (RuntimeError, lambda L: L.randperm(300, dtype=L.uint8)),
    (NotImplementedError, lambda L: L.randperm(5, dtype=L.bool)),
    (RuntimeError, lambda L: L.randperm(5, requires_grad=True)),
    (TypeError, lambda L: L.normal(0.0, 1.0)),
    (TypeError, lambda L: L.normal(L.zeros(3), 1.0, (3,))),
    (RuntimeError, lambda L: L.normal(L.zeros(3), -1.0)),
    (RuntimeError, lambda L: L.normal(0.0, -1.0, (3,))),
    (RuntimeError, lambda L: L.normal(0.0, float("nan"), (3,))),
    (RuntimeError, lambda L: L.normal(0.0, L.tensor([-1.0]))),
    (RuntimeError, lambda L: L.normal(L.zeros(3), L.ones(4))),
    (NotImplementedError, lambda L: L.normal(L.zeros(3, dtype=L.int64), 1.0)),
    (NotImplementedError, lambda L: L.bernoulli(L.ones(3, dtype=L.int64))),
    (RuntimeError, lambda L: L.bernoulli(L.full((3,), 1.5))),
    (RuntimeError, lambda L: L.bernoulli(L.full((3,), float("nan")))),
    (RuntimeError, lambda L: L.bernoulli(L.zeros(3), p=1.5)),
    (TypeError, lambda L: L.bernoulli([0.5])),
    (RuntimeError, lambda L: L.multinomial(L.ones(4), 5)),
    (RuntimeError, lambda L: L.multinomial(L.tensor([1.0, -1.0]), 1)),
    (RuntimeError, lambda L: L.multinomial(L.tensor([1.0, float("inf")]), 1)),
    (RuntimeError, lambda L: L.multinomial(L.tensor([1.0, float("nan")]), 1)),
    (RuntimeError, lambda L: L.multinomial(L.zeros(3), 1)),
    (RuntimeError, lambda L: L.multinomial(L.tensor([[1.0, 1.0], [0.0, 0.0]]), 1)),
    (RuntimeError, lambda L: L.multinomial(L.ones(4), 0)),
    (RuntimeError, lambda L: L.multinomial(L.ones(4), -1)),
    (RuntimeError, lambda L: L.multinomial(L.ones(2, 2, 2), 1)),
    (RuntimeError, lambda L: L.multinomial(L.tensor(1.0), 1)),
    (RuntimeError, lambda L: L.multinomial(L.ones(4, dtype=L.int64), 1)),
    (RuntimeError, lambda L: L.multinomial(L.ones(0), 1)),
    (TypeError, lambda L: L.multinomial(L.ones(4), 2.0)),
    (RuntimeError, lambda L: L.poisson(-L.ones(3))),
    (NotImplementedError, lambda L: L.poisson(L.ones(3, dtype=L.int64))),
    (RuntimeError, lambda L: L.zeros(3).normal_(0, -1)),
    (NotImplementedError, lambda L: L.zeros(3, dtype=L.int64).normal_()),
    (RuntimeError, lambda L: L.zeros(3).uniform_(3, 2)),
    (RuntimeError, lambda L: L.zeros(3).uniform_(-float("inf"), 0)),
    (NotImplementedError, lambda L: L.zeros(3, dtype=L.int64).uniform_()),
    (RuntimeError, lambda L: L.zeros(3).bernoulli_(1.5)),
    (RuntimeError, lambda L: L.zeros(3).bernoulli_(L.full((3,), 1.5))),
    (RuntimeError, lambda L: L.zeros(3).bernoulli_(L.full((2,), 1.0))),
    (RuntimeError, lambda L: L.zeros(3).random_(5, 2)),
    (RuntimeError, lambda L: L.zeros(3, dtype=L.int8).random_(300)),
    (TypeError, lambda L: L.zeros(3).random_(0.5)),
    (RuntimeError, lambda L: L.zeros(3).exponential_(0)),
    (RuntimeError, lambda L: L.zeros(3).exponential_(-1)),
    (RuntimeError, lambda L: L.zeros(3, dtype=L.int64).exponential_()),
    (RuntimeError, lambda L: L.zeros(3).geometric_(0)),
    (RuntimeError, lambda L: L.zeros(3).geometric_(1)),
    (TypeError, lambda L: L.zeros(3).geometric_()),
    (RuntimeError, lambda L: L.zeros(3).log_normal_(0, 0)),
    (NotImplementedError, lambda L: L.zeros(3, dtype=L.int64).log_normal_()),
    (RuntimeError, lambda L: L.zeros(3).cauchy_(0, 0)),
    (RuntimeError, lambda L: L.zeros(3, dtype=L.int64).cauchy_()),
    (RuntimeError, lambda L: L.zeros(3, requires_grad=True).normal_()),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    kind, fn = ERRORS[case]
    with pytest.raises(kind):
        fn(torch)
    with pytest.raises(kind):
        fn(cg)


def test_top_level_names_and_methods():
    for name in ("rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial",
                 "rand_like", "randn_like", "randint_like", "poisson"):
        assert name in cg.__all__ and callable(getattr(cg, name))
    for name in ("normal_", "uniform_", "bernoulli_", "random_", "exponential_", "geometric_",
                 "log_normal_", "cauchy_", "bernoulli", "multinomial"):
        assert hasattr(cg.Tensor, name)


def test_backends_surface():
    import convgrad.backends as backends
    backends.cudnn.benchmark = True
    backends.cudnn.deterministic = True
    backends.cuda.matmul.allow_tf32 = True
    assert backends.cudnn.benchmark and backends.cudnn.enabled
    assert not backends.cudnn.is_available() and backends.cudnn.version() is None
    assert not backends.mps.is_available() and not backends.mps.is_built()
    assert not backends.mkldnn.is_available() and not backends.cuda.is_built()
    with backends.cudnn.flags(enabled=False):
        assert not backends.cudnn.enabled
    assert backends.cudnn.enabled
    with pytest.raises(AttributeError):
        backends.cudnn.benchmrk = True
    backends.cudnn.benchmark = backends.cudnn.deterministic = False
    backends.cuda.matmul.allow_tf32 = False


def test_backends_import_as_submodules_like_torchs():
    import convgrad.backends.cudnn as cudnn  # pytorch/examples' dcgan imports it this way

    from convgrad.backends import mps
    assert cudnn is cg.backends.cudnn and mps is cg.backends.mps
