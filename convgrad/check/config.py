"""The configuration space a user's convolution claims to support, and hypothesis strategies
over it (shrinking towards the smallest batch, channels, sizes, stride, padding).

The feature ``tiled`` (``--assume-tiling``) is a declared convention, not a capability: the
search keeps its strides but draws only sizes where the windows tile the padded input exactly,
``(n + 2p − d·(k − 1) − 1) mod s = 0`` — what the course assignments state and some code asserts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ops.configuration import ConvConfig, channel_aliases, fields_repr
from ..ops.geometry import effective_kernel

FEATURES = ("stride", "padding", "dilation", "groups", "nonsquare", "tiled")
DEFAULT_FEATURES = ("stride", "padding", "nonsquare")
_FIELDS = ("batch", "cin", "cout", "size", "kernel", "stride", "padding", "dilation", "groups")


@dataclass(frozen=True, init=False, repr=False)
class CheckConfig(ConvConfig):
    """One convolution (``ConvConfig``) as the search draws it: x (batch, cin, *size),
    w (cout, cin/groups, *kernel); scalar stride, symmetric padding and dilation on every
    spatial axis (what hand-written code supports); float64. Made positionally in the order
    of ``_FIELDS``, with its old repr (which seeds the arrays of a configuration)."""

    def __init__(self, batch=1, cin=None, cout=None, size=(), kernel=(), stride=1, padding=0,
                 dilation=1, groups=1, **fields):
        fields.setdefault("dtype", "float64")
        super().__init__(batch=batch, size=size, kernel=kernel, stride=stride, padding=padding,
                         dilation=dilation, groups=groups,
                         **channel_aliases(fields, cin, cout))

    def __repr__(self) -> str:
        return fields_repr(self, _FIELDS)


def strategy(dims: int, features, max_size: int = 6):
    """Valid configurations within the claimed ``features`` (see FEATURES)."""
    from hypothesis import strategies as st  # noqa: PLC0415

    features = set(features)

    @st.composite
    def draw_config(draw):
        stride = draw(st.integers(1, 3)) if "stride" in features else 1
        padding = draw(st.integers(0, 2)) if "padding" in features else 0
        dilation = draw(st.integers(1, 2)) if "dilation" in features else 1
        groups = draw(st.integers(1, 2)) if "groups" in features else 1
        cin = groups * draw(st.integers(1, 2))
        cout = groups * draw(st.integers(1, 2))
        batch = draw(st.integers(1, 2))
        if "nonsquare" in features:
            kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
        else:
            kernel = (draw(st.integers(1, 3)),) * dims
        size = []
        for k in (kernel if "nonsquare" in features else kernel[:1]):
            span = effective_kernel(k, dilation) - 2 * padding  # the size with one output
            if "tiled" in features:         # n = span + m·stride: exactly m + 1 windows
                first = max(0, -(-(1 - span) // stride))
                steps = draw(st.integers(first, first + max(1, max_size // stride)))
                size.append(span + steps * stride)
            else:
                least = max(1, span)
                size.append(draw(st.integers(least, least + max_size)))
        if "nonsquare" not in features:
            size = size * dims
        return CheckConfig(batch, cin, cout, tuple(size), kernel, stride, padding, dilation,
                           groups)

    return draw_config()
