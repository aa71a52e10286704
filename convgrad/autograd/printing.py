"""``repr(tensor)`` exactly as torch 2.13 prints it (torch/_tensor_str.py's rules, on ndarrays).

One formatter per tensor decides the style from its nonzero finite values: integer-valued
floats print as ``1.``, others with ``precision`` (4) decimals, and scientific notation when
max/min > 1000, max > 1e8 or min < 1e-4; every element is right-aligned to the widest one.
Lines wrap at ``linewidth`` (80); more than ``threshold`` (1000) elements are summarised with
``...`` and ``edgeitems`` (3) items at each end of each dim. Suffixes: the dtype unless it is
the default float dtype, int64 or bool; ``size=`` for empty tensors other than (0,);
``grad_fn=<MulBackward0>`` or ``requires_grad=True``.

>>> import numpy as np
>>> from .tensor import Tensor
>>> Tensor(np.array([[1.0, 2.5], [-3.0, 1e-5]]))
tensor([[ 1.0000e+00,  2.5000e+00],
        [-3.0000e+00,  1.0000e-05]], dtype=convgrad.float64)
>>> Tensor(np.arange(3))
tensor([0, 1, 2])
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import numpy as np

from ..semantics import get_default_dtype

__all__ = ["tensor_repr", "parameter_repr", "set_printoptions", "get_printoptions",
           "printoptions"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """torch.set_printoptions: ``profile`` ('default', 'short', 'full') first, then each
    option given; ``sci_mode`` None lets the formatter choose."""
    if profile is not None and profile in _PROFILES:
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current options, as keyword arguments for ``set_printoptions``."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Change the print options inside a ``with`` block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


def tensor_repr(t) -> str:
    """torch's ``repr``: ``tensor(<values>, <suffixes>)``."""
    a = t.array
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    dtype_name = f"dtype={_dtype_name(a.dtype)}"
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype != get_default_dtype():
            suffixes.append(dtype_name)
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype not in (get_default_dtype(), np.dtype(np.int64), np.dtype(bool)):
            suffixes.append(dtype_name)
        body = _tensor_str(a, indent)
    if t._backward is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)


def parameter_repr(p) -> str:
    """``nn.Parameter``'s repr: ``Parameter containing:`` above the tensor's."""
    return "Parameter containing:\n" + tensor_repr(p)


def _dtype_name(dtype: np.dtype) -> str:
    return f"convgrad.{np.dtype(dtype).name}"


class _Formatter:
    """Style and width for every element of one tensor (torch's ``_Formatter``)."""

    def __init__(self, a: np.ndarray):
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        flat = a.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        values = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if values.size == 0:
            return
        low, high = np.abs(values).min(), np.abs(values).max()
        self.int_mode = bool(np.all(values == np.ceil(values)))
        self.sci_mode = (high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4
                         if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode)
        p = PRINT_OPTS.precision
        if self.sci_mode:
            widths = (len(f"{v:.{p}e}") for v in values.tolist())
        elif self.int_mode:
            widths = (len(f"{v:.0f}") + 1 for v in values.tolist())
        else:
            widths = (len(f"{v:.{p}f}") for v in values.tolist())
        self.max_width = max(self.max_width, *widths)

    def format(self, value) -> str:
        if self.floating:
            value = float(value)
            p = PRINT_OPTS.precision
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _tensor_str(a: np.ndarray, indent: int) -> str:
    summarize = a.size > PRINT_OPTS.threshold
    formatter = _Formatter(_summarized(a) if summarize else a)
    return _with_formatter(a, indent, summarize, formatter)


def _with_formatter(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    edge = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * edge:
        rows = ([_with_formatter(a[i], indent + 1, summarize, fmt) for i in range(edge)]
                + ["..."]
                + [_with_formatter(a[i], indent + 1, summarize, fmt)
                   for i in range(len(a) - edge, len(a))])
    else:
        rows = [_with_formatter(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _vector_str(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.max_width + 2)))
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * edge:
        data = ([fmt.format(v) for v in a[:edge].tolist()] + [" ..."]
                + [fmt.format(v) for v in a[-edge:].tolist()])
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements that a summarised print shows (the formatter looks at these only)."""
    edge = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate((a[:edge], a[-edge:])) if a.shape[0] > 2 * edge else a
    if not edge:
        return np.empty((0,) * a.ndim, dtype=a.dtype)
    rows = (list(range(edge)) + list(range(len(a) - edge, len(a)))
            if a.shape[0] > 2 * edge else range(len(a)))
    return np.stack([_summarized(a[i]) for i in rows])


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)
