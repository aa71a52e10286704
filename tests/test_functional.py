"""Every differentiable function against torch.nn.functional: forward, each input's gradient and
the gradient of that gradient (float64, one line per case), then the same cases through
cg.gradcheck (finite differences, orders 1 and 2)."""

import numpy as np
import pytest
from helpers import check_op, import_torch

import convgrad as cg
import convgrad.functional as F

torch = import_torch()
tF = torch.nn.functional  # noqa: N816
rng = np.random.default_rng(0)
TIES = np.round(rng.standard_normal((2, 2, 6, 6)))          # many equal maxima per window
TARGET = np.array([3, 0, 4, 4])
TARGET_2D = rng.integers(0, 3, size=(2, 4, 5))
WEIGHT = np.array([0.5, 1.0, 2.0, 1.5, 0.2])
PROBS = rng.dirichlet(np.ones(5), size=4)


def t(a):
    return torch.tensor(a)


CASES = {
    # convolutions (second order = double backward through conv_grad_input / conv_grad_weight)
    "conv2d_bias_stride_pad": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                               lambda x, w, b: tF.conv2d(x, w, b, stride=2, padding=1),
                               [(2, 3, 7, 6), (4, 3, 3, 2), (4,)]),
    "conv1d_dilation_groups": (lambda x, w: F.conv1d(x, w, dilation=2, groups=2),
                               lambda x, w: tF.conv1d(x, w, dilation=2, groups=2),
                               [(2, 4, 11), (6, 2, 3)]),
    "conv3d_mixed_stride": (lambda x, w: F.conv3d(x, w, stride=(1, 2, 1), padding=(0, 1, 1)),
                            lambda x, w: tF.conv3d(x, w, stride=(1, 2, 1), padding=(0, 1, 1)),
                            [(1, 2, 4, 5, 4), (3, 2, 2, 3, 2)]),
    "conv2d_per_side_padding": (lambda x, w: F.conv2d(x, w, padding=((2, 1), (1, 0)), stride=2),
                                lambda x, w: tF.conv2d(tF.pad(x, (1, 0, 2, 1)), w, stride=2),
                                [(1, 2, 6, 7), (3, 2, 3, 3)]),
    "conv2d_same": (lambda x, w: F.conv2d(x, w, padding="same", dilation=2),
                    lambda x, w: tF.conv2d(x, w, padding="same", dilation=2),
                    [(2, 2, 7, 6), (2, 2, 3, 2)]),
    "conv2d_depthwise_multiplier": (lambda x, w: F.conv2d(x, w, groups=3, stride=2),
                                    lambda x, w: tF.conv2d(x, w, groups=3, stride=2),
                                    [(2, 3, 7, 7), (6, 1, 3, 3)]),
    "conv_transpose1d": (lambda x, w, b: F.conv_transpose1d(x, w, b, stride=3, padding=1,
                                                            output_padding=2),
                         lambda x, w, b: tF.conv_transpose1d(x, w, b, stride=3, padding=1,
                                                             output_padding=2),
                         [(2, 2, 5), (2, 3, 3), (3,)]),
    "conv_transpose2d_groups_dilation": (
        lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2,
                                        dilation=2),
        lambda x, w: tF.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2,
                                         dilation=2),
        [(1, 4, 4, 3), (4, 1, 3, 2)]),
    "conv_transpose3d": (lambda x, w: F.conv_transpose3d(x, w, stride=(2, 1, 2)),
                         lambda x, w: tF.conv_transpose3d(x, w, stride=(2, 1, 2)),
                         [(1, 2, 3, 3, 2), (2, 2, 2, 2, 2)]),
    # pooling
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), lambda x: tF.max_pool2d(x, 2), [(2, 3, 6, 7)]),
    "max_pool2d_overlap_pad": (lambda x: F.max_pool2d(x, 3, 2, 1),
                               lambda x: tF.max_pool2d(x, 3, 2, 1), [(2, 2, 7, 6)]),
    "max_pool2d_dilation_ceil": (lambda x: F.max_pool2d(x, 2, 2, 1, dilation=2, ceil_mode=True),
                                 lambda x: tF.max_pool2d(x, 2, 2, 1, dilation=2, ceil_mode=True),
                                 [(1, 2, 8, 7)]),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3, 1), lambda x: tF.max_pool1d(x, 3, 1),
                   [(2, 3, 9)]),
    "max_pool3d": (lambda x: F.max_pool3d(x, 2), lambda x: tF.max_pool3d(x, 2),
                   [(1, 2, 4, 4, 5)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), lambda x: tF.avg_pool2d(x, 2), [(2, 3, 6, 7)]),
    "avg_pool2d_pad_exclude_ceil": (
        lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda x: tF.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        [(2, 2, 8, 7)]),
    "avg_pool2d_pad_include_ceil": (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
                                    lambda x: tF.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
                                    [(1, 2, 8, 6)]),
    "avg_pool2d_divisor": (lambda x: F.avg_pool2d(x, 2, 1, divisor_override=3),
                           lambda x: tF.avg_pool2d(x, 2, 1, divisor_override=3), [(1, 2, 5, 5)]),
    "avg_pool1d": (lambda x: F.avg_pool1d(x, 4, 3, 2), lambda x: tF.avg_pool1d(x, 4, 3, 2),
                   [(2, 2, 10)]),
    "avg_pool3d": (lambda x: F.avg_pool3d(x, 2, 1), lambda x: tF.avg_pool3d(x, 2, 1),
                   [(1, 2, 3, 4, 3)]),
    # activations
    "relu": (F.relu, tF.relu, [(3, 5)]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: tF.leaky_relu(x, 0.2), [(3, 5)]),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: tF.elu(x, 0.7), [(3, 5)]),
    "silu": (F.silu, tF.silu, [(3, 5)]),
    "softplus": (lambda x: F.softplus(x, 2.0, 1.0), lambda x: tF.softplus(x, 2.0, 1.0), [(3, 5)]),
    "sigmoid": (F.sigmoid, torch.sigmoid, [(3, 5)]),
    "tanh": (F.tanh, torch.tanh, [(3, 5)]),
    "softmax": (lambda x: F.softmax(x, 1), lambda x: tF.softmax(x, 1), [(3, 4, 2)]),
    "log_softmax": (lambda x: F.log_softmax(x, -1), lambda x: tF.log_softmax(x, -1), [(3, 5)]),
    "log_softmax_huge_logits": (lambda x: F.log_softmax(x * 1e4, 1),
                                lambda x: tF.log_softmax(x * 1e4, 1), [(3, 5)]),
    # losses
    "cross_entropy": (lambda z: F.cross_entropy(z, TARGET),
                      lambda z: tF.cross_entropy(z, t(TARGET)), [(4, 5)]),
    "cross_entropy_huge_logits": (lambda z: F.cross_entropy(z * 1e4, TARGET),
                                  lambda z: tF.cross_entropy(z * 1e4, t(TARGET)), [(4, 5)]),
    "cross_entropy_weight_ignore": (
        lambda z: F.cross_entropy(z, TARGET, WEIGHT.astype(z.dtype), ignore_index=0),
        lambda z: tF.cross_entropy(z, t(TARGET), t(WEIGHT).to(z.dtype), ignore_index=0),
        [(4, 5)]),
    "cross_entropy_smoothing_weight": (
        lambda z: F.cross_entropy(z, TARGET, WEIGHT.astype(z.dtype), label_smoothing=0.2),
        lambda z: tF.cross_entropy(z, t(TARGET), t(WEIGHT).to(z.dtype), label_smoothing=0.2),
        [(4, 5)]),
    "cross_entropy_smoothing_sum": (
        lambda z: F.cross_entropy(z, TARGET, reduction="sum", label_smoothing=0.1),
        lambda z: tF.cross_entropy(z, t(TARGET), reduction="sum", label_smoothing=0.1),
        [(4, 5)]),
    "cross_entropy_none_spatial": (
        lambda z: F.cross_entropy(z, TARGET_2D, reduction="none"),
        lambda z: tF.cross_entropy(z, t(TARGET_2D), reduction="none"), [(2, 3, 4, 5)]),
    "cross_entropy_probabilities": (
        lambda z: F.cross_entropy(z, PROBS.astype(z.dtype), label_smoothing=0.1),
        lambda z: tF.cross_entropy(z, t(PROBS).to(z.dtype), label_smoothing=0.1), [(4, 5)]),
    "nll_loss": (lambda z: F.nll_loss(z, TARGET, WEIGHT.astype(z.dtype)),
                 lambda z: tF.nll_loss(z, t(TARGET), t(WEIGHT).to(z.dtype)), [(4, 5)]),
    "mse_loss": (F.mse_loss, tF.mse_loss, [(3, 4), (3, 4)]),
    "mse_loss_sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"), lambda a, b: tF.mse_loss(a, b,
                                                                                  reduction="sum"),
                     [(3, 4), (3, 4)]),
    # normalization, linear, shapes, padding
    "batch_norm_train": (
        lambda x, w, b: F.batch_norm(x, np.zeros(3, x.dtype), np.ones(3, x.dtype), w, b,
                                     training=True),
        lambda x, w, b: tF.batch_norm(x, torch.zeros(3, dtype=x.dtype),
                                      torch.ones(3, dtype=x.dtype), w, b, training=True),
        [(4, 3, 2, 3), (3,), (3,)]),
    "batch_norm_eval": (
        lambda x, w, b: F.batch_norm(x, np.full(3, 0.3, x.dtype), np.full(3, 2.0, x.dtype), w, b),
        lambda x, w, b: tF.batch_norm(x, torch.full((3,), 0.3, dtype=x.dtype),
                                      torch.full((3,), 2.0, dtype=x.dtype), w, b),
        [(4, 3, 5), (3,), (3,)]),
    "batch_norm_1d_no_affine": (lambda x: F.batch_norm(x, None, None, training=True),
                                lambda x: tF.batch_norm(x, None, None, training=True), [(6, 4)]),
    "linear": (F.linear, tF.linear, [(5, 3), (4, 3), (4,)]),
    "linear_batched_no_bias": (F.linear, tF.linear, [(2, 5, 3), (4, 3)]),
    "linear_vector": (F.linear, tF.linear, [(3,), (4, 3)]),
    "flatten": (F.flatten, lambda x: torch.flatten(x, 1), [(2, 3, 4)]),
    "flatten_middle": (lambda x: F.flatten(x, 1, 2), lambda x: torch.flatten(x, 1, 2),
                       [(2, 3, 4, 5)]),
    "pad_constant": (lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
                     lambda x: tF.pad(x, (1, 2, 0, 1), value=0.5), [(1, 2, 3, 4)]),
    "pad_crop": (lambda x: F.pad(x, (-1, 2)), lambda x: tF.pad(x, (-1, 2)), [(1, 2, 5)]),
    "pad_reflect": (lambda x: F.pad(x, (2, 1, 1, 2), "reflect"),
                    lambda x: tF.pad(x, (2, 1, 1, 2), "reflect"), [(1, 2, 4, 3)]),
    "pad_replicate": (lambda x: F.pad(x, (2, 1, 3, 0), "replicate"),
                      lambda x: tF.pad(x, (2, 1, 3, 0), "replicate"), [(1, 2, 3, 4)]),
    "pad_circular": (lambda x: F.pad(x, (2, 1, 1, 3), "circular"),
                     lambda x: tF.pad(x, (2, 1, 1, 3), "circular"), [(1, 2, 3, 4)]),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name):
    cg_fn, torch_fn, shapes = CASES[name]
    check_op(cg_fn, torch_fn, *shapes)


