"""Windows over space: padding, pooling (max/avg/lp, ceil_mode, dilation), adaptive pooling,
fold/unfold.

* ``pad`` (``F.pad``) → ``Pad`` (modes constant / reflect / edge); circular → ``Pad`` mode
  ``wrap`` from opset 19, a ``Slice`` + ``Concat`` per axis before. Negative widths crop with a
  ``Slice``: after the ``Pad`` (torch pads reflect/replicate over the whole axis first), before
  the wrap (torch wraps the cropped axis).
* ``max_pool`` → ``MaxPool``; ``avg_pool`` → ``AveragePool``; ``lp_pool`` → ``LpPool`` (an even
  integer p) or ``Pow`` → average → ``Pow`` (as torch computes it). The padding, ceil_mode's
  overhang included, is always explicit (``ceil_mode=0``: onnx 1.23's shape inference keeps a
  last window starting in the right padding that torch and onnxruntime drop); onnxruntime
  wants each pad below the kernel, so larger pads are a ``Pad`` (−∞ for max, 0 for average)
  in front. The divisor torch uses where ONNX's differs (count_include_pad with ceil
  overhang, divisor_override) is a constant factor ``Mul``; max windows that hold no input element
  (dilation steps over it) are set to −∞ by a ``Where`` (onnxruntime's MaxPool gives the
  float's lowest value there when the pads are attributes).
  ``return_indices``: ONNX's Indices (flat over N, C and the padded grid) become torch's
  per-plane positions with ``Mod``/``Div``/``Sub``; ties go to the first maximum in both.
  NaN: onnxruntime's MaxPool and ReduceMax skip a NaN that torch's max pooling returns.
* ``adaptive_avg_pool`` / ``adaptive_max_pool``: an output size dividing the input size →
  ``AveragePool``/``GlobalAveragePool``/``MaxPool`` (kernel = stride = n / out); otherwise one
  step per axis: a ``MatMul`` by the averaging matrix, or a ``Gather`` of the windows (a short
  one repeats its last element) and a ``ReduceMax``.
* ``unfold`` → ``Pad`` + one ``Gather`` per spatial axis + ``Transpose`` + ``Reshape``;
  ``fold`` → its transpose: ``Reshape``, zeros between the columns for a stride, a ``Pad`` of
  each kernel tap to its offset, ``Sum``, ``Slice`` — pure data movement and additions, so
  exact, inf and nan included (a one-hot Conv would make 0·inf = nan).

Refused (``UnsupportedUse``): a ``pad`` recorded without its widths (``pad_sides`` called
outside ``F.pad``); ``return_indices`` where the window holds no input element, or with an
adaptive output size that does not divide the input; an adaptive output size of 0.
"""

from __future__ import annotations

import numpy as np

from ...functional.adaptive import windows as adaptive_windows
from ...functional.pooling import _pool_geometry
from ...ops.geometry import as_tuple, output_length
from . import UnsupportedUse, register

INT64_MAX = np.iinfo(np.int64).max
PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


