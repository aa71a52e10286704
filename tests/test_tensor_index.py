"""``t[index]`` and ``t[index] = value`` against torch: values, dtypes, every gradient (and the
gradient of the gradient), torch's errors, and each way NumPy's indexing differs from torch's as
a named regression test."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import check_op, import_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg

torch = import_torch()

MASK2 = np.random.default_rng(1).random((3, 4)) > 0.5
MASK1 = np.array([True, False, True])

# index kinds on a (3, 4, 5) input; each builds the index for a library (cg or torch)
INDEX = {
    "int": lambda L: 1,
    "negative int": lambda L: -1,
    "slice": lambda L: slice(1, None),
    "step slice": lambda L: (slice(None), slice(0, None, 2)),
    "int and slice": lambda L: (slice(None), 0),
    "None": lambda L: (None, 0),
    "ellipsis": lambda L: (Ellipsis, 1),
    "everything basic": lambda L: (1, None, slice(0, 3), Ellipsis, slice(None, None, 3)),
    "int list": lambda L: [0, 2, 0],
    "int tensor": lambda L: L.tensor([[0, 1], [2, 2]]),
    "int32 tensor": lambda L: L.tensor(np.array([0, 2], np.int32)),
    "0-d int tensor": lambda L: L.tensor(1),
    "0-d int tensor in a tuple": lambda L: (slice(None), L.tensor(2)),
    "int ndarray": lambda L: np.array([2, 1]),
    "repeated": lambda L: [1, 1, 1],
    "bool tensor mask": lambda L: L.tensor(MASK2),
    "bool ndarray mask": lambda L: MASK2,
    "bool list": lambda L: [True, False, True],
    "row mask and slice": lambda L: (L.tensor(MASK1), slice(1, 3)),
    "slice and column mask": lambda L: (slice(None), L.tensor([True, False, True, True])),
    "two arrays": lambda L: ([0, 2], [1, 3]),
    "arrays split by a slice": lambda L: ([0, 2], slice(None), [1, 0]),
    "array, None and slice": lambda L: (L.tensor([0, 2]), None, slice(1, 3)),
    "range and tensor (logits[range(n), y])": lambda L: (range(3), L.tensor([0, 3, 1])),
    "broadcast arrays": lambda L: (L.tensor([[0], [2]]), L.tensor([1, 2, 3])),
    "True": lambda L: True,
    "empty list": lambda L: [],
}


class _NP:                            # an index built for NumPy, to learn the result's shape
    tensor = staticmethod(np.asarray)


def _zeros(L, *shape, dtype="float32", requires_grad=False):
    """zeros through ``L.tensor`` (the creation functions are another part's)."""
    return L.tensor(np.zeros(shape, dtype), requires_grad=requires_grad)


def _lib(fn):
    """(cg_fn, torch_fn) for a function of the library and the inputs."""
    return (lambda *xs: fn(cg, *xs)), (lambda *xs: fn(torch, *xs))


def _assign(y, index, v):
    y[index] = v
    return y


@pytest.mark.parametrize("kind", INDEX)
def test_getitem(kind):
    check_op(*_lib(lambda L, x: x[INDEX[kind](L)]), (3, 4, 5))


@pytest.mark.parametrize("kind", INDEX)
def test_getitem_of_a_computed_tensor_and_chained(kind):
    check_op(*_lib(lambda L, x: (x * x)[INDEX[kind](L)][..., 1:]), (3, 4, 5))


SETITEM = ["int", "slice", "step slice", "int and slice", "None", "int list", "int tensor",
           "0-d int tensor", "bool tensor mask", "row mask and slice", "two arrays",
           "arrays split by a slice", "range and tensor (logits[range(n), y])", "True"]


@pytest.mark.parametrize("kind", SETITEM)
def test_setitem_tensor_value(kind):
    shape = tuple(np.zeros((3, 4, 5))[INDEX[kind](_NP)].shape)
    check_op(*_lib(lambda L, x, v: _assign(x * 1, INDEX[kind](L), v)), (3, 4, 5), shape)


@pytest.mark.parametrize("kind", SETITEM)
def test_setitem_broadcast_value(kind):
    last = np.zeros((3, 4, 5))[INDEX[kind](_NP)].shape[-1:]
    check_op(*_lib(lambda L, x, v: _assign(x * 1, INDEX[kind](L), v)), (3, 4, 5), last)


@pytest.mark.parametrize("kind", SETITEM)
def test_setitem_scalar(kind):
    check_op(*_lib(lambda L, x: _assign(x * 1, INDEX[kind](L), 0.5) * x), (3, 4, 5))


def test_setitem_mask_zero_and_leading_ones():
    check_op(*_lib(lambda L, x: _assign(x * 1, x > 0, 0.0) * x), (3, 4))
    check_op(*_lib(lambda L, x, v: _assign(x * 1, 0, v)), (3, 4), (1, 1, 4))


def test_setitem_value_of_another_float_dtype_is_cast():
    for L in (cg, torch):
        y = _zeros(L, 3)
        y[1] = L.tensor(2.5, dtype=L.float64)
        y[2:] = L.tensor([1.5], dtype=L.float64)
        assert y.dtype == L.float32 and y.tolist() == [0.0, 2.5, 1.5]


def test_setitem_grad_flows_through_the_cast():
    x = np.random.default_rng(0).standard_normal(4)
    xs = cg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for L, w in zip((cg, torch), xs):
        buf = _zeros(L, 2, 4)
        buf[1] = w * 2
        (buf * buf).sum().backward()
    np.testing.assert_allclose(xs[0].grad.numpy(), xs[1].grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("kind", ["int", "slice", "int and slice", "None", "step slice"])
def test_iadd_through_an_index(kind):
    def fn(L, x, v):
        y = x * 2
        y[INDEX[kind](L)] += v
        return y * y
    check_op(*_lib(fn), (3, 4, 5), (5,))


# -- named regressions: where NumPy would silently compute something else

def test_buffer_setitem_gives_the_value_its_gradient():
    """``buf[i] = w * 2`` on a zeros buffer that does not require grad: w gets its gradient."""
    w0 = np.random.default_rng(0).standard_normal(3)
    grads = []
    for L in (cg, torch):
        w = L.tensor(w0, requires_grad=True)
        buf = _zeros(L, 4, 3, dtype="float64")
        buf[0] = w * 2
        buf[2] = w
        buf[3, 1:] = w[:2] ** 2
        (buf.sum() * buf[0].sum()).backward()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(*grads)


def test_negative_step_is_an_error_not_a_flip():
    x = _zeros(cg, 3)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(ValueError):
        x[::-1] = 1.0


def test_uint8_tensor_is_a_mask_not_indices():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = cg.tensor(np.arange(3))[cg.tensor(np.array([1, 0, 1], np.uint8))]
        want = torch.tensor(np.arange(3))[torch.tensor([1, 0, 1], dtype=torch.uint8)]
    assert got.tolist() == want.tolist() == [0, 2]


def test_a_list_of_lists_is_a_tuple_index_as_in_torch():
    x = np.arange(12.0).reshape(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, want = cg.tensor(x)[[[0, 1], [1, 2]]], torch.tensor(x)[[[0, 1], [1, 2]]]
        assert got.tolist() == want.tolist() == [1.0, 6.0]
        assert cg.tensor(x)[[0, slice(None)]].shape == (4,)


def test_basic_index_is_a_view_that_writes_through():
    x = _zeros(cg, 3, 4)
    x[0][1] = 5.0                       # tutorial code: the view's setitem reaches x
    row = x[2]
    row.add_(1.0) if hasattr(row, "add_") else row.__setitem__(slice(None), row + 1.0)
    assert x[0, 1].item() == 5.0 and x[2].tolist() == [1.0] * 4
    assert x[1]._version == x._version > 0
    assert np.shares_memory(x[cg.tensor(1)].array, x.array)
    assert x[1, 2].shape == () and np.shares_memory(x[1, 2].array, x.array)


def test_advanced_index_is_a_copy():
    x = _zeros(cg, 3)
    y = x[[0, 1]]
    y[0] = 1.0
    assert x.tolist() == [0.0, 0.0, 0.0]
    x[[0, 1]] = 2.0                     # but setitem with an advanced index writes
    assert x.tolist() == [2.0, 2.0, 0.0]


def test_setitem_casts_to_the_tensor_dtype():
    for L in (cg, torch):
        y = _zeros(L, 3, dtype="int64")
        y[0] = 2.7
        y[1:] = L.tensor([1.9, -1.9])
        assert y.tolist() == [2, 1, -1] and y.dtype == L.int64
        m = _zeros(L, 3)
        m[L.tensor([True, False, True])] = L.tensor(1)     # mask + 0-d: masked_fill casts
        assert m.tolist() == [1.0, 0.0, 1.0]


def test_setitem_in_no_grad_on_a_parameter():
    w = cg.tensor(np.ones(3), requires_grad=True)
    with cg.no_grad():
        w[0] = 5.0
    assert w.tolist() == [5.0, 1.0, 1.0] and w.is_leaf and w.requires_grad


def test_setitem_after_saving_raises_at_backward():
    for L in (cg, torch):
        x = L.tensor(np.ones(3), requires_grad=True)
        y = x.exp()
        y[0] = 0.0
        with pytest.raises(RuntimeError):
            y.sum().backward()


def test_logits_range_target_gradient():
    logits = np.random.default_rng(0).standard_normal((5, 4))
    target = np.array([0, 3, 3, 1, 2])
    check_op(*_lib(lambda L, z: -z[range(5), L.tensor(target)].sum()), logits)


# -- errors: torch's types, for each bad index

BAD = {
    "int out of range": (lambda L: 3, IndexError),
    "negative out of range": (lambda L: (0, -6), IndexError),
    "tensor out of range": (lambda L: L.tensor([0, 3]), IndexError),
    "too many indices": (lambda L: (0, 0, 0, 0), IndexError),
    "float": (lambda L: 1.0, IndexError),
    "float tensor": (lambda L: L.tensor([1.0]), IndexError),
    "int16 tensor": (lambda L: L.tensor(np.array([1], np.int16)), IndexError),
    "mask shape": (lambda L: L.tensor([True, False]), IndexError),
    "negative step": (lambda L: slice(None, None, -1), ValueError),
}


@pytest.mark.parametrize("kind", BAD)
def test_bad_index_raises_as_torch(kind):
    make, error = BAD[kind]
    for L in (cg, torch):
        with pytest.raises(error):
            _zeros(L, 3, 4, 5)[make(L)]
        with pytest.raises(error):
            _zeros(L, 3, 4, 5)[make(L)] = 1.0


def _ones5(L):
    return L.tensor(np.ones(5, "float32"))


def test_bad_setitem_raises_as_torch():
    cases = [(lambda L: _assign(_zeros(L, 3, 4), 0, _ones5(L)), RuntimeError),
             (lambda L: _assign(_zeros(L, 3, 4), [0, 1], _ones5(L)), RuntimeError),
             (lambda L: _assign(_zeros(L, 3, 4), [0, 1], L.tensor(np.ones(4))), RuntimeError),
             (lambda L: _assign(_zeros(L, 3, 4), 0, [1.0, 2.0, 3.0, 4.0]), TypeError),
             (lambda L: _assign(_zeros(L, 3, 4, requires_grad=True), 0, 1.0), RuntimeError)]
    for fn, error in cases:
        for L in (cg, torch):
            with pytest.raises(error):
                fn(L)


# -- hypothesis: random shapes and index kinds, values and gradients against torch

@st.composite
def indexed(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    parts, dim = [], 0
    while dim < len(shape) and draw(st.booleans()) or not parts:
        if dim >= len(shape):
            parts.append(None)
            break
        n = shape[dim]
        kind = draw(st.sampled_from(["int", "slice", "array", "mask", "none"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            lo, hi = draw(st.integers(-n - 1, n + 1)), draw(st.integers(-n - 1, n + 1))
            parts.append(slice(lo, hi, draw(st.integers(1, 3))))
        elif kind == "array":
            size = draw(st.integers(0, 4))
            parts.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=size,
                                                max_size=size)), dtype=np.int64))
        elif kind == "mask":
            parts.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        else:
            parts.append(None)
            continue
        dim += 1
    if draw(st.booleans()) and dim < len(shape):
        parts.insert(draw(st.integers(0, len(parts))), Ellipsis)
    return shape, tuple(parts)


def _torch_index(index):
    return tuple(torch.tensor(p) if isinstance(p, np.ndarray) else p for p in index)


@settings(max_examples=150, deadline=None)
@given(indexed())
def test_getitem_and_setitem_hypothesis(case):
    shape, index = case
    ti = _torch_index(index)
    try:
        out_shape = tuple(torch.zeros(shape)[ti].shape)
    except IndexError:                   # e.g. arrays that do not broadcast: both refuse
        with pytest.raises(IndexError):
            _zeros(cg, *shape)[index]
        return
    check_op(lambda x: x[index], lambda x: x[ti], shape, dtypes=("float64",))
    repeats = any(isinstance(p, np.ndarray) and p.dtype != bool for p in index)
    if not repeats:                     # a repeated position's winner is unspecified in torch
        check_op(lambda x, v: _assign(x * 1, index, v), lambda x, v: _assign(x * 1, ti, v),
                 shape, out_shape, dtypes=("float64",))


def test_an_empty_slice_skips_the_bounds_check_of_a_tensor_index_as_torch():
    """``x[..., 0:0, [1]]`` on (1, 2, 1) is empty in torch (no element is read); convgrad too,
    and its gradient is zeros; with a non-empty slice the bad index is still an IndexError."""
    check_op(lambda x: x[..., 0:0, np.array([1])], lambda x: x[..., 0:0, torch.tensor([1])],
             (1, 2, 1), dtypes=("float64",))
    with pytest.raises(IndexError, match="out of bounds"):
        cg.randn(1, 2, 1)[..., 0:1, np.array([1])]
