"""``depthwise`` (engine/algorithms/depthwise.py): the compiled (numba) kernels of depthwise
convolutions, the specialisation of ``shift`` (taps) and ``window`` (dots) —

    y[b, g, p] = Σ_j x_pad[b, g, p·s + j·d] · w[g, j]            (one channel per group)

Tested: forced (the compiled kernels for small inputs too) on small 1-d to 3-d depthwise
problems, forward, ∂x and ∂w vs torch and the plain-loop definitions in float32 and float64;
the numba kernels and the NumPy paths agree with torch."""

from dataclasses import replace

import numpy as np
import pytest
from helpers import Case, import_optional
from test_algorithms import check_forced
from test_ops_conv import check_against_torch

from convgrad.engine.tuning import tuned


@pytest.mark.parametrize("case", [
    Case(size=(9, 8), kernel=(3, 3), cin=4, cout=4, batch=2, padding=1, groups=4),
    Case(size=(12,), kernel=(5,), cin=3, cout=3, batch=2, padding=2, dilation=2, groups=3),
    Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, padding=1, groups=2),
    Case(size=(9, 9), kernel=(3, 3), cin=3, cout=3, stride=2, padding=1, groups=3),
    Case(size=(21, 20), kernel=(3, 2), cin=2, cout=2, batch=2, stride=(2, 3), padding=1,
         groups=2),
    Case(size=(20, 19), kernel=(3, 3), cin=2, cout=2, batch=2, dilation=(2, 3), groups=2),
    Case(size=(9, 8), kernel=(3, 3), cin=4, cout=4, batch=2, padding=1, groups=4,
         dtype="float32"),
    Case(size=(20,), kernel=(9,), cin=2, cout=2, padding=((3, 5),), groups=2),  # 9 taps, 1-d
    Case(size=(7, 8), kernel=(2, 4), cin=2, cout=2, padding=1, groups=2),     # eight taps
    # strided: the forward's taps step, ∂x by the compiled scatter
    Case(size=(17,), kernel=(4,), cin=3, cout=3, batch=2, stride=3, padding=2, groups=3),
    Case(size=(9, 8, 7), kernel=(3, 2, 3), cin=2, cout=2, stride=(2, 1, 3), padding=1,
         groups=2),
    Case(size=(16, 15), kernel=(3, 3), cin=4, cout=4, batch=2, stride=2, dilation=2,
         padding=((2, 0), (1, 3)), groups=4, dtype="float32"),
    Case(size=(8, 8), kernel=(4, 4), cin=2, cout=2, stride=4, groups=2),    # s = k: no overlap
    Case(size=(6, 7), kernel=(2, 2), cin=2, cout=2, stride=5, padding=1, groups=2),  # s > k
], ids=str)
def test_compiled_depthwise_matches_numpy_and_torch(case):
    """The numba kernels (the `fast` extra: depthwise taps, depthwise ∂w dot products) and the
    NumPy paths agree with torch; the larger cases send ∂w through the window method."""
    from convgrad.ops import jit

    import_optional("numba")
    assert jit.available()
    with tuned(jit_elements=0):                              # small cases too
        for on in (True, False):
            with jit.jit_enabled(on):
                check_against_torch(case)


def test_strided_depthwise_plan_and_nan_tap_match_torch():
    """Unforced, a strided depthwise layer's forward runs the compiled taps and its ∂x the
    compiled scatter (``ops.plan`` says so); a NaN tap stays where torch puts it."""
    import torch

    import_optional("numba")
    from convgrad import ops
    from convgrad.engine import plan as plans

    plan = ops.plan((128, 64, 32, 32), (64, 1, 3, 3), stride=2, padding=1, groups=64)
    assert plan.forward.algorithm == "depthwise" and plan.input_grad.algorithm == "depthwise"
    assert "scatter" not in str(plan.forward) and "where they land" in str(plan.input_grad)
    case = Case(size=(12, 11), kernel=(3, 3), cin=3, cout=3, batch=2, stride=2, padding=1,
                groups=3)
    x, w, _ = case.arrays()
    w[1, 0, 2, 0] = np.nan
    dy = np.random.default_rng(3).standard_normal(ops.conv(x, w, **case.opts).shape)
    with tuned(jit_elements=0), plans.trace() as ran:
        dx = ops.conv_grad_input(dy, w, x.shape, **case.opts)
    assert ran == []                                  # no correlation: the compiled scatter
    expected = torch.ops.aten.convolution_backward(
        torch.from_numpy(dy), torch.from_numpy(x), torch.from_numpy(w), None, [2, 2], [1, 1],
        [1, 1], False, [0, 0], 3, [True, False, False])[0].numpy()
    assert np.isnan(dx[:, 1]).any() and not np.isnan(dx[:, [0, 2]]).any()
    np.testing.assert_allclose(dx, expected, rtol=1e-12, atol=1e-12)


# One line per case: depthwise forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
DEPTHWISE_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=4, cout=4, batch=2, groups=4, padding=1),
     "forward dx dw"),
    (Case(size=(12,), kernel=(3,), cin=3, cout=3, batch=2, groups=3, padding=1),
     "forward dx"),                                          # 1-d ∂w: no dots kernel
    (Case(size=(8, 7, 6), kernel=(3, 3, 3), cin=2, cout=2, groups=2, padding=1),
     "forward dx dw"),                                                      # 3-d
    (Case(size=(11, 10), kernel=(3, 2), cin=2, cout=2, groups=2, dilation=(2, 1), padding=2),
     "forward dx dw"),                                                      # dilation
    (Case(size=(9, 9), kernel=(3, 3), cin=3, cout=3, groups=3, stride=2, padding=1),
     "forward dx dw"),                                                      # s = 2
]


@pytest.mark.parametrize("case, runs_in", DEPTHWISE_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_depthwise_forced_matches_torch_and_reference(case, runs_in, dtype):
    """Forward, ∂x and ∂w by the compiled depthwise kernels, vs torch and the plain loops."""
    import_optional("numba")
    check_forced("depthwise", replace(case, dtype=dtype), runs_in)
