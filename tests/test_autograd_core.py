"""The Tensor core against torch: grad modes, versions and in-place rules, views, freeing,
hooks, conversions to Python and NumPy, dtype inference — each silent divergence of issue 16 as
a named regression test."""

import threading

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad.autograd import modify

torch = import_torch()


def pair(values, requires_grad=True, dtype=np.float64):
    """The same leaf in convgrad and in torch."""
    a = np.asarray(values, dtype=dtype)
    return cg.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


# -- grad modes
def test_set_grad_enabled_as_a_plain_call_switches_recording():
    try:
        cg.set_grad_enabled(False)
        assert not cg.is_grad_enabled()
        x = cg.tensor([1.0], requires_grad=True)
        assert not (x * 2).requires_grad
    finally:
        cg.set_grad_enabled(True)
    assert cg.is_grad_enabled()


def test_grad_modes_as_context_managers_and_decorators():
    @cg.no_grad()
    def called():
        return cg.is_grad_enabled()

    @cg.no_grad
    def bare():
        return cg.is_grad_enabled()

    @cg.set_grad_enabled(False)
    def switched():
        return cg.is_grad_enabled()

    @cg.inference_mode()
    def inferred():
        return cg.is_grad_enabled()

    assert not called() and not bare() and not switched() and not inferred()
    assert cg.is_grad_enabled()
    with cg.no_grad():
        with cg.enable_grad():
            assert cg.is_grad_enabled()
        with cg.set_grad_enabled(True):
            assert cg.is_grad_enabled()
        assert not cg.is_grad_enabled()
    with cg.inference_mode(False):
        assert cg.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with cg.no_grad():
        t = threading.Thread(target=lambda: seen.append(cg.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# -- in place: torch's rules
def test_no_grad_update_of_a_parameter_changes_it_in_place():
    p = cg.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    same = p
    with cg.no_grad():
        modify(p, lambda old: old - 0.5 * p.grad, "sub_")
    assert p is same and p.tolist() == [0.0, 0.0] and p.requires_grad and p.is_leaf
    assert p._version == 1


def test_in_place_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    p, tp = pair([1.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        modify(p, lambda old: old + 1, "add_")
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        tp.add_(1)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        modify(p[0:1], lambda old: old + 1, "add_")


def test_in_place_on_non_leaves_gives_torchs_gradients():
    x, tx = pair([1.0, -2.0, 3.0])
    y = x * 2
    modify(y, lambda old: old + 1, "add_", reads_self=False)
    modify(y, lambda old: old * x, "mul_")
    modify(y, lambda old: old.relu(), "relu_", reads_self=False)
    ty = tx * 2
    ty.add_(1).mul_(tx).relu_()
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_in_place_through_a_view_reaches_the_base_and_both_gradients():
    x, tx = pair(np.arange(6.0).reshape(2, 3) - 2)
    w, tw = pair([0.5, 1.5, -1.0])
    h = x * 1
    modify(h[1], lambda old: old * w, "mul_")
    modify(h.reshape(-1), lambda old: old.relu(), "relu_", reads_self=False)
    th = tx * 1
    th[1].mul_(tw)
    th.view(-1).relu_()
    (h * h).sum().backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_modifying_a_saved_output_is_torchs_error_at_backward():
    x, tx = pair([1.0, 2.0])
    y, ty = x.exp(), tx.exp()
    modify(y, lambda old: old + 1, "add_", reads_self=False)
    ty.add_(1)
    for out in (y, ty):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_modifying_a_saved_input_is_an_error_never_a_wrong_gradient():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    z = h * h                         # z's backward reads h
    modify(h, lambda old: old + 10, "add_", reads_self=False)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_in_place_result_must_fit_dtype_and_shape():
    i = cg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        modify(i, lambda old: old * 1.5, "mul_")
    x = cg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        modify(x, lambda old: old + cg.tensor(np.ones((2, 2), np.float32)), "add_")
    f32 = cg.tensor([1.0, 2.0])
    modify(f32, lambda old: old + cg.tensor(np.ones(2)), "add_")      # float64 → float32 fits
    assert f32.dtype == np.float32 and f32.tolist() == [2.0, 3.0]


def test_detach_shares_memory_and_version_data_does_not_track():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert np.shares_memory(d.array, x.array) and not d.requires_grad
    modify(d, lambda old: old * 2, "mul_")
    assert x.tolist() == [2.0, 4.0] and x._version == 1
    data = x.data
    modify(data, lambda old: old + 1, "add_")
    assert x.tolist() == [3.0, 5.0] and x._version == 1      # .data: untracked, as torch
    x.data = cg.tensor([7.0, 8.0])
    assert x.tolist() == [7.0, 8.0] and x.requires_grad


# -- backward: freeing, retain_graph, inputs, accumulation
def test_second_backward_through_a_freed_graph_is_torchs_error():
    x, tx = pair([1.0, 2.0])
    y, ty = (x * x).sum(), (tx * tx).sum()
    y.backward()
    ty.backward()
    for out in (y, ty):
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            out.backward()


def test_retain_graph_allows_a_second_backward_and_grads_accumulate():
    x, tx = pair([1.0, 2.0])
    for a in (x, tx):
        y = (a * a * a).sum()
        y.backward(retain_graph=True)
        y.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_backward_inputs_restricts_accumulation():
    x, tx = pair([1.0, 2.0])
    w, tw = pair([3.0, 4.0])
    (x * w).sum().backward(inputs=[w])
    (tx * tw).sum().backward(inputs=[tw])
    assert x.grad is None and tx.grad is None
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_leaf_grads_never_alias_each_other():
    a, b = cg.tensor([1.0], requires_grad=True), cg.tensor([2.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.array, b.grad.array)
    seed = cg.tensor([5.0])
    c = cg.tensor([1.0], requires_grad=True)
    (c + 0).backward(seed)
    assert not np.shares_memory(c.grad.array, seed.array)


def test_grad_of_an_unused_input_is_torchs_error_unless_allowed():
    x, w = cg.tensor([1.0], requires_grad=True), cg.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        cg.grad(y, [x, w], retain_graph=True)
    gx, gw = cg.grad(y, [x, w], allow_unused=True, retain_graph=True)
    assert gw is None and gx.tolist() == [2.0]
    assert cg.grad(y, [w], materialize_grads=True)[0].tolist() == [0.0]


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        cg.tensor([1.0]).sum().backward()


# -- hooks, retain_grad, grad_fn, leaves
def test_hooks_and_retain_grad_as_torch():
    x, tx = pair([1.0, 2.0])
    results = []
    for a in (x, tx):
        h = a * 3
        h.retain_grad()
        handle = h.register_hook(lambda g: g * 10)
        a.register_hook(lambda g: g + 1)
        (h * h).sum().backward()
        results.append((h.grad.detach().numpy().copy(), a.grad.detach().numpy().copy()))
        handle.remove()
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs)


def test_grad_fn_names_the_op_and_leaves_have_none():
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    assert x.is_leaf and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    assert repr(y.grad_fn) == "<MulBackward0 object>"
    assert y.grad_fn.next_functions[0][0] == "AccumulateGrad"
    assert cg.tensor([1.0]).is_leaf


NAMED_OPS = {"rsub": lambda t: 1 - t, "select": lambda t: t[0], "slice": lambda t: t[:, 1:],
             "int then slice": lambda t: t[0, 1:], "advanced": lambda t: t[[0]],
             "None": lambda t: t[None], "ellipsis": lambda t: t[..., 0],
             "sum over dim": lambda t: t.sum(1), "mean over dim": lambda t: t.mean(0),
             "reshape": lambda t: t.reshape(12), "norm": lambda t: t.norm(),
             "log1p": lambda t: t.log1p(), "expm1": lambda t: t.expm1(),
             "transpose": lambda t: t.transpose(0, 1), "matmul": lambda t: t @ t.T}


@pytest.mark.parametrize("case", NAMED_OPS)
def test_grad_fn_names_are_torchs(case):
    c, t = pair(np.arange(12.0).reshape(3, 4) + 1)
    assert NAMED_OPS[case](c).grad_fn.name() == NAMED_OPS[case](t).grad_fn.name()


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="floating point"):
        cg.tensor([1, 2], requires_grad=True)
    x = cg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad = False
    assert cg.tensor([1.0]).requires_grad_().requires_grad


# -- conversions to Python and NumPy
def test_python_conversions_of_one_element():
    loss = cg.tensor(0.25)
    assert float(loss) == 0.25 and int(cg.tensor([3])) == 3 and bool(loss > 0)
    assert f"{loss:.3f}" == "0.250" and [10, 20][cg.tensor(1)] == 20
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cg.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="2 elements cannot be converted"):
        float(cg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="only integer tensors"):
        [1, 2][cg.tensor(0.0)]


def test_len_iter_and_size():
    t = cg.tensor(np.zeros((2, 3)))
    assert len(t) == 2 and [r.shape for r in t] == [(3,), (3,)]
    assert t.size() == (2, 3) == t.shape and t.size(1) == t.size(-1) == 3
    assert isinstance(t.size(), cg.Size) and t.size().numel() == 6 == t.numel()
    assert t.dim() == t.ndimension() == 2 and repr(t.size()) == "convgrad.Size([2, 3])"
    with pytest.raises(IndexError):
        t.size(2)
    with pytest.raises(TypeError, match="0-d"):
        len(cg.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(cg.tensor(1.0))


def test_numpy_views_and_torchs_error_while_requiring_grad():
    t = cg.tensor([[1.0, 2.0]])
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (1, 2) and np.shares_memory(a, t.array)
    x = cg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(x)
    assert x.detach().numpy().tolist() == [1.0]


def test_dlpack_shares_memory_both_ways():
    t = cg.tensor([1.0, 2.0])
    tt = torch.from_dlpack(t)
    tt[0] = 7
    assert t.tolist() == [7.0, 2.0]
    assert np.shares_memory(np.from_dlpack(t), t.array)
    back = cg.from_dlpack(torch.arange(3.0))
    assert back.tolist() == [0.0, 1.0, 2.0] and back.dtype == np.float32
    with pytest.raises(RuntimeError, match="require gradient"):
        torch.from_dlpack(cg.tensor([1.0], requires_grad=True))


# -- dtypes: float32 by default, float64 on request
@pytest.mark.parametrize("data", [[1.0, 2.0], [1, 2], [True, False], [1, 2.5], 3.0, 7, True,
                                  [[1, 2], [3, 4]], np.float64(1.5), np.arange(3)])
def test_tensor_infers_torchs_dtype(data):
    assert cg.tensor(data).dtype == torch.tensor(data).numpy().dtype


def test_set_default_dtype_makes_float64_the_working_precision():
    try:
        cg.set_default_dtype(cg.float64)
        assert cg.get_default_dtype() == np.float64 and cg.tensor([1.0]).dtype == np.float64
        assert (cg.tensor([1, 2]) / 2).dtype == np.float64
    finally:
        cg.set_default_dtype(cg.float32)
    assert cg.tensor([1.0]).dtype == cg.float32 == np.float32
    assert (cg.tensor([1, 2]) / 2).dtype == np.float32
    with pytest.raises(TypeError, match="floating-point"):
        cg.set_default_dtype(cg.int64)


def test_tensor_copies_as_tensor_and_from_numpy_share():
    a = np.zeros(3)
    assert not np.shares_memory(cg.tensor(a).array, a)
    assert np.shares_memory(cg.as_tensor(a).array, a)
    assert np.shares_memory(cg.from_numpy(a).array, a)


def test_legacy_constructor():
    assert cg.Tensor(2, 3).shape == (2, 3) and cg.Tensor(2, 3).dtype == np.float32
    assert cg.Tensor([1, 2]).dtype == np.float32
    assert cg.Tensor(np.arange(3)).dtype == np.int64          # deviation: an ndarray is wrapped


def test_devices_cpu_only():
    t = cg.tensor([1.0])
    assert t.device == cg.device("cpu") and not t.is_cuda
    assert str(cg.device("cuda:0")) == "cuda:0"
    with pytest.raises(RuntimeError):
        cg.device("tpu")
    with pytest.raises(RuntimeError, match="CPU only"):
        cg.tensor([1.0], device="cuda")


def test_generators_are_reproducible_and_their_state_round_trips():
    a = cg.Generator().manual_seed(7)
    state = a.get_state()
    first = a._rng.random(3)
    a.set_state(state)
    np.testing.assert_array_equal(a._rng.random(3), first)
    np.testing.assert_array_equal(cg.Generator().manual_seed(7)._rng.random(3), first)
    assert a.initial_seed() == 7
    cg.manual_seed(3)
    x = cg.random.generator().random()
    cg.manual_seed(3)
    assert cg.random.generator().random() == x


def test_gpu_idioms_take_the_cpu_branch():
    assert not cg.cuda.is_available() and cg.cuda.device_count() == 0
    assert not cg.accelerator.is_available()
    cg.cuda.manual_seed_all(0)
    device = cg.device("cuda" if cg.cuda.is_available() else "cpu")
    assert cg.tensor([1.0], device=device).device == device
