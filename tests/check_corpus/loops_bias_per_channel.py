"""BUG: bias_per_channel  kind=forward layout=nchw style=course

Naive loops with a loop over input channels; the bias is added inside it, once per channel."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    for c in range(C):
                        window = x_pad[n, c, hs:hs + HH, ws:ws + WW]
                        out[n, f, i, j] += np.sum(window * w[f, c]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache

