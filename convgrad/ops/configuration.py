"""One convolution configuration: the shapes and options of a conv (or a transposed conv) as one
frozen value, shared by ``convgrad check``, ``convgrad explain`` and the tests.

It stores what a user writes — every padding spelling the engine accepts (``p``, one int per
dim, ``(lo, hi)`` pairs per dim, ``'same'``, ``'valid'``, ``'full'``) — and derives the rest
with ``ops.geometry``'s resolvers, never re-deriving them. Per spatial axis, with input length
n, kernel k, stride s, dilation d and resolved padding (lo, hi)::

    effective kernel   ke = d·(k − 1) + 1
    conv               m  = ⌊(n + lo + hi − ke) / s⌋ + 1,  remainder r = (n + lo + hi − ke) mod s
    conv_transpose     m  = (n − 1)·s − lo − hi + ke + output_padding

>>> c = ConvConfig(size=(7, 6), kernel=(3, 3), in_channels=2, out_channels=4, stride=2, padding=1)
>>> c.out_size, c.remainders           # ⌊(7 + 2 − 3)/2⌋ + 1 = 4 r 0;  ⌊(6 + 2 − 3)/2⌋ + 1 = 3 r 1
((4, 3), (0, 1))
>>> print(c.describe())
x (1, 2, 7, 6), w (4, 2, 3, 3), stride 2, padding 1 → out (1, 4, 4, 3)
>>> ConvConfig(size=(5,), kernel=(4,), padding="same").padding_pairs
((1, 2),)
>>> ConvConfig(size=(4,), kernel=(3,), stride=2, padding=1, output_padding=1,
...            transposed=True).out_size                # (4 − 1)·2 − 1 − 1 + 3 + 1
(8,)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .geometry import (
    ConvGeometry,
    IntOrInts,
    Padding,
    as_tuple,
    conv_geometry,
    effective_kernel,
    resolve_padding,
    transpose_geometry,
)

DTYPES = ("float32", "float64")


@dataclass(frozen=True, kw_only=True)
class ConvConfig:
    """x (batch, in_channels, *size) ⋆ w → (batch, out_channels, *out_size), PyTorch's meaning for
    every field. ``w`` is (out_channels, in_channels/groups, *kernel) for a conv and
    (in_channels, out_channels/groups, *kernel) for a transposed conv (``transposed=True``, the
    only kind with an ``output_padding``). Every value is checked when the config is made: a bad
    one is a ValueError naming the field."""

    size: tuple[int, ...]
    kernel: tuple[int, ...]
    in_channels: int = 1
    out_channels: int = 1
    batch: int = 1
    stride: IntOrInts = 1
    padding: Padding = 0
    dilation: IntOrInts = 1
    groups: int = 1
    output_padding: IntOrInts = 0
    transposed: bool = False
    dtype: str = "float32"

    OP = ""                             # the prefix of error messages (default: the class name)

    def __post_init__(self):
        op = self.OP or type(self).__name__
        fix = lambda name, value: object.__setattr__(self, name, value)
        fix("size", _sizes(op, "size", self.size))
        fix("kernel", _sizes(op, "kernel", self.kernel))
        if len(self.kernel) != len(self.size):
            raise ValueError(f"{op}: kernel={self.kernel} has {len(self.kernel)} dim(s) but "
                             f"size={self.size} has {len(self.size)}; give one per spatial dim")
        for name in ("stride", "padding", "dilation", "output_padding"):
            fix(name, _frozen(getattr(self, name)))
        _count(op, "batch", self.batch, 0)
        _count(op, "in_channels", self.in_channels, 1)
        _count(op, "out_channels", self.out_channels, 1)
        if not _is_int(self.groups) or self.groups < 1:
            raise ValueError(f"{op}: groups must be a positive int, got groups={self.groups!r}")
        if not isinstance(self.transposed, (bool, np.bool_)):
            raise ValueError(f"{op}: transposed must be a bool, got {self.transposed!r}")
        try:
            dtype = None if self.dtype is None else np.dtype(self.dtype).name
        except TypeError:
            dtype = None
        if dtype not in DTYPES:
            raise ValueError(f"{op}: dtype must be float32 or float64, got dtype={self.dtype!r}")
        fix("dtype", dtype)
        try:
            extra = as_tuple(self.output_padding, self.ndim, "output_padding", op, minimum=0)
            if any(extra) and not self.transposed:
                raise ValueError(f"{op}: output_padding={self.output_padding!r} is for a "
                                 f"transposed convolution only (transposed=True)")
            if self.transposed and self.out_channels % self.groups:
                raise ValueError(f"{op}: groups={self.groups} must divide "
                                 f"out_channels={self.out_channels}")
            fix("_geometry", self._resolve(op))
        except TypeError as e:          # the resolvers' TypeErrors name the field too
            raise ValueError(str(e)) from None

    def _resolve(self, op: str) -> ConvGeometry:
        if self.transposed:
            geo = transpose_geometry(op, self.x_shape, self.w_shape, self.stride, self.padding,
                                     self.output_padding, self.groups, self.dilation)
            stride = as_tuple(self.stride, self.ndim, "stride", op)
            dilation = as_tuple(self.dilation, self.ndim, "dilation", op)
            object.__setattr__(self, "_pairs", resolve_padding(
                self.padding, self.size, self.kernel, stride, dilation, op, ("valid",)))
            return geo
        # a groups that does not divide C_in is left for conv_geometry to name
        per_group = self.in_channels // self.groups if self.in_channels % self.groups == 0 else 1
        geo = conv_geometry(op, self.x_shape, (self.out_channels, per_group, *self.kernel),
                            self.stride, self.padding, self.dilation, self.groups)
        object.__setattr__(self, "_pairs", geo.padding)
        return geo

    # ------------------------------------------------------------------ derived quantities

    def geometry(self) -> ConvGeometry:
        """The engine's validated, normalised geometry (for a transposed conv: that of the conv
        whose input gradient it is — its in_size is this config's out_size)."""
        return self._geometry

    @property
    def ndim(self) -> int:
        return len(self.size)

    @property
    def cin(self) -> int:
        return self.in_channels

    @property
    def cout(self) -> int:
        return self.out_channels

    @property
    def padding_pairs(self) -> tuple[tuple[int, int], ...]:
        """The padding as one ``(lo, hi)`` pair per spatial dim (``resolve_padding``)."""
        return self._pairs

    @property
    def effective_kernel(self) -> tuple[int, ...]:
        return tuple(effective_kernel(k, d) for k, d in zip(self.kernel, self._geometry.dilation))

    @property
    def out_size(self) -> tuple[int, ...]:
        geo = self._geometry
        return tuple(geo.in_size if self.transposed else geo.out_size)

    @property
    def remainders(self) -> tuple[int, ...]:
        """Padded input positions per axis after the last window, ``(n + lo + hi − ke) mod s``
        (transposed: those of the conv it is the input gradient of)."""
        return tuple(self._geometry.remainder)

    @property
    def tiles(self) -> bool:
        """The windows cover the padded input exactly on every axis."""
        return not any(self.remainders)

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.in_channels, *self.size)

    @property
    def w_shape(self) -> tuple[int, ...]:
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups, *self.kernel)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.batch, self.out_channels, *self.out_size)

    @property
    def opts(self) -> dict:
        """The keyword options of ``ops.conv`` (``ops.conv_transpose`` when transposed)."""
        opts = dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)
        if self.transposed:
            opts["output_padding"] = self.output_padding
        return opts

    def describe(self) -> str:
        """One line: the shapes, the options that are not their defaults, the output shape."""
        padding = (f"{self.padding} {self.padding_pairs}" if isinstance(self.padding, str)
                   else f"{self.padding}")
        parts = [f"x {self.x_shape}", f"w {self.w_shape}", f"stride {self.stride}",
                 f"padding {padding}"]
        defaults = {"dilation": 1, "groups": 1, "output_padding": 0}
        for name, default in defaults.items():
            value = getattr(self, name)
            if set(np.ravel(value).tolist()) != {default}:
                parts.append(f"{name} {value}")
        return ("transposed: " if self.transposed else "") + ", ".join(parts) + \
            f" → out {self.out_shape}"

    def with_size(self, size) -> ConvConfig:
        return replace(self, size=tuple(size))


