"""convgrad.optim.lr_scheduler reproduces torch's learning-rate (and momentum) sequences."""

import copy
import warnings

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg

torch = import_torch()

METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.5, 0.5, 0.5, 0.51, 0.52, 0.6, 0.4,
           0.4, 0.4, 0.41, 0.42, 0.43, 0.44, 0.45, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]


def _optimizer(lib, kind="SGD"):
    w, v = (lib.tensor(np.ones(2), requires_grad=True) for _ in range(2))
    groups = [{"params": [w], "lr": 0.1}, {"params": [v], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, betas=(0.9, 0.99))
    return lib.optim.SGD(groups, momentum=0.9)


def _lambda(e):
    return 0.95 ** e


def _mult(e):
    return 0.9 if e % 3 else 1.05


FACTORIES = {
    "StepLR": lambda S, o: S.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.002),
    "CosineAnnealingWarmRestarts1": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=31),
    "OneCycleLR-linear-3": lambda S, o: S.OneCycleLR(
        o, max_lr=0.4, epochs=4, steps_per_epoch=8, anneal_strategy="linear",
        three_phase=True, pct_start=0.25),
    "OneCycleLR-nomom": lambda S, o: S.OneCycleLR(o, max_lr=0.3, total_steps=40,
                                                  cycle_momentum=False, div_factor=10.0),
    "CyclicLR": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-tri2": lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3],
                                             step_size_up=3, step_size_down=5,
                                             mode="triangular2"),
    "CyclicLR-exp": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                            mode="exp_range", gamma=0.97),
    "CyclicLR-fn": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                           scale_fn=_lambda, scale_mode="iterations",
                                           cycle_momentum=False),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lr_lambda=_lambda),
    "LambdaLR-list": lambda S, o: S.LambdaLR(o, lr_lambda=[_lambda, _mult]),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lr_lambda=_mult),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.4, total_iters=5),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=12, power=2.0),
    "SequentialLR": lambda S, o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=5),
                                                    S.CosineAnnealingLR(o, T_max=10),
                                                    S.ExponentialLR(o, 0.9)],
                                                milestones=[5, 15]),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 4),
                                                          S.ExponentialLR(o, 0.93),
                                                          S.StepLR(o, 6, 0.5)]),
    "ReduceLROnPlateau": lambda S, o: S.ReduceLROnPlateau(o, patience=2, factor=0.5),
    "ReduceLROnPlateau-abs": lambda S, o: S.ReduceLROnPlateau(
        o, mode="max", patience=1, threshold=0.01, threshold_mode="abs", cooldown=2,
        min_lr=[0.01, 0.02], eps=1e-3),
}
ADAM = {"OneCycleLR", "CyclicLR"}      # cycled betas[0]


def _sequence(lib, name, steps=30, split=None):
    opt = _optimizer(lib, "Adam" if name in ADAM else "SGD")
    sched = FACTORIES[name](lib.optim.lr_scheduler, opt)
    seq = [_record(sched, opt)]
    for k in range(steps):
        if split == k:
            state, opt_state = copy.deepcopy(sched.state_dict()), copy.deepcopy(opt.state_dict())
            opt = _optimizer(lib, "Adam" if name in ADAM else "SGD")
            sched = FACTORIES[name](lib.optim.lr_scheduler, opt)
            opt.load_state_dict(opt_state)
            sched.load_state_dict(state)
        opt.step()
        sched.step(METRICS[k]) if "Plateau" in name else sched.step()
        seq.append(_record(sched, opt))
    return np.array(seq), sched


def _record(sched, opt):
    row = list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups]
    for g in opt.param_groups:
        row.append(g["betas"][0] if "betas" in g else g["momentum"])
    return row


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_sequence_matches_torch(name):
    ours, sched = _sequence(cg, name)
    theirs, tsched = _sequence(torch, name)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert set(sched.state_dict()) == set(tsched.state_dict())


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_state_dict_round_trip(name):
    whole, _ = _sequence(cg, name)
    resumed, _ = _sequence(cg, name, split=10)
    np.testing.assert_allclose(resumed, whole, rtol=1e-13, atol=1e-16)


def test_step_with_epoch_uses_the_closed_form():
    rows = []
    for lib in (cg, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, 3, 0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in (5, 2, 9):
                opt.step()
                sched.step(e)
                rows.append(sched.get_last_lr())
    np.testing.assert_allclose(rows[:3], rows[3:], rtol=1e-14)


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _optimizer(cg)
    sched = cg.optim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = _optimizer(cg)
    sched2 = cg.optim.lr_scheduler.StepLR(opt2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()


def _errors(lib):
    S, o = lib.optim.lr_scheduler, _optimizer(lib)
    builds = [
        lambda: S.StepLR("not an optimizer", 3),
        lambda: S.ConstantLR(o, factor=1.5),
        lambda: S.LinearLR(o, start_factor=0),
        lambda: S.LinearLR(o, end_factor=2),
        lambda: S.LambdaLR(o, [_lambda]),
        lambda: S.MultiplicativeLR(o, 3),
        lambda: S.CosineAnnealingWarmRestarts(o, T_0=0),
        lambda: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
        lambda: S.OneCycleLR(o, max_lr=0.1),
        lambda: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=2.0),
        lambda: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="x"),
        lambda: S.OneCycleLR(o, max_lr=[0.1], total_steps=10),
        lambda: S.CyclicLR(o, 0.1, 0.2, mode="bad"),
        lambda: S.CyclicLR(lib.optim.Adagrad([lib.tensor(np.ones(1), requires_grad=True)]),
                           0.1, 0.2),
        lambda: S.ReduceLROnPlateau(o, factor=1.0),
        lambda: S.ReduceLROnPlateau(o, mode="mid"),
        lambda: S.ReduceLROnPlateau(o, threshold_mode="x"),
        lambda: S.ReduceLROnPlateau(o, min_lr=[0.1]),
        lambda: S.SequentialLR(o, [], []),
        lambda: S.SequentialLR(o, [S.StepLR(o, 2)], [3]),
        lambda: S.SequentialLR(o, [S.ReduceLROnPlateau(o)], []),
        lambda: S.ChainedScheduler([]),
        lambda: S.StepLR(_optimizer(lib), 3, last_epoch=4),
    ]
    out = []
    for build in builds:
        try:
            build()
            out.append(None)
        except Exception as e:                   # noqa: BLE001 (the type is compared)
            out.append((type(e).__name__, str(e)))
    return out


def test_errors_match_torch():
    ours, theirs = _errors(cg), _errors(torch)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert b is not None, i
        assert a == b, i


def test_one_cycle_past_the_end_raises():
    for lib in (cg, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2)
        opt.step()
        sched.step()
        sched.step()
        with pytest.raises(ValueError, match="Tried to step 3 times"):
            sched.step()
