r"""Max and average pooling, built on a differentiable window pair: ``window_view`` and
``window_sum``.

``window_view`` gathers every window of x (a zero-copy view); ``window_sum`` adds windows back
where they came from. Each is the other's transpose, so pooling needs no backward of its own: max
pooling *selects* one element per window, average pooling *sums* each window and divides.

Output length per axis (PyTorch's rule): ``m = ⌊(n + 2p − d·(k−1) − 1)/s⌋ + 1``; with
``ceil_mode`` the division rounds up, but a window must start inside the input or the low
padding. ``stride`` defaults to ``kernel_size``; padding may be at most half the (effective)
kernel.

Tie rule of max pooling: when several elements of a window share the maximum, the *first* one
in row-major order inside the window receives the whole gradient — PyTorch's CPU rule, so
gradients match it bit for bit. (``Tensor.max`` instead shares the gradient equally, like
``torch.amax``.) A window holding NaN gives NaN, and its *last* NaN is the index (torch's
``val > max || isnan(val)``); a window of −∞ only, its first element inside x.

Two routes, one result: with the compiled kernels (numba, ``ops.jit.available()``) each
pooling is one kernel call per (N·C) plane and its backward another (``pooling_kernels``: max
keeps the argmax indices of the forward and scatters g there; avg spreads ``g / count``),
each backward a differentiable op whose backward is the forward's gather or average again, so
double backward works; without them (or ``CONVGRAD_JIT=0``) the window pair above.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, make
from ..autograd.trace import traced
from ..methods.indexing import take_along_axis
from ..ops.geometry import as_tuple, check_arrays, effective_kernel, output_length
from ..ops.windows import fold_windows, sliding_windows
from . import checks
from . import pooling_kernels as kernels
from .basic import pad_sides

__all__ = ["max_pool", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool", "avg_pool1d",
           "avg_pool2d", "avg_pool3d", "max_unpool1d", "max_unpool2d",
           "max_unpool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d"]


def window_view(input, kernel, stride, dilation) -> Tensor:
    """Windows of the last ``len(kernel)`` axes: (*lead, *S) → (*lead, *M, *K), zero-copy."""
    x = checks.tensor("window_view", "input", input, "fiub")
    kernel, stride, dilation = _window_args("window_view", x, kernel, stride, dilation)
    size = x.shape[x.ndim - len(kernel):]
    for n, k, d in zip(size, kernel, dilation):
        if effective_kernel(k, d) > n:
            raise ValueError(f"window_view: window {kernel} (dilation {dilation}) is larger "
                             f"than the input's last axes {size}")
    return make(sliding_windows(x.array, kernel, stride, dilation), (x,),
                lambda g: (window_sum(g, size, stride, dilation),), "window_view")


def window_sum(windows, size, stride, dilation) -> Tensor:
    """The transpose of ``window_view``: windows (*lead, *M, *K) summed back into
    (*lead, *size)."""
    w = checks.tensor("window_sum", "windows", windows, "fiub")
    if not isinstance(size, (tuple, list)) or not 0 < len(size) <= w.ndim // 2:
        raise ValueError(f"window_sum: size must be a tuple of at most {w.ndim // 2} ints "
                         f"(windows of shape (*lead, *M, *K)), got {size!r}")
    size = as_tuple(tuple(size), len(size), "size", "window_sum")
    kernel = w.shape[w.ndim - len(size):]
    _, stride, dilation = _window_args("window_sum", w, kernel, stride, dilation)
    for n, m, k, s, d in zip(size, w.shape[w.ndim - 2 * len(size):], kernel, stride,
                             dilation):
        if m != output_length(n, k, s, d) or k < 1:
            raise ValueError(f"window_sum: windows of shape {w.shape} do not tile size {size} "
                             f"with stride {stride}, dilation {dilation}")
    return make(fold_windows(w.array, size, stride, dilation), (w,),
                lambda h: (window_view(h, kernel, stride, dilation),), "window_sum")


def _window_args(op: str, x: Tensor, kernel, stride, dilation):
    """kernel, stride, dilation as tuples of positive ints, one per windowed axis."""
    if not isinstance(kernel, (tuple, list)) or not 0 < len(kernel) <= x.ndim:
        raise ValueError(f"{op}: kernel must be a tuple of 1 to {x.ndim} ints for input of "
                         f"shape {x.shape}, got {kernel!r}")
    n = len(kernel)
    return (as_tuple(tuple(kernel), n, "kernel", op), as_tuple(stride, n, "stride", op),
            as_tuple(dilation, n, "dilation", op))


@traced("max_pool")
def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False, *, ndim: int, op: str = "max_pool"):
    """Maximum over each window; the first maximal element in a window takes the gradient.

    With ``return_indices`` also the int64 position of each maximum in the flattened spatial
    input (``h·W + w`` in 2-d), as torch: the indices ``max_unpool`` takes."""
    x = checks.tensor(op, "input", input)
    return_indices = checks.boolean(op, "return_indices", return_indices)
    kernel, stride, dilation, pads = _pool_geometry(op, x, kernel_size, stride, padding,
                                                    dilation, ceil_mode, ndim)
    if kernels.available():
        return _compiled_max_pool(x, kernel, stride, dilation, pads, return_indices)
    xp = pad_sides(x, pads, value=-np.inf)
    windows = window_view(xp, kernel, stride, dilation)
    flat = windows.reshape(*windows.shape[: x.ndim], int(np.prod(kernel)))
    first_max = flat.array.argmax(axis=-1)[..., None]
    nan = np.isnan(flat.array)
    if nan.any():       # torch's ``val > max || isnan(val)``: the window's *last* NaN wins
        last_nan = flat.shape[-1] - 1 - nan[..., ::-1].argmax(axis=-1)[..., None]
        first_max = np.where(nan.any(axis=-1, keepdims=True), last_nan, first_max)
    lost = np.take_along_axis(flat.array, first_max, -1) == -np.inf
    nowhere = None
    if lost.any():      # all −inf: torch's gradient goes to the first element inside x, not
        inside = pad_sides(Tensor(np.ones(x.shape, np.int8)), pads, value=0)   # a padding
        first_inside = window_view(inside, kernel, stride, dilation).array.reshape(flat.shape)
        first_max = np.where(lost, first_inside.argmax(axis=-1)[..., None], first_max)
        nowhere = ~first_inside.any(axis=-1)        # (no element inside x: dilation > x)
    out = take_along_axis(flat, first_max, -1).reshape(flat.shape[:-1])
    if not return_indices:
        return out
    geo, out_size = _compiled_geometry(x, kernel, stride, dilation, pads)
    index = _flat_index(first_max[..., 0], x.shape[2:], out_size, kernel, stride, dilation,
                        [lo for lo, _ in pads])
    if nowhere is not None and nowhere.any():       # torch's index: the clamped start
        index = np.where(nowhere, kernels.clamped_starts(geo).reshape(out_size), index)
    return out, Tensor(index)


def _flat_index(k_flat: np.ndarray, size, out_size, kernel, stride, dilation, lo) -> np.ndarray:
    """Input position ``Σ_i (o_i·s_i − p_i + k_i·d_i)·stride_i`` of kernel tap ``k_flat``."""
    taps = np.unravel_index(k_flat, kernel)
    index = np.zeros(k_flat.shape, np.int64)
    n = len(kernel)
    for axis in range(n):
        o = np.arange(out_size[axis]).reshape((-1,) + (1,) * (n - 1 - axis))
        coord = o * stride[axis] - lo[axis] + taps[axis] * dilation[axis]
        index = index * size[axis] + coord
    return index


@traced("avg_pool")
def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
             count_include_pad=True, divisor_override=None, *, ndim: int,
             op: str = "avg_pool") -> Tensor:
    """Mean over each window. The divisor counts the window's cells inside the padded input
    (``count_include_pad=True``, PyTorch's default) or inside x only; ``divisor_override``
    replaces it."""
    x = checks.tensor(op, "input", input)
    count_include_pad = checks.boolean(op, "count_include_pad", count_include_pad)
    kernel, stride, dilation, pads = _pool_geometry(op, x, kernel_size, stride, padding, 1,
                                                    ceil_mode, ndim)
    if divisor_override is not None:
        checks.integer(op, "divisor_override", divisor_override, 1)
    if kernels.available():
        geo, out_size = _compiled_geometry(x, kernel, stride, dilation, pads)
        counts = kernels.divisors(geo, count_include_pad, divisor_override, x.dtype)
        return _averaged(x, geo, counts, (x.shape, (*x.shape[:2], *out_size)), True)
    axes = tuple(range(x.ndim, x.ndim + ndim))
    sums = window_view(pad_sides(x, pads), kernel, stride, dilation).sum(axis=axes)
    if divisor_override is not None:
        return sums / float(divisor_override)
    # Which cells count: the padded input (not the ceil_mode overhang), or x alone.
    counted = np.zeros([n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)], dtype=x.dtype)
    counted[tuple(slice(0, n + 2 * p) if count_include_pad else slice(p, p + n)
                  for n, (p, _) in zip(x.shape[2:], pads))] = 1
    windows = sliding_windows(counted, kernel, stride, dilation)
    return sums / Tensor(windows.sum(axis=tuple(range(ndim, 2 * ndim))))


def _pool_geometry(op, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode, ndim):
    if x.ndim != ndim + 2:
        raise ValueError(f"{op}: input must have shape (N, C, {ndim} spatial dims), got "
                         f"{x.shape}")
    check_arrays(op, input=x.array)
    ceil_mode = checks.boolean(op, "ceil_mode", ceil_mode)
    kernel = as_tuple(kernel_size, ndim, "kernel_size", op)
    stride = kernel if stride is None else as_tuple(stride, ndim, "stride", op)
    dilation = as_tuple(dilation, ndim, "dilation", op)
    padding = as_tuple(padding, ndim, "padding", op, minimum=0)
    pads = []
    for axis, (n, k, s, d, p) in enumerate(zip(x.shape[2:], kernel, stride, dilation, padding)):
        ke = effective_kernel(k, d)
        if p > ke // 2:
            raise ValueError(f"{op}: padding must be at most half the effective kernel size: "
                             f"dim {axis} has padding={p}, kernel={k}, dilation={d}")
        span = n + 2 * p - ke
        if span < 0:
            raise ValueError(f"{op}: window larger than the padded input along dim {axis}: "
                             f"effective kernel {ke} > n + 2·padding = {n + 2 * p} "
                             f"(input shape {x.shape})")
        m = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (m - 1) * s >= n + p:     # the last window would start in the padding
            m -= 1
        pads.append((p, p + max(0, (m - 1) * s + ke - n - 2 * p)))
    return kernel, stride, dilation, tuple(pads)


# The compiled route (``pooling_kernels``): one kernel call forward, one backward, each
# backward a differentiable op whose own backward is the forward's kernel again — max:
# ``index_scatter`` (∂x[index] += g) ⇄ ``index_gather`` (h ↦ h[index]), the indices kept from
# the forward; avg: ``avg_forward`` ⇄ ``avg_backward`` — so under create_graph=True the
# backward records its own graph (second derivatives), and otherwise it is one kernel call.

def _compiled_geometry(x: Tensor, kernel, stride, dilation, pads):
    """The kernels' (6, 3) geometry of this pooling and its output size."""
    out = tuple(output_length(n, k, s, d, lo, hi) for n, (lo, hi), k, s, d in
                zip(x.shape[2:], pads, kernel, stride, dilation))
    return kernels.geometry(x.shape[2:], out, kernel, stride, dilation,
                            [lo for lo, _ in pads]), out


def _planes(t: Tensor) -> np.ndarray:
    """t (N, C, *S) as the kernels take it: one row per plane, (N·C, ΠS)."""
    return t.array.reshape(t.shape[0] * t.shape[1], int(np.prod(t.shape[2:])))


def _compiled_max_pool(x: Tensor, kernel, stride, dilation, pads, return_indices: bool):
    geo, out_size = _compiled_geometry(x, kernel, stride, dilation, pads)
    values, index = kernels.max_forward(_planes(x), geo)
    shape, x_shape, size = (*x.shape[:2], *out_size), x.shape, int(np.prod(x.shape[2:]))
    y = make(values.reshape(shape), (x,), lambda g: (index_scatter(g, index, x_shape, size),),
             "max_pool")
    if not return_indices:
        return y
    return y, Tensor(kernels.torch_indices(index, geo).reshape(shape).copy())


def index_scatter(g: Tensor, index: np.ndarray, shape, size: int) -> Tensor:
    """∂x of max pooling: zeros of ``shape`` (*lead, *S), planes of ``size`` = ΠS, with each
    plane's g (*lead, *M) added at its indices (P, ΠM); the transpose of ``index_gather``."""
    data = kernels.scatter_add(g.array.reshape(index.shape), index, size)
    return make(data.reshape(shape), (g,), lambda h: (index_gather(h, index, g.shape, size),),
                "max_pool_backward")


def index_gather(h: Tensor, index: np.ndarray, shape, size: int) -> Tensor:
    """Each plane of h (*lead, *S) read at its indices: ``shape`` (*lead, *M)."""
    data = kernels.gather(h.array.reshape(index.shape[0], size), index)
    return make(data.reshape(shape), (h,), lambda g: (index_scatter(g, index, h.shape, size),),
                "max_pool_gather")


def _averaged(t: Tensor, geo: np.ndarray, counts: np.ndarray, shapes, forward: bool) -> Tensor:
    """``avg_forward`` (x → y, ``forward``) or its transpose ``avg_backward`` (g → ∂x);
    ``shapes``: (input shape, output shape)."""
    run = kernels.avg_forward if forward else kernels.avg_backward
    data = run(_planes(t), geo, counts)
    return make(data.reshape(shapes[forward]), (t,),
                lambda g: (_averaged(g, geo, counts, shapes, not forward),),
                "avg_pool" if forward else "avg_pool_backward")


def max_unpool(input, indices, kernel_size, stride=None, padding=0, output_size=None, *,
               ndim: int, op: str = "max_unpool") -> Tensor:
    """The partial inverse of ``max_pool``: zeros of the output size with each input value put at
    its index (flattened spatial positions, as ``return_indices`` gives them).

    Output length per axis, unless ``output_size`` is given: ``(n − 1)·s − 2p + k``; an
    ``output_size`` (spatial, or with N, C in front) must lie within ``stride`` of it."""
    x = checks.tensor(op, "input", input)
    idx = checks.tensor(op, "indices", indices, "i").array
    if x.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(f"{op}: input must have shape (N, C, {ndim} spatial dims) or (C, "
                         f"{ndim} spatial dims), got {x.shape}")
    if idx.shape != x.shape:
        raise ValueError(f"{op}: indices must have the input's shape {x.shape}, got "
                         f"{idx.shape}")
    kernel = as_tuple(kernel_size, ndim, "kernel_size", op)
    stride = kernel if stride is None else as_tuple(stride, ndim, "stride", op)
    padding = as_tuple(padding, ndim, "padding", op, minimum=0)
    size = x.shape[x.ndim - ndim:]
    default = [(n - 1) * s - 2 * p + k for n, s, p, k in zip(size, stride, padding, kernel)]
    if output_size is None:
        out_size = default
    else:
        out_size = [int(v) for v in output_size][-ndim:] if len(output_size) in (
            ndim, ndim + 2) else None
        if out_size is None or any(not d - s < o < d + s for o, d, s in
                                   zip(out_size, default, stride)):
            raise ValueError(f"{op}: output_size {tuple(output_size)} must be {ndim} sizes "
                             f"each within stride {stride} of {tuple(default)}")
    if min(out_size) < 1:
        raise ValueError(f"{op}: output size {tuple(out_size)} is too small (input {x.shape})")
    total = int(np.prod(out_size))
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        raise RuntimeError(f"{op}: found an invalid max index {int(idx.max())} (output spatial "
                           f"size {tuple(out_size)})")
    lead = x.shape[: x.ndim - ndim]
    flat, where = x.reshape(*lead, -1), idx.reshape(*lead, -1)
    out = np.zeros((*lead, total), x.dtype)
    np.put_along_axis(out, where, flat.array, -1)      # a repeated index: the last one wins
    return make(out, (flat,), lambda g: (take_along_axis(g, where, -1),),
                "max_unpool").reshape(*lead, *out_size)


@traced("lp_pool")
def lp_pool(input, norm_type, kernel_size, stride=None, ceil_mode=False, *, ndim: int,
            op: str = "lp_pool") -> Tensor:
    """Power-average pooling ``(Σ_window x^p)^(1/p)`` (no padding), computed as torch does:
    ``(sign(a)·relu(|a|)·|K|)^(1/p)`` with ``a = avg_pool(x^p)``."""
    p = checks.real(op, "norm_type", norm_type, finite=False)
    kernel = as_tuple(kernel_size, ndim, "kernel_size", op)
    x = checks.tensor(op, "input", input)
    a = avg_pool(x.pow(p), kernel, stride, 0, ceil_mode, ndim=ndim, op=op)
    return (a.sign() * a.abs().relu()).mul(float(np.prod(kernel))).pow(1.0 / p)


def _fixed_rank(fn, n: int, name: str):
    def wrapper(input, kernel_size, *args, **kwargs) -> Tensor:
        return fn(input, kernel_size, *args, ndim=n, op=name, **kwargs)
    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = f"``{fn.__name__}`` over {n} spatial dim(s): {fn.__doc__}"
    return wrapper


def _unpool_rank(n: int):
    def wrapper(input, indices, kernel_size, stride=None, padding=0,
                output_size=None) -> Tensor:
        return max_unpool(input, indices, kernel_size, stride, padding, output_size, ndim=n,
                          op=f"max_unpool{n}d")
    return _named(wrapper, max_unpool, n, f"max_unpool{n}d")


def _lp_rank(n: int):
    def wrapper(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
        return lp_pool(input, norm_type, kernel_size, stride, ceil_mode, ndim=n,
                       op=f"lp_pool{n}d")
    return _named(wrapper, lp_pool, n, f"lp_pool{n}d")


def _named(wrapper, fn, n: int, name: str):
    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = f"``{fn.__name__}`` over {n} spatial dim(s): {fn.__doc__}"
    return wrapper


max_pool1d, max_pool2d, max_pool3d = (_fixed_rank(max_pool, n, f"max_pool{n}d") for n in (1, 2, 3))
avg_pool1d, avg_pool2d, avg_pool3d = (_fixed_rank(avg_pool, n, f"avg_pool{n}d") for n in (1, 2, 3))
max_unpool1d, max_unpool2d, max_unpool3d = (_unpool_rank(n) for n in (1, 2, 3))
lp_pool1d, lp_pool2d, lp_pool3d = (_lp_rank(n) for n in (1, 2, 3))
