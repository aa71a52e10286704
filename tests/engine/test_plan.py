"""engine.plan and ops.plan: the method boundaries as plans, every fallback named by its
reason, plans cached per problem and settings, and a plan is what a call really runs."""

import numpy as np
import pytest
from boundaries import (
    COMPILED_BOUNDARIES,
    METHOD_BOUNDARIES,
    OUTROWS_BOUNDARIES,
    WINOGRAD_BOUNDARIES,
    WINOGRAD_WEIGHT_BOUNDARIES,
)
from helpers import import_optional

from convgrad import ops
from convgrad.engine import plan as plans
from convgrad.engine import rule
from convgrad.engine.algorithms import REGISTRY, names
from convgrad.engine.problem import Problem
from convgrad.ops import correlate as core


def planned(x_shape, w_shape, stride=None, dilation=None, dtype="float64", pads=None):
    ones = (1,) * (len(x_shape) - 3)
    return plans.plan_for(Problem.of(x_shape, w_shape, stride or ones, dilation or ones, pads,
                                     dtype))


# ----------------------------------------------------------------------------- the boundaries

@pytest.mark.parametrize("x_shape, w_shape, want", METHOD_BOUNDARIES)
def test_method_boundaries_are_the_plans(x_shape, w_shape, want):
    """NumPy only (no numba): the plan's algorithm is the rule's; at stride 2 im2col's."""
    with ops.settings(jit=False):
        plan = planned(x_shape, w_shape)
        assert plan.name == want and plan.chosen == want
        if want != "window":
            strided = planned(x_shape, w_shape, stride=(2,) + (1,) * (len(x_shape) - 4))
            assert strided.name == "im2col" and "stride" in strided.reason


@pytest.mark.parametrize("x_shape, w_shape, compiled, numpy_only", COMPILED_BOUNDARIES)
def test_compiled_boundaries_are_the_plans(x_shape, w_shape, compiled, numpy_only):
    import_optional("numba")
    plan = planned(x_shape, w_shape)
    assert plan.name == compiled
    if compiled == "rows":
        assert plan.split == core._row_split(w_shape[1], w_shape[3:], (1,) * len(w_shape[3:]))
    with ops.settings(jit=False):
        assert planned(x_shape, w_shape).name == numpy_only


@pytest.mark.parametrize("x_shape, w_shape, stride, dilation, want", OUTROWS_BOUNDARIES)
def test_outrows_boundaries_are_the_plans(x_shape, w_shape, stride, dilation, want):
    with ops.settings(jit=False):        # the window cases: not the compiled depthwise ∂w
        assert planned(x_shape, w_shape, stride, dilation).name == want


@pytest.mark.parametrize("x_shape, w_shape, dtype, dilation, want", WINOGRAD_BOUNDARIES)
def test_winograd_boundaries_are_the_plans(x_shape, w_shape, dtype, dilation, want):
    import_optional("numba")
    plan = planned(x_shape, w_shape, dilation=dilation, dtype=dtype)
    if want == "direct":
        assert plan.name != "winograd"
        assert dict(plan.rejected)["winograd"] not in ("costs more", "not forced")
    else:
        assert plan.name == want
    if plan.name == "winograd":
        assert plan.form == "forward"
    with ops.settings(winograd=False):
        off = planned(x_shape, w_shape, dilation=dilation, dtype=dtype)
        assert off.name != "winograd"
        why = dict(off.rejected)["winograd"]
        assert "switched off" in why or "float64" in why or why.startswith("needs")


@pytest.mark.parametrize("x_shape, w_shape, stride, want", WINOGRAD_WEIGHT_BOUNDARIES)
def test_winograd_weight_boundaries_are_the_plans(x_shape, w_shape, stride, want):
    import_optional("numba")
    plan = planned(x_shape, w_shape, stride=stride, dtype="float32")
    assert plan.name != "winograd" if want == "direct" else plan.name == want
    if plan.name == "winograd":
        assert plan.form == "weight"
    assert planned(x_shape, w_shape, stride=stride).name != "winograd"           # float64


# ----------------------------------------------------------------------------- the fallbacks

