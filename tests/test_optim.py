"""Optimizers reproduce torch.optim's parameter trajectory on a fixed problem."""

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad import optim

torch = import_torch()


def trajectory(make_cg, make_torch, steps=6):
    rng = np.random.default_rng(0)
    w0, a, b = rng.standard_normal(5), rng.standard_normal((8, 5)), rng.standard_normal(8)
    w, tw = cg.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    opt, topt = make_cg([w]), make_torch([tw])
    for _ in range(steps):
        for p, o, am, bm in ((w, opt, cg.tensor(a), cg.tensor(b)),
                             (tw, topt, torch.tensor(a), torch.tensor(b))):
            o.zero_grad()
            r = am @ p.reshape(5, 1)
            loss = ((r.reshape(8) - bm) ** 4).mean()
            loss.backward()
            o.step()
    return w.array, tw.detach().numpy()


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05, weight_decay=0.2)),
])
def test_update_matches_torch(name, kwargs):
    ours, theirs = trajectory(lambda p: getattr(optim, name)(p, **kwargs),
                              lambda p: getattr(torch.optim, name)(p, **kwargs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_float32_parameters_stay_float32():
    w = cg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w.dtype == np.float32


@pytest.mark.parametrize("build, match", [
    (lambda w: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda w: optim.SGD([w], lr=-1.0), "lr must be non-negative"),
    (lambda w: optim.SGD([w], lr=0.1, nesterov=True), "nesterov needs momentum"),
    (lambda w: optim.Adam([w], betas=(0.9, 1.0)), "betas must be two values"),
])
def test_bad_hyperparameters(build, match):
    with pytest.raises(ValueError, match=match):
        build(cg.tensor(np.ones(2), requires_grad=True))
