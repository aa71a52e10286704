"""Name the bug behind a failure when its pattern matches a known class of mistakes."""

from __future__ import annotations

import numpy as np

from .. import ops
from .runner import Checker, Failure, variants

VARIANT_HINTS = {
    "stride": "wrong only when stride > 1 (right with stride 1): an index in the loops probably "
              "misses a ·stride (e.g. x[i + a] where x[i·stride + a] is meant)",
    "remainder": "wrong only when (n + 2p − d·(k − 1) − 1) mod s ≠ 0 (right when the windows tile "
                 "the padded input exactly): the last, unreached rows/columns are mishandled — "
                 "their gradient is 0, and the output size is ⌊(n + 2p − d·(k−1) − 1)/s⌋ + 1",
    "square": "wrong only for non-square kernels or inputs (right when every side is equal): an "
              "index or size uses the height where the width is meant (square-only indexing)",
    "padding": "wrong only with padding (right with pad 0): the padding is not applied, or not "
               "cropped, consistently",
    "dilation": "wrong only with dilation > 1: the kernel taps must be d apart (x[i·s + a·d])",
    "groups": "wrong only with groups > 1: channel c must meet only the filters of its group",
    "channels": "wrong only with several channels: a channel index or a sum over channels is "
                "off",
}


def diagnose(checker: Checker, failure: Failure) -> None:
    """Fill ``failure.diagnosis`` and ``failure.equation`` (both may stay None)."""
    failure.diagnosis = _pattern(checker, failure) or _variant(checker, failure)
    failure.equation = _equation(failure)


def _pattern(checker: Checker, f: Failure) -> str | None:
    cfg = f.config
    if f.kind == "shape" and f.tensor == "dx":
        padded = tuple(n + 2 * cfg.padding for n in cfg.size)
        if tuple(f.got.shape[2:]) == padded and cfg.padding:
            return (f"∂X has the padded input's shape {padded}: the padding is not cropped — "
                    f"return dx_pad[..., p:p + H, p:p + W]")
    if f.kind != "values":
        return None
    a = checker.arrays(cfg)
    flip = (slice(None), slice(None)) + (slice(None, None, -1),) * checker.dims
    if f.tensor == "out" and np.allclose(
            f.got, ops.conv(a["x"], a["w"][flip], a["b"], **cfg.opts), rtol=1e-6, atol=1e-9):
        return ("the forward flips the kernel: that is true convolution; deep-learning "
                "frameworks (and this check) use cross-correlation, O = X ⋆ F without rot180")
    if f.tensor == "dw" and np.allclose(f.got, f.expected[flip], rtol=1e-6, atol=1e-9):
        return ("∂F is rot180 of the expected: correlation arguments swapped (∂L/∂F = X ⋆ ∂L/∂O, "
                "not ∂L/∂O ⋆ X) or the kernel flipped where it must not be")
    if f.tensor == "dx":
        count = _contributions(cfg)
        wrong = ~np.isclose(f.got, f.expected, rtol=1e-6, atol=1e-9)
        if wrong.any() and (count[wrong] >= 2).all() and (count >= 2).any():
            return ("∂X is wrong only where several terms meet (overlapping windows or several "
                    "filters), right where one term lands: an assignment (=) where accumulation "
                    "(+=) is needed")
        if np.allclose(f.got, f.expected[flip], rtol=1e-6, atol=1e-9):
            return ("∂X is mirrored: the full convolution needs rot180(F) (or, without "
                    "flipping, the transposed index arithmetic)")
    if f.tensor == "db":
        return "∂b must be Σ ∂L/∂O over the batch and every output position, per filter"
    return None


def _variant(checker: Checker, f: Failure) -> str | None:
    for name, config in variants(f.config).items():
        if checker.hung:
            return None
        failure, _ = checker.evaluate(config)
        if failure is None:
            return VARIANT_HINTS[name]
    return None


def _contributions(cfg) -> np.ndarray:
    """How many (filter, window, tap) terms reach each element of ∂X."""
    ones = np.ones(cfg.out_shape)
    w = np.ones(cfg.w_shape)
    return np.rint(ops.conv_grad_input(ones, w, cfg.x_shape, **cfg.opts))


def _equation(f: Failure) -> str | None:
    """The expected equation of the first wrong element, from ``convgrad explain``."""
    cfg = f.config
    if f.index is None or len(cfg.size) > 2:
        return None
    if f.tensor == "db":
        return f"∂L/∂b[{f.index[0] + 1}] = Σ over the batch and positions of ∂L/∂O[n, " \
               f"{f.index[0] + 1}, …]"
    try:
        from ..explain import explain  # noqa: PLC0415

        report = explain(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, cfg.cin,
                         cfg.cout, cfg.groups, max_equations=4000)
    except (ImportError, ValueError):
        return None
    if f.tensor == "dw":
        return report["grad_weight"][int(np.ravel_multi_index(f.index, cfg.w_shape))]
    key, shape = {"dx": ("grad_input", (cfg.cin, *cfg.size)),
                  "out": ("forward", (cfg.cout, *cfg.out_size))}[f.tensor]
    line = report[key][int(np.ravel_multi_index(f.index[1:], shape))]
    return line + (f" + b{_sub(f.index[1] + 1)}" if f.tensor == "out" else "") + \
        f"   (image {f.index[0] + 1} of the batch)"


def _sub(i: int) -> str:
    return str(i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
