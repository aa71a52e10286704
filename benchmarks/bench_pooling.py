"""Max / average pooling: convgrad's compiled kernels vs its window path vs PyTorch.

    python benchmarks/bench_pooling.py [--dtype float32 float64] [--repeat 5] [--only NAME ...]

Per configuration and dtype, the forward and the forward + backward (``y.backward(g)``, ∂x)
through the public autograd path, in milliseconds: convgrad with the compiled kernels
(``functional/pooling_kernels.py``, numba), convgrad with them switched off (the window path,
``engine.settings(jit=False)``: what every call ran before), and PyTorch in the same
interleaved best-of rounds (``convgrad.bench.best_times``). The adaptive pools are timed too
(they have their own code, not these kernels). The machine is shared: compare ratios from one
run, not absolute times across runs. The first line gives the kernels' compile time (a fresh
process, both dtypes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import convgrad as cg
import convgrad.nn.functional as F
from convgrad import bench
from convgrad.functional import pooling_kernels
from convgrad.ops.jit import jit_enabled

# name: (functional op, input shape, positional arguments, keyword arguments)
CONFIGS = {
    "max2d 64x32x26x26 k2": ("max_pool2d", (64, 32, 26, 26), (2,), {}),
    "max2d 64x64x24x24 k2": ("max_pool2d", (64, 64, 24, 24), (2,), {}),
    "max2d 128x16x32x32 k2 s2": ("max_pool2d", (128, 16, 32, 32), (2, 2), {}),
    "max2d 128x16x32x32 k3 s2 p1": ("max_pool2d", (128, 16, 32, 32), (3, 2, 1), {}),
    "max2d 32x64x28x28 k3 s1 p1": ("max_pool2d", (32, 64, 28, 28), (3, 1, 1), {}),
    "avg2d 128x64x8x8 k2": ("avg_pool2d", (128, 64, 8, 8), (2,), {}),
    "avg2d 64x32x26x26 k3 s2 p1 ceil": ("avg_pool2d", (64, 32, 26, 26), (3, 2, 1),
                                        dict(ceil_mode=True, count_include_pad=False)),
    "max1d 64x64x512 k3 s2 p1": ("max_pool1d", (64, 64, 512), (3, 2, 1), {}),
    "avg1d 64x64x512 k2": ("avg_pool1d", (64, 64, 512), (2,), {}),
    "max3d 8x16x16x32x32 k2": ("max_pool3d", (8, 16, 16, 32, 32), (2,), {}),
    "avg3d 8x16x16x32x32 k3 s2 p1": ("avg_pool3d", (8, 16, 16, 32, 32), (3, 2, 1), {}),
    "adaptive_avg2d 64x256x7x7 →1": ("adaptive_avg_pool2d", (64, 256, 7, 7), (1,), {}),
    "adaptive_max2d 64x64x24x24 →6": ("adaptive_max_pool2d", (64, 64, 24, 24), (6,), {}),
}


def compile_seconds() -> float:
    """Seconds of the first calls: every kernel (max forward, scatter, average both ways) in
    both dtypes on a tiny input."""
    start = time.perf_counter()
    for dtype in ("float32", "float64"):
        for op in ("max_pool2d", "avg_pool2d"):
            x = cg.tensor(np.ones((1, 1, 4, 4), dtype), requires_grad=True)
            getattr(F, op)(x, 2).sum().backward()
    return time.perf_counter() - start


def cases(name: str, dtype: str) -> dict:
    import torch

    op, shape, args, kwargs = CONFIGS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    ours, theirs = getattr(F, op), getattr(torch.nn.functional, op)
    g = rng.standard_normal(tuple(ours(cg.tensor(x), *args, **kwargs).shape)).astype(dtype)
    xc, gc = cg.tensor(x, requires_grad=True), cg.tensor(g)
    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def cg_fwd():
        with cg.no_grad():
            ours(xc, *args, **kwargs)

    def cg_fwdbwd():
        xc.grad = None
        ours(xc, *args, **kwargs).backward(gc)

    def off(fn):
        def run():
            with jit_enabled(False):
                fn()
        return run

    def torch_fwd():
        with torch.no_grad():
            theirs(xt, *args, **kwargs)

    def torch_fwdbwd():
        xt.grad = None
        theirs(xt, *args, **kwargs).backward(gt)

    return {"cg_fwd": cg_fwd, "cg_fwdbwd": cg_fwdbwd, "win_fwd": off(cg_fwd),
            "win_fwdbwd": off(cg_fwdbwd), "torch_fwd": torch_fwd, "torch_fwdbwd": torch_fwdbwd}


def main(argv=None) -> list[dict]:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", nargs="+", choices=["float32", "float64"],
                        default=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    args = parser.parse_args(argv)
    compiled = pooling_kernels.available()
    first = compile_seconds() if compiled else 0.0
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads); compiled kernels: {'yes' if compiled else 'no (numba missing or off)'}"
          f"{f', first calls (compile, both dtypes) {first:.2f} s' if compiled else ''}; "
          f"best of {args.repeat}\n")
    print("| config | dtype | cg fwd | cg fwd+bwd | window fwd | window fwd+bwd | torch fwd | "
          "torch fwd+bwd | fwd cg/torch | fwd+bwd cg/torch | fwd+bwd window/cg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for dtype in args.dtype:
        for name in args.only:
            t = {k: v * 1e3 for k, v in bench.best_times(cases(name, dtype),
                                                          args.repeat).items()}
            rows.append({"config": name, "dtype": dtype, **t})
            print(f"| {name} | {dtype} | {t['cg_fwd']:.2f} | {t['cg_fwdbwd']:.2f} | "
                  f"{t['win_fwd']:.2f} | {t['win_fwdbwd']:.2f} | {t['torch_fwd']:.2f} | "
                  f"{t['torch_fwdbwd']:.2f} | {t['cg_fwd'] / t['torch_fwd']:.2f} | "
                  f"{t['cg_fwdbwd'] / t['torch_fwdbwd']:.2f} | "
                  f"{t['win_fwdbwd'] / t['cg_fwdbwd']:.1f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
