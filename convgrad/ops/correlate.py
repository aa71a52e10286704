"""The core of the primitive: a grouped, valid, strided, dilated correlation, eight ways.

    y[b, g, o, p] = Σ_{c, j} x[b, g, c, p·s + j·d] · w[g, o, c, j]
    x (B, G, Ci, *S), w (G, Co, Ci, *K) → y (B, G, Co, *M)

All contract in BLAS and differ in what they copy — or, for fft and winograd, in how many
multiplies they need (measured on the project machine):

``im2col``   copy every window into a column buffer (Ci·ΠK rows), then one batched matmul. Best
             when Ci·ΠK is small or the images are small; the only one for stride > 1.
``shift``    stride 1: flatten the spatial axes, so tap j reads the *contiguous* slice starting
             at offset Σ j·d·row_stride; one matmul per tap straight from x (no copy), summed
             into the output; outputs computed at the wrapped border columns are discarded.
             Best for large images, large kernels and depthwise (then a multiply-add per tap).
``stacked``  stride 1, the transpose of shift: one matmul of every tap's weights with all of x,
             then the ΠK shifted slices are summed. Best when C_out·ΠK ≤ C_in (e.g. the input
             gradient of a first layer, where C_out is the image's channel count) — and, with
             the summing compiled (numba), whenever C_out < C_in on images of 100 to 1600
             outputs: its matmul is ΠK times taller than im2col's and the copy it saves is
             the largest one.
``rows``     im2col and stacked combined: im2col over the trailing axes, the taps of the
             leading kernel axis (two in 3-d when C_out is small) stacked into the matmul rows
             as in ``stacked``, their products added along the leading axes by its col2im.
             1/k₀ of im2col's copy, and a matmul k₀ times taller — for 16–64 channels the
             shape BLAS runs fastest (C_out = 32: 105 → 142 GFLOP/s on one core). Stride 1
             on the stacked axes; best for C_in ≥ 16 from 1600 outputs per image and, with
             the adds compiled, from 100 outputs when C_out ≥ C_in.
``outrows``  the transpose of rows, for many taps and few outputs (weight gradients): the same
             row windows, and per *output* row one matmul with a contiguous slice of them
             holding that row's k₀ kernel rows. Dilation 1 on the first axis.
``window``   one einsum per *output* position over channels and taps, on a strided slice of x
             (no copy). For few outputs and many taps with tiny B·Co: the weight gradient of a
             depthwise convolution, where each channel's ΠK weights are dot products.
``fft``      stride 1: real FFTs (scipy.fft on all cores when installed, else numpy.fft) of x
             and of the (dilated) kernel over a length L ≥ n per axis, one complex matmul
             over channels per frequency, one inverse FFT. Circular wrap-around only touches
             outputs past n − ke, which are cut. Best for large kernels, where the other
             methods copy or multiply ΠK times; float32 error stays ~1e-6 relative.
``winograd`` stride 1, kernels 3×3, 1×3, 3 and 5 (1-d): Winograd's F(4, 3) per axis, F(4, 5)
             (winograd.py) — x's overlapping 6×6 tiles and w transformed, 36 matmuls
             (Co × Ci) @ (Ci × tiles) instead of the 144 multiplies per 16 outputs of the
             direct sum, transformed back; the transforms compiled (numba). Its transpose
             computes such a layer's weight gradient (a correlation with a 3- or 5-tap
             *output*): x's tiles and ∂L/∂y's blocks transformed, 36 matmuls
             (Co × tiles) @ (tiles × Ci), G₀ᵀ·(·)·G₁. Chosen for float32 only, by the
             measured ``_WINOGRAD_RULES`` (3×3: from 8 input and output channels and 6
             output columns per dilation phase; 1-d 5-tap: 16 channels and 256 columns, a
             weight gradient 8 and 256): 0.4–0.9× the time of the direct methods there
             (resnet_3x3's forward 9.4 → 4.0–4.5 ms; mnist_2's 0.5×). Its float32
             error is ~1e-6–1e-5 of the output's scale (direct: ~3e-7); float64, the
             reference, keeps the direct sums.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import math
import threading
from typing import Sequence

import numpy as np

from ..engine.settings import current, settings
from . import blas, jit, parallel, warmup, winograd
from .windows import pad_or_crop, sliding_windows

# scipy's pocketfft is multithreaded and ~4× faster in float32; the core needs NumPy only.
# It is imported on the first FFT (importing scipy.fft costs ~0.1 s).
FFT_OPTIONS: dict = {"workers": -1} if importlib.util.find_spec("scipy") else {}


def fft_backend():
    """scipy.fft when installed, else numpy.fft."""
    if FFT_OPTIONS:
        import scipy.fft  # noqa: PLC0415
        return scipy.fft
    return np.fft

METHODS = ("im2col", "rows", "outrows", "shift", "stacked", "window", "fft", "winograd")
_state = threading.local()            # each thread's kept column buffers
_workspace_limit = 256 * 2**20
_generation = 0                       # bumped by set_workspace_limit
_SHIFT_BLOCK_BYTES = 256 * 2**10      # running sum of the shift method: about an L2 cache
_TILE_BYTES = 16 * 2**20              # im2col columns per tile: stays in the last-level cache
# a Winograd block's two transformed operands, per form (``_winograd_plan``)
_WINOGRAD_BLOCK_BYTES = {"forward": 6 * 2**20, "weight": 16 * 2**20}
_JIT_ELEMENTS = 2**16                 # depthwise inputs at least this big use the compiled taps
_ROWS_POSITIONS = 1600                # output positions per image from which "rows" pays
_SMALL_POSITIONS = 100                # from here the compiled stacked and rows pay
_WINDOW_CHANNELS = 64                 # a single window: matmuls summed over this many channels
_STACK_ROWS = 96                      # "rows" stacks kernel axes until C_out·Πk reaches this
_OUTROWS_GEMM_ROWS = 64              # "outrows" needs this many matmul rows (B·Π M[1:])
_FOLD_POSITIONS = 1600                # below this many output positions per image, im2col
_FOLD_DEPTH = 64                      # folds the batch into one matmul when Ci·ΠK is this deep
# winograd (float32): per (form, kernel) the least input and output channels and output
# columns (per dilation phase) from which it was measured faster than the direct methods
# (3×3, batch 64: 8 → 16 channels on 8×8 images 0.64×, 16 → 16 on 6×6 0.50×, 4 channels or
# 2–3 columns 0.77–1.4×; on 4×4 images 0.64–0.83× alone but the 8 → 16 layer of `convgrad
# train` slowed its epoch by 10 %: from 6 columns; 1-d 5-tap: 16 channels at 1024 columns
# 0.57×, 8 channels 1.0×; its weight gradient: 8 channels at 256 columns 0.78×, at 128 1.41×)
_WINOGRAD_RULES = {("forward", (3, 3)): (8, 6), ("weight", (3, 3)): (8, 6),
                   ("forward", (5,)): (16, 256), ("weight", (5,)): (8, 256)}


def set_workspace_limit(nbytes: int) -> int:
    """Cap (bytes) on the column buffer of one call; returns the previous cap.

    ``im2col`` tiles over the batch so each tile's buffer fits, and keeps one buffer of at most
    this size per thread for reuse (a fresh buffer costs page faults). Setting the cap drops
    the kept buffers.
    """
    global _workspace_limit, _generation
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 1:
        raise ValueError(f"set_workspace_limit: nbytes must be a positive int, got {nbytes!r}")
    old, _workspace_limit = _workspace_limit, nbytes
    _generation += 1                      # every thread drops its kept buffers
    return old


def _budget() -> int:
    """This thread's share of the workspace cap: batch parts that run at once on several
    cores (``ops.parallel``) split it between them (``Settings.sharing``)."""
    return _workspace_limit // current().sharing


def shared_workspace(parts: int):
    """In this context, budget for 1/``parts`` of the workspace cap (``parts`` run at once):
    ``settings(sharing=parts)``."""
    return settings(sharing=parts)


def get_workspace_limit() -> int:
    """The current cap (bytes) on one call's column buffer."""
    return _workspace_limit


