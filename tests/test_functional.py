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
        lambda z: F.cross_entropy(z, TARGET, WEIGHT, ignore_index=0),
        lambda z: tF.cross_entropy(z, t(TARGET), t(WEIGHT), ignore_index=0), [(4, 5)]),
    "cross_entropy_smoothing_weight": (
        lambda z: F.cross_entropy(z, TARGET, WEIGHT, label_smoothing=0.2),
        lambda z: tF.cross_entropy(z, t(TARGET), t(WEIGHT), label_smoothing=0.2), [(4, 5)]),
    "cross_entropy_smoothing_sum": (
        lambda z: F.cross_entropy(z, TARGET, reduction="sum", label_smoothing=0.1),
        lambda z: tF.cross_entropy(z, t(TARGET), reduction="sum", label_smoothing=0.1),
        [(4, 5)]),
    "cross_entropy_none_spatial": (
        lambda z: F.cross_entropy(z, TARGET_2D, reduction="none"),
        lambda z: tF.cross_entropy(z, t(TARGET_2D), reduction="none"), [(2, 3, 4, 5)]),
    "cross_entropy_probabilities": (
        lambda z: F.cross_entropy(z, PROBS, label_smoothing=0.1),
        lambda z: tF.cross_entropy(z, t(PROBS), label_smoothing=0.1), [(4, 5)]),
    "nll_loss": (lambda z: F.nll_loss(z, TARGET, WEIGHT),
                 lambda z: tF.nll_loss(z, t(TARGET), t(WEIGHT)), [(4, 5)]),
    "mse_loss": (F.mse_loss, tF.mse_loss, [(3, 4), (3, 4)]),
    "mse_loss_sum": (lambda a, b: F.mse_loss(a, b, "sum"), lambda a, b: tF.mse_loss(a, b,
                                                                                  reduction="sum"),
                     [(3, 4), (3, 4)]),
    # normalization, linear, shapes, padding
    "batch_norm_train": (
        lambda x, w, b: F.batch_norm(x, np.zeros(3), np.ones(3), w, b, training=True),
        lambda x, w, b: tF.batch_norm(x, torch.zeros(3, dtype=torch.float64),
                                      torch.ones(3, dtype=torch.float64), w, b, training=True),
        [(4, 3, 2, 3), (3,), (3,)]),
    "batch_norm_eval": (
        lambda x, w, b: F.batch_norm(x, np.full(3, 0.3), np.full(3, 2.0), w, b),
        lambda x, w, b: tF.batch_norm(x, t(np.full(3, 0.3)), t(np.full(3, 2.0)), w, b),
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
    np.testing.assert_array_equal(a.data, b.data)
    kept = a.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(a.data[kept], 1 / 0.7)
    a.sum().backward()
    np.testing.assert_allclose(x.grad.data, a.data)             # ∂/∂x of mask·x/(1−p)
    assert F.dropout(x, 0.3, training=False) is x
    assert not F.dropout(x, 1.0).data.any()


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
    (lambda: F.cross_entropy(np.ones((2, 3)), np.array([0, 3])), ValueError, r"\[0, 2\]"),
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
