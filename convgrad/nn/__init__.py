"""Layers with PyTorch's names, arguments and state-dict layout: ``import convgrad.nn as nn``.

One module per family, as torch's ``torch/nn/modules/``; each lists its layers in ``__all__``.
``nn.functional`` is ``convgrad.functional``.
"""

from . import (activation, container, dropout, folding, functional, init, linear,  # noqa: I001
               loss,
               normalization, normalization_more, padding, parallel, pixelshuffle, pooling,
               sparse, upsampling, utils)
from .activation import *  # noqa: F403
from .container import *  # noqa: F403
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .dropout import *  # noqa: F403
from .folding import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import Module, Parameter
from .parallel import DataParallel
from .normalization import *  # noqa: F403
from .normalization_more import *  # noqa: F403
from .padding import *  # noqa: F403
from .pixelshuffle import *  # noqa: F403
from .pooling import *  # noqa: F403
from .sparse import *  # noqa: F403
from .upsampling import *  # noqa: F403

FAMILIES = (activation, container, dropout, folding, linear, loss, normalization,
            normalization_more, padding, pixelshuffle, pooling, sparse, upsampling)
__all__ = ["functional", "init", "utils", "parallel", "DataParallel", "Module", "Parameter",
           "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           *(name for family in FAMILIES for name in family.__all__)]
