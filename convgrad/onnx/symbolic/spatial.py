"""Windows over space: padding, pooling (max/avg/lp, ceil_mode, dilation), adaptive pooling,
fold/unfold."""

from __future__ import annotations
