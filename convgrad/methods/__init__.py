"""The Tensor's methods and their top-level twins (``x.exp()`` and ``convgrad.exp(x)``), one
module per kind; importing this package attaches them to ``Tensor``."""

from . import (conversion, counting, elementwise, factory, indexing, info,  # noqa: F401, I001
               inplace_ops, join, layout, linalg, logic, matrix, ordering, pointwise,
               reduction, sampling, shape, transcendental)

MODULES = (elementwise, indexing, inplace_ops, linalg, ordering, reduction, shape, factory,
           sampling, join, pointwise, logic, conversion, transcendental, matrix, counting,
           layout, info)
