"""cg.autograd.Function against the same Function written for torch: values, gradients,
double backward, the ctx API, the setup_context form, multiple outputs and torch's errors."""

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad.autograd import modify
from convgrad.autograd.function import Function, once_differentiable
from convgrad.autograd.gradcheck import gradcheck, gradgradcheck

torch = import_torch()
F = cg.functional


def family(lib, conv, conv_t):
    """The same Functions, built for convgrad (lib=cg) or torch (lib=torch)."""
    base = Function if lib is cg else torch.autograd.Function

    class Cube(base):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    class Exp(base):                       # saves its OUTPUT: double backward must see its graph
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class Conv(base):                      # a learner's conv: conv-based gradients
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return conv(x, w)

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            gx = conv_t(g, w) if ctx.needs_input_grad[0] else None
            gw = conv(x.transpose(0, 1), g.transpose(0, 1)).transpose(0, 1)
            return gx, gw

    class Scale(base):                     # non-tensor argument
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    class Split(base):                     # two outputs
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2, x * x

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            return g1 * 2 + g2 * 2 * x

    return Cube, Exp, Conv, Scale, Split


CG = dict(zip("Cube Exp Conv Scale Split".split(),
              family(cg, F.conv2d, F.conv_transpose2d)))
TH = dict(zip("Cube Exp Conv Scale Split".split(),
              family(torch, torch.nn.functional.conv2d, torch.nn.functional.conv_transpose2d)))


def pair(a, requires_grad=True):
    return (cg.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def close(got, want, dtype="float64"):
    got = got.detach().numpy() if isinstance(got, cg.Tensor) else got
    want = want.detach().numpy()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-10 if dtype == "float64" else 1e-5,
                               atol=1e-12 if dtype == "float64" else 1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["Cube", "Exp"])
def test_values_gradients_and_double_backward_match_torch(name, dtype):
    a = np.random.default_rng(0).standard_normal((2, 3)).astype(dtype)
    (x, tx), (v, tv) = pair(a), pair(np.linspace(-1, 1, 6).reshape(2, 3).astype(dtype), False)
    y, ty = CG[name].apply(x), TH[name].apply(tx)
    close(y, ty, dtype)
    (gx,) = cg.autograd.grad((y * v).sum(), x, create_graph=True)
    (tgx,) = torch.autograd.grad((ty * tv).sum(), tx, create_graph=True)
    close(gx, tgx, dtype)
    (ggx,) = cg.autograd.grad((gx * gx).sum(), x)
    (tggx,) = torch.autograd.grad((tgx * tgx).sum(), tx)
    close(ggx, tggx, dtype)


def test_a_hand_written_conv_passes_gradgradcheck_and_matches_torch():
    rng = np.random.default_rng(1)
    (x, tx), (w, tw) = (pair(rng.standard_normal((2, 2, 5, 5))),
                        pair(rng.standard_normal((3, 2, 3, 3))))
    assert gradcheck(CG["Conv"].apply, (x, w))
    assert gradgradcheck(CG["Conv"].apply, (x, w))
    y, ty = CG["Conv"].apply(x, w), TH["Conv"].apply(tx, tw)
    close(y, ty)
    close(y, F.conv2d(x, w))
    g = rng.standard_normal(y.shape)
    gx, gw = cg.autograd.grad(y, (x, w), cg.tensor(g), create_graph=True)
    tgx, tgw = torch.autograd.grad(ty, (tx, tw), torch.tensor(g), create_graph=True)
    close(gx, tgx)
    close(gw, tgw)
    loss, tloss = (gx ** 2).sum() + (gw ** 2).sum(), (tgx ** 2).sum() + (tgw ** 2).sum()
    for got, want in zip(cg.autograd.grad(loss, (x, w)), torch.autograd.grad(tloss, (tx, tw))):
        close(got, want)


def test_non_tensor_arguments_keywords_and_needs_input_grad():
    x, tx = pair(np.array([1.0, 2.0]))
    y, ty = CG["Scale"].apply(x, k=3.0), TH["Scale"].apply(tx, k=3.0)
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad)
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append((ctx.needs_input_grad, cg.is_grad_enabled()))
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    Probe.apply(x, cg.tensor(np.ones(2)), 2)
    assert seen == [((True, False, False), False)]          # forward runs under no_grad


def test_multiple_outputs_call_backward_once_with_zeros_or_none():
    x, tx = pair(np.array([0.5, -1.5]))
    a, b = CG["Split"].apply(x)
    ta, tb = TH["Split"].apply(tx)
    assert a.grad_fn is not None and b.requires_grad
    (a.sum() + (b * 3).sum()).backward()
    (ta.sum() + (tb * 3).sum()).backward()
    close(x.grad, tx.grad)
    calls = []

    class Lazy(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            calls.append((g1 is None, g2 is None))
            return g1 * 2

    a, _ = Lazy.apply(x)
    a.sum().backward()
    assert calls == [(False, True)]
    zeros = []

    class Eager(Lazy):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            zeros.append(g2.tolist())
            return g1 * 2

    Eager.apply(x)[0].sum().backward()
    assert zeros == [[0.0, 0.0]]


def test_setup_context_form_with_defaults():
    class Pow(Function):
        @staticmethod
        def forward(x, p=3.0):
            return x ** p, 7

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, p = inputs
            assert isinstance(output, tuple) and not cg.is_grad_enabled()
            ctx.save_for_backward(x)
            ctx.p = p

        @staticmethod
        def backward(ctx, g, g_int):
            assert g_int is None
            (x,) = ctx.saved_tensors
            return g * ctx.p * x ** (ctx.p - 1), None

    x = cg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y, seven = Pow.apply(x)
    assert seven == 7
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]
    assert gradgradcheck(lambda t: Pow.apply(t)[0], (x,))


