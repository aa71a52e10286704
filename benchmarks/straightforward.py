"""The "straightforward NumPy" baseline of shared/bench/ANCHORS.md, timed in the same run.

im2col + matmul forward, weight gradient by batched matmul with the forward's columns, input
gradient as the full correlation of the zero-inserted ∂L/∂y with the flipped kernel. Symmetric
int padding only (all the benchmark configurations need). Not used by the library.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _columns(xp, kernel, stride, dilation, groups):
    """(g, N·ΠM, C/g·ΠK) columns of a padded x (N, C, *S)."""
    d = len(kernel)
    spatial = tuple(range(2, 2 + d))
    span = [dilation * (k - 1) + 1 for k in kernel]
    win = sliding_window_view(xp, span, axis=spatial)
    win = win[(slice(None),) * 2 + (slice(None, None, stride),) * d
              + (slice(None, None, dilation),) * d]
    n, c = xp.shape[:2]
    out = win.shape[2:2 + d]
    win = win.reshape(n, groups, c // groups, *win.shape[2:])
    order = (1, 0, *range(3, 3 + d), 2, *range(3 + d, 3 + 2 * d))
    cols = np.ascontiguousarray(win.transpose(order))
    return cols.reshape(groups, n * int(np.prod(out)), -1), out


def forward(x, w, b, stride, padding, dilation, groups):
    d = x.ndim - 2
    xp = np.pad(x, [(0, 0)] * 2 + [(padding, padding)] * d)
    cols, out = _columns(xp, w.shape[2:], stride, dilation, groups)
    o = w.shape[0]
    wm = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    y = np.matmul(cols, wm)                                          # (g, N·ΠM, O/g)
    y = y.reshape(groups, x.shape[0], -1, o // groups).transpose(1, 0, 3, 2).reshape(
        x.shape[0], o, *out)
    return y + b.reshape(-1, *(1,) * d), cols


def backward(x, w, dy, cols, stride, padding, dilation, groups):
    d = x.ndim - 2
    n, o = dy.shape[:2]
    dym = dy.reshape(n, groups, o // groups, -1).transpose(1, 2, 0, 3)
    dym = dym.reshape(groups, o // groups, -1)
    dw = np.matmul(dym, cols).reshape(w.shape)
    # zero-insert, pad, correlate with the flipped, channel-swapped kernel
    m = dy.shape[2:]
    zi = np.zeros((n, o, *[(mi - 1) * stride + 1 for mi in m]), dtype=dy.dtype)
    zi[(slice(None),) * 2 + (slice(None, None, stride),) * d] = dy
    pads = []
    for size, k in zip(x.shape[2:], w.shape[2:]):
        ke = dilation * (k - 1) + 1
        r = (size + 2 * padding - ke) % stride
        pads.append((ke - 1 - padding, ke - 1 - padding + r))
    zi = np.pad(zi, [(0, 0)] * 2 + [(max(lo, 0), max(hi, 0)) for lo, hi in pads])
    zi = zi[(slice(None),) * 2 + tuple(slice(max(-lo, 0), zi.shape[2 + i] - max(-hi, 0))
                                       for i, (lo, hi) in enumerate(pads))]
    c = x.shape[1]
    wt = w.reshape(groups, o // groups, c // groups, *w.shape[2:]).swapaxes(1, 2)
    wt = wt[(slice(None),) * 3 + (slice(None, None, -1),) * d].reshape(c, o // groups, *w.shape[2:])
    dcols, _ = _columns(zi, w.shape[2:], 1, dilation, groups)
    wm = wt.reshape(groups, c // groups, -1).transpose(0, 2, 1)
    dx = np.matmul(dcols, wm).reshape(groups, n, -1, c // groups).transpose(1, 0, 3, 2)
    return dx.reshape(x.shape), dw, dy.sum(axis=(0, *range(2, 2 + d)))
