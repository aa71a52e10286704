"""cg.autograd.gradcheck / gradgradcheck: torch's signatures, verdicts and messages."""

import inspect
import sys
import warnings

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad.autograd import Tensor, astype, make
from convgrad.autograd.function import Function
from convgrad.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck

torch = import_torch()


def leaf(a, requires_grad=True):
    return cg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def wrong_square(lib):
    """x², with a backward that is 10 % off (the same Function for both libraries)."""
    class WrongSquare(Function if lib is cg else torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2.2 * x
    return WrongSquare


def frozen_square(x):
    """First derivative right, computed as a constant: its own derivative is lost."""
    return make(x.array ** 2, (x,), lambda g: (g * Tensor(2 * x.array),), "frozen_square")


def test_signatures_are_torchs():
    for ours, theirs in ((gradcheck, torch.autograd.gradcheck),
                         (gradgradcheck, torch.autograd.gradgradcheck)):
        mine, want = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(mine) == list(want)
        assert [(p.default, p.kind) for p in mine.values()] == \
               [(p.default, p.kind) for p in want.values()]


def test_error_class():
    assert issubclass(GradcheckError, RuntimeError) and issubclass(GradcheckError, AssertionError)
    assert cg.GradcheckError is GradcheckError


def test_correct_functions_pass_at_both_orders():
    rng = np.random.default_rng(0)
    x, y = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal(3))
    assert gradcheck(lambda a, b: (a * b).tanh() + a ** 3, (x, y))
    assert gradgradcheck(lambda a, b: (a * b).tanh() + a ** 3, (x, y))
    two_outputs = (lambda a, b: (a.exp().sum(0), a * b))
    assert gradcheck(two_outputs, [x, y]) and gradgradcheck(two_outputs, [x, y])
    assert gradcheck(lambda a, k: a * k, (x, 3.0))                       # non-tensor input
    assert gradcheck(lambda a, b: a * b, (x, leaf(np.ones(3), False)))   # constant tensor
    assert gradgradcheck(lambda a: a.exp(), x, gen_non_contig_grad_outputs=True)
    assert gradgradcheck(lambda a: a.exp(), x, leaf(np.ones((2, 3))))
    assert gradcheck(lambda a: a.detach() * 0, x)                      # no differentiable output


def test_a_wrong_backward_fails_with_torchs_message():
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(GradcheckError) as ours:
        gradcheck(wrong_square(cg).apply, (leaf(x),))
    torch_error = sys.modules["torch.autograd.gradcheck"].GradcheckError
    with pytest.raises(torch_error) as theirs:
        torch.autograd.gradcheck(wrong_square(torch).apply,
                                 (torch.tensor(x, requires_grad=True),))
    assert str(ours.value) == str(theirs.value).replace("torch.", "convgrad.")
    assert str(ours.value).startswith("Jacobian mismatch for output 0 with respect to input 0,\n"
                                      "numerical:tensor([[")
    assert gradcheck(wrong_square(cg).apply, (leaf(x),), raise_exception=False) is False
    assert gradcheck(wrong_square(cg).apply, (leaf(x),), rtol=0.2)


def test_the_input_index_counts_differentiated_inputs():
    x = leaf([1.0, 2.0])
    with pytest.raises(GradcheckError, match="output 1 with respect to input 1"):
        gradcheck(lambda c, a, b: (a * c, a + wrong_square(cg).apply(b)),
                  (leaf([1.0, 1.0], False), x, leaf([0.5, 1.5])))


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = leaf([0.5, 1.5])
    assert gradcheck(frozen_square, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0"):
        gradgradcheck(frozen_square, (x,))
    assert gradgradcheck(frozen_square, (x,), raise_exception=False) is False


def test_backward_must_be_multiplied_by_grad_output():
    x = leaf([0.5, 1.5])
    ignores_g = (lambda a: make((a.array ** 2).sum(), (a,), lambda g: (a * 2,), "sq"))
    with pytest.raises(GradcheckError, match="backward not multiplied by grad_output"):
        gradcheck(ignores_g, (x,))


def test_reentrancy_dtype_and_size_checks():
    x = leaf([0.5, 1.5])
    noise = np.random.default_rng(0)
    jittery = (lambda a: make(a.array * 2, (a,),
                              lambda g: (g * (2 + 1e-9 * noise.standard_normal()),), "jitter"))
    with pytest.raises(GradcheckError, match="Backward is not reentrant"):
        gradcheck(jittery, (x,))
    assert gradcheck(jittery, (x,), nondet_tol=1e-6)
    single = (lambda a: make(a.array * 2, (a,), lambda g: (astype(g * 2, np.float32),), "f32"))
    with pytest.raises(GradcheckError, match="Gradient has dtype mismatch"):
        gradcheck(single, (x,), check_grad_dtypes=True)
    summed = (lambda a: make(a.array.sum(), (a,), lambda g: (g.reshape(1) * 2,), "bad_shape"))
    with pytest.raises(GradcheckError, match="Analytical gradient has incorrect size"):
        gradcheck(summed, (x,))
    leaky = (lambda a: Tensor(a.array * 2))         # depends on a, but outside the graph
    with pytest.raises(GradcheckError, match="Numerical gradient for function expected to be "
                                             "zero"):
        gradcheck(leaky, (x,))


def test_inputs_are_checked_and_warned_about():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda a: a * 2, (leaf([1.0], False),))
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double "
                                         "precision floating point"):
        gradcheck(lambda a: a * 2, (cg.tensor(np.ones(2, np.float32), requires_grad=True),),
                  eps=1e-3, atol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradcheck(lambda a: a * 2, (leaf([1.0]),))
    with pytest.raises(NotImplementedError, match="forward-mode"):
        gradcheck(lambda a: a * 2, (leaf([1.0]),), check_forward_ad=True)
    with pytest.raises(AssertionError, match="at least one of check_forward_ad"):
        gradcheck(lambda a: a * 2, (leaf([1.0]),), check_backward_ad=False)


def test_inputs_are_restored_after_perturbation():
    x = leaf(np.linspace(-1, 1, 4))
    before = x.array.copy()
    gradcheck(lambda a: a.tanh(), (x,))
    assert np.array_equal(x.array, before) and x.grad is None


@pytest.mark.parametrize("name, fn", [
    ("exp", lambda m, a, b: (a * b).exp()),
    ("conv", lambda m, a, b: (cg.functional if m is cg else torch.nn.functional).conv2d(
        a.reshape(1, 1, 2, 3), b.reshape(1, 1, 1, 3))),
])
def test_verdicts_agree_with_torch(name, fn):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(6), rng.standard_normal(3)
    b = np.concatenate([b, b]) if name == "exp" else b
    for checker, theirs in ((gradcheck, torch.autograd.gradcheck),
                            (gradgradcheck, torch.autograd.gradgradcheck)):
        assert checker(lambda x, y: fn(cg, x, y), (leaf(a), leaf(b))) == theirs(
            lambda x, y: fn(torch, x, y),
            (torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)))
