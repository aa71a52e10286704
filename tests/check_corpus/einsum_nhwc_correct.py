"""CORRECT  kind=both layout=nhwc style=torch

Channels-last (TensorFlow layout, weights HWIO), torch-style signatures: one einsum per kernel
tap over strided slices of the padded input."""

import numpy as np


def conv_forward(x, w, b, stride, padding):
    N, H, W, C = x.shape
    KH, KW, _, F = w.shape
    H_out = (H + 2 * padding - KH) // stride + 1
    W_out = (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    out = np.zeros((N, H_out, W_out, F)) + b
    for a in range(KH):
        for c in range(KW):
            patch = xp[:, a:a + stride * (H_out - 1) + 1:stride,
                       c:c + stride * (W_out - 1) + 1:stride, :]
            out += np.einsum("nhwc,cf->nhwf", patch, w[a, c])
    return out


def conv_backward(dout, x, w, b, stride, padding):
    N, H, W, C = x.shape
    KH, KW, _, F = w.shape
    _, H_out, W_out, _ = dout.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for a in range(KH):
        for c in range(KW):
            rows = slice(a, a + stride * (H_out - 1) + 1, stride)
            cols = slice(c, c + stride * (W_out - 1) + 1, stride)
            dw[a, c] = np.einsum("nhwc,nhwf->cf", xp[:, rows, cols, :], dout)
            dxp[:, rows, cols, :] += np.einsum("nhwf,cf->nhwc", dout, w[a, c])
    dx = dxp[:, padding:padding + H, padding:padding + W, :]
    db = dout.sum(axis=(0, 1, 2))
    return dx, dw, db
