"""``convgrad.ops.parallel`` is ``convgrad.engine.runtime.pool`` (moved there with the
engine). The old name stays the same module object, so ``from convgrad.ops import
parallel`` and patching its attributes keep working."""

import sys

from ..engine.runtime import pool as _module

sys.modules[__name__] = _module
