"""convgrad.optim reproduces torch.optim: trajectories, parameter groups, state dicts, errors."""

import copy
import importlib
import re

import numpy as np
import pytest
from helpers import assert_close, import_torch

import convgrad as cg
from convgrad import optim
from convgrad.optim import _foreach

torch = import_torch()

RNG = np.random.default_rng(0)
A, B, W0, M0 = (RNG.standard_normal((8, 5)), RNG.standard_normal(8), RNG.standard_normal(5),
                RNG.standard_normal((3, 4)))


def loss_fn(lib, w, m, dtype=np.float64):
    """The same loss in either library, with its own autograd."""
    r = lib.tensor(A.astype(dtype)) @ w
    return ((r - lib.tensor(B.astype(dtype))) ** 4).mean() + 0.1 * ((m @ w[:4]) ** 2).sum() + \
        (m * m).mean()


def make(lib, name, kwargs, groups=None, start=None):
    w0, m0 = start if start is not None else (W0, M0)
    w = lib.tensor(w0.copy(), requires_grad=True)
    m = lib.tensor(m0.copy(), requires_grad=True)
    params = [w, m] if groups is None else [dict(params=[p], **g) for p, g in zip((w, m), groups)]
    opt = getattr(lib.optim, name)(params, **kwargs)
    return opt, (w, m)


def run(lib, opt, ps, steps, dtype=np.float64):
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(lib, *ps, dtype=dtype).backward()
        opt.step()
        out.append([np.array(p.detach().numpy()) for p in ps])
    return out


def numpy_of(v):
    if isinstance(v, cg.Tensor):
        return v.numpy()
    if isinstance(v, torch.Tensor):
        return v.detach().numpy()
    return v


def assert_state_equal(ours, theirs):
    assert ours.keys() == theirs.keys()
    assert ours["param_groups"] == [{k: v for k, v in g.items()} for g in
                                    theirs["param_groups"]]
    assert ours["state"].keys() == theirs["state"].keys()
    for i, st in theirs["state"].items():
        assert list(ours["state"][i]) == list(st), i
        for key, want in st.items():
            got = numpy_of(ours["state"][i][key])
            want = numpy_of(want)
            if isinstance(want, np.ndarray):
                assert got.dtype == want.dtype, key
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13, err_msg=key)
            else:
                assert got == want, key


CASES = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.05, maximize=False)),
    ("SGD", dict(lr=1e-4, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, foreach=False)),
    ("Adam", dict(lr=0.05, amsgrad=True, fused=True)),
    ("SGD", dict(lr=0.01, momentum=0.9, foreach=True)),
    ("SGD", dict(lr=0.01, momentum=0.9, fused=True)),
    ("Adagrad", dict(lr=0.1, fused=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, foreach=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, weight_decay=0.2)),
    ("AdamW", dict(lr=0.05, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, eps=1e-5)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.7, 0.9), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_trajectory_and_state_match_torch(name, kwargs):
    opt, ps = make(cg, name, kwargs)
    topt, tps = make(torch, name, kwargs)
    for k, (ours, theirs) in enumerate(zip(run(cg, opt, ps, 10), run(torch, topt, tps, 10))):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"step {k}")
    assert_state_equal(opt.state_dict(), topt.state_dict())
    assert repr(opt) == repr(topt)
    assert opt.defaults == topt.defaults


@pytest.mark.parametrize("kernels", [False, True])
@pytest.mark.parametrize("name, kwargs", CASES)
def test_float32_trajectories_match_torch(name, kwargs, kernels):
    """Both implementations (``optim._foreach``: NumPy, the compiled kernels) in float32."""
    start = (W0.astype(np.float32), M0.astype(np.float32))
    with _foreach.min_elements(0 if kernels else 1 << 62):
        opt, ps = make(cg, name, kwargs, start=start)
        ours = run(cg, opt, ps, 10, np.float32)
    topt, tps = make(torch, name, kwargs, start=start)
    for k, (mine, theirs) in enumerate(zip(ours, run(torch, topt, tps, 10, np.float32))):
        for a, b in zip(mine, theirs):
            finite = np.isfinite(b)                  # RAdam's first steps diverge on this loss
            np.testing.assert_array_equal(np.isfinite(a), finite)
            assert_close(np.where(finite, a, 0), np.where(finite, b, 0), "float32", f"step {k}")


@pytest.mark.parametrize("name, kwargs", [c for c in CASES if c[0] != "SGD"][::3]
                         + [("SGD", dict(lr=0.01, momentum=0.9))])
def test_param_groups_with_their_own_options(name, kwargs):
    groups = [dict(lr=0.02), dict(weight_decay=0.3)]
    opt, ps = make(cg, name, kwargs, groups)
    topt, tps = make(torch, name, kwargs, groups)
    for ours, theirs in zip(run(cg, opt, ps, 6), run(torch, topt, tps, 6)):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert_state_equal(opt.state_dict(), topt.state_dict())


@pytest.mark.parametrize("name, kwargs", CASES[1::2])
def test_state_dict_round_trip(name, kwargs):
    whole, ps = make(cg, name, kwargs)
    straight = run(cg, whole, ps, 10)
    results = []
    for lib in (cg, torch):
        opt, qs = make(lib, name, kwargs)
        run(lib, opt, qs, 3)
        saved = copy.deepcopy(opt.state_dict())
        fresh, rs = make(lib, name, kwargs, start=[q.detach().numpy().copy() for q in qs])
        fresh.load_state_dict(saved)
        results.append(run(lib, fresh, rs, 7))
    for ours, theirs, uninterrupted in zip(*results, straight[3:]):
        for a, b, c in zip(ours, theirs, uninterrupted):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-9)  # NAdam: mu_product dtype


