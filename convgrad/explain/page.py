r"""The interactive explain page: ``convgrad explain … --format html`` as one offline HTML file.

The page draws, as HTML grids, the padded X, F and O of the forward pass; X, ∂L/∂O and ∂L/∂F of
∂L/∂F = X ⋆ ∂L/∂O; and the spread (zero-inserted, padded) ∂L/∂O, rot180(F) and the full
correlation whose cropped centre is ∂L/∂X. Clicking an element of O, ∂L/∂F or ∂L/∂X (or
focusing it and pressing Enter) marks every element of its chain-rule equation and typesets the
equation in MathML with the numbers of a seeded example; each of the three correlations can be
stepped through, window by window. The form recomputes everything in place.

Why the index arithmetic lives in the page (``page/arith.js``) and not behind a
``convgrad explain --serve``: it is a few loops (O[o,p] = Σ Xpad[c, p·s + j·d]·F[o,c,j] and its
two transposes), while a page that needs no server works wherever a file opens — a double
click, a docs site, a CI artifact — and stays responsive. Its correctness is not taken on
trust: :func:`term_sets` exports the SymPy derivation's terms, the page compares its own
arithmetic with them for the configuration it was generated for and says so at the top, and
tests/test_explain_page.py compares the two in a real browser for many configurations (strides,
padding, dilation, channels and groups, non-square and 1×1 outputs).

DOM contract (for tests, ours and users'; docs/explain-page.md has the full version): every
tensor-element cell carries ``data-tensor`` (``X``, ``F``, ``O``, ``dO``, ``dX``, ``dF``) and
``data-index`` (1-based, comma-separated, in the tensor's own index order as in the text
equations: channel axes only when the text shows them, e.g. ``"2,3"`` or ``"1,2,2,1"``);
cells of zeros (padding, gaps, the cropped border) carry neither. The clicked cell gets the
class ``selected``, every cell of an element in its equation the class ``term`` (in each grid
where that element lives: X in both X panels, F in F and rot180(F), ∂L/∂O in both of its own);
the equation is shown in the element with id ``equation``. Cells are ``role="gridcell"`` with an
``aria-label`` such as ``"∂L/∂X row 2 column 3, value 5"``.

The file is self-contained: the scripts (``page/arith.js``: the arithmetic; ``view.js``: the
grids; ``page.js``: selection, animation, form) and ``page/page.css``, package data, are
inlined; the figures are base64 PNG; and a Content-Security-Policy ``default-src 'none'`` with
hash sources for the one script and the one style block forbids every fetch.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib import resources

import numpy as np

ASSETS = ("arith.js", "view.js", "page.js", "page.css")
_CHANNEL_AXES = {"X": 1, "O": 1, "F": 2}
_BASE = {"X": "X", "dX": "X", "O": "O", "dO": "O", "F": "F", "dF": "F"}
_FIRST = {"O": "X", "dF": "dO", "dX": "dO"}          # the first factor, as in the text


def asset(name: str) -> str:
    """The text of a page asset shipped as package data (``convgrad/explain/page/<name>``)."""
    return resources.files(__package__).joinpath("page", name).read_text(encoding="utf-8")


def term_sets(der) -> dict:
    """The chain-rule terms of every O, ∂L/∂F and ∂L/∂X element, from the SymPy derivation.

    Returns ``{"O": {index: [[tensor, index, tensor, index], …]}, "dF": …, "dX": …}`` with the
    DOM contract's 1-based comma-separated indices; each pair is (X, F) for O, (∂L/∂O, X) for
    ∂L/∂F and (∂L/∂O, F) for ∂L/∂X — the JSON that the page's ``ConvArith.termSets`` computes.

    >>> from convgrad.explain.derive import derive
    >>> term_sets(derive((3, 3), (2, 2)))["dX"]["1,2"]
    [['dO', '1,1', 'F', '1,2'], ['dO', '1,2', 'F', '1,1']]
    """
    import sympy  # noqa: PLC0415

    geo = der.geo
    cin_g = geo.in_channels // geo.groups
    lead = {"X": int(geo.in_channels > 1), "O": int(geo.out_channels > 1),
            "F": 2 * int(geo.out_channels > 1 or cin_g > 1)}

    def index(tensor: str, idx) -> str:
        base = _BASE[tensor]
        return ",".join(str(int(i) + 1) for i in idx[_CHANNEL_AXES[base] - lead[base]:])

    out = {}
    for name, array in (("O", der.O), ("dF", der.grad_weight), ("dX", der.grad_input)):
        entries = {}
        for idx in np.ndindex(*array.shape):
            pairs = []
            for term in sympy.Add.make_args(sympy.expand(array[idx])):
                if term == 0:
                    continue
                coeff, factors = term.as_coeff_mul()
                if coeff != 1 or len(factors) != 2:
                    raise ValueError(f"explain: {name}{idx} has the term {term}, not a product "
                                     f"of two elements")
                a, b = sorted(factors, key=lambda f: der.names[f][0] != _FIRST[name])
                pairs.append([*_element(a, der, index), *_element(b, der, index)])
            entries[index(name, idx)] = sorted(pairs, key=_order)
        out[name] = entries
    return out


def _order(pair: list[str]) -> tuple:
    """Pairs in the text's order: by the first factor's index, then the second's."""
    return tuple(tuple(int(v) for v in pair[i].split(",")) for i in (1, 3))


