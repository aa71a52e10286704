"""Every registered algorithm at once: forced, each on hypothesis-drawn problems — wherever
its applies() is None it is what runs, and its forward, ∂x and ∂w equal the plain-loop
definitions (ops/reference.py) and torch; where it does not apply the plan runs im2col —
and every method on the edge cases, on non-contiguous views and across the rule's boundaries
(the method rule's own boundary tables: tests/engine/boundaries.py). ``check_forced`` is the
per-algorithm files' check (tests/engine/test_<algorithm>.py)."""

from dataclasses import replace

import numpy as np
import pytest
from boundaries import METHOD_BOUNDARIES
from helpers import (
    Case,
    assert_close,
    conv_cases,
    import_optional,
    torch_conv_and_grads,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ops_conv import EDGE_CASES, check_against_reference, check_against_torch

from convgrad import ops
from convgrad.engine import plan as plans
from convgrad.engine.algorithms import REGISTRY, names
from convgrad.engine.tuning import tuned
from convgrad.ops import reference as ref
from convgrad.ops.correlate import METHODS, choose_method, correlate


def run_forced(name: str, case: Case):
    """Forward, ∂x, ∂w with ``name`` forced, the plans that ran, and whether each plan's
    algorithm is the one its problem admits (``name`` where it applies, else im2col)."""
    x, w, b = case.arrays()
    y_t, dy, dx_t, dw_t = torch_conv_and_grads(case, x, w, b)
    algorithm = REGISTRY[name]
    # (jit_elements=0: the compiled depthwise kernels for small problems too)
    with tuned(jit_elements=0), ops.settings(method=name), plans.trace() as ran:
        got = (ops.conv(x, w, b, **case.opts), ops.conv_grad_input(dy, w, x.shape, **case.opts),
               ops.conv_grad_weight(x, dy, w.shape, **case.opts))
        fits = [algorithm.applies(p.problem, p.settings) is None for p in ran]
    for plan, applies in zip(ran, fits):
        if not applies:
            assert plan.name == "im2col", (plan, name)
        elif plan.name != name:       # the two specialisations the plan makes of a fit
            assert (name in ("shift", "window") and plan.name == "depthwise") or (
                name == "outrows" and plan.bias_after), (plan, name)
    want = (ref.conv_reference(x, w, b, **case.opts),
            ref.conv_grad_input_reference(dy, w, x.shape, **case.opts),
            ref.conv_grad_weight_reference(x, dy, w.shape, **case.opts))
    for what, result, direct, torch in zip(("forward", "∂x", "∂w"), got, want,
                                            (y_t, dx_t, dw_t)):
        assert_close(result, direct, case.dtype, f"{name} {what} vs direct, {case}")
        assert_close(result, torch, case.dtype, f"{name} {what} vs torch, {case}")
    return ran


@pytest.mark.parametrize("name", names())
@given(case=conv_cases(max_size=7), stride_one=st.booleans())
@settings(max_examples=25)
def test_every_applicable_algorithm_equals_direct_and_torch(name, case, stride_one):
    if name in ("winograd", "depthwise"):
        import_optional("numba")
    run_forced(name, replace(case, stride=1) if stride_one else case)


DENSE = Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1)
DEPTHWISE = Case(size=(8, 7), kernel=(3, 3), cin=4, cout=4, groups=4, batch=2, padding=1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", names())
def test_each_algorithm_runs_where_it_applies(name, dtype):
    """A problem each one applies to: its forward really runs by it."""
    if name in ("winograd", "depthwise"):
        import_optional("numba")
    case = replace(DEPTHWISE if name == "depthwise" else DENSE, dtype=dtype)
    ran = run_forced(name, case)
    assert ran[0].name == name and ran[0].problem.x_shape[0] == case.batch


CALLS = ("forward", "dx", "dw")


def check_forced(name: str, case: Case, runs_in: str = "forward dx dw", jit: bool = True):
    """``ops.settings(method=name)``: forward, ∂x and ∂w each equal the plain-loop definitions
    (ops/reference.py) and torch, and every correlation of each call named in ``runs_in`` ran
    by ``name`` (``engine.plan.trace()``); those of the other calls by ``name`` or im2col."""
    x, w, b = case.arrays()
    y_t, dy, dx_t, dw_t = torch_conv_and_grads(case, x, w, b)
    calls = {
        "forward": (lambda: ops.conv(x, w, b, **case.opts),
                    ref.conv_reference(x, w, b, **case.opts), y_t),
        "dx": (lambda: ops.conv_grad_input(dy, w, x.shape, **case.opts),
               ref.conv_grad_input_reference(dy, w, x.shape, **case.opts), dx_t),
        "dw": (lambda: ops.conv_grad_weight(x, dy, w.shape, **case.opts),
               ref.conv_grad_weight_reference(x, dy, w.shape, **case.opts), dw_t),
    }
    assert set(runs_in.split()) <= set(CALLS), runs_in
    for what, (call, direct, torch) in calls.items():
        # (jit_elements=0: the compiled kernels for small problems too)
        with tuned(jit_elements=0), ops.settings(method=name, jit=jit), plans.trace() as ran:
            got = call()
        assert_close(got, direct, case.dtype, f"{name} {what} vs direct, {case}")
        assert_close(got, torch, case.dtype, f"{name} {what} vs torch, {case}")
        ran = [plan.name for plan in ran]
        if what in runs_in.split():
            assert ran and set(ran) == {name}, f"{what} ran {ran}, not {name}: {case}"
        else:
            assert set(ran) <= {name, "im2col"}, f"{what} ran {ran}: {case}"


@pytest.mark.parametrize("case", EDGE_CASES, ids=str)
@pytest.mark.parametrize("method", METHODS)
def test_every_method_matches_torch(method, case):
    """Each contraction strategy, forced for forward and both gradients (shift and stacked
    fall back to im2col where a call has stride > 1)."""
    with ops.forced_method(method):
        check_against_torch(replace(case, dtype="float32"))
        check_against_torch(case)


@pytest.mark.parametrize("method", METHODS)
@given(case=conv_cases(max_size=6))
@settings(max_examples=30)
def test_every_method_matches_reference(method, case):
    with ops.forced_method(method):
        check_against_reference(case)


@pytest.mark.parametrize("x_shape, w_shape, want", METHOD_BOUNDARIES)
def test_method_choice_boundaries(x_shape, w_shape, want):
    """The rule of the NumPy-only install (the compiled one: test_stacked.py)."""
    from convgrad.ops import jit

    ones = (1,) * (len(x_shape) - 3)
    with jit.jit_enabled(False):
        assert choose_method(x_shape, w_shape, ones, ones) == want
        if want != "window":
            assert choose_method(x_shape, w_shape, (2,) + ones[1:], ones) == "im2col"


def test_method_choice_counts_dilation():
    """A weight gradient: dy (14×14) is the kernel, dilated by the forward stride 2 → 3×3 out."""
    assert choose_method((128, 1, 8, 29, 29), (1, 256, 8, 14, 14), (1, 1), (2, 2)) == "im2col"


@pytest.mark.parametrize("x_shape, w_shape", [
    ((2, 1, 32, 12, 12), (1, 1, 32, 3, 3)), ((2, 1, 32, 12, 12), (1, 4, 32, 3, 3)),
    ((2, 1, 16, 14, 14), (1, 4, 16, 5, 5)), ((2, 1, 16, 14, 14), (1, 4, 16, 4, 6)),
    ((1, 6, 3, 24, 24), (6, 1, 3, 10, 10)), ((2, 1, 3, 20, 30), (1, 2, 3, 11, 11)),
])
def test_all_methods_agree_across_each_boundary(x_shape, w_shape):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    results = []
    for method in METHODS:
        with ops.forced_method(method):
            results.append(correlate(x, w, (1, 1), (1, 2)))
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_non_contiguous_inputs(method):
    """Transposed / strided views in, the same numbers out, on every path."""
    case = Case(size=(8, 7), kernel=(3, 2), cin=4, cout=4, batch=2, padding=1, groups=2)
    x, w, b = case.arrays()
    xv, wv = np.asfortranarray(x), w.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)
    y = ref.conv_reference(x, w, b, **case.opts)
    dyv = np.random.default_rng(1).standard_normal((*y.shape[:2], y.shape[3], y.shape[2]))
    dyv = dyv.transpose(0, 1, 3, 2)
    with ops.forced_method(method):
        assert_close(ops.conv(xv, wv, b, **case.opts), y, "float64", "conv")
        assert_close(ops.conv_grad_input(dyv, wv, x.shape, **case.opts),
                     ref.conv_grad_input_reference(dyv, w, x.shape, **case.opts), "float64", "dx")
        assert_close(ops.conv_grad_weight(xv, dyv, w.shape, **case.opts),
                     ref.conv_grad_weight_reference(x, dyv, w.shape, **case.opts), "float64",
                     "dw")
