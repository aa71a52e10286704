"""BUG: layout  kind=backward layout=nhwc style=course

Channels-last, computed channels-first inside; dx is transposed back to NHWC but dw is returned
as (F, C, KH, KW) instead of (KH, KW, C, F)."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xc, wc = x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1)
    N, C, H, W = xc.shape
    F, _, HH, WW = wc.shape
    Ho, Wo = (H + 2 * p - HH) // s + 1, (W + 2 * p - WW) // s + 1
    xp = np.pad(xc, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i * s:i * s + HH, j * s:j * s + WW]
                                             * wc[f]) + b[f]
    return out.transpose(0, 2, 3, 1), (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    x, w, dout = x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), dout.transpose(0, 3, 1, 2)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    win = (n, slice(None), slice(i * s, i * s + HH), slice(j * s, j * s + WW))
                    dw[f] += xp[win] * dout[n, f, i, j]
                    dxp[win] += w[f] * dout[n, f, i, j]
    dx = dxp[:, :, p:p + H, p:p + W].transpose(0, 2, 3, 1)
    return dx, dw, dout.sum(axis=(0, 2, 3))
