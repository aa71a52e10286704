"""The textbook case, run: a conv layer's backward pass is two more convolutions.

    python examples/conv_backprop.py

X 3×3 ⋆ F 2×2 → O 2×2. Given ∂L/∂O, the chain rule gives
  ∂L/∂F = X ⋆ ∂L/∂O                      (valid correlation of the input with the gradient)
  ∂L/∂X = pad(∂L/∂O, 1) ⋆ rot180(F)      (full correlation with the rotated filter)
and the same holds, with stride, padding, dilation and groups, for any configuration.
"""

import numpy as np

from convgrad import ops
from convgrad.ops.reference import conv_grad_input_reference, conv_grad_weight_reference


def show(name: str, a: np.ndarray) -> None:
    print(f"{name} =\n{np.array2string(a, precision=3, suppress_small=True)}\n")


def main() -> None:
    X = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    F = np.array([[1.0, -2.0], [0.5, 3.0]]).reshape(1, 1, 2, 2)
    O = ops.conv(X, F)
    dO = np.array([[0.25, -1.0], [2.0, 0.5]]).reshape(1, 1, 2, 2)   # pretend ∂L/∂O
    show("X", X[0, 0]), show("F", F[0, 0]), show("O = X ⋆ F", O[0, 0])
    dF = ops.conv_grad_weight(X, dO, F.shape)
    dX = ops.conv_grad_input(dO, F, X.shape)
    show("∂L/∂F = X ⋆ ∂L/∂O", dF[0, 0])
    show("∂L/∂X = full(∂L/∂O) ⋆ rot180(F)", dX[0, 0])
    assert np.allclose(dF, ops.conv(X, dO))
    assert np.allclose(dX, ops.conv(dO, F[:, :, ::-1, ::-1], padding="full"))

    # A configuration where the textbook picture stops working: stride 2, padding 1, dilation 2,
    # two groups. The gradients are still convolutions; check them against the chain rule
    # applied term by term (the plain-loop reference).
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2))
    opts = dict(stride=2, padding=1, dilation=2, groups=2)
    dy = rng.standard_normal(ops.conv(x, w, **opts).shape)
    err_x = np.abs(ops.conv_grad_input(dy, w, x.shape, **opts)
                   - conv_grad_input_reference(dy, w, x.shape, **opts)).max()
    err_w = np.abs(ops.conv_grad_weight(x, dy, w.shape, **opts)
                   - conv_grad_weight_reference(x, dy, w.shape, **opts)).max()
    print(f"stride 2, padding 1, dilation 2, groups 2: max |∂x − chain rule| = {err_x:.1e}, "
          f"max |∂w − chain rule| = {err_w:.1e}")


if __name__ == "__main__":
    main()
