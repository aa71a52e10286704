"""Every loss (and distance) function against torch.nn.functional: value, dtype, gradient with
respect to the input — and the target where torch differentiates it — and the second order where
torch has it, for each reduction and option; then error-type and signature parity."""

import inspect
import types
import warnings

import numpy as np
import pytest
from helpers import check_op, import_torch

from convgrad.functional import basic, distance, losses, losses_more

torch = import_torch()
tF = torch.nn.functional  # noqa: N816
F = types.SimpleNamespace(**{n: getattr(m, n) for m in (basic, distance, losses, losses_more)
                             for n in m.__all__})
rng = np.random.default_rng(0)
SIGN4 = np.where(rng.standard_normal(4) > 0, 1.0, -1.0)
PROB = rng.uniform(0.05, 0.95, (3, 4))
LABELS = (rng.uniform(size=(3, 4)) > 0.5).astype(np.float64)
COUNTS = rng.integers(0, 5, (3, 4)).astype(np.float64)
W4 = np.array([0.5, 1.0, 2.0, 1.5])
T3 = np.array([0, 3, 1])
T_SPATIAL = rng.integers(0, 4, (2, 3, 2))
T_SPATIAL[0, 1, 0] = -100                                   # one ignored position
POS = np.abs(rng.standard_normal((3, 4))) + 0.3
REDUCTIONS = ("none", "mean", "sum")


def t(a, like=None):
    x = torch.tensor(a)
    return x if like is None else x.to(like.dtype)


def c(a, like):
    return np.asarray(a).astype(like.dtype)


