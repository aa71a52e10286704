"""The autograd engine against torch.autograd: values, gradients, gradients of gradients."""

import numpy as np
import pytest
from helpers import check_op

import convgrad as cg

OP_CASES = [
    (lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)], {}),
    (lambda a, b: a - b, lambda a, b: a - b, [(3, 1), (1, 5)], {}),
    (lambda a, b: a * b, lambda a, b: a * b, [(2, 3, 4), (3, 1)], {}),
    (lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (3, 4)], {"positive": True}),
    (lambda a: -a, lambda a: -a, [(5,)], {}),
    (lambda a: a ** 3, lambda a: a ** 3, [(4, 2)], {}),
    (lambda a, b: a ** b, lambda a, b: a ** b, [(4,), (4,)], {"positive": True}),
    (lambda a: 2.0 / a, lambda a: 2.0 / a, [(4,)], {"positive": True}),
    (lambda a: 1.5 - a, lambda a: 1.5 - a, [(4,)], {}),
    (lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4, 5)], {}),
    (lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 2)], {}),
    (lambda a: a.exp(), lambda a: a.exp(), [(3, 3)], {}),
    (lambda a: a.log(), lambda a: a.log(), [(3, 3)], {"positive": True}),
    (lambda a: a.tanh(), lambda a: a.tanh(), [(3, 3)], {}),
    (lambda a: a.sigmoid(), lambda a: a.sigmoid(), [(3, 3)], {}),
    (lambda a: a.relu(), lambda a: a.relu(), [(4, 5)], {}),
    (lambda a: a.sum(), lambda a: a.sum(), [(3, 4)], {}),
    (lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), [(3, 4, 2)], {}),
    (lambda a: a.sum(axis=(0, 2), keepdims=True), lambda a: a.sum(dim=(0, 2), keepdim=True),
     [(3, 4, 2)], {}),
    (lambda a: a.mean(axis=0), lambda a: a.mean(dim=0), [(3, 4)], {}),
    (lambda a: a.max(axis=1), lambda a: a.amax(dim=1), [(3, 4)], {}),
    (lambda a: a.max(), lambda a: a.amax(), [(3, 4)], {}),
    (lambda a: a.reshape(4, 3), lambda a: a.reshape(4, 3), [(3, 4)], {}),
    (lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), [(2, 3, 4)], {}),
    (lambda a: a.T, lambda a: a.T, [(2, 3)], {}),
    (lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(3, 5)], {}),
    (lambda a: a[np.array([0, 2, 0])], lambda a: a[[0, 2, 0]], [(3, 2)], {}),
    (lambda a, b: (a * b).tanh() * a, lambda a, b: (a * b).tanh() * a, [(3,), (3,)], {}),
]


@pytest.mark.parametrize("cg_fn, torch_fn, shapes, kw", OP_CASES)
def test_op_matches_torch(cg_fn, torch_fn, shapes, kw):
    check_op(cg_fn, torch_fn, *shapes, **kw)


def test_textbook_chain_rule():
    x, y, z = (cg.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    f.backward()
    assert (f.item(), x.grad.item(), y.grad.item(), z.grad.item()) == (-12.0, -4.0, -4.0, 3.0)


def test_long_chain_has_no_recursion_limit():
    x = cg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_gradients_accumulate_until_zero_grad():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 7.0])
    x.zero_grad()
    assert x.grad is None


def test_no_grad_records_nothing_and_dtype_is_kept():
    x = cg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with cg.no_grad():
        y = x * 2.0
    assert not y.requires_grad
    z = (x * 2.0 + 1.0).sum()
    z.backward()
    assert z.dtype == np.float32 and x.grad.dtype == np.float32


def test_no_gradient_for_inputs_that_do_not_need_it():
    a, b = cg.tensor([1.0, 2.0]), cg.tensor([3.0, 4.0], requires_grad=True)
    (a * b).sum().backward()
    assert a.grad is None and b.grad is not None


def test_backward_on_non_scalar_needs_a_gradient():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="gradient is needed for a non-scalar output"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match=r"gradient shape \(3,\) does not match"):
        (x * 2.0).backward(np.ones(3))


@pytest.mark.parametrize("cg_fn, torch_fn, shapes, kw", OP_CASES)
def test_op_passes_gradcheck(cg_fn, torch_fn, shapes, kw):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    if kw.get("positive"):
        arrays = [np.abs(a) + 0.5 for a in arrays]
    assert cg.gradcheck(cg_fn, arrays, order=2, atol=1e-4)


def test_only_requested_gradients_are_computed(monkeypatch):
    import convgrad.functional.convolution as conv_module

    def forbidden(*args, **kwargs):
        raise AssertionError("computed a gradient nobody asked for")
    x = cg.tensor(np.ones((1, 2, 5, 5)))
    w = cg.tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    monkeypatch.setattr(conv_module, "conv_grad_input", forbidden)
    cg.functional.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == w.shape
    monkeypatch.undo()
    x.requires_grad, w.requires_grad = True, False
    monkeypatch.setattr(conv_module, "conv_grad_weight", forbidden)
    cg.functional.conv2d(x, w).sum().backward()
    assert x.grad.shape == x.shape
