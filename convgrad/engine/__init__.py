"""The convolution engine behind ``convgrad.ops``: how the fast algorithms are chosen and
configured.

``settings``   every switch of the engine, one context-local value (``settings.py``)
``tuning``     every threshold and cost constant, with where it was measured (``tuning.py``)
``problem``    one correlation as a frozen value of shapes (``problem.py``)
``registry``   the ``Algorithm`` protocol; ``algorithms/`` one module per algorithm
``rule``       the measured method rule; ``plan`` the plan of a problem and why
``runtime``    the workspace buffers and the padded copy the algorithms share
``execute``    a convolution call's batch parts: how many, on which cores, gathered how

(``plan``, ``registry`` and ``algorithms`` import ``convgrad.ops``; import them as modules.)
"""

from .settings import Settings, current, defaults, set_defaults, settings
from .tuning import Tuning, tuned

__all__ = ["Settings", "current", "defaults", "set_defaults", "settings", "Tuning", "tuned"]