# name: (convgrad fn(reduction), torch fn(reduction), inputs, order)
CASES = {
    "mse": (lambda r: lambda a, b: F.mse_loss(a, b, reduction=r),
            lambda r: lambda a, b: tF.mse_loss(a, b, reduction=r), [(3, 4), (3, 4)], 2),
    "mse_weight": (lambda r: lambda a, b, w: F.mse_loss(a, b, reduction=r, weight=w),
                   lambda r: lambda a, b, w: tF.mse_loss(a, b, reduction=r, weight=w),
                   [(3, 4), (3, 4), POS], 2),
    "l1": (lambda r: lambda a, b: F.l1_loss(a, b, reduction=r),
           lambda r: lambda a, b: tF.l1_loss(a, b, reduction=r), [(3, 4), (3, 4)], 1),
    "l1_weight": (lambda r: lambda a, b, w: F.l1_loss(a, b, reduction=r, weight=w),
                  lambda r: lambda a, b, w: tF.l1_loss(a, b, reduction=r, weight=w),
                  [(3, 4), (3, 4), POS], 1),
    "smooth_l1": (lambda r: lambda a, b: F.smooth_l1_loss(a, b, reduction=r),
                  lambda r: lambda a, b: tF.smooth_l1_loss(a, b, reduction=r),
                  [(3, 4), (3, 4)], 2),
    "smooth_l1_beta": (lambda r: lambda a, b: F.smooth_l1_loss(a, b, reduction=r, beta=0.4),
                       lambda r: lambda a, b: tF.smooth_l1_loss(a, b, reduction=r, beta=0.4),
                       [(3, 4), (3, 4)], 2),
    "smooth_l1_beta0": (lambda r: lambda a, b: F.smooth_l1_loss(a, b, reduction=r, beta=0.0),
                        lambda r: lambda a, b: tF.smooth_l1_loss(a, b, reduction=r, beta=0.0),
                        [(3, 4), (3, 4)], 1),
    "huber": (lambda r: lambda a, b: F.huber_loss(a, b, reduction=r, delta=0.6),
              lambda r: lambda a, b: tF.huber_loss(a, b, reduction=r, delta=0.6),
              [(3, 4), (3, 4)], 2),
    "huber_weight": (lambda r: lambda a, b, w: F.huber_loss(a, b, r, 1.5, weight=w),
                     lambda r: lambda a, b, w: tF.huber_loss(a, b, r, 1.5, weight=w),
                     [(3, 4), (3, 4), POS], 2),
    "bce": (lambda r: lambda x, y: F.binary_cross_entropy(x, y, reduction=r),
            lambda r: lambda x, y: tF.binary_cross_entropy(x, y, reduction=r),
            [PROB, rng.uniform(size=(3, 4))], 2),
    "bce_weight": (lambda r: lambda x: F.binary_cross_entropy(x, LABELS.astype(x.dtype),
                                                              c(W4, x), reduction=r),
                   lambda r: lambda x: tF.binary_cross_entropy(x, t(LABELS, x), t(W4, x),
                                                               reduction=r), [PROB], 2),
    "bce_logits": (lambda r: lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=r),
                   lambda r: lambda x, y: tF.binary_cross_entropy_with_logits(x, y,
                                                                              reduction=r),
                   [(3, 4) , rng.uniform(size=(3, 4))], 2),
    "bce_logits_weights": (
        lambda r: lambda x, y: F.binary_cross_entropy_with_logits(
            x * 30, y, c(W4, x), reduction=r, pos_weight=c(W4[::-1], x)),
        lambda r: lambda x, y: tF.binary_cross_entropy_with_logits(
            x * 30, y, t(W4, x), reduction=r, pos_weight=t(W4[::-1].copy(), x)),
        [(3, 4), rng.uniform(size=(3, 4))], 2),
    "kl_div": (lambda r: lambda x, y: F.kl_div(x, y, reduction=r),
               lambda r: lambda x, y: tF.kl_div(x, y, reduction=r),
               [(3, 4), rng.uniform(0.1, 1, (3, 4))], 2),
    "kl_div_log_target": (lambda r: lambda x, y: F.kl_div(x, y, reduction=r, log_target=True),
                          lambda r: lambda x, y: tF.kl_div(x, y, reduction=r, log_target=True),
                          [(3, 4), (3, 4)], 2),
    "margin_ranking": (lambda r: lambda a, b: F.margin_ranking_loss(a, b, c(SIGN4, a), 0.3,
                                                                    reduction=r),
                       lambda r: lambda a, b: tF.margin_ranking_loss(a, b, t(SIGN4, a), 0.3,
                                                                     reduction=r),
                       [(4,), (4,)], 2),
    "hinge_embedding": (lambda r: lambda a: F.hinge_embedding_loss(a, SIGN4, 0.5, reduction=r),
                        lambda r: lambda a: tF.hinge_embedding_loss(a, t(SIGN4), 0.5,
                                                                    reduction=r), [(4,)], 2),
    "soft_margin": (lambda r: lambda a: F.soft_margin_loss(a, c(SIGN4, a), reduction=r),
                    lambda r: lambda a: tF.soft_margin_loss(a, t(SIGN4, a), reduction=r),
                    [(4,)], 2),
    "multilabel_soft_margin": (
        lambda r: lambda a: F.multilabel_soft_margin_loss(a, c(LABELS, a), c(W4, a),
                                                          reduction=r),
        lambda r: lambda a: tF.multilabel_soft_margin_loss(a, t(LABELS, a), t(W4, a),
                                                           reduction=r), [(3, 4)], 2),
    "multi_margin": (lambda r: lambda a: F.multi_margin_loss(a, T3, reduction=r),
                     lambda r: lambda a: tF.multi_margin_loss(a, t(T3), reduction=r),
                     [(3, 4)], 1),
    "multi_margin_p2_weight": (
        lambda r: lambda a: F.multi_margin_loss(a, T3, 2, 0.7, c(W4, a), reduction=r),
        lambda r: lambda a: tF.multi_margin_loss(a, t(T3), 2, 0.7, t(W4, a), reduction=r),
        [(3, 4)], 1),
    "multi_margin_1d": (lambda r: lambda a: F.multi_margin_loss(a, np.array(2), reduction=r),
                        lambda r: lambda a: tF.multi_margin_loss(a, t(np.array(2)),
                                                                 reduction=r), [(4,)], 1),
    "triplet": (lambda r: lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction=r),
                lambda r: lambda a, p, n: tF.triplet_margin_loss(a, p, n, reduction=r),
                [(3, 4), (3, 4), (3, 4)], 2),
    "triplet_p1_swap": (
        lambda r: lambda a, p, n: F.triplet_margin_loss(a, p, n, 2.0, 1, swap=True,
                                                        reduction=r),
        lambda r: lambda a, p, n: tF.triplet_margin_loss(a, p, n, 2.0, 1, swap=True,
                                                         reduction=r),
        [(3, 4), (3, 4), (3, 4)], 1),                     # p = 1: torch's ZeroTensor
    "cosine_embedding": (
        lambda r: lambda a, b: F.cosine_embedding_loss(a, b, SIGN4[:3], 0.1, reduction=r),
        lambda r: lambda a, b: tF.cosine_embedding_loss(a, b, t(SIGN4[:3]), 0.1,
                                                        reduction=r), [(3, 4), (3, 4)], 2),
    "poisson_nll": (lambda r: lambda a, y: F.poisson_nll_loss(a, y, reduction=r),
                    lambda r: lambda a, y: tF.poisson_nll_loss(a, y, reduction=r),
                    [(3, 4), COUNTS], 2),
    "poisson_nll_rates_full": (
        lambda r: lambda a, y: F.poisson_nll_loss(a, y, log_input=False, full=True,
                                                  reduction=r),
        lambda r: lambda a, y: tF.poisson_nll_loss(a, y, log_input=False, full=True,
                                                   reduction=r), [POS, COUNTS + 1], 2),
    # torch's target gradient at y = 0 is NaN (0·log 0 behind its mask); convgrad's is 0, so
    # zero counts are checked without differentiating the target
    "poisson_nll_full_zero_counts": (
        lambda r: lambda a: F.poisson_nll_loss(a, c(COUNTS, a), full=True, reduction=r),
        lambda r: lambda a: tF.poisson_nll_loss(a, t(COUNTS, a), full=True, reduction=r),
        [(3, 4)], 2),
    "gaussian_nll": (lambda r: lambda a, y, v: F.gaussian_nll_loss(a, y, v, reduction=r),
                     lambda r: lambda a, y, v: tF.gaussian_nll_loss(a, y, v, reduction=r),
                     [(3, 4), (3, 4), POS], 2),
    "gaussian_nll_homoscedastic_full": (
        lambda r: lambda a, y, v: F.gaussian_nll_loss(a, y, v, full=True, eps=0.5,
                                                      reduction=r),
        lambda r: lambda a, y, v: tF.gaussian_nll_loss(a, y, v, full=True, eps=0.5,
                                                       reduction=r),
        [(3, 4), (3, 4), POS[:, 0]], 2),
    "nll_spatial_weight_ignore": (
        lambda r: lambda z: F.nll_loss(z, T_SPATIAL, c(W4, z), reduction=r),
        lambda r: lambda z: tF.nll_loss(z, t(T_SPATIAL), t(W4, z), reduction=r),
        [(2, 4, 3, 2)], 2),
    "cross_entropy_spatial_smoothing": (
        lambda r: lambda z: F.cross_entropy(z, T_SPATIAL, c(W4, z), reduction=r,
                                            label_smoothing=0.2),
        lambda r: lambda z: tF.cross_entropy(z, t(T_SPATIAL), t(W4, z), reduction=r,
                                             label_smoothing=0.2), [(2, 4, 3, 2)], 2),
    "cross_entropy_probabilities_target_grad": (
        lambda r: lambda z, p: F.cross_entropy(z, p, c(W4, z), reduction=r,
                                               label_smoothing=0.1),
        lambda r: lambda z, p: tF.cross_entropy(z, p, t(W4, z), reduction=r,
                                                label_smoothing=0.1),
        [(3, 4), PROB / PROB.sum(1, keepdims=True)], 2),
    "cross_entropy_one_sample": (lambda r: lambda z: F.cross_entropy(z, np.array(2),
                                                                     reduction=r),
                                 lambda r: lambda z: tF.cross_entropy(z, t(np.array(2)),
                                                                      reduction=r), [(4,)], 2),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CASES)
