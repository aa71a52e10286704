"""convgrad.ops against PyTorch (semantics), the plain-loop definitions and finite differences."""

import importlib
import os
from dataclasses import replace

import numpy as np
import pytest
from helpers import (
    Case,
    assert_close,
    conv_cases,
    import_optional,
    import_torch,
    rel_err,
    torch_conv_and_grads,
    torch_conv_transpose,
)
from hypothesis import given, settings

from convgrad import ops
from convgrad.engine.tuning import tuned
from convgrad.ops import reference as ref
from convgrad.ops.correlate import METHODS, choose_method, correlate


def check_against_torch(case: Case) -> None:
    """Forward, ∂x and ∂w of convgrad.ops equal torch's (forward + autograd) for one case."""
    x, w, b = case.arrays()
    y_t, dy, dx_t, dw_t = torch_conv_and_grads(case, x, w, b)
    assert_close(ops.conv(x, w, b, **case.opts), y_t, case.dtype, f"conv {case}")
    assert_close(ops.conv_grad_input(dy, w, x.shape, **case.opts), dx_t, case.dtype,
                 f"conv_grad_input {case}")
    assert_close(ops.conv_grad_weight(x, dy, w.shape, **case.opts), dw_t, case.dtype,
                 f"conv_grad_weight {case}")


def check_against_reference(case: Case) -> None:
    """The same three results equal the plain-loop definitions (no torch involved)."""
    x, w, b = case.arrays()
    y = ref.conv_reference(x, w, b, **case.opts)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(case.dtype)
    assert_close(ops.conv(x, w, b, **case.opts), y, case.dtype, f"conv {case}")
    assert_close(ops.conv_grad_input(dy, w, x.shape, **case.opts),
                 ref.conv_grad_input_reference(dy, w, x.shape, **case.opts), case.dtype,
                 f"conv_grad_input {case}")
    assert_close(ops.conv_grad_weight(x, dy, w.shape, **case.opts),
                 ref.conv_grad_weight_reference(x, dy, w.shape, **case.opts), case.dtype,
                 f"conv_grad_weight {case}")


def check_transpose_against_torch(case: Case) -> None:
    x, w, b = case.arrays(transposed=True)
    opts = dict(case.opts, output_padding=case.output_padding)
    assert_close(ops.conv_transpose(x, w, b, **opts), torch_conv_transpose(case, x, w, b),
                 case.dtype, f"conv_transpose {case}")


# One line per case: the corners the issue names, each by itself.
EDGE_CASES = [
    Case(size=(3, 3), kernel=(2, 2)),                                        # textbook
    Case(size=(7, 6), kernel=(3, 3), stride=2, padding=1),                   # (n+2p−k) mod s ≠ 0
    Case(size=(8, 8), kernel=(3, 3), stride=3, padding=(1, 0)),              # remainder 2 and 1
    Case(size=(9,), kernel=(2,), stride=5),                                  # stride > kernel
    Case(size=(7, 5), kernel=(2, 1), stride=(4, 3), dilation=(2, 1)),        # stride > ke too
    Case(size=(4, 5), kernel=(4, 5)),                                        # kernel = input
    Case(size=(3, 4), kernel=(5, 4), padding=((1, 1), (0, 0))),              # kernel = padded
    Case(size=(6, 9), kernel=(2, 5), cin=2, cout=3),                         # non-square kernel
    Case(size=(6, 7), kernel=(3, 2), padding=((2, 0), (0, 3))),              # asymmetric padding
    Case(size=(6, 7), kernel=(3, 3), padding=((0, 2), (1, 0)), stride=2),
    Case(size=(5, 5), kernel=(3, 3), cin=4, cout=4, groups=4, batch=2),      # depthwise
    Case(size=(5, 6), kernel=(3, 2), cin=3, cout=6, groups=3),               # channel multiplier
    Case(size=(6, 6), kernel=(3, 3), cin=4, cout=6, groups=2, stride=2, dilation=2, padding=2),
    Case(size=(10,), kernel=(3,), dilation=4, stride=3, padding="same"),     # 'same', stride 3
    Case(size=(7, 8), kernel=(4, 2), stride=(2, 3), padding="same"),         # even kernel 'same'
    Case(size=(5,), kernel=(4,), padding="same"),                            # extra pixel high
    Case(size=(5, 4), kernel=(3, 2), stride=2, padding="full"),
    Case(size=(6, 5), kernel=(2, 3), padding="valid", stride=(1, 2)),
    Case(size=(9, 10), kernel=(3, 3), stride=4, dilation=2),                 # gcd(d, s) = 2
    Case(size=(12,), kernel=(4,), stride=6, dilation=4, padding=(3,)),       # phases with no taps
    Case(size=(4, 5, 6), kernel=(2, 3, 2), cin=2, cout=2, stride=(1, 2, 3), padding=1),
    Case(size=(5, 5, 5), kernel=(3, 3, 3), cin=2, cout=4, groups=2, dilation=(1, 2, 1)),
    Case(size=(3, 4, 5), kernel=(1, 1, 1), cin=3, cout=2, stride=2),         # pointwise 3-d
    Case(size=(2, 2), kernel=(1, 1), batch=5, cin=3, cout=4),
]


@pytest.mark.parametrize("case", EDGE_CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_edge_cases_match_torch(case, dtype):
    check_against_torch(replace(case, dtype=dtype))


@pytest.mark.parametrize("case", EDGE_CASES, ids=str)
def test_edge_cases_match_reference(case):
    check_against_reference(case)


@given(conv_cases(dims=(1, 2)))
def test_hypothesis_1d_2d_float64_match_torch(case):
    check_against_torch(case)


@given(conv_cases(dims=(3,)))
def test_hypothesis_3d_float64_match_torch(case):
    check_against_torch(case)


@given(conv_cases(dtype="float32"))
def test_hypothesis_float32_match_torch(case):
    check_against_torch(case)


@given(conv_cases(max_size=6))
@settings(max_examples=40)
def test_hypothesis_match_reference(case):
    check_against_reference(case)


@given(conv_cases(transposed=True))
def test_hypothesis_conv_transpose_float64_match_torch(case):
    check_transpose_against_torch(case)


@given(conv_cases(dims=(2,), transposed=True, dtype="float32"))
def test_hypothesis_conv_transpose_float32_match_torch(case):
    check_transpose_against_torch(case)


@given(conv_cases(transposed=True, max_size=5))
@settings(max_examples=30)
def test_hypothesis_conv_transpose_match_reference(case):
    x, w, b = case.arrays(transposed=True)
    opts = dict(case.opts, output_padding=case.output_padding)
    assert_close(ops.conv_transpose(x, w, b, **opts),
                 ref.conv_transpose_reference(x, w, b, **opts), case.dtype, str(case))


def test_conv_transpose_torch_padding_spelling():
    """Symmetric padding passed to torch as padding= (not by cropping), dilation > stride."""
    torch = import_torch()
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 3))
    w = np.random.default_rng(1).standard_normal((4, 3, 3, 2))
    for opts in [dict(stride=2, padding=1, output_padding=1),
                 dict(stride=1, padding=(2, 1), dilation=3, output_padding=(2, 1)),
                 dict(stride=(3, 2), padding=(1, 0), dilation=(1, 2), output_padding=(2, 1),
                      groups=2)]:
        want = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), **opts)
        assert_close(ops.conv_transpose(x, w, **opts), want.numpy(), "float64", str(opts))


