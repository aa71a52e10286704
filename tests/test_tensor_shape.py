"""Shape and joining ops (``convgrad/methods/shape.py``, ``join.py``) against torch: one
``check_op`` line per op and argument form (value, dtype, every gradient, gradient of gradient),
hypothesis over shapes and dims, view semantics (writes through views, autograd through an
in-place op on a view), the viewability error and torch's error types for bad dims/sizes."""

from __future__ import annotations

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
    """A tuple of pieces as one differentiable tensor (each piece weighted differently)."""
    return L.cat([p.reshape(-1) * (i + 1) for i, p in enumerate(pieces)])


# (fn(L, *x), input shapes): the same text runs on convgrad and on torch
CASES = {
    "view": (lambda L, x: x.view(4, -1), [(2, 3, 4)]),
    "repeat_interleave int": (lambda L, x: x.repeat_interleave(2), [(2, 3)]),
    "repeat_interleave dim": (lambda L, x: x.repeat_interleave(L.tensor([1, 0, 3]), dim=1),
                              [(2, 3)]),
    "L.repeat_interleave dim -1": (lambda L, x: L.repeat_interleave(x, 2, dim=-1), [(2, 3)]),
    "view tuple": (lambda L, x: x.view((2, 12)), [(2, 3, 4)]),
    "view Size": (lambda L, x: x.view(x.shape[1:]), [(1, 3, 4)]),
    "view -1": (lambda L, x: x.view(-1), [(2, 3, 4)]),
    "view transposed ok": (lambda L, x: x.transpose(1, 2).view(2, 4, 3) * x.mT, [(2, 3, 4)]),
    "view 0-d": (lambda L, x: x.view(1, 1), [()]),
    "view_as": (lambda L, x, y: x.view_as(y) * y, [(2, 3), (3, 2)]),
    "reshape": (lambda L, x: x.reshape(3, -1), [(2, 3, 4)]),
    "reshape transposed": (lambda L, x: x.t().reshape(-1), [(2, 3)]),
    "L.reshape": (lambda L, x: L.reshape(x, (6,)), [(2, 3)]),
    "reshape_as": (lambda L, x, y: x.reshape_as(y) * y, [(2, 3), (6,)]),
    "squeeze": (lambda L, x: x.squeeze(), [(1, 3, 1)]),
    "squeeze dim": (lambda L, x: x.squeeze(-1), [(1, 3, 1)]),
    "squeeze non-1 dim": (lambda L, x: x.squeeze(1), [(1, 3, 1)]),
    "squeeze tuple": (lambda L, x: x.squeeze((0, 1)), [(1, 3, 1)]),
    "squeeze 0-d": (lambda L, x: L.squeeze(x, 0), [()]),
    "unsqueeze": (lambda L, x: x.unsqueeze(1), [(2, 3)]),
    "unsqueeze last": (lambda L, x: L.unsqueeze(x, -1), [(2, 3)]),
    "unsqueeze 0-d": (lambda L, x: x.unsqueeze(0), [()]),
    "t": (lambda L, x: x.t(), [(2, 3)]),
    "t 1-d": (lambda L, x: L.t(x), [(3,)]),
    "T": (lambda L, x: x.T, [(2, 3)]),
    "mT": (lambda L, x: x.mT, [(4, 2, 3)]),
    "transpose": (lambda L, x: L.transpose(x, 0, -1), [(2, 3, 4)]),
    "swapdims": (lambda L, x: x.swapdims(0, 1), [(2, 3, 4)]),
    "permute": (lambda L, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    "expand": (lambda L, x: x.expand(3, -1, 4), [(2, 1)]),
    "expand tuple": (lambda L, x: x.expand((2, 3)), [(3,)]),
    "expand 0-d": (lambda L, x: x.expand(2, 2), [()]),
    "expand_as": (lambda L, x, y: x.expand_as(y) * y, [(1, 3), (2, 3)]),
    "broadcast_to": (lambda L, x: L.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    "repeat": (lambda L, x: x.repeat(2, 1, 3), [(2, 3)]),
    "repeat same rank": (lambda L, x: x.repeat(2, 2), [(2, 3)]),
    "repeat 0-d": (lambda L, x: x.repeat(2, 3), [()]),
    "repeat zero": (lambda L, x: x.repeat(0, 2), [(2, 3)]),
    "tile": (lambda L, x: x.tile((2,)), [(2, 3)]),
    "L.tile longer": (lambda L, x: L.tile(x, (2, 1, 2)), [(2, 3)]),
    "contiguous": (lambda L, x: x.t().contiguous() * 1, [(2, 3)]),
    "narrow": (lambda L, x: x.narrow(1, 1, 2), [(2, 3, 4)]),
    "narrow negative": (lambda L, x: L.narrow(x, -1, -2, 2), [(2, 3, 4)]),
    "narrow empty": (lambda L, x: x.narrow(1, 3, 0), [(2, 3)]),
    "flip": (lambda L, x: x.flip(0), [(2, 3, 4)]),
    "flip tuple": (lambda L, x: L.flip(x, (0, -1)), [(2, 3, 4)]),
    "flip 0-d": (lambda L, x: x.flip(0), [()]),
    "fliplr": (lambda L, x: L.fliplr(x), [(2, 3)]),
    "flipud": (lambda L, x: x.flipud(), [(3,)]),
    "roll": (lambda L, x: x.roll(1), [(2, 3)]),
    "roll dim": (lambda L, x: L.roll(x, -1, 1), [(2, 3)]),
    "roll dims": (lambda L, x: x.roll((1, 5), (0, -1)), [(2, 3, 4)]),
    "roll 0-d": (lambda L, x: x.roll(2), [()]),
    "movedim": (lambda L, x: x.movedim(0, -1), [(2, 3, 4)]),
    "movedim tuple": (lambda L, x: L.movedim(x, (0, 1), (2, 0)), [(2, 3, 4)]),
    "moveaxis": (lambda L, x: L.moveaxis(x, -1, 0), [(2, 3, 4)]),
    "unflatten": (lambda L, x: x.unflatten(1, (3, 1)), [(2, 3, 4)]),
    "unflatten -1": (lambda L, x: L.unflatten(x, -1, (2, -1)), [(2, 3, 4)]),
    "flatten": (lambda L, x: x.flatten(1), [(2, 3, 4)]),
    "cat": (lambda L, x, y: L.cat([x, y]), [(2, 3), (1, 3)]),
    "cat dim": (lambda L, x, y: L.cat((x, y, x), -1), [(2, 3), (2, 1)]),
    "cat one": (lambda L, x: L.cat([x], 1), [(2, 3)]),
    "cat legacy empty": (lambda L, x, e: L.cat([e, x, e], 1), [(2, 3), (0,)]),
    "cat all empty": (lambda L, e, f: L.cat([e, f]), [(0,), (0,)]),
    "concat": (lambda L, x, y: L.concat([x, y], 1), [(2, 3), (2, 2)]),
    "concatenate": (lambda L, x, y: L.concatenate([x, y]), [(2,), (3,)]),
    "stack": (lambda L, x, y: L.stack([x, y]), [(2, 3), (2, 3)]),
    "stack last": (lambda L, x, y: L.stack((x, y), -1), [(2, 3), (2, 3)]),
    "stack 0-d": (lambda L, x, y: L.stack([x, y, x]), [(), ()]),
    "hstack": (lambda L, x, y: L.hstack([x, y]), [(2, 3), (2, 1)]),
    "hstack 1-d": (lambda L, x, y: L.hstack([x, y]), [(3,), ()]),
    "vstack": (lambda L, x, y: L.vstack([x, y]), [(2, 3), (3,)]),
    "dstack": (lambda L, x, y: L.dstack([x, y]), [(2, 3), (2, 3)]),
    "dstack 1-d": (lambda L, x, y: L.dstack([x, y]), [(3,), (3,)]),
    "chunk": (lambda L, x: joined(x.chunk(4), L), [(6, 5)]),
    "chunk dim": (lambda L, x: joined(L.chunk(x, 3, -1), L), [(6, 5)]),
    "chunk more than n": (lambda L, x: joined(x.chunk(7), L), [(6, 2)]),
    "split": (lambda L, x: joined(x.split(4), L), [(6, 5)]),
    "split sizes": (lambda L, x: joined(L.split(x, [1, 0, 4], 1), L), [(6, 5)]),
    "split_size=": (lambda L, x: joined(x.split(split_size=2), L), [(5,)]),
    "unbind": (lambda L, x: joined(x.unbind(), L), [(3, 4)]),
    "unbind dim": (lambda L, x: joined(L.unbind(x, -1), L), [(3, 4)]),
    "tensor_split": (lambda L, x: joined(x.tensor_split(4), L), [(6, 5)]),
    "tensor_split indices": (lambda L, x: joined(L.tensor_split(x, (1, 10, 3), 0), L),
                             [(6, 5)]),
    "tensor_split negative": (lambda L, x: joined(x.tensor_split([-1], 1), L), [(6, 5)]),
}


@pytest.mark.parametrize("name", CASES)
def test_against_torch(name):
    fn, shapes = CASES[name]
    both(fn, *shapes)


def test_second_order_through_views():
    """Double backward where the first gradient is itself built from views (x² before the op)."""
    both(lambda L, x: (x * x).view(-1)[1:].expand(2, -1), (2, 3))
    both(lambda L, x: L.stack(((x * x).t(), x.T)).roll(1, 0).flip(1), (2, 3))
    both(lambda L, x, y: L.cat([x * y, y.unsqueeze(0).expand(2, 3) ** 2]), (2, 3), (3,))


# -- dtypes

@pytest.mark.parametrize("pair", [("float32", "int64"), ("int64", "bool"), ("float32", "float64"),
                                  ("int32", "int64"), ("bool", "bool"), ("uint8", "int8")])
def test_cat_and_stack_promote(pair):
    a, b = (np.ones((2, 3), d) for d in pair)
    for op in ("cat", "stack"):
        got = getattr(cg, op)([cg.tensor(a), cg.tensor(b)])
        want = getattr(torch, op)([torch.tensor(a), torch.tensor(b)])
        assert str(got.dtype) == str(want.dtype).removeprefix("torch."), op
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_cat_legacy_empty_takes_part_in_promotion():
    got = cg.cat([cg.zeros(0, dtype=cg.float64), cg.tensor(np.ones((2, 3), np.int64))])
    assert got.dtype == cg.float64 and got.shape == (2, 3)


def test_view_dtype():
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    for dtype in ("int32", "float64", "int16", "bool"):
        got = cg.tensor(x).view(getattr(cg, dtype))
        want = torch.tensor(x).view(getattr(torch, dtype))
        assert got.shape == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert not cg.tensor(x, requires_grad=True).view(cg.int32).requires_grad
    with pytest.raises(RuntimeError, match="stride"):
        cg.tensor(x).t().view(cg.float64)
    with pytest.raises(RuntimeError, match="divisible"):
        cg.tensor(x)[:, :3].view(cg.float64)


# -- hypothesis: shapes and dims

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_view_squeeze_unsqueeze_fuzz(shape, data):
    n = len(shape)
    dim = data.draw(st.integers(-n - 1, n))
    both(lambda L, x: x.unsqueeze(dim), shape, order=1, dtypes=("float64",))
    sq = data.draw(st.integers(-max(n, 1), max(n, 1) - 1))
    both(lambda L, x: x.squeeze(sq), shape, order=1, dtypes=("float64",))
    both(lambda L, x: x.squeeze(), shape, order=1, dtypes=("float64",))
    both(lambda L, x: x.view(-1, *shape[2:]), shape, order=1, dtypes=("float64",))


@settings(max_examples=40, deadline=None)
@given(shape=shapes.filter(len), data=st.data())
def test_flip_roll_movedim_fuzz(shape, data):
    n = len(shape)
    dims = data.draw(st.lists(st.integers(-n, n - 1), unique_by=lambda d: d % n, min_size=1))
    shifts = data.draw(st.lists(st.integers(-6, 6), min_size=len(dims), max_size=len(dims)))
    dst = data.draw(st.permutations(range(n)))[:len(dims)]
    both(lambda L, x: x.flip(dims), shape, order=1, dtypes=("float64",))
    both(lambda L, x: x.roll(shifts, dims), shape, order=1, dtypes=("float64",))
    both(lambda L, x: x.movedim(dims, dst), shape, order=1, dtypes=("float64",))


@settings(max_examples=40, deadline=None)
@given(shape=shapes.filter(len), data=st.data())
def test_cat_stack_split_chunk_fuzz(shape, data):
    n = len(shape)
    d = data.draw(st.integers(-n, n - 1))
    other = shape[:d % n] + (data.draw(st.integers(0, 3)),) + shape[d % n + 1:]
    both(lambda L, x, y: L.cat([x, y, x], d), shape, other, order=1, dtypes=("float64",))
    sd = data.draw(st.integers(-n - 1, n))
    both(lambda L, x, y: L.stack([x, y], sd), shape, shape, order=1, dtypes=("float64",))
    k = data.draw(st.integers(1, 5))
    both(lambda L, x: joined(x.chunk(k, d), L), shape, order=1, dtypes=("float64",))
    both(lambda L, x: joined(x.split(k, d), L), shape, order=1, dtypes=("float64",))
    both(lambda L, x: joined(x.tensor_split(k, d), L), shape, order=1, dtypes=("float64",))


# -- views share memory and the version counter

@pytest.mark.parametrize("make_view", [
    lambda x: x.view(6), lambda x: x.view(3, 2)[0], lambda x: x.t(), lambda x: x.unsqueeze(0),
    lambda x: x.squeeze(), lambda x: x.narrow(1, 1, 2), lambda x: x.unflatten(1, (1, 3)),
    lambda x: x.movedim(0, 1), lambda x: x.mT, lambda x: x.chunk(2)[1], lambda x: x.split(1)[0],
    lambda x: x.unbind(1)[2], lambda x: x.expand(1, 2, 3), lambda x: x.reshape(-1),
    lambda x: x.view_as(x),
], ids=lambda f: "")
def test_writes_through_a_view_reach_the_base(make_view):
    bases = []
    for L in (cg, torch):
        base = L.tensor(np.arange(6.0).reshape(2, 3))
        v = make_view(base)
        with L.no_grad():
            v.add_(1)
            v.mul_(2)
        assert base._version == 2
        bases.append(base.numpy())
    np.testing.assert_array_equal(*bases)


def test_setitem_through_a_view():
    x = cg.zeros(2, 3)
    v = x.view(6)
    v[0] = 5
    x.t()[2, 1] = 7
    assert x.tolist() == [[5, 0, 0], [0, 0, 7]]


def test_copies_do_not_alias():
    x = cg.zeros(2, 3)
    for copy in (x.flip(0), x.roll(1), x.repeat(1, 1), x.tile((1,)), cg.cat([x]),
                 cg.stack([x]), x.t().contiguous()):
        copy.add_(1)
    assert x.sum().item() == 0 and x.contiguous() is x


def test_in_place_on_a_view_gradients():
    def fn(L, x):
        y = x * 1
        y.view(-1)[1:3].mul_(x[0, :2] * 3)
        y.t()[0].add_(2)
        y.narrow(1, 1, 2).sub_(1)
        return y * x
    both(fn, (2, 3))


def test_in_place_on_a_piece_of_split():
    """torch refuses (while recording) an in-place op on an output of unbind/split/chunk; here
    it is allowed, with the gradients of the same update through indexing (a deviation)."""
    def fn(L, x):
        y = x * 1
        (y.unbind(0)[1] if L is cg else y[1]).mul_(x[0])
        (y.chunk(3, 1)[2] if L is cg else y[:, 2:]).sub_(x[:, :1])
        return y * x
    both(fn, (2, 3))


def test_expanded_view_refuses_overlapping_writes():
    for L in (cg, torch):
        v = L.zeros(2, 1).expand(2, 3)
        with pytest.raises(RuntimeError, match="single memory location"):
            v.add_(1)
    base = cg.zeros(2, 1)
    base.expand(2, 1).add_(1)                 # no overlap: allowed, as in torch
    assert base.tolist() == [[1.0], [1.0]]


def test_view_of_non_contiguous_is_refused():
    for L in (cg, torch):
        x = L.zeros(2, 3, 4)
        for bad in (lambda x=x: x.transpose(0, 1).view(-1),
                    lambda x=x: x.transpose(1, 2).view(2, 12)):
            with pytest.raises(RuntimeError, match=r"view size is not compatible.*reshape"):
                bad()
        assert tuple(x.transpose(0, 1).reshape(-1).shape) == (24,)


# -- errors: torch's type for each bad argument

X = np.zeros((2, 3, 4))
ERRORS = [
    (lambda L, x: x.view(5, -1), RuntimeError),
    (lambda L, x: x.view(-1, -1), RuntimeError),
    (lambda L, x: x.view(-2, 12), RuntimeError),
    (lambda L, x: x.view(25), RuntimeError),
    (lambda L, x: x.view(2.0, 12), TypeError),
    (lambda L, x: x.reshape(5, -1), RuntimeError),
    (lambda L, x: L.zeros(0).view(0, -1), RuntimeError),
    (lambda L, x: x.squeeze(3), IndexError),
    (lambda L, x: x.squeeze((0, 0)), RuntimeError),
    (lambda L, x: x.unsqueeze(4), IndexError),
    (lambda L, x: x.unsqueeze(-5), IndexError),
    (lambda L, x: x.t(), RuntimeError),
    (lambda L, x: x[0, 0].mT, RuntimeError),
    (lambda L, x: x.expand(2, 3, 5), RuntimeError),
    (lambda L, x: x.expand(2, 3), RuntimeError),
    (lambda L, x: x.expand(-1, 2, 3, 4), RuntimeError),
    (lambda L, x: x.repeat(2), RuntimeError),
    (lambda L, x: x.repeat(), TypeError),
    (lambda L, x: x.repeat(-1, 1, 1), RuntimeError),
    (lambda L, x: x.narrow(1, 1, 3), RuntimeError),
    (lambda L, x: x.narrow(1, -4, 1), IndexError),
    (lambda L, x: x.narrow(1, 0, -1), RuntimeError),
    (lambda L, x: x.narrow(3, 0, 1), IndexError),
    (lambda L, x: x.sum().narrow(0, 0, 1), RuntimeError),
    (lambda L, x: x.flip((0, 0)), RuntimeError),
    (lambda L, x: x.flip(3), IndexError),
    (lambda L, x: x[0, 0].fliplr(), RuntimeError),
    (lambda L, x: x.sum().flipud(), RuntimeError),
    (lambda L, x: x.roll((1, 2), 0), RuntimeError),
    (lambda L, x: x.roll(1, 3), IndexError),
    (lambda L, x: x.roll([]), RuntimeError),
    (lambda L, x: x.sum().roll(1, 0), IndexError),
    (lambda L, x: x.movedim((0, 1), 2), TypeError),
    (lambda L, x: x.movedim((0, 0), (1, 2)), RuntimeError),
    (lambda L, x: x.movedim((0, 1), (2,)), RuntimeError),
    (lambda L, x: x.movedim(0, 3), IndexError),
    (lambda L, x: x.unflatten(2, (3, 2)), RuntimeError),
    (lambda L, x: x.unflatten(2, ()), RuntimeError),
    (lambda L, x: x.unflatten(3, (1,)), IndexError),
    (lambda L, x: x.sum().unflatten(0, (1,)), RuntimeError),
    (lambda L, x: L.cat([]), ValueError),
    (lambda L, x: L.cat(x), TypeError),
    (lambda L, x: L.cat([x, x.sum()]), RuntimeError),
    (lambda L, x: L.cat([x, x[0]]), RuntimeError),
    (lambda L, x: L.cat([x, x[:, :2]]), RuntimeError),
    (lambda L, x: L.cat([x], 3), IndexError),
    (lambda L, x: L.stack([]), RuntimeError),
    (lambda L, x: L.stack([x, x[:1]]), RuntimeError),
    (lambda L, x: L.stack([x], 4), IndexError),
    (lambda L, x: L.hstack([]), RuntimeError),
    (lambda L, x: x.chunk(0), RuntimeError),
    (lambda L, x: x.sum().chunk(1), RuntimeError),
    (lambda L, x: x.chunk(2, 3), IndexError),
    (lambda L, x: x.split([1, 4]), RuntimeError),
    (lambda L, x: x.split((2, -1, 1)), RuntimeError),
    (lambda L, x: x.split(0), RuntimeError),
    (lambda L, x: x.split(-1), RuntimeError),
    (lambda L, x: x.sum().split(1), RuntimeError),
    (lambda L, x: x.unbind(3), IndexError),
    (lambda L, x: x.sum().unbind(), IndexError),
    (lambda L, x: x.tensor_split(0), RuntimeError),
    (lambda L, x: x.sum().tensor_split(2), RuntimeError),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_error_types_match_torch(k):
    fn, kind = ERRORS[k]
    for L in (torch, cg):
        with pytest.raises(kind):
            fn(L, L.tensor(X))


def test_errors_name_the_op_and_the_values():
    x = cg.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match=r"shape '\[5, -1\]' is invalid for input of size 24"):
        x.view(5, -1)
    with pytest.raises(RuntimeError, match=r"expanded size of the tensor \(5\) must match the "
                                           r"existing size \(4\) at non-singleton dimension 2"):
        x.expand(2, 3, 5)
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 0"):
        cg.cat([x, x[:, :2]])
    with pytest.raises(RuntimeError, match=r"split_sizes to sum exactly to 2"):
        x.split([1, 4])


def test_in_place_on_an_expanded_view_while_recording():
    def fn(L, x):
        y = x * 1
        y.expand(2, 1).mul_(x * 3)            # a non-overlapping expand: writable
        y.unsqueeze(0).expand(1, 2, 1).add_(x)
        return y
    both(fn, (2, 1))
    for L in (cg, torch):
        x = L.ones(2, 1, dtype=L.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="single memory location"):
            (x * 1).expand(2, 3).add_(x)


def test_reshape_view_and_copy_share_memory_as_torch():
    x = cg.zeros(2, 3)
    x.reshape(6).add_(1)                      # contiguous: a view, the base changes
    x.t().reshape(6).add_(1)                  # needs a copy: the base is unchanged
    assert x.tolist() == [[1.0] * 3] * 2


def test_repeat_interleave_of_counts_alone_gives_indices_as_torch():
    assert cg.repeat_interleave(cg.tensor([2, 0, 3])).tolist() == \
        torch.repeat_interleave(torch.tensor([2, 0, 3])).tolist()
    with pytest.raises(RuntimeError, match="negative"):
        cg.tensor([1.0, 2.0]).repeat_interleave(cg.tensor([1, -1]))


def test_in_place_twins_of_products_and_scans_match_torch():
    a = np.arange(6.0).reshape(2, 3)
    for name, args in (("cumsum_", (1,)), ("cumprod_", (0,)), ("negative_", ())):
        c, t = cg.tensor(a), torch.tensor(a)
        getattr(c, name)(*args)
        getattr(t, name)(*args)
        np.testing.assert_allclose(c.numpy(), t.numpy())
    m, v = np.ones((2, 2)), np.arange(4.0).reshape(2, 2)
    c, t = cg.tensor(m), torch.tensor(m)
    c.addmm_(cg.tensor(v), cg.tensor(v), beta=2, alpha=0.5)
    t.addmm_(torch.tensor(v), torch.tensor(v), beta=2, alpha=0.5)
    np.testing.assert_allclose(c.numpy(), t.numpy())
