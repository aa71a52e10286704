"""Layout ops (``convgrad/methods/layout.py``, ``layout_facts.py``) against torch: rot90,
meshgrid, broadcasting, atleast_Nd, select/ravel/unfold views, sum_to_size, index_copy,
masked_scatter, put/take, the extra joins and splits, strides, and the in-place shape changes;
values, dtypes, gradients (and gradients of gradients), view semantics and error types."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import check_op, import_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convgrad as cg

torch = import_torch()


def both(fn, *inputs, **kw):
    check_op(lambda *x: fn(cg, *x), lambda *x: fn(torch, *x), *inputs, **kw)


def joined(pieces, L):
    return L.cat([p.reshape(-1) * (i + 1) for i, p in enumerate(pieces)])


def same(got, want):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
        return
    g, w = got.numpy(), want.numpy()
    assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
    np.testing.assert_allclose(g, w)


def parity(fn, *arrays):
    same(fn(cg, *(cg.tensor(a) for a in arrays)), fn(torch, *(torch.tensor(a) for a in arrays)))


def errors_alike(fn, *arrays):
    with pytest.raises(Exception) as want:
        fn(torch, *(torch.tensor(a) for a in arrays))
    with pytest.raises(want.type):
        fn(cg, *(cg.tensor(a) for a in arrays))


I2 = np.array([2, 0])
MASK = np.random.default_rng(3).random((3, 4)) > 0.5

CASES = {
    "rot90": (lambda L, x: L.rot90(x), [(2, 3)]),
    "rot90 k=-1": (lambda L, x: x.rot90(-1, (1, 2)), [(2, 3, 4)]),
    "rot90 k=2": (lambda L, x: x.rot90(2, [1, 0]), [(2, 3)]),
    "rot90 k=4": (lambda L, x: x.rot90(4) * 2, [(2, 3)]),
    "select": (lambda L, x: x.select(1, -1), [(2, 3)]),
    "L.select": (lambda L, x: L.select(x, 0, 1) * x[0], [(2, 3)]),
    "ravel": (lambda L, x: x.t().ravel(), [(2, 3)]),
    "unfold": (lambda L, x: x.unfold(1, 2, 1), [(3, 4)]),
    "unfold step": (lambda L, x: x.unfold(0, 2, 2) ** 2, [(5, 2)]),
    "unfold gap": (lambda L, x: x.unfold(-1, 2, 3), [(2, 8)]),
    "unfold 0-d": (lambda L, x: x.unfold(0, 1, 1), [()]),
    "sum_to_size": (lambda L, x: x.sum_to_size(1, 4), [(3, 4)]),
    "sum_to_size lead": (lambda L, x: x.sum_to_size((4,)) ** 2, [(3, 4)]),
    "index_copy": (lambda L, x, s: x.index_copy(0, L.tensor(I2), s), [(3, 4), (2, 4)]),
    "index_copy dim1": (lambda L, x, s: L.index_copy(x, 1, L.tensor([1, 3]), s) ** 2,
                        [(3, 4), (3, 2)]),
    "masked_scatter": (lambda L, x, s: x.masked_scatter(L.tensor(MASK), s), [(3, 4), (13,)]),
    "masked_scatter bcast": (lambda L, x, s: L.masked_scatter(x, L.tensor(MASK), s) ** 2,
                             [(4,), (3, 4)]),
    "put": (lambda L, x, s: x.put(L.tensor([0, -1, 5]), s), [(3, 4), (3,)]),
    "put accumulate": (lambda L, x, s: x.put(L.tensor([[0, 0], [5, 1]]), s, accumulate=True),
                       [(3, 4), (2, 2)]),
    "take": (lambda L, x: L.take(x, L.tensor([[0, -1], [3, 3]])) ** 2, [(2, 3)]),
    "meshgrid": (lambda L, x, y: joined(L.meshgrid(x, y, indexing="ij"), L), [(2,), (3,)]),
    "meshgrid xy": (lambda L, x, y, z: joined(L.meshgrid([x, y, z], indexing="xy"), L) ** 2,
                    [(2,), (3,), ()]),
    "broadcast_tensors": (lambda L, x, y: joined(L.broadcast_tensors(x, y), L),
                          [(2, 1), (3,)]),
    "atleast_3d": (lambda L, x, y: joined(L.atleast_3d(x, y), L), [(3,), (2, 3)]),
    "atleast_2d": (lambda L, x: L.atleast_2d(x) * 3, [()]),
    "column_stack": (lambda L, x, y, z: L.column_stack([x, y, z]), [(3,), (3, 2), (3,)]),
    "row_stack": (lambda L, x, y: L.row_stack((x, y)), [(3,), (2, 3)]),
    "hsplit": (lambda L, x: joined(x.hsplit(2), L), [(2, 4, 3)]),
    "hsplit 1-d": (lambda L, x: joined(L.hsplit(x, [1, 4]), L), [(6,)]),
    "vsplit": (lambda L, x: joined(L.vsplit(x, [1]), L), [(3, 2)]),
    "dsplit": (lambda L, x: joined(x.dsplit(3), L), [(1, 2, 6)]),
    "split_with_sizes": (lambda L, x: joined(x.split_with_sizes([1, 3], 1), L), [(2, 4)]),
}


@pytest.mark.parametrize("name", CASES)
def test_op(name):
    fn, shapes = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both(fn, *shapes)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.data())
def test_unfold_hypothesis(shape, data):
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = data.draw(st.integers(0, shape[d]))
    step = data.draw(st.integers(1, 3))
    both(lambda L, x: x.unfold(d, size, step), tuple(shape), dtypes=("float64",))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.integers(-5, 5), st.data())
def test_rot90_hypothesis(shape, k, data):
    n = len(shape)
    d0, d1 = data.draw(st.lists(st.integers(-n, n - 1), min_size=2, max_size=2).filter(
        lambda v: v[0] % n != v[1] % n))
    both(lambda L, x: L.rot90(x, k, (d0, d1)), tuple(shape), order=1, dtypes=("float64",))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=4), st.sampled_from(["ij", "xy"]))
def test_meshgrid_hypothesis(sizes, indexing):
    arrays = [np.arange(float(n)) + i for i, n in enumerate(sizes)]
    parity(lambda L, *t: L.meshgrid(*t, indexing=indexing), *arrays)


def test_meshgrid_warns_without_indexing():
    with pytest.warns(UserWarning, match="indexing argument"):
        cg.meshgrid(cg.ones(2), cg.ones(3))


def test_views_share_memory():
    x = cg.zeros(3, 4)
    x.select(1, 2).fill_(1.0)
    x.unfold(1, 2, 2)[0, 1].fill_(2.0)
    x.ravel()[0] = 5.0
    t = torch.zeros(3, 4)
    t.select(1, 2).fill_(1.0)
    t.unfold(1, 2, 2)[0, 1].fill_(2.0)
    t.ravel()[0] = 5.0
    same(x, t)
    assert x.unfold(1, 2, 1).stride() == t.unfold(1, 2, 1).stride()
    with pytest.raises(RuntimeError):
        x.unfold(1, 2, 1).fill_(0.0)              # overlapping windows: torch refuses too


def test_inplace_twins():
    def run(L):
        x = L.arange(12.0).reshape(3, 4)
        x.index_copy_(0, L.tensor([2]), L.ones(1, 4))
        x.put_(L.tensor([1, 1]), L.tensor([1.0, 2.0]), accumulate=True)
        x.masked_scatter_(L.tensor(MASK), -L.arange(12.0))
        return x
    same(run(cg), run(torch))
    both(lambda L, x, s: (x * 1).index_copy_(1, L.tensor([0]), s), (2, 3), (2, 1))
    both(lambda L, x, s: (x * 1).put_(L.tensor([0, 4]), s), (2, 3), (2,))
    both(lambda L, x, s: (x * 1).masked_scatter_(L.tensor(MASK[0]), s), (2, 4), (8,))



def test_facts():
    for fn in (lambda L, x: x.stride(), lambda L, x: x.transpose(0, 2).stride(),
               lambda L, x: x.stride(-1), lambda L, x: x[:, 1].storage_offset(),
               lambda L, x: x[1, 1:].storage_offset(), lambda L, x: x.storage_offset(),
               lambda L, x: x.get_device(), lambda L, x: x.is_cpu,
               lambda L, x: x.unfold(2, 2, 1).stride(), lambda L, x: x[0, :, 1:].stride()):
        assert fn(cg, cg.zeros(2, 3, 4)) == fn(torch, torch.zeros(2, 3, 4))
    assert cg.tensor(1.0).stride() == ()
    errors_alike(lambda L, x: x.stride(3), np.zeros((2, 3, 4)))
    for args in (((2, 3),), ([1, 2],), ()):
        parity(lambda L, x, args=args: x.new(*args), np.zeros(2, np.float32))
    got, want = cg.zeros(2, dtype=cg.int32).new(2, 3), torch.zeros(2, dtype=torch.int32).new(2, 3)
    assert got.shape == want.shape and got.numpy().dtype == want.numpy().dtype   # torch: garbage
    parity(lambda L, x: x.new([1.5, 2]), np.zeros(2, np.int32))
    assert cg.zeros(2).new(cg.Size([2, 1])).shape == torch.zeros(2).new(torch.Size([2, 1])).shape
    errors_alike(lambda L, x: x.new(L.tensor([1.5], dtype=L.float64)), np.zeros(2, np.float32))


def test_shape_in_place():
    def run(L):
        a = L.ones(2, 3, requires_grad=True)
        b = a * L.arange(6.0).reshape(2, 3)
        v = b[0]
        b.t_()
        b.unsqueeze_(0).squeeze_(0).transpose_(0, 1).swapaxes_(0, 1).swapdims_(1, 0)
        c = L.ones(2, 1, 3)
        c.squeeze_()
        f = L.ones(4, 1)
        g = f[1:]
        g.squeeze_(1)
        g.mul_(3)
        (b * L.arange(6.0).reshape(b.shape)).sum().backward()
        return b.detach(), a.grad, v.detach(), c, f, L.tensor(b._version)
    same(run(cg), run(torch))
    for L in (cg, torch):
        with pytest.raises(RuntimeError):
            L.ones(2, requires_grad=True).unsqueeze_(0)
        with pytest.raises(RuntimeError):
            L.ones(2, 2, 2).t_()
        with pytest.raises(IndexError):
            L.ones(2).unsqueeze_(3)


def test_errors():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    for fn in (lambda L, t: L.rot90(t, 1, (0, 0)), lambda L, t: L.rot90(t, 1, (0,)),
               lambda L, t: L.rot90(t[0], 1), lambda L, t: L.rot90(t, 1, (0, 2)),
               lambda L, t: t.select(1, 4), lambda L, t: t[0, 0].select(0, 0),
               lambda L, t: t.select(2, 0), lambda L, t: t.unfold(1, 5, 1),
               lambda L, t: t.unfold(1, 2, 0), lambda L, t: t.unfold(2, 1, 1),
               lambda L, t: t.unfold(1, -1, 1), lambda L, t: t.sum_to_size(2, 4),
               lambda L, t: t.sum_to_size(1, 1, 1),
               lambda L, t: L.meshgrid(t, indexing="ij"),
               lambda L, t: L.meshgrid(t[0], indexing="foo"),
               lambda L, t: L.meshgrid(t[0], t[0].double(), indexing="ij"),
               lambda L, t: L.broadcast_tensors(t, t[:2]),
               lambda L, t: L.broadcast_shapes((2,), (3,)),
               lambda L, t: t.index_copy(0, L.tensor([5]), L.ones(1, 4)),
               lambda L, t: t.index_copy(0, L.tensor([0.0]), L.ones(1, 4)),
               lambda L, t: t.index_copy(0, L.tensor([0]), L.ones(1, 3)),
               lambda L, t: t.index_copy(0, L.tensor([0]), L.ones(1, 4, dtype=L.float64)),
               lambda L, t: t.index_copy(0, L.tensor([[0]]), L.ones(1, 4)),
               lambda L, t: t.index_copy(0, L.tensor([0, 1]), L.ones(1, 4)),
               lambda L, t: t.index_copy(0, L.tensor([-1]), L.ones(1, 4)),
               lambda L, t: t.masked_scatter(L.tensor(MASK), L.arange(2.0)),
               lambda L, t: t.masked_scatter(L.tensor(MASK).int(), L.arange(12.0)),
               lambda L, t: t.masked_scatter(L.tensor(MASK), L.arange(12)),
               lambda L, t: t.masked_scatter(L.ones(2, 4, dtype=L.bool), L.arange(12.0)),
               lambda L, t: t.put(L.tensor([12]), L.tensor([1.0])),
               lambda L, t: t.put(L.tensor([1, 2]), L.tensor([1.0])),
               lambda L, t: t.put(L.tensor([1]), L.tensor([1.0], dtype=L.float64)),
               lambda L, t: t.put(L.tensor([1.0]), L.tensor([1.0])),
               lambda L, t: L.hsplit(t, 3), lambda L, t: L.dsplit(t, 1),
               lambda L, t: L.vsplit(t[0], 1), lambda L, t: L.hsplit(t[0, 0], 1),
               lambda L, t: L.hsplit(t, 0), lambda L, t: t.split_with_sizes([1, 1], 1)):
        errors_alike(fn, x)
