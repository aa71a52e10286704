"""Every registered algorithm, forced, on hypothesis-drawn problems: wherever its applies()
is None it is what runs, and its forward, ∂x and ∂w equal the plain-loop definitions
(ops/reference.py) and torch; where it does not apply the plan runs im2col."""

from dataclasses import replace

import pytest
from helpers import Case, assert_close, conv_cases, import_optional, torch_conv_and_grads
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad import ops
from convgrad.engine import plan as plans
from convgrad.engine.algorithms import REGISTRY, names
from convgrad.engine.tuning import tuned
from convgrad.ops import reference as ref


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
