"""BUG: mean_window  kind=forward layout=nchw style=course

sliding_window_view; the window products are averaged (np.mean) instead of summed."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    # windows (N, C, H', W', HH, WW) against w (F, C, HH, WW)
    prod = windows[:, None] * w[None, :, :, None, None]          # (N, F, C, H', W', HH, WW)
    out = prod.mean(axis=(2, 5, 6)) + b[None, :, None, None]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    raise NotImplementedError
