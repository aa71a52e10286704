"""Conversions (``convgrad/methods/conversion.py``) against torch: every ``to`` form and when it
returns self, the dtype shorthands, ``type``/``type_as``, ``clone``, ``cpu``/``cuda``, and the
rule that a cast to an integer dtype leaves the graph."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, import_torch

import convgrad as cg

torch = import_torch()

FORMS = ["x.to(m.float32)", "x.to('cpu')", "x.to('cpu', m.float64)", "x.to(m.int64)",
         "x.to(x)", "x.to(m.float32, copy=True)", "x.to(device='cpu', dtype=m.float64)",
         "x.to(m.float64, True)", "x.to(dtype=m.float64, copy=False)",
         "x.to('cpu', non_blocking=True)", "x.to(m.device('cpu'))", "x.to()",
         "x.to(m.tensor([1]))", "x.float()", "x.double()", "x.half()", "x.long()", "x.int()",
         "x.short()", "x.bool()", "x.byte()", "x.char()", "x.type(m.float64)",
         "x.type(m.float32)", "x.type_as(m.tensor([1]))", "x.type_as(x.double())", "x.clone()",
         "x.cpu()", "x.to(m.float16).to(m.float32)"]


@pytest.mark.parametrize("form", FORMS)
def test_to_forms(form):
    out = []
    for m in (cg, torch):
        x = m.tensor(np.array([1.5, -2.0], np.float32), requires_grad=True)
        y = eval(form, {"m": m, "x": x})  # noqa: S307
        grad_fn = None if y.grad_fn is None else y.grad_fn.name()
        out.append((y is x, str(y.dtype).split(".")[-1], y.requires_grad, grad_fn,
                    y.detach().numpy().tolist()))
    assert out[0] == out[1]


def test_type_names():
    for dtype in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                  "bool"):
        want = torch.zeros(1, dtype=getattr(torch, dtype)).type()
        got = cg.tensor(np.zeros(1, dtype)).type()
        assert got == want.replace("torch.", "convgrad.")
    x = cg.tensor(np.ones(2, np.float32))
    assert x.type("convgrad.DoubleTensor").dtype == cg.float64
    assert x.type("torch.LongTensor").dtype == cg.int64


def test_integer_cast_leaves_graph():
    x = cg.tensor(np.array([1.5, 2.5]), requires_grad=True)
    for y in (x.long(), x.int(), x.bool(), x.to(cg.int64), x.type(cg.int32)):
        assert not y.requires_grad and y.grad_fn is None
    y = x.float()
    assert y.requires_grad and y.dtype == cg.float32


def test_clone_and_casts_are_differentiable():
    check_op(lambda x: x.clone() * x, lambda x: x.clone() * x, (3, 4))
    check_op(lambda x: x.float().double() * x, lambda x: x.float().double() * x, (3,),
             dtypes=("float64",))
    check_op(lambda x: cg.clone(x).to(cg.float64) ** 2, lambda x: torch.clone(x).to(
        torch.float64) ** 2, (3,), dtypes=("float32",))
    x = cg.tensor(np.ones(3))
    y = x.clone()
    y += 1
    assert x.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("expr, error", [
    ("x.cuda()", RuntimeError), ("x.to('cuda')", RuntimeError), ("x.to(0)", RuntimeError),
    ("x.to('float32')", RuntimeError), ("x.to(bad=1)", TypeError), ("x.type('foo')", ValueError),
    ("x.to(m.float32, m.float64)", TypeError)])
def test_errors(expr, error):
    for m in (cg, torch):
        x = m.tensor([1.0, 2.0])
        expected = AssertionError if m is torch and "cuda" in expr else error
        with pytest.raises(expected):
            eval(expr, {"m": m, "x": x})  # noqa: S307


def test_device_facts_and_bfloat16():
    x = cg.tensor([1.0])
    assert not x.is_cuda and str(x.device) == "cpu" and x.cpu() is x
    with pytest.raises(TypeError, match="bfloat16"):
        x.bfloat16()