def test_loss_matches_torch(name, reduction):
    ours, theirs, inputs, order = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                     # kl_div's 'mean' warning
        check_op(ours(reduction), theirs(reduction), *inputs, order=order)


def test_kl_div_batchmean_and_its_warning():
    check_op(lambda x, y: F.kl_div(x, y, reduction="batchmean"),
             lambda x, y: tF.kl_div(x, y, reduction="batchmean"),
             (3, 4), rng.uniform(0.1, 1, (3, 4)))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(np.zeros((2, 2)), np.ones((2, 2)))


DISTANCES = {
    "normalize": (lambda a: F.normalize(a), lambda a: tF.normalize(a), [(3, 4)]),
    "normalize_p1_dim0": (lambda a: F.normalize(a, 1, 0), lambda a: tF.normalize(a, 1, 0),
                          [(3, 4)]),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b),
                          lambda a, b: tF.cosine_similarity(a, b), [(3, 4), (3, 4)]),
    "cosine_similarity_broadcast": (lambda a, b: F.cosine_similarity(a, b, dim=-1),
                                    lambda a, b: tF.cosine_similarity(a, b, dim=-1),
                                    [(2, 3, 4), (3, 4)]),
    "pairwise_distance": (lambda a, b: F.pairwise_distance(a, b),
                          lambda a, b: tF.pairwise_distance(a, b), [(3, 4), (3, 4)]),
    "pairwise_distance_p3_keepdim": (lambda a, b: F.pairwise_distance(a, b, 3.0, keepdim=True),
                                     lambda a, b: tF.pairwise_distance(a, b, 3.0, keepdim=True),
                                     [(3, 4), (4,)]),
    "bilinear": (F.bilinear, tF.bilinear, [(2, 3), (2, 4), (5, 3, 4), (5,)]),
    "bilinear_batched_no_bias": (F.bilinear, tF.bilinear, [(2, 2, 3), (2, 2, 4), (5, 3, 4)]),
    "embedding_padding_freq": (
        lambda w: F.embedding(np.array([[0, 2], [2, 1]]), w, padding_idx=1,
                              scale_grad_by_freq=True),
        lambda w: tF.embedding(t(np.array([[0, 2], [2, 1]])), w, padding_idx=1,
                               scale_grad_by_freq=True), [(3, 4)]),
    "embedding_negative_padding": (
        lambda w: F.embedding(np.array([0, 2, 2]), w, padding_idx=-1),
        lambda w: tF.embedding(t(np.array([0, 2, 2])), w, padding_idx=-1), [(3, 4)]),
}


