"""Figures of the derivation (matplotlib): one colour per tensor throughout — X blue, F orange,
∂L/∂O green, zeros grey (padding) or white (inserted gaps)."""

from __future__ import annotations

import io
import os

import numpy as np

COLOURS = {"X": "#D6E4F0", "F": "#FDE3C8", "dO": "#D9EFD5", "pad": "#E6E6E6", "gap": "#FFFFFF",
           "crop": "#E6E6E6"}
EDGES = {"X": "#4C78A8", "F": "#F58518", "dO": "#54A24B"}


def _pyplot():
    try:
        import matplotlib  # noqa: PLC0415
    except ImportError:
        raise ImportError('convgrad explain draws with matplotlib: pip install '
                          '"convgrad[explain]"') from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    return plt


def _as2d(rows) -> np.ndarray:
    a = np.array(rows, dtype=object)
    return a.reshape(1, -1) if a.ndim == 1 else a


def _cells(ax, labels: np.ndarray, kinds: np.ndarray, origin=(0.0, 0.0), title: str = "",
           fontsize: float = 10) -> None:
    """Draw a grid of labelled cells; ``kinds`` picks each cell's colour."""
    from matplotlib.patches import Rectangle  # noqa: PLC0415

    x0, y0 = origin
    rows, cols = labels.shape
    for r in range(rows):
        for c in range(cols):
            kind = kinds[r, c]
            hatch = "///" if kind == "crop" else None
            ax.add_patch(Rectangle((x0 + c, y0 - r - 1), 1, 1, facecolor=COLOURS[kind],
                                   edgecolor="#999999", linewidth=0.8, hatch=hatch))
            ax.text(x0 + c + 0.5, y0 - r - 0.5, labels[r, c], ha="center", va="center",
                    fontsize=fontsize, color="#333333" if labels[r, c] != "0" else "#888888")
    if title:
        ax.text(x0 + cols / 2, y0 + 0.35, title, ha="center", va="bottom", fontsize=11,
                fontweight="bold")


def _outline(ax, cells, origin, colour, style="-", width=2.5) -> None:
    from matplotlib.patches import Rectangle  # noqa: PLC0415

    x0, y0 = origin
    for r, c in cells:
        ax.add_patch(Rectangle((x0 + c + 0.06, y0 - r - 0.94), 0.88, 0.88, fill=False,
                               edgecolor=colour, linewidth=width, linestyle=style))


def _finish(plt, fig, ax, path: str) -> str:
    ax.set_aspect("equal")
    ax.axis("off")
    ax.autoscale_view()
    ax.margins(0.04)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    _save_palette_png(buffer, path)
    return path


def _save_palette_png(buffer: io.BytesIO, path: str, colours: int = 64) -> None:
    """Flat-coloured figures as a 64-colour palette PNG: the same picture, a quarter of the
    bytes (the HTML page embeds them)."""
    from PIL import Image  # noqa: PLC0415  (matplotlib's own dependency)

    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(
            path, format="PNG", optimize=True)


def _font(cells_across: int) -> float:
    return max(6.0, min(12.0, 140.0 / max(cells_across, 1)))


def next_output(out_shape) -> tuple[int, int] | None:
    """The output the dashed window belongs to: along the row, else down the column; None for a
    1×1 output (nothing to point at)."""
    rows, cols = out_shape
    return (0, 1) if cols > 1 else (1, 0) if rows > 1 else None


def window_caption(first: str, out_shape, stride, dilation) -> str:
    """The sliding-window figure's caption; the dashed window is named only when drawn."""
    spacing = (lambda v: str(v[-1])) if len(stride) == 1 else (lambda v: f"({v[0]}, {v[1]})")
    if next_output(out_shape) is None:
        return (f"window of F for {first}, the only output: taps {spacing(dilation)} apart "
                f"(F fits once)")
    return (f"window of F for {first} (solid) and the next output (dashed): taps "
            f"{spacing(dilation)} apart, windows {spacing(stride)} apart")


