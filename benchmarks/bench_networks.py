"""Whole-network training steps: convgrad vs PyTorch on five networks people train on a CPU.

    python benchmarks/bench_networks.py [--networks NAME ...] [--steps 20] [--warmup 3]
        [--dtype float32 float64] [--batch-size N] [--json FILE] [--breakdown] [--no-rss]
        [--settle 0.2]

The networks (networks.py beside this file, each written once as torch code and run on
``convgrad`` and on ``torch``): mnist (the PyTorch example's CNN, Adadelta), resnet8 (CIFAR
ResNet-8, SGD), dcgan (32×32 DCGAN, Adam; a step = a D step and a G step), lenet5 (tanh,
average pools, SGD), mobilenet (depthwise-separable blocks, SGD Nesterov).

Method:

* both frameworks start from the same weights (convgrad's state_dict copied into the torch
  twin) and see the same batches (drawn with NumPy); their steps alternate — convgrad's step
  on batch i, torch's on batch i, … — so machine noise hits both alike; each step (forward,
  loss, backward, optimizer step, ``loss.item()``) is timed on its own and the median counts;
  ``--warmup`` steps of each run first. Inference: the ``eval()`` forward under ``no_grad``
  on a training batch, alternating the same way. Between two steps the process sleeps
  ``--settle`` seconds: after a step, a framework's worker threads keep spinning for a
  while (OpenBLAS's up to ~0.1 s, see ``convgrad.bench.best_times``), and without the pause
  the other framework's next step shares the cores with them — measured here on 2 cores,
  torch's dcgan step 145 ms back to back and 1250 ms right after convgrad's;
* ``convgrad.ops.warmup.prepare()`` builds the compiled kernels before anything is timed,
  and torch gets convgrad's thread count (``torch.set_num_threads(convgrad.get_num_threads())``);
* peak RSS: each (network, framework, dtype) runs again in a subprocess that imports only that
  framework: after its warm-up steps (which compile and allocate the optimizer state) the
  resident-set high-water mark is reset (``/proc/self/clear_refs``, 5) and read back
  (``VmHWM``) after ``min(steps, 5)`` more steps. "peak" is that high-water mark (library,
  model, optimizer state and the step's working memory), "(step)" its growth above the
  resident size just before the steps — 0 where the steps only reuse memory the warm-up
  left resident, so read the peak. Where the reset is refused, the lifetime peak
  (``ru_maxrss``, compilation included) is reported and marked ``*``;
* ``--breakdown``: ``min(steps, 5)`` more steps of each under its profiler — torch's
  ``torch.profiler`` and ``convgrad.autograd.profiler`` (see its docstring for what a
  convgrad op's self time covers) — printed as the top 12 op kinds by self time. Optimizer
  steps show up in torch's automatically; convgrad's are wrapped in ``record_function``
  with torch's names for the occasion.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

try:
    from . import networks
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import networks

NAMES = tuple(networks.NETWORKS)


def framework(name: str):
    """The module a workload is built with: ``convgrad`` or ``torch`` (threads matched)."""
    import convgrad  # noqa: PLC0415

    if name == "convgrad":
        return convgrad
    import torch  # noqa: PLC0415

    torch.set_num_threads(convgrad.get_num_threads())
    return torch


def prepare() -> None:
    """Compile convgrad's kernels now, so that no timing includes (or dodges) a build."""
    from convgrad.ops import warmup  # noqa: PLC0415

    warmup.prepare()


def build(name: str, fw, dtype: str, seed: int = 0) -> networks.Workload:
    fw.manual_seed(seed)
    return networks.NETWORKS[name][0](fw, getattr(fw, dtype))


def copy_weights(src: networks.Workload, dst: networks.Workload) -> None:
    """Load every convgrad module's state_dict into its torch twin (strict)."""
    import torch  # noqa: PLC0415

    for key, module in src.modules.items():
        state = {k: torch.from_numpy(np.array(v.numpy(), copy=True))
                 for k, v in module.state_dict().items()}
        dst.modules[key].load_state_dict(state)


