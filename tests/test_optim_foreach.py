"""The optimizers' two implementations (convgrad/optim/_foreach.py): the compiled one-pass
kernels and the NumPy in-place path give torch's trajectories, in float32 and float64, for
every optimizer and option — and each other's; torch's ``foreach``/``fused`` arguments select
ours; the state keeps torch's layout."""

import copy

import numpy as np
import pytest
from helpers import assert_close, import_torch
from hypothesis import given
from hypothesis import strategies as st

import convgrad as cg
from convgrad.engine.settings import settings
from convgrad.ops import jit
from convgrad.optim import _foreach

torch = import_torch()

# one tensor over TUNING["parallel_min"] values (the parallel kernel), small ones (one thread),
# a 0-d one; gradients drawn afresh each step, some near zero
SHAPES = [(370, 360), (7,), (3, 4, 2), ()]
STEPS = 6

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.5, maximize=True, weight_decay=0.2)),
    ("SGD", dict(lr=0.1, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.3, 0.9))),                  # lerp's other branch
    ("Adam", dict(lr=0.05, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05, weight_decay=0.2)),
    ("AdamW", dict(lr=0.05, amsgrad=True, maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.4, 0.9), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05)),                                    # ρₜ ≤ 5, then > 5
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.1, maximize=True)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)),       # lerp's other branch
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, eps=1e-5, maximize=True)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in CASES]


def _grads(dtype, shapes=SHAPES):
    rng = np.random.default_rng(0)
    out = []
    for _ in range(STEPS):
        scale = 10.0 ** rng.integers(-3, 2)
        out.append([(scale * rng.standard_normal(s)).astype(dtype) for s in shapes])
    return out


def _start(dtype, shapes=SHAPES):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def trajectory(lib, name, kwargs, dtype, shapes=SHAPES):
    """The parameters after each step, with the same gradients fed to both libraries."""
    ps = [lib.tensor(a.copy(), requires_grad=True) for a in _start(dtype, shapes)]
    opt = getattr(lib.optim, name)(ps, **kwargs)
    out = []
    for step in _grads(dtype, shapes):
        for p, g in zip(ps, step):
            p.grad = lib.tensor(g.copy())
        opt.step()
        out.append([np.array(p.detach().numpy()) for p in ps])
    return out, opt


def compiled(name, kwargs, dtype, shapes=SHAPES):
    with _foreach.min_elements(0):
        return trajectory(cg, name, kwargs, dtype, shapes)


def numpy_path(name, kwargs, dtype, shapes=SHAPES):
    with settings(jit=False):
        return trajectory(cg, name, kwargs, dtype, shapes)


def same(ours, theirs, dtype, what):
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, dtype, f"{what}: step {k}, parameter {i}")


needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed or is off")


@needs_numba
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_compiled_kernels_match_torch(name, kwargs, dtype):
    ours, opt = compiled(name, kwargs, dtype)
    theirs, topt = trajectory(torch, name, kwargs, dtype)
    same(ours, theirs, dtype, "kernels vs torch")
    with _foreach.min_elements(0):
        assert all(k is not None for g in opt.param_groups for _, _, k in _foreach.items(opt, g))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_numpy_path_matches_torch(name, kwargs, dtype):
    ours, opt = numpy_path(name, kwargs, dtype)
    theirs, _ = trajectory(torch, name, kwargs, dtype)
    same(ours, theirs, dtype, "NumPy path vs torch")
    with settings(jit=False):
        assert all(k is None for g in opt.param_groups for _, _, k in _foreach.items(opt, g))


@needs_numba
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_kernels_and_numpy_path_agree_and_keep_torchs_state_layout(name, kwargs):
    a, opt_a = compiled(name, kwargs, "float32")
    b, opt_b = numpy_path(name, kwargs, "float32")
    c, opt_c = trajectory(cg, name, dict(kwargs, foreach=False), "float32")
    same(a, b, "float32", "kernels vs NumPy path")
    same(b, c, "float32", "foreach=False is the NumPy path")
    np.testing.assert_array_equal(b[-1][0], c[-1][0])
    _, topt = trajectory(torch, name, kwargs, "float32")
    sd, tsd = opt_a.state_dict(), topt.state_dict()
    assert sd["state"].keys() == tsd["state"].keys()
    for i, state in tsd["state"].items():
        assert list(sd["state"][i]) == list(state)
        for key, want in state.items():
            got = sd["state"][i][key]
            assert got.shape == tuple(want.shape) and str(got.dtype) == str(want.dtype)[6:], key
            assert_close(got.numpy(), want.numpy(), "float32", f"state {i} {key}")


