r"""One correlation the engine computes, as a frozen value: the shapes, not the numbers.

    y[b, g, o, p] = Σ_{c, j} x_pad[b, g, c, p·s + j·d] · w[g, o, c, j]
    x (B, G, Ci, *S) padded by (lo, hi) per axis ⋆ w (G, Co, Ci, *K) → y (B, G, Co, *M)
    M = ⌊(S + lo + hi − d·(K − 1) − 1) / s⌋ + 1 per axis      (``geometry.output_length``)

A forward is such a correlation with the layer's own shapes; the two gradients are ones with
other shapes (``ops.conv``: ∂w swaps batch and channels, ∂x runs per stride phase). Negative
pads crop. Everything an algorithm's applicability and cost depend on is derived from these
fields once (``functools.cached_property`` on the frozen value), which is what lets a ``Plan``
be cached per problem.

>>> p = Problem((8, 1, 64, 56, 56), (1, 64, 64, 3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)),
...             np.dtype("float32"))
>>> p.out_size, p.macs
((56, 56), 924844032)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..ops.windows import output_length


@dataclass(frozen=True)
class Problem:
    """A grouped, strided, dilated, padded correlation (module docstring). ``dtype`` None:
    the method rule without a dtype (the direct methods only, as ``choose_method``'s
    default); ``same_dtype``: x and w share it (the compiled depthwise kernels need that)."""

    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    dtype: np.dtype | None
    same_dtype: bool = True

    @classmethod
    def of(cls, x_shape, w_shape, stride, dilation, pads=None, dtype=None,
           same_dtype: bool = True) -> Problem:
        """A problem from any sequences (pads None: no padding)."""
        ndim = len(x_shape) - 3
        pads = ((0, 0),) * ndim if pads is None else tuple((int(lo), int(hi))
                                                           for lo, hi in pads)
        return cls(tuple(x_shape), tuple(w_shape), tuple(stride), tuple(dilation), pads,
                   None if dtype is None else np.dtype(dtype), same_dtype)

    @property
    def ndim(self) -> int:
        return len(self.x_shape) - 3

    @property
    def batch(self) -> int:
        return self.x_shape[0]

    @property
    def groups(self) -> int:
        return self.x_shape[1]

    @property
    def in_channels(self) -> int:
        """C_in per group (the contracted channels)."""
        return self.x_shape[2]

    @property
    def out_channels(self) -> int:
        """C_out per group."""
        return self.w_shape[1]

    @property
    def kernel(self) -> tuple[int, ...]:
        return self.w_shape[3:]

    @property
    def itemsize(self) -> int:
        return 8 if self.dtype is None else self.dtype.itemsize

    @cached_property
    def padded_size(self) -> tuple[int, ...]:
        """S + lo + hi per axis."""
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.x_shape[3:], self.pads))

    @cached_property
    def padded_shape(self) -> tuple[int, ...]:
        """(B, G, Ci, *padded_size): the x the method rule sees."""
        return (*self.x_shape[:3], *self.padded_size)

    @cached_property
    def out_size(self) -> tuple[int, ...]:
        """M per axis."""
        return tuple(output_length(n, k, s, d) for n, k, s, d in
                     zip(self.padded_size, self.kernel, self.stride, self.dilation))

    @cached_property
    def out_shape(self) -> tuple[int, ...]:
        return (self.batch, self.groups, self.out_channels, *self.out_size)

    @property
    def taps(self) -> int:
        """ΠK."""
        return math.prod(self.kernel)

    @property
    def outputs(self) -> int:
        """ΠM: output positions per image."""
        return math.prod(self.out_size)

    @property
    def macs(self) -> int:
        """Multiply-adds of the direct sum: B·G·Co·Ci·ΠK·ΠM."""
        return (self.batch * self.groups * self.out_channels * self.in_channels * self.taps
                * self.outputs)

    @property
    def stride_one(self) -> bool:
        return all(s == 1 for s in self.stride)

    def __str__(self) -> str:
        pads = "" if not any(lo or hi for lo, hi in self.pads) else f", pads {self.pads}"
        dtype = "" if self.dtype is None else f" {self.dtype}"
        return (f"x {self.x_shape} ⋆ w {self.w_shape}, stride {self.stride}, dilation "
                f"{self.dilation}{pads}{dtype}")