@given(conv_cases(max_size=6))
@settings(max_examples=25)
def test_gradients_match_finite_differences(case):
    """⟨∂L/∂x, v⟩ and ⟨∂L/∂w, v⟩ against central differences of L = Σ y·g, float64."""
    x, w, b = case.arrays()
    g = np.random.default_rng(2).standard_normal(ops.conv(x, w, **case.opts).shape)
    loss = lambda x_, w_: float(np.sum(ops.conv(x_, w_, b, **case.opts) * g))  # noqa: E731
    dx = ops.conv_grad_input(g, w, x.shape, **case.opts)
    dw = ops.conv_grad_weight(x, g, w.shape, **case.opts)
    rng, eps = np.random.default_rng(3), 1e-6
    for _ in range(3):
        vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
        num_x = (loss(x + eps * vx, w) - loss(x - eps * vx, w)) / (2 * eps)
        num_w = (loss(x, w + eps * vw) - loss(x, w - eps * vw)) / (2 * eps)
        assert np.isclose(np.sum(dx * vx), num_x, rtol=1e-6, atol=1e-7), (case, "dx")
        assert np.isclose(np.sum(dw * vw), num_w, rtol=1e-6, atol=1e-7), (case, "dw")


@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 3, 7), (2, 2, 3, 4, 5), (1, 5), (0, 3, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bias_gradient_is_the_sum_over_batch_and_positions(shape, dtype):
    dy = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    want = np.array([dy[:, o].astype(np.float64).sum() for o in range(shape[1])])
    for arg in (dy, np.asfortranarray(dy)):                # BLAS path and the fallback
        db = ops.conv_grad_bias(arg)
        assert db.dtype == dtype and db.shape == (shape[1],)
        assert_close(db, want, dtype, f"conv_grad_bias {shape}")


def test_bias_gradient_refuses_bad_input():
    with pytest.raises(ValueError, match=r"conv_grad_bias: dy must be \(N, C_out, \*M\)"):
        ops.conv_grad_bias(np.ones(3))
    with pytest.raises(TypeError, match="conv_grad_bias: dy has dtype int64"):
        ops.conv_grad_bias(np.ones((2, 3), dtype=np.int64))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_preserved_by_every_op(dtype):
    x, w, b = Case(size=(6, 5), kernel=(3, 2), cin=2, cout=4, dtype=dtype).arrays()
    y = ops.conv(x, w, b, stride=2, padding=1)
    assert y.dtype == dtype
    assert ops.conv_grad_input(y, w, x.shape, stride=2, padding=1).dtype == dtype
    assert ops.conv_grad_weight(x, y, w.shape, stride=2, padding=1).dtype == dtype
    assert ops.conv_transpose(y, w, stride=2, padding=1).dtype == dtype


def test_workspace_tiling_gives_the_same_numbers():
    """A tiny workspace cap forces one image per tile in every call; results do not change."""
    case = Case(size=(9, 8), kernel=(3, 3), cin=3, cout=4, batch=5, stride=2, padding=1)
    x, w, b = case.arrays()
    y = ops.conv(x, w, b, **case.opts)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    full = (y, ops.conv_grad_input(dy, w, x.shape, **case.opts),
            ops.conv_grad_weight(x, dy, w.shape, **case.opts))
    old = ops.set_workspace_limit(1)
    try:
        tiled = (ops.conv(x, w, b, **case.opts), ops.conv_grad_input(dy, w, x.shape, **case.opts),
                 ops.conv_grad_weight(x, dy, w.shape, **case.opts))
    finally:
        ops.set_workspace_limit(old)
    for a, t in zip(full, tiled):
        np.testing.assert_allclose(t, a, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- every fast path

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


# The method rule's boundaries (x_shape, w_shape, want),
# also asserted of the plans (tests/engine/test_plan.py).
METHOD_BOUNDARIES = [
    ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), "rows"),        # large images, C_in ≥ 16
    ((8, 1, 16, 42, 42), (1, 64, 16, 3, 3), "rows"),        # 40² = 1600 outputs
    ((8, 1, 16, 41, 42), (1, 64, 16, 3, 3), "im2col"),      # 39·40 < 1600 outputs
    ((8, 1, 15, 58, 58), (1, 64, 15, 3, 3), "im2col"),      # C_in = 15 < 16
    ((8, 1, 64, 58, 58), (1, 64, 64, 1, 3), "im2col"),      # one kernel row: nothing to shift
    ((2, 1, 32, 18, 34, 34), (1, 16, 32, 3, 3, 3), "rows"),   # 3-d, large
    ((2, 1, 32, 8, 8, 8), (1, 16, 32, 3, 3, 3), "shift"),     # 3-d, 216 outputs, ΠK = 27
    ((2, 1, 31, 8, 8, 8), (1, 16, 31, 3, 3, 3), "im2col"),    # C_in = 31 < 32
    ((2, 1, 32, 8, 8, 8), (1, 16, 32, 2, 3, 4), "im2col"),    # ΠK = 24 < 25
    ((64, 1, 32, 30, 30), (1, 1, 32, 3, 3), "stacked"),     # C_out·ΠK = 9 ≤ C_in = 32
    ((64, 1, 32, 30, 30), (1, 4, 32, 3, 3), "im2col"),      # C_out·ΠK = 36 > 32
    ((8, 128, 1, 58, 58), (128, 1, 1, 3, 3), "shift"),      # depthwise
    ((8, 1, 64, 14, 14), (1, 64, 64, 1, 1), "shift"),       # pointwise: one plain matmul
    ((64, 1, 8, 3, 3), (1, 16, 8, 5, 5), "im2col"),         # kernel larger than the output
    ((1, 128, 8, 58, 58), (128, 1, 8, 56, 56), "window"),   # depthwise weight gradient
    ((1, 128, 8, 58, 58), (128, 4, 8, 56, 56), "window"),   # B·C_out = 4
    ((1, 128, 8, 58, 58), (128, 5, 8, 56, 56), "im2col"),   # B·C_out = 5
    ((4, 1, 16, 74, 74), (1, 16, 16, 11, 11), "fft"),       # large kernel
]


@pytest.mark.parametrize("x_shape, w_shape, want", METHOD_BOUNDARIES)
def test_method_choice_boundaries(x_shape, w_shape, want):
    """The rule of the NumPy-only install (the compiled one is tested below)."""
    from convgrad.ops import jit

    ones = (1,) * (len(x_shape) - 3)
    with jit.jit_enabled(False):
        assert choose_method(x_shape, w_shape, ones, ones) == want
        if want != "window":
            assert choose_method(x_shape, w_shape, (2,) + ones[1:], ones) == "im2col"


# The method rule's boundaries (x_shape, w_shape, compiled, numpy_only),
# also asserted of the plans (tests/engine/test_plan.py).
COMPILED_BOUNDARIES = [
    ((64, 1, 32, 30, 30), (1, 32, 32, 3, 3), "rows", "im2col"),       # C_out = C_in
    ((64, 1, 32, 30, 30), (1, 33, 32, 3, 3), "rows", "im2col"),       # C_out > C_in
    ((64, 1, 64, 16, 16), (1, 32, 64, 3, 3), "stacked", "im2col"),    # mnist_2's ∂x: C_out < C_in
    ((64, 1, 32, 16, 16), (1, 64, 32, 3, 3), "rows", "im2col"),       # mnist_2's forward
    ((64, 1, 8, 30, 30), (1, 1, 8, 3, 3), "stacked", "im2col"),       # C_out·ΠK = 9 > 8
    ((64, 1, 8, 30, 30), (1, 8, 8, 3, 3), "stacked", "im2col"),       # C_in = 8 < 16: not rows
    ((64, 1, 64, 12, 12), (1, 64, 64, 3, 3), "rows", "im2col"),       # 10² = 100 outputs
    ((64, 1, 64, 12, 11), (1, 64, 64, 3, 3), "im2col", "im2col"),     # 10·9 < 100: tiny images
    ((64, 1, 64, 12, 11), (1, 32, 64, 3, 3), "im2col", "im2col"),
    ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), "rows", "rows"),          # resnet_3x3
    ((8, 1, 64, 42, 42), (1, 32, 64, 3, 3), "rows", "rows"),          # 40² = 1600: rows, even
    ((8, 1, 64, 41, 42), (1, 32, 64, 3, 3), "stacked", "im2col"),     # for C_out < C_in
    ((2, 1, 32, 18, 34, 34), (1, 16, 32, 3, 3, 3), "rows", "rows"),     # conv3d's ∂x
    ((2, 1, 16, 18, 34, 34), (1, 32, 16, 3, 3, 3), "rows", "rows"),     # conv3d's forward
    ((16, 1, 64, 1028), (1, 64, 64, 5), "stacked", "im2col"),           # conv1d
]


@pytest.mark.parametrize("x_shape, w_shape, compiled, numpy_only", COMPILED_BOUNDARIES)
def test_compiled_stacked_choice_boundaries(x_shape, w_shape, compiled, numpy_only):
    from convgrad.ops import jit

    import_optional("numba")
    ones = (1,) * (len(x_shape) - 3)
    assert choose_method(x_shape, w_shape, ones, ones) == compiled
    with jit.jit_enabled(False):
        assert choose_method(x_shape, w_shape, ones, ones) == numpy_only


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


# The method rule's boundaries (x_shape, w_shape, stride, dilation, want),
# also asserted of the plans (tests/engine/test_plan.py).
OUTROWS_BOUNDARIES = [
    # weight gradients: x (C_in, g, N, *S), ∂L/∂y (g, C_out, N, *M) as the kernel
    ((64, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), (1, 1), "outrows"),   # resnet_3x3's ∂w
    ((22, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), (1, 1), "outrows"),   # 22·3 = 66 rows
    ((21, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), (1, 1), "im2col"),    # 21·3 = 63 < 64
    ((64, 1, 8, 58, 58), (1, 64, 8, 56, 56), (2, 2), (1, 1), "outrows"),   # any window step
    ((64, 1, 8, 59, 59), (1, 64, 8, 28, 28), (1, 1), (2, 2), "im2col"),    # dy dilated (s = 2)
    ((64, 1, 16, 1028), (1, 64, 16, 1024), (1,), (1,), "outrows"),         # conv1d's ∂w, no copy
    ((256, 1, 8, 14, 14), (1, 256, 8, 14, 14), (1, 1), (1, 1), "window"),  # one output: a
    ((256, 1, 64, 14, 14), (1, 256, 64, 14, 14), (1, 1), (1, 1), "window"),  # pointwise ∂w,
    ((256, 1, 65, 14, 14), (1, 256, 65, 14, 14), (1, 1), (1, 1), "im2col"),  # ≤ 64 matmuls
    ((256, 1, 8, 15, 14), (1, 256, 8, 14, 14), (1, 1), (1, 1), "outrows"),   # two outputs
]


@pytest.mark.parametrize("x_shape, w_shape, stride, dilation, want", OUTROWS_BOUNDARIES)
def test_outrows_choice_boundaries(x_shape, w_shape, stride, dilation, want):
    assert choose_method(x_shape, w_shape, stride, dilation) == want
    assert choose_method(x_shape, w_shape, stride, dilation, "float64") == want


def test_one_dimensional_float32_weight_gradient_takes_im2col():
    """A 1-d 3-tap layer's ∂w: outrows in float64, im2col's one matmul in float32 (measured
    faster; a 5-tap layer's goes to Winograd, see below)."""
    x_shape, w_shape = (64, 1, 16, 1026), (1, 64, 16, 1024)
    assert choose_method(x_shape, w_shape, (1,), (1,), "float64") == "outrows"
    assert choose_method(x_shape, w_shape, (1,), (1,), "float32") == "im2col"


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


def fft_boundary(x_shape=(4, 1, 16, 74, 74), channels=16) -> int:
    """The smallest square kernel for which the rule picks FFT on this input."""
    for k in range(3, 30):
        if choose_method(x_shape, (1, channels, x_shape[2], k, k), (1, 1), (1, 1)) == "fft":
            return k
    raise AssertionError("FFT never chosen")


def test_fft_takes_over_at_one_kernel_size_and_stays():
    k = fft_boundary()
    assert 5 < k <= 11          # large_kernel's 11×11 is on the FFT side
    for bigger in range(k, k + 6):
        assert choose_method((4, 1, 16, 74, 74), (1, 16, 16, bigger, bigger), (1, 1),
                             (1, 1)) == "fft"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_sides_of_the_fft_boundary_match_torch(dtype):
    """Forward and both gradients at the last direct kernel size and the first FFT one, with the
    rule choosing (float32 within 1e-4 relative)."""
    k = fft_boundary((2, 1, 4, 40, 40), 4)
    for kernel in (k - 1, k):
        case = Case(size=(40 - kernel + 1 + 2 * (kernel // 2),) * 2, kernel=(kernel, kernel),
                    cin=4, cout=4, batch=2, padding=kernel // 2, dtype=dtype)
        check_against_torch(case)


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


@pytest.mark.parametrize("case", [
    Case(size=(9, 8), kernel=(3, 3), cin=6, cout=4, batch=2, padding=1),
    Case(size=(12,), kernel=(4,), cin=4, cout=6, batch=3, padding=((2, 1),), dilation=2),
    Case(size=(7, 9), kernel=(2, 3), cin=4, cout=4, padding=((1, 0), (2, 2)), groups=2),
    Case(size=(9, 9), kernel=(3, 3), cin=3, cout=5, batch=2, stride=2, padding=1),  # phases
    Case(size=(8, 7), kernel=(3, 3), cin=6, cout=2, padding="full", dtype="float32"),
    Case(size=(5, 6, 4), kernel=(3, 2, 3), cin=4, cout=2, batch=2, padding=1,
         dilation=(1, 2, 1)),
    Case(size=(6, 5, 7), kernel=(2, 3, 3), cin=4, cout=4, stride=(2, 1, 2), padding=1,
         groups=2),
    Case(size=(6, 7, 5), kernel=(3, 3, 2), cin=3, cout=4, batch=2, stride=(1, 2, 1),
         padding=((1, 0), (1, 2), (0, 1)), dilation=(2, 1, 1)),
    Case(size=(7, 6, 6), kernel=(2, 3, 3), cin=4, cout=3, stride=(1, 1, 2), padding=(1, 0, 1),
         dilation=(1, 2, 1), dtype="float32"),
    Case(size=(8, 9), kernel=(1, 2), cin=3, cout=4, batch=2, stride=(2, 3)),   # phases w/o taps
    Case(size=(1,), kernel=(1,), cin=2, cout=3, stride=3, padding=((2, 0),)),  # ∂w crops into
    Case(size=(1, 5), kernel=(1, 2), cin=2, cout=2, stride=(3, 1), padding=((2, 0), (1, 1))),
    Case(size=(11, 10), kernel=(3, 2), cin=2, cout=3, stride=2, dilation=2, padding=2),
], ids=str)
@pytest.mark.parametrize("tile_bytes", [None, 512], ids=["whole", "tap-chunks"])
@pytest.mark.parametrize("method, stack_rows", [("stacked", None), ("rows", 1),
                                                ("rows", 10**6)],
                         ids=["stacked", "rows-split-1", "rows-split-most"])
def test_compiled_stacked_adds_match_numpy_and_torch(case, tile_bytes, method, stack_rows):
    """The numba col2im of the stacked method (1-d to 3-d) and of rows (one or, in 3-d, two
    leading kernel axes stacked, the rest as columns), with bias, groups, dilation, strides on
    the column axes and per-side padding, forced for forward and both gradients, agrees with
    the NumPy adds — also when a tiny cache budget makes it go one image and a few taps at a
    time."""
    from convgrad.ops import jit

    import_optional("numba")
    changes = dict(jit_elements=0)
    if tile_bytes:
        changes["tile_bytes"] = tile_bytes
    if stack_rows:
        changes["stack_rows"] = stack_rows
    with tuned(**changes):
        for on in (True, False):
            with jit.jit_enabled(on), ops.forced_method(method):
                check_against_torch(case)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_strided_input_gradient_phases_share_one_matmul(dtype, monkeypatch):
    """At stride 2 the input gradient's four phases run as one stacked matmul of all nine taps
    (``correlate_phases``), the kernel copied tap-major by the compiled tiled copy; vs torch."""
    from convgrad.ops import correlate as core
    from convgrad.ops import jit

    import_optional("numba")
    used = []
    for name in ("correlate_phases", "_tap_major"):
        original = getattr(core, name)
        monkeypatch.setattr(core, name, lambda *a, _f=original, _n=name: used.append(_n) or _f(*a))
    monkeypatch.setattr(jit, "tap_major", lambda w, _f=jit.tap_major: used.append("jit") or _f(w))
    conv_module = importlib.import_module("convgrad.ops.input_grad")
    monkeypatch.setattr(conv_module, "correlate_phases", core.correlate_phases)
    check_against_torch(Case(size=(24, 24), kernel=(3, 3), cin=32, cout=64, batch=8, stride=2,
                             padding=1, dtype=dtype))
    assert {"correlate_phases", "_tap_major", "jit"} <= set(used)


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


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_tap_major_copy_matches_numpy(dtype):
    from convgrad.ops import jit

    import_optional("numba")
    w = np.random.default_rng(0).standard_normal((2, 40, 24, 3, 2)).astype(dtype)
    for view in (w, w.swapaxes(1, 2)[..., ::-1, ::-1], w[:, ::3]):
        want = np.moveaxis(view.reshape(*view.shape[:3], -1), 3, 1)
        got = jit.tap_major(view)
        assert got.flags.c_contiguous and got.dtype == view.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", [
    Case(size=(9, 8), kernel=(3, 3), cin=1, cout=6, batch=4, padding=1),
    Case(size=(10,), kernel=(3,), cin=2, cout=12, batch=3, stride=2, groups=2),
    Case(size=(7, 6), kernel=(2, 3), cin=3, cout=18, batch=2, padding=(1, 0), groups=3,
         dtype="float32"),
], ids=str)
def test_one_channel_per_group_weight_gradient_path(case, monkeypatch):
    """The batched-over-channels weight gradient (∂L/∂y read in place) is taken and agrees."""
    from convgrad.engine.algorithms import im2col

    used = []
    original = im2col.batched_channels
    monkeypatch.setattr(im2col, "batched_channels", lambda *a: used.append(1) or original(*a))
    check_against_torch(case)
    assert used


@pytest.mark.parametrize("backend", ["scipy", "numpy"])
def test_fft_path_with_either_fft_library(backend, monkeypatch):
    """scipy.fft (the `fast` extra) and numpy.fft (core only) give the same FFT path results."""
    from convgrad.engine.algorithms import fft

    if backend == "scipy":
        import_optional("scipy")
        assert fft.FFT_OPTIONS
    else:
        monkeypatch.setattr(fft, "FFT_OPTIONS", {})
    for case in (Case(size=(12, 11), kernel=(5, 4), cin=2, cout=3, batch=2, padding=2,
                      dilation=(1, 2)),
                 Case(size=(16,), kernel=(7,), cin=4, cout=4, groups=2, padding=3,
                      dtype="float32")):
        with ops.forced_method("fft"):
            check_against_torch(case)


# ----------------------------------------------------------------------------- winograd

@pytest.mark.parametrize("r, alpha, m", [(1, 1, 1), (2, 6, 5), (3, 6, 4), (4, 7, 4),
                                         (5, 8, 4)])
def test_winograd_matrices_are_minimal_filters(r, alpha, m):
    """Aᵀ·[(G·g) ⊙ (Bᵀ·d)] is the m-output correlation of an α-tile d with r taps g, with
    α = m + r − 1 multiplies — F(4, 3) on 0, ±1, ±2, ∞; F(4, 5) adds ±½ — and Aᵀ, Bᵀ in
    binary fractions (exact in floats: the transforms add no round-off of their own)."""
    from convgrad.ops import winograd

    b_t, g, a_t = winograd.matrices(r)
    assert (winograd.alpha(r), b_t.shape, g.shape, a_t.shape) == (
        alpha, (alpha, alpha), (alpha, r), (m, alpha))
    for exact in (a_t, b_t):
        assert np.array_equal(exact * 64, np.round(exact * 64))
    rng = np.random.default_rng(r)
    d, taps = rng.standard_normal(b_t.shape[0]), rng.standard_normal(r)
    np.testing.assert_allclose(a_t @ ((g @ taps) * (b_t @ d)), np.correlate(d, taps, "valid"),
                               rtol=1e-13, atol=1e-13)


WINOGRAD_CASES = [
    Case(size=(9, 11), kernel=(3, 3), cin=3, cout=4, batch=2, padding=1),   # partial tiles
    Case(size=(8, 8), kernel=(3, 3), cin=4, cout=6, batch=3, padding=(2, 0), groups=2),
    Case(size=(13, 10), kernel=(3, 3), cin=2, cout=3, batch=2, padding=2, dilation=2),
    Case(size=(12, 15), kernel=(3, 3), cin=2, cout=2, padding=((0, 3), (2, 1)),
         dilation=(3, 2)),                                                  # 6 phases
    Case(size=(8, 7), kernel=(3, 3), cin=2, cout=3, padding=3),   # ∂x crops (pads −1)
    Case(size=(10, 9), kernel=(3, 3), cin=3, cout=2, batch=2, padding="same"),
    Case(size=(7, 12), kernel=(1, 3), cin=2, cout=3, padding=(0, 3)),       # a row kernel
    Case(size=(23,), kernel=(3,), cin=3, cout=4, batch=2, padding=2),       # 1-d
    Case(size=(17,), kernel=(3,), cin=2, cout=2, padding="full", dilation=2),
    Case(size=(30,), kernel=(5,), cin=3, cout=4, batch=2, padding=2),       # F(4, 5)
    Case(size=(21,), kernel=(5,), cin=2, cout=3, padding=((1, 6),), dilation=3),
    Case(size=(9,), kernel=(5,), cin=2, cout=2, padding="full"),
    Case(size=(26,), kernel=(5,), cin=4, cout=6, batch=2, padding="same", groups=2),
    Case(size=(3, 3), kernel=(3, 3)),                                       # one output
]


def record_winograd_kernels(monkeypatch) -> list[tuple[str, str]]:
    """(name, thread) of each compiled Winograd function called from Python from now on."""
    import threading
    from types import SimpleNamespace

    from convgrad.engine.winograd import codegen

    ran, original = [], codegen._kernels

    def spy(name, f):
        return lambda *args: ran.append((name, threading.current_thread().name)) or f(*args)

    def spying(kernel, dtype):
        compiled = original(kernel, dtype)
        return SimpleNamespace(**{name: spy(name, getattr(compiled, name))
                                  for name in codegen._NAMES})

    monkeypatch.setattr(codegen, "_kernels", spying)
    return ran


# How a Winograd computation runs: the batch in shares, one per core, each share one compiled
# call that calls gemm itself (``threads``); one such call on one thread (``compiled``); or
# each block's steps called from Python, its products by np.matmul (``python``: no gemm).
WINOGRAD_ROUTES = ("threads", "compiled", "python")


@pytest.mark.parametrize("route", WINOGRAD_ROUTES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", WINOGRAD_CASES, ids=str)
def test_winograd_matches_torch(case, dtype, route, monkeypatch):
    """Forward, ∂x and ∂w (the transposed transforms) by Winograd, each route — and they
    really ran that way (one image cannot be shared: it takes the one-thread route)."""
    from convgrad.ops import blas

    import_optional("numba")
    import_optional("threadpoolctl")
    if route != "python":
        assert blas.gemm(dtype) is not None, "no gemm symbol in NumPy's BLAS"
    ran = record_winograd_kernels(monkeypatch)
    with ops.settings(method="winograd", blas_calls=route != "python",
                      threads=2 if route == "threads" else 1), tuned(
            concurrent_macs=0):                            # threads for these small layers
        check_against_torch(replace(case, dtype=dtype))
    names = {name for name, _ in ran}
    if route == "python":
        assert {"transform_output", "transform_gradient"} <= names
        assert not names & {"forward_share", "weight_share"}
    else:
        assert names == {"forward_share", "weight_share"}
        threads = {thread for _, thread in ran}
        assert len(threads) == (2 if route == "threads" and case.batch > 1 else 1)


def test_winograd_blocks_and_workspace_give_the_same_numbers():
    """One tile row per block and a tiny workspace cap: the same float64 numbers, forward
    and weight gradient (to round-off of the output's scale: ∂w adds its blocks)."""
    import_optional("numba")
    case = Case(size=(14, 13), kernel=(3, 3), cin=4, cout=6, batch=3, padding=1, dilation=(1, 2))
    x, w, b = case.arrays()
    dy = np.random.default_rng(1).standard_normal(ops.conv(x, w, b, **case.opts).shape)

    def both():
        return (ops.conv(x, w, b, **case.opts),
                ops.conv_grad_weight(x, dy, w.shape, **case.opts))

    with ops.forced_method("winograd"):
        whole = both()
        old = ops.set_workspace_limit(1)
        try:
            with tuned(tile_bytes=1):
                blocks = both()
        finally:
            ops.set_workspace_limit(old)
    for got, expected in zip(blocks, whole):       # ∂w: sums in another order (round-off)
        np.testing.assert_allclose(got, expected, rtol=1e-13,
                                   atol=1e-13 * np.abs(expected).max())


@pytest.mark.parametrize("size, kernel", [((30, 30), (3, 3)), ((300,), (5,))])
def test_winograd_float32_error_stays_small(size, kernel):
    """F(4×4, 3×3) and F(4, 5) in float32 on a 64-channel layer: within 3e-5 of the output's
    scale (direct sums: ~3e-7), as documented."""
    import_optional("numba")
    case = Case(size=size, kernel=kernel, cin=64, cout=64, batch=2, padding=kernel[0] // 2,
                dtype="float32")
    x, w, b = case.arrays()
    y_t = torch_conv_and_grads(replace(case, dtype="float64"), *(a.astype(np.float64)
                                                                  for a in (x, w, b)))[0]
    with ops.forced_method("winograd"):
        err = rel_err(ops.conv(x, w, b, **case.opts).astype(np.float64), y_t)
    assert 1e-8 < err < 3e-5


# The method rule's boundaries (x_shape, w_shape, dtype, dilation, want),
# also asserted of the plans (tests/engine/test_plan.py).
WINOGRAD_BOUNDARIES = [
    # "direct": any method but Winograd
    ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), "float32", (1, 1), "winograd"),  # resnet_3x3
    ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), "float64", (1, 1), "rows"),      # the reference
    ((8, 1, 8, 58, 58), (1, 8, 8, 3, 3), "float32", (1, 1), "winograd"),     # 8 channels
    ((8, 1, 7, 58, 58), (1, 8, 7, 3, 3), "float32", (1, 1), "direct"),       # C_in < 8
    ((8, 1, 8, 58, 58), (1, 7, 8, 3, 3), "float32", (1, 1), "direct"),       # C_out < 8
    ((64, 1, 32, 16, 16), (1, 64, 32, 3, 3), "float32", (1, 1), "winograd"),  # mnist_2: 14
    ((64, 1, 16, 8, 8), (1, 16, 16, 3, 3), "float32", (1, 1), "winograd"),   # 6 columns
    ((64, 1, 16, 8, 7), (1, 16, 16, 3, 3), "float32", (1, 1), "direct"),     # 5 columns
    ((8, 1, 64, 36, 36), (1, 64, 64, 3, 3), "float32", (2, 2), "winograd"),  # dilated: 2 × 16
    ((8, 1, 64, 16, 16), (1, 64, 64, 3, 3), "float32", (2, 2), "winograd"),  # phases of 6
    ((8, 1, 64, 16, 15), (1, 64, 64, 3, 3), "float32", (2, 2), "direct"),    # phases of 5, 6
    ((8, 1, 64, 60, 60), (1, 64, 64, 5, 5), "float32", (1, 1), "rows"),      # 5×5: no gain
    ((16, 1, 64, 1028), (1, 64, 64, 5), "float32", (1,), "winograd"),         # conv1d
    ((16, 1, 64, 1028), (1, 64, 64, 5), "float64", (1,), "stacked"),
    ((16, 1, 16, 260), (1, 16, 16, 5), "float32", (1,), "winograd"),          # 16 ch, 256 col.
    ((16, 1, 16, 259), (1, 16, 16, 5), "float32", (1,), "direct"),            # 255
    ((16, 1, 15, 1028), (1, 64, 15, 5), "float32", (1,), "direct"),           # C_in < 16
    ((16, 1, 64, 1032), (1, 64, 64, 5), "float32", (2,), "winograd"),         # 2 × 512
    ((16, 1, 64, 1028), (1, 64, 64, 3), "float32", (1,), "stacked"),          # 1-d 3-tap
    ((8, 1, 64, 58, 58), (1, 64, 64, 1, 3), "float32", (1, 1), "stacked"),   # 1×3: unmeasured
]


