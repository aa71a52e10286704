"""A check's report as text, and the expected / got / difference figure of a failure."""

from __future__ import annotations

import numpy as np

from .capture import summary
from .runner import Report

TILING_HINT = ("if your code assumes the windows tile the input exactly (as the assignment "
               "states), declare it: --assume-tiling")
SMALL = 30                      # arrays of at most this many elements are printed


def render_text(report: Report, show_output: bool = False) -> str:
    """The report as text; ``show_output``: the first lines the checked code printed."""
    what = "forward" if report.kind == "forward" else "backward (dx, dw, db)"
    head = (f"convgrad check: {report.name} — {what}, {report.style} style, "
            f"{report.layout.upper()}, {report.dims}-d, features: "
            f"{', '.join(report.features) or 'none'}")
    lines = [head, *(f"  warning: {w}" for w in report.warnings), *_cache_lines(report)]
    lines += _verdict(report) + [f"  note: {n}" for n in report.notes]
    lines += summary(report.output, "  your function", show_output)
    return "\n".join(lines) + "\n"


def _cache_lines(report: Report) -> list[str]:
    if report.cache is None:
        return []
    forward = report.forward_name or "its forward"
    verdict = ""
    if report.forward_report is not None:
        verdict = (f"; {forward} itself " + ("passed" if report.forward_report.passed else
                                            "FAILED (see its report)"))
    if report.cache == "documented":
        return [f"  cache: {forward}'s has the documented form (x, w, b, conv_param), so each "
                f"check builds it from the correct pieces: this verdict is the backward's "
                f"own{verdict}"]
    return [f"  cache: {forward}'s (not the documented (x, w, b, conv_param)); where {forward} "
            f"fails, the backward cannot be judged{verdict}"]


def _verdict(report: Report) -> list[str]:
    if report.passed:
        return [f"passed: {report.configurations} configurations, max relative error "
                f"{report.max_error:.1e}"]
    f = report.failure
    lines = [f"FAILED after {report.configurations} configurations"]
    if f.kind == "hang":
        return lines + [f"  {f.message}", f"  at {f.config.describe()}"]
    if f.kind == "forward":
        lines[0] = (f"NOT CHECKED after {report.configurations} configurations: its forward "
                    f"{report.forward_name or ''} failed".replace("  ", " "))
    lines.append(f"  minimal failing configuration: {f.config.describe()}")
    if f.forward_wrong:
        lines.append(f"  note: {report.forward_name or 'its forward'}, which made the cache, "
                     f"returns a wrong output here too — the cache it made may be the cause")
    if f.kind == "values":
        lines.append(f"  {f.tensor} is wrong: first mismatch at {f.tensor}{list(f.index)}: "
                     f"expected {f.expected_value:.6g}, got {f.got_value:.6g} (max relative "
                     f"error {f.error:.2g})")
    else:
        lines.append(f"  {f.message}")
    if f.equation:
        lines.append(f"  expected: {f.equation}")
    if f.diagnosis:
        lines.append(f"  diagnosis: {f.diagnosis}")
        if _remainder(f) and "tiled" not in report.features \
                and "--assume-tiling" not in f.diagnosis:
            lines.append(f"  {TILING_HINT}")
    return lines + _arrays(report, f)


def _remainder(f) -> bool:
    """The diagnosis came from the remainder variant (or, not said, reads like it)."""
    if f.variant is not None:
        return f.variant == "remainder"
    return any(f.config.remainders) and ("mod s" in f.diagnosis or "tile" in f.diagnosis)


def _arrays(report: Report, f) -> list[str]:
    """The failing configuration's arrays, those small enough to read."""
    shown = []
    inputs = f.inputs or {}
    names = ("x", "w", "b") + (("dout",) if report.kind == "backward" else ())
    for name in names:
        if name in inputs:
            shown.append((name, inputs[name]))
    if f.tensor and f.expected is not None:
        shown.append((f"expected {f.tensor}", f.expected))
    if f.tensor and f.got is not None:
        shown.append((f"got {f.tensor}", f.got))
    small = [(n, a) for n, a in shown if 0 < a.size <= SMALL]
    if not small:
        return []
    where = " (NCHW / OIHW)" if report.layout != "nchw" else ""
    lines = [f"  arrays of the failing configuration{where}:"]
    for name, a in small:
        text = np.array2string(np.asarray(a, dtype=float), precision=4, suppress_small=True,
                               separator=", ", max_line_width=88)
        label = f"{name} {a.shape} = "
        rows = [row for row in text.splitlines() if row.strip()]
        lines.append(f"    {label}" + ("\n" + " " * (4 + len(label))).join(rows))
    return lines


def save_figure(report: Report, path: str) -> bool:
    """Heat maps of expected, got and their difference for the failing tensor (one 2-d slice);
    False when there is nothing to draw (no failure with values)."""
    f = report.failure
    if f is None or f.expected is None or f.got is None or f.expected.shape != f.got.shape:
        return False
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    lead = f.index[:2] if f.index is not None else (0, 0)
    if f.expected.ndim == 1:
        pick = lambda a: a[None, :]                      # noqa: E731  db
    else:
        pick = lambda a: _two_d(a[lead])                 # noqa: E731
    panels = [("expected (convgrad)", pick(f.expected)), ("got", pick(f.got)),
              ("got − expected", pick(f.got) - pick(f.expected))]
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), constrained_layout=True)
    for ax, (title, data) in zip(axes, panels):
        limit = float(np.max(np.abs(data))) or 1.0
        image = ax.imshow(data, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_xticks(range(data.shape[1]))
        ax.set_yticks(range(data.shape[0]))
        if data.size <= 100:
            for (r, c), v in np.ndenumerate(data):
                ax.text(c, r, f"{v:.3g}", ha="center", va="center", fontsize=8)
    where = f"{f.tensor}[{', '.join(map(str, lead))}]" if f.expected.ndim > 1 else f.tensor
    fig.suptitle(f"{report.name}: {where} at {f.config.describe()}")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _two_d(a: np.ndarray) -> np.ndarray:
    while a.ndim > 2:
        a = a[0]
    return a.reshape(1, -1) if a.ndim == 1 else a