@pytest.mark.parametrize("name", CASES)
def test_gradcheck(name):
    cg_fn, _, shapes = CASES[name]
    arrays = [rng.standard_normal(s) for s in shapes]
    assert cg.gradcheck(cg_fn, arrays, order=1)
    assert cg.gradcheck(cg_fn, arrays, order=2, atol=1e-4)


@pytest.mark.parametrize("pool", ["max_pool2d", "max_pool2d_overlap_pad"])
def test_max_pool_ties_route_to_the_first_maximum(pool):
    cg_fn, torch_fn, _ = CASES[pool]
    check_op(cg_fn, torch_fn, TIES)


def test_batch_norm_running_statistics_follow_torch():
    x = rng.standard_normal((5, 3, 4))
    ours = [np.zeros(3), np.ones(3)]
    theirs = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    for _ in range(3):
        F.batch_norm(x, *ours, training=True, momentum=0.2)
        tF.batch_norm(t(x), *theirs, training=True, momentum=0.2)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12)


def test_dropout_is_seeded_scaled_and_off_in_eval():
    x = cg.tensor(np.ones((200, 50)), requires_grad=True)
    cg.manual_seed(3)
    a = F.dropout(x, 0.3)
    cg.manual_seed(3)
    b = F.dropout(x, 0.3)
    np.testing.assert_array_equal(a.array, b.array)
    kept = a.array != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(a.array[kept], 1 / 0.7)
    a.sum().backward()
    np.testing.assert_allclose(x.grad.array, a.array)             # ∂/∂x of mask·x/(1−p)
    assert F.dropout(x, 0.3, training=False) is x
    assert not F.dropout(x, 1.0).array.any()