@pytest.mark.parametrize("method, x_shape, w_shape, stride, dilation, reason", [
    ("shift", (2, 1, 3, 9, 9), (1, 4, 3, 3, 3), (2, 1), (1, 1), "shift needs stride 1"),
    ("stacked", (2, 1, 3, 9, 9), (1, 4, 3, 3, 3), (1, 2), (1, 1), "stacked needs stride 1"),
    ("fft", (2, 1, 3, 9), (1, 4, 3, 3), (3,), (1,), "fft needs stride 1"),
    ("rows", (2, 1, 3, 9, 9), (1, 4, 3, 3, 3), (2, 1), (1, 1),
     "rows needs stride 1 on the first axis"),
    ("rows", (2, 1, 3, 9), (1, 4, 3, 3), (1,), (1,), "rows needs two or more spatial axes"),
    ("outrows", (2, 1, 3, 9, 9), (1, 4, 3, 3, 3), (1, 1), (2, 1),
     "outrows needs dilation 1 on the first axis"),
    ("winograd", (2, 1, 3, 9, 9), (1, 4, 3, 5, 5), (1, 1), (1, 1), "winograd needs"),
    ("depthwise", (2, 1, 3, 9, 9), (1, 4, 3, 3, 3), (1, 1), (1, 1), "depthwise needs one"),
])
def test_a_forced_method_that_does_not_apply_is_im2col_with_its_reason(
        method, x_shape, w_shape, stride, dilation, reason):
    with ops.settings(method=method):
        plan = planned(x_shape, w_shape, stride, dilation)
    assert plan.name == "im2col" and plan.chosen == method
    assert plan.reason.startswith(reason), plan.reason
    assert dict(plan.rejected)[method] in plan.reason


def test_rows_past_the_workspace_share_and_outrows_past_it_are_im2col():
    """The two fallbacks decided from the workspace cap: rows's row columns, outrows's row
    windows (its bias then added afterwards, as outrows adds it)."""
    old = ops.set_workspace_limit(2**12)
    try:
        with ops.settings(method="rows"):
            rows = planned((2, 1, 8, 30, 30), (1, 8, 8, 3, 3))
        with ops.settings(method="outrows"):
            outrows = planned((2, 1, 8, 30, 30), (1, 8, 8, 3, 3))
    finally:
        ops.set_workspace_limit(old)
    assert rows.name == "im2col" and "row columns" in rows.reason and not rows.bias_after
    assert outrows.name == "im2col" and "row windows" in outrows.reason and outrows.bias_after


def test_without_numba_winograd_and_depthwise_say_so():
    with ops.settings(jit=False, method="winograd"):
        plan = planned((2, 1, 3, 9, 9), (1, 4, 3, 3, 3))
    assert plan.name == "im2col" and "numba" in plan.reason
    with ops.settings(jit=False):
        depthwise = planned((8, 128, 1, 58, 58), (128, 1, 1, 3, 3))
    assert depthwise.name == "shift" and "numba" in dict(depthwise.rejected)["depthwise"]


def test_compiled_depthwise_specialises_shift_and_window():
    import_optional("numba")
    taps = planned((8, 128, 1, 58, 58), (128, 1, 1, 3, 3))
    dots = planned((1, 128, 8, 58, 58), (128, 1, 8, 56, 56))
    assert (taps.name, taps.form, taps.chosen) == ("depthwise", "taps", "shift")
    assert (dots.name, dots.form, dots.chosen) == ("depthwise", "dots", "window")
    small = planned((1, 4, 1, 9, 9), (4, 1, 1, 3, 3))       # below the compile's threshold
    assert small.name == "shift" and "elements" in dict(small.rejected)["depthwise"]


def test_data_dependent_fallbacks_are_named():
    with ops.settings(method="stacked"):
        stacked = planned((2, 1, 16, 20, 20), (1, 8, 16, 3, 3), pads=((1, 1), (1, 1)))
        unpadded = planned((2, 1, 16, 20, 20), (1, 8, 16, 3, 3))
    assert any("non-finite w" in what for what in stacked.runtime) and not unpadded.runtime
    assert "at run time: a non-finite w" in stacked.explain()
    with ops.settings(method="fft"):
        assert any("non-finite" in what for what in planned((2, 1, 3, 20), (1, 2, 3, 9)).runtime)


