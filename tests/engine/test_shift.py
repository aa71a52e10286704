"""``shift`` (engine/algorithms/shift.py): per tap one matmul straight from x, summed —

    y_flat[b, g, :, q] = Σ_j w[g, :, :, j] @ x_flat[b, g, :, q + Σ_i j_i·d_i·row_i]

Tested: forced on small 1-d to 3-d problems (stride 1: at stride 2 only ∂x's phases and ∂w
are stride-1 correlations), forward, ∂x and ∂w vs torch and the plain-loop definitions in
float32 and float64. Its depthwise specialisation: test_depthwise.py; the rule's shift
boundaries: test_algorithms.py."""

from dataclasses import replace

import pytest
from helpers import Case
from test_algorithms import check_forced

# One line per case: shift forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
SHIFT_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(23,), kernel=(3,), cin=3, cout=4, batch=2, padding=2), "forward dx dw"),  # 1-d
    (Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, padding=1), "forward dx dw"),  # 3-d
    (Case(size=(9, 8), kernel=(3, 2), cin=4, cout=6, batch=2, groups=2, dilation=(1, 2)),
     "forward dx"),                                          # ∂w: the dilation is its stride
    (Case(size=(9, 9), kernel=(3, 3), cin=3, cout=4, stride=2, padding=1), "dx dw"),  # s = 2
    (Case(size=(7, 12), kernel=(1, 3), cin=2, cout=3, padding=(0, 3)), "forward dx dw"),
]


@pytest.mark.parametrize("case, runs_in", SHIFT_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_shift_forced_matches_torch_and_reference(case, runs_in, dtype):
    """Forward, ∂x and ∂w by shift, vs torch and the plain loops."""
    check_forced("shift", replace(case, dtype=dtype), runs_in)
