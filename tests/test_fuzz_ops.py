"""Fuzz targets for the convolutions: ``ops.conv``, ``conv_grad_input``, ``conv_grad_weight``,
``conv_transpose``, ``F.conv1d/2d/3d``, ``F.conv_transpose1d/2d/3d`` and the ``nn`` layers.

- valid random configurations (1–3 d, stride, dilation, per-side padding, groups,
  output_padding up to max(stride, dilation) − 1) give torch's values and both gradients
  (float64, 1e-10), through ops and through autograd (second order for the transposed conv);
- one NaN or ±inf in x, w or ∂L/∂y lands where torch's does, whichever method is forced;
- every argument broken by one of its rules (type, sign, length, rank, dtype) is refused with a
  ValueError/TypeError naming the op, within the time and memory bounds;
- huge strides, dilations and paddings give torch's result or a refusal naming the bytes.
"""

import numpy as np
from fuzzing import Array, Int, Ints, assert_same, bounded, breaking, fuzz, refused
from helpers import Case, check_op, conv_cases, import_torch, torch_conv_and_grads
from hypothesis import assume, given
from hypothesis import strategies as st

import convgrad as cg
import convgrad.functional as F
from convgrad import nn, ops
from convgrad.ops.correlate import METHODS

torch = import_torch()
tF = torch.nn.functional  # noqa: N816


def as_dims(value, d):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * d


def torch_transpose(case: Case, x, w, b, dy=None):
    """torch's transposed conv (per-side padding by cropping the unpadded result) and, given
    ∂L/∂y, its ∂x, ∂w, ∂b."""
    conv_t = getattr(tF, f"conv_transpose{case.ndim}d")
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv_t(tx, tw, tb, stride=case.stride, padding=0, output_padding=case.output_padding,
               groups=case.groups, dilation=case.dilation)
    crop = tuple(slice(lo, y.shape[2 + i] - hi) for i, (lo, hi) in enumerate(case.pairs()))
    y = y[(slice(None), slice(None)) + crop]
    if dy is None:
        return y.detach().numpy()
    y.backward(torch.tensor(dy))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


def autograd(fn, arrays, dy):
    """Our forward and the gradients of ⟨y, dy⟩ for every array."""
    ts = [cg.tensor(a, requires_grad=True) for a in arrays]
    y = bounded(fn, *ts)
    return (y.array, *(g.array for g in cg.grad(y, ts, cg.tensor(dy))))


# ----------------------------------------------------------------------------- valid input

@fuzz(40)
@given(conv_cases(dims=(1, 2, 3)))
def test_fuzz_conv_matches_torch(case):
    """ops.conv and its two gradients, and F.convNd with autograd (∂x, ∂w, ∂b), vs torch."""
    x, w, b = case.arrays()
    y, dy, dx, dw = torch_conv_and_grads(case, x, w, b)
    assert_same(bounded(ops.conv, x, w, b, **case.opts), y, "ops.conv")
    assert_same(bounded(ops.conv_grad_input, dy, w, x.shape, **case.opts), dx, "∂x")
    assert_same(bounded(ops.conv_grad_weight, x, dy, w.shape, **case.opts), dw, "∂w")
    fn = getattr(F, f"conv{case.ndim}d")
    got = autograd(lambda a, c, e: fn(a, c, e, case.stride, case.padding, case.dilation,
                                      case.groups), (x, w, b), dy)
    for g, want, what in zip(got, (y, dx, dw, dy.sum(axis=(0, *range(2, dy.ndim)))),
                             ("F forward", "F ∂x", "F ∂w", "F ∂b")):
        assert_same(g, want, what)


@fuzz(40)
@given(conv_cases(dims=(1, 2, 3), transposed=True))
def test_fuzz_conv_transpose_matches_torch(case):
    """ops.conv_transpose and F.conv_transposeNd (∂x, ∂w, ∂b) vs torch — output_padding drawn
    up to max(stride, dilation) − 1, so stride ≤ output_padding < dilation occurs (~1 in 9)."""
    x, w, b = case.arrays(transposed=True)
    opts = dict(stride=case.stride, padding=case.padding, output_padding=case.output_padding,
                groups=case.groups, dilation=case.dilation)
    y = torch_transpose(case, x, w, b)
    assert_same(bounded(ops.conv_transpose, x, w, b, **opts), y, "ops.conv_transpose")
    dy = np.random.default_rng(case.seed).standard_normal(y.shape)
    want = torch_transpose(case, x, w, b, dy)
    fn = getattr(F, f"conv_transpose{case.ndim}d")
    got = autograd(lambda a, c, e: fn(a, c, e, **opts), (x, w, b), dy)
    for g, t, what in zip(got, want, ("F forward", "F ∂x", "F ∂w", "F ∂b")):
        assert_same(g, t, what)


@fuzz(15)
@given(conv_cases(dims=(1, 2), transposed=True, max_size=5))
def test_fuzz_conv_transpose_second_order_matches_torch(case):
    """The gradient of Σ grad·v (double backward) of the transposed conv, symmetric padding."""
    pairs = case.pairs()
    assume(all(lo == hi for lo, hi in pairs))
    x, w, _ = case.arrays(transposed=True)
    opts = dict(stride=case.stride, padding=tuple(lo for lo, _ in pairs),
                output_padding=case.output_padding, groups=case.groups, dilation=case.dilation)
    ours, theirs = (getattr(m, f"conv_transpose{case.ndim}d") for m in (F, tF))
    bounded(check_op, lambda a, c: ours(a, c, **opts), lambda a, c: theirs(a, c, **opts), x, w,
            seed=case.seed)


@st.composite
def layer_cases(draw):
    transposed = draw(st.booleans())
    case = draw(conv_cases(dims=(1, 2, 3), transposed=transposed))
    assume(all(lo == hi for lo, hi in case.pairs()) and case.padding != "same")
    return transposed, case


@fuzz(20)
@given(layer_cases())
def test_fuzz_layers_match_torch(layer_case):
    """nn.ConvNd / nn.ConvTransposeNd built from the same arguments as torch's, with torch's
    weights copied in: outputs and the gradients of input, weight and bias."""
    transposed, case = layer_case
    d = case.ndim
    name = f"ConvTranspose{d}d" if transposed else f"Conv{d}d"
    padding = tuple(lo for lo, _ in case.pairs())
    kwargs = dict(stride=case.stride, padding=padding, dilation=case.dilation,
                  groups=case.groups)
    if transposed:
        kwargs["output_padding"] = case.output_padding
    t_layer = getattr(torch.nn, name)(case.cin, case.cout, case.kernel, **kwargs).double()
    layer = bounded(getattr(nn, name), case.cin, case.cout, case.kernel, dtype=np.float64,
                    **kwargs)
    layer.weight.array = t_layer.weight.detach().numpy().copy()
    layer.bias.array = t_layer.bias.detach().numpy().copy()
    x = np.random.default_rng(case.seed).standard_normal((case.batch, case.cin, *case.size))
    tx = torch.tensor(x, requires_grad=True)
    ty = t_layer(tx)
    dy = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(dy))
    ours = cg.tensor(x, requires_grad=True)
    y = bounded(layer, ours)
    grads = cg.grad(y, [ours, layer.weight, layer.bias], cg.tensor(dy))
    assert_same(y.array, ty.detach().numpy(), f"{name} forward")
    for g, t, what in zip(grads, (tx.grad, t_layer.weight.grad, t_layer.bias.grad),
                          ("∂x", "∂weight", "∂bias")):
        assert_same(g.array, t.numpy(), f"{name} {what}")


# ----------------------------------------------------------------------------- NaN and inf

@fuzz(40)
@given(conv_cases(dims=(1, 2, 3)), st.sampled_from([None, *METHODS]),
       st.sampled_from(["x", "w", "dy"]), st.sampled_from([np.nan, np.inf, -np.inf]),
       st.integers(0, 2**16))
def test_fuzz_nonfinite_values_land_where_torchs_do(case, method, where, value, at):
    """One NaN/±inf in x, w or ∂L/∂y: forward, ∂x, ∂w (= the transposed conv of ∂L/∂y) with
    any method forced have torch's NaN and ±inf pattern (float64)."""
    x, w, b = case.arrays()
    if where != "dy":
        a = x if where == "x" else w
        a.flat[at % a.size] = value
    _, dy0, _, _ = torch_conv_and_grads(case, x, w, b)
    dy = dy0.copy()
    if where == "dy":
        dy.flat[at % dy.size] = value
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    conv = getattr(tF, f"conv{case.ndim}d")
    pairs = case.pairs()
    ty = conv(tF.pad(tx, [v for p in reversed(pairs) for v in p]), tw, stride=case.stride,
              dilation=case.dilation, groups=case.groups)
    ty.backward(torch.tensor(dy))
    with ops.forced_method(method):
        assert_same(bounded(ops.conv, x, w, **case.opts), ty.detach().numpy(), "forward")
        assert_same(bounded(ops.conv_grad_input, dy, w, x.shape, **case.opts), tx.grad.numpy(),
                    "∂x")
        assert_same(bounded(ops.conv_grad_weight, x, dy, w.shape, **case.opts),
                    tw.grad.numpy(), "∂w")


# ----------------------------------------------------------------------------- invalid input