def sliding_window(report: dict, path: str) -> str:
    plt = _pyplot()
    p, axes = report["patterns"], report["geometry"]["axes"]
    xpad = _as2d(p["X_padded"])
    kinds = np.where(xpad == "0", "pad", "X")
    out_labels = _as2d(report_output_labels(report))
    width = xpad.shape[1] + out_labels.shape[1] + 3
    fig, ax = plt.subplots(figsize=(min(1.0 * width, 18), 1.0 * max(xpad.shape[0], 2) + 1))
    font = _font(width)
    padded = any(lo or hi for lo, hi in p["crop"])
    _cells(ax, xpad, kinds, (0, 0), "X, padded (grey: padding)" if padded else "X", font)
    k = [a["k"] for a in axes]
    s = [a["stride"] for a in axes]
    d = [a["dilation"] for a in axes]
    if len(k) == 1:
        k, s, d = [1] + k, [1] + s, [1] + d
    first = [(i * d[0], j * d[1]) for i in range(k[0]) for j in range(k[1])]
    _outline(ax, first, (0, 0), EDGES["F"])
    right = xpad.shape[1] + 2
    _cells(ax, out_labels, np.full(out_labels.shape, "dO"), (right, 0), "O = X ⋆ F", font)
    _outline(ax, [(0, 0)], (right, 0), EDGES["F"])
    step = next_output(out_labels.shape)
    if step is not None:
        second = [(r + step[0] * s[0], c + step[1] * s[1]) for r, c in first]
        _outline(ax, second, (0, 0), EDGES["F"], style="--", width=1.5)
        _outline(ax, [step], (right, 0), EDGES["F"], style="--", width=1.5)
    ax.annotate("", xy=(right - 0.2, -0.5), xytext=(xpad.shape[1] + 0.2, -0.5),
                arrowprops=dict(arrowstyle="->", color="#555555"))
    ax.text(0, -xpad.shape[0] - 0.6, window_caption(out_labels[0, 0], out_labels.shape,
                                                    s[-len(axes):], d[-len(axes):]),
            fontsize=9, va="top")
    return _finish(plt, fig, ax, path)


def report_output_labels(report: dict):
    """O's element labels (channel 1) in the report's notation, from the forward equations."""
    shape = [a["output"] for a in report["geometry"]["axes"]]
    count = int(np.prod(shape))
    labels = [line.split(" = ")[0] for line in report["forward"][:count]]
    return np.array(labels, dtype=object).reshape(shape)


def flipped_filter(report: dict, path: str) -> str:
    plt = _pyplot()
    p = report["patterns"]
    f, rot, spread = (_as2d(p[k]) for k in ("F", "F_rotated", "F_rotated_dilated"))
    panels = [(f, "F"), (rot, "rot180(F)")]
    if spread.shape != rot.shape:
        panels.append((spread, "rot180(F), taps spread by the dilation"))
    width = sum(a.shape[1] for a, _ in panels) + 2 * len(panels)
    fig, ax = plt.subplots(figsize=(min(1.1 * width, 18), 1.1 * max(spread.shape[0], 2) + 1))
    x = 0
    for i, (labels, title) in enumerate(panels):
        kinds = np.where(labels == "0", "gap", "F")
        _cells(ax, labels, kinds, (x, 0), title, _font(width))
        if i:
            ax.annotate("", xy=(x - 0.2, -0.5), xytext=(x - 1.8, -0.5),
                        arrowprops=dict(arrowstyle="->", color="#555555"))
            ax.text(x - 1.0, -0.3, "rotate 180°" if i == 1 else "spread", ha="center",
                    fontsize=8)
        x += labels.shape[1] + 2
    return _finish(plt, fig, ax, path)