def channel_aliases(fields: dict, cin=None, cout=None) -> dict:
    """``fields`` with the short spellings ``cin``/``cout`` of the older configuration types as
    ``in_channels``/``out_channels``; a short one given wins (``dataclasses.replace(cfg,
    cin=3)`` passes the old in_channels too)."""
    for short, name in ((cin, "in_channels"), (cout, "out_channels")):
        if short is not None:
            fields[name] = short
    return fields


def fields_repr(config, names) -> str:
    """``Name(a=…, b=…)`` over ``names``: a subclass keeps its old repr (test ids and the
    seeds that are built from it stay the same)."""
    return f"{type(config).__name__}({', '.join(f'{n}={getattr(config, n)!r}' for n in names)})"


def _sizes(op: str, name: str, value) -> tuple[int, ...]:
    if not (isinstance(value, (tuple, list)) and value and all(_is_int(v) and v >= 1
                                                                for v in value)):
        raise ValueError(f"{op}: {name} must be a non-empty sequence of positive ints, got "
                         f"{name}={value!r}")
    return tuple(int(v) for v in value)


def _count(op: str, name: str, value, minimum: int) -> None:
    if not _is_int(value) or value < minimum:
        rule = "a positive int" if minimum else "an int ≥ 0"
        raise ValueError(f"{op}: {name} must be {rule}, got {name}={value!r}")


def _frozen(value):
    """Lists as tuples (a config is hashable: check keys dicts by it)."""
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
