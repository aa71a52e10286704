"""torch.nn.functional's names: ``import convgrad.nn.functional as F``.

The functions live in ``convgrad.functional`` (the package's older name, kept); this module *is*
that one (``convgrad.nn.functional is convgrad.functional``), so there is one set of functions.
"""

import sys

from .. import functional as _functional

sys.modules[__name__] = _functional
