"""Loss, linear-family, dropout and embedding layers against torch.nn: constructor signatures,
``repr``, state-dict keys (``weight`` buffers), outputs and gradients; dropout statistics;
Embedding's padding row and max_norm."""

import inspect

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad.nn import dropout, linear, loss, sparse

torch = import_torch()
tnn = torch.nn
rng = np.random.default_rng(0)
LAYERS = {name: getattr(m, name) for m in (dropout, linear, loss, sparse) for name in m.__all__}


def params(cls):
    return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_constructor_signature_is_torchs(name):
    assert params(LAYERS[name]) == params(getattr(tnn, name))


def test_from_pretrained_signature_is_torchs():
    assert params(sparse.Embedding.from_pretrained) == params(tnn.Embedding.from_pretrained)


W3 = np.array([0.2, 1.0, 3.0])
BUILDS = [
    ("CrossEntropyLoss", (), {}), ("CrossEntropyLoss", (W3,), {"label_smoothing": 0.1}),
    ("NLLLoss", (W3,), {"ignore_index": 1}), ("MSELoss", (), {}), ("L1Loss", (), {}),
    ("SmoothL1Loss", (), {"beta": 0.5}), ("HuberLoss", ("sum", 2.0), {}),
    ("BCELoss", (W3,), {}), ("BCEWithLogitsLoss", (), {"pos_weight": W3}),
    ("BCEWithLogitsLoss", (W3,), {}), ("KLDivLoss", (), {"reduction": "batchmean"}),
    ("MarginRankingLoss", (0.5,), {}), ("HingeEmbeddingLoss", (), {}),
    ("SoftMarginLoss", (), {}), ("MultiLabelSoftMarginLoss", (W3,), {}),
    ("MultiMarginLoss", (2, 0.5, W3), {}), ("TripletMarginLoss", (), {"swap": True}),
    ("CosineEmbeddingLoss", (0.2,), {}), ("PoissonNLLLoss", (False, True), {}),
    ("GaussianNLLLoss", (), {"full": True}),
    ("Linear", (3, 4), {}), ("Linear", (3, 4, False), {}), ("Bilinear", (2, 3, 4), {}),
    ("Bilinear", (2, 3, 4), {"bias": False}), ("Identity", (3,), {"anything": 1}),
    ("Flatten", (), {}), ("Flatten", (0, 2), {}), ("Unflatten", (1, (2, 5)), {}),
    ("Unflatten", (-1, [2, -1]), {}), ("Dropout", (), {}), ("Dropout", (0.2, True), {}),
    ("Dropout1d", (0.3,), {}), ("Dropout2d", (), {}), ("Dropout3d", (0.1,), {}),
    ("AlphaDropout", (0.2,), {}), ("FeatureAlphaDropout", (), {"inplace": True}),
    ("Embedding", (10, 3), {}),
    ("Embedding", (10, 3), {"padding_idx": -2, "max_norm": 1.0, "norm_type": 1.0,
                            "scale_grad_by_freq": True, "sparse": True}),
]


def to_torch(v):
    return torch.tensor(v) if isinstance(v, np.ndarray) else v


@pytest.mark.parametrize("name, args, kwargs", BUILDS)
def test_repr_and_state_dict_keys_are_torchs(name, args, kwargs):
    ours = LAYERS[name](*args, **kwargs)
    theirs = getattr(tnn, name)(*map(to_torch, args), **{k: to_torch(v) for k, v in
                                                          kwargs.items()})
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape)


# loss layers: the same values and gradients as torch's, weight buffers included
X = rng.standard_normal((3, 4))
PROB = rng.uniform(0.05, 0.95, (3, 4))
W4 = np.array([0.5, 1.0, 2.0, 1.5])
T = np.array([0, 3, 1])
SIGN = np.array([1.0, -1.0, 1.0])
LOSS_CALLS = [
    ("CrossEntropyLoss", (W4,), {"label_smoothing": 0.2}, (X, T)),
    ("NLLLoss", (W4,), {"ignore_index": 3}, (X, T)),
    ("MSELoss", (), {"reduction": "sum"}, (X, PROB)),
    ("L1Loss", (), {}, (X, PROB)),
    ("SmoothL1Loss", (), {"beta": 0.3}, (X, PROB)),
    ("HuberLoss", (), {"delta": 0.3}, (X, PROB)),
    ("BCELoss", (W4,), {}, (PROB, PROB[::-1].copy())),
    ("BCEWithLogitsLoss", (W4,), {"pos_weight": W4[::-1].copy()}, (X, PROB)),
    ("KLDivLoss", (), {"reduction": "batchmean", "log_target": True}, (X, X[::-1].copy())),
    ("MarginRankingLoss", (0.2,), {}, (X[0], X[1], np.sign(X[2]))),
    ("HingeEmbeddingLoss", (0.4,), {}, (X, np.sign(X[::-1]))),
    ("SoftMarginLoss", (), {}, (X, np.sign(X[::-1]))),
    ("MultiLabelSoftMarginLoss", (W4,), {}, (X, (PROB > 0.5).astype(float))),
    ("MultiMarginLoss", (2, 0.8, W4), {}, (X, T)),
    ("TripletMarginLoss", (0.5, 3.0), {"swap": True}, (X, X[::-1].copy(), PROB)),
    ("CosineEmbeddingLoss", (0.1,), {}, (X, PROB, SIGN)),
    ("PoissonNLLLoss", (), {"full": True}, (X, np.round(PROB * 4))),
    ("GaussianNLLLoss", (), {"eps": 1e-3}, (X, PROB, PROB[:, :1].copy())),
]