@pytest.mark.parametrize("name", DISTANCES)
def test_distance_matches_torch(name):
    ours, theirs, inputs = DISTANCES[name]
    check_op(ours, theirs, *inputs)


def test_one_hot_is_torchs():
    x = np.array([[0, 3], [1, 1]])
    for n in (-1, 5):
        got, want = F.one_hot(x, n), tF.one_hot(t(x), n)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got.array, want.numpy())


def test_embedding_max_norm_renorms_rows_in_place_like_torch():
    w = rng.standard_normal((5, 3)) * 2
    idx = np.array([[0, 2], [2, 4]])
    ours, theirs = w.copy(), torch.tensor(w.copy())
    import convgrad as cg  # noqa: PLC0415
    ow = cg.tensor(ours, requires_grad=True)
    for norm_type in (2.0, 1.0):
        y = F.embedding(idx, ow, max_norm=1.0, norm_type=norm_type)
        ty = tF.embedding(t(idx), theirs, max_norm=1.0, norm_type=norm_type)
        np.testing.assert_allclose(y.array, ty.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ow.array, theirs.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ow.array[[1, 3]], w[[1, 3]])     # rows not looked up


# ------------------------------------------------------------------ errors, as torch's types
ERRORS = [
    (lambda m, a: m.nll_loss(a(np.ones((2, 3))), a(np.array([0, 3])))),
    (lambda m, a: m.cross_entropy(a(np.ones((2, 3))), a(np.array([0, 1, 2])))),
    (lambda m, a: m.cross_entropy(a(np.ones((2, 3))), a(np.array([0, 1])), reduction="avg")),
    (lambda m, a: m.binary_cross_entropy(a(np.full(3, 0.5)), a(np.full(4, 0.5)))),
    (lambda m, a: m.binary_cross_entropy(a(np.full(3, 1.5)), a(np.full(3, 0.5)))),
    (lambda m, a: m.binary_cross_entropy_with_logits(a(np.ones(3)), a(np.ones(4)))),
    (lambda m, a: m.mse_loss(a(np.ones((2, 3))), a(np.ones(4)))),
    (lambda m, a: m.mse_loss(a(np.ones((2, 3))), a(np.ones((2, 3))), weight=a(np.ones(3)))),
    (lambda m, a: m.huber_loss(a(np.ones(3)), a(np.ones(3)), delta=0.0)),
    (lambda m, a: m.smooth_l1_loss(a(np.ones(3)), a(np.ones(3)), beta=-1.0)),
    (lambda m, a: m.multi_margin_loss(a(np.ones((2, 3))), a(np.array([0, 1])), p=3)),
    (lambda m, a: m.multi_margin_loss(a(np.ones((2, 3))), a(np.array([0, 3])))),
    (lambda m, a: m.multi_margin_loss(a(np.ones((2, 3))), a(np.array([0, 1, 1])))),
    (lambda m, a: m.triplet_margin_loss(a(np.ones((2, 3))), a(np.ones((2, 3))),
                                        a(np.ones(3)))),
    (lambda m, a: m.triplet_margin_loss(*(a(np.ones((2, 3))),) * 3, margin=0.0)),
    (lambda m, a: m.cosine_embedding_loss(a(np.ones((2, 3))), a(np.ones((2, 3))),
                                          a(np.ones(3)))),
    (lambda m, a: m.cosine_embedding_loss(a(np.ones((2, 3))), a(np.ones((2, 3))),
                                          a(np.ones(())))),
    (lambda m, a: m.margin_ranking_loss(a(np.ones((2, 3))), a(np.ones((2, 3))),
                                        a(np.ones(3)))),
    (lambda m, a: m.gaussian_nll_loss(a(np.ones((2, 3))), a(np.ones((2, 3))), a(np.ones(3)))),
    (lambda m, a: m.gaussian_nll_loss(a(np.ones((2, 3))), a(np.ones((2, 3))),
                                      a(-np.ones((2, 3))))),
    (lambda m, a: m.one_hot(a(np.array([1.0])))),
    (lambda m, a: m.one_hot(a(np.array([-1])))),
    (lambda m, a: m.one_hot(a(np.array([3])), 3)),
    (lambda m, a: m.embedding(a(np.array([5])), a(np.ones((3, 2))))),
    (lambda m, a: m.embedding(a(np.array([1.0])), a(np.ones((3, 2))))),
    (lambda m, a: m.embedding(a(np.array([1])), a(np.ones((3, 2))), padding_idx=3)),
    (lambda m, a: m.dropout(a(np.ones(3)), 1.5)),
    (lambda m, a: m.dropout1d(a(np.ones(3)))),
    (lambda m, a: m.feature_alpha_dropout(a(np.ones(3)), training=True)),
    (lambda m, a: m.bilinear(a(np.ones((2, 3))), a(np.ones((2, 4))), a(np.ones((5, 3, 3))))),
    (lambda m, a: m.bilinear(a(np.ones((2, 3))), a(np.ones((3, 4))), a(np.ones((5, 3, 4))))),
    (lambda m, a: m.bilinear(a(np.ones((2, 3))), a(np.ones(4)), a(np.ones((5, 3, 4))))),
]


