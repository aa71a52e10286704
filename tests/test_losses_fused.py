"""The fused nodes of convgrad/functional/losses_fused.py — log_softmax, nll_loss, cross
entropy — against torch (value, dtype, gradient, second derivatives) for every option of
torch's cross_entropy, and against the composed reference path of ``losses``
(``losses_fused.use(False)``)."""

import numpy as np
import pytest
from helpers import assert_close, check_op, import_torch
from hypothesis import given
from hypothesis import strategies as st

import convgrad as cg
import convgrad.functional as F
from convgrad.engine.settings import settings
from convgrad.engine.tuning import tuned
from convgrad.functional import activations, losses_fused

torch = import_torch()
tF = torch.nn.functional  # noqa: N816
rng = np.random.default_rng(0)
W5 = np.array([0.5, 1.0, 2.0, 1.5, 0.25])
T6 = np.array([0, 4, 1, 1, 3, 2])
T6_IGNORED = np.array([0, -100, 1, 7, 3, -100])[:, None].repeat(1, 1).ravel()
T6_IGNORED[3] = 2
T_KD = rng.integers(0, 5, (2, 3, 4))
T_KD[0, 1, 2] = T_KD[1, 0, 0] = -1                     # ignore_index=-1 below
P6 = rng.uniform(0.05, 0.95, (6, 5))
P6 /= P6.sum(1, keepdims=True)
P_KD = rng.uniform(0.05, 0.95, (2, 5, 3))
P_KD /= P_KD.sum(1, keepdims=True)
REDUCTIONS = ("mean", "sum", "none")


def c(a, like):
    return np.asarray(a).astype(like.dtype)


def t(a, like=None):
    x = torch.tensor(a)
    return x if like is None else x.to(like.dtype)


# name: (keyword arguments as (ours, theirs) of the logits, targets, inputs' shapes)
CASES = {
    "plain": (lambda z: {}, lambda z: {}, T6, [(6, 5)]),
    "weight": (lambda z: dict(weight=c(W5, z)), lambda z: dict(weight=t(W5, z)), T6, [(6, 5)]),
    "ignore": (lambda z: {}, lambda z: {}, T6_IGNORED, [(6, 5)]),
    "ignore_weight_smoothing": (
        lambda z: dict(weight=c(W5, z), label_smoothing=0.3),
        lambda z: dict(weight=t(W5, z), label_smoothing=0.3), T6_IGNORED, [(6, 5)]),
    "smoothing": (lambda z: dict(label_smoothing=0.1), lambda z: dict(label_smoothing=0.1),
                  T6, [(6, 5)]),
    "smoothing_one": (lambda z: dict(label_smoothing=1.0),
                      lambda z: dict(label_smoothing=1.0), T6, [(6, 5)]),
    "kd_ignore_index": (lambda z: dict(ignore_index=-1), lambda z: dict(ignore_index=-1),
                        T_KD, [(2, 5, 3, 4)]),
    "kd_weight_smoothing": (
        lambda z: dict(ignore_index=-1, weight=c(W5, z), label_smoothing=0.2),
        lambda z: dict(ignore_index=-1, weight=t(W5, z), label_smoothing=0.2),
        T_KD, [(2, 5, 3, 4)]),
    "one_sample": (lambda z: {}, lambda z: {}, np.array(3), [(5,)]),
    "probabilities": (lambda z: {}, lambda z: {}, P6, [(6, 5)]),
    "probabilities_weight_smoothing": (
        lambda z: dict(weight=c(W5, z), label_smoothing=0.2),
        lambda z: dict(weight=t(W5, z), label_smoothing=0.2), P6, [(6, 5)]),
    "probabilities_kd": (lambda z: {}, lambda z: {}, P_KD, [(2, 5, 3)]),
}


def _ours(name, reduction):
    kw, _, target, _ = CASES[name]
    if target.dtype.kind == "f":
        return lambda z: F.cross_entropy(z, c(target, z), reduction=reduction, **kw(z))
    return lambda z: F.cross_entropy(z, target, reduction=reduction, **kw(z))