def current_method() -> str | None:
    """The method forced in this context (``forced_method``), if any."""
    return current().method


def forced_method(name: str | None):
    """Force one of ``METHODS`` for every correlation in this context (tests, benchmarks):
    ``engine.settings(method=name)``."""
    if name is not None and name not in METHODS:
        raise ValueError(f"forced_method: unknown method {name!r}; choose from {METHODS}")
    return settings(method=name)


def correlate(x: np.ndarray, w: np.ndarray, stride: Sequence[int], dilation: Sequence[int],
              pads: Sequence[tuple[int, int]] | None = None,
              bias: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """Grouped valid correlation ``x (B, G, Ci, *S) ⋆ w (G, Co, Ci, *K) → (B, G, Co, *M)`` of x
    padded (or, negative, cropped) by ``pads`` ``(lo, hi)`` per spatial axis, plus ``bias``
    (G, Co) if given; into ``out`` (that shape) if given — a batch part's slice of the whole
    result, which ``winograd`` writes directly (one pass over the output less).

    The padded copy goes to a reused scratch buffer — except along the axes whose taps
    ``stacked`` and ``rows`` stack into their matmul: they multiply the unpadded x and add each
    tap's product where it lands. ``im2col`` adds the bias inside its matmul (a row of ones in
    the columns), ``stacked`` and ``rows`` as the start of their sums, the others in place
    afterwards.
    """
    y = _correlate(x, w, stride, dilation, pads, bias, out)
    if out is None or y is out:
        return y
    np.copyto(out, y)
    return out


def threads_itself(x_shape, w_shape, stride, dilation, pads, dtype) -> bool:
    """Whether ``correlate`` with these shapes runs on several cores by itself (Winograd:
    ``winograd.threads``) — the caller then passes the whole batch from one thread."""
    method, _ = _resolve(x_shape, w_shape, stride, dilation, pads, dtype)
    if method != "winograd":
        return False
    padded = [n + lo + hi for n, (lo, hi) in zip(x_shape[3:], pads)]
    outputs = math.prod((n - d * (k - 1) - 1) // s + 1
                        for n, k, s, d in zip(padded, w_shape[3:], stride, dilation))
    macs = x_shape[0] * x_shape[1] * w_shape[1] * x_shape[2] * math.prod(w_shape[3:]) * outputs
    return winograd.threads(x_shape[0], dtype, macs) > 1


def _resolve(x_shape, w_shape, stride, dilation, pads, dtype) -> tuple[str, str | None]:
    """The method (forced in this thread, else ``choose_method``'s) where it applies to this
    stride and dilation, else im2col; and the Winograd form (``_winograd_form``)."""
    pads = tuple(pads) if pads is not None else ((0, 0),) * (len(x_shape) - 3)
    padded = tuple(x_shape[:3]) + tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[3:], pads))
    method = current().method or choose_method(padded, w_shape, stride, dilation,
                                                              dtype)
    form = _winograd_form(x_shape, w_shape, stride, dilation, pads)
    if method == "rows" and (stride[0] != 1 or len(x_shape) < 5):
        method = "im2col"
    elif method == "outrows" and dilation[0] != 1:
        method = "im2col"
    elif method == "winograd" and form is None:
        method = "im2col"
    elif method not in ("im2col", "window", "rows", "outrows", "winograd") and any(
            s != 1 for s in stride):
        method = "im2col"
    return method, form


def _correlate(x, w, stride, dilation, pads, bias, out):
    ndim = x.ndim - 3
    pads = tuple(pads) if pads is not None else ((0, 0),) * ndim
    method, form = _resolve(x.shape, w.shape, stride, dilation, pads, x.dtype)
    method = _exact_products(method, x, w, pads)
    if _compiled_depthwise(method, x, w, stride):
        return _depthwise(method, x, w, stride, dilation, pads, bias)
    if method == "rows" and _row_columns_bytes(x, w, stride, dilation, pads) > _budget() // 2:
        method = "im2col"           # one image's columns would break the cap: im2col's row tiles
    if method == "winograd":        # pads applied inside its compiled transforms
        if form == "weight":        # its result is w-sized: checked after (see _exact_products)
            y = _add_bias(_winograd_weight(x, w, stride, pads), bias)
            return y if finite(y) else _exactly(x, w, stride, dilation, pads, bias)
        if not (finite(w) and finite(x)):
            return _exactly(x, w, stride, dilation, pads, bias)
        return _winograd(x, w, dilation, pads, bias, out)
    if method in ("rows", "stacked"):
        if any(max(-lo, 0) + max(-hi, 0) > n for n, (lo, hi) in zip(x.shape[3:], pads)):
            x, pads = _pad(x, pads), ((0, 0),) * ndim   # a crop into the padding: do it first
        split = _row_split(w.shape[1], w.shape[3:], stride) if method == "rows" else ndim
        return _stacked(x, w, stride, dilation, pads, bias, split)
    x = _pad(x, pads)
    if method == "im2col":
        return _im2col(x, w, stride, dilation, bias)
    y = {"outrows": _outrows, "shift": _shift, "window": _window,
         "fft": _fft}[method](x, w, stride, dilation)
    y = _add_bias(y, bias)
    if method == "fft" and not finite(y):
        return _exactly(x, w, stride, dilation, ((0, 0),) * ndim, bias)     # x is padded
    return y


def _compiled_depthwise(method: str, x: np.ndarray, w: np.ndarray, stride) -> bool:
    """The numba kernels take depthwise taps (stride 1) and the 2-d depthwise weight gradient
    (one image: the batch is the contracted axis); small calls skip the compile."""
    if not (x.dtype == w.dtype and x.size >= _JIT_ELEMENTS and jit.available()):
        return False
    if method == "shift":
        return x.shape[2] == 1 and w.shape[1] == 1 and all(s == 1 for s in stride)
    return method == "window" and x.ndim == 5 and x.shape[0] == 1 and w.shape[1] == 1


def _depthwise(method, x, w, stride, dilation, pads, bias):
    """The compiled depthwise kernels pad each plane in cache: only a crop happens here."""
    x = pad_or_crop(x, [(min(lo, 0), min(hi, 0)) for lo, hi in pads])     # a view
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    if method == "shift":
        y = jit.depthwise_taps(x[:, :, 0], w[:, 0, 0], bias, dilation, pads)
        return y[:, :, None]
    padded = [n + lo + hi for n, (lo, hi) in zip(x.shape[3:], pads)]
    out_size = [(n - d * (k - 1) - 1) // s + 1 for n, k, s, d in
                zip(padded, w.shape[3:], stride, dilation)]
    dots = jit.window_dots(x[0].swapaxes(0, 1), w[:, 0].swapaxes(0, 1), stride, dilation, pads,
                           out_size)
    return _add_bias(dots.reshape(1, x.shape[1], 1, *out_size), bias)


def finite(a: np.ndarray) -> bool:
    """Whether every element of ``a`` is finite: its largest and smallest element are (NaN
    propagates through both; +inf is the largest, −inf the smallest) — two vectorised passes
    without temporaries, faster than a sum and never fooled by an overflow."""
    if not a.size:
        return True
    return bool(np.isfinite(np.maximum.reduce(a, axis=None))
                and np.isfinite(np.minimum.reduce(a, axis=None)))


