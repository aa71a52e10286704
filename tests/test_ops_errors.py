"""Bad input: a ValueError/TypeError naming the op, the values and the rule — never a wrong
answer or an error from deep inside."""

import numpy as np
import pytest

from convgrad import ops

x4 = np.zeros((2, 4, 6, 6))
w4 = np.zeros((8, 4, 3, 3))


def raises(exc, *fragments):
    """pytest.raises whose message must contain every fragment (literally)."""
    return pytest.raises(exc, match="(?s)" + "".join(f"(?=.*{__import__('re').escape(f)})"
                                                     for f in fragments))


@pytest.mark.parametrize("call, exc, fragments", [
    (lambda: ops.conv(np.zeros((4, 6)), w4), ValueError, ["conv:", "(N, C_in, *spatial)",
                                                         "x.shape=(4, 6)"]),
    (lambda: ops.conv(x4, np.zeros((8, 4, 3))), ValueError, ["conv:", "same number of dims",
                                                            "w.shape=(8, 4, 3)"]),
    (lambda: ops.conv(x4, np.zeros((8, 3, 3, 3))), ValueError,
     ["conv:", "C_in=4", "w.shape[1]·groups = 3"]),
    (lambda: ops.conv(x4, np.zeros((8, 2, 3, 3)), groups=3), ValueError,
     ["conv:", "groups=3 must divide C_in=4"]),
    (lambda: ops.conv(x4, np.zeros((6, 2, 3, 3)), groups=4), ValueError,
     ["conv:", "groups=4 must divide C_out=6"]),
    (lambda: ops.conv(x4, w4, groups=0), ValueError, ["conv:", "groups must be a positive int"]),
    (lambda: ops.conv(x4, w4, stride=0), ValueError, ["conv:", "stride must be positive",
                                                     "stride=(0, 0)"]),
    (lambda: ops.conv(x4, w4, stride=(1, -2)), ValueError, ["stride=(1, -2)"]),
    (lambda: ops.conv(x4, w4, dilation=(0, 1)), ValueError, ["conv:", "dilation must be positive",
                                                            "dilation=(0, 1)"]),
    (lambda: ops.conv(x4, w4, stride=(1, 2, 3)), ValueError,
     ["conv:", "stride=(1, 2, 3) has 3 entries", "2 spatial dim"]),
    (lambda: ops.conv(x4, w4, padding=-1), ValueError, ["conv:", "padding must be non-negative",
                                                       "(-1, -1)"]),
    (lambda: ops.conv(x4, w4, padding=((0, 1), (2, -1))), ValueError,
     ["padding must be non-negative", "(2, -1)"]),
    (lambda: ops.conv(x4, w4, padding="circular"), ValueError,
     ["conv:", "padding='circular' is not supported", "'same'"]),
    (lambda: ops.conv(x4, w4, padding=(1, 2, 3)), ValueError,
     ["conv:", "does not fit 2 spatial dim"]),
    (lambda: ops.conv(np.zeros((1, 1, 5)), np.zeros((1, 1, 2)), padding=(1, 2)), ValueError,
     ["((lo, hi),)"]),
    (lambda: ops.conv(x4, np.zeros((8, 4, 3, 9))), ValueError,
     ["conv:", "kernel larger than the padded input", "spatial dim 1", "= 9 > n + lo + hi = 6"]),
    (lambda: ops.conv(x4, w4, dilation=4), ValueError,
     ["kernel larger than the padded input", "d·(k−1)+1 = 9"]),
    (lambda: ops.conv(x4.astype(np.int64), w4), TypeError,
     ["conv:", "x has dtype int64", "float32 or float64"]),
    (lambda: ops.conv(x4.astype(np.float32), w4), TypeError,
     ["conv:", "one dtype", "x: float32", "w: float64"]),
    (lambda: ops.conv(x4, w4, np.zeros(3)), ValueError, ["conv:", "bias", "(8,)", "(3,)"]),
    (lambda: ops.conv(x4, w4, stride=1.5), TypeError, ["conv:", "stride must be an int"]),
    (lambda: ops.conv_grad_input(np.zeros((2, 8, 4, 4)), w4, (2, 4, 7, 6)), ValueError,
     ["conv_grad_input:", "dy.shape=(2, 8, 4, 4)", "input_shape=(2, 4, 7, 6)", "(2, 8, 5, 4)"]),
    (lambda: ops.conv_grad_input(np.zeros((2, 8, 4, 4)), w4, (2, 3, 6, 6)), ValueError,
     ["conv_grad_input:", "C_in=3"]),
    (lambda: ops.conv_grad_input(np.zeros((2, 8, 4, 4)), w4, "6x6"), TypeError,
     ["conv_grad_input:", "input_shape must be a tuple of ints"]),
    (lambda: ops.conv_grad_weight(x4, np.zeros((2, 8, 4, 5)), (8, 4, 3, 3)), ValueError,
     ["conv_grad_weight:", "dy.shape=(2, 8, 4, 5)", "(2, 8, 4, 4)"]),
    (lambda: ops.conv_grad_weight(x4, np.zeros((2, 8, 4, 4)), (8, 4, 3, 3), stride=0),
     ValueError, ["conv_grad_weight:", "stride must be positive"]),
    (lambda: ops.conv_transpose(x4, np.zeros((4, 2, 3, 3)), stride=2, output_padding=2),
     ValueError, ["conv_transpose:", "output_padding must be smaller than max(stride, dilation)",
                  "output_padding=2, stride=2, dilation=1"]),
    (lambda: ops.conv_transpose(x4, np.zeros((4, 2, 3, 3)), output_padding=-1), ValueError,
     ["conv_transpose:", "output_padding must be ≥ 0"]),
    (lambda: ops.conv_transpose(x4, np.zeros((3, 2, 3, 3))), ValueError,
     ["conv_transpose:", "C_in=4", "w.shape[0] = 3"]),
    (lambda: ops.conv_transpose(x4, np.zeros((4, 2, 3, 3)), groups=3), ValueError,
     ["conv_transpose:", "groups=3", "dividing C_in"]),
    (lambda: ops.conv_transpose(x4, np.zeros((4, 2, 3, 3)), padding="same"), ValueError,
     ["conv_transpose:", "padding='same' is not supported", "'valid'"]),
    (lambda: ops.conv_transpose(x4, np.zeros((4, 2, 3, 3)), padding=5), ValueError,
     ["conv_transpose:", "crops the whole output"]),
    (lambda: ops.conv_transpose(x4, np.zeros((4, 2, 3, 3)), padding=-1), ValueError,
     ["conv_transpose:", "padding must be non-negative"]),
])
def test_bad_input_is_named(call, exc, fragments):
    with raises(exc, *fragments):
        call()


def test_set_workspace_limit_rejects_nonsense():
    with raises(ValueError, "set_workspace_limit", "positive int"):
        ops.set_workspace_limit(0)


def test_forced_method_rejects_unknown_names():
    with raises(ValueError, "forced_method", "'strassen'", "im2col"):
        with ops.forced_method("strassen"):
            pass


# ----------------------------------------------------------------------------- issue 15
x1, w1 = np.ones((1, 1, 3)), np.ones((1, 1, 2))


@pytest.mark.parametrize("call, exc, fragments", [
    (lambda: ops.conv(None, w1), TypeError, ["conv:", "x has dtype object"]),
    (lambda: ops.conv(x1, None), TypeError, ["conv:", "w has dtype object"]),
    (lambda: ops.conv([[[1.0], [1.0, 2.0]]], w1), TypeError, ["conv:", "x is not an array"]),
    (lambda: ops.conv(x1.astype(complex), w1), TypeError, ["conv:", "complex128"]),
    (lambda: ops.conv(x1.astype(bool), w1), TypeError, ["conv:", "bool"]),
    (lambda: ops.conv(np.array([[["a", "b"]]]), w1), TypeError, ["conv:", "<U1"]),
    (lambda: ops.conv_grad_input(np.ones((1, 1, 2)), w1, (1, 1, True)), TypeError,
     ["conv_grad_input:", "input_shape must be a tuple of ints", "True"]),
    (lambda: ops.conv_grad_input(np.ones((1, 1, 2)), w1, (1, 1, -3)), ValueError,
     ["conv_grad_input:", "negative dimension", "(1, 1, -3)"]),
    (lambda: ops.conv_grad_weight(x1, np.ones((1, 1, 2)), (1, 1, 2.0)), TypeError,
     ["conv_grad_weight:", "weight_shape must be a tuple of ints"]),
    (lambda: ops.conv_grad_weight(x1, np.ones((1, 1, 2)), (1, 0, 2)), ValueError,
     ["conv_grad_weight:", "every dim ≥ 1"]),
    (lambda: ops.conv(x1, w1, stride=True), TypeError,
     ["conv:", "stride must be an int"]),
    (lambda: ops.conv(x1, w1, groups=True), ValueError, ["conv:", "groups must be a positive"]),
    (lambda: ops.conv(x1, w1, padding=True), ValueError, ["conv:", "padding=True"]),
    (lambda: ops.conv(x1, w1, dilation=(1, 1)), ValueError, ["conv:", "dilation=(1, 1)"]),
    (lambda: ops.conv_transpose(x1, w1, output_padding=1.0), TypeError,
     ["conv_transpose:", "output_padding must be an int"]),
    # sizes past the machine: refused before allocating, naming the bytes
    (lambda: ops.conv(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), padding=10**5), ValueError,
     ["conv:", "bytes", "memory"]),
    (lambda: ops.conv(x1, w1, padding=10**12), ValueError,
     ["conv:", "bytes", "(1, 1, 2000000000002)"]),
    (lambda: ops.conv(x1, w1, padding=10**12, stride=10**13), ValueError,
     ["conv:", "padded copy", "bytes"]),
    (lambda: ops.conv(x1, w1, dilation=10**12, padding=10**12), ValueError, ["conv:", "bytes"]),
    (lambda: ops.conv_transpose(np.ones((1, 1, 4)), w1, stride=10**15), ValueError,
     ["conv_transpose:", "bytes"]),
    (lambda: ops.conv_grad_input(np.broadcast_to(1.0, (1, 1, 10**12)), w1, (1, 1, 10**12 + 1)),
     ValueError, ["conv_grad_input:", "bytes"]),
])
def test_bad_input_is_named_before_any_work(call, exc, fragments):
    with raises(exc, *fragments):
        call()