@st.composite
def broken_calls(draw):
    """A valid call of one of the four ops with one argument broken by one of its rules."""
    d = draw(st.sampled_from([1, 2, 3]))
    op = draw(st.sampled_from(["conv", "conv_grad_input", "conv_grad_weight",
                               "conv_transpose"]))
    s, dil = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    x, w = np.ones((2, 2, *(4,) * d)), np.ones((2, 1, *(2,) * d))
    y_shape = (2, 2, *(((4 - dil - 1) // s + 1),) * d)
    args = {"conv": dict(x=x, w=w, b=np.ones(2)),
            "conv_grad_input": dict(dy=np.ones(y_shape), w=w, input_shape=x.shape),
            "conv_grad_weight": dict(x=x, dy=np.ones(y_shape), weight_shape=w.shape),
            "conv_transpose": dict(x=x, w=w, b=np.ones(2))}[op]
    options = dict(stride=s, dilation=dil, padding=0, groups=2)
    rules = {"stride": Ints(d, 1), "dilation": Ints(d, 1), "padding": Ints(d, 0),
             "groups": Int(1)}
    for name in args:
        rules[name] = (Ints(d + 2, 1, scalar=False) if name.endswith("shape")
                       else Array((1,)) if name == "b" else Array((d + 2,)))
    if op == "conv_transpose":
        options["output_padding"] = 0
        rules["output_padding"] = Ints(d, 0, max(s, dil) - 1)
    name = draw(st.sampled_from(sorted(rules)))
    bad = draw(breaking(rules[name]).filter(lambda v: not (name == "b" and v is None)))
    call = {**args, **options, name: bad}
    return op, call


@fuzz(80)
@given(broken_calls())
def test_fuzz_ops_refuse_every_broken_argument(op_call):
    op, call = op_call
    fn = getattr(ops, op)
    positional = [call.pop(k) for k in list(call) if k in ("x", "w", "dy", "input_shape",
                                                             "weight_shape")]
    refused(fn, *positional, op=op, **call)


@st.composite
def broken_layers(draw):
    """A layer constructor (or a call of F.convNd / F.conv_transposeNd) with one argument
    broken by its rules."""
    d = draw(st.sampled_from([1, 2, 3]))
    transposed = draw(st.booleans())
    name = f"ConvTranspose{d}d" if transposed else f"Conv{d}d"
    rules = {"in_channels": Int(1), "out_channels": Int(1), "kernel_size": Ints(d, 1),
             "stride": Ints(d, 1), "padding": Ints(d, 0), "dilation": Ints(d, 1),
             "groups": Int(1)}
    if transposed:
        rules["output_padding"] = Ints(d, 0, 0)
    arg = draw(st.sampled_from(sorted(rules)))
    bad = draw(breaking(rules[arg]))
    return name, {arg: bad}


@fuzz(60)
@given(broken_layers(), st.booleans())
def test_fuzz_layers_and_functions_refuse_every_broken_argument(layer, functional):
    """The constructor refuses the argument; the functional form refuses it at the call."""
    name, bad = layer
    arg, value = next(iter(bad.items()))
    if not functional:
        refused(getattr(nn, name), **{"in_channels": 2, "out_channels": 2, "kernel_size": 2,
                                      **bad}, op=name)
        return
    assume(arg not in ("in_channels", "out_channels", "kernel_size"))
    d = int(name[-2])
    transposed = name.startswith("ConvTranspose")
    fn = getattr(F, f"conv_transpose{d}d" if transposed else f"conv{d}d")
    x, w = np.ones((1, 2, *(3,) * d)), np.ones((2, 1 if transposed else 2, *(2,) * d))
    refused(fn, x, w, **bad, op=("conv", f"conv{d}d", "conv_transpose"))


@fuzz(30)
@given(st.sampled_from(["stride", "dilation", "padding", "output_padding"]),
       st.integers(10**12, 10**40) | st.integers(10**6, 10**7), st.sampled_from([1, 2]),
       st.sampled_from([1, 2]))
def test_fuzz_huge_options_give_torchs_result_or_a_refusal(name, value, d, k):
    """A huge stride is one window per axis (torch's result); a huge padding, dilation or
    transposed output is computed where it fits and is otherwise refused before allocating,
    naming the bytes — never an OverflowError, a MemoryError or NumPy's "maximum dimension"."""
    n = 1 if name == "output_padding" else 3
    x = np.arange(1.0, n ** d + 1).reshape(1, 1, *(n,) * d)
    w = np.arange(1.0, k ** d + 1).reshape(1, 1, *(k,) * d)
    transposed = name == "output_padding"
    # (10**6–10**7: results of up to 10**14 bytes; the 1-d ones that fit the machine stay
    # within the fuzz bound only for the one-window stride)
    assume(value >= 10**12 or name == "stride" or d == 2 or (name == "dilation" and k == 1))
    opts = dict(stride=value, output_padding=value - 1) if transposed else {name: value}
    fn = ops.conv_transpose if transposed else ops.conv
    op = fn.__name__
    try:
        got = bounded(fn, x, w, **opts)
    except (ValueError, TypeError) as e:
        assert op in str(e) and ("bytes" in str(e) or "kernel larger" in str(e)), str(e)
        assert name != "stride", "a huge stride must compute"
        return
    if name == "stride":
        opts = {"stride": 100}                     # past the input: the same single window
    elif value >= 2**62:
        return                                     # past torch's int64 arithmetic
    want = getattr(tF, f"{op}{d}d")(torch.tensor(x), torch.tensor(w), **opts).numpy()
    assert_same(got, want, f"{op} {name}={value}")
