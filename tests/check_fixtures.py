"""Hand-written convolutions as students write them (plain loops, 2-d, stride and padding),
with one switch per classic bug. Used by test_check.py; `convgrad check` must catch each bug
and name it."""

import numpy as np

BUGS = ("assign", "no_stride", "swapped", "remainder", "uncropped", "square_only", "flipped")


def make(bug=None, layout="nchw"):
    """A course-style pair ``conv_forward(x, w, b, conv_param) -> (out, cache)`` and
    ``conv_backward(dout, cache) -> (dx, dw, db)`` with ``bug`` injected."""

    def to_nchw(x, w):
        if layout == "nhwc":                 # x (N, H, W, C), w (KH, KW, C, F)
            return x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1)
        return x, w

    def from_nchw(a, weight=False):
        if layout == "nhwc":
            return a.transpose(2, 3, 1, 0) if weight else a.transpose(0, 2, 3, 1)
        return a

    def conv_forward(x, w, b, conv_param):
        x, w = to_nchw(x, w)
        s, p = conv_param["stride"], conv_param["pad"]
        n_img, _, height, width = x.shape
        filters, _, kh, kw = w.shape
        if bug == "square_only":
            kw = kh
        out_h = 1 + (height + 2 * p - kh) // s
        out_w = 1 + (width + 2 * p - kw) // s
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        kernel = w[:, :, ::-1, ::-1] if bug == "flipped" else w
        out = np.zeros((n_img, filters, out_h, out_w))
        for n in range(n_img):
            for f in range(filters):
                for i in range(out_h):
                    for j in range(out_w):
                        window = xp[n, :, i * s:i * s + kh, j * s:j * s + kw]
                        out[n, f, i, j] = np.sum(window * kernel[f]) + b[f]
        return from_nchw(out), (x, w, b, conv_param)

    def conv_backward(dout, cache):
        x, w, b, conv_param = cache
        dout = dout.transpose(0, 3, 1, 2) if layout == "nhwc" else dout
        s, p = conv_param["stride"], conv_param["pad"]
        _, _, height, width = x.shape
        _, _, kh, kw = w.shape
        if bug == "square_only":
            kw = kh
        n_img, filters, out_h, out_w = dout.shape
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        dxp = np.zeros(xp.shape if bug != "remainder" else
                       (*xp.shape[:2], (out_h - 1) * s + kh, (out_w - 1) * s + kw))
        dw = np.zeros(w.shape)
        db = dout.sum(axis=(0, 2, 3))
        for n in range(n_img):
            for f in range(filters):
                for i in range(out_h):
                    for j in range(out_w):
                        r, c = (i, j) if bug == "no_stride" else (i * s, j * s)
                        window = xp[n, :, i * s:i * s + kh, j * s:j * s + kw]
                        g = dout[n, f, i, j]
                        dw[f] += (window[:, ::-1, ::-1] if bug == "swapped" else window) * g
                        if bug == "assign":
                            dxp[n, :, r:r + kh, c:c + kw] = w[f] * g
                        else:
                            dxp[n, :, r:r + kh, c:c + kw] += w[f] * g
        dx = dxp if bug == "uncropped" else dxp[:, :, p:p + height, p:p + width]
        return from_nchw(dx), from_nchw(dw, weight=True), db

    return conv_forward, conv_backward


def torch_style(bug=None):
    """The same code behind PyTorch-style signatures."""
    forward, backward = make(bug)

    def conv2d(x, w, b, stride, padding):
        return forward(x, w, b, {"stride": stride, "pad": padding})[0]

    def conv2d_backward(dout, x, w, b, stride, padding):
        _, cache = forward(x, w, b, {"stride": stride, "pad": padding})
        return backward(dout, cache)

    return conv2d, conv2d_backward


correct_forward, correct_backward = make()
torch_forward, torch_backward = torch_style()


def forward_returning_float32(x, w, b, stride, padding):
    return torch_forward(x, w, b, stride, padding).astype(np.float32)


def forward_that_raises(x, w, b, stride, padding):
    raise RuntimeError("not implemented yet")


def forward_that_hangs(x, w, b, stride, padding):
    import time
    time.sleep(30)
