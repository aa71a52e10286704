"""``convgrad.ops.jit`` is ``convgrad.engine.kernels.jit`` (moved there with the engine). The old
name stays the same module object, so ``from convgrad.ops import jit`` and patching its
attributes keep working."""

import sys

from ..engine.kernels import jit as _module

sys.modules[__name__] = _module
