"""CORRECT  kind=both layout=nhwc style=course

Six nested loops in channels-last layout (x (N, H, W, C), w (KH, KW, C, F)), the window's
channels summed by a dot product."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, H, W, C = x.shape
    KH, KW, _, F = w.shape
    Ho, Wo = (H + 2 * p - KH) // s + 1, (W + 2 * p - KW) // s + 1
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    out = np.zeros((N, Ho, Wo, F))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for f in range(F):
                    acc = b[f]
                    for u in range(KH):
                        for v in range(KW):
                            acc += xp[n, i * s + u, j * s + v, :] @ w[u, v, :, f]
                    out[n, i, j, f] = acc
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    N, H, W, C = x.shape
    KH, KW, _, F = w.shape
    _, Ho, Wo, _ = dout.shape
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(F)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for f in range(F):
                    g = dout[n, i, j, f]
                    db[f] += g
                    for u in range(KH):
                        for v in range(KW):
                            dw[u, v, :, f] += xp[n, i * s + u, j * s + v, :] * g
                            dxp[n, i * s + u, j * s + v, :] += w[u, v, :, f] * g
    return dxp[:, p:p + H, p:p + W, :], dw, db
