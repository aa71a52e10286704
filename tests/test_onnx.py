"""convgrad.onnx.export: onnxruntime (a client nobody here wrote) runs the exported graph and
reproduces convgrad's eval-mode output; what cannot be exported is refused by name."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from helpers import check_onnx, conv_cases, import_optional
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg
import convgrad.nn as nn
import convgrad.nn.functional as F


class _Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 8, 3, stride=2, groups=2)
        self.ct = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.fc = nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        x = nn.ReLU(inplace=True)(self.c2(F.relu(self.c1(x))))
        x = self.fc(self.ct(x).view(x.size(0), -1))
        y = x.permute(1, 0).transpose(0, 1)[:, 2:7]
        return cg.cat([y * 2 - 1, cg.tanh(y)], 1), cg.where(y > 0, y, -y).clamp(0.1, 0.5)


def test_a_conv_net_with_shape_ops_runs_in_onnxruntime_at_any_batch():
    cg.manual_seed(0)
    check_onnx(_Mixed(), cg.randn(2, 1, 8, 8), batch_sizes=(5, 1))


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 2, "same"])
def test_conv_configurations(dims, padding):
    cg.manual_seed(dims)
    conv = getattr(nn, f"Conv{dims}d")(4, 6, 3, padding=padding, dilation=2, groups=2,
                                       bias=dims != 2)
    check_onnx(conv, cg.randn(2, 4, *(7,) * dims))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padding_modes_export(mode):
    cg.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode)
    check_onnx(conv, cg.randn(1, 2, 6, 5), batch_sizes=(3,))


def test_elementwise_and_comparisons_match():
    class Net(nn.Module):
        def forward(self, x):
            y = cg.sqrt(x.abs() + 1) - cg.exp(-x) * cg.sigmoid(x) / 3 + x ** 2
            mask = (x >= 0.1) & (x < 2) | ~(x != x)
            return cg.where(mask, cg.log1p(x.abs()), y.expm1().clamp(max=3))
    check_onnx(Net(), cg.randn(3, 4), batch_sizes=(2,))


def test_unsupported_ops_are_listed_in_one_error():
    import_optional("onnx")

    class Net(nn.Module):
        def forward(self, x):
            return cg.cumsum(x, 1).median(1).values
    with pytest.raises(cg.onnx.UnsupportedOperatorError, match="no ONNX translation for"):
        cg.onnx.export(Net(), cg.randn(2, 3), io.BytesIO())


def test_a_value_from_an_untraced_op_is_refused_not_frozen(monkeypatch):
    import_optional("onnx")

    class Net(nn.Module):
        def forward(self, x):
            return x * cg.Tensor(np.sign(x.numpy()))      # leaves the graph through NumPy
    with pytest.raises(ValueError, match="frozen into the graph"):
        cg.onnx.export(Net(), cg.randn(4, 3), io.BytesIO())


def test_bad_arguments_are_named():
    import_optional("onnx")
    net = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="opset_version"):
        cg.onnx.export(net, cg.randn(1, 2), io.BytesIO(), opset_version=9)
    with pytest.raises(ValueError, match="dynamic_axes names 'y'"):
        cg.onnx.export(net, cg.randn(1, 2), io.BytesIO(), dynamic_axes={"y": [0]})
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        cg.onnx.export(net, cg.randn(1, 2), io.BytesIO(), bogus=1)
    with pytest.raises(TypeError, match="args must be a Tensor"):
        cg.onnx.export(net, "x", io.BytesIO())


def test_the_model_keeps_its_mode_and_the_file_is_written(tmp_path):
    onnx = import_optional("onnx")
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    cg.onnx.export(net, cg.randn(1, 3), tmp_path / "m.onnx", output_names=["y"])
    assert net.training
    model = onnx.load(tmp_path / "m.onnx")
    onnx.checker.check_model(model)
    assert [o.name for o in model.graph.output] == ["y"]
    assert {i.name for i in model.graph.initializer} >= {"0.bias"}


class _Functional(nn.Module):
    """``F.conv{d}d`` / ``F.conv_transpose{d}d`` with the drawn options, weights as parameters."""

    def __init__(self, fn, w, b, **options):
        super().__init__()
        self.fn, self.options = fn, options
        self.weight = nn.Parameter(cg.tensor(w))
        self.bias = None if b is None else nn.Parameter(cg.tensor(b))

    def forward(self, x):
        return self.fn(x, self.weight, self.bias, **self.options)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(conv_cases(dtype="float32"), st.booleans())
def test_drawn_conv_configurations(case, bias):
    """Any valid conv (every padding spelling, per-side pairs, stride, dilation, groups, 1-3-d)
    exports to one Conv that onnxruntime runs with convgrad's numbers (and another batch)."""
    x, w, b = case.arrays()
    conv = _Functional(getattr(F, f"conv{case.ndim}d"), w, b if bias else None, **case.opts)
    check_onnx(conv, cg.tensor(x), batch_sizes=(2,), rtol=1e-4, atol=1e-4)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(conv_cases(dtype="float32", transposed=True), st.booleans())
def test_drawn_conv_transpose_configurations(case, bias):
    x, w, b = case.arrays(transposed=True)
    if isinstance(case.padding, str) or (isinstance(case.padding, tuple)
                                         and isinstance(case.padding[0], tuple)):
        case = replace(case, padding=0)    # conv_transpose takes symmetric padding only
    options = dict(case.opts, output_padding=case.output_padding)
    fn = getattr(F, f"conv_transpose{case.ndim}d")
    check_onnx(_Functional(fn, w, b if bias else None, **options), cg.tensor(x),
               batch_sizes=(2,), rtol=1e-4, atol=1e-4)