@pytest.mark.parametrize("call", ERRORS)
def test_errors_have_torchs_type(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            call(tF, torch.tensor)
        with pytest.raises(theirs.type) as ours:
            call(F, np.asarray)
    assert str(ours.value)


def test_deprecated_size_average_and_reduce_map_to_a_reduction_with_torchs_warning():
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            got = F.mse_loss(a, b, size_average, reduce)
        with pytest.warns(UserWarning):
            want = tF.mse_loss(t(a), t(b), size_average, reduce)
        np.testing.assert_allclose(got.array, want.numpy(), rtol=1e-12)


def test_a_broadcast_target_warns_like_torch():
    with pytest.warns(UserWarning, match="Using a target size"):
        got = F.mse_loss(np.ones((2, 3)), np.zeros(3))
    assert got.item() == 1.0


@pytest.mark.parametrize("name", sorted(n for m in (basic, distance, losses, losses_more)
                                        for n in m.__all__ if n != "flatten"))
def test_function_signature_is_torchs(name):
    try:
        want = inspect.signature(getattr(tF, name))
    except ValueError:                                       # a C function: its docstring
        header = getattr(tF, name).__doc__.strip().splitlines()[0]
        assert header.startswith(f"{name}(")
        want = inspect.signature(eval(f"lambda {header[len(name) + 1:header.index(')')]}: 0"))
    got = inspect.signature(getattr(F, name))
    assert [(p.name, p.kind, p.default) for p in got.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in want.parameters.values()]


# the fuzz findings on bad arguments: torch's error type, a message naming the op
OP_ERRORS = [
    (lambda m, a: m.cosine_similarity(a(np.ones((2, 3))), a(np.ones((2, 3))), eps=-1.1),
     "cosine_similarity: eps must be non-negative"),
    (lambda m, a: m.cosine_similarity(a(np.ones((2, 3))), a(np.ones((2, 3))), dim=[1]),
     "cosine_similarity"),
    (lambda m, a: m.cosine_similarity(a(np.ones((2, 3))), a(np.ones((2, 3))), dim=None),
     "cosine_similarity"),
    (lambda m, a: m.cosine_similarity(a(np.ones((2, 3))), a(np.ones((2, 3))), dim=2),
     "cosine_similarity"),
    (lambda m, a: m.normalize(a(np.ones((2, 3))), dim=2), "normalize"),
    (lambda m, a: m.normalize(a(np.array(1.0))), "normalize"),
    (lambda m, a: m.multi_margin_loss(a(np.ones((3, 4))), a(np.array([0, 1, 3])),
                                      weight=a(np.ones((2, 2)))),
     "multi_margin_loss: weight must be one-dimensional"),
    (lambda m, a: m.multi_margin_loss(a(np.ones((2, 3))), a(np.array([0, 1])), p=3),
     "multi_margin_loss: only p == 1 and p == 2 supported"),
    (lambda m, a: m.multilabel_soft_margin_loss(a(np.ones((3, 4))), a(np.ones((3, 4))),
                                                weight=a(np.ones((2, 2, 2)))),
     "multilabel_soft_margin_loss"),
    (lambda m, a: m.hinge_embedding_loss(a(np.ones((3, 4))), 3 + 0j), "hinge_embedding_loss"),
    (lambda m, a: m.triplet_margin_loss(a(np.ones((2, 3))), a(np.ones((2, 3))), a(np.ones(3))),
     "triplet_margin_loss: The anchor, positive, and negative"),
    (lambda m, a: m.triplet_margin_loss(a(np.ones((2, 3))), a(np.ones((2, 3))),
                                        a(np.ones((2, 3))), margin=0.0),
     "triplet_margin_loss: margin must be greater than 0"),
    (lambda m, a: m.cosine_embedding_loss(a(np.ones(3)), a(np.ones(3)), a(np.ones(3))),
     "cosine_embedding_loss: 1D target tensor expects 2D"),
    (lambda m, a: m.cosine_embedding_loss(a(np.ones((2, 3))), a(np.ones((2, 3))),
                                          a(np.array(1.0))),
     "cosine_embedding_loss: 0D target tensor expects 1D"),
    (lambda m, a: m.embedding(a(np.array([1])), a(np.ones(3))), "embedding: 'weight' must be 2-D"),
    (lambda m, a: m.embedding(a(np.array([1])), a(np.ones((3, 2))), padding_idx=3),
     "embedding: Padding_idx must be within num_embeddings"),
    (lambda m, a: m.gaussian_nll_loss(a(np.ones(3)), a(np.ones(3)), a(np.ones(3)),
                                      reduction="avg"), "gaussian_nll_loss: avg is not valid"),
    (lambda m, a: m.dropout2d(a(np.array(1.0))), "dropout2d: Feature dropout requires"),
    (lambda m, a: m.dropout3d(a(np.array(1.0))), "dropout3d: Feature dropout requires"),
]


@pytest.mark.parametrize("call,match", OP_ERRORS)
def test_argument_errors_have_torchs_type_and_name_the_op(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            call(tF, torch.tensor)
        with pytest.raises(theirs.type, match=match):
            call(F, np.asarray)


def test_hinge_embedding_loss_refuses_non_numeric_targets():
    x = np.ones((3, 4))
    for bad in (np.array([None, 1] * 6, dtype=object).reshape(3, 4), np.full((3, 4), "a")):
        with pytest.raises(TypeError, match="hinge_embedding_loss"):
            F.hinge_embedding_loss(x, bad)
    y = np.ones((3, 4), complex)           # complex targets are numbers, as torch's
    assert float(F.hinge_embedding_loss(x, y).array) == float(
        tF.hinge_embedding_loss(torch.tensor(x), torch.tensor(y)))