# ----------------------------------------------------------------------------- the cache

def test_plans_are_cached_per_problem_and_settings():
    a = planned((2, 1, 3, 9, 9), (1, 4, 3, 3, 3))
    assert planned((2, 1, 3, 9, 9), (1, 4, 3, 3, 3)) is a
    with ops.settings(method="shift"):
        forced = planned((2, 1, 3, 9, 9), (1, 4, 3, 3, 3))
    assert forced is not a and forced.name == "shift" and "forced" in forced.reason
    assert dict(forced.rejected)["im2col"] == "not forced"
    assert planned((2, 1, 3, 9, 9), (1, 4, 3, 3, 3), dtype="float32") is not a


def test_a_provisional_plan_is_not_cached(monkeypatch):
    """While Winograd's code is still being built the rule's answer may change: not kept."""
    monkeypatch.setattr(rule, "choose_method",
                        lambda *a: rule.Choice("im2col", "waiting", provisional=True))
    plans.clear_cache()
    first = planned((2, 1, 3, 9, 9), (1, 4, 3, 3, 3))
    assert first.provisional and planned((2, 1, 3, 9, 9), (1, 4, 3, 3, 3)) is not first


def test_choose_method_answers_with_its_reason():
    choice = core.choose_method((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), (2, 2), (1, 1))
    assert choice == "im2col" and isinstance(choice, str) and "stride" in choice.reason


# ----------------------------------------------------------------------------- ops.plan

