"""``convgrad.ops.blas`` is ``convgrad.engine.kernels.blas`` (moved there with the engine). The old
name stays the same module object, so ``from convgrad.ops import blas`` and patching its
attributes keep working."""

import sys

from ..engine.kernels import blas as _module

sys.modules[__name__] = _module
