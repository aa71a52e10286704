"""``convgrad bench``: time the benchmark configurations (and, optionally, PyTorch)."""

from __future__ import annotations

import json

from .usage import UsageError, output_file, require


def run_bench(args) -> int:
    from .. import bench  # noqa: PLC0415

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
