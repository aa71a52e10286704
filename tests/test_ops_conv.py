"""convgrad.ops against PyTorch (semantics), the plain-loop definitions and finite differences:
the general conv tests (edge cases, hypothesis, transposed conv, bias, dtypes, workspace
tiling, NaN/inf, huge strides, empty batch). Each algorithm's own tests are in
tests/engine/test_<algorithm>.py, those of every algorithm at once in
tests/engine/test_algorithms.py; ``check_against_torch`` and ``check_against_reference``
here are theirs too."""

from dataclasses import replace

import numpy as np
import pytest
from helpers import (
    Case,
    assert_close,
    conv_cases,
    import_torch,
    rel_err,
    torch_conv_and_grads,
    torch_conv_transpose,
)
from hypothesis import given, settings

from convgrad import ops
from convgrad.ops import reference as ref
from convgrad.ops.correlate import METHODS


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
