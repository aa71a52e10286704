"""Layers against torch.nn: the same state dict gives the same outputs and gradients."""

import numpy as np
import pytest
from helpers import import_torch, rel_err

import convgrad as cg
from convgrad import nn

torch = import_torch()
tnn = torch.nn


def architecture(lib):
    """One network with every kind of layer; ``lib`` is ``convgrad.nn`` or ``torch.nn`` — the
    same code builds both."""
    return lib.Sequential(
        lib.Conv2d(2, 4, 3, padding=1, padding_mode="reflect"), lib.BatchNorm2d(4), lib.ReLU(),
        lib.Conv2d(4, 4, 3, stride=2, groups=2, padding=1, padding_mode="circular"),
        lib.LeakyReLU(negative_slope=0.1),
        lib.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1), lib.Tanh(),
        lib.Conv2d(3, 3, 2, padding_mode="replicate", padding=1, bias=False), lib.MaxPool2d(2),
        lib.AvgPool2d(2, ceil_mode=True), lib.Flatten(), lib.Linear(3 * 2 * 2, 5), lib.Sigmoid(),
        lib.Linear(5, 3), lib.LogSoftmax(dim=1)).double()


def twin_models():
    return architecture(nn), architecture(tnn)


def to_torch(state):
    return {k: torch.from_numpy(np.array(v)) for k, v in state.items()}


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_state_dict_moves_to_torch_and_gives_the_same_outputs_and_gradients(mode):
    cg.manual_seed(0)
    ours, theirs = twin_models()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert a.shape == tuple(b.shape), k
    theirs.load_state_dict(to_torch(ours.state_dict()))
    getattr(ours, mode)(), getattr(theirs, mode)()
    x = np.random.default_rng(1).standard_normal((3, 2, 8, 8))
    y, ty = ours(x), theirs(torch.tensor(x))
    assert rel_err(y.array, ty.detach().numpy()) < 1e-12
    weights = np.random.default_rng(2).standard_normal(y.shape)
    (y * weights).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        # (the bias of a conv followed by batch norm has gradient 0 up to round-off)
        np.testing.assert_allclose(p.grad.array, tp.grad.numpy(), rtol=1e-9, atol=1e-14,
                                   err_msg=name)
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert rel_err(a, b.numpy()) < 1e-12, name          # running statistics too


def test_torch_state_dict_loads_into_convgrad():
    ours, theirs = twin_models()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval(), theirs.eval()
    x = np.random.default_rng(2).standard_normal((2, 2, 8, 8))
    assert rel_err(ours(x).array, theirs(torch.tensor(x)).detach().numpy()) < 1e-12


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("ndim, padding", [(1, 2), (2, (1, 2)), (3, 1), (2, "same")])
def test_padding_modes_match_torch(mode, ndim, padding):
    layer = getattr(nn, f"Conv{ndim}d")(2, 3, 3, padding=padding, padding_mode=mode,
                                        dtype=np.float64)
    twin = getattr(tnn, f"Conv{ndim}d")(2, 3, 3, padding=padding, padding_mode=mode).double()
    twin.load_state_dict(to_torch(layer.state_dict()))
    x = np.random.default_rng(3).standard_normal((2, 2) + (5,) * ndim)
    y = layer(cg.tensor(x, requires_grad=True))
    assert rel_err(y.array, twin(torch.tensor(x)).detach().numpy()) < 1e-12


def test_conv_transpose_output_size_picks_output_padding():
    layer, twin = nn.ConvTranspose2d(2, 2, 3, stride=3, dtype=np.float64), tnn.ConvTranspose2d(
        2, 2, 3, stride=3).double()
    twin.load_state_dict(to_torch(layer.state_dict()))
    x = np.random.default_rng(4).standard_normal((1, 2, 3, 3))
    y = layer(x, output_size=(10, 11))
    assert y.shape == (1, 2, 10, 11)
    assert rel_err(y.array, twin(torch.tensor(x), output_size=(10, 11)).detach().numpy()) < 1e-12
    with pytest.raises(ValueError, match="not reachable"):
        layer(x, output_size=(12, 9))


