"""CORRECT  kind=both layout=nchw style=course

NumPy stride tricks: sliding_window_view for the forward, as_strided windows for dw, a loop
over kernel taps for dx."""

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))      # (N, H', W', F)
    out = out.transpose(0, 3, 1, 2) + b[None, :, None, None]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    sn, sc, sh, sw = x_pad.strides
    windows = as_strided(x_pad, shape=(N, C, H_out, W_out, HH, WW),
                         strides=(sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))   # (F, C, HH, WW)
    db = dout.sum(axis=(0, 2, 3))
    dx_pad = np.zeros_like(x_pad)
    for a in range(HH):
        for c in range(WW):
            dx_pad[:, :, a:a + stride * H_out:stride, c:c + stride * W_out:stride] += \
                np.einsum("nfhw,fc->nchw", dout, w[:, :, a, c])
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
