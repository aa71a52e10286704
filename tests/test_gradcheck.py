"""cg.gradcheck catches wrong first and second derivatives and says where."""

import numpy as np
import pytest

import convgrad as cg
from convgrad.autograd import Tensor, make


def square_with_wrong_grad(x):
    return make(x.array ** 2, (x,), lambda g: (g * x * 3.0,), "bad_square")


def square_with_constant_grad(x):
    """First derivative right (2x), but computed as a constant: the second derivative is lost."""
    return make(x.array ** 2, (x,), lambda g: (g * Tensor(2 * x.array),), "frozen_square")


def test_passes_a_correct_function_at_both_orders():
    x, y = np.linspace(-1, 1, 6), np.arange(6.0)
    assert cg.gradcheck(lambda a, b: (a * b).tanh() + a ** 3, [x, y], order=1)
    assert cg.gradcheck(lambda a, b: (a * b).tanh() + a ** 3, [x, y], order=2)


def test_reports_the_input_and_order_of_a_wrong_gradient():
    x = np.linspace(0.5, 1.5, 4)
    with pytest.raises(cg.GradcheckError, match="order-1 gradient of input 1 .*analytic"):
        cg.gradcheck(lambda a, b: a + square_with_wrong_grad(b), [x, x])


def test_order_two_catches_a_gradient_that_is_not_differentiable():
    x = np.linspace(0.5, 1.5, 4)
    assert cg.gradcheck(square_with_constant_grad, [x], order=1)
    with pytest.raises(cg.GradcheckError, match="order-2 gradient of input 0"):
        cg.gradcheck(square_with_constant_grad, [x], order=2)


def test_non_float_inputs_pass_through_and_float32_warns():
    target = np.array([1, 0])
    z = np.random.default_rng(0).standard_normal((2, 3))
    assert cg.gradcheck(lambda logits, t: cg.functional.cross_entropy(logits, t), [z, target])
    with pytest.warns(UserWarning, match="float32"):
        cg.gradcheck(lambda a: a * a, [z.astype(np.float32)], eps=1e-2, atol=1e-2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        cg.gradcheck(lambda a: a, [np.ones(2)], order=3)
    with pytest.raises(ValueError, match="no input to differentiate"):
        cg.gradcheck(lambda a: a, [np.array([1, 2])])


def test_cli_gradcheck_passes_every_op(capsys):
    from convgrad.cli import main
    from convgrad.selfcheck import SUITE

    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok") == 2 * len(SUITE) and "all gradients agree" in out


def test_cli_gradcheck_reports_a_broken_op(capsys, monkeypatch):
    from convgrad import selfcheck
    from convgrad.cli import main

    monkeypatch.setitem(selfcheck.SUITE, "broken", (square_with_wrong_grad, [(3,)]))
    assert main(["gradcheck", "--ops", "broken", "--order", "1"]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert main(["gradcheck", "--ops", "nonsense"]) == 2
    assert "unknown op 'nonsense'" in capsys.readouterr().err