@pytest.mark.parametrize("momentum, track", [(None, True), (0.3, False)])
def test_batch_norm_options_match_torch(momentum, track):
    ours = nn.BatchNorm1d(3, momentum=momentum, track_running_stats=track, dtype=np.float64)
    theirs = tnn.BatchNorm1d(3, momentum=momentum, track_running_stats=track).double()
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 2))
        assert rel_err(ours(x).array, theirs(torch.tensor(x)).detach().numpy()) < 1e-12
    ours.eval(), theirs.eval()
    assert rel_err(ours(x).array, theirs(torch.tensor(x)).detach().numpy()) < 1e-12
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, err_msg=k)


def test_default_init_is_kaiming_uniform_and_seeded():
    cg.manual_seed(7)
    layer = nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)
    w = layer.weight.array
    assert w.dtype == np.float32 and np.abs(w).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert np.abs(layer.bias.array).max() <= bound
    cg.manual_seed(7)
    np.testing.assert_array_equal(nn.Conv2d(16, 32, 3).weight.array, w)


def test_modes_parameters_and_zero_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2, bias=False))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight"]
    model.eval()
    assert not any(m.training for m in model.modules())
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(model(x).array, model(x).array)       # dropout off
    model.train()
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_load_state_dict_errors_name_the_key_and_shapes():
    model = nn.Sequential(nn.Conv2d(1, 2, 3))
    state = model.state_dict()
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "0.bias"'):
        model.load_state_dict({"0.weight": state["0.weight"]})
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "1.weight"'):
        model.load_state_dict({**state, "1.weight": state["0.weight"]})
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with "
                                           r"shape convgrad.Size\(\[2, 1, 2, 2\]\) from "
                                           r"checkpoint, the shape in current model is "
                                           r"convgrad.Size\(\[2, 1, 3, 3\]\)"):
        model.load_state_dict({**state, "0.weight": np.zeros((2, 1, 2, 2))})
    before = model[0].bias.array.copy()
    with pytest.raises(ValueError):
        model.load_state_dict({"0.bias": np.ones(2), "0.weight": np.zeros((1,))})
    np.testing.assert_array_equal(model[0].bias.array, before)          # nothing half-loaded


@pytest.mark.parametrize("build, match", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), "groups=2 must divide"),
    (lambda: nn.Conv2d(3, 3, 3, padding_mode="mirror"), "padding_mode must be one of"),
    (lambda: nn.ConvTranspose2d(3, 3, 3, padding_mode="reflect"), "only padding_mode='zeros'"),
    (lambda: nn.Conv2d(0, 3, 3), "in_channels must be a positive int"),
    (lambda: nn.Dropout(2.0), r"p must be in \[0, 1\]"),
])
def test_bad_layer_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_layer_input_rank_is_checked():
    with pytest.raises(ValueError, match=r"Conv2d: input must have shape \(N, C, 2 spatial"):
        nn.Conv2d(1, 1, 3)(np.ones((1, 5, 5), np.float32))
    with pytest.raises(ValueError, match="BatchNorm2d: input must have 4 dims with 3 channels"):
        nn.BatchNorm2d(3)(np.ones((2, 4, 5, 5), np.float32))


def test_linear_with_no_inputs_is_its_bias_as_in_torch():
    layer = nn.Linear(0, 3, dtype=np.float64)
    twin = tnn.Linear(0, 3).double()
    assert layer.weight.shape == tuple(twin.weight.shape) == (3, 0)
    twin.load_state_dict(to_torch(layer.state_dict()))
    x = np.ones((2, 0))
    np.testing.assert_array_equal(layer(x).array, twin(torch.tensor(x)).detach().numpy())
    np.testing.assert_array_equal(layer(x).array, np.broadcast_to(layer.bias.array, (2, 3)))


