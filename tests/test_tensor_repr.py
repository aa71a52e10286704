"""repr(tensor) is torch's, character for character ("torch." read as "convgrad.")."""

import re

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad.autograd import Tensor
from convgrad.autograd.printing import parameter_repr, printoptions, set_printoptions

torch = import_torch()
rng = np.random.default_rng(0)

CASES = {
    "float32": np.array([1.5, -2.25, 3.0], np.float32),
    "integer-valued": np.array([1.0, 2.0, -3.0], np.float32),
    "float64": np.array([0.1, 0.2]),
    "0-d": np.array(3.5, np.float32), "0-d integer-valued": np.array(2.0, np.float32),
    "0-d float64": np.array(-1.0), "0-d int": np.array(7), "0-d bool": np.array(True),
    "sci small": np.array([1e-5, 1.0], np.float32), "sci big": np.array([1e9, 1.0], np.float32),
    "sci ratio": np.array([1.0, 1500.5], np.float32),
    "integer-valued ratio": np.array([1.0, 5000.0], np.float32),
    "inf nan": np.array([np.inf, -np.inf, np.nan, 1.5], np.float32),
    "only non-finite": np.array([np.nan, np.inf], np.float32),
    "zeros": np.zeros(3, np.float32), "negative zero": np.array([-0.0, 1.0], np.float32),
    "int64": np.array([1, -20, 300]), "int32": np.array([1, 2], np.int32),
    "uint8": np.array([1, 255], np.uint8), "bool": np.array([True, False]),
    "bool 2-d": np.array([[True, False], [False, True]]),
    "float16": np.array([1.5, 2.0], np.float16),
    "empty": np.zeros(0, np.float32), "empty (0, 3)": np.zeros((0, 3), np.float32),
    "empty int": np.zeros(0, np.int64), "empty float64 (2, 0)": np.zeros((2, 0)),
    "2-d": rng.standard_normal((3, 4)).astype(np.float32),
    "3-d": rng.standard_normal((2, 3, 4)).astype(np.float32),
    "4-d": rng.standard_normal((2, 2, 2, 3)).astype(np.float32),
    "wraps": rng.standard_normal(30).astype(np.float32),
    "wraps 2-d": rng.standard_normal((3, 25)).astype(np.float32),
    "summarised": rng.standard_normal(2000).astype(np.float32),
    "summarised 2-d": rng.standard_normal((40, 50)).astype(np.float32),
    "summarised 3-d": np.arange(2000, dtype=np.float32).reshape(10, 10, 20),
    "summarised int": np.arange(1001), "wide ints": np.arange(40) * 1000,
    "large values": (rng.standard_normal((3, 3)) * 1e4).astype(np.float32),
    "arange": np.arange(12, dtype=np.float32).reshape(3, 4), "extremes": np.array([1e-30, 1e30]),
}


def torch_repr(t) -> str:
    return repr(t).replace("torch.", "convgrad.")


def same(mine: str, theirs: str) -> bool:
    """Equal; where a dtype is named, "convgrad." is 3 characters longer than "torch.", so the
    suffixes may wrap at another place (by the same 80-column rule): compare them unwrapped."""
    if "dtype=" in theirs:
        mine, theirs = (re.sub(r",\n +(dtype|grad_fn|requires_grad|size)=", r", \1=", s)
                        for s in (mine, theirs))
    return mine == theirs


@pytest.mark.parametrize("name", CASES)
def test_repr_matches_torch(name):
    a = CASES[name]
    assert repr(Tensor(a.copy())) == torch_repr(torch.from_numpy(a.copy()))
    assert str(Tensor(a.copy())) == str(torch.from_numpy(a.copy())).replace("torch.", "convgrad.")


@pytest.mark.parametrize("shape", [(3,), (2, 3), (4, 30)])
def test_requires_grad_and_grad_fn_suffixes(shape):
    a = rng.standard_normal(shape).astype(np.float32)
    x, tx = cg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert repr(x) == torch_repr(tx)
    assert repr(x * 2) == torch_repr(tx * 2)
    assert repr((x * 2).sum()) == torch_repr((tx * 2).sum())
    x64 = cg.tensor(a.astype(np.float64), requires_grad=True)
    tx64 = torch.tensor(a.astype(np.float64), requires_grad=True)
    assert same(repr(x64 + 1), torch_repr(tx64 + 1))           # dtype, then grad_fn, wrapped


def test_default_dtype_decides_which_dtype_is_shown():
    a = np.array([1.25, 2.0])
    before = cg.get_default_dtype(), torch.get_default_dtype()
    try:
        cg.set_default_dtype(np.float64)
        torch.set_default_dtype(torch.float64)
        for arr in (a, a.astype(np.float32), np.zeros(0), np.zeros(0, np.float32)):
            assert repr(Tensor(arr)) == torch_repr(torch.from_numpy(arr))
    finally:
        cg.set_default_dtype(before[0])
        torch.set_default_dtype(before[1])


def test_print_options():
    a = np.array([1.123456, 20.5, 3.0])
    with printoptions(precision=2), torch._tensor_str.printoptions(precision=2):
        assert repr(Tensor(a)) == torch_repr(torch.from_numpy(a))
    try:
        for kwargs in (dict(threshold=5), dict(sci_mode=True), dict(linewidth=20),
                       dict(profile="short"), dict(edgeitems=0, threshold=2)):
            set_printoptions(**kwargs)
            torch.set_printoptions(**kwargs)
            for arr in (np.arange(10), a, np.arange(12.0).reshape(3, 4)):
                assert same(repr(Tensor(arr)), torch_repr(torch.from_numpy(arr))), kwargs
    finally:
        set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(Tensor(a)) == torch_repr(torch.from_numpy(a))


def test_parameter_repr():
    a = np.array([[0.5, -1.0]], np.float32)
    p = cg.tensor(a, requires_grad=True)
    assert parameter_repr(p) == torch_repr(torch.nn.Parameter(torch.from_numpy(a)))