@needs_numba
@pytest.mark.parametrize("name, kwargs", CASES[1::3], ids=IDS[1::3])
def test_state_dict_round_trip_through_the_kernels(name, kwargs):
    straight, _ = compiled(name, kwargs, "float64")
    grads = _grads("float64")
    with _foreach.min_elements(0):
        ps = [cg.tensor(a.copy(), requires_grad=True) for a in _start("float64")]
        opt = getattr(cg.optim, name)(ps, **kwargs)
        for step in grads[:3]:
            for p, g in zip(ps, step):
                p.grad = cg.tensor(g.copy())
            opt.step()
        saved = copy.deepcopy(opt.state_dict())
        qs = [cg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
        fresh = getattr(cg.optim, name)(qs, **kwargs)
        fresh.load_state_dict(saved)
        for step in grads[3:]:
            for q, g in zip(qs, step):
                q.grad = cg.tensor(g.copy())
            fresh.step()
    nadam = name == "NAdam"                   # the loaded float32 mu_product turns float64
    for q, want in zip(qs, straight[-1]):
        np.testing.assert_allclose(q.detach().numpy(), want, rtol=1e-5 if nadam else 1e-12,
                                   atol=1e-9 if nadam else 1e-14)


@needs_numba
@given(name=st.sampled_from(["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
                             "Adamax", "NAdam", "RAdam"]),
       lr=st.sampled_from([1e-3, 0.1, 1.0]), wd=st.sampled_from([0.0, 1e-2]),
       maximize=st.booleans(), flag=st.booleans(), beta=st.sampled_from([0.2, 0.5, 0.9]),
       dtype=st.sampled_from(["float32", "float64"]))
def test_drawn_configurations_agree_with_torch(name, lr, wd, maximize, flag, beta, dtype):
    kwargs = dict(lr=lr, weight_decay=wd, maximize=maximize)
    kwargs.update({
        "SGD": dict(momentum=beta, nesterov=flag, dampening=0.0 if flag else 0.1),
        "Adam": dict(amsgrad=flag, betas=(beta, 0.99)), "AdamW": dict(amsgrad=flag),
        "RMSprop": dict(centered=flag, momentum=beta if flag else 0.0, alpha=beta),
        "Adagrad": dict(lr_decay=0.1 if flag else 0.0), "Adadelta": dict(rho=beta),
        "Adamax": dict(betas=(beta, 0.9)), "NAdam": dict(decoupled_weight_decay=flag),
        "RAdam": dict(decoupled_weight_decay=flag, betas=(beta, 0.9))}[name])
    shapes = [(5, 6), (3,), ()]
    ours, _ = compiled(name, kwargs, dtype, shapes)
    same(ours, trajectory(torch, name, kwargs, dtype, shapes)[0], dtype, "kernels vs torch")
    same(numpy_path(name, kwargs, dtype, shapes)[0], ours, dtype, "NumPy path vs kernels")


@pytest.mark.parametrize("kwargs, compiled_", [
    (dict(), True), (dict(foreach=None), True), (dict(foreach=True), True),
    (dict(fused=True), True), (dict(foreach=False), False), (dict(fused=False), True),
])
def test_foreach_and_fused_select_our_implementation(kwargs, compiled_):
    ps = [cg.tensor(np.ones(s), requires_grad=True) for s in SHAPES]
    topt = torch.optim.Adam([torch.ones(2, requires_grad=True)], **kwargs)     # torch takes it
    opt = cg.optim.Adam(ps, **kwargs)
    assert opt.defaults == {**topt.defaults, "fused": kwargs.get("fused")}
    for p in ps:
        p.grad = cg.tensor(np.ones(p.shape))
    with _foreach.min_elements(0):
        flags = [k is not None for _, _, k in _foreach.items(opt, opt.param_groups[0])]
    assert flags == [compiled_ and jit.available()] * len(ps)
    with settings(jit=False), _foreach.min_elements(0):
        assert all(k is None for _, _, k in _foreach.items(opt, opt.param_groups[0]))


def test_small_groups_and_odd_layouts_take_the_numpy_path():
    big = cg.tensor(np.ones((200, 200), np.float32), requires_grad=True)
    odd = cg.tensor(np.ones((40, 30)), requires_grad=True)
    opt = cg.optim.SGD([big, odd], lr=0.1, momentum=0.9)
    big.grad = cg.tensor(np.ones((200, 200), np.float32))
    odd.grad = cg.tensor(np.ones((30, 40)).T)                    # a transposed gradient
    flags = [k is not None for _, _, k in _foreach.items(opt, opt.param_groups[0])]
    assert flags == [jit.available(), False]
    small = cg.optim.SGD([odd], lr=0.1)
    assert all(k is None for _, _, k in _foreach.items(small, small.param_groups[0]))
    opt.step()
    np.testing.assert_allclose(odd.detach().numpy(), 0.9)


def test_a_gradient_of_another_dtype_is_cast_and_the_version_bumped():
    for lib in (cg, torch):
        w = lib.tensor(np.ones((200, 200), np.float32), requires_grad=True)
        w.grad = lib.tensor(np.full((200, 200), 0.5, np.float32))
        opt = lib.optim.Adam([w], lr=0.1)
        opt.step()
        if lib is cg:
            mine = w.detach().numpy()
            assert w.dtype == np.float32 and w._vc[0] == 1
    np.testing.assert_allclose(mine, w.detach().numpy(), rtol=1e-6)
    x = cg.tensor(np.ones(4, np.float32), requires_grad=True)
    x.grad = cg.tensor(np.ones(4))                               # float64 into float32
    with _foreach.min_elements(0):
        cg.optim.Adam([x], lr=0.1).step()
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.detach().numpy(), 0.9, rtol=1e-6)


