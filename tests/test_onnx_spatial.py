"""convgrad.onnx.export of padding, pooling (max/avg/lp/adaptive) and fold/unfold: onnxruntime
runs each exported layer and reproduces convgrad's eval-mode output, at another batch size too;
what ONNX cannot express is refused by name."""

from __future__ import annotations

import io

import numpy as np
import pytest
from helpers import check_onnx, import_optional
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg
import convgrad.nn as nn
import convgrad.nn.functional as F


class Fn(nn.Module):
    """A function as a layer (F.pad with widths no nn.*Pad takes, crops included)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _run(model, shape, seed=0, batch_sizes=(3,), **options):
    rng = np.random.default_rng(seed)
    check_onnx(model, cg.tensor(rng.standard_normal(shape).astype(np.float32)),
               batch_sizes=batch_sizes, **options)


PADS = [
    (nn.ZeroPad1d((1, 2)), (2, 3, 5)),
    (nn.ZeroPad2d((1, 2, 0, 3)), (2, 3, 4, 4)),
    (nn.ZeroPad3d(1), (2, 2, 3, 3, 3)),
    (nn.ConstantPad1d(2, 3.5), (2, 3, 4)),
    (nn.ConstantPad2d((-1, 2, 1, -2), -1.0), (2, 3, 5, 5)),
    (nn.ConstantPad3d((1, 0, -1, 1, 0, 2), 2.0), (2, 2, 3, 3, 3)),
    (nn.ReflectionPad1d((2, 3)), (2, 3, 5)),
    (nn.ReflectionPad2d((3, 1, 0, 2)), (2, 3, 4, 5)),
    (nn.ReflectionPad3d(1), (2, 2, 3, 3, 3)),
    (nn.ReplicationPad1d((0, 4)), (2, 3, 5)),
    (nn.ReplicationPad2d((1, 0, 2, 1)), (2, 3, 4, 4)),
    (nn.ReplicationPad3d((2, 1, 0, 1, 1, 0)), (2, 2, 3, 3, 3)),
    (nn.CircularPad1d((3, 1)), (2, 3, 4)),
    (nn.CircularPad2d((1, 4, 2, 0)), (2, 3, 4, 4)),
    (nn.CircularPad3d(1), (2, 2, 3, 3, 3)),
    (Fn(lambda x: F.pad(x, (-1, 2, 2, -1), "reflect")), (2, 3, 4, 5)),
    (Fn(lambda x: F.pad(x, (3, -2, -1, 1), "replicate")), (2, 3, 4, 5)),
    (Fn(lambda x: F.pad(x, (-1, 3, 2, -2), "circular")), (2, 3, 4, 5)),
    (Fn(lambda x: F.pad(x, (1, 1, 0, 2))), (2, 3, 4, 5)),
    (Fn(lambda x: F.pad(x, (1, 1, 2, 0, 1, 1), value=-2.0)), (2, 3, 4)),   # the batch too
]


@pytest.mark.parametrize("opset", [17, 19])
@pytest.mark.parametrize("model, shape", PADS)
def test_padding(model, shape, opset):
    _run(model, shape, opset_version=opset)


POOLS = [
    (nn.MaxPool1d(2), (2, 3, 9)),
    (nn.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True), (2, 3, 10)),
    (nn.MaxPool1d(2, 1, 2, dilation=3), (2, 3, 6)),                 # pad ≥ kernel: a Pad
    (nn.MaxPool1d(2, 1, 2, dilation=3), (2, 3, 1)),                 # windows of padding only
    (nn.MaxPool1d(2, 1, 1, dilation=3), (2, 3, 2)),                 # … with pads as attributes
    (nn.MaxPool2d(3, 2, 1), (2, 3, 9, 8)),
    (nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True), (2, 3, 9, 8)),
    (nn.MaxPool2d((2, 3), (3, 1), (1, 1), ceil_mode=True), (2, 3, 8, 7)),
    (nn.MaxPool3d(2, ceil_mode=True), (2, 3, 5, 5, 5)),
    (nn.MaxPool3d(3, 2, 1, dilation=(1, 2, 1)), (2, 2, 6, 7, 5)),
    (nn.MaxPool2d(3, 2, 1, return_indices=True), (2, 3, 9, 8)),
    (nn.MaxPool1d(2, 2, 2, dilation=3, ceil_mode=True, return_indices=True), (2, 3, 9)),
    (nn.MaxPool3d(2, ceil_mode=True, return_indices=True), (2, 2, 5, 4, 5)),
    (nn.AvgPool1d(3, 2), (2, 3, 9)),
    (nn.AvgPool1d(3, 2, 1, ceil_mode=True), (2, 3, 10)),
    (nn.AvgPool2d(3, 2, 1), (2, 3, 9, 8)),
    (nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 3, 9, 8)),
    (nn.AvgPool2d(3, 2, 1, ceil_mode=True), (2, 3, 8, 8)),
    (nn.AvgPool2d(2, divisor_override=3), (2, 3, 8, 8)),
    (nn.AvgPool2d(3, 2, 1, ceil_mode=True, divisor_override=5), (2, 3, 8, 9)),
    (nn.AvgPool3d(2), (2, 3, 4, 4, 4)),
    (nn.AvgPool3d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 6, 5, 8)),
    (nn.LPPool1d(2, 3), (2, 3, 9)),
    (nn.LPPool2d(2, 2), (2, 3, 8, 8)),
    (nn.LPPool2d(2, 3, ceil_mode=True), (2, 3, 8, 8)),
    (nn.LPPool2d(1, (2, 3), stride=(1, 2)), (2, 3, 6, 7)),
    (nn.LPPool3d(4, 2), (2, 2, 4, 4, 6)),
    (nn.LocalResponseNorm(3), (2, 4, 5, 5)),
    (nn.LocalResponseNorm(4, alpha=0.1, beta=0.5, k=2.0), (2, 6, 3, 4)),
]


@pytest.mark.parametrize("model, shape", POOLS)
def test_pooling(model, shape):
    _run(model, shape)


ADAPTIVE = [
    (nn.AdaptiveAvgPool1d(3), (2, 3, 9)),
    (nn.AdaptiveAvgPool1d(4), (2, 3, 9)),
    (nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 9, 8)),
    (nn.AdaptiveAvgPool2d((4, 3)), (2, 3, 9, 8)),
    (nn.AdaptiveAvgPool2d(1), (2, 3, 9, 8)),
    (nn.AdaptiveAvgPool2d((None, 3)), (2, 3, 4, 7)),
    (nn.AdaptiveAvgPool3d((2, None, 3)), (2, 2, 4, 5, 7)),
    (nn.AdaptiveAvgPool2d(3), (4, 9, 6)),                          # unbatched
    (nn.AdaptiveMaxPool1d(3), (2, 3, 9)),
    (nn.AdaptiveMaxPool1d(4), (2, 3, 9)),
    (nn.AdaptiveMaxPool2d((3, 2)), (2, 3, 9, 8)),
    (nn.AdaptiveMaxPool2d((4, 3)), (2, 3, 9, 8)),
    (nn.AdaptiveMaxPool3d((2, 3, 2)), (2, 2, 4, 5, 6)),
    (nn.AdaptiveMaxPool2d((3, 4), return_indices=True), (2, 3, 9, 8)),
    (nn.AdaptiveMaxPool1d(3, return_indices=True), (3, 9)),        # unbatched
    (nn.AdaptiveMaxPool2d((None, 5)), (3, 4, 7)),                  # unbatched
]


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("model, shape", ADAPTIVE)
def test_adaptive_pooling(model, shape, opset):
    _run(model, shape, opset_version=opset)


FOLDING = [
    (nn.Unfold(2), (2, 3, 4, 4)),
    (nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), (2, 2, 6, 7)),
    (nn.Unfold(3, padding=(0, 2), stride=2), (3, 5, 6)),           # unbatched
    (nn.Fold((4, 4), 2), (2, 12, 9)),
    (nn.Fold((5, 6), (2, 3), dilation=(2, 1), padding=1, stride=2), (2, 12, 9)),
    (nn.Fold((8, 8), 3, stride=2), (2, 9, 9)),                     # the last row gets nothing
    (nn.Fold((4, 5), (1, 2), stride=(1, 3)), (8, 8)),              # unbatched
]


@pytest.mark.parametrize("model, shape", FOLDING)
def test_fold_unfold(model, shape):
    unbatched_fold = isinstance(model, nn.Fold) and len(shape) == 2   # axis 0 is C·kh·kw
    _run(model, shape, batch_sizes=() if unbatched_fold else (3,))


def test_unfold_and_fold_move_inf_and_nan_exactly():
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    x[0, 0, 1, 2], x[0, 1, 3, 3] = np.inf, np.nan
    model = Fn(lambda t: F.fold(F.unfold(t, 2, padding=1), (5, 5), 2, padding=1))
    check_onnx(model, cg.tensor(x))


@pytest.mark.parametrize("model", [nn.MaxPool2d(2, 1, 1, return_indices=True),
                                   nn.AdaptiveMaxPool2d(2, return_indices=True)])
def test_max_pool_ties_take_the_first_maximum(model):
    x = np.random.default_rng(0).integers(0, 3, (2, 2, 4, 6)).astype(np.float32)
    check_onnx(model, cg.tensor(x))


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_pooling_configurations(data):
    ndim = data.draw(st.integers(1, 3), "ndim")
    kind = data.draw(st.sampled_from(["max", "avg"]), "kind")
    kernel = data.draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim), "kernel")
    stride = data.draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim), "stride")
    dilation = ([1] * ndim if kind == "avg" else
                data.draw(st.lists(st.integers(1, 2), min_size=ndim, max_size=ndim), "dil"))
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    padding = [data.draw(st.integers(0, e // 2), "padding") for e in span]
    size = [data.draw(st.integers(max(1, e - 2 * p), 8), "size") for e, p in zip(span, padding)]
    ceil_mode = data.draw(st.booleans(), "ceil_mode")
    if kind == "max":
        indices = data.draw(st.booleans(), "return_indices") and dilation == [1] * ndim
        model = getattr(nn, f"MaxPool{ndim}d")(kernel, stride, padding, dilation,
                                               return_indices=indices, ceil_mode=ceil_mode)
    else:
        include = data.draw(st.booleans(), "count_include_pad")
        divisor = data.draw(st.one_of(st.none(), st.integers(1, 5)), "divisor_override")
        extra = {} if ndim == 1 else {"divisor_override": divisor}      # not in AvgPool1d
        model = getattr(nn, f"AvgPool{ndim}d")(kernel, stride, padding, ceil_mode, include,
                                               **extra)
    _run(model, (2, 2, *size))


def _export_error(model, shape) -> str:
    import_optional("onnx")
    with pytest.raises(ValueError) as info:
        cg.onnx.export(model, cg.randn(*shape), io.BytesIO())
    return str(info.value)


@pytest.mark.parametrize("model, shape, words", [
    (nn.AdaptiveMaxPool2d((4, 3), return_indices=True), (2, 3, 9, 8), "return_indices"),
    (nn.MaxPool1d(2, 1, 2, dilation=3, return_indices=True), (1, 2, 1), "return_indices"),
    (nn.AdaptiveAvgPool2d((0, 2)), (1, 2, 4, 4), "output size (0, 2)"),
    (Fn(lambda x: F.basic.pad_sides(x, ((1, 1),))), (1, 2, 3), "pad_sides"),
])
def test_what_onnx_cannot_express_is_refused_by_name(model, shape, words):
    assert words in _export_error(model, shape)