# -- padding
@register("pad")
def pad(g, node):
    if not node.args:
        raise UnsupportedUse("a padding made outside F.pad (pad_sides) records no widths")
    x, widths, mode = node.args["input"], node.args["pad"], node.args["mode"]
    pairs = [(int(widths[2 * i]), int(widths[2 * i + 1])) for i in range(len(widths) // 2)]
    pairs = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    value = 0.0 if node.args["value"] is None else node.args["value"]
    return _pad(g, x, x.dtype, pairs, mode, value, node.output, x.shape)


def _pad(g, x, dtype, pairs, mode, value, out=1, shape=None):
    """torch's padding of every axis by ``pairs`` (lo, hi), negative widths cropping."""
    crop = [(-min(lo, 0), -min(hi, 0)) for lo, hi in pairs]
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    cropping, growing = any(map(any, crop)), any(map(any, grow))
    if not (cropping or growing):
        return g.op("Identity", [x], out)
    if mode == "circular":
        if cropping:
            x = _crop(g, x, crop, 1 if growing else out)
        empty = shape is not None and any(n - lo - hi == 0 for n, (lo, hi) in
                                          zip(shape, crop))
        return _wrap(g, x, grow, out, empty) if growing else x
    if growing:
        fill = g.const(np.asarray(value, dtype)) if mode == "constant" else None
        lo, hi = zip(*grow)
        x = g.op("Pad", [x, g.const(list(lo + hi)), fill], 1 if cropping else out,
                 mode=PAD_MODES[mode])
    return _crop(g, x, crop, out) if cropping else x


def _crop(g, x, crop, out=1):
    axes = [a for a, (lo, hi) in enumerate(crop) if lo or hi]
    starts = [crop[a][0] for a in axes]
    ends = [-crop[a][1] if crop[a][1] else INT64_MAX for a in axes]
    return g.op("Slice", [x, g.const(starts), g.const(ends), g.const(axes)], out)


def _wrap(g, x, grow, out=1, empty=False):
    if g.opset >= 19 and not empty:          # onnxruntime's wrap fails on an empty tensor
        lo, hi = zip(*grow)
        return g.op("Pad", [x, g.const(list(lo + hi))], out, mode="wrap")
    axes = [a for a, (lo, hi) in enumerate(grow) if lo or hi]
    for a in axes:
        lo, hi = grow[a]
        parts = ([_slice(g, x, -lo, INT64_MAX, a)] if lo else []) + [x] + (
            [_slice(g, x, 0, hi, a)] if hi else [])
        x = g.op("Concat", parts, out if a == axes[-1] else 1, axis=a)
    return x


def _slice(g, x, start, end, axis, out=1):
    return g.op("Slice", [x, g.const([start]), g.const([end]), g.const([axis])], out)


# -- pooling
def _geometry(args, padding, dilation):
    return _pool_geometry(f"onnx.export: {args['op']}", args["input"], args["kernel_size"],
                          args["stride"], padding, dilation, args["ceil_mode"], args["ndim"])


def _pool(g, op_type, x, dtype, kernel, stride, pads, fill, outs, **attributes):
    """``op_type`` over the windows with explicit pads (as attributes where onnxruntime takes
    them, each below the kernel; else a ``Pad`` with ``fill`` first). Returns the output(s),
    the input's origin in the grid the op ran on and the grid's growth (for MaxPool's
    Indices)."""
    n = len(kernel)
    lo, hi = [p for p, _ in pads], [p for _, p in pads]
    if any(p >= k for p, k in zip(lo + hi, list(kernel) * 2)):
        x = g.op("Pad", [x, g.const([0, 0] + lo + [0, 0] + hi),
                         g.const(np.asarray(fill, dtype))])
        grid = [lo[i] + hi[i] for i in range(n)]
        origin, lo, hi = lo, [0] * n, [0] * n
    else:
        origin, grid = [0] * n, [0] * n
    y = g.op(op_type, [x], outs, kernel_shape=list(kernel), strides=list(stride), pads=lo + hi,
             **attributes)
    return y, origin, grid


def _taps(n, m, k, s, d, lo):
    """Input coordinate of tap j of window o along an axis: (m, k)."""
    return np.arange(m)[:, None] * s + np.arange(k)[None, :] * d - lo


@register("max_pool")
def max_pool(g, node):
    a, x = node.args, node.args["input"]
    kernel, stride, dilation, pads = _geometry(a, a["padding"], a["dilation"])
    size, out_size = x.shape[2:], node.output.shape[2:]
    lo = [p for p, _ in pads]
    empty = np.zeros(out_size, bool)          # windows whose taps all fall in the padding
    for axis, (n, m, k, s, d, p) in enumerate(zip(size, out_size, kernel, stride, dilation, lo)):
        taps = _taps(n, m, k, s, d, p)
        none = ~((taps >= 0) & (taps < n)).any(axis=1)
        empty |= none.reshape([-1 if i == axis else 1 for i in range(len(size))])
    if a["return_indices"] and empty.any():
        raise UnsupportedUse("return_indices=True with a window that holds no input element "
                             "(dilation steps over it): torch's index there has no ONNX form")
    fix = bool(empty.any())
    names = [g.fresh("MaxPool") if fix else node.outputs[0].name]
    if a["return_indices"]:
        names.append(g.fresh("MaxPool"))
    ys, origin, growth = _pool(g, "MaxPool", x, x.dtype, kernel, stride, pads, -np.inf,
                               names, dilations=list(dilation))
    ys = [ys] if isinstance(ys, str) else ys
    if fix:
        g.op("Where", [g.const(empty), g.const(np.asarray(-np.inf, x.dtype)), ys[0]],
             node.outputs[0])
    if a["return_indices"]:
        grid = [n + e for n, e in zip(size, growth)]
        _plane_index(g, ys[1], grid, origin, size, node.outputs[1])
    return node.output


def _plane_index(g, index, grid, origin, size, out):
    """ONNX MaxPool's Indices, flat over (N, C, *grid), as torch's: the position in the
    flattened spatial input of ``size``, which starts at ``origin`` of the grid."""
    plane = int(np.prod(grid))
    if list(grid) == list(size):
        return g.op("Mod", [index, g.const(np.int64(plane))], out)
    flat = g.op("Mod", [index, g.const(np.int64(plane))])
    total, offset = None, 0
    for axis in range(len(grid)):
        inner = int(np.prod(grid[axis + 1:]))
        c = g.op("Div", [flat, g.const(np.int64(inner))]) if inner > 1 else flat
        c = g.op("Mod", [c, g.const(np.int64(grid[axis]))]) if axis else c
        weight = int(np.prod(size[axis + 1:]))
        offset += origin[axis] * weight
        term = g.op("Mul", [c, g.const(np.int64(weight))]) if weight > 1 else c
        total = term if total is None else g.op("Add", [total, term])
    return g.op("Sub", [total, g.const(np.int64(offset))], out)


@register("avg_pool")
def avg_pool(g, node):
    a, x = node.args, node.args["input"]
    kernel, stride, _, pads = _geometry(a, a["padding"], 1)
    return _average(g, x, x.dtype, x.shape[2:], node.output.shape[2:], kernel, stride, pads,
                    a["count_include_pad"], a["divisor_override"], node.output)


def _average(g, x, dtype, size, out_size, kernel, stride, pads, include_pad, divisor, out,
             scale=1.0):
    """``scale`` × torch's average: the window sum over torch's divisor (the cells inside the
    padded input, or inside x only, or ``divisor``)."""
    fits = all(p < k for (lo, hi), k in zip(pads, kernel) for p in (lo, hi))
    if divisor is None and not include_pad and fits and scale == 1.0:
        # ONNX's count_include_pad=0 divides by the cells inside x, torch's rule
        return _pool(g, "AveragePool", x, dtype, kernel, stride, pads, 0, out,
                     count_include_pad=0)[0]
    counts = np.ones((), np.float64)
    if divisor is not None:
        counts = np.full(out_size, float(divisor))
    else:
        for n, m, k, s, (p, _) in zip(size, out_size, kernel, stride, pads):
            start, end = (0, n + 2 * p) if include_pad else (p, p + n)
            o = np.arange(m) * s
            counts = np.multiply.outer(counts, np.minimum(o + k, end) - np.maximum(o, start))
    factor = scale * float(np.prod(kernel)) / counts
    same = bool(np.all(factor == 1.0))
    y = _pool(g, "AveragePool", x, dtype, kernel, stride, pads, 0, out if same else 1,
              count_include_pad=1)[0]
    if same:
        return y
    factor = factor.flat[0] if np.all(factor == factor.flat[0]) else factor
    return g.op("Mul", [y, g.const(np.asarray(factor, dtype))], out)


@register("lp_pool")
def lp_pool(g, node):
    """torch: ``(K · avg_pool(x^p))^(1/p)`` (its divisor: the cells inside x) → ``LpPool``
    (``(Σ|x|^p)^(1/p)``, equal for an even integer p without a ceil_mode overhang) or the
    same composition."""
    a, x = node.args, node.args["input"]
    kernel, stride, _, pads = _geometry(a, 0, 1)
    p = float(a["norm_type"])
    if p > 0 and p.is_integer() and int(p) % 2 == 0 and not any(hi for _, hi in pads):
        return g.op("LpPool", [x], node.output, kernel_shape=list(kernel),
                    strides=list(stride), pads=[0] * 2 * len(kernel), p=int(p))
    powered = g.op("Pow", [x, g.const(np.asarray(p, x.dtype))])
    sums = _average(g, powered, x.dtype, x.shape[2:], node.output.shape[2:], kernel, stride,
                    pads, True, None, 1, scale=float(np.prod(kernel)))
    return g.op("Pow", [sums, g.const(np.asarray(1.0 / p, x.dtype))], node.output)


# -- adaptive pooling
def _adaptive(node):
    x, ndim = node.args["input"], node.args["ndim"]
    size, target = x.shape[x.ndim - ndim:], node.output.shape[x.ndim - ndim:]
    if 0 in target:
        raise UnsupportedUse(f"output size {tuple(target)} (an empty result)")
    return x, ndim, size, target, all(n % m == 0 for n, m in zip(size, target))


def _batched(g, x, ndim, outs, emit):
    """``emit(x, names)`` on (N, C, *S); an unbatched (C, *S) input gets a batch of one."""
    if x.ndim == ndim + 2:
        return emit(x, [o.name for o in outs])
    inner = [g.fresh("pool") for _ in outs]
    emit(g.unsqueeze(x, [0]), inner)
    return [g.squeeze(i, [0], o) for i, o in zip(inner, outs)][0]


@register("adaptive_avg_pool")
def adaptive_avg_pool(g, node):
    x, ndim, size, target, even = _adaptive(node)
    out = node.output
    if size == target:
        return g.op("Identity", [x], out)
    if even:
        kernel = [n // m for n, m in zip(size, target)]
        if all(m == 1 for m in target):
            return _batched(g, x, ndim, [out],
                            lambda v, names: g.op("GlobalAveragePool", [v], names))
        return _batched(g, x, ndim, [out], lambda v, names: g.op(
            "AveragePool", [v], names, kernel_shape=kernel, strides=kernel))
    lead, y = x.ndim - ndim, x
    axes = [i for i, (n, m) in enumerate(zip(size, target)) if n != m]
    for axis in axes:
        start, end = adaptive_windows(size[axis], target[axis])
        cols = np.arange(size[axis])
        inside = (cols >= start[:, None]) & (cols < end[:, None])
        weights = g.const((inside / (end - start)[:, None]).T.astype(x.dtype))   # (n, m)
        last, pos = axis == axes[-1], lead + axis
        if pos == x.ndim - 1:
            y = g.op("MatMul", [y, weights], out if last else 1)
            continue
        perm = list(range(x.ndim))
        perm[pos], perm[-1] = perm[-1], perm[pos]
        y = g.op("MatMul", [g.op("Transpose", [y], perm=perm), weights])
        y = g.op("Transpose", [y], out if last else 1, perm=perm)
    return y


@register("adaptive_max_pool")
def adaptive_max_pool(g, node):
    x, ndim, size, target, even = _adaptive(node)
    indices = node.args["return_indices"]
    if even:
        kernel = [n // m for n, m in zip(size, target)]

        def emit(v, names):
            inner = names if not indices else [names[0], g.fresh("MaxPool")]
            ys = g.op("MaxPool", [v], inner, kernel_shape=kernel, strides=kernel)
            if indices:
                _plane_index(g, ys[1], size, [0] * ndim, size, names[1])
        return _batched(g, x, ndim, node.outputs, emit)
    if indices:
        raise UnsupportedUse(f"return_indices=True with output size {tuple(target)} not "
                             f"dividing the input size {tuple(size)} (overlapping windows of "
                             f"unequal length are no ONNX MaxPool)")
    lead, y, out = x.ndim - ndim, x, node.output
    axes = [i for i, (n, m) in enumerate(zip(size, target)) if n != m]
    for axis in axes:
        start, end = adaptive_windows(size[axis], target[axis])
        k = np.arange(int((end - start).max()))
        taps = np.minimum(start[:, None] + k, end[:, None] - 1).astype(np.int64)   # (m, K)
        gathered = g.op("Gather", [y, g.const(taps)], axis=lead + axis)
        y = g.reduce("ReduceMax", gathered, [lead + axis + 1], False,
                     out if axis == axes[-1] else 1)
    return y


# -- fold / unfold
def _fold_geometry(node, size):
    a, op = node.args, f"onnx.export: {node.kind}"
    kernel, dilation, stride = (as_tuple(a[k], 2, k, op) for k in (
        "kernel_size", "dilation", "stride"))
    padding = as_tuple(a["padding"], 2, "padding", op, minimum=0)
    blocks = [output_length(n, k, s, d, p, p)
              for n, k, d, p, s in zip(size, kernel, dilation, padding, stride)]
    return kernel, dilation, padding, stride, blocks


@register("unfold")
def unfold(g, node):
    """Block (i, j) at output position (o, q) is x_padded[o·s + i·d, q·s + j·d]: a Gather of
    the (k, blocks) coordinates per axis gives (…, kh, oh, kw, ow), transposed to (…, kh, kw,
    oh, ow) and reshaped to (…, C·kh·kw, L)."""
    x = node.args["input"]
    lead = x.ndim - 2
    kernel, dilation, padding, stride, blocks = _fold_geometry(node, x.shape[-2:])
    y = x
    if any(padding):
        y = _pad(g, x, x.dtype, [(0, 0)] * lead + [(p, p) for p in padding], "constant", 0.0)
    for axis in range(2):
        taps = (np.arange(kernel[axis])[:, None] * dilation[axis]
                + np.arange(blocks[axis])[None, :] * stride[axis]).astype(np.int64)
        y = g.op("Gather", [y, g.const(taps)], axis=lead + 2 * axis)
    front = list(range(lead))
    y = g.op("Transpose", [y], perm=front + [lead, lead + 2, lead + 1, lead + 3])
    source = list(x.shape[:lead]) + list(kernel) + blocks
    return g.reshape(y, source, node.output.shape, node.output)


@register("fold")
def fold(g, node):
    """The transpose of ``unfold``: columns → (…, C, K, oh, ow); a stride puts s − 1 zeros
    between neighbours (Unsqueeze, Pad, Reshape, Slice); each tap (i, j) is padded to its
    offset (i·d, j·d) in the padded image, the K taps added (``Sum``), the padding cut off."""
    cols, out = node.args["input"], node.output
    lead = cols.ndim - 2
    size = tuple(out.shape[-2:])
    kernel, dilation, padding, stride, blocks = _fold_geometry(node, size)
    taps = kernel[0] * kernel[1]
    c = cols.shape[-2] // taps
    shape = list(cols.shape[:lead]) + [c, taps] + blocks
    y = g.reshape(cols, cols.shape, shape)
    spans = [(m - 1) * s + 1 for m, s in zip(blocks, stride)]
    if any(s > 1 for s in stride):
        b = lead + 2                                    # the first block axis
        y = g.unsqueeze(y, [b + 1, b + 3])
        pads = [0] * (lead + 6)
        pads[b + 1], pads[b + 3] = stride[0] - 1, stride[1] - 1
        y = g.op("Pad", [y, g.const([0] * (lead + 6) + pads)])
        y = g.reshape(y, shape[:b] + [blocks[0], stride[0], blocks[1], stride[1]],
                      shape[:b] + [blocks[0] * stride[0], blocks[1] * stride[1]])
        y = g.op("Slice", [y, g.const([0, 0]), g.const(spans), g.const([b, b + 1])])
    parts = g.op("Split", [y, g.const([1] * taps)], taps, axis=lead + 1)
    parts = [parts] if isinstance(parts, str) else parts
    padded = [n + 2 * p for n, p in zip(size, padding)]
    placed = []
    for t, part in enumerate(parts):
        offset = (t // kernel[1] * dilation[0], t % kernel[1] * dilation[1])
        lo = [0] * lead + [0, 0, offset[0], offset[1]]
        hi = [0] * lead + [0, 0] + [n - o - s for n, o, s in zip(padded, offset, spans)]
        placed.append(g.op("Pad", [part, g.const(lo + hi)]))
    y = g.op("Sum", placed) if len(placed) > 1 else placed[0]
    if any(padding):
        y = g.op("Slice", [y, g.const(list(padding)), g.const([p + n for p, n in
                                                                zip(padding, size)]),
                           g.const([lead + 2, lead + 3])])
    return g.squeeze(y, [lead + 1], out)
