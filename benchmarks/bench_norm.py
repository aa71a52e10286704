"""Normalisation and the elementwise activations of a training step: convgrad vs PyTorch.

    python benchmarks/bench_norm.py [--ops NAME ...] [--dtype float32 float64] [--repeat 3]

Each row times the forward (with the graph recorded, as in training) and forward + backward
(∂x and every parameter's gradient) of one op, three ways in interleaved best-of rounds
(``convgrad.bench.best_times``): convgrad's NumPy path (the compiled kernels switched off by
their size threshold — the code before the kernels), convgrad as it runs by default (the
kernels of ``functional.norm_kernels`` / ``activation_kernels`` where they apply) and torch.
The ratios are convgrad/torch; the last column the kernels' speed-up of forward + backward.
Shapes: the CIFAR ResNet / DCGAN feature maps 128×16×32×32, 128×32×16×16, 128×64×8×8 and
64×128×16×16. Compare ratios from one run: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import math
from contextlib import contextmanager

import numpy as np

import convgrad as cg
import convgrad.functional as F
from convgrad import bench
from convgrad.functional import activation_kernels, norm_kernels

SHAPES = [(128, 16, 32, 32), (128, 32, 16, 16), (128, 64, 8, 8), (64, 128, 16, 16)]
NORMS = ["batch_norm", "batch_norm_eval", "instance_norm", "group_norm", "layer_norm"]
ACTIVATIONS = ["relu", "relu_", "leaky_relu", "leaky_relu_", "tanh", "sigmoid", "add",
               "add_"]


@contextmanager
def numpy_path():
    """The kernels off (their thresholds past every size): the NumPy code they replace."""
    with norm_kernels.min_elements(1 << 62), activation_kernels.min_elements(1 << 62):
        yield


def _norm_call(op: str, lib, c: int):
    """f(x, w, b, stats) for the normalisation ``op`` in convgrad (lib=cg) or torch."""
    import torch
    f = F if lib is cg else torch.nn.functional
    if op == "batch_norm":
        return lambda x, w, b, s: f.batch_norm(x, *s, w, b, True, 0.1, 1e-5)
    if op == "batch_norm_eval":
        return lambda x, w, b, s: f.batch_norm(x, *s, w, b, False, 0.1, 1e-5)
    if op == "instance_norm":
        return lambda x, w, b, s: f.instance_norm(x, None, None, w, b, True, 0.1, 1e-5)
    if op == "group_norm":
        return lambda x, w, b, s: f.group_norm(x, max(1, c // 4), w, b, 1e-5)
    return lambda x, w, b, s: f.layer_norm(x, x.shape[1:], w, b, 1e-5)


def norm_cases(op: str, shape, dtype: str) -> dict:
    import torch
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    pshape = shape[1:] if op == "layer_norm" else (shape[1],)
    w, b = (rng.standard_normal(pshape).astype(dtype) + 1, rng.standard_normal(pshape)
            .astype(dtype))
    c = shape[1]
    stats = (np.zeros(c, dtype), np.ones(c, dtype))
    xc, wc, bc, gc = (cg.tensor(x, requires_grad=True), cg.tensor(w, requires_grad=True),
                      cg.tensor(b, requires_grad=True), cg.tensor(g))
    xt, wt, bt, gt = (torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True),
                      torch.tensor(b, requires_grad=True), torch.tensor(g))
    stats_t = (torch.zeros(c, dtype=xt.dtype), torch.ones(c, dtype=xt.dtype))
    ours, theirs = _norm_call(op, cg, c), _norm_call(op, torch, c)
    return _cases(lambda: ours(xc, wc, bc, stats), lambda: theirs(xt, wt, bt, stats_t), gc, gt)


def _activation_call(op: str, lib, other):
    """f(x) for the activation ``op`` (a trailing _: in place, on a fresh non-leaf)."""
    import torch
    f = F if lib is cg else torch.nn.functional
    calls = {"relu": lambda x: f.relu(x), "relu_": lambda x: f.relu(x * 1, inplace=True),
             "leaky_relu": lambda x: f.leaky_relu(x, 0.2),
             "leaky_relu_": lambda x: f.leaky_relu(x * 1, 0.2, inplace=True),
             "tanh": lambda x: (F.tanh if lib is cg else torch.tanh)(x),
             "sigmoid": lambda x: (F.sigmoid if lib is cg else torch.sigmoid)(x),
             "add": lambda x: x + other, "add_": lambda x: _iadd(x * 1, other)}
    return calls[op]


def _iadd(h, other):
    h += other                  # a residual block's ``out += identity``
    return h


def activation_cases(op: str, shape, dtype: str) -> dict:
    import torch
    rng = np.random.default_rng(0)
    x, g, r = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    xc, gc, rc = cg.tensor(x, requires_grad=True), cg.tensor(g), cg.tensor(r, requires_grad=True)
    xt, gt, rt = (torch.tensor(x, requires_grad=True), torch.tensor(g),
                  torch.tensor(r, requires_grad=True))
    ours, theirs = _activation_call(op, cg, rc), _activation_call(op, torch, rt)
    return _cases(lambda: ours(xc), lambda: theirs(xt), gc, gt)


def _cases(ours, theirs, gc, gt) -> dict:
    """fwd / fwd+bwd for the NumPy path, the default path and torch."""
    def fwdbwd(f, g):
        return lambda: f().backward(g)
    return {"np_fwd": _under(numpy_path, ours), "np_fwdbwd": _under(numpy_path, fwdbwd(ours, gc)),
            "cg_fwd": ours, "cg_fwdbwd": fwdbwd(ours, gc),
            "torch_fwd": theirs, "torch_fwdbwd": fwdbwd(theirs, gt)}


def _under(context, fn):
    def run():
        with context():
            return fn()
    return run


def main(argv=None) -> list[dict]:
    import torch
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", nargs="+", choices=NORMS + ACTIVATIONS,
                        default=NORMS + ACTIVATIONS)
    parser.add_argument("--dtype", nargs="+", choices=["float32", "float64"],
                        default=["float32", "float64"])
    parser.add_argument("--shapes", nargs="+", type=int, choices=range(len(SHAPES)),
                        default=list(range(len(SHAPES))), help="indices into SHAPES")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--burst", type=float, default=0.1, help="seconds per case per round")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads); compiled kernels: {'yes' if norm_kernels.use(1 << 20, 'float32') else 'no'}"
          f"; best of {args.repeat} interleaved rounds\n")
    print("| op | shape | dtype | numpy-path fwd / fwd+bwd ms | convgrad fwd / fwd+bwd ms | "
          "torch fwd / fwd+bwd ms | numpy-path/torch | convgrad/torch fwd | "
          "convgrad/torch fwd+bwd | kernel speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for dtype in args.dtype:
        for op in args.ops:
            for shape in (SHAPES[i] for i in args.shapes):
                make = norm_cases if op in NORMS else activation_cases
                t = {k: v * 1e3 for k, v in bench.best_times(
                    make(op, shape, dtype), args.repeat, args.burst).items()}
                row = {"op": op, "shape": shape, "dtype": dtype, **t,
                       "np_ratio": t["np_fwdbwd"] / t["torch_fwdbwd"],
                       "fwd_ratio": t["cg_fwd"] / t["torch_fwd"],
                       "fwdbwd_ratio": t["cg_fwdbwd"] / t["torch_fwdbwd"],
                       "speedup": t["np_fwdbwd"] / t["cg_fwdbwd"]}
                rows.append(row)
                print(f"| {op} | {'×'.join(map(str, shape))} | {dtype} | {t['np_fwd']:.2f} / "
                      f"{t['np_fwdbwd']:.2f} | {t['cg_fwd']:.2f} / {t['cg_fwdbwd']:.2f} | "
                      f"{t['torch_fwd']:.2f} / {t['torch_fwdbwd']:.2f} | {row['np_ratio']:.2f} | "
                      f"{row['fwd_ratio']:.2f} | {row['fwdbwd_ratio']:.2f} | "
                      f"{row['speedup']:.2f} |", flush=True)
    for dtype in args.dtype:
        for group, names in (("normalisation", NORMS), ("activations", ACTIVATIONS)):
            sel = [r for r in rows if r["dtype"] == dtype and r["op"] in names]
            if sel:
                gm = {k: math.exp(np.mean(np.log([r[k] for r in sel])))
                      for k in ("np_ratio", "fwdbwd_ratio", "speedup")}
                print(f"\n{dtype} {group}: geometric mean fwd+bwd convgrad/torch "
                      f"{gm['fwdbwd_ratio']:.2f} (numpy path {gm['np_ratio']:.2f}); "
                      f"kernel speed-up {gm['speedup']:.2f}×")
    return rows


if __name__ == "__main__":
    main()