def test_float32_stays_float32_through_every_layer_type():
    x = cg.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    w = cg.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2)
    y = F.batch_norm(y, np.zeros(4, np.float32), np.ones(4, np.float32), training=True)
    loss = F.cross_entropy(F.flatten(F.avg_pool2d(y, 2)), np.array([1, 3]))
    loss.backward()
    assert loss.dtype == x.grad.dtype == w.grad.dtype == np.float32


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.conv2d(np.ones((1, 2, 5)), np.ones((1, 2, 3))), ValueError, "conv2d: input must"),
    (lambda: F.conv2d(np.ones((1, 2, 5, 5)), np.ones((1, 2, 3, 3)), np.ones(2)), ValueError,
     r"bias must have shape \(C_out,\) = \(1,\)"),
    (lambda: F.conv2d(np.ones((1, 2, 5, 5), np.float32), np.ones((1, 2, 3, 3))), TypeError,
     "share one dtype"),
    (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), ValueError, "at most half"),
    (lambda: F.max_pool2d(np.ones((1, 4, 4)), 2), ValueError, r"\(N, C, 2 spatial dims\)"),
    (lambda: F.cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0])), TypeError, "integer"),
    (lambda: F.cross_entropy(np.ones((2, 3)), np.array([0, 3])), IndexError, r"\[0, 2\]"),
    (lambda: F.cross_entropy(np.ones((2, 3)), np.array([0, 1, 2])), ValueError, "target shape"),
    (lambda: F.cross_entropy(np.ones((2, 3)), np.array([0, 1]), reduction="avg"), ValueError,
     "reduction must be"),
    (lambda: F.linear(np.ones((2, 3)), np.ones((4, 2))), ValueError, "in_features"),
    (lambda: F.pad(np.ones((1, 1, 3)), (3, 0), "reflect"), ValueError, "at most 2"),
    (lambda: F.pad(np.ones((1, 1, 3)), (1, 0), "wrap"), ValueError, "mode must be"),
    (lambda: F.dropout(np.ones(3), 1.5), ValueError, r"p must be in \[0, 1\]"),
    (lambda: F.batch_norm(np.ones((1, 3)), None, None, training=True), ValueError,
     "more than one value per channel"),
    (lambda: F.batch_norm(np.ones((2, 3)), np.zeros(2), np.ones(2)), ValueError,
     r"running_mean must have shape \(C,\)"),
])
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- regressions of issue 15
LOGITS_INF = np.array([[-np.inf, 1.0, 2.0, 0.5], [0.3, -0.2, 1.0, 0.1], [1.0, 2.0, -1.0, 0.0]])
IGNORED = np.array([-100, 1, 3])                    # row 0 (with its −inf logit) is ignored
W4 = np.array([0.5, 1.0, 2.0, 1.5])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, W4])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_ignored_rows_are_never_read(reduction, weight, smoothing):
    check_op(lambda z: F.cross_entropy(z, IGNORED, None if weight is None else
                                       weight.astype(z.dtype), reduction=reduction,
                                       label_smoothing=smoothing),
             lambda z: tF.cross_entropy(z, t(IGNORED), None if weight is None else
                                        t(weight).to(z.dtype), reduction=reduction,
                                        label_smoothing=smoothing), LOGITS_INF, order=1)
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[0.0, 1.0], [0.5, 0.5]]))
    check_op(lambda x: F.nll_loss(x, np.array([-100, 1]), None if weight is None
                                  else weight[:2].astype(x.dtype), reduction=reduction),
             lambda x: tF.nll_loss(x, t(np.array([-100, 1])), None if weight is None
                                   else t(weight[:2]).to(x.dtype), reduction=reduction),
             logp, order=1)


