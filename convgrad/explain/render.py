"""Render an explanation (the dict from ``report.build``) as text, Markdown, HTML or JSON; HTML is
the interactive page of ``page.py`` with the printed derivation and its figures below it."""

from __future__ import annotations

import base64
import html
import json
import os
import textwrap

import numpy as np

from .notation import grid

SECTIONS = [
    ("forward", "Forward: O = X ⋆ F, element by element (from the definition)"),
    ("local_gradients", "Local gradients: each O element is linear in X and in F"),
    ("grad_weight", "∂L/∂F by the chain rule: ∂L/∂F = Σ ∂L/∂O · ∂O/∂F (sympy.diff)"),
    ("grad_input", "∂L/∂X by the chain rule: ∂L/∂X = Σ ∂L/∂O · ∂O/∂X (sympy.diff)"),
]

FIGURES = [("graph", "The chain rule on f = (x + y)·z"),
           ("sliding_window", "Forward: the window of F sliding over the (padded) input"),
           ("flipped_filter", "F and rot180(F)"),
           ("full_convolution", "∂L/∂X: the full correlation of the spread ∂L/∂O with rot180(F)")]


def to_json(report: dict) -> str:
    return json.dumps({k: v for k, v in report.items() if not k.startswith("_")},
                      ensure_ascii=False, indent=2)


def _grid(rows, title: str) -> str:
    return grid(np.array(rows, dtype=object), title)


def _pattern_blocks(report: dict) -> list[tuple[str, str]]:
    """(heading, text block) pairs for the two patterns."""
    p = report["patterns"]
    crop = ", ".join(f"({lo}, {hi})" for lo, hi in p["crop"])
    full = "×".join(map(str, p["full_size"]))
    note = f" ({p['channel_note']})" if p["channel_note"] else ""
    weight = (f"∂L/∂F = X ⋆ ∂L/∂O: slide ∂L/∂O over the padded X{note} — the taps of ∂L/∂O "
              f"land stride apart, the window moves by the dilation. Every ∂L/∂F element in "
              f"that form (padding zeros shown):")
    inp = (f"∂L/∂X = full correlation of ∂L/∂O with rot180(F){note}: ∂L/∂O with stride − 1 "
           f"zeros between elements, padded by the effective kernel − 1 (+ the remainder "
           f"high), correlated with rot180(F) at stride 1 gives a {full} result — the gradient "
           f"of the padded input — from which the padding {crop} is cropped. Every ∂L/∂X "
           f"element in that form (the zeros are gaps and padding):")
    return [
        ("Pattern 1 — ∂L/∂F is a convolution of X with ∂L/∂O",
         weight + "\n\n" + _grid(p["X_padded"], "X, padded:") + "\n\n"
         + _grid(p["dO"], "∂L/∂O:") + "\n\n" + "\n".join(report["grad_weight_convolution"])),
        ("Pattern 2 — ∂L/∂X is the full convolution of ∂L/∂O with rot180(F)",
         inp + "\n\n" + _grid(p["F"], "F:") + "\n\n" + _grid(p["F_rotated"], "rot180(F):")
         + ("\n\n" + _grid(p["F_rotated_dilated"], "rot180(F) with its taps spread by the "
                                                    "dilation:")
            if p["F_rotated_dilated"] != p["F_rotated"] else "")
         + "\n\n" + _grid(p["dO_spread"], "∂L/∂O spread (gaps) and padded:") + "\n\n"
         + "\n".join(report["grad_input_convolution"])),
    ]


def _verified(report: dict) -> str:
    v, e = report["verified"], report["numeric_errors"]
    n = len(report["grad_weight"]) + len(report["grad_input"])
    mark = {True: "✓", False: "✗ FAILED"}
    return (f"symbolic {mark[v['symbolic']]}: sympy.expand(derived − convolution form) = 0 for "
            f"all {n} gradient elements\n"
            f"numeric  {mark[v['numeric']]}: random X, F, ∂L/∂O through the derived formulas vs "
            f"convgrad's engine — max relative error: forward {e['forward']:.1e}, "
            f"ops.conv_grad_weight {e['grad_weight_ops']:.1e}, ops.conv_grad_input "
            f"{e['grad_input_ops']:.1e}, autograd ∂F {e['grad_weight_autograd']:.1e}, "
            f"autograd ∂X {e['grad_input_autograd']:.1e}")


def _geometry_lines(report: dict) -> list[str]:
    rows = report["geometry"]["axes"]
    lines = []
    for i, a in enumerate(rows):
        where = f"axis {i + 1}: " if len(rows) > 1 else ""
        lines.append(f"{where}n={a['n']}, k={a['k']}, s={a['stride']}, d={a['dilation']}, "
                     f"padding={tuple(a['padding'])}:  {a['formula']}"
                     + (f"  (remainder {a['remainder']})" if a["remainder"] else ""))
    return lines