def _theirs(name, reduction):
    _, kw, target, _ = CASES[name]
    tt = (lambda z: t(target, z)) if target.dtype.kind == "f" else (lambda z: t(target))
    return lambda z: tF.cross_entropy(z, tt(z), reduction=reduction, **kw(z))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CASES)
def test_cross_entropy_matches_torch(name, reduction):
    check_op(_ours(name, reduction), _theirs(name, reduction), *CASES[name][3])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CASES)
def test_cross_entropy_fused_equals_composed(name, reduction):
    fused_equals_composed(_ours(name, reduction), CASES[name][3][0])


@pytest.mark.parametrize("name", [n for n in CASES if n != "one_sample"])
def test_rows_shared_over_threads_give_the_same_numbers(name):
    x = rng.standard_normal(CASES[name][3][0])
    results = []
    for shares in (False, True):
        with settings(threads=2), tuned(thread_elements=1 if shares else 2**40):
            z = cg.tensor(x, requires_grad=True)
            loss = _ours(name, "none")(z)
            loss.backward(cg.tensor(np.cos(np.arange(loss.numel())).reshape(loss.shape)))
            results.append((loss.detach().numpy(), z.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_probability_targets_differentiable_in_both(reduction, smoothing):
    check_op(lambda z, p: F.cross_entropy(z, p, c(W5, z), reduction=reduction,
                                          label_smoothing=smoothing),
             lambda z, p: tF.cross_entropy(z, p, t(W5, z), reduction=reduction,
                                           label_smoothing=smoothing), (6, 5), P6)
    check_op(lambda z, p: F.cross_entropy(z, p, reduction=reduction, label_smoothing=smoothing),
             lambda z, p: tF.cross_entropy(z, p, reduction=reduction, label_smoothing=smoothing),
             (2, 5, 3), P_KD)


NLL = {
    "plain": (lambda x: F.nll_loss(F.log_softmax(x, 1), T6),
              lambda x: tF.nll_loss(tF.log_softmax(x, 1), t(T6)), (6, 5)),
    "weight_ignore": (lambda x: F.nll_loss(F.log_softmax(x, 1), T6_IGNORED, c(W5, x)),
                      lambda x: tF.nll_loss(tF.log_softmax(x, 1), t(T6_IGNORED), t(W5, x)),
                      (6, 5)),
    "kd_none": (lambda x: F.nll_loss(F.log_softmax(x, 1), T_KD, ignore_index=-1,
                                     reduction="none"),
                lambda x: tF.nll_loss(tF.log_softmax(x, 1), t(T_KD), ignore_index=-1,
                                      reduction="none"), (2, 5, 3, 4)),
    "sum_of_raw_scores": (lambda x: F.nll_loss(x, T6, reduction="sum"),
                          lambda x: tF.nll_loss(x, t(T6), reduction="sum"), (6, 5)),
    "byte_targets_kd": (lambda x: F.nll_loss(x, np.full((2, 40, 40), 4, np.uint8)),
                        lambda x: tF.nll_loss(x, torch.full((2, 40, 40), 4)),
                        (2, 5, 40, 40)),
    "one_sample": (lambda x: F.nll_loss(x, np.array(2)),
                   lambda x: tF.nll_loss(x, t(np.array(2))), (5,)),
}


@pytest.mark.parametrize("name", NLL)
def test_nll_loss_of_log_softmax_matches_torch(name):
    ours, theirs, shape = NLL[name]
    check_op(ours, theirs, shape)
    fused_equals_composed(ours, shape)


@pytest.mark.parametrize("shape, axis", [((6, 5), 1), ((6, 5), 0), ((2, 5, 3, 4), 1),
                                         ((2, 3, 4), -1), ((7,), 0), ((), 0), ((3, 0), 0)])
def test_fused_log_softmax_matches_torch_and_the_composed_one(shape, axis):
    check_op(lambda x: losses_fused.log_softmax(x, axis % max(len(shape), 1)),
             lambda x: tF.log_softmax(x, axis), shape)
    x = rng.standard_normal(shape)
    for dtype in ("float64", "float32"):
        a = cg.tensor(x.astype(dtype), requires_grad=True)
        b = cg.tensor(x.astype(dtype), requires_grad=True)
        fused = losses_fused.log_softmax(a, axis % max(len(shape), 1))
        composed = activations.log_softmax(b, axis)
        assert_close(fused.detach().numpy(), composed.detach().numpy(), dtype, "value")
        g = rng.standard_normal(shape).astype(dtype)
        fused.backward(cg.tensor(g))
        composed.backward(cg.tensor(g))
        assert_close(a.grad.numpy(), b.grad.numpy(), dtype, "gradient")


def test_log_softmax_is_stable_for_huge_logits():
    x = np.array([[1e4, 0.0, -1e4], [3e38, 3e38, -3e38]], np.float32)
    ours = losses_fused.log_softmax(cg.tensor(x), 1).numpy()
    np.testing.assert_array_equal(ours, tF.log_softmax(torch.tensor(x), 1).numpy())


def fused_equals_composed(fn, shape, seed=1):
    """Value, gradient and second derivative (Σ grad·v) of ``fn`` with the fused nodes and with
    the composed reference path, float64 (to round-off) and float32."""
    x = np.random.default_rng(seed).standard_normal(shape)
    for dtype in ("float64", "float32"):
        results = []
        for on in (True, False):
            with losses_fused.use(on):
                z = cg.tensor(x.astype(dtype), requires_grad=True)
                y = fn(z)
                g = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(dtype)
                (gz,) = cg.grad(y, [z], cg.tensor(g), create_graph=True)
                (gg,) = (cg.grad((gz * cg.tensor(np.cos(x).astype(dtype))).sum(), [z],
                                 allow_unused=True) if gz.requires_grad else (None,))
                results.append([y.detach().numpy(), gz.detach().numpy(),
                                np.zeros(shape, dtype) if gg is None else gg.numpy()])
        for what, a, b in zip(("value", "gradient", "second derivative"), *results):
            assert_close(a, b, dtype, f"fused vs composed {dtype} {what}")


def test_first_order_backward_matches_the_create_graph_one_and_runs_twice():
    x = rng.standard_normal((4, 5, 3))
    for target, kw in [(T_KD[:, 0, :3].reshape(2, 3).repeat(2, 0), dict(ignore_index=-1,
                                                                       label_smoothing=0.1)),
                       (P_KD.repeat(2, 0), dict(weight=W5))]:
        z = cg.tensor(x, requires_grad=True)
        loss = F.cross_entropy(z, target, **kw)
        (g1,) = cg.grad(loss, [z], retain_graph=True)
        (g2,) = cg.grad(loss, [z], retain_graph=True)         # e recomputed: the same
        (g3,) = cg.grad(loss, [z], create_graph=True)
        np.testing.assert_allclose(g1.numpy(), g2.numpy(), rtol=0, atol=0)
        np.testing.assert_allclose(g1.numpy(), g3.detach().numpy(), rtol=1e-13, atol=1e-16)
    ls = losses_fused.log_softmax(cg.tensor(x, requires_grad=True), 1)
    h1 = cg.grad(ls.sum(), ls._parents, cg.tensor(np.array(1.0)), retain_graph=True)[0]
    h2 = cg.grad(ls.sum(), ls._parents, cg.tensor(np.array(1.0)))[0]
    np.testing.assert_array_equal(h1.numpy(), h2.numpy())


def test_ignored_rows_are_never_read_and_all_ignored_is_nan():
    x = rng.standard_normal((3, 4))
    x[1] = -np.inf                                          # only on the ignored row
    for lib in (cg, torch):
        z = lib.tensor(x.copy(), requires_grad=True)
        loss = lib.nn.functional.cross_entropy(z, lib.tensor(np.array([0, -100, 2])),
                                               label_smoothing=0.1)
        loss.backward()
        if lib is cg:
            ours = loss.item(), z.grad.numpy().copy()
    np.testing.assert_allclose(ours[0], loss.item(), rtol=1e-12)
    np.testing.assert_allclose(ours[1], z.grad.numpy(), rtol=1e-12, atol=1e-15)
    z = cg.tensor(np.ones((2, 3)), requires_grad=True)
    loss = F.cross_entropy(z, np.array([-100, -100]))
    loss.backward()
    assert np.isnan(loss.item()) and np.all(z.grad.numpy() == 0)
    want = tF.cross_entropy(torch.ones(2, 3, dtype=torch.float64), torch.tensor([-100, -100]))
    assert np.isnan(want.item())


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_empty_batches_take_the_composed_path_like_torch():
    for reduction in REDUCTIONS:
        ours = F.cross_entropy(np.zeros((0, 4)), np.zeros(0, np.int64), reduction=reduction)
        theirs = tF.cross_entropy(torch.zeros(0, 4, dtype=torch.float64),
                                  torch.zeros(0, dtype=torch.int64), reduction=reduction)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.cross_entropy(lib.tensor(np.ones((2, 3))),
                                                lib.tensor(np.array([0, 3]))),
    lambda lib: lib.nn.functional.cross_entropy(lib.tensor(np.ones((2, 3))),
                                                lib.tensor(np.array([0, 1, 2]))),
    lambda lib: lib.nn.functional.nll_loss(lib.tensor(np.ones((2, 3))),
                                           lib.tensor(np.array([-1, 0]))),
])
def test_bad_targets_raise_torchs_error_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(theirs.type):
        call(cg)


