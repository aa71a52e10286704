"""Size and dim arguments read the torch way, for the shape ops (``shape.py``, ``layout.py``):
``*sizes`` or one sequence of them, the one ``-1`` a view or reshape infers, a list of distinct
dims."""

from __future__ import annotations

import math
import operator

from ..semantics import normalize_dim


def _sizes(args: tuple, op: str) -> tuple[int, ...]:
    """``*sizes`` or one tuple/list/Size of them → ints (0-d integer tensors count as ints)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    try:
        return tuple(operator.index(n) for n in args)
    except TypeError:
        raise TypeError(f"{op}(): expected ints (or one tuple of ints) as the shape, got "
                        f"({', '.join(type(n).__name__ for n in args)})") from None


def _infer(sizes: tuple, numel: int, op: str, what: str = "") -> tuple[int, ...]:
    """``sizes`` with its one ``-1`` inferred so that the product is ``numel`` (torch's rule:
    ``(4, -1)`` of 24 elements is ``(4, 6)``)."""
    free = [i for i, n in enumerate(sizes) if n == -1]
    for i, n in enumerate(sizes):
        if n < -1:
            raise RuntimeError(f"{op}: invalid shape dimension {n} at index {i} of shape "
                               f"{list(sizes)}")
    if len(free) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (shape {list(sizes)})")
    known = math.prod(n for n in sizes if n != -1)
    bad = what or f"{op}: shape '{list(sizes)}' is invalid for input of size {numel}"
    if not free:
        if known != numel:
            raise RuntimeError(bad)
        return tuple(sizes)
    if known == 0:
        raise RuntimeError(f"{op}: cannot reshape tensor of 0 elements into shape {list(sizes)} "
                           f"because the unspecified dimension size -1 can be any value and is "
                           f"ambiguous" if numel == 0 else bad)
    if numel % known:
        raise RuntimeError(bad)
    return tuple(numel // known if n == -1 else n for n in sizes)


def _dim_list(dims, ndim: int, op: str) -> tuple[int, ...]:
    """One dim or a sequence of distinct dims → their indices (a repeat is torch's
    RuntimeError)."""
    many = isinstance(dims, (tuple, list))
    out = tuple(normalize_dim(d, ndim, op) for d in (dims if many else (dims,)))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {out[0]} appears multiple times in the list of dims "
                           f"{list(dims)}")
    return out
