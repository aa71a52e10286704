"""``outrows`` (engine/algorithms/outrows.py): the transpose of ``rows``, per output row one
matmul with a contiguous slice of the row windows —

    y[…, p₀, p'] = Σ_c cols[c, …, p₀·s₀·ΠK' : (p₀·s₀ + k₀)·ΠK'] @ w[c, …]

Tested: forced on small 1-d to 3-d problems, forward, ∂x and ∂w vs torch and the plain-loop
definitions in float32 and float64; the rule's outrows boundaries (weight gradients, table in
boundaries.py) and the 1-d float32 weight gradient that goes to im2col instead."""

from dataclasses import replace

import pytest
from boundaries import OUTROWS_BOUNDARIES
from helpers import Case
from test_algorithms import check_forced

from convgrad.ops.correlate import choose_method


@pytest.mark.parametrize("x_shape, w_shape, stride, dilation, want", OUTROWS_BOUNDARIES)
def test_outrows_choice_boundaries(x_shape, w_shape, stride, dilation, want):
    assert choose_method(x_shape, w_shape, stride, dilation) == want
    assert choose_method(x_shape, w_shape, stride, dilation, "float64") == want


def test_one_dimensional_float32_weight_gradient_takes_im2col():
    """A 1-d 3-tap layer's ∂w: outrows in float64, im2col's one matmul in float32 (measured
    faster; a 5-tap layer's goes to Winograd: test_winograd.py)."""
    x_shape, w_shape = (64, 1, 16, 1026), (1, 64, 16, 1024)
    assert choose_method(x_shape, w_shape, (1,), (1,), "float64") == "outrows"
    assert choose_method(x_shape, w_shape, (1,), (1,), "float32") == "im2col"


# One line per case: outrows forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
OUTROWS_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(12,), kernel=(5,), cin=2, cout=3, batch=2, padding=2), "forward dx dw"),  # 1-d
    (Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, padding=1), "forward dx dw"),  # 3-d
    (Case(size=(9, 8), kernel=(3, 2), cin=4, cout=6, batch=2, groups=2, dilation=(1, 2)),
     "forward dx dw"),                                                      # groups, dilation
    (Case(size=(9, 9), kernel=(3, 3), cin=3, cout=4, stride=2, padding=1), "forward dx"),
]


@pytest.mark.parametrize("case, runs_in", OUTROWS_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_outrows_forced_matches_torch_and_reference(case, runs_in, dtype):
    """Forward, ∂x and ∂w by outrows (at stride 2 ∂w: im2col), vs torch and the plain loops."""
    check_forced("outrows", replace(case, dtype=dtype), runs_in)
