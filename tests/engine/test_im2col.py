"""``im2col`` (engine/algorithms/im2col.py): every window copied into columns, one matmul per
group —

    cols[(c, j), (b, p)] = x_pad[b, g, c, p·s + j·d]      y[b, g] = w[g] (Co × Ci·ΠK) @ cols

Tested: forced on small problems (stride 2 and groups too: it applies to every problem),
forward, ∂x and ∂w vs torch and the plain-loop definitions in float32 and float64; the bias
inside the matmul in each column layout (and rows's bias as its col2im start value); the
batched-over-channels weight gradient of few channels per group."""

from dataclasses import replace

import pytest
from helpers import Case
from test_algorithms import check_forced
from test_ops_conv import check_against_torch

from convgrad import ops


@pytest.mark.parametrize("case", [
    Case(size=(6, 6), kernel=(3, 3), cin=8, cout=5, batch=3, padding=1),     # folded, Ci·ΠK = 72
    Case(size=(6, 6), kernel=(3, 3), cin=7, cout=5, batch=3, padding=1),     # not folded: 63
    Case(size=(6, 5), kernel=(5, 4), cin=2, cout=3, batch=2),                # taps innermost
    Case(size=(9, 7), kernel=(3, 3), cin=3, cout=4, batch=2, stride=2, groups=1),
    Case(size=(6, 6), kernel=(3, 3), cin=8, cout=6, batch=3, padding=1, groups=2,
         dtype="float32"),
], ids=str)
@pytest.mark.parametrize("method", ["im2col", "rows"])
def test_bias_in_every_column_layout(case, method):
    """im2col adds the bias inside the matmul (a row of ones in the columns), rows as the start
    value of its col2im: each column layout — batch folded or not, taps or positions
    innermost — with a bias, vs torch."""
    with ops.forced_method(method):
        check_against_torch(case)


@pytest.mark.parametrize("case", [
    Case(size=(9, 8), kernel=(3, 3), cin=1, cout=6, batch=4, padding=1),
    Case(size=(10,), kernel=(3,), cin=2, cout=12, batch=3, stride=2, groups=2),
    Case(size=(7, 6), kernel=(2, 3), cin=3, cout=18, batch=2, padding=(1, 0), groups=3,
         dtype="float32"),
    # few channels per group: a first layer (RGB), 4×4 stride 2 (DCGAN), 4 channels, groups
    Case(size=(12, 11), kernel=(3, 3), cin=3, cout=8, batch=5, padding=1),
    Case(size=(16, 16), kernel=(4, 4), cin=3, cout=6, batch=3, stride=2, padding=1,
         dtype="float32"),
    Case(size=(9, 10), kernel=(3, 2), cin=4, cout=5, batch=4, dilation=(2, 1)),
    Case(size=(8, 9), kernel=(3, 3), cin=6, cout=4, batch=3, padding=1, groups=2),
], ids=str)
def test_few_channels_per_group_weight_gradient_path(case, monkeypatch):
    """The batched-over-channels weight gradient (∂L/∂y read in place, the images' windows
    side by side) is taken for up to ``tuning.channel_batched_images`` input channels per
    group and agrees with torch."""
    from convgrad.engine.algorithms import im2col

    used = []
    original = im2col.batched_channels
    monkeypatch.setattr(im2col, "batched_channels", lambda *a: used.append(1) or original(*a))
    check_against_torch(case)
    assert used


# One line per case: im2col forced on small problems it applies to; "runs_in" names the calls
# (forward, ∂x, ∂w) whose every correlation it computes (the others fall back to im2col).
IM2COL_FORCED = [
    (Case(size=(8, 7), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1), "forward dx dw"),
    (Case(size=(9, 9), kernel=(3, 3), cin=3, cout=4, stride=2, padding=1), "forward dx dw"),
    (Case(size=(10,), kernel=(4,), cin=2, cout=6, batch=3, stride=3, dilation=2, groups=2),
     "forward dx dw"),                                                      # 1-d, groups
    (Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=2, cout=2, padding=1), "forward dx dw"),  # 3-d
    (Case(size=(6, 7), kernel=(3, 2), padding=((2, 0), (0, 3))), "forward dx dw"),  # per side
]


@pytest.mark.parametrize("case, runs_in", IM2COL_FORCED, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_im2col_forced_matches_torch_and_reference(case, runs_in, dtype):
    """Forward, ∂x and ∂w by im2col (any stride: ∂x's phases too), vs torch and the plain loops."""
    check_forced("im2col", replace(case, dtype=dtype), runs_in)
