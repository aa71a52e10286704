"""Translations of traced ops into ONNX nodes, one family a module, all in one registry.

A translation is ``fn(g, node)``: ``g`` the ``Builder``, ``node`` the ``Traced`` op; it emits
nodes whose final outputs carry the names of ``node.outputs``. ``register(kind, ...)`` files
it under the op kinds it translates; a kind with no translation is refused by the exporter,
which lists every such kind of the traced forward pass at once.
"""

from __future__ import annotations

from typing import Callable

TRANSLATIONS: dict[str, Callable] = {}


class UnsupportedUse(Exception):  # noqa: N818  (caught inside the exporter only)
    """Raised by a translation for a use of its op that ONNX (or the exporter) cannot express;
    the message says which."""


def register(*kinds: str) -> Callable[[Callable], Callable]:
    def decorate(fn: Callable) -> Callable:
        for kind in kinds:
            if kind in TRANSLATIONS:
                raise RuntimeError(f"onnx: two translations for {kind!r}")
            TRANSLATIONS[kind] = fn
        return fn
    return decorate


def _load_families() -> None:
    import importlib  # noqa: PLC0415

    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")


FAMILIES = ("elementwise", "shape", "conv", "spatial", "activation", "normalization",
            "reduction", "sampling")
_load_families()
