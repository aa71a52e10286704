"""The textbook case, written out by hand: X 3×3, F 2×2 → O 2×2.

O11 = X11F11 + X12F12 + X21F21 + X22F22, and its three siblings. The chain rule gives each
∂L/∂Fij and ∂L/∂Xij as a sum over ∂L/∂O; the two patterns are a valid correlation of X with
∂L/∂O, and a full correlation of ∂L/∂O with the 180°-rotated F.
"""

import numpy as np

from convgrad import ops

X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
F = np.array([[1.0, -2.0], [0.5, 3.0]])
DO = np.array([[0.25, -1.0], [2.0, 0.5]])          # ∂L/∂O, the upstream gradient


def nchw(a):
    return a[None, None]


def test_forward_equations():
    (x11, x12, x13), (x21, x22, x23), (x31, x32, x33) = X
    (f11, f12), (f21, f22) = F
    want = [[x11 * f11 + x12 * f12 + x21 * f21 + x22 * f22,
             x12 * f11 + x13 * f12 + x22 * f21 + x23 * f22],
            [x21 * f11 + x22 * f12 + x31 * f21 + x32 * f22,
             x22 * f11 + x23 * f12 + x32 * f21 + x33 * f22]]
    np.testing.assert_allclose(ops.conv(nchw(X), nchw(F))[0, 0], want, rtol=1e-15)


def test_weight_gradient_is_valid_correlation_of_x_with_do():
    (x11, x12, x13), (x21, x22, x23), (x31, x32, x33) = X
    (o11, o12), (o21, o22) = DO
    want = [[x11 * o11 + x12 * o12 + x21 * o21 + x22 * o22,      # ∂L/∂F11
             x12 * o11 + x13 * o12 + x22 * o21 + x23 * o22],     # ∂L/∂F12
            [x21 * o11 + x22 * o12 + x31 * o21 + x32 * o22,      # ∂L/∂F21
             x22 * o11 + x23 * o12 + x32 * o21 + x33 * o22]]     # ∂L/∂F22
    dw = ops.conv_grad_weight(nchw(X), nchw(DO), (1, 1, 2, 2))[0, 0]
    np.testing.assert_allclose(dw, want, rtol=1e-15)
    # … which is literally the primitive applied to (X, ∂L/∂O):
    np.testing.assert_allclose(ops.conv(nchw(X), nchw(DO))[0, 0], want, rtol=1e-15)


def test_input_gradient_is_full_correlation_of_do_with_rot180_f():
    (f11, f12), (f21, f22) = F
    (o11, o12), (o21, o22) = DO
    want = [[f11 * o11, f12 * o11 + f11 * o12, f12 * o12],
            [f21 * o11 + f11 * o21, f22 * o11 + f21 * o12 + f12 * o21 + f11 * o22,
             f22 * o12 + f12 * o22],
            [f21 * o21, f22 * o21 + f21 * o22, f22 * o22]]
    dx = ops.conv_grad_input(nchw(DO), nchw(F), (1, 1, 3, 3))[0, 0]
    np.testing.assert_allclose(dx, want, rtol=1e-15)
    rot180 = F[::-1, ::-1]
    np.testing.assert_allclose(ops.conv(nchw(DO), nchw(rot180), padding="full")[0, 0], want,
                               rtol=1e-15)


def test_scalar_chain_rule_prelude():
    """f = (x + y)·z at x = −2, y = 5, z = −4: f = −12, ∂f/∂x = ∂f/∂y = z, ∂f/∂z = x + y.

    A 1×1 convolution is exactly this product: q = x + y as the input, z as the kernel."""
    q, z = np.array(-2.0 + 5.0).reshape(1, 1, 1), np.array(-4.0).reshape(1, 1, 1)
    assert ops.conv(q, z).item() == -12.0
    df = np.ones((1, 1, 1))
    assert ops.conv_grad_input(df, z, (1, 1, 1)).item() == -4.0    # ∂f/∂q = ∂f/∂x = ∂f/∂y
    assert ops.conv_grad_weight(q, df, (1, 1, 1)).item() == 3.0    # ∂f/∂z
