"""``convgrad bench``: time the benchmark configurations (and, optionally, PyTorch); with
``--networks``, whole training steps of five networks (benchmarks/bench_networks.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from .usage import UsageError, output_file, require

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_networks.py"


def run_bench(args) -> int:
    from .. import bench  # noqa: PLC0415

    if args.networks is not None:
        return run_networks(args)
    args.dtype = args.dtype or ["float32", "float64"]
    known = [c["name"] for c in bench.load_configs()]
    unknown = [n for n in args.configs or [] if n not in known]
    if unknown:
        raise UsageError(f"unknown configuration {unknown[0]!r}; choose from "
                         f"{', '.join(known)}")
    if args.explain:
        print(bench.explain_plans(args.configs, tuple(args.dtype)), end="")
        return 0
    if args.compare == "torch":
        require("torch", "bench", "PyTorch", "--compare torch ")
    if args.plot:
        require("matplotlib", "plot", why="--plot ")
    for option in ("json", "markdown", "plot"):
        output_file(f"--{option}", getattr(args, option))
    result = bench.run(args.configs, tuple(args.dtype), args.compare == "torch", args.repeat)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.markdown:
        command = ("convgrad bench" + (" --compare torch" if args.compare else "")
                   + f" --markdown {args.markdown}")
        with open(args.markdown, "w") as f:
            f.write(bench.markdown(result, command))
    if args.plot:
        bench.plot(result, args.plot)
    return 0


def run_networks(args) -> int:
    """``--networks``: benchmarks/bench_networks.py's table (without its peak-RSS
    subprocesses and breakdown: run the script for those)."""
    for option in ("configs", "explain", "plot", "markdown"):
        if getattr(args, option):
            raise UsageError(f"--{option} applies to the configurations, not to --networks")
    if not SCRIPT.is_file():
        raise UsageError(f"--networks needs benchmarks/bench_networks.py of a source checkout "
                         f"(not found at {SCRIPT})")
    spec = importlib.util.spec_from_file_location("bench_networks", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    unknown = [n for n in args.networks if n not in script.NAMES]
    if unknown:
        raise UsageError(f"unknown network {unknown[0]!r}; choose from "
                         f"{', '.join(script.NAMES)}")
    compare = args.compare == "torch"
    if compare:
        require("torch", "bench", "PyTorch", "--compare torch ")
    output_file("--json", args.json)
    rows = script.run(args.networks or list(script.NAMES), args.dtype or ["float32"],
                      steps=args.steps, warmup=2, compare=compare, rss=False)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0
