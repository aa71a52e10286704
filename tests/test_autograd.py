"""The autograd engine against torch.autograd: values, gradients, gradients of gradients."""

import numpy as np
import pytest
from helpers import check_op, import_torch

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
    np.testing.assert_allclose(x.grad.array, [5.0, 7.0])
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
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (x * 2.0).backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad has shape \[3\]"):
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


# ---------------------------------------------------------------- regressions of issue 15
def _torch_error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)
    return None, ""


@pytest.mark.parametrize("ours, theirs", [
    (lambda a: a.sum(axis=2), lambda a: a.sum(dim=2)),
    (lambda a: a.sum(axis=-3), lambda a: a.sum(dim=-3)),
    (lambda a: a.mean(axis=(0, 5)), lambda a: a.mean(dim=(0, 5))),
    (lambda a: a.max(axis=2), lambda a: a.amax(dim=2)),
    (lambda a: a.permute(0, 3), lambda a: a.permute(0, 3)),
    (lambda a: a.swapaxes(0, 2), lambda a: a.swapaxes(0, 2)),
])
def test_dims_out_of_range_raise_torchs_index_error(ours, theirs):
    torch = import_torch()
    kind, message = _torch_error(lambda: theirs(torch.ones(2, 3)))
    assert kind is IndexError
    with pytest.raises(IndexError) as info:
        ours(cg.tensor(np.ones((2, 3))))
    assert message.split("(")[1] in str(info.value)     # "expected to be in range of [-2, 1] …"


@pytest.mark.parametrize("call, error, match", [
    (lambda a: a.sum(axis=(0, 0)), RuntimeError, "appearing multiple times"),
    (lambda a: a.sum(axis=1.0), TypeError, "sum: dim must be an int"),
    (lambda a: a.sum(axis=True), TypeError, "sum: dim must be an int"),
    (lambda a: a.permute(0, 0), RuntimeError, "permute: duplicate dims"),
    (lambda a: a.permute(0), RuntimeError, "permute: needs one dim per axis"),
    (lambda a: a[:, :0].max(axis=1), IndexError, "max"),
    (lambda a: cg.tensor(np.array([1, 2])).mean(), RuntimeError, "mean"),
    (lambda a: cg.tensor(np.array([True])) - True, RuntimeError, "sub: Subtraction, the `-`"),
    (lambda a: -cg.tensor(np.array([True])), RuntimeError, "neg: Negation, the `-`"),
    (lambda a: cg.tensor(np.array([2, 3])) ** -1, RuntimeError, "pow: Integers to negative"),
    (lambda a: a @ cg.tensor(np.ones((3, 2), np.float32)), RuntimeError,
     "matmul: expected m1 and m2 to have the same dtype"),
])
def test_bad_tensor_calls_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call(cg.tensor(np.ones((2, 3))))


def test_0d_tensors_take_dims_minus_one_and_zero():
    torch = import_torch()
    a = cg.tensor(np.array(3.0))
    assert a.sum(axis=0).item() == a.sum(axis=-1).item() == torch.tensor(3.0).sum(0).item()
    with pytest.raises(IndexError, match=r"\[-1, 0\], but got 1"):
        a.sum(axis=1)


DTYPES = ["bool", "int32", "int64", "float32", "float64"]
SCALARS = [True, 2, 2.5]


def _promotion_cases():
    for x in DTYPES:
        for y in DTYPES:
            yield x, (y, 1)               # a tensor with dims
            yield x, (y, 0)               # a 0-d tensor
        for s in SCALARS:
            yield x, s


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("left, right", list(_promotion_cases()))
@pytest.mark.parametrize("op", ["add", "mul", "truediv", "lt"])
def test_binary_op_dtypes_follow_torchs_promotion(left, right, op, default):
    """torch with the same default float type is the oracle."""
    torch = import_torch()
    import operator
    fn = getattr(operator, op)
    a = np.array([1, 0, 3]).astype(left)
    b = right if not isinstance(right, tuple) else (
        np.array([2, 1, 1]) if right[1] else np.array(2)).astype(right[0])
    tb = torch.tensor(b) if isinstance(b, np.ndarray) else b
    torch.set_default_dtype(getattr(torch, default))
    cg.set_default_dtype(getattr(cg, default))
    try:
        kind, _ = _torch_error(lambda: fn(torch.tensor(a), tb))
        want = None if kind else fn(torch.tensor(a), tb).numpy()
        if want is None:
            with pytest.raises((TypeError, ValueError, RuntimeError)):
                fn(cg.tensor(a), b)
            return
        got = fn(cg.tensor(a), b)
    finally:
        torch.set_default_dtype(torch.float32)
        cg.set_default_dtype(cg.float32)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.array, want)


def test_a_mixed_dtype_op_gives_each_gradient_its_tensors_dtype():
    a = cg.tensor(np.ones(3, np.float32), requires_grad=True)
    b = cg.tensor(np.full(3, 2.0), requires_grad=True)
    y = (a * b).sum()
    assert y.dtype == np.float64
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert (cg.tensor(np.array([1, 2], np.int32)) + 2.5).array.tolist() == [3.5, 4.5]


def test_relu_and_sigmoid_at_infinities_and_nan():
    x = cg.tensor(np.array([-np.inf, np.inf, np.nan, -40.0]), requires_grad=True)
    np.testing.assert_array_equal(x.relu().array, [0.0, np.inf, np.nan, 0.0])
    s = x.sigmoid()
    np.testing.assert_array_equal(s.array[:3], [0.0, 1.0, np.nan])
    assert s.array[3] == pytest.approx(4.248354255291589e-18, rel=1e-15)


def test_bool_tensor_to_a_python_bool_power_is_torchs_shortcut():
    """torch: a bool tensor ** True is itself, ** False is ones (bool); ** a bool tensor or
    with a bool base of a tensor exponent is refused; ** 2 promotes to int64."""
    torch = import_torch()
    a = np.array([True, False, True])
    for b in (True, False, 2):          # (2.0: float64 here, float32 in torch — issue 16)
        got, want = cg.tensor(a) ** b, torch.tensor(a) ** b
        assert got.dtype == want.numpy().dtype and (got.array == want.numpy()).all(), b
    with pytest.raises(TypeError, match="pow"):
        cg.tensor(a) ** cg.tensor(np.array(True))


@pytest.mark.parametrize("exponent", [0.5, -0.5, 2, -1, 1.5])
def test_power_of_special_values_is_torchs(exponent):
    """±inf, ±0 and NaN to a scalar power: torch computes ±½ as sqrt and 1/sqrt, so
    (−inf) ** 0.5 is NaN and (−0) ** −0.5 is −inf (found by the long fuzz profile)."""
    torch = import_torch()
    x = np.array([-np.inf, -0.0, 0.0, -0.4, 1.9, np.inf, np.nan], dtype=np.float32)
    with np.errstate(all="ignore"):
        got = (cg.tensor(x) ** exponent).array
    want = (torch.tensor(x) ** exponent).numpy()
    assert got.dtype == want.dtype
    number = ~np.isnan(want)                   # (a NaN's sign bit means nothing)
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))
    np.testing.assert_allclose(got, want, rtol=1e-6)
