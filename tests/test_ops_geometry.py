"""The shape rules: output length, the padding resolver, the window builder, pad/crop."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convgrad import ops


@given(n=st.integers(1, 40), k=st.integers(1, 6), s=st.integers(1, 5), d=st.integers(1, 4))
def test_same_padding_gives_ceil_n_over_s_with_extra_pixel_high(n, k, s, d):
    (lo, hi), = ops.resolve_padding("same", (n,), (k,), (s,), (d,), "conv")
    assert ops.output_length(n, k, s, d, lo, hi) == math.ceil(n / s)
    assert hi - lo in (0, 1)
    assert lo >= 0


@given(n=st.integers(1, 40), k=st.integers(1, 6), d=st.integers(1, 4))
def test_full_padding_gives_every_overlap(n, k, d):
    (lo, hi), = ops.resolve_padding("full", (n,), (k,), (1,), (d,), "conv")
    assert ops.output_length(n, k, 1, d, lo, hi) == n + d * (k - 1)


@pytest.mark.parametrize("padding, want", [
    (1, ((1, 1), (1, 1))),
    ((1, 2), ((1, 1), (2, 2))),
    (((0, 1), (2, 3)), ((0, 1), (2, 3))),
    ([[0, 1], [2, 3]], ((0, 1), (2, 3))),
    ("valid", ((0, 0), (0, 0))),
    ("VALID", ((0, 0), (0, 0))),
])
def test_padding_spellings(padding, want):
    assert ops.resolve_padding(padding, (5, 5), (3, 3), (1, 1), (1, 1), "conv") == want


def test_sliding_windows_is_a_view_with_the_definition():
    x = np.arange(2 * 9 * 10.0).reshape(2, 9, 10)
    win = ops.sliding_windows(x, (3, 2), (2, 3), (2, 1))
    assert np.shares_memory(win, x) and not win.flags.writeable
    assert win.shape == (2, 3, 3, 3, 2)
    for p in np.ndindex(3, 3):
        for j in np.ndindex(3, 2):
            want = x[:, p[0] * 2 + j[0] * 2, p[1] * 3 + j[1]]
            np.testing.assert_array_equal(win[(slice(None),) + p + j], want)


@pytest.mark.parametrize("pads, want", [
    ([(1, 0)], [0, 0, 1, 2, 3]),
    ([(-1, 2)], [1, 2, 3, 0, 0]),
    ([(-2, -1)], [2]),
    ([(-5, 3)], [0, 0]),          # nothing of x survives
    ([(0, 0)], [0, 1, 2, 3]),
])
def test_pad_or_crop(pads, want):
    np.testing.assert_array_equal(ops.pad_or_crop(np.arange(4.0), pads), want)