def _exact_products(method: str, x: np.ndarray, w: np.ndarray, pads) -> str:
    """The method, or im2col where it would not form exactly PyTorch's products — which is what
    decides where a NaN or inf lands. PyTorch multiplies every tap with the zero-padded x
    (im2col, shift, window, outrows do too); stacked and rows never multiply the padding, which
    matters (0·NaN) only for a non-finite w (small: checked before). fft and winograd mix whole
    transforms, so a non-finite operand spreads — but never vanishes (no coefficient is zero
    for a value it reads, and 0·inf is NaN). So a non-finite operand sends a Winograd forward
    to ``_exactly``, while a Winograd weight gradient and an FFT are checked by their result
    (w-sized; the FFT's own passes dwarf one more) and computed again where it is not finite.
    (Checking a forward's result, just written by the other core, measured slower than
    checking its operands.)"""
    if method in ("stacked", "rows") and any(lo > 0 or hi > 0 for lo, hi in pads) and not (
            finite(w)):
        return "im2col"
    return method


def _exactly(x, w, stride, dilation, pads, bias) -> np.ndarray:
    """The correlation by im2col, whose products are PyTorch's (a transform method's result was
    not finite: where the NaN or inf land must be torch's)."""
    with settings(method="im2col"):
        return _correlate(x, w, stride, dilation, pads, bias, None)


