"""The Tensor's methods and their top-level twins (``x.exp()`` and ``convgrad.exp(x)``), one
module per kind.

Importing a module here only defines functions; nothing touches ``Tensor``. Each module that
has Tensor methods lists them in its ``attach()``, and ``attach_all()`` — called once, at the
end of this file (``convgrad`` imports this package before anything else) — calls those in the
fixed order ``ATTACH_ORDER`` (the order in which the modules once attached themselves, each at
its own import). The order matters in two places: where two modules set one name the later
wins (``logic``'s ``__eq__``, ``__ne__``, ``expm1``, ``log1p`` replace ``elementwise``'s), and
``transcendental`` aliases in-place methods that ``inplace_ops`` set (``absolute_ = abs_``,
``multiply_ = mul_`` …). ``MODULES``: the modules whose ``__all__`` become convgrad's
top-level names (later ones win a shared name).
"""

from . import (conversion, counting, elementwise, factory, gather, indexing, info,  # noqa: I001
               info_tensor, inplace_ops, join, layout, layout_facts, linalg, logic, matrix,
               ordering, pointwise, random_fills, reduction, sampling, shape, statistics,
               transcendental)

MODULES = (elementwise, indexing, gather, inplace_ops, linalg, ordering, reduction, shape,
           factory, sampling, join, pointwise, logic, conversion, transcendental, matrix,
           counting, statistics, layout, info)

ATTACH_ORDER = (conversion, shape, reduction, ordering, elementwise, indexing, gather, join,
                pointwise, statistics, counting, factory, info_tensor, linalg, logic, matrix,
                inplace_ops, layout, layout_facts, sampling, random_fills, transcendental)


def attach_all() -> None:
    """Give ``Tensor`` its methods: each module's ``attach()``, in ``ATTACH_ORDER``."""
    for module in ATTACH_ORDER:
        module.attach()


attach_all()
