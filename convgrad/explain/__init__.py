"""``convgrad explain``: the derivation of convolution backprop, generated for a configuration.

>>> report = explain()                    # the textbook case: X 3×3, F 2×2, O 2×2
>>> report["grad_input"][1]
'∂L/∂X₁₂ = ∂L/∂O₁₁·F₁₂ + ∂L/∂O₁₂·F₁₁'
>>> report["verified"]
{'symbolic': True, 'numeric': True}

``--format html`` is the interactive page (``page.py``; docs/explain-page.md): grids to click,
each equation in MathML, the three correlations stepped through, all in one offline file.

Needs the ``explain`` extra (sympy; matplotlib for figures): ``pip install "convgrad[explain]"``.
"""

from __future__ import annotations

from .report import DEFAULT_MAX_EQUATIONS, ExplainConfig, TooLargeError, build

__all__ = ["explain", "ExplainConfig", "TooLargeError", "parse_size", "parse_padding",
           "DEFAULT_MAX_EQUATIONS"]


def explain(input=(3, 3), kernel=(2, 2), stride=1, padding=0, dilation=1, in_channels=1,
            out_channels=1, groups=1, values=(-2.0, 5.0, -4.0),
            max_equations: int = DEFAULT_MAX_EQUATIONS, seed: int = 0) -> dict:
    """Derive forward, ∂L/∂F and ∂L/∂X for this configuration (1-d or 2-d, one image) and
    verify them; returns the report dict that ``render`` turns into text/markdown/html/json."""
    _require("sympy")
    config = ExplainConfig(tuple(input), tuple(kernel), stride, padding, dilation, in_channels,
                           out_channels, groups, tuple(values))
    return build(config, max_equations, seed)


def parse_size(text: str, what: str) -> tuple[int, ...]:
    """``'3x3'``, ``'3×3'`` or ``'5'`` → (3, 3) / (5,)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"{what} must look like 5 or 3x3, got {text!r}") from None
    if any(v < 1 for v in values):
        raise ValueError(f"{what} must be positive, got {text!r}")
    return values


def parse_padding(text: str):
    """``'1'``, ``'1x2'`` (per dim), ``'1:0'`` / ``'1:0x0:2'`` (lo:hi per dim), or
    ``'same'``/``'valid'``/``'full'``."""
    if text in ("same", "valid", "full"):
        return text
    dims = text.lower().replace("×", "x").split("x")
    try:
        if any(":" in d for d in dims):
            pairs = tuple(tuple(int(v) for v in d.split(":")) for d in dims)
            if any(len(p) != 2 for p in pairs):
                raise ValueError
            return pairs
        values = tuple(int(d) for d in dims)
    except ValueError:
        raise ValueError(f"--padding must be P, PxP, LO:HI, LO:HIxLO:HI, same, valid or full; "
                         f"got {text!r}") from None
    return values[0] if len(values) == 1 else values


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise ImportError(f'convgrad explain needs {module}: pip install "convgrad[explain]"') \
            from None
