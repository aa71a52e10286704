"""Differentiable functions on Tensors (or ndarrays), torch.nn.functional's names:
``import convgrad.nn.functional as F`` (or, the older name, ``convgrad.functional``).

One module per family; each lists its functions in ``__all__``.
"""

from . import (activations, adaptive, basic, convolution, distance, folding,  # noqa: I001
               grid, losses, losses_more, normalization, normalization_more, pooling, resample)
from .activations import *  # noqa: F403
from .adaptive import *  # noqa: F403
from .basic import *  # noqa: F403
from .convolution import *  # noqa: F403
from .distance import *  # noqa: F403
from .folding import *  # noqa: F403
from .grid import *  # noqa: F403
from .losses import *  # noqa: F403
from .losses_more import *  # noqa: F403
from .normalization import *  # noqa: F403
from .normalization_more import *  # noqa: F403
from .pooling import *  # noqa: F403
from .resample import *  # noqa: F403

FAMILIES = (activations, adaptive, basic, convolution, distance, folding, grid, losses, losses_more,
            normalization, normalization_more, pooling, resample)
__all__ = [name for family in FAMILIES for name in family.__all__]
