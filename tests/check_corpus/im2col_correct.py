"""CORRECT  kind=both layout=nchw style=course

im2col with fancy-index arrays (as in the course's fast layers), one matrix product, and col2im
with np.add.at."""

import numpy as np


def get_im2col_indices(C, H, W, HH, WW, pad, stride):
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    i0 = np.tile(np.repeat(np.arange(HH), WW), C)
    i1 = stride * np.repeat(np.arange(H_out), W_out)
    j0 = np.tile(np.arange(WW), HH * C)
    j1 = stride * np.tile(np.arange(W_out), H_out)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), HH * WW).reshape(-1, 1)
    return k, i, j, H_out, W_out


def im2col(x, HH, WW, pad, stride):
    N, C, H, W = x.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k, i, j, H_out, W_out = get_im2col_indices(C, H, W, HH, WW, pad, stride)
    cols = x_pad[:, k, i, j]                                  # (N, C*HH*WW, H_out*W_out)
    return cols.transpose(1, 2, 0).reshape(C * HH * WW, -1), H_out, W_out


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N = x.shape[0]
    F, _, HH, WW = w.shape
    cols, H_out, W_out = im2col(x, HH, WW, pad, stride)
    out = w.reshape(F, -1) @ cols + b.reshape(-1, 1)
    out = out.reshape(F, H_out, W_out, N).transpose(3, 0, 1, 2)
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    cols, H_out, W_out = im2col(x, HH, WW, pad, stride)
    dout_r = dout.transpose(1, 2, 3, 0).reshape(F, -1)
    db = np.sum(dout, axis=(0, 2, 3))
    dw = (dout_r @ cols.T).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ dout_r
    dcols = dcols.reshape(C * HH * WW, H_out * W_out, N).transpose(2, 0, 1)
    k, i, j, _, _ = get_im2col_indices(C, H, W, HH, WW, pad, stride)
    dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    np.add.at(dx_pad, (slice(None), k, i, j), dcols)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
