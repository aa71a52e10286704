"""Benchmark convgrad.ops against PyTorch (CPU) on the project's configurations.

    python benchmarks/bench_ops.py [--configs NAME ...] [--dtype float32 float64] [--repeat 7]

For every configuration and dtype it times, interleaved in one run (best of --repeat after a
warm-up), the forward pass and the forward + backward pass (∂x, ∂w, ∂b) of convgrad and of
torch, and prints a Markdown table with milliseconds, GFLOP/s and the time ratio convgrad/torch.
The machines are noisy: compare ratios from one run, not absolute times across runs.
It also times, in the same rounds, the "straightforward NumPy" baseline of
shared/bench/ANCHORS.md (straightforward.py beside this file) and reports convgrad's speed-up
over it.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from convgrad import ops

try:
    from . import straightforward
except ImportError:
    import straightforward

CONFIGS = Path(__file__).with_name("configs.json")
def flops_per_pass(cfg: dict) -> float:
    """2·N·C_out·(C_in/groups)·ΠK·Π(out) multiply-adds counted as two FLOPs."""
    d = cfg["dims"]
    out = [ops.output_length(n, cfg["k"], cfg["stride"], cfg["dilation"], cfg["padding"],
                             cfg["padding"]) for n in cfg["size"]]
    return (2.0 * cfg["N"] * cfg["Cout"] * cfg["Cin"] // cfg["groups"] * cfg["k"] ** d
            * math.prod(out))


def make_cases(cfg: dict, dtype: str):
    import torch
    import torch.nn.functional as tf

    rng = np.random.default_rng(0)
    d = cfg["dims"]
    x = rng.standard_normal((cfg["N"], cfg["Cin"], *cfg["size"])).astype(dtype)
    w = rng.standard_normal((cfg["Cout"], cfg["Cin"] // cfg["groups"], *[cfg["k"]] * d))
    w = (w / math.sqrt(w[0].size)).astype(dtype)
    b = rng.standard_normal(cfg["Cout"]).astype(dtype)
    opts = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                groups=cfg["groups"])
    dy = rng.standard_normal(ops.conv(x, w, b, **opts).shape).astype(dtype)
    spatial = tuple(range(2, 2 + d))

    def cg_forward():
        return ops.conv(x, w, b, **opts)

    def cg_forward_backward():
        ops.conv(x, w, b, **opts)
        ops.conv_grad_input(dy, w, x.shape, **opts)
        ops.conv_grad_weight(x, dy, w.shape, **opts)
        return dy.sum(axis=(0,) + spatial)

    def straightforward_forward_backward():
        y, cols = straightforward.forward(x, w, b, cfg["stride"], cfg["padding"],
                                          cfg["dilation"], cfg["groups"])
        straightforward.backward(x, w, dy, cols, cfg["stride"], cfg["padding"], cfg["dilation"],
                                 cfg["groups"])

    torch_conv = {1: tf.conv1d, 2: tf.conv2d, 3: tf.conv3d}[d]
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tdy = torch.tensor(dy)

    def torch_forward():
        with torch.no_grad():
            return torch_conv(tx, tw, tb, **opts)

    def torch_forward_backward():
        tx.grad = tw.grad = tb.grad = None
        torch_conv(tx, tw, tb, **opts).backward(tdy)

    return {"cg_fwd": cg_forward, "cg_fwdbwd": cg_forward_backward,
            "torch_fwd": torch_forward, "torch_fwdbwd": torch_forward_backward,
            "sf_fwdbwd": straightforward_forward_backward}


def best_times(cases: dict, repeat: int) -> dict:
    """Interleaved timing: each round runs every case once; the best round per case counts."""
    for fn in cases.values():
        fn()
    best = {name: math.inf for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main(argv=None) -> list[dict]:
    import torch

    all_configs = json.loads(CONFIGS.read_text())["configs"]
    names = [c["name"] for c in all_configs]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=names, default=names)
    parser.add_argument("--dtype", nargs="+", choices=["float32", "float64"],
                        default=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)

    print(f"numpy {np.__version__}, torch {torch.__version__}, threads 2; best of {args.repeat}\n")
    print("| config | dtype | cg fwd ms | torch fwd ms | fwd ratio | cg fwd+bwd ms | "
          "torch fwd+bwd ms | fwd+bwd ratio | cg GFLOP/s fwd+bwd | straightforward fwd+bwd ms | "
          "straightforward ratio | speed-up over straightforward |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for dtype in args.dtype:
        for cfg in all_configs:
            if cfg["name"] not in args.configs:
                continue
            t = best_times(make_cases(cfg, dtype), args.repeat)
            row = {"config": cfg["name"], "dtype": dtype,
                   **{k: v * 1e3 for k, v in t.items()},
                   "fwd_ratio": t["cg_fwd"] / t["torch_fwd"],
                   "fwdbwd_ratio": t["cg_fwdbwd"] / t["torch_fwdbwd"],
                   "cg_gflops_fwdbwd": 3 * flops_per_pass(cfg) / t["cg_fwdbwd"] / 1e9,
                   "sf_ratio": t["sf_fwdbwd"] / t["torch_fwdbwd"],
                   "speedup_over_sf": t["sf_fwdbwd"] / t["cg_fwdbwd"]}
            rows.append(row)
            print(f"| {row['config']} | {dtype} | {row['cg_fwd']:.2f} | {row['torch_fwd']:.2f} | "
                  f"{row['fwd_ratio']:.2f} | {row['cg_fwdbwd']:.2f} | {row['torch_fwdbwd']:.2f} | "
                  f"{row['fwdbwd_ratio']:.2f} | {row['cg_gflops_fwdbwd']:.0f} | "
                  f"{row['sf_fwdbwd']:.2f} | {row['sf_ratio']:.2f} | "
                  f"{row['speedup_over_sf']:.2f} |", flush=True)
    for dtype in args.dtype:
        ratios = [r["fwdbwd_ratio"] for r in rows if r["dtype"] == dtype]
        if ratios:
            print(f"\n{dtype}: geometric mean fwd+bwd ratio convgrad/torch = "
                  f"{math.exp(np.mean(np.log(ratios))):.2f}, worst = {max(ratios):.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