CONFIGS = [   # x_shape, w_shape, options
    ((4, 8, 12, 12), (16, 8, 3, 3), dict(padding=1)),
    ((4, 16, 12, 12), (8, 16, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 20, 20), (4, 1, 3, 3), dict(padding=1, groups=4)),
    ((2, 6, 9, 9), (6, 6, 1, 1), {}),
    ((2, 3, 30, 30), (4, 3, 9, 9), dict(padding=4)),
    ((3, 4, 40), (6, 4, 5), dict(padding=2, dilation=2)),
    ((2, 2, 6, 7, 8), (3, 2, 3, 2, 3), dict(stride=(1, 2, 1), padding=1)),
    ((8, 64, 16, 16), (32, 64, 3, 3), dict(stride=2, padding=1)),        # shared phases
    ((1, 16, 40, 40), (16, 16, 3, 3), dict(padding=1)),                   # rows (float64)
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape, w_shape, opts", CONFIGS, ids=str)
def test_ops_plan_is_what_the_calls_run(x_shape, w_shape, opts, dtype):
    """The algorithms ops.plan names are the ones the three calls run (engine.plan.trace)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    result = ops.plan(x_shape, w_shape, dtype=dtype, **opts)
    with plans.trace() as ran:
        y = ops.conv(x, w, **opts)
    assert {(p.problem, p.name) for p in ran} == {(p.problem, p.name)
                                                   for p in result.forward.plans}
    with plans.trace() as ran:
        ops.conv_grad_weight(x, y, w.shape, **opts)
    assert {(p.problem, p.name) for p in ran} == {(p.problem, p.name)
                                                   for p in result.weight_grad.plans}
    with plans.trace() as ran:
        ops.conv_grad_input(y, w, x.shape, **opts)
    if result.input_grad.shared:
        assert ran == [] and result.input_grad.algorithm == "stacked"
    else:
        assert {(p.problem, p.name) for p in ran} == {(p.problem, p.name)
                                                       for p in result.input_grad.plans}


@pytest.mark.parametrize("x_shape, w_shape, opts", CONFIGS, ids=str)
def test_ops_plan_str_names_every_algorithm_and_its_reason(x_shape, w_shape, opts):
    result = ops.plan(x_shape, w_shape, **opts)
    text = str(result)
    assert text.splitlines()[0].startswith(f"conv x {x_shape} ⋆ w {w_shape}")
    for call, title in zip(result, ("forward", "input gradient", "weight gradient")):
        assert call.kind == title and f"\n{title}: {call.algorithm}" in f"\n{text}"
        for plan in call.plans:
            explained = plan.explain()
            assert explained.startswith(f"{plan.name}: {plan.reason}")
            for name in names():
                if name != plan.name:
                    why = dict(plan.rejected)[name]
                    assert why and f"not {name}: {why}" in explained
            assert plan.explain("    ") in text


def test_ops_plan_checks_like_conv():
    with pytest.raises(ValueError, match="plan: groups=3 must divide C_in=4"):
        ops.plan((1, 4, 5, 5), (3, 4, 3, 3), groups=3)
    with pytest.raises(TypeError, match="float32 or float64"):
        ops.plan((1, 1, 5, 5), (1, 1, 3, 3), dtype=np.int64)
    empty = ops.plan((0, 1, 5, 5), (1, 1, 3, 3))
    assert "nothing to compute" in str(empty)


def test_every_algorithm_is_registered_once():
    assert set(core.METHODS) <= set(names()) and len(names()) == len(set(names()))
    assert all(REGISTRY[name].name == name and REGISTRY[name].summary for name in names())


def test_bench_explain_prints_each_configs_plans():
    """convgrad.bench.explain_plans (``convgrad bench --explain``): per configuration and
    dtype a header and ops.plan's text."""
    from convgrad import bench

    text = bench.explain_plans(["resnet_stride2", "depthwise"], ["float64"], prepare=False)
    assert text.startswith("== resnet_stride2 (float64) ==\nconv x (8, 128, 28, 28)")
    assert "\n\n== depthwise (float64) ==\n" in text
    for call in ("forward", "input gradient", "weight gradient"):
        assert text.count(f"\n{call}: ") == 2
    with pytest.raises(ValueError, match="unknown configuration 'nope'"):
        bench.explain_plans(["nope"], ["float64"], prepare=False)


# ----------------------------------------------------------------------------- workspace

WORKSPACE_PROBLEMS = [
    ((8, 1, 16, 20, 20), (1, 32, 16, 3, 3), (1, 1), ((1, 1), (1, 1))),
    ((4, 1, 3, 32, 32), (1, 16, 3, 5, 5), (2, 2), ((2, 2), (2, 2))),
    ((2, 1, 8, 64), (1, 8, 8, 7), (1,), ((3, 3),)),
    ((16, 1, 32, 14, 14), (1, 32, 32, 3, 3), (1, 1), ((0, 0), (0, 0))),
]


@pytest.mark.parametrize("name", ["im2col", "rows", "stacked", "shift", "window", "outrows"])
@pytest.mark.parametrize("x_shape, w_shape, stride, pads", WORKSPACE_PROBLEMS)
def test_a_plans_workspace_bounds_the_buffers_its_run_keeps(name, x_shape, w_shape, stride,
                                                           pads):
    """In a fresh thread (no kept buffers yet), the scratch a correlation keeps is at most
    the plan's estimate, and the estimate at most twice it (plus a small slack)."""
    import threading

    from convgrad.engine import runtime

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dilation = (1,) * len(stride)
    got = {}

    def run():
        with ops.settings(method=name, threads=1, jit=False):
            plan = plans.plan_for(Problem.of(x_shape, w_shape, stride, dilation, pads,
                                             "float64"))
            core.correlate(x, w, stride, dilation, pads)
            kept = sum(b.nbytes for b in getattr(runtime._state, "buffers", {}).values())
            got.update(plan=plan, kept=kept, estimate=plan.workspace_bytes)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert got["kept"] <= got["estimate"] <= 2 * got["kept"] + 2**16, got


def test_ops_plan_shows_each_calls_workspace_and_threads():
    with ops.settings(threads=2):
        p = ops.plan((64, 32, 26, 26), (64, 32, 3, 3), dtype=np.float64)
    import_optional("threadpoolctl")          # (the batch parts run at once through it)
    assert p.forward.threads == 2 and len(p.forward.parts) == 2
    assert p.forward.workspace_bytes == 2 * max(q.workspace_bytes for q in p.forward.plans)
    text = str(p)
    assert "(workspace " in text and "MiB)" in text and "at once on 2 threads" in text
