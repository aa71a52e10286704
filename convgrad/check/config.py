"""The configuration space a user's convolution claims to support, and hypothesis strategies
over it (shrinking towards the smallest batch, channels, sizes, stride, padding).

The feature ``tiled`` (``--assume-tiling``) is a declared convention, not a capability: the
search keeps its strides but draws only sizes where the windows tile the padded input exactly,
``(n + 2p − d·(k − 1) − 1) mod s = 0`` — what the course assignments state and some code asserts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

FEATURES = ("stride", "padding", "dilation", "groups", "nonsquare", "tiled")
DEFAULT_FEATURES = ("stride", "padding", "nonsquare")


@dataclass(frozen=True)
class CheckConfig:
    """One convolution: x (batch, cin, *size), w (cout, cin/groups, *kernel); scalar stride,
    symmetric padding and dilation on every spatial axis (what hand-written code supports)."""

    batch: int
    cin: int
    cout: int
    size: tuple
    kernel: tuple
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1

    @property
    def out_size(self) -> tuple:
        return tuple((n + 2 * self.padding - self.dilation * (k - 1) - 1) // self.stride + 1
                     for n, k in zip(self.size, self.kernel))

    @property
    def remainders(self) -> tuple:
        return tuple((n + 2 * self.padding - self.dilation * (k - 1) - 1) % self.stride
                     for n, k in zip(self.size, self.kernel))

    @property
    def tiles(self) -> bool:
        """The windows cover the padded input exactly on every axis."""
        return not any(self.remainders)

    @property
    def x_shape(self) -> tuple:
        return (self.batch, self.cin, *self.size)

    @property
    def w_shape(self) -> tuple:
        return (self.cout, self.cin // self.groups, *self.kernel)

    @property
    def out_shape(self) -> tuple:
        return (self.batch, self.cout, *self.out_size)

    @property
    def opts(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    def describe(self) -> str:
        parts = [f"x {self.x_shape}", f"w {self.w_shape}", f"stride {self.stride}",
                 f"padding {self.padding}"]
        if self.dilation != 1:
            parts.append(f"dilation {self.dilation}")
        if self.groups != 1:
            parts.append(f"groups {self.groups}")
        return ", ".join(parts) + f" → out {self.out_shape}"

    def with_size(self, size) -> CheckConfig:
        return replace(self, size=tuple(size))


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
            span = dilation * (k - 1) + 1 - 2 * padding     # the size with one output
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
