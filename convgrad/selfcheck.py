"""``convgrad gradcheck``: every differentiable op of this installation against float64 finite
differences, to first and second order — a self-test a user can run anywhere, no torch needed."""

from __future__ import annotations

import numpy as np

from . import functional as F
from .gradcheck import GradcheckError, gradcheck

# name → (function, input shapes); small shapes keep the finite differences quick.
SUITE = {
    "conv1d stride 2, dilation 2, groups 2": (
        lambda x, w, b: F.conv1d(x, w, b, stride=2, dilation=2, groups=2, padding=1),
        [(2, 4, 11), (6, 2, 3), (6,)]),
    "conv2d stride 2, padding 'same'": (lambda x, w: F.conv2d(x, w, stride=2, padding="same"),
                                        [(2, 3, 7, 6), (4, 3, 3, 2)]),
    "conv2d per-side padding, depthwise": (
        lambda x, w: F.conv2d(x, w, padding=((2, 0), (1, 1)), groups=3), [(1, 3, 5, 6),
                                                                         (3, 1, 3, 3)]),
    "conv3d stride (1, 2, 1)": (lambda x, w: F.conv3d(x, w, stride=(1, 2, 1)),
                                [(1, 2, 4, 5, 4), (2, 2, 2, 3, 2)]),
    "conv_transpose2d stride 2, output_padding 1": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [(1, 2, 3, 4), (2, 3, 3, 3), (3,)]),
    "max_pool2d 3×3 stride 2 pad 1": (lambda x: F.max_pool2d(x, 3, 2, 1), [(2, 2, 7, 6)]),
    "avg_pool2d ceil_mode": (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
                             [(1, 2, 8, 7)]),
    "linear": (F.linear, [(4, 3), (5, 3), (5,)]),
    "relu, leaky_relu, elu, silu, softplus": (
        lambda x: F.relu(x) + F.leaky_relu(x, 0.1) + F.elu(x) + F.silu(x) + F.softplus(x),
        [(3, 5)]),
    "sigmoid, tanh, softmax": (lambda x: F.sigmoid(x) * F.tanh(x) + F.softmax(x, 1), [(3, 5)]),
    "log_softmax + cross_entropy": (
        lambda z: F.cross_entropy(z, np.array([0, 2, 1]), label_smoothing=0.1)
        + F.log_softmax(z, 0).sum(), [(3, 4)]),
    "mse_loss": (F.mse_loss, [(3, 4), (3, 4)]),
    "batch_norm (training)": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3, 2, 2), (3,),
                                                                          (3,)]),
    "pad reflect / replicate / circular": (
        lambda x: F.pad(x, (2, 1), "reflect") * F.pad(x, (2, 1), "replicate")
        + F.pad(x, (2, 1), "circular"), [(2, 2, 5)]),
    "matmul, power, exp, log, division": (lambda a, b: ((a @ b) ** 2).exp().log() / (1 + b.sum()
                                                                                     ** 2),
                                          [(3, 4), (4, 2)]),
}


# row → the op names it checks (``--ops conv2d`` selects every row that checks conv2d).
OPS = {
    "conv1d stride 2, dilation 2, groups 2": ('conv1d',),
    "conv2d stride 2, padding 'same'": ('conv2d',),
    "conv2d per-side padding, depthwise": ('conv2d',),
    "conv3d stride (1, 2, 1)": ('conv3d',),
    "conv_transpose2d stride 2, output_padding 1": ('conv_transpose2d',),
    "max_pool2d 3×3 stride 2 pad 1": ('max_pool2d',),
    "avg_pool2d ceil_mode": ('avg_pool2d',),
    "linear": ('linear',),
    "relu, leaky_relu, elu, silu, softplus": ('relu', 'leaky_relu', 'elu', 'silu', 'softplus'),
    "sigmoid, tanh, softmax": ('sigmoid', 'tanh', 'softmax'),
    "log_softmax + cross_entropy": ('log_softmax', 'cross_entropy'),
    "mse_loss": ('mse_loss',),
    "batch_norm (training)": ('batch_norm',),
    "pad reflect / replicate / circular": ('pad',),
    "matmul, power, exp, log, division": ('matmul', 'pow', 'exp', 'log', 'div'),
}


def select(names=None) -> list[str]:
    """The rows for ``names``: op names (``conv2d``, ``relu``) or rows of SUITE, in SUITE's
    order; all rows for none. ValueError naming the valid names for an unknown one."""
    if not names:
        return list(SUITE)
    ops = sorted({op for label in SUITE for op in OPS.get(label, ())})
    unknown = [n for n in names if n not in SUITE and n not in ops]
    if unknown:
        raise ValueError(f"unknown op {unknown[0]!r}; choose from {', '.join(ops)} (or a row "
                         f"of the table by its full name)")
    return [label for label in SUITE
            if label in names or any(op in names for op in OPS.get(label, ()))]


def run(orders=(1, 2), names=None, seed: int = 0, report=print) -> bool:
    """Check the suite (or the rows ``select(names)`` picks); print one row per op; True if
    all pass."""
    names = select(names)
    rng = np.random.default_rng(seed)
    passed = True
    width = max(map(len, names))
    report(f"{'op':<{width}}  " + "  ".join(f"order {o}" for o in orders))
    for name in names:
        fn, shapes = SUITE[name]
        arrays = [rng.standard_normal(s) for s in shapes]
        cells, failures = [], []
        for order in orders:
            try:
                gradcheck(fn, arrays, order=order, atol=1e-5 if order == 1 else 1e-4,
                          directions=10, seed=seed)
                cells.append("ok     ")
            except GradcheckError as e:
                cells.append("FAILED ")
                failures.append(str(e))
                passed = False
        report(f"{name:<{width}}  " + "  ".join(cells))
        for message in failures:
            report(f"    {message}")
    return passed
