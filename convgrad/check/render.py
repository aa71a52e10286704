"""A check's report as text, and the expected / got / difference figure of a failure."""

from __future__ import annotations

import numpy as np

from .runner import Report


def render_text(report: Report) -> str:
    what = "forward" if report.kind == "forward" else "backward (dx, dw, db)"
    head = (f"convgrad check: {report.name} — {what}, {report.style} style, "
            f"{report.layout.upper()}, {report.dims}-d, features: "
            f"{', '.join(report.features) or 'none'}")
    if report.passed:
        return (f"{head}\npassed: {report.configurations} configurations, max relative error "
                f"{report.max_error:.1e}\n")
    f = report.failure
    lines = [head, f"FAILED after {report.configurations} configurations"]
    if f.kind == "hang":
        lines.append(f"  {f.message}\n  at {f.config.describe()}")
        return "\n".join(lines) + "\n"
    lines.append(f"  minimal failing configuration: {f.config.describe()}")
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
    return "\n".join(lines) + "\n"


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