@pytest.mark.parametrize("name, args, kwargs, inputs", LOSS_CALLS)
def test_loss_layers_match_torch(name, args, kwargs, inputs):
    ours = LAYERS[name](*args, **kwargs)
    theirs = getattr(tnn, name)(*map(to_torch, args), **{k: to_torch(v) for k, v in
                                                          kwargs.items()})
    x = cg.tensor(inputs[0], requires_grad=True)
    tx = torch.tensor(inputs[0], requires_grad=True)
    y = ours(x, *inputs[1:])
    ty = theirs(tx, *map(torch.tensor, inputs[1:]))
    np.testing.assert_allclose(y.array, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.backward()
    ty.backward()
    np.testing.assert_allclose(x.grad.array, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_deprecated_size_average_and_reduce_in_layers_warn_and_map_like_torch():
    for size_average, reduce, want in [(False, None, "sum"), (None, False, "none"),
                                       (True, None, "mean")]:
        with pytest.warns(UserWarning, match=f"please use reduction='{want}' instead"):
            layer = loss.NLLLoss(None, size_average, -100, reduce)
        assert layer.reduction == want
        with pytest.warns(UserWarning):
            assert tnn.NLLLoss(None, size_average, -100, reduce).reduction == want


def test_weight_buffer_follows_the_dtype_and_loads_from_torch():
    layer = loss.CrossEntropyLoss(W4)
    layer.load_state_dict({"weight": np.ones(4)})
    np.testing.assert_array_equal(layer.weight, np.ones(4))
    assert loss.CrossEntropyLoss(W4.astype(np.float32)).float().weight.dtype == np.float32


def test_constructor_values_are_refused_like_torch():
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        loss.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        loss.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        dropout.Dropout2d(1.5)
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints"):
        linear.Unflatten(1, (2, 2.5))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        linear.Unflatten(1, 4)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        sparse.Embedding(3, 2, padding_idx=3)
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        sparse.Embedding(3, 2, _weight=np.ones((2, 2)))
    with pytest.raises(RuntimeError, match="CPU only"):
        linear.Linear(2, 3, device="cuda")


# ------------------------------------------------------------------------- linear family
def test_linear_accepts_device_and_dtype_like_torch():
    assert linear.Linear(2, 3).weight.dtype == np.float32
    layer = linear.Linear(2, 3, device="cpu", dtype=cg.float64)
    assert layer.weight.dtype == layer.bias.dtype == np.float64


def test_bilinear_layer_matches_torch_and_draws_within_its_bound():
    ours = linear.Bilinear(4, 3, 5, dtype=np.float64)
    assert np.abs(ours.weight.array).max() <= 0.5 and np.abs(ours.bias.array).max() <= 0.5
    theirs = tnn.Bilinear(4, 3, 5).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    a, b = rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 6, 3))
    np.testing.assert_allclose(ours(a, b).array, theirs(torch.tensor(a), torch.tensor(b))
                               .detach().numpy(), rtol=1e-12)


def test_flatten_unflatten_and_identity_match_torch():
    x = rng.standard_normal((2, 3, 4, 5))
    for ours, theirs in [(linear.Flatten(), tnn.Flatten()), (linear.Flatten(0, 2),
                                                            tnn.Flatten(0, 2)),
                         (linear.Unflatten(2, (2, 2)), tnn.Unflatten(2, (2, 2))),
                         (linear.Unflatten(-1, [5, -1]), tnn.Unflatten(-1, [5, -1])),
                         (linear.Identity(7, a=1), tnn.Identity(7, a=1))]:
        np.testing.assert_array_equal(ours(x).array, theirs(torch.tensor(x)).numpy())