@pytest.mark.parametrize("kwargs, exc, fragment", [
    (dict(in_channels=True), TypeError, "in_channels must be an int"),
    (dict(groups=2.0), TypeError, "groups must be an int"),
    (dict(padding=-1), ValueError, "padding must be non-negative"),
    (dict(padding="circular"), ValueError, "padding='circular' is not supported"),
    (dict(stride=(1, 0)), ValueError, "stride must be positive"),
])
def test_layer_constructors_refuse_bad_arguments(kwargs, exc, fragment):
    from convgrad import nn
    args = dict(in_channels=2, out_channels=2, kernel_size=3)
    args.update(kwargs)
    with raises(exc, "Conv2d", fragment):
        nn.Conv2d(**args)


def test_transposed_layer_refuses_output_padding_past_stride_and_dilation():
    from convgrad import nn
    with raises(ValueError, "ConvTranspose1d", "output_padding must be smaller"):
        nn.ConvTranspose1d(1, 1, 3, stride=2, dilation=2, output_padding=2)
    nn.ConvTranspose1d(1, 1, 3, stride=1, dilation=2, output_padding=1)     # torch accepts


def test_a_call_past_the_memory_available_now_is_refused_before_allocating(monkeypatch):
    """A result that fits in the physical memory but not in what the machine can give now
    (MemAvailable) is refused naming the bytes, not left to the OOM killer; small calls never
    ask the system."""
    from convgrad.ops import geometry
    monkeypatch.setattr(geometry, "available_memory", lambda: 2**31)
    with raises(ValueError, "conv:", "bytes", "can give 2,147,483,648"):
        ops.conv(np.ones((1, 1, 8)), np.ones((2**28, 1, 1)))       # 2 GiB result of 8 GiB
    monkeypatch.setattr(geometry, "available_memory", lambda: 0)
    assert ops.conv(x1, w1).shape == (1, 1, 2)