def as_inputs(fw, arrays: tuple[np.ndarray, ...]) -> list:
    return [fw.from_numpy(a) for a in arrays]


def pair(name: str, dtype: str, compare: bool, seed: int = 0):
    """The convgrad workload and (with ``compare``) its torch twin from the same weights."""
    import convgrad  # noqa: PLC0415

    ours = build(name, convgrad, dtype, seed)
    twin = None
    if compare:
        twin = build(name, framework("torch"), dtype, seed)
        copy_weights(ours, twin)
    return ours, twin


def time_network(name: str, dtype: str, steps: int, warmup: int, batch_size: int | None,
                 compare: bool, seed: int = 0, settle: float = 0.2) -> dict:
    """Median ms per training step and per inference forward of each framework."""
    import convgrad  # noqa: PLC0415

    fws = {"convgrad": convgrad} | ({"torch": framework("torch")} if compare else {})
    ours, twin = pair(name, dtype, compare, seed)
    loads = {"convgrad": ours} | ({"torch": twin} if compare else {})
    n = batch_size or networks.NETWORKS[name][1]
    rng = np.random.default_rng(seed)
    train = {k: [] for k in loads}
    infer = {k: [] for k in loads}
    batch = None
    for i in range(warmup + steps):
        batch = ours.batch(rng, n, dtype)
        for key, load in loads.items():
            inputs = as_inputs(fws[key], batch)
            start = time.perf_counter()
            load.step(*inputs)
            if i >= warmup:
                train[key].append(time.perf_counter() - start)
            time.sleep(settle if compare else 0)
    for i in range(warmup + steps):
        for key, load in loads.items():
            inputs = as_inputs(fws[key], batch)
            start = time.perf_counter()
            load.infer(*inputs)
            if i >= warmup:
                infer[key].append(time.perf_counter() - start)
            time.sleep(settle if compare else 0)
    row = {"network": name, "dtype": dtype, "batch": n, "steps": steps}
    for key in loads:
        row[f"{key}_ms"] = 1e3 * statistics.median(train[key])
        row[f"{key}_infer_ms"] = 1e3 * statistics.median(infer[key])
    if compare:
        row["ratio"] = row["convgrad_ms"] / row["torch_ms"]
        row["infer_ratio"] = row["convgrad_infer_ms"] / row["torch_infer_ms"]
    return row


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_child(name: str, fw_name: str, dtype: str, steps: int, warmup: int,
              batch_size: int | None) -> dict:
    """(In the subprocess) the resident memory of ``steps`` steady-state steps, MB."""
    if fw_name == "convgrad":
        prepare()
    fw = framework(fw_name)
    load = build(name, fw, dtype)
    rng = np.random.default_rng(0)
    n = batch_size or networks.NETWORKS[name][1]
    batches = [as_inputs(fw, load.batch(rng, n, dtype)) for _ in range(2)]
    for i in range(max(warmup, 1)):
        load.step(*batches[i % 2])
    before = _status_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = _status_kb("VmHWM") is not None and before is not None
    except OSError:
        reset = False
    for i in range(steps):
        load.step(*batches[i % 2])
    lifetime = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = _status_kb("VmHWM") if reset else lifetime
    return {"peak_mb": peak / 1024, "step_mb": (peak - before) / 1024 if reset else None,
            "lifetime_peak_mb": lifetime / 1024, "reset": reset}


