"""A hand-written 2-d convolution (cross-correlation) in plain loops — the kind `convgrad check`
verifies — with its backward pass, both in PyTorch's calling convention:

    convgrad check examples/naive_conv.py:conv2d
    convgrad check examples/naive_conv.py:conv2d_backward --kind backward

x (N, C, H, W), w (F, C, KH, KW), b (F,); the same stride and padding on both axes.
"""

import numpy as np


def conv2d(x, w, b, stride, padding):
    """out[n, f, i, j] = b[f] + Σ_c,a,e xp[n, c, i·s + a, j·s + e] · w[f, c, a, e]."""
    n_img, _, height, width = x.shape
    filters, _, kh, kw = w.shape
    out_h = (height + 2 * padding - kh) // stride + 1
    out_w = (width + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.empty((n_img, filters, out_h, out_w), dtype=np.result_type(x, w))
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def conv2d_backward(dout, x, w, b, stride, padding):
    """(dx, dw, db): every window scatters its gradient back with += (windows overlap)."""
    _, _, height, width = x.shape
    _, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]                                        # (N, F)
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    dx = dxp[:, :, padding:padding + height, padding:padding + width]
    return dx, dw, dout.sum(axis=(0, 2, 3))
