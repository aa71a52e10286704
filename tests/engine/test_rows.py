"""``rows`` (engine/algorithms/rows.py): im2col over the trailing axes, the leading kernel
axis's taps stacked into the matmul rows —

    y[…, p₀, p'] = Σ_{j₀} P[…, (j₀, o), p₀ + j₀·d₀ − lo₀, p']

Tested: forced on small 2-d and 3-d problems (compiled and NumPy col2im), forward, ∂x and ∂w
vs torch and the plain-loop definitions in float32 and float64; how many leading kernel axes
it stacks (``_row_split``). Its compiled adds and its bias: test_stacked.py, test_im2col.py."""

from dataclasses import replace

import pytest
from helpers import Case
from test_algorithms import check_forced


@pytest.mark.parametrize("co, kernel, stride, want", [
    (32, (3, 3, 3), (1, 1, 1), 1),      # 3·32 = 96 matmul rows: one axis stacked
    (16, (3, 3, 3), (1, 1, 1), 2),      # 3·16 = 48 < 96: two (9·16 = 144 rows)
    (16, (3, 3, 3), (1, 2, 1), 1),      # the second axis has stride 2: columns only
    (4, (3, 3, 3), (1, 1, 1), 2),       # never all three: that is "stacked"
    (8, (3, 3), (1, 1), 1),             # 2-d: always one
])
def test_rows_stacks_kernel_axes_until_the_matmul_is_tall(co, kernel, stride, want):
    from convgrad.ops.correlate import _row_split

    assert _row_split(co, kernel, stride) == want


# One line per case: rows forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
ROWS_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(9, 8), kernel=(3, 2), cin=4, cout=6, batch=2, groups=2, dilation=(1, 2)),
     "forward dx dw"),                                                      # groups, dilation
    (Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, padding=1), "forward dx dw"),  # 3-d
    (Case(size=(9, 9), kernel=(3, 3), cin=3, cout=4, stride=2, padding=1), "dx dw"),  # s = 2
]


@pytest.mark.parametrize("case, runs_in", ROWS_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("jit", [True, False], ids=["compiled", "numpy"])
def test_rows_forced_matches_torch_and_reference(case, runs_in, dtype, jit):
    """Forward, ∂x and ∂w by rows (stride 2: its ∂x phases and ∂w), vs torch and the plain loops."""
    check_forced("rows", replace(case, dtype=dtype), runs_in, jit=jit)
