"""BUG: layout  kind=forward layout=nhwc style=course

Channels-last inputs, converted to channels-first to reuse an NCHW loop, and the output is
returned channels-first."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    x = x.transpose(0, 3, 1, 2)           # (N, H, W, C) -> (N, C, H, W)
    w = w.transpose(3, 2, 0, 1)           # (KH, KW, C, F) -> (F, C, KH, KW)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = (H + 2 * p - HH) // s + 1, (W + 2 * p - WW) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i * s:i * s + HH, j * s:j * s + WW]
                                             * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    raise NotImplementedError
