"""nn.utils against torch.nn.utils: gradient clipping and parameter vectors."""

import math

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
import convgrad.nn.utils
from convgrad.nn import utils

torch = import_torch()
tutils = torch.nn.utils


def twin_params(dtype="float32", scale=1.0):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2, 3)]
    ours, theirs = [], []
    for shape in shapes:
        value, grad = rng.standard_normal(shape).astype(dtype), (
            scale * rng.standard_normal(shape)).astype(dtype)
        p = cg.nn.Parameter(cg.tensor(value))
        p.grad = cg.tensor(grad)
        t = torch.nn.Parameter(torch.tensor(value))
        t.grad = torch.tensor(grad)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2, 1, math.inf, 3.5, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    norm_type = float(norm_type)
    ours, theirs = twin_params(dtype)
    got = utils.clip_grad_norm_(ours, max_norm, norm_type)
    want = tutils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(got, cg.Tensor) and got.shape == () and str(got.dtype) == dtype
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_edge_cases_match_torch():
    p = cg.nn.Parameter(cg.ones(3))
    assert utils.clip_grad_norm_([p], 1.0).item() == tutils.clip_grad_norm_(
        [torch.nn.Parameter(torch.ones(3))], 1.0).item() == 0.0
    ours, theirs = twin_params()
    ours[0].grad.array[0, 0] = np.inf
    theirs[0].grad[0, 0] = math.inf
    with pytest.raises(RuntimeError) as got:
        utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as want:
        tutils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    assert str(got.value) == str(want.value)
    assert utils.clip_grad_norm_(ours, 1.0).item() == tutils.clip_grad_norm_(theirs,
                                                                             1.0).item()
    single = cg.nn.Parameter(cg.ones(2))
    single.grad = cg.tensor([3.0, 4.0])
    assert utils.clip_grad_norm_(single, 1.0).item() == 5.0


def test_clip_grad_value_matches_torch():
    ours, theirs = twin_params(scale=3.0)
    assert utils.clip_grad_value_(ours, 1.5) is None
    tutils.clip_grad_value_(theirs, 1.5)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_parameter_vectors_match_torch():
    model = cg.nn.Sequential(cg.nn.Linear(3, 2), cg.nn.Linear(2, 1))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                          model.state_dict().items()})
    vec = utils.parameters_to_vector(model.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(),
                                  tutils.parameters_to_vector(twin.parameters()).detach().numpy())
    assert vec.requires_grad
    new = cg.arange(11, dtype=cg.float32)
    utils.vector_to_parameters(new, model.parameters())
    tutils.vector_to_parameters(torch.arange(11, dtype=torch.float32), twin.parameters())
    for p, t in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), t.detach().numpy())
    with pytest.raises(TypeError, match="expected convgrad.Tensor, but got: list"):
        utils.vector_to_parameters([1.0], model.parameters())
    assert convgrad.nn.utils.clip_grad_norm_ is utils.clip_grad_norm_
