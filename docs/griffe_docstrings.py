"""Griffe extension (mkdocs.yml, mkdocstrings ``extensions``): docstrings as the site shows them.

The API reference is collected by importing convgrad (``force_inspection``): several layers and
functions are made in loops (``Conv1d``…``Conv3d``, the pooling functions), which reading the
source alone would miss. Two things need mending for that:

1. Inspection gives a constant the docstring of its type: ``ndim = 1`` would be documented with
   ``int``'s docstring. ``DropBuiltinDocstrings`` drops such docstrings (the attribute then has
   none, and is not shown).
2. convgrad's docstrings carry doctests in their prose (``>>> conv(x, w).shape``), not in an
   ``Examples`` section. Markdown would read ``>>>`` as three nested block quotes and
   ``report["grad_input"][1]`` as a reference link, a cross-reference that strict mode
   refuses. ``FenceDoctests`` fences every run of ``>>>`` lines (with their ``...``
   continuations and the expected output, up to the next blank line) as a ``pycon`` code
   block before the docstring is parsed. The docstrings stay plain doctests (pytest
   ``--doctest-modules`` runs them), and the site shows them as code.
"""

from __future__ import annotations

import inspect

from griffe import Extension


def fence_doctests(text: str) -> str:
    """``text`` with each doctest run (``>>>`` to the next blank line) in a pycon fence."""
    lines, out, inside, fenced = inspect.cleandoc(text).splitlines(), [], False, False
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith("```"):
            fenced = not fenced
        if not fenced and not inside and stripped.startswith(">>>"):
            indent = line[:len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
            inside = True
        elif inside and not stripped:
            out.append(f"{indent}```")
            inside = False
        out.append(line)
    if inside:
        out.append(f"{indent}```")
    return "\n".join(out)


class DropBuiltinDocstrings(Extension):
    """An attribute whose docstring is its value's type's (``int``, ``tuple``…) has none."""

    def on_attribute_instance(self, *, node, attr, **kwargs) -> None:
        value = getattr(node, "obj", None)
        if attr.docstring is not None and value is not None:
            if inspect.getdoc(type(value)) == attr.docstring.value:
                attr.docstring = None


class FenceDoctests(Extension):
    """Fence the doctests of every docstring once the object tree is built."""

    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