def test_a_tensor_learning_rate_and_a_changed_rate_take_effect_in_the_kernels():
    w = cg.tensor(np.ones(40000), requires_grad=True)
    opt = cg.optim.SGD([w], lr=cg.tensor(0.1))
    w.grad = cg.tensor(np.ones(40000))
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), 1 - 0.1 - 0.5)


def test_a_nan_gradient_propagates_as_in_torch():
    outs = []
    for lib in (cg, torch):
        for name in ("Adam", "Adamax", "Adagrad"):
            w = lib.tensor(np.ones(40000), requires_grad=True)
            g = np.ones(40000)
            g[3] = np.nan
            opt = getattr(lib.optim, name)([w], lr=0.1, **(
                dict(amsgrad=True) if name == "Adam" else {}))
            for _ in range(2):
                w.grad = lib.tensor(g.copy())
                with _foreach.min_elements(0):
                    opt.step()
            outs.append(w.detach().numpy().copy())
    for a, b in zip(outs[:3], outs[3:]):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-12)


@needs_numba
def test_large_tensors_run_the_parallel_kernels_small_ones_the_serial():
    big = _foreach.TUNING["parallel_min"]
    ps = [cg.tensor(np.ones(n, np.float32), requires_grad=True) for n in (big, big - 1)]
    for p in ps:
        p.grad = cg.tensor(np.ones(p.shape, np.float32))
    opt = cg.optim.Adam(ps)
    kernels = _foreach.kernels()
    for threads, want in ((2, [kernels.parallel, kernels.serial]),
                          (1, [kernels.serial, kernels.serial])):
        with settings(threads=threads):
            assert [k for _, _, k in _foreach.items(opt, opt.param_groups[0])] == want


def test_the_benchmark_prints_a_row_per_optimizer(capsys):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import bench_optim

    row = bench_optim.optimizer_row("Adam", dict(lr=1e-3), "resnet8", 1)
    assert row["convgrad"] > 0 and row["torch"] > 0 and row["torch_foreach"] > 0
    assert sum(np.prod(s) for s in bench_optim.PARAMS["resnet8"]) == 78042
    rows = bench_optim.main(["--part", "optim", "--params", "resnet8", "--repeat", "1"])
    assert len(rows) == len(bench_optim.OPTIMIZERS)
    assert "| SGD(momentum=0.9) | resnet8 |" in capsys.readouterr().out
