r"""torch's ``unfold`` (im2col) and ``fold`` (col2im): the sliding blocks of a batched image as
columns, and the columns summed back into an image.

``unfold``: x (N, C, H, W) → (N, C·kh·kw, L), column ℓ holding the block at output position ℓ
(row-major over the ``L = oh·ow`` positions), rows ordered channel-major (C, kh, kw), with
``o = ⌊(n + 2p − d·(k − 1) − 1)/s⌋ + 1`` per axis. ``fold`` is its transpose: (N, C·kh·kw, L)
→ (N, C, *output_size), overlapping entries added. An unbatched (C, H, W) input works too.

>>> import numpy as np
>>> x = Tensor(np.arange(9.0).reshape(1, 1, 3, 3))
>>> cols = unfold(x, 2); cols.shape, cols.array[0, :, 0].tolist()
(convgrad.Size([1, 4, 4]), [0.0, 1.0, 3.0, 4.0])
>>> fold(cols, (3, 3), 2).array[0, 0].tolist()          # the centre is in all four blocks
[[0.0, 2.0, 2.0], [6.0, 16.0, 10.0], [6.0, 14.0, 8.0]]
"""

from __future__ import annotations

from ..autograd import Tensor
from ..autograd.trace import traced
from ..ops.geometry import as_tuple, output_length
from . import checks
from .basic import pad_sides
from .pooling import window_sum, window_view

__all__ = ["unfold", "fold"]


def _options(op: str, kernel_size, dilation, padding, stride):
    return (as_tuple(kernel_size, 2, "kernel_size", op),
            as_tuple(dilation, 2, "dilation", op),
            as_tuple(padding, 2, "padding", op, minimum=0),
            as_tuple(stride, 2, "stride", op))


def _blocks(op: str, size, kernel, dilation, padding, stride) -> tuple[int, int]:
    blocks = tuple(output_length(n, k, s, d, p, p)
                   for n, k, d, p, s in zip(size, kernel, dilation, padding, stride))
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"{op}: given input size {tuple(size)}, kernel_size {kernel}, "
                           f"dilation {dilation}, padding {padding}, stride {stride}, the "
                           f"calculated shape of the array of sliding blocks is {blocks}, but "
                           f"its components must be at least one.")
    return blocks


@traced("unfold")
def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The sliding blocks of (N, C, H, W) (or (C, H, W)) as columns: (N, C·kh·kw, L)."""
    x = checks.tensor("unfold", "input", input)
    if x.ndim not in (3, 4):
        raise RuntimeError(f"unfold: Input Error: Only 3D or 4D input Tensors are supported "
                           f"(got {x.ndim}D)")
    kernel, dilation, padding, stride = _options("unfold", kernel_size, dilation, padding,
                                                 stride)
    batched = x if x.ndim == 4 else x.unsqueeze(0)
    n, c = batched.shape[:2]
    oh, ow = _blocks("unfold", batched.shape[2:], kernel, dilation, padding, stride)
    padded = pad_sides(batched, tuple((p, p) for p in padding))
    windows = window_view(padded, kernel, stride, dilation)          # (N, C, oh, ow, kh, kw)
    cols = windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kernel[0] * kernel[1], oh * ow)
    return cols if x.ndim == 4 else cols.squeeze(0)


@traced("fold")
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Columns (N, C·kh·kw, L) (or unbatched (C·kh·kw, L)) summed back into (N, C, *output_size);
    the transpose of ``unfold``."""
    cols = checks.tensor("fold", "input", input)
    if cols.ndim not in (2, 3):
        raise RuntimeError(f"fold: Input Error: Only unbatched (2D) or batched (3D) input "
                           f"Tensors are supported (got {cols.ndim}D)")
    size = as_tuple(output_size, 2, "output_size", "fold")
    kernel, dilation, padding, stride = _options("fold", kernel_size, dilation, padding, stride)
    batched = cols if cols.ndim == 3 else cols.unsqueeze(0)
    n, rows, length = batched.shape
    per_channel = kernel[0] * kernel[1]
    if rows % per_channel:
        raise RuntimeError(f"fold: expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={rows} and "
                           f"kernel_size={kernel}")
    oh, ow = _blocks("fold", size, kernel, dilation, padding, stride)
    if length != oh * ow:
        raise RuntimeError(f"fold: Given output_size={size}, kernel_size={kernel}, dilation="
                           f"{dilation}, padding={padding}, stride={stride}, expected size of "
                           f"input's dimension 2 to match the calculated number of sliding "
                           f"blocks {oh} * {ow} = {oh * ow}, but got input.size(2)={length}.")
    c = rows // per_channel
    windows = batched.reshape(n, c, *kernel, oh, ow).permute(0, 1, 4, 5, 2, 3)
    padded_size = tuple(m + 2 * p for m, p in zip(size, padding))
    image = window_sum(windows, padded_size, stride, dilation)
    (pt, pl), (h, w) = padding, size
    image = image[:, :, pt:pt + h, pl:pl + w]
    return image if cols.ndim == 3 else image.squeeze(0)