def _add_bias(y: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """y (B, G, Co, *M) += bias (G, Co), in place (every method returns a fresh array)."""
    if bias is not None:
        y += bias.reshape(bias.shape + (1,) * (y.ndim - 3))
    return y


def choose_method(x_shape: Sequence[int], w_shape: Sequence[int], stride: Sequence[int],
                  dilation: Sequence[int], dtype=None) -> str:
    """The measured rule of thumb (see the module docstring and benchmarks/bench_ops.py).
    ``dtype``: Winograd only for float32 (float64, the reference, keeps the direct sums)."""
    ci, co, kernel = x_shape[2], w_shape[1], w_shape[3:]
    pk = math.prod(kernel)
    out_per_image = math.prod(n - d * (k - 1) for n, k, d in zip(x_shape[3:], kernel, dilation))
    outputs = math.prod((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in
                        zip(x_shape[3:], kernel, stride, dilation))
    if x_shape[0] * co <= 4 and outputs <= 64 and pk >= 8 * outputs:
        return "window"
    if pk > 1 and ci <= _WINDOW_CHANNELS and all(
            n - d * (k - 1) == 1 for n, k, d in zip(x_shape[3:], kernel, dilation)):
        return "window"                         # the kernel covers x: a pointwise ∂w
    if all(s == 1 for s in stride) and pk >= 16 and _fft_pays(x_shape, w_shape, dilation):
        return "fft"
    single = dtype is not None and np.dtype(dtype) == np.float32
    if single and winograd.automatic():
        # 3×3 and 1-d 5-tap layers (measured): the forward form (a forward or ∂x) by its
        # kernel, the weight form by its output (the layer's kernel)
        form = _winograd_form(x_shape, w_shape, stride, dilation)
        out_shape = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in
                          zip(x_shape[3:], kernel, stride, dilation))
        least, width = _WINOGRAD_RULES.get(
            (form, tuple(kernel) if form == "forward" else out_shape), (math.inf, 0))
        channels, columns = (
            (min(ci, co), (x_shape[-1] - (kernel[-1] - 1) * dilation[-1]) // dilation[-1])
            if form == "forward" else (min(x_shape[0], co), -(-kernel[-1] // stride[-1])))
        if channels >= least and columns >= width and warmup.ready(
                kernel if form == "forward" else out_shape, dtype):
            return "winograd"           # 3×3: 36 multiplies per 16 outputs, not 144
        # (until its compiled code is ready, a direct method: warmup.py)
    if pk > out_per_image and dilation[0] == 1 and not (single and len(kernel) == 1):
        # (a 1-d float32 weight gradient: im2col's one matmul, conv1d's ∂w 4.8 → 4.2 ms)
        out_rows = (x_shape[3] - kernel[0]) // stride[0] + 1
        if out_rows > 1 and x_shape[0] * outputs // out_rows >= _OUTROWS_GEMM_ROWS:
            return "outrows"                    # weight gradients: 1/out_rows of the copying
    if any(s != 1 for s in stride) or pk > out_per_image:
        return "im2col"
    if pk == 1 or (ci == 1 and co == 1):
        return "shift"                          # one plain matmul; or depthwise multiply-adds
    if co * pk <= ci:
        return "stacked"
    rows = len(kernel) >= 2 and kernel[0] > 1 and ci >= 16
    if rows and outputs >= _ROWS_POSITIONS:
        return "rows"                           # large images: a third of im2col's copying
    # With the adds compiled, the tall matmuls of stacked and rows pay from small images on
    # (tiny ones: im2col's one batch-folded matmul).
    if outputs >= _SMALL_POSITIONS and len(kernel) <= 3 and jit.available():
        if co < ci:
            return "stacked"
        if rows:
            return "rows"
        if co == ci:
            return "stacked"
    if pk >= 25 and ci >= 32 and len(kernel) == 3:
        return "shift"                          # 3-d: many taps, each a matmul with depth
    return "im2col"


# Cost model of the FFT decision, fitted on the project machine (2-core Xeon, OpenBLAS, scipy's
# pocketfft on both cores; see benchmarks/bench_ops.py): direct = multiply-adds + column copies;
# FFT = a fixed cost + transformed spectrum elements (x, y and the kernels) + complex
# multiply-adds of the per-frequency channel contraction. FFT only when clearly cheaper: its
# float32 error (~1e-6 relative) is larger than a direct sum's.
_DIRECT_MAC, _COLUMN_COPY = 1.2e-11, 3.1e-10
_FFT_FIXED, _FFT_MAC = 3e-4, 6e-10
_FFT_ELEMENT = 3e-9 if FFT_OPTIONS else 8e-9


def _fft_pays(x_shape, w_shape, dilation) -> bool:
    batch, groups, ci = x_shape[:3]
    co, kernel, size = w_shape[1], w_shape[3:], x_shape[3:]
    out = [n - d * (k - 1) for n, k, d in zip(size, kernel, dilation)]
    lengths = [_fast_length(n) for n in size]
    bins = math.prod(lengths[:-1]) * (lengths[-1] // 2 + 1)
    spectra = groups * (batch * ci + co * ci + batch * co) * bins
    fft = _FFT_FIXED + spectra * _FFT_ELEMENT + batch * groups * ci * co * bins * _FFT_MAC
    macs = batch * groups * co * ci * math.prod(kernel) * math.prod(out)
    columns = batch * groups * ci * math.prod(kernel) * math.prod(out)
    return fft < 0.8 * (macs * _DIRECT_MAC + columns * _COLUMN_COPY)


def _fast_length(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n (lengths FFTs handle fastest)."""
    best, p2 = 2 * n, 1
    while p2 < 2 * n:
        p3 = p2
        while p3 < 2 * n:
            p5 = p3
            while p5 < n:
                p5 *= 5
            best = min(best, p5)
            p3 *= 3
        p2 *= 2
    return max(best, 1)


def _im2col(x, w, stride, dilation, bias=None):
    """Column buffer laid out so that the longer of (taps, output positions) is innermost —
    where x is read sequentially — contracted by one matmul per group. Tiles over the batch
    and, when one image is too big, over the first output axis, so that a tile's columns stay
    within a cache-sized budget (and always within the workspace cap)."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    win = sliding_windows(x, kernel, stride, dilation)          # (B, G, Ci, *M, *K)
    out_size = win.shape[3:3 + ndim]
    pk, pm = math.prod(kernel), math.prod(out_size)
    if pk > pm and batch == 1 and w.strides[2] > w.strides[1]:
        return _add_bias(_im2col_batched_channels(x, w, win, out_size), bias)
    w_mat = w.reshape(groups, co, ci * pk)
    depth, extra = ci * pk, int(bias is not None)      # extra: a row of ones for the bias
    if extra:
        w_mat = np.concatenate([w_mat, bias.reshape(groups, co, 1)], axis=2)
    m_axes, k_axes = tuple(range(3, 3 + ndim)), tuple(range(3 + ndim, 3 + 2 * ndim))
    out = np.empty((batch, groups, co, pm), dtype=x.dtype)
    budget = min(_budget(), _TILE_BYTES)
    per_row = groups * ci * pk * (pm // out_size[0]) * x.dtype.itemsize   # one output row
    per_item = per_row * out_size[0]
    tile = max(1, min(batch, budget // per_item))
    rows = out_size[0] if per_item <= budget else max(1, min(out_size[0], budget // per_row))
    rest = pm // out_size[0]
    taps_inner = pk > pm
    for start in range(0, batch, tile):
        for r0 in range(0, out_size[0], rows):
            part = win[start:start + tile, :, :, r0:r0 + rows]
            nb, nr = part.shape[0], part.shape[3]
            cells = slice(r0 * rest, (r0 + nr) * rest)
            if taps_inner:   # columns (G, nb·positions, Ci·ΠK)
                cols = _columns(part, (1, 0, *m_axes, 2, *k_axes),
                                (groups, nb * nr * rest, depth), 2, extra)
                res = np.matmul(cols, w_mat.transpose(0, 2, 1)).reshape(groups, nb, nr * rest, co)
                out[start:start + nb, :, :, cells] = res.transpose(1, 0, 3, 2)
            elif nb > 1 and pm < _FOLD_POSITIONS and depth >= _FOLD_DEPTH:
                # small images, deep columns: (G, Ci·ΠK, nb·positions), one big matmul instead
                # of nb small ones (for shallow columns the transposed copy back costs more)
                cols = _columns(part, (1, 2, *k_axes, 0, *m_axes),
                                (groups, depth, nb * nr * rest), 1, extra)
                res = np.matmul(w_mat, cols)
                out[start:start + nb, :, :, cells] = res.reshape(
                    groups, co, nb, nr * rest).transpose(2, 0, 1, 3)
            else:            # columns (nb, G, Ci·ΠK, positions): output positions innermost
                cols = _columns(part, (0, 1, 2, *k_axes, *m_axes),
                                (nb, groups, depth, nr * rest), 2, extra)
                parallel.matmul(w_mat, cols, out=out[start:start + nb, :, :, cells])
    return out.reshape(batch, groups, co, *out_size)


def _outrows(x, w, stride, dilation):
    """Many taps, few outputs: row windows over the trailing axes, laid out (Ci, G, B·M', S₀·K')
    so that output row p₀'s taps — kernel rows p₀·s₀ … p₀·s₀ + k₀ − 1 of x — are one contiguous
    slice; one matmul per output row with the kernel seen as (Ci, G, ΠK, Co), summed over Ci.
    In 1-d the "row windows" are x itself: no copy at all."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    out0 = (x.shape[3] - kernel[0]) // stride[0] + 1
    if ndim == 1:
        cols, out_rest = x.transpose(2, 1, 0, 3), ()            # (Ci, G, B, S0): a view
    else:
        win = sliding_windows(x, kernel[1:], stride[1:], dilation[1:])  # (B,G,Ci,S0,*M',*K')
        out_rest = win.shape[4:3 + ndim]
        if win.size > _budget() // (2 * x.dtype.itemsize):
            return _im2col(x, w, stride, dilation)
        order = (2, 1, 0, *range(4, 3 + ndim), 3, *range(3 + ndim, 2 + 2 * ndim))
        cols = _workspace(x.dtype, [win.shape[i] for i in order])
        np.copyto(cols, win.transpose(order))
    pm1, pk1 = math.prod(out_rest), math.prod(kernel[1:])
    cols = cols.reshape(ci, groups, batch * pm1, -1)
    w_mat = w.transpose(2, 0, *range(3, 3 + ndim), 1).reshape(ci, groups, -1, co)
    y = np.empty((groups, batch, pm1, co, out0), dtype=x.dtype)
    span = kernel[0] * pk1
    for p in range(out0):
        first = p * stride[0] * pk1
        part = np.matmul(cols[..., first:first + span], w_mat)   # (Ci, G, B·M', Co)
        y[..., p] = part.sum(0).reshape(groups, batch, pm1, co)
    return np.moveaxis(y, 3, 2).reshape(groups, batch, co, *out_rest, out0).transpose(
        1, 0, 2, ndim + 2, *range(3, ndim + 2))


def _im2col_batched_channels(x, w, win, out_size):
    """One image (B = 1), many taps, and a kernel whose channel axis is outermost in memory —
    the weight gradient of a layer with one input channel per group, where the kernel is ∂L/∂y
    seen batch-major. A matmul batched over the contracted channels, then summed, reads ∂L/∂y
    in place instead of transposing it."""
    ndim = x.ndim - 3
    groups, ci = x.shape[1:3]
    co, kernel = w.shape[1], w.shape[3:]
    pk, pm = math.prod(kernel), math.prod(out_size)
    w_by_channel = np.moveaxis(w, 2, 0).reshape(ci, groups, co, pk)   # a view of ∂L/∂y
    order = (1, 0, *range(2, 2 + ndim), *range(2 + ndim, 2 + 2 * ndim))  # (Ci, G, *M, *K)
    per_channel = groups * pk * pm * x.dtype.itemsize
    step = max(1, min(ci, min(_budget(), _TILE_BYTES) // per_channel))
    y = np.zeros((groups, co, pm), dtype=x.dtype)
    for start in range(0, ci, step):
        part = win[0, :, start:start + step]                           # (G, c, *M, *K)
        cols = _workspace(x.dtype, [part.shape[i] for i in order])
        np.copyto(cols, part.transpose(order))                         # x rows innermost
        cols = cols.reshape(-1, groups, pm, pk)
        y += parallel.matmul(w_by_channel[start:start + step],
                             cols.transpose(0, 1, 3, 2)).sum(0)
    return y.reshape(1, groups, co, *out_size)


def _shift(x, w, stride, dilation):
    """Per tap, one matmul (or multiply for depthwise) of a contiguous slice of flat x,
    accumulated block by block so the running sum stays in cache."""
    flat, offsets, length, finish = _flat_taps(x, w, dilation)
    batch, groups, ci = x.shape[:3]
    co = w.shape[1]
    w_taps = w.reshape(groups, co, ci, -1)
    y = np.empty((batch, groups, co, flat.shape[-1]), dtype=x.dtype)
    if ci == 1 and co == 1:   # depthwise: rows are (image, channel) pairs
        flat, y = flat.reshape(batch * groups, -1), y.reshape(batch * groups, -1)
        w_taps = np.broadcast_to(w_taps[None, :, 0, 0], (batch, groups, len(offsets)))
        w_taps = w_taps.reshape(batch * groups, -1, 1)
        row_bytes = length * x.dtype.itemsize
        product = (lambda rows, t, off, out: np.multiply(flat[rows, off:off + length],
                                                         w_taps[rows, t], out=out))
    else:                     # rows are images
        row_bytes = groups * co * length * x.dtype.itemsize
        product = (lambda rows, t, off, out: np.matmul(w_taps[..., t],
                                                       flat[rows, ..., off:off + length], out=out))
    # one tap (pointwise) sums nothing: all rows in one call; else blocks whose sum stays in cache
    step = y.shape[0] if len(offsets) == 1 else max(1, _SHIFT_BLOCK_BYTES // row_bytes)
    tmp = np.empty((min(step, y.shape[0]) if len(offsets) > 1 else 0, *y.shape[1:-1], length),
                   dtype=x.dtype)
    for start in range(0, y.shape[0], step):
        rows = slice(start, min(start + step, y.shape[0]))
        acc, part = y[rows, ..., :length], tmp[:rows.stop - rows.start]
        for t, off in enumerate(offsets):
            product(rows, t, off, acc if t == 0 else part)
            if t:
                acc += part
    return finish(y.reshape(batch, groups, co, -1))


def _stacked(x, w, stride, dilation, pads, bias=None, split=None):
    """The taps of the first ``split`` kernel axes stacked into the rows of one matmul, whose
    products are then added where they land (a col2im over those axes); the other axes, if any,
    as im2col columns. ``split = ndim`` (``stacked``): the matmul reads x itself, unpadded.
    ``split < ndim`` (``rows``): the columns hold only the trailing axes' taps, over the
    leading axes' *unpadded* rows. Either way the leading axes (stride 1) are never padded —
    a product row that would read padding is simply not added.

    With numba the adding is one compiled pass instead of one strided NumPy add per tap. The
    products go through a reused buffer within the cache budget and the workspace cap: a few
    images at a time, or for large images one image and a chunk of the taps at a time."""
    ndim = x.ndim - 3
    split = ndim if split is None else split
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    # crop (negative padding) the leading axes; their positive padding is never materialised
    x = pad_or_crop(x, [(min(lo, 0), min(hi, 0)) for lo, hi in pads[:split]]
                    + [(0, 0)] * (ndim - split))
    lead_pads = [(max(lo, 0), max(hi, 0)) for lo, hi in pads[:split]]
    lead, lead_kernel = x.shape[3:3 + split], kernel[:split]
    out_lead = [n + lo + hi - d * (k - 1)
                for n, (lo, hi), k, d in zip(lead, lead_pads, lead_kernel, dilation)]
    taps, depth = math.prod(lead_kernel), ci * math.prod(kernel[split:])
    shifts = _tap_shifts(lead_kernel, dilation, lead_pads)
    if split < ndim:     # columns of the trailing axes' windows: (Ci, *K'', *S', *M'')
        win = sliding_windows(_pad(x, pads[split:]), kernel[split:], stride[split:],
                              dilation[split:])
        tail_out = win.shape[3 + split:3 + ndim]
        rest = math.prod(tail_out)     # merged with the last stacked axis: long runs to add
        spatial, out_spatial = (*lead[:-1], lead[-1] * rest), (*out_lead[:-1], out_lead[-1] * rest)
        shifts = [shift[:-1] + [shift[-1] * rest] for shift in shifts]
        order = (0, 1, 2, *range(3 + ndim, 3 + 2 * ndim - split), *range(3, 3 + ndim))
    else:
        tail_out, spatial, out_spatial = (), lead, out_lead
        flat = x.reshape(batch, groups, ci, -1)
    positions = math.prod(spatial)
    if split == ndim:
        w_taps = _tap_major(w)
    else:
        w_taps = np.ascontiguousarray(np.moveaxis(w.reshape(groups, co, ci, taps, -1), 3, 1))
    w_taps = w_taps.reshape(groups, taps, co, depth)
    compiled = batch * groups * taps * co * positions >= _JIT_ELEMENTS and jit.available()
    y = (np.empty if compiled else np.zeros)((batch, groups, co, *out_spatial), dtype=x.dtype)
    per_tap = max(1, groups * co * positions * x.dtype.itemsize)  # one image, one tap
    columns = groups * depth * positions * x.dtype.itemsize if split < ndim else 0
    budget = min(_budget() // 2, _TILE_BYTES)
    tile = max(1, min(batch, budget // (columns + taps * per_tap)))
    chunk = taps if tile > 1 else max(1, min(taps, (budget - columns) // per_tap))
    for start in range(0, batch, tile):
        part = slice(start, min(start + tile, batch))
        nb = part.stop - part.start
        if split < ndim:
            src = _columns(win[part], order, (nb, groups, depth, positions), 2, 0)
        else:
            src = flat[part]
        for t0 in range(0, taps, chunk):
            nt = min(chunk, taps - t0)
            products = _workspace(x.dtype, (nb, groups, nt * co, positions),
                                  slot="taps" if split < ndim else "columns")
            parallel.matmul(w_taps[:, t0:t0 + nt].reshape(groups, nt * co, depth), src,
                            out=products)
            products = products.reshape(nb, groups, nt, co, *spatial)
            if compiled:
                jit.add_taps(products, bias, shifts[t0:t0 + nt], y[part], first=t0 == 0)
                continue
            for t, shift in enumerate(shifts[t0:t0 + nt]):
                dst, src_at = [], []
                for s, n, m in zip(shift, spatial, out_spatial):
                    first, last = max(0, -s), min(m, n - s)
                    dst.append(slice(first, last))
                    src_at.append(slice(first + s, last + s))
                if all(sl.start < sl.stop for sl in dst):
                    y[part][(..., *dst)] += products[:, :, t][(..., *src_at)]
    y = y.reshape(batch, groups, co, *out_lead, *tail_out)
    return y if compiled else _add_bias(y, bias)


def _winograd_form(x_shape, w_shape, stride, dilation, pads=None) -> str | None:
    """Which Winograd computation this correlation is, if any: ``"forward"`` — a 3-tap kernel
    (3×3, 1×3, 3), stride 1 — or ``"weight"`` — a 3-tap *output* at dilation 1: the weight
    gradient of such a layer (its forward dilation is our stride), x (C_in, G, N, *S) and
    the kernel ∂L/∂y (G, C_out, N, *M)."""
    kernel = tuple(w_shape[3:])
    size = [n + (lo + hi if pads else 0) for n, (lo, hi) in
            zip(x_shape[3:], pads or ((0, 0),) * len(kernel))]
    out = tuple((n - d * (k - 1) - 1) // s + 1
                for n, k, s, d in zip(size, kernel, stride, dilation))
    if all(s == 1 for s in stride) and winograd.fits(kernel):
        return "forward"
    if all(d == 1 for d in dilation) and winograd.fits(out):
        return "weight"
    return None


def _winograd_weight(x, dy, stride, pads):
    """The weight gradient of a 3-tap layer by Winograd — the transpose of its forward:
    ∂L/∂w = G₀ᵀ·[Σ_tiles (A₀·δ·A₁ᵀ) ⊙ (B₀ᵀ·d·B₁)]·G₁ per (C_out, C_in), the sum over tiles
    and images one matmul per transformed position (C_out × tiles) @ (tiles × C_in), deep in
    the contracted axis. x (C_in, G, N, *S) and dy (G, C_out, N, *M) as ``_weight_grad_chunk``
    passes them; ``stride`` is the layer's dilation (its phases), ``pads`` its padding."""
    if x.ndim == 4:                         # 1-d as a single row
        dw = _winograd_weight(x[:, :, :, None], dy[..., None, :], (1, *stride), ((0, 0), *pads))
        return dw[:, :, :, 0]
    ci, groups, batch = x.shape[:3]
    co = dy.shape[1]
    kernel = tuple((n + lo + hi - m) // s + 1
                   for n, (lo, hi), m, s in zip(x.shape[3:], pads, dy.shape[3:], stride))
    xf, dyf = x.transpose(2, 1, 0, 3, 4), dy.transpose(2, 0, 1, 3, 4)   # (N, G, C, …) views
    positions = math.prod(winograd.matrices(k)[0].shape[0] for k in kernel)
    plan, v, d, products = _winograd_plan("weight", dy.shape[3:], kernel, stride, batch,
                                          (groups, positions), (ci, co), x.dtype)
    return winograd.weight(xf, dyf, kernel, pads, plan, v, d, products).transpose(2, 0, 1, 3, 4)


def _winograd_plan(form: str, size, kernel, dilation, batch: int, planes, channels, dtype):
    """The plan of a Winograd computation whose output (per image) has ``size``: its blocks in
    shares of the batch, one per thread that ``winograd.forward`` or ``weight`` runs at once
    (``winograd.threads``) — and the workspaces: the two transformed operands'
    (threads, G, α₀α₁, C, ≥ slots) for ``channels`` (C_in, C_out), whole (C-contiguous) ones
    for the compiled transforms, which would compile a sliced view to strided loads (measured
    2× slower), and each share's transformed kernel's (forward: threads, α₀α₁, G, Co, Ci) or
    products' (weight: threads, G, α₀α₁, Co, Ci).
    Each share's blocks hold as many slots as ``_WINOGRAD_BLOCK_BYTES[form]`` and the
    thread's part of half the workspace cap allow: for the forward (products' N = slots)
    6 MiB — mnist_2's forward 2.32 → 2.11 ms against 16 MiB, the others within noise — for
    the weight gradient (K = slots: deeper is better) 16 MiB. Returns (plan, workspaces…)."""
    groups, positions = planes
    macs = batch * groups * math.prod(channels) * math.prod(size) * math.prod(kernel)
    threads = winograd.threads(batch, dtype, macs)
    slot_bytes = positions * groups * sum(channels) * np.dtype(dtype).itemsize
    fit = min(_budget() // (2 * threads), _TILE_BYTES, _WINOGRAD_BLOCK_BYTES[form]) // slot_bytes
    plan = _plan(tuple(size), tuple(kernel), tuple(dilation), fit, batch, threads)
    # An odd row length: with an even one (a multiple of 16: 32×32 images) the α₀α₁ planes a
    # transform writes or reads at once can share one cache set (measured 3× slower).
    spaces = [_workspace(dtype, (threads, *planes, c, plan.longest | 1), slot)
              for c, slot in zip(channels, ("columns", "taps"))]
    ci, co = channels
    spaces.append(_workspace(dtype, (threads, positions, groups, co, ci) if form == "forward"
                             else (threads, groups, positions, co, ci), "kernel"))
    return (plan, *spaces)


@functools.lru_cache(maxsize=256)
def _plan(size, kernel, dilation, fit: int, batch: int, threads: int) -> winograd.Plan:
    """``_winograd_blocks`` for each thread's share of the batch, kept per geometry (building
    the blocks and their tables is ~0.1 ms of Python, which two threads' parts wait for)."""
    return winograd.Plan([list(_winograd_blocks(size, kernel, dilation, fit, range(
        batch * t // threads, batch * (t + 1) // threads))) for t in range(threads)])


def _winograd_blocks(size, kernel, dilation, fit: int, images: range):
    """The blocks (parts, used slots) of these images: per dilation phase, tile rows with each
    row of every image of a group one after another in a scratch row — long inner loops for
    small images — each image row taking its w outputs plus the α₁ − m₁ positions its last
    tile reads (``winograd.overlap``), with no gap to round it up to whole tiles (measured
    with 16-wide phase images: a spare tile per image row would cost 20 % more transforms and
    products), in blocks of up to ``fit`` tile slots, each block within one phase (measured
    on the dilated layer with the blocks of a share in one compiled call: forward
    2.22 → 1.92 ms, ∂x 2.32 → 1.97, ∂w 2.48 → 2.25 against blocks holding all four phases).
    A part is (phase, dilation, positions per image row, images, tile rows, first slot)."""
    steps = winograd.steps(kernel)
    m1, extra = steps[-1], winograd.overlap(kernel)
    parts, used = [], 0
    for phase in np.ndindex(*dilation):
        outputs = [len(range(a, m, d)) for m, a, d in zip(size, phase, dilation)]
        tiles = [-(-n // m) for n, m in zip(outputs, steps)]
        if min(tiles) <= 0:
            continue
        if parts:
            yield parts, used
            parts, used = [], 0
        seg = outputs[1] + extra
        per_group = max(1, min(len(images), fit * m1 // seg))
        per_block = max(1, min(tiles[0], fit * m1 // (per_group * seg)))
        for n0 in range(images.start, images.stop, per_group):
            group = slice(n0, min(n0 + per_group, images.stop))
            for i0 in range(0, tiles[0], per_block):
                rows = slice(i0, min(i0 + per_block, tiles[0]))
                count = -(-(group.stop - n0) * (rows.stop - i0) * seg // m1)
                if parts and used + count > fit:
                    yield parts, used
                    parts, used = [], 0
                parts.append((phase, dilation, seg, group, rows, used))
                used += count
    if parts:
        yield parts, used


def _winograd(x, w, dilation, pads, bias=None, out=None):
    """Stride-1 correlation by Winograd's F(m, r) per axis (``winograd.py``), 1-d and 2-d:
    transform x's tiles and w, contract the channels by α₀α₁ matmuls (Co × Ci) @ (Ci × tiles),
    transform back and add the bias. A dilation splits the output into d₀·d₁ phases (every
    d-th row and column), each an undilated correlation of the matching phase of x. Tiles go
    a block of tile rows at a time, within the cache budget and the workspace cap. Into
    ``out`` when it is C-contiguous."""
    if x.ndim == 4:                         # 1-d as a single row
        y = _winograd(x[:, :, :, None], w[..., None, :], (1, *dilation), ((0, 0), *pads), bias,
                      None if out is None else out[:, :, :, None])
        return y[:, :, :, 0]
    batch, groups, ci = x.shape[:3]
    co, kernel = w.shape[1], w.shape[3:]
    size = [n + lo + hi - d * (k - 1)
            for n, (lo, hi), k, d in zip(x.shape[3:], pads, kernel, dilation)]
    shape = (batch, groups, co, *size)
    y = (out if out is not None and out.shape == shape and out.flags.c_contiguous
         else np.empty(shape, dtype=x.dtype))
    positions = math.prod(winograd.alpha(k) for k in kernel)
    bias = None if bias is None else bias.reshape(groups, co)
    plan, v, m, u = _winograd_plan("forward", size, kernel, dilation, batch,
                                   (groups, positions), (ci, co), x.dtype)
    winograd.forward(x, w, kernel, pads, bias, plan, v, m, u, y)
    return y


def _tap_shifts(kernel, dilation, pads) -> list[list[int]]:
    """Per tap (row-major), where its products land: output i of a stride-1 correlation padded
    by ``pads`` reads x[i + shift], shift = j·d − lo per axis."""
    return [[j * d - lo for j, d, (lo, _) in zip(tap, dilation, pads)]
            for tap in np.ndindex(*kernel)]


def _tap_major(w: np.ndarray) -> np.ndarray:
    """The kernel (G, Co, Ci, *K) as a contiguous (G, ΠK, Co, Ci): one (Co, Ci) matrix per tap.
    An input gradient's kernel is a transposed, flipped view; its copy is tiled in cache when
    compiled (NumPy's strided copy of it: 1.2 → 0.3 ms for 256×128×3×3 float64)."""
    if w.strides[2] > w.strides[1] and w.size >= _JIT_ELEMENTS // 8 and jit.available():
        return jit.tap_major(w)
    return np.ascontiguousarray(np.moveaxis(w.reshape(*w.shape[:3], -1), 3, 1))


def _row_split(co: int, kernel: Sequence[int], stride: Sequence[int]) -> int:
    """How many leading kernel axes ``rows`` stacks into its matmul: enough for C_out·Πk rows
    (a matmul that short runs BLAS at ~60 % of its speed on tall ones), at least one, never
    all, and only axes of stride 1."""
    split, limit = 1, len(kernel) - 1
    while split < limit and stride[split] == 1 and co * math.prod(kernel[:split]) < _STACK_ROWS:
        split += 1
    return split


def _row_columns_bytes(x, w, stride, dilation, pads) -> int:
    """Bytes of one image's ``rows`` columns (split 1 bounds any split)."""
    ndim = x.ndim - 3
    size = [n + lo + hi for n, (lo, hi) in zip(x.shape[4:], pads[1:])]
    out = [(n - d * (k - 1) - 1) // s + 1
           for n, k, s, d in zip(size, w.shape[4:], stride[1:], dilation[1:])]
    return (x.shape[1] * x.shape[2] * math.prod(w.shape[4:]) * x.shape[3] * math.prod(out)
            * x.dtype.itemsize) if ndim > 1 else 0


def _pad(x: np.ndarray, pads) -> np.ndarray:
    """x padded (or cropped) by ``pads`` on its last ``len(pads)`` axes into the reused padding
    buffer, copied in x's own memory order (a transposed view stays a sequential copy)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    lead = sorted(range(x.ndim - len(pads)), key=lambda a: -x.strides[a])
    order = (*lead, *range(x.ndim - len(pads), x.ndim))
    padded = pad_or_crop(x.transpose(order), pads, allocate=padding_buffer)
    return padded.transpose(np.argsort(order))


def correlate_phases(x: np.ndarray, w: np.ndarray, dilation: Sequence[int], phases,
                     out: np.ndarray) -> bool:
    """Several stride-1 correlations of one x (B, G, Ci, *S) with parts of one kernel w
    (G, Co, Ci, *K), each written into its own view of ``out``: ``phases`` holds
    ``(taps, dilation, pads, where)`` — the kernel ``w[(…, *taps)]`` and the (B, G, Co, *m)
    result ``out[(…, *where)]``. These are the stride phases of an input gradient (conv.py):
    together they hold every tap of w once, so ``stacked`` runs them as one matmul of all taps
    with x — the matmul of the stride-1 correlation with all of w — and adds each phase's
    products into its strided view.

    Returns False, doing nothing, where that full correlation would not be ``stacked`` (by
    ``choose_method`` or a forced method), without the compiled adds, or when one image's
    products break the cache budget; the caller then runs the phases one by one."""
    ndim = x.ndim - 3
    method = current().method or choose_method(x.shape, w.shape, (1,) * ndim,
                                                              dilation)
    batch, groups, ci = x.shape[:3]
    co, size = w.shape[1], x.shape[3:]
    per_image = groups * math.prod(w.shape[3:]) * co * math.prod(size) * x.dtype.itemsize
    budget = min(_budget() // 2, _TILE_BYTES)
    if (method != "stacked" or ndim > 3 or not jit.available() or per_image > budget
            or batch * per_image < _JIT_ELEMENTS * x.dtype.itemsize):
        return False
    tap_major = _tap_major(w).reshape(groups, *w.shape[3:], co, ci)         # (G, *K, Co, Ci)
    subs = [tap_major[(slice(None), *taps)] for taps, *_ in phases]       # (G, *k, Co, Ci)
    blocks = [sub.reshape(groups, -1, co, ci) for sub in subs]
    w_taps = np.concatenate(blocks, axis=1)
    taps = w_taps.shape[1]
    shifts = [shift for sub, (_, dil, pads, _) in zip(subs, phases)
              for shift in _tap_shifts(sub.shape[1:1 + ndim], dil, pads)]
    flat = x.reshape(batch, groups, ci, -1)
    tile = max(1, min(batch, budget // per_image))
    for start in range(0, batch, tile):
        rows = slice(start, min(start + tile, batch))
        nb = rows.stop - rows.start
        products = _workspace(x.dtype, (nb, groups, taps * co, flat.shape[-1]))
        parallel.matmul(w_taps.reshape(groups, taps * co, ci), flat[rows], out=products)
        products = products.reshape(nb, groups, taps, co, *size)
        first = 0
        for block, (_, _, _, where) in zip(blocks, phases):
            count = block.shape[1]
            jit.add_taps(products[:, :, first:first + count], None,
                         shifts[first:first + count], out[rows][(slice(None),) * 3 + where])
            first += count
    return True


def _window(x, w, stride, dilation):
    """Per output position, one einsum of the strided window of x with all of w. A single
    position (the kernel covers x: the weight gradient of a pointwise layer) with many rows
    is a sum over the channels c of matmuls ``x[:, g, c] @ w[g, :, c]ᵀ`` over the window,
    each reading both operands in place."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    kernel = w.shape[3:]
    out_size = [(n - d * (k - 1) - 1) // s + 1 for n, k, s, d in
                zip(x.shape[3:], kernel, stride, dilation)]
    if math.prod(out_size) == 1 and batch * w.shape[1] > 4:
        window = x[(...,) + tuple(slice(0, d * (k - 1) + 1, d) for k, d in zip(kernel, dilation))]
        rows, taps = window.reshape(batch, groups, ci, -1), w.reshape(*w.shape[:3], -1)
        y = np.empty((groups, batch, w.shape[1]), dtype=x.dtype)
        if not _gemm_sum(rows, taps, y):
            y[...] = 0
            for g, c in np.ndindex(groups, ci):
                y[g] += rows[:, g, c] @ taps[g, :, c].T
        return y.transpose(1, 0, 2).reshape(batch, groups, w.shape[1], *out_size)
    y = np.empty((batch, groups, w.shape[1], *out_size), dtype=x.dtype)
    axes = "xyzuvt"[:ndim]
    subscripts = f"bgc{axes},goc{axes}->bgo"
    for pos in np.ndindex(*out_size):
        window = tuple(slice(p * s, p * s + d * (k - 1) + 1, d) for p, s, d, k in
                       zip(pos, stride, dilation, kernel))
        y[(...,) + pos] = np.einsum(subscripts, x[(...,) + window], w)
    return y


def _gemm_sum(rows: np.ndarray, taps: np.ndarray, y: np.ndarray) -> bool:
    """``y[g] = Σ_c rows[:, g, c] @ taps[g, :, c]ᵀ`` — rows (B, G, C, K), taps (G, O, C, K) —
    by BLAS's gemm (``blas.gemm``) adding into y (β = 1): no product temporaries and no adds
    (the weight gradient of the pointwise layer 2.32 → 1.93 ms in float64, 1.18 → 1.02 in
    float32). Both operands read in place, so their last axis must be contiguous; False
    (nothing done) where it is not or there is no gemm."""
    gemm = blas.gemm(y.dtype)
    size = y.itemsize
    if (gemm is None or rows.shape[2] == 0 or rows.dtype != y.dtype or taps.dtype != y.dtype
            or any(a.strides[-1] != size or min(a.strides) < 0 or a.strides[0] % size
                   or a.strides[1] % size for a in (rows, taps))):
        return False
    batch, groups, ci, k = rows.shape
    co = taps.shape[1]
    lda, ldb = rows.strides[0] // size, taps.strides[1] // size
    if lda < k or ldb < k:
        return False
    pointer = ctypes.c_void_p
    for g, c in np.ndindex(groups, ci):
        gemm(blas.ROW_MAJOR, blas.NO_TRANS, blas.TRANS, batch, co, k, 1.0,
             pointer(rows[0, g, c].ctypes.data), lda, pointer(taps[g, 0, c].ctypes.data), ldb,
             0.0 if c == 0 else 1.0, pointer(y[g].ctypes.data), co)
    return True


def _fft(x, w, stride, dilation):
    """Correlation by real FFTs: channels-last layouts let both the complex matmul and the
    inverse transform run on contiguous or vectorisable strides. A small operand (the kernel)
    or a small output (a weight gradient's ΠK) is transformed by DFT matrices in BLAS instead
    of padding it to the full length."""
    ndim = x.ndim - 3
    batch, groups, ci = x.shape[:3]
    co, kernel, size = w.shape[1], w.shape[3:], x.shape[3:]
    if any(d != 1 for d in dilation):          # the dilated kernel, zeros between taps
        spread = np.zeros(w.shape[:3] + tuple(d * (k - 1) + 1 for k, d in
                                              zip(kernel, dilation)), dtype=w.dtype)
        spread[(...,) + tuple(slice(None, None, d) for d in dilation)] = w
        w = spread
    out = [n - k + 1 for n, k in zip(size, w.shape[3:])]
    lengths = [_fast_length(n) for n in size]
    spatial = tuple(range(3, 3 + ndim))
    xf = fft_backend().rfftn(x, s=lengths, axes=spatial, **FFT_OPTIONS)   # (B, G, Ci, *F)
    bins = xf.shape[3:]
    x_mat = xf.reshape(batch, groups, ci, -1).transpose(1, 3, 0, 2)      # (G, F, B, Ci)
    w_last = w.transpose(0, *range(3, 3 + ndim), 2, 1)                  # (G, *K, Ci, Co)
    w_axes = tuple(range(1, 1 + ndim))
    if 4 * math.prod(w.shape[3:]) <= math.prod(lengths):
        wf = _dft(w_last, lengths, w_axes).astype(xf.dtype, copy=False)
    else:
        wf = fft_backend().rfftn(w_last, s=lengths, axes=w_axes, **FFT_OPTIONS)
    np.conjugate(wf, out=wf)                                            # correlation, not conv
    y_mat = np.matmul(x_mat, wf.reshape(groups, -1, ci, co))            # (G, F, B, Co)
    y_mat = y_mat.reshape(groups, *bins, batch, co)
    if 8 * math.prod(out) <= math.prod(lengths):      # few outputs: transform in place
        y = _inverse_dft(y_mat, lengths, out, tuple(range(1, 1 + ndim)))  # (G, *M, B, Co)
        order = (ndim + 1, 0, ndim + 2, *range(1, ndim + 1))
    else:
        y_f = y_mat.transpose(ndim + 1, 0, *range(1, ndim + 1), ndim + 2)  # (B, G, *F, Co)
        y = fft_backend().irfftn(y_f, s=lengths, axes=tuple(range(2, 2 + ndim)),
                                 **FFT_OPTIONS)                            # (B, G, *L, Co)
        y = y[(slice(None), slice(None)) + tuple(slice(0, m) for m in out)]
        order = (0, 1, ndim + 2, *range(2, ndim + 2))
    return np.ascontiguousarray(y.transpose(order), dtype=x.dtype)


def _dft(a: np.ndarray, lengths, axes) -> np.ndarray:
    """``np.fft.rfftn(a, s=lengths, axes=axes)`` as one small matrix product per axis (the
    last axis to its half spectrum): cheap when ``a`` is much shorter than ``lengths``."""
    a = np.ascontiguousarray(a, dtype=_complex(a))
    for axis, length in reversed(list(zip(axes, lengths))):
        bins = np.arange(length // 2 + 1 if axis == axes[-1] else length)
        a = _along(a, np.exp(-2j * np.pi * np.outer(bins, np.arange(a.shape[axis])) / length),
                   axis)
    return a


def _inverse_dft(spectrum: np.ndarray, lengths, out, axes) -> np.ndarray:
    """The first ``out`` samples per axis of ``np.fft.irfftn(spectrum, s=lengths, axes=axes)``
    by matrix products — cheap when few outputs are needed (a weight gradient's taps)."""
    a = np.ascontiguousarray(spectrum)
    for axis, length, m in zip(axes, lengths, out):
        if axis == axes[-1]:                 # the half spectrum: Hermitian pairs count twice
            bins = np.arange(length // 2 + 1)
            weight = np.where((bins == 0) | (2 * bins == length), 1.0, 2.0) / length
        else:
            bins, weight = np.arange(length), np.full(length, 1.0 / length)
        a = _along(a, np.exp(2j * np.pi * np.outer(np.arange(m), bins) / length) * weight, axis)
    return a.real


def _along(a: np.ndarray, basis: np.ndarray, axis: int) -> np.ndarray:
    """Contract axis ``axis`` of the contiguous ``a`` with ``basis`` (new, old): one matmul per
    leading index on a contiguous view — no transposed copies. Returns a contiguous array."""
    lead, n, tail = math.prod(a.shape[:axis]), a.shape[axis], math.prod(a.shape[axis + 1:])
    basis = basis.astype(a.dtype)
    if lead > 1 and tail < 256:              # many tiny products: one matmul on a copy
        product = np.tensordot(a, basis, axes=([axis], [1]))
        return np.ascontiguousarray(np.moveaxis(product, -1, axis))
    product = np.matmul(basis, a.reshape(lead, n, tail))
    return product.reshape(*a.shape[:axis], basis.shape[0], *a.shape[axis + 1:])


def _complex(a: np.ndarray) -> type:
    """complex64 for single-precision data, complex128 otherwise."""
    return np.complex64 if a.dtype in (np.float32, np.complex64) else np.complex128


def _flat_taps(x, w, dilation):
    """x with flattened spatial axes, each tap's flat offset, the run length covering every
    output position, and the function that cuts (B, G, Co, P) back to (B, G, Co, *M)."""
    size, kernel = x.shape[3:], w.shape[3:]
    row = [math.prod(size[i + 1:]) for i in range(len(size))]     # flat stride of each axis
    out_size = [n - d * (k - 1) for n, k, d in zip(size, kernel, dilation)]
    offsets = [sum(j * d * r for j, d, r in zip(tap, dilation, row))
               for tap in np.ndindex(*kernel)]
    length = sum((m - 1) * r for m, r in zip(out_size, row)) + 1
    flat = x.reshape(*x.shape[:3], -1)                             # a view when x is contiguous

    def finish(y):       # a view: the caller's copy into its output does the crop
        full = y.reshape(*y.shape[:3], *size)
        return full[(...,) + tuple(slice(0, m) for m in out_size)]

    return flat, offsets, length, finish


def _columns(part: np.ndarray, order: Sequence[int], matrix: Sequence[int], axis: int,
             extra: int) -> np.ndarray:
    """The column matrix: ``part.transpose(order)`` copied into a workspace of shape ``matrix``
    (whose ``axis`` is the contracted Ci·ΠK), with ``extra`` more entries of ones along that
    axis — the bias, contracted with a last weight column."""
    shape = list(matrix)
    shape[axis] += extra
    cols = _workspace(part.dtype, shape)
    index = [slice(None)] * len(shape)
    index[axis] = slice(0, matrix[axis])
    target = cols[tuple(index)].view()
    target.shape = [part.shape[i] for i in order]     # a view by construction (else raises)
    np.copyto(target, part.transpose(order))
    if extra:
        index[axis] = slice(matrix[axis], None)
        cols[tuple(index)] = 1
    return cols


def _workspace(dtype: np.dtype, shape: Sequence[int], slot: str = "columns") -> np.ndarray:
    """A scratch array of this shape from this thread's kept buffer for ``slot`` (grown as
    needed; callers keep requests within the workspace cap by tiling). Reuse saves the page
    faults of a fresh allocation; nothing returned to a caller may alias it."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    buffers = getattr(_state, "buffers", None)
    if buffers is None or getattr(_state, "generation", None) != _generation:
        buffers = _state.buffers = {}
        _state.generation = _generation
    buffer = buffers.get(slot)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = buffers[slot] = np.empty(nbytes, dtype=np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def padding_buffer(shape: Sequence[int], dtype) -> np.ndarray:
    """Scratch for a padded operand (``pad_or_crop(..., allocate=padding_buffer)``): used only
    until the correlation that reads it returns."""
    return _workspace(dtype, shape, slot="padding")
