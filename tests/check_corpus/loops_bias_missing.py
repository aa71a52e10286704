"""BUG: bias_missing  kind=forward layout=nchw style=torch

Torch-style signature, naive loops; the bias is never added."""

import numpy as np


def conv_forward(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho = (H + 2 * padding - KH) // stride + 1
    Wo = (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    r, c = i * stride, j * stride
                    out[n, f, i, j] = np.sum(xp[n, :, r:r + KH, c:c + KW] * w[f])
    return out


def conv_backward(dout, x, w, b, stride, padding):
    raise NotImplementedError