@pytest.mark.parametrize("x_shape, w_shape, dtype, dilation, want", WINOGRAD_BOUNDARIES)
def test_winograd_choice_boundaries(x_shape, w_shape, dtype, dilation, want):
    """The forward form (3×3 kernel); the weight form's cases are below."""
    from convgrad.ops import jit

    import_optional("numba")
    ones = (1,) * len(dilation)
    got = choose_method(x_shape, w_shape, ones, dilation, dtype)
    assert got != "winograd" if want == "direct" else got == want
    assert choose_method(x_shape, w_shape, (2, *ones[1:]), dilation, dtype) in ("im2col",
                                                                                 "outrows")
    with jit.jit_enabled(False):
        assert choose_method(x_shape, w_shape, ones, dilation, dtype) != "winograd"
        with ops.forced_method("winograd"):      # falls back without the compiled transforms
            x = np.ones((1, 1, 5, 5), dtype)
            np.testing.assert_allclose(ops.conv(x, np.ones((1, 1, 3, 3), dtype)), 9.0)


# The method rule's boundaries (x_shape, w_shape, stride, want),
# also asserted of the plans (tests/engine/test_plan.py).
WINOGRAD_WEIGHT_BOUNDARIES = [
    # a weight gradient: x (C_in, G, N, *S), ∂L/∂y (G, C_out, N, *M) as the kernel, the
    # layer's dilation as the window step; its output is the 3×3 kernel
    ((64, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), "winograd"),     # resnet_3x3's ∂w
    ((32, 1, 8, 8, 8), (1, 32, 8, 6, 6), (1, 1), "winograd"),         # 6 columns
    ((32, 1, 8, 7, 7), (1, 32, 8, 5, 5), (1, 1), "direct"),           # 5 columns
    ((8, 1, 8, 58, 58), (1, 8, 8, 56, 56), (1, 1), "winograd"),       # 8 channels
    ((7, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), "direct"),        # C_in < 8
    ((64, 1, 8, 58, 58), (1, 7, 8, 56, 56), (1, 1), "direct"),        # C_out < 8
    ((64, 1, 8, 36, 36), (1, 64, 8, 32, 32), (2, 2), "winograd"),     # dilated: phases of 16
    ((64, 1, 8, 58, 58), (1, 64, 8, 54, 54), (1, 1), "outrows"),      # a 5×5 kernel
    ((64, 1, 16, 1028), (1, 64, 16, 1024), (1,), "winograd"),          # conv1d's ∂w
    ((8, 1, 16, 260), (1, 8, 16, 256), (1,), "winograd"),              # 256 columns, 8
    ((8, 1, 16, 259), (1, 8, 16, 255), (1,), "direct"),                # 255 columns
    ((7, 1, 16, 1028), (1, 64, 16, 1024), (1,), "direct"),             # C_in < 8
]


@pytest.mark.parametrize("x_shape, w_shape, stride, want", WINOGRAD_WEIGHT_BOUNDARIES)
def test_winograd_weight_choice_boundaries(x_shape, w_shape, stride, want):
    import_optional("numba")
    ones, twos = (1,) * len(stride), (2,) * len(stride)
    got = choose_method(x_shape, w_shape, stride, ones, "float32")
    assert got != "winograd" if want == "direct" else got == want
    assert choose_method(x_shape, w_shape, stride, ones, "float64") != "winograd"
    assert choose_method(x_shape, w_shape, stride, twos, "float32") != "winograd"  # s = 2


@pytest.mark.parametrize("kernel", [(5, 5), (2, 3), (3, 1), (3, 3, 3), (4,), (1, 5)])
def test_winograd_falls_back_where_it_does_not_apply(kernel, monkeypatch):
    """Forced on other kernels than 3×3, 1×3, 3 and 5 (1-d), it is im2col: no transform
    runs."""
    from convgrad.engine.winograd import blocks

    ran = []
    monkeypatch.setattr(blocks, "transform_input", lambda *a: ran.append(1))
    case = Case(size=(7,) * len(kernel), kernel=kernel, cin=2, cout=3, padding=1)
    with ops.forced_method("winograd"):
        check_against_reference(case)
    assert not ran