# ------------------------------------------------------------------------------- dropout
def test_dropout_layers_rate_scaling_and_eval_identity():
    x = cg.tensor(np.ones((100, 40, 6, 6)))
    cg.manual_seed(0)
    for cls, p in [(dropout.Dropout, 0.3), (dropout.Dropout2d, 0.4)]:
        layer = cls(p)
        y = layer(x).array
        kept = y != 0
        assert abs(kept.mean() - (1 - p)) < 0.02
        np.testing.assert_allclose(y[kept], 1 / (1 - p))
        assert layer.eval()(x) is x
    channels = dropout.Dropout2d(0.5)(x).array
    assert np.all(channels.min(axis=(2, 3)) == channels.max(axis=(2, 3)))   # whole channels
    assert 0.4 < (channels[:, :, 0, 0] == 0).mean() < 0.6


@pytest.mark.parametrize("cls, shape", [(dropout.Dropout1d, (30, 50, 4)),
                                        (dropout.Dropout1d, (50, 4)),
                                        (dropout.Dropout3d, (20, 30, 2, 2, 2)),
                                        (dropout.Dropout3d, (40, 2, 2, 2))])
def test_channel_dropout_zeros_whole_channels_batched_or_not(cls, shape):
    x = cg.tensor(np.ones(shape))
    y = cls(0.5)(x).array
    assert y.shape == shape
    batched = len(shape) in (3, 5)
    flat = y.reshape(*shape[:2 if batched else 1], -1)       # one row per channel
    assert np.all(flat.min(axis=-1) == flat.max(axis=-1))
    assert 0.35 < (flat[..., 0] == 0).mean() < 0.65


def test_dropout_warnings_and_errors_follow_torch():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        dropout.Dropout2d()(np.ones((2, 3, 4)))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        dropout.Dropout2d()(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        dropout.Dropout1d()(np.ones(3))


@pytest.mark.parametrize("cls", [dropout.AlphaDropout, dropout.FeatureAlphaDropout])
def test_alpha_dropout_keeps_zero_mean_and_unit_variance(cls):
    cg.manual_seed(1)
    x = cg.tensor(rng.standard_normal((400, 200, 4)))
    y = cls(0.3)(x).array
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    alpha, p = 1.7580993408473766, 0.3
    a = 1 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    dropped = np.isclose(y, -alpha * a * (1 - p))          # a·α' + b with α' = −α, b = α·a·p
    assert abs(dropped.mean() - 0.3) < 0.02
    assert cls(0.3).eval()(x) is x


def test_inplace_dropout_updates_the_input_and_is_versioned():
    x = cg.tensor(np.ones((50, 20)))
    y = dropout.Dropout(0.5, inplace=True)(x)
    assert y is x and x._version == 1 and (x.array == 0).any()
    leaf = cg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError):
        dropout.Dropout(0.5, inplace=True)(leaf)


# ----------------------------------------------------------------------------- embedding
def test_embedding_init_padding_row_and_its_gradient_like_torch():
    cg.manual_seed(0)
    ours = sparse.Embedding(2000, 8, padding_idx=3, dtype=np.float64)
    w = ours.weight.array
    assert abs(w[4:].mean()) < 0.02 and abs(w[4:].std() - 1) < 0.02
    assert not w[3].any()
    theirs = tnn.Embedding(2000, 8, padding_idx=3).double()
    theirs.load_state_dict({"weight": torch.tensor(w)})
    idx = np.array([[3, 1, 3], [5, 1, 0]])
    y, ty = ours(idx), theirs(torch.tensor(idx))
    np.testing.assert_array_equal(y.array, ty.detach().numpy())
    g = rng.standard_normal(y.shape)
    y.backward(cg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.array, theirs.weight.grad.numpy(), rtol=1e-12)
    assert not ours.weight.grad.array[3].any()


def test_embedding_max_norm_layer_renorms_like_torch():
    ours = sparse.Embedding(6, 4, max_norm=1.5, norm_type=3.0, dtype=np.float64)
    ours.weight.array[...] *= 3
    theirs = tnn.Embedding(6, 4, max_norm=1.5, norm_type=3.0).double()
    theirs.load_state_dict({"weight": torch.tensor(ours.weight.array)})
    idx = np.array([1, 4, 4])
    np.testing.assert_allclose(ours(idx).array, theirs(torch.tensor(idx)).detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(ours.weight.array, theirs.weight.detach().numpy(), rtol=1e-12)


def test_from_pretrained_shares_freezes_and_keeps_the_padding_row():
    w = rng.standard_normal((4, 3))
    frozen = sparse.Embedding.from_pretrained(cg.tensor(w), padding_idx=1)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen.weight.array, w)            # padding row kept
    assert repr(frozen) == repr(tnn.Embedding.from_pretrained(torch.tensor(w), padding_idx=1))
    trainable = sparse.Embedding.from_pretrained(w, freeze=False)
    assert trainable.weight.requires_grad
    with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
        sparse.Embedding.from_pretrained(np.ones(3))
