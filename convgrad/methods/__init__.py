"""The Tensor's methods and their top-level twins (``x.exp()`` and ``convgrad.exp(x)``), one
module per kind; importing this package attaches them to ``Tensor``."""

from . import elementwise, indexing, inplace_ops, linalg, ordering, reduction, shape  # noqa: F401

MODULES = (elementwise, indexing, inplace_ops, linalg, ordering, reduction, shape)