def test_non_differentiable_outputs_and_plain_results_without_grad():
    class ArgMaxAndValue(Function):
        @staticmethod
        def forward(ctx, x):
            index = cg.tensor(np.array([int(np.argmax(x.array))]))
            mask = cg.tensor((x.array == x.array.max()).astype(x.array.dtype))
            ctx.mark_non_differentiable(index, mask)
            ctx.save_for_backward(mask)
            return x.max(), index, mask

        @staticmethod
        def backward(ctx, g, g_index, g_mask):
            (mask,) = ctx.saved_tensors
            assert g_index.dtype == np.int64 and not g_index.array.any()
            return g * mask

    x = cg.tensor(np.array([1.0, 5.0, 2.0]), requires_grad=True)
    value, index, mask = ArgMaxAndValue.apply(x)
    assert value.requires_grad and not index.requires_grad and not mask.requires_grad
    value.backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    with cg.no_grad():
        y = CG["Cube"].apply(x)
    assert not y.requires_grad and y.grad_fn is None
    y = CG["Cube"].apply(cg.tensor(np.ones(2)))
    assert not y.requires_grad


def test_gradients_are_summed_to_the_input_shape_and_cast_to_its_dtype():
    class Wide(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return cg.tensor(np.ones((3, 2), dtype=np.float32)) * g.array.item()

    x = cg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    Wide.apply(x).backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [3.0, 3.0]


def make_fn(backward, forward=lambda ctx, x, *rest: x * 2):
    return type("Bad", (Function,), {"forward": staticmethod(forward),
                                     "backward": staticmethod(backward)})


@pytest.mark.parametrize("backward, message", [
    (lambda ctx, g: (g, g), r"BadBackward returned an incorrect number of gradients "
                            r"\(expected 1, got 2\)"),
    (lambda ctx, g: g[:1], r"returned an invalid gradient at index 0 - got \[1\] but expected "
                           r"shape compatible with \[2\]"),
    (lambda ctx, g: 3, r"expected Variable or None \(got int\)"),
])
def test_wrong_gradients_are_torchs_errors(backward, message):
    x = cg.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match=message):
        make_fn(backward).apply(x).sum().backward()


def test_gradient_for_a_non_tensor_argument_is_an_error():
    x = cg.tensor(np.ones(2), requires_grad=True)
    bad = make_fn(lambda ctx, g: (g, g), forward=lambda ctx, x, k: x * k)
    with pytest.raises(RuntimeError, match="different than None at position 2, but the "
                                           "corresponding forward input was not a Variable"):
        bad.apply(x, 2.0).sum().backward()
    assert make_fn(lambda ctx, g: (g, None, None)).apply(x).requires_grad   # extra Nones: fine


def test_saved_tensors_are_freed_and_checked_for_in_place_updates():
    x = cg.tensor(np.array([0.1, 0.2]), requires_grad=True)
    captured = []

    class Keep(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            captured.append(ctx)
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g

    y = Keep.apply(x)
    y.sum().backward(retain_graph=True)
    assert captured[0].saved_tensors[0] is x
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _ = captured[0].saved_tensors
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.sum().backward()
    y = CG["Exp"].apply(x)
    with cg.no_grad():
        modify(y, lambda v: v * 2, "mul_")
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_ctx_and_class_misuse():
    x = cg.tensor(np.ones(2), requires_grad=True)

    class Dirty(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x

    with pytest.raises(NotImplementedError, match="mark_dirty"):
        Dirty.apply(x)
    saves_float = make_fn(lambda ctx, g: g,
                          forward=lambda ctx, x: ctx.save_for_backward(x, 3.0) or x * 2)
    with pytest.raises(TypeError, match="argument 1 is of type float"):
        saves_float.apply(x)
    with pytest.raises(NotImplementedError, match="must implement the forward"):
        type("NoForward", (Function,), {}).apply(x)
    no_backward = type("NoBackward", (Function,), {"forward": staticmethod(lambda ctx, x: x * 2)})
    with pytest.raises(NotImplementedError, match="implement either the backward or vjp"):
        no_backward.apply(x).sum().backward()
    with pytest.warns(DeprecationWarning), pytest.raises(RuntimeError, match="Legacy autograd"):
        CG["Cube"]()(x)


def test_once_differentiable():
    grad_modes = []

    class Once(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            grad_modes.append(cg.is_grad_enabled())
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = cg.tensor(np.array([1.0, 3.0]), requires_grad=True)
    (gx,) = cg.autograd.grad(Once.apply(x).sum(), x, create_graph=True)
    assert gx.tolist() == [2.0, 6.0] and not gx.requires_grad and grad_modes == [False]
    seed = cg.tensor(np.ones(2), requires_grad=True)
    (gx,) = cg.autograd.grad(Once.apply(x), x, seed, create_graph=True)
    assert gx.requires_grad
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was "
                                           "marked with @once_differentiable"):
        gx.sum().backward()


def test_public_names():
    """What convgrad/autograd/__init__.py exports (torch.autograd's names)."""
    assert cg.autograd.Function is Function
    assert cg.autograd.function.once_differentiable is once_differentiable
    assert cg.autograd.gradcheck is gradcheck and cg.autograd.gradgradcheck is gradgradcheck
    y = CG["Exp"].apply(cg.tensor(np.ones(1), requires_grad=True))
    assert y.grad_fn.name() == "ExpBackward" and "grad_fn=<ExpBackward>" in repr(y)
