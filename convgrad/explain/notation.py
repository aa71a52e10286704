"""Readable index notation for the derivation's symbols and sums (1-based, like the textbook).

Single-channel tensors read like the textbook, ``X₁₂``, ``F₂₁``, ``∂L/∂O₁₁``; once channels or
two-digit indices appear, the indices go in brackets, channels first: ``X[2,1,3]``,
``F[o,c,i,j]``.
"""

from __future__ import annotations

import numpy as np

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
DISPLAY = {"X": "X", "F": "F", "dO": "∂L/∂O", "O": "O", "dX": "∂L/∂X", "dF": "∂L/∂F"}
ORDER = {"dO": 0, "X": 1, "F": 2}


class Notation:
    """Turns (tensor, index) pairs and sympy sums into strings for one configuration."""

    def __init__(self, names: dict, lead: dict[str, int], max_index: int):
        self.names = names            # sympy symbol → (tensor, 0-based index tuple)
        self.lead = lead              # tensor → how many leading channel axes to show (0, 1, 2)
        self.compact = max_index < 10 and not any(lead.values())

    def label(self, tensor: str, idx) -> str:
        """``X₁₂`` / ``X[1,1,2]`` for 0-based ``idx`` (channel axes dropped when trivial)."""
        shown = tuple(int(i) + 1 for i in idx)
        drop = {"X": 1, "dX": 1, "O": 1, "dO": 1, "F": 2, "dF": 2}[tensor] - self.lead.get(
            _base(tensor), 0)
        shown = shown[drop:]
        if self.compact:
            return DISPLAY[tensor] + "".join(str(i) for i in shown).translate(SUBSCRIPTS)
        return f"{DISPLAY[tensor]}[{','.join(map(str, shown))}]"

    def symbol(self, sym) -> str:
        tensor, idx = self.names[sym]
        return self.label(tensor, idx)

    def product(self, factors) -> str:
        """``∂L/∂O₁₁·X₁₁`` — ∂L/∂O first, then X, then F; a literal 0 for zero factors."""
        parts = sorted(factors, key=lambda f: ORDER.get(self.names.get(f, ("", ()))[0], 3)
                       if not _is_zero(f) else 3)
        return "·".join("0" if _is_zero(f) else self.symbol(f) for f in parts)

    def sum(self, expr) -> str:
        """A sum of products, ordered by the ∂L/∂O (or F) index it contains; ``0`` if empty."""
        import sympy  # noqa: PLC0415

        terms = sympy.Add.make_args(sympy.expand(expr))
        if expr == 0:
            return "0"
        pieces = []
        for term in sorted(terms, key=self._sort_key):
            coeff, factors = term.as_coeff_mul()
            text = self.product(factors)
            pieces.append(text if coeff == 1 else f"{coeff}·{text}")
        return " + ".join(pieces)

    def terms(self, pairs) -> str:
        """Explicit products in the given factor order, zeros kept (a window of a
        correlation: the zeros are padding or inserted gaps)."""
        return " + ".join("·".join("0" if _is_zero(f) else self.symbol(f) for f in pair)
                          for pair in pairs) or "0"

    def _sort_key(self, term):
        _, factors = term.as_coeff_mul()
        keys = sorted((ORDER.get(self.names[f][0], 3), self.names[f][1]) for f in factors
                      if f in self.names)
        return keys


def _base(tensor: str) -> str:
    return {"dX": "X", "dF": "F", "O": "O", "dO": "O"}.get(tensor, tensor)


def _is_zero(value) -> bool:
    return not hasattr(value, "name") and value == 0


def grid(labels: np.ndarray, title: str = "") -> str:
    """A 1-d or 2-d array of strings as an aligned text block."""
    rows = labels.reshape(1, -1) if labels.ndim == 1 else labels
    width = max(len(str(v)) for v in rows.flat)
    lines = ["  ".join(str(v).rjust(width) for v in row) for row in rows]
    return (title + "\n" if title else "") + "\n".join("  " + line for line in lines)
