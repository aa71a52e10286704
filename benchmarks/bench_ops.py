"""convgrad vs PyTorch vs the "straightforward NumPy" baseline of shared/bench/ANCHORS.md.

    python benchmarks/bench_ops.py [--configs NAME ...] [--dtype float32 float64] [--repeat 7]

The same measurements as ``convgrad bench --compare torch`` (forward and forward + backward
through the autograd path, interleaved best-of rounds), plus the straightforward baseline
(straightforward.py beside this file: im2col forward, zero-inserted full-correlation input
gradient) timed in the same rounds, with convgrad's speed-up over it. Compare ratios from one
run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from convgrad import bench
from convgrad.ops import warmup

try:
    from . import straightforward
except ImportError:
    import straightforward


def straightforward_case(cfg: dict, data: dict):
    x, w, b, dy = (data[k] for k in ("x", "w", "b", "dy"))
    s, p, d, g = cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"]

    def forward_backward():
        _, cols = straightforward.forward(x, w, b, s, p, d, g)
        straightforward.backward(x, w, dy, cols, s, p, d, g)

    return {"sf_fwdbwd": forward_backward}


def main(argv=None) -> list[dict]:
    import torch

    configs = bench.load_configs()
    names = [c["name"] for c in configs]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=names, default=names)
    parser.add_argument("--dtype", nargs="+", choices=["float32", "float64"],
                        default=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    warmup.prepare()         # time the steady state, not the compiler (ops/warmup.py)

    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads); best of {args.repeat}\n")
    print("| config | dtype | cg fwd+bwd ms | torch fwd+bwd ms | ratio cg/torch | "
          "straightforward fwd+bwd ms | straightforward/torch | speed-up over straightforward |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for dtype in args.dtype:
        for cfg in (c for c in configs if c["name"] in args.configs):
            data = bench.inputs(cfg, dtype)
            cases = (bench.convgrad_cases(data) | bench.torch_cases(cfg, data)
                     | straightforward_case(cfg, data))
            t = {k: v * 1e3 for k, v in bench.best_times(cases, args.repeat).items()}
            row = {"config": cfg["name"], "dtype": dtype, **t,
                   "fwdbwd_ratio": t["cg_fwdbwd"] / t["torch_fwdbwd"],
                   "sf_ratio": t["sf_fwdbwd"] / t["torch_fwdbwd"],
                   "speedup_over_sf": t["sf_fwdbwd"] / t["cg_fwdbwd"]}
            rows.append(row)
            print(f"| {row['config']} | {dtype} | {t['cg_fwdbwd']:.2f} | {t['torch_fwdbwd']:.2f} | "
                  f"{row['fwdbwd_ratio']:.2f} | {t['sf_fwdbwd']:.2f} | {row['sf_ratio']:.2f} | "
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