@pytest.mark.parametrize("build, error, match", [
    (lambda: nn.Linear(-1, 3), ValueError, "Linear: in_features must be ≥ 0, got -1"),
    (lambda: nn.Linear(2.0, 3), TypeError, "Linear: in_features must be an int"),
    (lambda: nn.Linear(2, 3, bias=None), TypeError, "Linear: bias must be True or False"),
    (lambda: nn.Linear(2, 3, dtype=np.int64), TypeError, "Linear: dtype must be float32"),
    (lambda: nn.BatchNorm2d(-1), ValueError, "BatchNorm2d: num_features must be ≥ 0"),
    (lambda: nn.BatchNorm2d(3, eps=-1e-5), ValueError, r"BatchNorm2d: eps must be in \[0"),
    (lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError, "momentum must be in"),
    (lambda: nn.BatchNorm1d(3, affine="yes"), TypeError, "affine must be True or False"),
    (lambda: nn.Dropout("0.5"), TypeError, "Dropout: p must be a real number"),
    (lambda: nn.LeakyReLU(float("nan")), ValueError, "LeakyReLU: negative_slope must be finite"),
    (lambda: nn.Softmax(dim=1.5), TypeError, "Softmax: dim must be an int"),
    (lambda: nn.Softplus(beta=0), ValueError, "Softplus: beta must be non-zero"),
    (lambda: nn.Flatten(0.5), TypeError, "Flatten: start_dim must be an int"),
    (lambda: nn.MaxPool2d(0), ValueError, "MaxPool2d: kernel_size must be positive"),
    (lambda: nn.MaxPool2d(2, padding=-1), ValueError, "MaxPool2d: padding must be ≥ 0"),
    (lambda: nn.AvgPool1d(2, ceil_mode=1), TypeError, "AvgPool1d: ceil_mode must be True"),
    (lambda: nn.AvgPool2d(2, divisor_override=0), ValueError, "divisor_override must be ≥ 1"),
    (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError, "CrossEntropyLoss: reduction"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=2), ValueError, "label_smoothing must be in"),
    (lambda: nn.MSELoss(reduction="avg"), ValueError, "MSELoss: reduction must be one of"),
])
def test_constructor_arguments_are_checked(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_softmax_layer_dim_is_checked_against_the_input():
    with pytest.raises(IndexError, match=r"softmax: Dimension out of range .*\[-1, 0\].* 5"):
        nn.Softmax(dim=5)(np.ones(2))


@pytest.mark.parametrize("state, error, match", [
    ([("0.weight", np.zeros((2, 1, 3, 3)))], TypeError, "expected a mapping"),
    (None, TypeError, "expected a mapping"),
    ({0: np.zeros(2)}, TypeError, "keys must be str"),
    ({"0.weight": "abc", "0.bias": np.zeros(2)}, TypeError, "'0.weight' must be an array"),
    ({"0.weight": None, "0.bias": np.zeros(2)}, TypeError, "'0.weight' must be an array"),
    ({"0.weight": [[1], [1, 2]], "0.bias": np.zeros(2)}, TypeError, "'0.weight' is not an"),
    ({"0.weight": np.zeros((2, 1, 3, 3), complex), "0.bias": np.zeros(2)}, TypeError,
     "'0.weight' has non-numeric dtype"),
])
def test_load_state_dict_refuses_what_is_not_a_state_dict(state, error, match):
    model = nn.Sequential(nn.Conv2d(1, 2, 3))
    before = model.state_dict()
    with pytest.raises(error, match=f"load_state_dict: {match}"):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_not_strict_reports_the_keys_like_torch():
    model, twin = nn.Sequential(nn.Linear(2, 3)), tnn.Sequential(tnn.Linear(2, 3))
    state = {"0.weight": np.ones((3, 2), np.float32), "extra": np.ones(1, np.float32)}
    ours = model.load_state_dict(state, strict=False)
    theirs = twin.load_state_dict(to_torch(state), strict=False)
    assert ours.missing_keys == theirs.missing_keys == ["0.bias"]
    assert ours.unexpected_keys == theirs.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model[0].weight.array, 1.0)
    with pytest.raises(TypeError, match="strict must be True or False"):
        model.load_state_dict(state, strict="no")


@pytest.mark.parametrize("layer, args, kwargs", [
    ("Conv2d", (1, 2, 3), {}), ("Conv2d", (1, 2, 3), {"padding": 1}),
    ("Conv2d", (1, 2, 3), {"padding": "same"}),
    ("Conv1d", (2, 4, 3), {"stride": 2, "dilation": 2, "groups": 2, "bias": False,
                          "padding_mode": "reflect"}),
    ("ConvTranspose2d", (1, 2, 3), {"stride": 2, "output_padding": 1}),
])
def test_conv_repr_is_torchs(layer, args, kwargs):
    assert repr(getattr(nn, layer)(*args, **kwargs)) == repr(getattr(torch.nn, layer)(*args,
                                                                                     **kwargs))


@pytest.mark.parametrize("layer", ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
                                   "ConvTranspose2d", "ConvTranspose3d"])
def test_conv_signatures_are_torchs(layer):
    import inspect

    def params(cls):
        return [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]
    assert params(getattr(nn, layer)) == params(getattr(torch.nn, layer))