def to_text(report: dict) -> str:
    out = [f"convgrad explain — {report['title']}", ""]
    chain = report["chain_rule"]
    out += ["1. The chain rule on f = (x + y)·z", "", chain["drawing"], ""]
    out += ["   " + s for s in chain["steps"]] + [""]
    out += ["2. Shapes"] + ["   " + g for g in _geometry_lines(report)] + [""]
    if report["notes"]:
        out += ["   Beyond the textbook case here:"]
        for note in report["notes"]:
            out += textwrap.wrap(note, 96, initial_indent="   • ", subsequent_indent="     ")
        out.append("")
    for number, (key, title) in enumerate(SECTIONS, start=3):
        out += [f"{number}. {title}", ""] + ["   " + line for line in report[key]] + [""]
    for number, (title, block) in enumerate(_pattern_blocks(report), start=3 + len(SECTIONS)):
        head, _, body = block.partition("\n\n")
        out += [f"{number}. {title}", ""] + textwrap.wrap(head, 96, initial_indent="   ",
                                                          subsequent_indent="   ")
        out += [""] + ["   " + line for line in body.split("\n")] + [""]
    out += [f"{3 + len(SECTIONS) + 2}. Verified", ""]
    for line in _verified(report).split("\n"):
        out += textwrap.wrap(line, 96, initial_indent="   ", subsequent_indent="     ")
    return "\n".join(out) + "\n"


def to_markdown(report: dict, figures: dict[str, str] | None = None) -> str:
    """Markdown; ``figures`` maps figure name → relative file name (shown as images)."""
    figures = figures or {}
    chain = report["chain_rule"]
    out = [f"# convgrad explain — {report['title']}", "", "## The chain rule on f = (x + y)·z",
           ""]
    if "graph" in figures:
        out += [f"![{FIGURES[0][1]}]({figures['graph']})", ""]
    out += ["```text", chain["drawing"], "```", ""] + [f"- {s}" for s in chain["steps"]] + [""]
    out += ["## Shapes", ""] + [f"- {g}" for g in _geometry_lines(report)] + [""]
    if report["notes"]:
        out += ["Beyond the textbook case here:", ""] + [f"- {n}" for n in report["notes"]]
        out.append("")
    if "sliding_window" in figures:
        out += [f"![{FIGURES[1][1]}]({figures['sliding_window']})", ""]
    for key, title in SECTIONS:
        out += [f"## {title}", "", "```text"] + report[key] + ["```", ""]
    pictures = {0: [], 1: ["flipped_filter", "full_convolution"]}
    for i, (title, block) in enumerate(_pattern_blocks(report)):
        head, _, body = block.partition("\n\n")
        out += [f"## {title}", "", head, ""]
        out += [f"![{dict(FIGURES)[f]}]({figures[f]})\n" for f in pictures[i] if f in figures]
        out += ["```text", body, "```", ""]
    out += ["## Verified", ""] + [f"- {line}" for line in _verified(report).split("\n")]
    return "\n".join(out) + "\n"


def to_html(report: dict, figure_files: dict[str, str] | None = None) -> str:
    """The interactive page (``page.to_page``) with the printed derivation and its figures,
    embedded as base64 PNG, below it: one self-contained file."""
    from .page import to_page  # noqa: PLC0415

    return to_page(report, static_html(report, figure_files))


def static_html(report: dict, figure_files: dict[str, str] | None = None) -> str:
    """The printed derivation as HTML: the text report's sections and the figures."""
    figure_files = figure_files or {}

    def img(name: str) -> str:
        if name not in figure_files:
            return ""
        with open(figure_files[name], "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
        return (f'<figure><img alt="{html.escape(dict(FIGURES)[name])}" '
                f'src="data:image/png;base64,{data}"><figcaption>'
                f'{html.escape(dict(FIGURES)[name])}</figcaption></figure>')

    def pre(lines) -> str:
        return "<pre>" + html.escape("\n".join(lines)) + "</pre>"

    chain = report["chain_rule"]
    parts = ["<h2>The chain rule on f = (x + y)·z</h2>", img("graph"), pre([chain["drawing"]]),
             "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in chain["steps"]) + "</ul>",
             "<h2>Shapes</h2>", "<ul>" + "".join(f"<li>{html.escape(g)}</li>"
                                                 for g in _geometry_lines(report)) + "</ul>"]
    if report["notes"]:
        parts += ["<p>Beyond the textbook case here:</p><ul>"
                  + "".join(f"<li>{html.escape(n)}</li>" for n in report["notes"]) + "</ul>"]
    parts.append(img("sliding_window"))
    for key, title in SECTIONS:
        parts += [f"<h2>{html.escape(title)}</h2>", pre(report[key])]
    for i, (title, block) in enumerate(_pattern_blocks(report)):
        head, _, body = block.partition("\n\n")
        parts += [f"<h2>{html.escape(title)}</h2>", f"<p>{html.escape(head)}</p>"]
        parts += [img(name) for name in (["flipped_filter", "full_convolution"] if i else [])]
        parts.append(pre(body.split("\n")))
    # a list that wraps, not a <pre> line wider than the page
    parts += ['<h2>Verified</h2><ul class="verified">'
              + "".join(f"<li>{html.escape(line)}</li>" for line in _verified(report).split("\n"))
              + "</ul>"]
    return "\n".join(p for p in parts if p)


def write(report: dict, fmt: str, folder: str) -> list[str]:
    """Write the report (and its figures) into ``folder``; returns the file names written."""
    from .figures import draw_all  # noqa: PLC0415

    os.makedirs(folder, exist_ok=True)
    written = []
    figures = {}
    if fmt in ("markdown", "html", "text"):
        figures = draw_all(report, folder)
        written += [os.path.basename(p) for p in figures.values()]
    name = {"text": "explain.txt", "markdown": "explain.md", "html": "explain.html",
            "json": "explain.json"}[fmt]
    body = {"text": lambda: to_text(report),
            "markdown": lambda: to_markdown(report, {k: os.path.basename(v)
                                                     for k, v in figures.items()}),
            "html": lambda: to_html(report, figures), "json": lambda: to_json(report)}[fmt]()
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        f.write(body)
    return [name] + written
