"""``Parameter`` (torch.nn.parameter's): the Tensor that a ``Module`` registers as trainable."""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..semantics import get_default_dtype

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad=True``); shares memory
    with ``data``."""

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.zeros(0, dtype=get_default_dtype())
        super().__init__(data.array if isinstance(data, Tensor) else data,   # shares memory
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        from ..autograd.printing import parameter_repr  # noqa: PLC0415
        return parameter_repr(self)
