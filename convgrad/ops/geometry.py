"""Shape rules of convolution: argument checking, the padding resolver, output sizes.

Notation per spatial axis: input length n, kernel k, stride s, dilation d, padding (lo, hi).

    effective kernel   ke = d·(k − 1) + 1
    output length      m  = ⌊(n + lo + hi − ke) / s⌋ + 1
    remainder          r  = (n + lo + hi − ke) mod s

The remainder counts trailing (padded) input positions that no window reaches; their gradient
is zero, and it is the ambiguity that ``output_padding`` resolves for transposed convolution.
Every public op validates its arguments here, once, before any arithmetic.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import Sequence, Union

import numpy as np

from ..engine.problem import Problem
from .windows import effective_kernel, output_length  # noqa: F401  (the one formula; re-exported)

IntOrInts = Union[int, Sequence[int]]
Padding = Union[int, str, Sequence[int], Sequence[Sequence[int]]]

PADDING_STRINGS = ("valid", "same", "full")


def as_tuple(value: IntOrInts, ndim: int, name: str, op: str, minimum: int = 1) -> tuple[int, ...]:
    """Broadcast an int or check a per-dimension sequence of ints; each must be ≥ minimum."""
    if type(value) is int:              # the usual spellings first: every layer call asks
        values = (value,) * ndim
    elif type(value) is tuple and len(value) == ndim and all(type(v) is int for v in value):
        values = value
    elif _is_int(value):
        values = (int(value),) * ndim
    elif isinstance(value, (list, tuple)) and all(_is_int(v) for v in value):
        if len(value) != ndim:
            raise ValueError(
                f"{op}: {name}={tuple(value)} has {len(value)} entries but the input has "
                f"{ndim} spatial dim(s); give one int or one per spatial dim")
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{op}: {name} must be an int or a sequence of {ndim} ints, got {value!r}")
    if values and min(values) < minimum:
        rule = "positive" if minimum == 1 else f"≥ {minimum}"
        raise ValueError(f"{op}: {name} must be {rule}, got {name}={_show(values)}")
    return values


def resolve_padding(padding: Padding, in_size: Sequence[int], kernel: Sequence[int],
                    stride: Sequence[int], dilation: Sequence[int], op: str,
                    allow_strings: Sequence[str] = PADDING_STRINGS) -> tuple[tuple[int, int], ...]:
    """The one padding resolver: any user spelling → one ``(lo, hi)`` pair per spatial dim.

    - ``p`` (int): ``(p, p)`` on every dim; ``(p0, p1, …)``: ``(p_i, p_i)`` per dim;
      ``((lo0, hi0), (lo1, hi1), …)``: explicit per-side padding.
    - ``'valid'``: no padding. ``'full'``: ``(ke − 1, ke − 1)``, every overlap of kernel and input.
    - ``'same'``: output length ``⌈n/s⌉``; the total ``max((⌈n/s⌉ − 1)·s + ke − n, 0)`` is split
      with the extra pixel on the high side (TensorFlow/XLA rule; PyTorch's stride-1 'same').

    >>> resolve_padding('same', (5,), (4,), (1,), (1,), 'conv')
    ((1, 2),)
    """
    ndim = len(in_size)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in allow_strings:
            allowed = ", ".join(repr(s) for s in allow_strings) or "none"
            raise ValueError(f"{op}: padding={padding!r} is not supported here (strings allowed: "
                             f"{allowed}); give ints or (lo, hi) pairs")
        pairs = []
        for n, k, s, d in zip(in_size, kernel, stride, dilation):
            ke = effective_kernel(k, d)
            if mode == "valid":
                pairs.append((0, 0))
            elif mode == "full":
                pairs.append((ke - 1, ke - 1))
            else:
                total = max((-(-n // s) - 1) * s + ke - n, 0)       # exact ⌈n/s⌉
                pairs.append((total // 2, total - total // 2))
        return tuple(pairs)
    if _is_int(padding):
        pairs = [(int(padding), int(padding))] * ndim
    elif isinstance(padding, (list, tuple)) and len(padding) == ndim and all(
            _is_int(p) for p in padding):
        pairs = [(int(p), int(p)) for p in padding]
    elif isinstance(padding, (list, tuple)) and len(padding) == ndim and all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(_is_int(v) for v in p)
            for p in padding):
        pairs = [(int(lo), int(hi)) for lo, hi in padding]
    else:
        strings = ", ".join(map(repr, allow_strings))
        raise ValueError(
            f"{op}: padding={padding!r} does not fit {ndim} spatial dim(s); give an int, "
            f"{ndim} int(s), {ndim} (lo, hi) pair(s), or one of {strings}"
            + (" — for one dim with per-side padding write ((lo, hi),)" if ndim == 1 else ""))
    if any(v < 0 for pair in pairs for v in pair):
        raise ValueError(f"{op}: padding must be non-negative, got padding={_show(pairs)}")
    return tuple(pairs)


@dataclass(frozen=True)
class ConvGeometry:
    """Everything shape-related about one conv ``x (N, C_in, *S) ⋆ w (C_out, C_in/g, *K)``."""

    batch: int
    in_channels: int
    out_channels: int
    groups: int
    in_size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    out_size: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.in_size)

    @property
    def effective_kernel(self) -> tuple[int, ...]:
        return tuple(effective_kernel(k, d) for k, d in zip(self.kernel, self.dilation))

    @property
    def remainder(self) -> tuple[int, ...]:
        return tuple((n + lo + hi - ke) % s for n, (lo, hi), ke, s in
                     zip(self.in_size, self.padding, self.effective_kernel, self.stride))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.batch, self.in_channels, *self.in_size)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.batch, self.out_channels, *self.out_size)


def conv_geometry(op: str, x_shape: Sequence[int], w_shape: Sequence[int], stride: IntOrInts,
                  padding: Padding, dilation: IntOrInts, groups: int,
                  allow_strings: Sequence[str] = PADDING_STRINGS) -> ConvGeometry:
    """Validate a convolution's shapes and options, naming the rule that is broken.

    An empty batch (N = 0) is valid, as in PyTorch (empty results, a zero weight gradient);
    every other dim must be positive. The returned geometry is *normalised*: along an axis with
    one output the stride only matters through the remainder r, so it is lowered to
    n + lo + hi − ke + 1 (same m, same r: ``stride=10**18`` computes like any other), and a
    dilation of a one-tap kernel is 1.
    """
    x_shape = check_shape(op, "x.shape", x_shape, empty_batch=True)
    w_shape = check_shape(op, "w.shape", w_shape)
    if len(x_shape) < 3:
        raise ValueError(f"{op}: x must have shape (N, C_in, *spatial) with at least one spatial "
                         f"dim, got x.shape={x_shape}")
    if len(w_shape) != len(x_shape):
        raise ValueError(f"{op}: w must have shape (C_out, C_in/groups, *kernel) with the same "
                         f"number of dims as x, got x.shape={x_shape} and w.shape={w_shape}")
    ndim = len(x_shape) - 2
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got groups={groups!r}")
    groups = int(groups)
    batch, in_channels, out_channels = x_shape[0], x_shape[1], w_shape[0]
    if in_channels % groups:
        raise ValueError(f"{op}: groups={groups} must divide C_in={in_channels} "
                         f"(x.shape={x_shape})")
    if out_channels % groups:
        raise ValueError(f"{op}: groups={groups} must divide C_out={out_channels} "
                         f"(w.shape={w_shape})")
    if w_shape[1] * groups != in_channels:
        raise ValueError(f"{op}: x has C_in={in_channels} channels but w.shape={w_shape} with "
                         f"groups={groups} expects C_in = w.shape[1]·groups = "
                         f"{w_shape[1] * groups}")
    stride = as_tuple(stride, ndim, "stride", op)
    dilation = as_tuple(dilation, ndim, "dilation", op)
    in_size, kernel = x_shape[2:], w_shape[2:]
    pads = resolve_padding(padding, in_size, kernel, stride, dilation, op, allow_strings)
    out_size = []
    for axis, (n, k, s, d, (lo, hi)) in enumerate(zip(in_size, kernel, stride, dilation, pads)):
        m = output_length(n, k, s, d, lo, hi)
        if m < 1:
            raise ValueError(
                f"{op}: kernel larger than the padded input along spatial dim {axis}: effective "
                f"kernel d·(k−1)+1 = {effective_kernel(k, d)} > n + lo + hi = {n + lo + hi} "
                f"(n={n}, k={k}, d={d}, padding=({lo}, {hi})); the output would be empty")
        out_size.append(m)
    return normalised(ConvGeometry(batch, in_channels, out_channels, groups, tuple(in_size),
                                   tuple(kernel), stride, dilation, pads, tuple(out_size)))


def normalised(geo: ConvGeometry) -> ConvGeometry:
    """The same convolution with the smallest equivalent stride and dilation per axis: one
    output → stride n + lo + hi − ke + 1 (m and r unchanged); one tap → dilation 1."""
    stride = tuple(min(s, n + lo + hi - effective_kernel(k, d) + 1) if m == 1 else s
                   for n, k, s, d, (lo, hi), m in zip(geo.in_size, geo.kernel, geo.stride,
                                                      geo.dilation, geo.padding, geo.out_size))
    dilation = tuple(1 if k == 1 else d for k, d in zip(geo.kernel, geo.dilation))
    return replace(geo, stride=stride, dilation=dilation)


def transpose_geometry(op: str, x_shape: Sequence[int], w_shape: Sequence[int],
                       stride: IntOrInts, padding: Padding, output_padding: IntOrInts,
                       groups: int, dilation: IntOrInts) -> ConvGeometry:
    """Geometry of the forward conv whose input gradient a transposed convolution computes.

    x (N, C_in, *S) and w (C_in, C_out/g, *K) map to a conv from (N, C_out, *out) to
    (N, C_in, *S) with weight w, where per axis ``out = (n − 1)·s − lo − hi + ke + output_padding``
    and ``output_padding < max(s, d)`` (PyTorch's rule). When output_padding ≥ s (possible for
    d > s) a conv of that length would have more than n outputs: the last
    t = output_padding − s + 1 positions are cropped from its input, i.e. its high padding is
    hi − t (negative: a crop) — they receive no window, and their gradient is zero. The
    geometry is consistent (``conv_geometry``'s rules hold) and normalised.
    """
    x_shape = check_shape(op, "x.shape", x_shape, empty_batch=True)
    w_shape = check_shape(op, "w.shape", w_shape)
    if len(x_shape) < 3 or len(w_shape) != len(x_shape):
        raise ValueError(f"{op}: x must be (N, C_in, *spatial) and w (C_in, C_out/groups, "
                         f"*kernel) with as many dims, got x.shape={x_shape}, w.shape={w_shape}")
    ndim = len(x_shape) - 2
    if not _is_int(groups) or groups < 1 or w_shape[0] % groups:
        raise ValueError(f"{op}: groups={groups!r} must be a positive int dividing "
                         f"C_in = w.shape[0] = {w_shape[0]}")
    if x_shape[1] != w_shape[0]:
        raise ValueError(f"{op}: x has C_in={x_shape[1]} channels but w.shape={w_shape} expects "
                         f"C_in = w.shape[0] = {w_shape[0]}")
    stride = as_tuple(stride, ndim, "stride", op)
    dilation = as_tuple(dilation, ndim, "dilation", op)
    extra = as_tuple(output_padding, ndim, "output_padding", op, minimum=0)
    for axis, (e, s, d) in enumerate(zip(extra, stride, dilation)):
        if e >= max(s, d):
            raise ValueError(f"{op}: output_padding must be smaller than max(stride, dilation) "
                             f"along every dim; dim {axis} has output_padding={e}, stride={s}, "
                             f"dilation={d}")
    kernel = w_shape[2:]
    pads = resolve_padding(padding, x_shape[2:], kernel, stride, dilation, op,
                           allow_strings=("valid",))
    out_size = tuple((n - 1) * s - lo - hi + effective_kernel(k, d) + e for n, s, (lo, hi), k, d, e
                     in zip(x_shape[2:], stride, pads, kernel, dilation, extra))
    if min(out_size) < 1:
        raise ValueError(f"{op}: padding={_show(pads)} crops the whole output: output size "
                         f"(n − 1)·s − lo − hi + d·(k − 1) + 1 + output_padding = {out_size}")
    conv_pads = tuple((lo, hi - max(0, e - s + 1)) for (lo, hi), e, s in zip(pads, extra, stride))
    return normalised(ConvGeometry(x_shape[0], w_shape[1] * int(groups), x_shape[1],
                                   int(groups), out_size, kernel, stride, dilation, conv_pads,
                                   x_shape[2:]))


def check_shape(op: str, name: str, shape, empty_batch: bool = False) -> tuple[int, ...]:
    """A shape as a tuple of ints (no bools, no floats), every entry ≥ 1 — the first ≥ 0 when
    ``empty_batch`` (PyTorch accepts an empty batch)."""
    if not (isinstance(shape, (tuple, list)) and all(_is_int(v) for v in shape)):
        raise TypeError(f"{op}: {name} must be a tuple of ints, got {shape!r}")
    shape = tuple(int(v) for v in shape)
    low = [0 if empty_batch and i == 0 else 1 for i in range(len(shape))]
    if any(v < lo for v, lo in zip(shape, low)):
        rule = "the batch ≥ 0 and every other dim ≥ 1" if empty_batch else "every dim ≥ 1"
        raise ValueError(f"{op}: empty or negative dimension in {name}={shape}; {rule}")
    return shape


def physical_memory() -> int:
    """Bytes of RAM of this machine (``os.sysconf``; 1 TiB where it cannot tell)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**40


def available_memory() -> int:
    """Bytes that can be allocated now without swapping or the OOM killer: Linux's
    ``MemAvailable``, else the physical memory."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return physical_memory()


_ASK_THE_SYSTEM = 2**30      # below this a call is checked against physical memory only


def padded_image_bytes(geo: ConvGeometry, itemsize: int) -> int:
    """Bytes of one image's padded copy (for either operand of the forward or the input
    gradient, whose ∂L/∂y is padded by ke − 1 − lo per side): C·Π(n + lo + hi + k·d), an upper
    bound."""
    return (max(geo.in_channels, geo.out_channels) * math.prod(
        n + max(lo, 0) + max(hi, 0) + k * d for n, k, d, (lo, hi) in
        zip(geo.in_size, geo.kernel, geo.dilation, geo.padding)) * itemsize)


def check_memory(op: str, geo: ConvGeometry, dtype, result_shape: Sequence[int]) -> None:
    """Refuse, before allocating anything, a call whose result plus its least workspace (one
    image's padded copy) exceeds the memory this machine can give now (``available_memory``,
    asked only for calls of a GiB and more; smaller ones against the physical memory)."""
    itemsize = np.dtype(dtype).itemsize
    result = math.prod(result_shape) * itemsize
    workspace = padded_image_bytes(geo, itemsize) if geo.batch else 0
    limit = physical_memory()
    if result + workspace >= _ASK_THE_SYSTEM:
        limit = min(limit, available_memory())
    if result + workspace > limit:
        raise ValueError(f"{op}: this call needs {result + workspace:,} bytes ({result:,} for its "
                         f"result of shape {tuple(result_shape)}, {workspace:,} for one image's "
                         f"padded copy) but the machine can give {limit:,} bytes of memory now; "
                         f"reduce the padding, dilation or sizes")


def check_arrays(op: str, **arrays) -> list[np.ndarray]:
    """Arrays as float32/float64 ndarrays of one common dtype, or a TypeError naming the culprit.

    Integer, boolean, complex, object, string and half-precision inputs are refused rather than
    cast: convgrad never changes a dtype silently. ``None`` is accepted only for an optional
    bias (``b``, ``bias``) and passes through.
    """
    out, dtypes = [], {}
    for name, a in arrays.items():
        if a is None and name in OPTIONAL_ARRAYS:
            out.append(None)
            continue
        try:
            a = np.asarray(a)
        except (ValueError, TypeError) as e:
            raise TypeError(f"{op}: {name} is not an array ({type(a).__name__}: {e})") from None
        if a.dtype not in (np.float32, np.float64):
            hint = (f"got {type(arrays[name]).__name__}" if a.dtype == object
                    else f"cast first, e.g. {name}.astype(np.float32)")
            raise TypeError(f"{op}: {name} has dtype {a.dtype}; convgrad computes in float32 or "
                            f"float64 — {hint}")
        dtypes[name] = a.dtype
        out.append(a)
    if len(set(dtypes.values())) > 1:
        shown = ", ".join(f"{k}: {v}" for k, v in dtypes.items())
        raise TypeError(f"{op}: all arrays must share one dtype (no silent promotion), got {shown}")
    return out


OPTIONAL_ARRAYS = ("b", "bias")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _show(values) -> str:
    return str(tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in values))


# ----------------------------------------------------------------------------- problems

def forward_problem(geo: ConvGeometry, dtype, batch: int | None = None) -> Problem:
    """The forward's correlation (of ``batch`` images, default all)."""
    g, n = geo.groups, geo.batch if batch is None else batch
    return Problem.of((n, g, geo.in_channels // g, *geo.in_size),
                      (g, geo.out_channels // g, geo.in_channels // g, *geo.kernel),
                      geo.stride, geo.dilation, geo.padding, dtype)


def weight_problem(geo: ConvGeometry, dtype, batch: int | None = None) -> Problem:
    """The weight rule's correlation (of ``batch`` images, default all)."""
    g, n = geo.groups, geo.batch if batch is None else batch
    return Problem.of((geo.in_channels // g, g, n, *geo.in_size),
                      (g, geo.out_channels // g, n, *geo.out_size), geo.dilation, geo.stride,
                      weight_pads(geo), dtype)


def weight_pads(geo: ConvGeometry) -> tuple[tuple[int, int], ...]:
    """x's padding in the weight rule: the layer's, less r on the high side (never read)."""
    return tuple((lo, hi - r) for (lo, hi), r in zip(geo.padding, geo.remainder))