def measure_rss(name: str, fw_name: str, dtype: str, steps: int, warmup: int,
                batch_size: int | None) -> dict:
    command = [sys.executable, __file__, "--rss-child", name, fw_name, "--dtype", dtype,
               "--steps", str(steps), "--warmup", str(warmup)]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    import convgrad  # noqa: PLC0415  (the child imports this same copy of it)

    here = str(Path(convgrad.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env=os.environ | {"CONVGRAD_COMPILE": "wait", "PYTHONPATH": path})
    if done.returncode != 0:
        raise RuntimeError(f"peak RSS of {name} ({fw_name}, {dtype}): the subprocess failed:\n"
                           f"{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mark_optimizers(load: networks.Workload) -> None:
    """Wrap convgrad's optimizer calls in record_function, under torch's profiler names."""
    from convgrad.autograd.profiler import record_function  # noqa: PLC0415

    for opt in load.optimizers.values():
        kind = type(opt).__name__
        opt.step = record_function(f"Optimizer.step#{kind}.step")(opt.step)
        opt.zero_grad = record_function(f"Optimizer.zero_grad#{kind}.zero_grad")(opt.zero_grad)


def breakdown(name: str, dtype: str, steps: int, batch_size: int | None, compare: bool,
              rows: int = 12) -> dict:
    """Each framework's profile of ``steps`` training steps: the table and the top kinds."""
    import convgrad  # noqa: PLC0415

    ours, twin = pair(name, dtype, compare)
    _mark_optimizers(ours)
    n = batch_size or networks.NETWORKS[name][1]
    rng = np.random.default_rng(1)
    batches = [ours.batch(rng, n, dtype) for _ in range(steps + 1)]
    result = {}
    for key, load in (("convgrad", ours), ("torch", twin)):
        if load is None:
            continue
        fw = convgrad if key == "convgrad" else framework("torch")
        load.step(*as_inputs(fw, batches[-1]))                       # warm
        inputs = [as_inputs(fw, b) for b in batches[:steps]]
        if key == "convgrad":
            profiler = convgrad.autograd.profiler.profile()
        else:
            profiler = fw.profiler.profile(activities=[fw.profiler.ProfilerActivity.CPU])
        start = time.perf_counter()
        with profiler:
            for args in inputs:
                load.step(*args)
        wall_ms = 1e3 * (time.perf_counter() - start) / steps
        averages = profiler.key_averages()
        recorded_ms = sum(e.self_cpu_time_total for e in averages) / 1e3 / steps
        top = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:rows]
        result[key] = {
            "wall_ms_per_step": wall_ms, "recorded_ms_per_step": recorded_ms,
            "top": [{"op": e.key, "calls_per_step": e.count / steps,
                     "self_ms_per_step": e.self_cpu_time_total / 1e3 / steps} for e in top],
            "table": averages.table(sort_by="self_cpu_time_total", row_limit=rows)}
    return result


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _ms(row: dict, key: str) -> str:
    return f"{row[key]:.1f}" if key in row else "–"


def _mb(rss: dict | None) -> str:
    if not rss:
        return "–"
    if rss["step_mb"] is None:
        return f"{rss['peak_mb']:.0f}*"
    return f"{rss['peak_mb']:.0f} ({rss['step_mb']:.0f})"


def report(rows: list[dict], dtype: str, compare: bool) -> str:
    """The markdown table of one dtype and its summary lines."""
    rows = [r for r in rows if r["dtype"] == dtype]
    lines = ["| network | batch | convgrad ms/step | torch ms/step | ratio cg/torch | "
             "convgrad infer ms | torch infer ms | infer ratio | convgrad peak RSS MB (step) | "
             "torch peak RSS MB (step) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rss = r.get("rss", {})
        ratio = f"{r['ratio']:.2f}" if compare else "–"
        infer_ratio = f"{r['infer_ratio']:.2f}" if compare else "–"
        lines.append(f"| {r['network']} | {r['batch']} | {_ms(r, 'convgrad_ms')} | "
                     f"{_ms(r, 'torch_ms')} | {ratio} | {_ms(r, 'convgrad_infer_ms')} | "
                     f"{_ms(r, 'torch_infer_ms')} | {infer_ratio} | "
                     f"{_mb(rss.get('convgrad'))} | {_mb(rss.get('torch'))} |")
    if compare and rows:
        for label, key in (("training step", "ratio"), ("inference", "infer_ratio")):
            worst = max(rows, key=lambda r: r[key])
            lines.append(f"\n{dtype} {label}: geometric mean ratio convgrad/torch = "
                         f"{geometric_mean([r[key] for r in rows]):.2f}, worst = "
                         f"{worst[key]:.2f} ({worst['network']})")
    return "\n".join(lines)


def run(names, dtypes, steps: int = 20, warmup: int = 3, compare: bool = True,
        rss: bool = True, profile: bool = False, batch_size: int | None = None,
        settle: float = 0.2, out=print) -> list[dict]:
    """Time every network in every dtype; print the tables (and breakdowns); the rows."""
    import convgrad  # noqa: PLC0415

    prepare()
    header = f"convgrad ({convgrad.get_num_threads()} threads), numpy {np.__version__}"
    if compare:
        torch = framework("torch")
        header += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    out(f"{header}; median of {steps} steps after {warmup} warm-up steps, {settle} s apart\n")
    rows = []
    for dtype in dtypes:
        for name in names:
            row = time_network(name, dtype, steps, warmup, batch_size, compare, settle=settle)
            if rss:
                fws = ("convgrad", "torch") if compare else ("convgrad",)
                row["rss"] = {fw: measure_rss(name, fw, dtype, min(steps, 5), warmup,
                                              batch_size) for fw in fws}
            if profile:
                row["breakdown"] = breakdown(name, dtype, min(steps, 5), batch_size, compare)
            rows.append(row)
        out(f"## {dtype}\n\n{report(rows, dtype, compare)}\n")
        if profile:
            for row in (r for r in rows if r["dtype"] == dtype):
                for key, b in row["breakdown"].items():
                    out(f"### {row['network']} {dtype}: {key}, per {min(steps, 5)} steps "
                        f"(ops recorded {b['recorded_ms_per_step']:.1f} of "
                        f"{b['wall_ms_per_step']:.1f} ms/step)\n\n{b['table']}")
    return rows


def markdown_page(printed: list[str], command: str) -> str:
    """The results page: what is measured, the machine and versions, the printed tables."""
    from convgrad import bench  # noqa: PLC0415

    m = bench.machine_facts(compare_torch=True)
    lines = ["# Whole training steps: convgrad vs PyTorch", "",
             f"Regenerate with `{command}`. One training step — forward, loss, backward, "
             f"optimizer step — of each network of `benchmarks/networks.py`, written once as "
             f"PyTorch user code and run by both frameworks from the same weights on the same "
             f"batches, in one process, alternating step by step; the inference forward "
             f"(`eval()`, `no_grad`) likewise. Medians; peak RSS from one subprocess per "
             f"framework (in brackets: its growth over the timed steps). The machine is noisy: "
             f"compare ratios, not absolute times.", "",
             f"- date: {m['date']}", f"- CPU: {m['cpu']} ({m['cores']} cores)",
             f"- Python {m['python']}, NumPy {m['numpy']}, BLAS: {m['blas']}",
             f"- compiled kernels (numba): {'yes' if m['compiled_kernels'] else 'no'}",
             f"- PyTorch {m['torch']} (CPU, {m['torch_threads']} threads)", ""]
    return "\n".join(lines + printed) + "\n"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", choices=NAMES, default=list(NAMES))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per network")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--dtype", nargs="+", choices=("float32", "float64"),
                        default=["float32"])
    parser.add_argument("--batch-size", type=int, help="instead of each network's own")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--markdown", type=Path,
                        help="also write a results page (machine, versions, the tables)")
    parser.add_argument("--breakdown", action="store_true",
                        help="profile each framework's step: the top 12 op kinds by self time")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--settle", type=float, default=0.2,
                        help="seconds between two steps (the other's threads stop spinning)")
    parser.add_argument("--rss-child", nargs=2, metavar=("NETWORK", "FRAMEWORK"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        name, fw_name = args.rss_child
        print(json.dumps(rss_child(name, fw_name, args.dtype[0], args.steps, args.warmup,
                                   args.batch_size)))
        return []
    printed: list[str] = []

    def out(text: str) -> None:
        print(text)
        printed.append(text)
    rows = run(args.networks, args.dtype, args.steps, args.warmup, True, not args.no_rss,
               args.breakdown, args.batch_size, args.settle, out=out)
    if args.markdown:
        command = "python benchmarks/bench_networks.py " + " ".join(argv or sys.argv[1:])
        args.markdown.write_text(markdown_page(printed, command))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