def full_convolution(report: dict, path: str) -> str:
    plt = _pyplot()
    p, axes = report["patterns"], report["geometry"]["axes"]
    spread = _as2d(p["dO_spread"])
    kinds = np.full(spread.shape, "pad", dtype=object)
    kinds[spread != "0"] = "dO"
    core = []                                   # where ∂L/∂O sits before padding: gaps inside
    for a in axes:
        e = a["effective_kernel"]
        core.append(slice(e - 1, e - 1 + (a["output"] - 1) * a["stride"] + 1))
    if len(core) == 1:
        core = [slice(0, 1)] + core
    inner = kinds[tuple(core)]
    inner[(spread[tuple(core)] == "0")] = "gap"
    rot = _as2d(p["F_rotated"])
    d = [a["dilation"] for a in axes]
    d = [1] + d if len(d) == 1 else d
    full = p["full_size"]
    full = [1] + full if len(full) == 1 else full
    crop = [list(c) for c in p["crop"]]
    crop = [[0, 0]] + crop if len(crop) == 1 else crop
    result = np.empty(full, dtype=object)
    result_kind = np.full(full, "crop", dtype=object)
    grads = [line.split(" = ")[0] for line in report["grad_input"]]
    in_shape = [a["n"] for a in axes]
    in_shape = [1] + in_shape if len(in_shape) == 1 else in_shape
    result[:] = ""
    labels = np.array(grads[: int(np.prod(in_shape))], dtype=object).reshape(in_shape)
    window = (slice(crop[0][0], crop[0][0] + in_shape[0]), slice(crop[1][0],
                                                                  crop[1][0] + in_shape[1]))
    result[window] = labels
    result_kind[window] = "X"
    width = spread.shape[1] + full[1] + 3
    fig, ax = plt.subplots(figsize=(min(1.0 * width, 18), 1.0 * max(spread.shape[0], 2) + 1.2))
    font = _font(width)
    _cells(ax, spread, kinds, (0, 0), spread_title(kinds), font)
    taps = [(i * d[0], j * d[1]) for i in range(rot.shape[0]) for j in range(rot.shape[1])]
    _outline(ax, taps, (0, 0), EDGES["F"])
    for (r, c), label in zip(taps, rot.flat):
        ax.text(c + 0.92, -r - 0.1, label, ha="right", va="top", fontsize=font * 0.7,
                color=EDGES["F"])
    right = spread.shape[1] + 2
    _cells(ax, result, result_kind, (right, 0), "∂L/∂X (hatched: padding, cropped)"
           if (result_kind == "crop").any() else "∂L/∂X", font)
    _outline(ax, [(0, 0)], (right, 0), EDGES["F"])
    ax.annotate("", xy=(right - 0.2, -0.5), xytext=(spread.shape[1] + 0.2, -0.5),
                arrowprops=dict(arrowstyle="->", color="#555555"))
    ax.text(0, -spread.shape[0] - 0.6, "rot180(F) (orange, its entries in the corners) slides "
            "over the spread ∂L/∂O at stride 1; the first window gives the top-left cell",
            fontsize=9, va="top")
    return _finish(plt, fig, ax, path)


def spread_title(kinds: np.ndarray) -> str:
    """Name only the kinds of zeros the spread ∂L/∂O has: gaps (stride > 1), padding (k > 1)."""
    present = [text for kind, text in (("gap", "gaps (white)"), ("pad", "padding (grey)"))
               if (kinds == kind).any()]
    return "∂L/∂O" + (": " + ", ".join(present) if present else "")


def graph(report: dict, path: str) -> str:
    plt = _pyplot()
    chain = report["chain_rule"]
    v, g = chain["values"], chain["grads"]
    fig, ax = plt.subplots(figsize=(8, 4.4))
    nodes = {"x": (0, 2.6), "y": (0, 1.0), "z": (0, -0.4), "+": (2.2, 1.8), "×": (4.4, 0.7),
             "f": (6.2, 0.7)}
    edges = [("x", "+", v["x"], g["x"]), ("y", "+", v["y"], g["y"]),
             ("+", "×", v["q"], g["q"]), ("z", "×", v["z"], g["z"]), ("×", "f", v["f"], 1.0)]
    for a, b, value, grad in edges:
        (x0, y0), (x1, y1) = nodes[a], nodes[b]
        ax.annotate("", xy=(x1 - 0.3, y1), xytext=(x0 + 0.3, y0),
                    arrowprops=dict(arrowstyle="->", color="#555555", lw=1.4))
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        ax.text(mx, my + 0.13, f"{value:g}", ha="center", color="#222222", fontsize=11)
        ax.text(mx, my - 0.2, f"{grad:g}", ha="center", color="#C0392B", fontsize=11)
    for name, (x, y) in nodes.items():
        colour = "#D9EFD5" if name in "+×" else "#D6E4F0"
        ax.add_patch(plt.Circle((x, y), 0.3, facecolor=colour, edgecolor="#666666"))
        ax.text(x, y, name, ha="center", va="center", fontsize=13)
    ax.text(0, -1.15, "black: forward values   red: gradients ∂f/∂· (backward)", fontsize=10)
    ax.set_xlim(-0.6, 6.8)
    ax.set_ylim(-1.4, 3.1)
    return _finish(plt, fig, ax, path)


def draw_all(report: dict, folder: str) -> dict[str, str]:
    """All four figures as PNG files in ``folder``; returns name → path."""
    return {name: fn(report, os.path.join(folder, f"{name}.png")) for name, fn in
            (("graph", graph), ("sliding_window", sliding_window),
             ("flipped_filter", flipped_filter), ("full_convolution", full_convolution))}
