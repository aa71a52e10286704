"""``window`` (engine/algorithms/window.py): one einsum per output position over channels and
taps, no copy —

    y[b, g, o, p] = Σ_{c, j} x[b, g, c, p·s + j·d] · w[g, o, c, j]    (per p: np.einsum)

Tested: forced on small 1-d to 3-d problems (any stride), forward, ∂x and ∂w vs torch and the
plain-loop definitions in float32 and float64; the single-window weight gradient (a pointwise
layer's ∂w: matmuls summed) chosen and equal to torch. Its depthwise specialisation:
test_depthwise.py."""

from dataclasses import replace

import pytest
from helpers import Case
from test_algorithms import check_forced
from test_ops_conv import check_against_torch


@pytest.mark.parametrize("case", [
    Case(size=(6, 6), kernel=(1, 1), cin=8, cout=6, batch=3),
    Case(size=(5, 7), kernel=(1, 1), cin=6, cout=4, batch=2, groups=2, dtype="float32"),
    Case(size=(9,), kernel=(1,), cin=5, cout=7, batch=4, stride=2),
    Case(size=(4, 4, 3), kernel=(4, 4, 3), cin=3, cout=5, batch=2),      # kernel = the input
], ids=str)
def test_single_window_weight_gradient_sums_matmuls(case):
    """The weight gradient of a layer whose kernel covers its input (pointwise ∂w) is one
    window: a sum over images of matmuls read in place — chosen, and equal to torch."""
    from convgrad.engine import plan

    with plan.trace() as ran:
        check_against_torch(case)
    assert "window" in [p.chosen for p in ran]


# One line per case: window forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
WINDOW_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(12,), kernel=(5,), cin=2, cout=3, batch=2, padding=2), "forward dx dw"),  # 1-d
    (Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, padding=1), "forward dx dw"),  # 3-d
    (Case(size=(9, 9), kernel=(3, 3), cin=3, cout=4, stride=2, padding=1), "forward dx dw"),
    (Case(size=(9, 8), kernel=(3, 2), cin=4, cout=6, batch=2, groups=2, dilation=(1, 2)),
     "forward dx dw"),                                                      # groups, dilation
    (Case(size=(6, 6), kernel=(1, 1), cin=8, cout=6, batch=3), "forward dx dw"),  # pointwise
]


@pytest.mark.parametrize("case, runs_in", WINDOW_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_window_forced_matches_torch_and_reference(case, runs_in, dtype):
    """Forward, ∂x and ∂w by window, vs torch and the plain loops."""
    check_forced("window", replace(case, dtype=dtype), runs_in)