def test_winograd_automatic_choice_can_be_switched_off():
    """``use_winograd(False)`` and ``CONVGRAD_WINOGRAD=0``: float32 gets the direct methods."""
    import subprocess
    import sys

    import_optional("numba")
    x_shape, w_shape = (8, 1, 64, 58, 58), (1, 64, 64, 3, 3)
    assert choose_method(x_shape, w_shape, (1, 1), (1, 1), "float32") == "winograd"
    with ops.use_winograd(False):
        assert choose_method(x_shape, w_shape, (1, 1), (1, 1), "float32") == "rows"
    assert choose_method(x_shape, w_shape, (1, 1), (1, 1), "float32") == "winograd"
    code = ("from convgrad.ops.correlate import choose_method; print(choose_method("
            f"{x_shape}, {w_shape}, (1, 1), (1, 1), 'float32'))")
    for value, want in (("0", "rows"), ("1", "winograd")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "CONVGRAD_WINOGRAD": value}, check=True)
        assert out.stdout.strip() == want


def test_winograd_kernels_are_cached_on_disk_or_built_in_memory(tmp_path, monkeypatch):
    """The generated module goes to Settings.cache_dir (numba keeps its machine code there);
    an unwritable cache folder falls back to a temporary folder of this process (where the
    background build can put the machine code), else to compiling in memory; all compute."""
    from convgrad.engine.winograd import codegen
    from convgrad.ops import winograd

    import_optional("numba")
    (tmp_path / "file").touch()
    x = np.arange(40.0).reshape(1, 1, 1, 5, 8)       # one 5×8 image, a 1×3 kernel
    private = tmp_path / "private"
    monkeypatch.setattr(codegen, "_private_dir", lambda: private)
    for folder, lands in ((tmp_path / "cache", tmp_path / "cache"),
                          (tmp_path / "file" / "x", private), (tmp_path / "file" / "x", None)):
        if lands is None:
            private = tmp_path / "file" / "y"            # not writable either
        with ops.settings(cache_dir=folder):
            compiled = codegen._build((1, 3), "float64")
        transform_input = compiled.transform_input
        assert compiled.folder == lands
        assert len(list(folder.glob("winograd_1x3_float64_*.py"))) == (lands == folder)
        out = np.zeros((1, 6, 1, 10))
        parts = np.array([[0, 0, 8, 0, 1, 0, 5, 0]])   # 5 rows of 6 outputs + 2: 10 tiles
        transform_input(x, 0, 0, 1, 1, parts, out)
        for row in range(5):        # row r starts at position 8r: the tile in slot 2r
            np.testing.assert_allclose(out[0, :, 0, 2 * row],
                                       winograd.matrices(3)[0] @ x[0, 0, 0, row, :6])


# ----------------------------------------------------------------------------- issue 15: edges
def same_nonfinite(got, want, what: str) -> None:
    """NaN, +inf and −inf at exactly torch's positions, the finite values equal to 1e-10."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    for test in (np.isnan, np.isposinf, np.isneginf):
        assert np.array_equal(test(got), test(want)), \
            f"{what}: {test.__name__} at {np.argwhere(test(got) != test(want))[:4].tolist()}"
    ok = np.isfinite(want)
    assert rel_err(got[ok], want[ok]) <= 1e-10, what


@pytest.mark.parametrize("ndim, stride, dilation, output_padding", [
    (1, 1, 2, 1), (1, 2, 3, 2), (2, (1, 2), (3, 3), (2, 1)), (3, 1, 2, 1)])
def test_transposed_output_padding_past_the_stride_through_autograd(ndim, stride, dilation,
                                                                     output_padding):
    """stride ≤ output_padding < dilation: forward, both gradients and second order (torch)."""
    from helpers import check_op

    import convgrad.functional as F
    torch = import_torch()
    cg_fn = getattr(F, f"conv_transpose{ndim}d")
    t_fn = getattr(torch.nn.functional, f"conv_transpose{ndim}d")
    opts = dict(stride=stride, dilation=dilation, output_padding=output_padding)
    check_op(lambda x, w: cg_fn(x, w, **opts), lambda x, w: t_fn(x, w, **opts),
             (2, 2, *(3,) * ndim), (2, 3, *(2,) * ndim))


def test_transposed_layer_with_output_padding_past_the_stride():
    from convgrad import nn
    torch = import_torch()
    layer = nn.ConvTranspose1d(2, 3, 2, dilation=2, output_padding=1, dtype=np.float64)
    t = torch.nn.functional.conv_transpose1d(
        torch.ones(1, 2, 3, dtype=torch.float64), torch.tensor(layer.weight.array),
        torch.tensor(layer.bias.array), dilation=2, output_padding=1)
    assert_close(layer(np.ones((1, 2, 3))).array, t.numpy(), "float64", "ConvTranspose1d")


def test_a_nan_weight_tap_stays_local_in_the_transposed_conv():
    """The issue's case: torch gives [nan, 2, 2]; the correlation with zero-padded x gave NaN
    everywhere."""
    w = np.array([[[np.nan, 1.0, 1.0]]])
    got = ops.conv_transpose(np.array([[[2.0]]]), w)
    same_nonfinite(got, np.array([[[np.nan, 2.0, 2.0]]]), "conv_transpose")
    same_nonfinite(ops.conv_grad_input(np.array([[[2.0]]]), w[:, :, ::-1].copy(), (1, 1, 3)),
                   np.array([[[2.0, 2.0, np.nan]]]), "conv_grad_input")


NAN_CASES = [
    Case(size=(9,), kernel=(3,), cin=4, cout=4, batch=2, padding=1, groups=2),
    Case(size=(8, 8), kernel=(3, 3), cin=2, cout=4, batch=2, stride=2, padding=1),
    Case(size=(10, 10), kernel=(3, 3), cin=3, cout=3, padding=2, dilation=2, groups=3),
    Case(size=(7, 9), kernel=(3, 2), cin=4, cout=4, batch=2, stride=(2, 3), padding=(2, 1),
         dilation=(1, 2)),
    Case(size=(20,), kernel=(9,), cin=2, cout=2, padding=4),
    Case(size=(5, 5, 5), kernel=(2, 2, 2), cin=2, cout=2, padding=1),
]


@pytest.mark.parametrize("method", [None, *METHODS])
@pytest.mark.parametrize("case", NAN_CASES, ids=str)
@pytest.mark.parametrize("where, value", [("x", np.nan), ("w", np.nan), ("w", np.inf),
                                          ("dy", -np.inf), ("x", np.inf)])
def test_nan_and_inf_land_where_torch_puts_them(case, method, where, value):
    """Forward, ∂x and ∂w with one non-finite element in x, w or dy: every method (FFT and
    Winograd mix whole transforms, the padded correlation multiplied zeros by a NaN tap) gives
    torch's pattern of NaN and ±inf (float64, torch's reference CPU path)."""
    x, w, b = case.arrays()
    rng = np.random.default_rng(case.seed + 7)
    arrays = {"x": x, "w": w}
    if where in arrays:
        arrays[where].flat[rng.integers(arrays[where].size)] = value
    torch = import_torch()
    conv = getattr(torch.nn.functional, f"conv{case.ndim}d")
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    ty = conv(tx, tw, **case.opts)
    dy = rng.standard_normal(tuple(ty.shape))
    if where == "dy":
        dy.flat[rng.integers(dy.size)] = value
    ty.backward(torch.tensor(dy))
    with ops.forced_method(method):
        same_nonfinite(ops.conv(x, w, **case.opts), ty.detach().numpy(), "forward")
        same_nonfinite(ops.conv_grad_input(dy, w, x.shape, **case.opts), tx.grad.numpy(), "∂x")
        same_nonfinite(ops.conv_grad_weight(x, dy, w.shape, **case.opts), tw.grad.numpy(), "∂w")


@pytest.mark.parametrize("stride", [10**18, 2**63, 10**40])
def test_huge_strides_give_torchs_one_output(stride):
    """Any stride past the input is one window: torch's result (its own int64 limit aside)."""
    case = Case(size=(5, 5), kernel=(2, 2), cin=3, cout=4, batch=2, stride=(stride, 1))
    x, w, b = case.arrays()
    want = torch_conv_and_grads(replace(case, stride=(7, 1)), x, w, b)   # the same one window
    y = ops.conv(x, w, b, **case.opts)
    dy = want[1]
    assert_close(y, want[0], "float64", "forward")
    assert_close(ops.conv_grad_input(dy, w, x.shape, **case.opts), want[2], "float64", "∂x")
    assert_close(ops.conv_grad_weight(x, dy, w.shape, **case.opts), want[3], "float64", "∂w")
    t = ops.conv_transpose(np.ones((1, 1, 1)), np.ones((1, 1, 2)), stride=stride)
    np.testing.assert_array_equal(t, [[[1.0, 1.0]]])


def test_input_gradient_time_does_not_grow_with_the_stride():
    """Only the phases that meet a tap are computed (they come from the taps): a stride of
    10**6 on a 2-long input took ~1 s (a Python loop over all phases), now milliseconds."""
    import time
    torch = import_torch()
    x, w = np.ones((1, 1, 2), np.float32), np.array([[[1.0, 2.0]]], np.float32)
    start = time.perf_counter()
    y = ops.conv_transpose(x, w, stride=10**6)
    assert time.perf_counter() - start < 0.2
    want = torch.nn.functional.conv_transpose1d(torch.tensor(x), torch.tensor(w), stride=10**6)
    np.testing.assert_array_equal(y, want.numpy())


def test_an_empty_batch_gives_torchs_empty_results():
    case = Case(size=(6, 6), kernel=(3, 3), cin=2, cout=4, batch=0, stride=2, padding=1)
    x, w, b = case.arrays()
    torch = import_torch()
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                      **case.opts)
    y = ops.conv(x, w, b, **case.opts)
    assert y.shape == tuple(want.shape) and y.dtype == x.dtype
    assert ops.conv_grad_input(y, w, x.shape, **case.opts).shape == x.shape
    np.testing.assert_array_equal(ops.conv_grad_weight(x, y, w.shape, **case.opts),
                                  np.zeros(w.shape))
    t = ops.conv_transpose(np.ones((0, 4, 3, 3)), w, stride=2)
    want_t = torch.nn.functional.conv_transpose2d(torch.ones(0, 4, 3, 3, dtype=torch.float64),
                                                  torch.tensor(w), stride=2)
    assert t.shape == tuple(want_t.shape)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_finite_finds_every_nan_and_inf_and_is_not_fooled_by_large_values(dtype):
    """The guard of the transform methods: any NaN, +inf or −inf, anywhere, in contiguous and
    strided arrays; the largest finite values are finite (a sum would overflow)."""
    from convgrad.ops.correlate import finite
    a = np.random.default_rng(0).random((4, 5, 6)).astype(dtype)
    assert finite(a) and finite(a.transpose(2, 0, 1)) and finite(a[:0])
    assert finite(np.full((3, 4), np.finfo(dtype).max, dtype))
    for bad in (np.nan, np.inf, -np.inf):
        for index in ((0, 0, 0), (2, 3, 1), (3, 4, 5)):
            b = a.copy()
            b[index] = bad
            assert not finite(b) and not finite(b.transpose(1, 2, 0)), (bad, index)