def test_parameters_without_grad_are_skipped_and_version_counted():
    w = cg.tensor(np.ones(3), requires_grad=True)
    frozen = cg.tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([w, frozen], lr=0.1)
    (w * w).sum().backward()
    v0 = w._vc[0]
    opt.step()
    assert w._vc[0] == v0 + 1
    assert frozen not in opt.state and np.all(frozen.detach().numpy() == 1)
    assert list(opt.state_dict()["state"]) == [0]


def test_float32_parameters_stay_float32():
    for name in ("SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"):
        w = cg.tensor(np.ones(3, np.float32), requires_grad=True)
        opt = getattr(optim, name)([w], lr=0.1)
        (w * w).sum().backward()
        opt.step()
        assert w.dtype == np.float32, name


def test_zero_grad_and_closure():
    w = cg.tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert np.all(w.grad.numpy() == 0)
    opt.zero_grad()
    assert w.grad is None

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 3.0
    assert opt.step() is None


def test_lr_change_between_steps_takes_effect():
    w = cg.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.param_groups[0]["lr"] = 0.5
    w.grad = cg.tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), 0.5)


@pytest.mark.parametrize("kwargs", [dict(), dict(line_search_fn="strong_wolfe"),
                                    dict(lr=0.5, max_iter=5, history_size=3),
                                    dict(history_size=3, max_iter=6,
                                         line_search_fn="strong_wolfe")])
def test_lbfgs_matches_torch(kwargs):
    outs, dicts = [], []
    for lib in (cg, torch):
        opt, ps = make(lib, "LBFGS", kwargs)

        def closure(opt=opt, ps=ps, lib=lib):
            opt.zero_grad()
            loss = loss_fn(lib, *ps)
            loss.backward()
            return loss

        traj = []
        for _ in range(4):
            traj.append(float(opt.step(closure)))
            traj.extend(np.array(p.detach().numpy()).ravel() for p in ps)
        outs.append(traj)
        dicts.append(opt.state_dict())
    for a, b in zip(*outs):      # near the minimum, round-off of O(1) sums sets the floor
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
    ours, theirs = dicts
    for key in ("func_evals", "n_iter"):
        assert ours["state"][0][key] == theirs["state"][0][key]
    assert ours["param_groups"] == theirs["param_groups"]


def _same_error(build):
    with pytest.raises(Exception) as theirs:
        build(torch, torch.tensor(np.ones(2), requires_grad=True))
    with pytest.raises(theirs.type, match="^" + re.escape(str(theirs.value)) + "$"):
        build(cg, cg.tensor(np.ones(2), requires_grad=True))


@pytest.mark.parametrize("build", [
    lambda lib, w: lib.optim.SGD([], lr=0.1),
    lambda lib, w: lib.optim.SGD([w], lr=-1.0),
    lambda lib, w: lib.optim.SGD([w], lr=0.1, momentum=-0.5),
    lambda lib, w: lib.optim.SGD([w], lr=0.1, nesterov=True),
    lambda lib, w: lib.optim.SGD([{"params": {w}}], lr=0.1),
    lambda lib, w: lib.optim.SGD([w, 3.0], lr=0.1),
    lambda lib, w: lib.optim.SGD([w * 2], lr=0.1),
    lambda lib, w: lib.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1),
    lambda lib, w: lib.optim.Adam([w], betas=(0.9, 1.0)),
    lambda lib, w: lib.optim.Adam([w], eps=-1.0),
    lambda lib, w: lib.optim.Adam([w], weight_decay=-1.0),
    lambda lib, w: lib.optim.Adam([w], betas=(0.9, 1)),
    lambda lib, w: lib.optim.RMSprop([w], alpha=-1.0),
    lambda lib, w: lib.optim.Adagrad([w], lr_decay=-1.0),
    lambda lib, w: lib.optim.Adagrad([w], initial_accumulator_value=-1.0),
    lambda lib, w: lib.optim.Adadelta([w], rho=1.5),
    lambda lib, w: lib.optim.NAdam([w], momentum_decay=-1.0),
    lambda lib, w: lib.optim.RAdam([w], betas=(-0.1, 0.9)),
    lambda lib, w: lib.optim.LBFGS([{"params": [w]}, {"params": [w * 1]}]),
    lambda lib, w: lib.optim.LBFGS([w], lr=-2),
    lambda lib, w: lib.optim.SGD([w], lr=0.1).add_param_group([w]),
    lambda lib, w: lib.optim.SGD([w], lr=0.1).load_state_dict(
        {"state": {}, "param_groups": []}),
    lambda lib, w: lib.optim.SGD([w], lr=0.1).load_state_dict(
        {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}),
    lambda lib, w: lib.optim.Optimizer([w], {"lr": importlib.import_module(
        lib.optim.__name__ + ".optimizer").required}),
])
def test_errors_match_torch(build):
    _same_error(build)


def test_a_tensor_is_not_a_parameter_list():
    with pytest.raises(TypeError, match="an iterable of Tensors or dicts, but got convgrad"):
        optim.SGD(cg.tensor(np.ones(2), requires_grad=True), lr=0.1)


def test_named_params_and_add_param_group():
    for lib in (cg, torch):
        w, v = (lib.tensor(np.ones(2), requires_grad=True) for _ in range(2))
        opt = lib.optim.SGD([("w", w)], lr=0.1, momentum=0.9)
        with pytest.raises(ValueError, match="with/without names"):
            opt.add_param_group({"params": [v]})
        opt.add_param_group({"params": [("v", v)], "lr": 0.2})
        sd = opt.state_dict()
        assert sd["param_groups"][1]["params"] == [1]
        assert sd["param_groups"][1]["param_names"] == ["v"]
        assert sd["param_groups"][1]["momentum"] == 0.9