def test_the_issue_cases_of_ignored_targets():
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[0.0, 1.0], [0.5, 0.5]]))
    assert F.nll_loss(logp, np.array([-100, 1])).item() == pytest.approx(np.log(2), rel=1e-15)
    z = np.array([[-np.inf, 0.0], [0.5, 1.0]])
    want = tF.cross_entropy(t(z), t(np.array([-100, 0]))).item()
    assert F.cross_entropy(z, np.array([-100, 0])).item() == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("fn, x", [
    ("sigmoid", -40.0), ("sigmoid", -700.0), ("sigmoid", 40.0), ("silu", -40.0),
    ("softplus", -40.0), ("softplus", -700.0), ("elu", -1e-10), ("tanh", -1e-10),
    ("sigmoid", np.float32(-17.0)), ("silu", np.float32(-17.0)),
    ("softplus", np.float32(-17.0)), ("elu", np.float32(-1e-6))])
def test_tails_keep_their_relative_precision(fn, x):
    torch_fn = getattr(tF, fn) if hasattr(tF, fn) else getattr(torch, fn)
    want = torch_fn(torch.tensor(np.asarray(x))).numpy()
    got = getattr(F, fn)(np.asarray(x))
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got.array, want, rtol=4e-7 if want.dtype == np.float32 else 1e-15)
    assert want != 0 or got.array == 0


def test_sigmoid_float32_left_tail_is_the_true_value():
    assert F.sigmoid(np.float32(-17.0)).item() == pytest.approx(4.139937718785167e-08, rel=1e-6)


# every public function of F (the convolutions are tested in test_ops_conv / test_functional
# above) with ndarray arguments gives what it gives with Tensor arguments
X4 = rng.standard_normal((2, 3, 4, 4))
CALLS = {
    "linear": lambda a: F.linear(a(np.ones((2, 3))), a(np.ones((4, 3))), a(np.ones(4))),
    "flatten": lambda a: F.flatten(a(X4)),
    "pad": lambda a: F.pad(a(X4), (1, 1)),
    "dropout": lambda a: F.dropout(a(X4), 0.5, training=False),
    "relu": lambda a: F.relu(a(X4)), "leaky_relu": lambda a: F.leaky_relu(a(X4)),
    "elu": lambda a: F.elu(a(X4)), "silu": lambda a: F.silu(a(X4)),
    "softplus": lambda a: F.softplus(a(X4)), "sigmoid": lambda a: F.sigmoid(a(X4)),
    "tanh": lambda a: F.tanh(a(X4)), "softmax": lambda a: F.softmax(a(X4), 1),
    "log_softmax": lambda a: F.log_softmax(a(X4), 1),
    "cross_entropy": lambda a: F.cross_entropy(a(X4[:, :, 0, 0]), a(np.array([0, 2])),
                                               a(np.ones(3))),
    "nll_loss": lambda a: F.nll_loss(a(X4[:, :, 0, 0]), a(np.array([0, 2])), a(np.ones(3))),
    "mse_loss": lambda a: F.mse_loss(a(X4), a(X4 * 2)),
    "batch_norm": lambda a: F.batch_norm(a(X4), np.zeros(3), np.ones(3), a(np.ones(3)),
                                         a(np.zeros(3))),
    "max_pool": lambda a: F.max_pool(a(X4), 2, ndim=2),
    "max_pool1d": lambda a: F.max_pool1d(a(X4[0]), 2),
    "max_pool2d": lambda a: F.max_pool2d(a(X4), 2),
    "max_pool3d": lambda a: F.max_pool3d(a(X4[None]), 2),
    "avg_pool": lambda a: F.avg_pool(a(X4), 2, ndim=2),
    "avg_pool1d": lambda a: F.avg_pool1d(a(X4[0]), 2),
    "avg_pool2d": lambda a: F.avg_pool2d(a(X4), 2),
    "avg_pool3d": lambda a: F.avg_pool3d(a(X4[None]), 2),
    "unfold": lambda a: F.unfold(a(X4), (2, 2), 1, 1),
    "fold": lambda a: F.fold(a(np.ones((2, 12, 9))), (4, 4), 2),
}
V = rng.standard_normal((3, 4))
CALLS.update({name: call for name, call in {     # losses, distances, dropout (tests/test_losses)
    "bilinear": lambda a: F.bilinear(a(V), a(V), a(np.ones((2, 4, 4)))),
    "dropout1d": lambda a: F.dropout1d(a(V), 0.5, training=False),
    "dropout2d": lambda a: F.dropout2d(a(X4), 0.5, training=False),
    "dropout3d": lambda a: F.dropout3d(a(X4), 0.5, training=False),
    "alpha_dropout": lambda a: F.alpha_dropout(a(X4), 0.5),
    "feature_alpha_dropout": lambda a: F.feature_alpha_dropout(a(X4), 0.5),
    "l1_loss": lambda a: F.l1_loss(a(V), a(V * 2)),
    "smooth_l1_loss": lambda a: F.smooth_l1_loss(a(V), a(V * 2)),
    "huber_loss": lambda a: F.huber_loss(a(V), a(V * 2)),
    "binary_cross_entropy": lambda a: F.binary_cross_entropy(a(np.full((2, 3), 0.3)),
                                                             a(np.ones((2, 3)))),
    "binary_cross_entropy_with_logits": lambda a: F.binary_cross_entropy_with_logits(
        a(V), a(np.ones((3, 4))), a(np.ones(4)), pos_weight=a(np.ones(4))),
    "kl_div": lambda a: F.kl_div(a(V), a(np.abs(V)), reduction="batchmean"),
    "margin_ranking_loss": lambda a: F.margin_ranking_loss(a(V[0]), a(V[1]), a(np.ones(4))),
    "hinge_embedding_loss": lambda a: F.hinge_embedding_loss(a(V), a(np.sign(V))),
    "soft_margin_loss": lambda a: F.soft_margin_loss(a(V), a(np.sign(V))),
    "multilabel_soft_margin_loss": lambda a: F.multilabel_soft_margin_loss(a(V), a(V > 0)),
    "multi_margin_loss": lambda a: F.multi_margin_loss(a(V), a(np.array([0, 1, 3]))),
    "triplet_margin_loss": lambda a: F.triplet_margin_loss(a(V), a(V * 2), a(-V)),
    "cosine_embedding_loss": lambda a: F.cosine_embedding_loss(a(V), a(-V),
                                                               a(np.array([1, -1, 1]))),
    "poisson_nll_loss": lambda a: F.poisson_nll_loss(a(V), a(np.abs(V))),
    "gaussian_nll_loss": lambda a: F.gaussian_nll_loss(a(V), a(V * 2), a(np.ones((3, 1)))),
    "one_hot": lambda a: F.one_hot(a(np.array([0, 2]))),
    "normalize": lambda a: F.normalize(a(V)),
    "cosine_similarity": lambda a: F.cosine_similarity(a(V), a(V * 2)),
    "pairwise_distance": lambda a: F.pairwise_distance(a(V), a(V * 2)),
    "embedding": lambda a: F.embedding(a(np.array([0, 2])), a(V)),
}.items() if name in F.__all__})
IDX = np.array([[[1, 3]]])                               # max_unpool1d: the maxima of (1, 1, 4)
CALLS.update({                                          # activations, norms, resampling, grids
    "relu6": lambda a: F.relu6(a(X4)), "hardtanh": lambda a: F.hardtanh(a(X4), -0.5, 0.5),
    "threshold": lambda a: F.threshold(a(X4), 0.1, -1.0),
    "prelu": lambda a: F.prelu(a(X4), a(np.full(3, 0.25))),
    "rrelu": lambda a: F.rrelu(a(X4)), "hardswish": lambda a: F.hardswish(a(X4)),
    "hardsigmoid": lambda a: F.hardsigmoid(a(X4)), "hardshrink": lambda a: F.hardshrink(a(X4)),
    "softshrink": lambda a: F.softshrink(a(X4)), "softmin": lambda a: F.softmin(a(X4), 1),
    "selu": lambda a: F.selu(a(X4)), "celu": lambda a: F.celu(a(X4), 0.5),
    "gelu": lambda a: F.gelu(a(X4), approximate="tanh"), "mish": lambda a: F.mish(a(X4)),
    "softsign": lambda a: F.softsign(a(X4)), "logsigmoid": lambda a: F.logsigmoid(a(X4)),
    "tanhshrink": lambda a: F.tanhshrink(a(X4)), "glu": lambda a: F.glu(a(X4), -1),
    "adaptive_avg_pool1d": lambda a: F.adaptive_avg_pool1d(a(X4[0]), 3),
    "adaptive_avg_pool2d": lambda a: F.adaptive_avg_pool2d(a(X4), (3, 2)),
    "adaptive_avg_pool3d": lambda a: F.adaptive_avg_pool3d(a(X4[None]), 3),
    "adaptive_max_pool1d": lambda a: F.adaptive_max_pool1d(a(X4[0]), 3),
    "adaptive_max_pool2d": lambda a: F.adaptive_max_pool2d(a(X4), (3, 2)),
    "adaptive_max_pool3d": lambda a: F.adaptive_max_pool3d(a(X4[None]), 3),
    "grid_sample": lambda a: F.grid_sample(a(X4), a(np.tanh(X4[:, :2].transpose(0, 2, 3, 1))),
                                           align_corners=False),
    "affine_grid": lambda a: F.affine_grid(a(np.tile(np.eye(2, 3), (2, 1, 1))), (2, 3, 4, 4),
                                           align_corners=False),
    "layer_norm": lambda a: F.layer_norm(a(X4), (4, 4), a(np.ones((4, 4))),
                                         a(np.zeros((4, 4)))),
    "group_norm": lambda a: F.group_norm(a(X4), 3, a(np.ones(3)), a(np.zeros(3))),
    "instance_norm": lambda a: F.instance_norm(a(X4), weight=a(np.ones(3)),
                                               bias=a(np.zeros(3))),
    "local_response_norm": lambda a: F.local_response_norm(a(X4), 2),
    "rms_norm": lambda a: F.rms_norm(a(X4), (4,), a(np.ones(4))),
    "max_unpool1d": lambda a: F.max_unpool1d(a(np.ones((1, 1, 2))), a(IDX), 2),
    "max_unpool2d": lambda a: F.max_unpool2d(a(np.ones((1, 1, 1, 2))), a(IDX[None]), 2),
    "max_unpool3d": lambda a: F.max_unpool3d(a(np.ones((1, 1, 1, 1, 2))), a(IDX[None, None]),
                                             2),
    "lp_pool1d": lambda a: F.lp_pool1d(a(X4[0]), 2.0, 2),
    "lp_pool2d": lambda a: F.lp_pool2d(a(X4), 2.0, 2),
    "lp_pool3d": lambda a: F.lp_pool3d(a(X4[None]), 2.0, 2),
    "interpolate": lambda a: F.interpolate(a(X4), scale_factor=2, mode="bilinear"),
    "upsample": lambda a: F.upsample(a(X4), size=(5, 3)),
    "upsample_nearest": lambda a: F.upsample_nearest(a(X4), scale_factor=2),
    "upsample_bilinear": lambda a: F.upsample_bilinear(a(X4), size=(5, 3)),
    "pixel_shuffle": lambda a: F.pixel_shuffle(a(np.ones((1, 4, 2, 3))), 2),
    "pixel_unshuffle": lambda a: F.pixel_unshuffle(a(X4), 2),
})


def test_the_table_covers_every_public_function():
    public = {n for n in F.__all__ if not n.startswith("conv")}
    assert public == set(CALLS)


@pytest.mark.parametrize("name", CALLS)
def test_every_function_takes_ndarrays_and_tensors(name):
    from_arrays = CALLS[name](lambda a: a)
    from_tensors = CALLS[name](cg.tensor)
    assert isinstance(from_arrays, cg.Tensor)
    np.testing.assert_array_equal(from_arrays.array, from_tensors.array)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_of_a_0d_tensor_is_torchs(fn, dim):
    check_op(lambda x: getattr(F, fn)(x, dim), lambda x: getattr(tF, fn)(x, dim),
             np.array(0.7))


def test_integer_input_to_activations_follows_torch():
    ints = np.array([-3, 0, 2])
    relu = F.relu(ints)
    assert relu.dtype == np.int64 and relu.array.tolist() == [0, 0, 2]
    for fn in ("sigmoid", "tanh"):                     # torch: the default float (float32)
        want = getattr(torch, fn)(torch.tensor(ints)).numpy()
        got = getattr(F, fn)(ints)
        assert got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(got.array, want, rtol=1e-6)
    for fn in ("leaky_relu", "elu", "silu", "softplus", "softmax", "log_softmax"):
        with pytest.raises(TypeError, match=f"{fn}: input must be floating point"):
            getattr(F, fn)(ints)                       # torch refuses them too; never truncate


