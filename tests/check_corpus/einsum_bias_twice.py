"""BUG: bias_twice  kind=forward layout=nchw style=course

einsum per kernel tap; the output starts from the bias and the bias is added again at the
end."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = (H + 2 * p - HH) // s + 1, (W + 2 * p - WW) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, F, Ho, Wo)) + b.reshape(1, -1, 1, 1)
    for a in range(HH):
        for c in range(WW):
            patch = xp[:, :, a:a + s * (Ho - 1) + 1:s, c:c + s * (Wo - 1) + 1:s]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, a, c])
    out += b[None, :, None, None]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for a in range(HH):
        for c in range(WW):
            rows = slice(a, a + s * (Ho - 1) + 1, s)
            cols = slice(c, c + s * (Wo - 1) + 1, s)
            dw[:, :, a, c] = np.einsum("nchw,nfhw->fc", xp[:, :, rows, cols], dout)
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, a, c])
    db = dout.sum(axis=(0, 2, 3))
    return dxp[:, :, p:p + H, p:p + W], dw, db