@given(n=st.integers(1, 5), classes=st.integers(1, 6), spatial=st.sampled_from([(), (3,), (2, 2)]),
       reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans(),
       ignore=st.floats(0, 0.6), smoothing=st.sampled_from([0.0, 0.05, 0.5]),
       dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2**16))
def test_drawn_cross_entropy_configurations_match_torch(n, classes, spatial, reduction,
                                                        weighted, ignore, smoothing, dtype,
                                                        seed):
    r = np.random.default_rng(seed)
    x = (3 * r.standard_normal((n, classes, *spatial))).astype(dtype)
    target = r.integers(0, classes, (n, *spatial))
    target[r.uniform(size=target.shape) < ignore] = -100
    w = r.uniform(0.2, 2.0, classes).astype(dtype) if weighted else None
    z = cg.tensor(x, requires_grad=True)
    tz = torch.tensor(x, requires_grad=True)
    y = F.cross_entropy(z, target, None if w is None else w, reduction=reduction,
                        label_smoothing=smoothing)
    ty = tF.cross_entropy(tz, torch.tensor(target), None if w is None else torch.tensor(w),
                          reduction=reduction, label_smoothing=smoothing)
    g = r.standard_normal(y.shape).astype(dtype)
    y.backward(cg.tensor(g))
    ty.backward(torch.tensor(g))
    if np.all(target == -100) and reduction == "mean":
        assert np.isnan(y.item()) and np.isnan(ty.item())
    else:
        assert_close(y.detach().numpy(), ty.detach().numpy(), dtype, "value")
    if dtype == "float64":
        assert_close(z.grad.numpy(), tz.grad.numpy(), dtype, "gradient")
    else:            # softmax − 1 cancels: float32's round-off is relative to g, not to ∂z
        np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), rtol=1e-4,
                                   atol=1e-6 * np.abs(g).max())


def test_the_benchmark_times_cross_entropy_three_ways():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import bench_optim

    row = bench_optim.loss_row((64, 10), 1)
    assert all(row[k] > 0 for k in ("convgrad", "convgrad_nll_log_softmax", "torch",
                                    "convgrad_nll_fused_log_softmax"))
