"""BUG: nonfinite  kind=forward layout=nchw style=course

Naive loops over pixel offsets; out is NaN-filled "to see unwritten entries", and the loops
range(0, H + 2 * pad - HH, stride) stop one window early: the last row and column stay NaN."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.full((N, F, H_out, W_out), np.nan)
    for n in range(N):
        for f in range(F):
            for hs in range(0, H + 2 * pad - HH, stride):
                for ws in range(0, W + 2 * pad - WW, stride):
                    window = x_pad[n, :, hs:hs + HH, ws:ws + WW]
                    out[n, f, hs // stride, ws // stride] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache

