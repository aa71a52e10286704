"""BUG: empty_crop  kind=backward layout=nhwc style=torch

Channels-last, torch-style signatures, loops over output positions with a vectorised window;
the backward crops dxp[:, padding:-padding, padding:-padding, :], empty when padding = 0."""

import numpy as np


def conv_forward(x, w, b, stride, padding):
    N, H, W, C = x.shape
    KH, KW, _, F = w.shape
    Ho, Wo = (H + 2 * padding - KH) // stride + 1, (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    out = np.empty((N, Ho, Wo, F))
    for i in range(Ho):
        for j in range(Wo):
            win = xp[:, i * stride:i * stride + KH, j * stride:j * stride + KW, :]
            out[:, i, j, :] = np.tensordot(win, w, axes=([1, 2, 3], [0, 1, 2])) + b
    return out


def conv_backward(dout, x, w, b, stride, padding):
    N, H, W, C = x.shape
    KH, KW, _, F = w.shape
    _, Ho, Wo, _ = dout.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            rows = slice(i * stride, i * stride + KH)
            cols = slice(j * stride, j * stride + KW)
            dw += np.tensordot(xp[:, rows, cols, :], dout[:, i, j, :], axes=([0], [0]))
            dxp[:, rows, cols, :] += np.tensordot(dout[:, i, j, :], w, axes=([1], [3]))
    dx = dxp[:, padding:-padding, padding:-padding, :]
    return dx, dw, dout.sum(axis=(0, 1, 2))