@pytest.mark.parametrize("pad", [(-3, 0), (-1, -2), (0, -3), (-2, 1), (1, -4), (2, -4),
                                 (-2, 2), (-1, 2), (2, -1), (-2, -2), (3, 0), (2, 2)])
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_negative_pads_crop_as_in_torch(pad, mode):
    x = np.arange(1.0, 4.0).reshape(1, 1, 3)
    try:
        want = tF.pad(t(x), pad, mode=mode).numpy()
    except RuntimeError:
        with pytest.raises(ValueError, match="pad: "):
            F.pad(x, pad, mode)
        return
    check_op(lambda a: F.pad(a, pad, mode), lambda a: tF.pad(a, pad, mode=mode), x)
    np.testing.assert_array_equal(F.pad(x, pad, mode).array, want)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.pad(np.ones((1, 3)), (1.7, 0)), TypeError, "pad: pad must be a tuple of ints"),
    (lambda: F.pad(np.ones((1, 3)), (-4, 0)), ValueError, "crops an axis of length 3 past"),
    (lambda: F.pad(np.ones((1, 3), np.int64), (1, 0), value=0.5), ValueError, "truncated"),
    (lambda: F.nll_loss(np.ones((2, 3)), np.array([0, 1]), np.ones(2)), ValueError,
     r"nll_loss: weight must have shape \(C,\) = \(3,\)"),
    (lambda: F.cross_entropy(np.ones((2, 3)), np.array([0, 1]), np.ones((3, 1))), ValueError,
     "cross_entropy: weight must have shape"),
    (lambda: F.nll_loss(np.ones((2, 3)), np.array([0, 1]), np.ones(3, np.float32)), TypeError,
     "share one dtype"),
    (lambda: F.dropout(np.ones(3), "0.5"), TypeError, "dropout: p must be a real number"),
    (lambda: F.dropout(np.ones(3), -0.1), ValueError, r"dropout: p must be in \[0, 1\]"),
    (lambda: F.dropout(np.ones(3), float("nan")), ValueError, "dropout: p must be finite"),
    (lambda: F.dropout(np.ones(3), 0.5, training=1), TypeError, "training must be True"),
    (lambda: F.flatten(np.ones((2, 3)), 5), IndexError,
     r"flatten: Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)"),
    (lambda: F.softmax(np.ones((2, 3)), 2), IndexError, "softmax: Dimension out of range"),
    (lambda: F.log_softmax(np.ones((2, 3)), -3), IndexError, "log_softmax: Dimension out of"),
    (lambda: F.softmax(np.ones((2, 3)), 1.0), TypeError, "softmax: dim must be an int"),
    (lambda: F.leaky_relu(np.array([-3, 2])), TypeError, "leaky_relu: input must be floating"),
    (lambda: F.leaky_relu(np.ones(2), "0.1"), TypeError, "negative_slope must be a real"),
    (lambda: F.softplus(np.ones(2), 0.0), ValueError, "beta must be non-zero"),
    (lambda: F.relu(None), TypeError, "relu: input must be a Tensor or an array"),
    (lambda: F.relu(np.array([True])), TypeError, "relu: input must be floating point or int"),
    (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, ceil_mode=None), TypeError,
     "ceil_mode must be True or False"),
    (lambda: F.batch_norm(np.ones((2, 3)), [0, 0, 0], [1, 1, 1], training=True), TypeError,
     "updated in place"),
    (lambda: F.batch_norm(np.ones((2, 3)), None, None, training=True, momentum=2.0),
     ValueError, r"momentum must be in \[0, 1\]"),
    (lambda: F.unfold(np.ones((2, 3)), (4,)), RuntimeError, "unfold: Input Error"),
    (lambda: F.fold(np.ones((2, 3, 2)), (5, 5), 2), RuntimeError, "fold: expected size"),
])
def test_bad_input_is_refused_naming_the_rule(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_max_pool_of_an_all_minus_inf_window_sends_the_gradient_into_x_like_torch():
    """A window whose elements inside x are all −inf ties with its −inf padding: torch's
    gradient goes to the first element inside x, never to the padding (found by the long fuzz
    profile: the gradient was lost)."""
    torch = import_torch()
    x = np.full((1, 2, 3, 3), -np.inf)
    x[0, 0, 1, 1], x[0, 1, 0, 2] = np.nan, -0.5
    t, tt = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = F.max_pool2d(t, 2, 1, 1), torch.nn.functional.max_pool2d(tt, 2, 1, 1)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(y.array, ty.detach().numpy())
    np.testing.assert_array_equal(t.grad.array, tt.grad.numpy())


@pytest.mark.parametrize("alpha", [0.0, 1.0, 0.5])
def test_elu_sends_nan_down_the_exponential_side_like_torch(alpha):
    """torch's vectorised ELU backward (8 values and more — its scalar loop differs) takes
    x > 0 for the identity side: a NaN input gets a NaN gradient (found by the long fuzz
    profile: it passed the upstream gradient)."""
    torch = import_torch()
    x = np.array([np.nan, -0.5, 0.0, 2.0] * 4)
    t, tt = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.elu(t, alpha).sum().backward()
    torch.nn.functional.elu(tt, alpha).sum().backward()
    np.testing.assert_array_equal(t.grad.array, tt.grad.numpy())