def _element(symbol, der, index) -> list[str]:
    tensor, idx = der.names[symbol]
    return [tensor, index(tensor, idx)]


def form_values(config: dict, seed: int = 0) -> dict:
    """The report's configuration in the spellings of the CLI options (the page's form)."""
    def size(v) -> str:
        values = list(v) if isinstance(v, (list, tuple)) else [v]
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    padding = config["padding"]
    if isinstance(padding, (list, tuple)) and padding and isinstance(padding[0], (list, tuple)):
        padding = "x".join(f"{lo}:{hi}" for lo, hi in padding)
    elif not isinstance(padding, str):
        padding = size(padding)
    return {"input": "x".join(map(str, config["input"])),
            "kernel": "x".join(map(str, config["kernel"])), "stride": size(config["stride"]),
            "padding": padding, "dilation": size(config["dilation"]),
            "in_channels": str(config["in_channels"]), "out_channels": str(config["out_channels"]),
            "groups": str(config["groups"]), "seed": str(seed)}


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


_FIELDS = [("input", "input", "text"), ("kernel", "kernel", "text"),
           ("stride", "stride", "text"), ("padding", "padding", "text"),
           ("dilation", "dilation", "text"), ("in_channels", "in channels", "number"),
           ("out_channels", "out channels", "number"), ("groups", "groups", "number"),
           ("seed", "seed", "number")]

_LEGEND = [("k-X", "X (input)"), ("k-F", "F (filter)"), ("k-dO", "∂L/∂O (given)"),
           ("k-O", "O, ∂L/∂F, ∂L/∂X: click one"), ("k-pad", "padding zero"),
           ("k-gap", "gap: a zero inserted between ∂L/∂O elements"),
           ("k-O selected", "◆ selected"), ("k-X term", "● in its equation"),
           ("k-X window", "dashed: the window of the current step")]


def to_page(report: dict, static_html: str = "") -> str:
    """The interactive page for ``report`` (from ``report.build``); ``static_html`` (the printed
    derivation and its figures) goes below the interactive part."""
    data = {"form": form_values(report["config"], report.get("_seed", 0)),
            "terms": term_sets(report["_derivation"]), "title": report["title"]}
    script = "\n".join(asset(name) for name in ASSETS if name.endswith(".js"))
    if "</script" in script.lower():
        raise ValueError("explain: a page script contains '</script', which would end it early")
    style = asset("page.css")
    csp = (f"default-src 'none'; script-src {_hash(script)}; style-src {_hash(style)}; "
           f"img-src data:; base-uri 'none'; form-action 'none'")
    fields = "".join(
        f'<label for="cfg-{name}">{text}<input id="cfg-{name}" name="{name}" type="{kind}"'
        + (' min="1" max="4"' if kind == "number" and name != "seed" else
           ' min="0"' if name == "seed" else ' autocomplete="off" spellcheck="false"')
        + "></label>" for name, text, kind in _FIELDS)
    legend = "".join(f'<li><span class="cell {cls}" aria-hidden="true"></span>{html.escape(t)}'
                     f"</li>" for cls, t in _LEGEND)
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    title = html.escape(report["title"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>convgrad explain — {title}</title>
<style>{style}</style></head><body>
<header><h1>convgrad explain — <span id="title">{title}</span></h1>
<p>Every element of O, ∂L/∂F and ∂L/∂X is a sum of products. Click one to see which elements
meet in its sum, or step through each of the three correlations: the backward pass is a
convolution too. The numbers are a seeded example of small integers.</p></header>
<form id="config" aria-label="Configuration" novalidate>{fields}
<button type="submit">Recompute</button>
<p id="config-error" role="alert"></p>
<p class="config-notes"><span id="padding-resolved"></span> · input 5 or 3x3; padding P, PxP,
LO:HI, LO:HIxLO:HI, same, valid or full</p>
<p class="config-notes">the same with SymPy: <code id="command"></code></p></form>
<p id="derivation-check" role="status"></p>
<ul class="legend" aria-label="Legend">{legend}</ul>
<div id="equation-bar"><div id="equation" aria-live="polite"></div></div>
<noscript><p>The interactive part needs JavaScript; the printed derivation is below.</p></noscript>
<main id="sections"></main>
<section id="static" aria-label="The printed derivation">
<h2>The derivation as printed by convgrad explain ({title})</h2>
{static_html}
</section>
<script type="application/json" id="explain-data">{payload}</script>
<script>{script}</script>
</body></html>
"""
