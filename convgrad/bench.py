"""``convgrad bench``: forward and forward+backward of the benchmark configurations through
the public autograd path (``F.conv`` + ``backward``: ∂x, ∂w, ∂b), with GFLOP/s, the share of
the NumPy GEMM peak measured in the same run, peak extra memory, and — with ``--compare
torch`` — PyTorch (CPU) timed interleaved with convgrad, as a time ratio.

Machines are noisy: every case is timed in rounds that run all cases once, and the best round
counts; compare ratios from one run, never absolute times across runs.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
import tracemalloc
from importlib import resources
from typing import Callable

import numpy as np

from . import functional as F
from .autograd import Tensor, no_grad
from .ops import warmup


def load_configs() -> list[dict]:
    """The project's benchmark configurations (NCHW / NCL / NCDHW, PyTorch semantics)."""
    text = resources.files("convgrad.benchdata").joinpath("configs.json").read_text()
    return json.loads(text)["configs"]


def flops_per_pass(cfg: dict) -> float:
    """2·N·C_out·(C_in/groups)·ΠK·Π(out): multiply-adds counted as two FLOPs."""
    out = [(n + 2 * cfg["padding"] - cfg["dilation"] * (cfg["k"] - 1) - 1) // cfg["stride"] + 1
           for n in cfg["size"]]
    return (2.0 * cfg["N"] * cfg["Cout"] * cfg["Cin"] // cfg["groups"] * cfg["k"] ** cfg["dims"]
            * math.prod(out))


def inputs(cfg: dict, dtype: str, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    d = cfg["dims"]
    x = rng.standard_normal((cfg["N"], cfg["Cin"], *cfg["size"])).astype(dtype)
    w = rng.standard_normal((cfg["Cout"], cfg["Cin"] // cfg["groups"], *[cfg["k"]] * d))
    w = (w / math.sqrt(w[0].size)).astype(dtype)
    b = rng.standard_normal(cfg["Cout"]).astype(dtype)
    opts = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                groups=cfg["groups"])
    with no_grad():
        shape = F.conv(x, w, b, **opts).shape
    return {"x": x, "w": w, "b": b, "dy": rng.standard_normal(shape).astype(dtype), "opts": opts}


def convgrad_cases(data: dict) -> dict[str, Callable]:
    x, w, b, dy, opts = (data[k] for k in ("x", "w", "b", "dy", "opts"))

    def forward():
        with no_grad():
            return F.conv(x, w, b, **opts)

    def forward_backward():
        tx, tw, tb = (Tensor(a, requires_grad=True) for a in (x, w, b))
        F.conv(tx, tw, tb, **opts).backward(dy)
        return tx, tw, tb

    return {"cg_fwd": forward, "cg_fwdbwd": forward_backward}


def torch_cases(cfg: dict, data: dict) -> dict[str, Callable]:
    import torch  # noqa: PLC0415  (comparison only; the library never imports torch)

    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d,
            3: torch.nn.functional.conv3d}[cfg["dims"]]
    tx, tw, tb = (torch.tensor(data[k], requires_grad=True) for k in ("x", "w", "b"))
    tdy, opts = torch.tensor(data["dy"]), data["opts"]

    def forward():
        with torch.no_grad():
            return conv(tx, tw, tb, **opts)

    def forward_backward():
        tx.grad = tw.grad = tb.grad = None
        conv(tx, tw, tb, **opts).backward(tdy)

    return {"torch_fwd": forward, "torch_fwdbwd": forward_backward}


def best_times(cases: dict[str, Callable], repeat: int, burst_seconds: float = 0.2
               ) -> dict[str, float]:
    """Seconds per case: a warm-up, then ``repeat`` interleaved rounds in which each case runs
    back to back for ``burst_seconds`` (at least twice); the best call counts.

    The bursts matter when two frameworks alternate: after a call, each one's worker threads
    keep spinning for a while (OpenBLAS's for up to ~0.1 s), and whatever runs next shares the
    cores with them — PyTorch's first calls after convgrad's ran up to 2× slower. Within a
    burst a framework runs as in a training loop of its own, which is what is compared."""
    for fn in cases.values():
        fn()
    best = {name: math.inf for name in cases}
    for _ in range(max(1, repeat)):
        for name, fn in cases.items():
            burst_start, calls = time.perf_counter(), 0
            while calls < 2 or time.perf_counter() - burst_start < burst_seconds:
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - start)
                calls += 1
    return best


def gemm_peak(dtype: str, n: int = 2048, repeat: int = 5) -> float:
    """GFLOP/s of a square NumPy matmul: the ceiling every BLAS-bound path shares."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    t = best_times({"gemm": lambda: a @ a}, repeat)["gemm"]
    return 2 * n ** 3 / t / 1e9


def layer_gemm(cfg: dict, dtype: str, max_bytes: int = 32 * 2**20, repeat: int = 5) -> float:
    """GFLOP/s of the matmul an ideal im2col layer would run — ``(C_out/g) × (C_in/g·ΠK) ×
    (N·ΠM)`` per group, no copies, no output passes: the BLAS ceiling for this layer's shape
    (for wide layers a slice of the N·ΠM columns, up to ``max_bytes``, is timed)."""
    groups = cfg["groups"]
    co, depth = cfg["Cout"] // groups, cfg["Cin"] // groups * cfg["k"] ** cfg["dims"]
    positions = round(flops_per_pass(cfg) / (2 * cfg["Cout"] * depth))
    columns = max(1, min(positions, max_bytes // (depth * np.dtype(dtype).itemsize)))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((groups, co, depth)).astype(dtype)
    b = rng.standard_normal((groups, depth, columns)).astype(dtype)
    t = best_times({"gemm": lambda: np.matmul(a, b)}, repeat, burst_seconds=0.05)["gemm"]
    return 2.0 * groups * co * depth * columns / t / 1e9


def peak_extra_memory(fn: Callable) -> int:
    """Bytes allocated at the peak of one call beyond the arrays it returns (tracemalloc)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    kept = result if isinstance(result, tuple) else (result,)
    returned = sum(t.array.nbytes + (t.grad.array.nbytes if getattr(t, "grad", None) is not None
                                    else 0) for t in kept)
    return max(0, peak - returned)


def run(names=None, dtypes=("float32", "float64"), compare_torch: bool = False,
        repeat: int = 7, report=print) -> dict:
    """Measure; returns {"meta": …, "rows": […]} and reports each row as it is measured.
    The compiled Winograd code is built first (``warmup.prepare``): the steady state is timed,
    with the method choice of a built cache, not a background build finishing mid-run."""
    configs = [c for c in load_configs() if not names or c["name"] in names]
    if "float32" in dtypes:
        if not all(warmup.cached(*pair) for pair in warmup.AUTOMATIC):
            report("(building the compiled Winograd code first: instant with a warm cache, "
                   "about a minute per kernel without)")
        warmup.prepare()
    meta = machine_facts(compare_torch)
    meta["gemm_peak_gflops"] = {dt: gemm_peak(dt) for dt in dtypes}
    rows = []
    report(table_header(compare_torch))
    for dtype in dtypes:
        for cfg in configs:
            data = inputs(cfg, dtype)
            cases = convgrad_cases(data)
            if compare_torch:
                cases |= torch_cases(cfg, data)
            t = best_times(cases, repeat)
            gflops = 3 * flops_per_pass(cfg) / t["cg_fwdbwd"] / 1e9
            ceiling = layer_gemm(cfg, dtype)
            row = {"config": cfg["name"], "dtype": dtype,
                   **{k: v * 1e3 for k, v in t.items()},
                   "gflops_fwdbwd": gflops,
                   "peak_percent": 100 * gflops / meta["gemm_peak_gflops"][dtype],
                   "layer_gemm_gflops": ceiling,
                   "layer_gemm_percent": 100 * gflops / ceiling,
                   "extra_mib": peak_extra_memory(cases["cg_fwdbwd"]) / 2**20}
            if compare_torch:
                row["fwd_ratio"] = t["cg_fwd"] / t["torch_fwd"]
                row["fwdbwd_ratio"] = t["cg_fwdbwd"] / t["torch_fwdbwd"]
            rows.append(row)
            report(table_row(row, compare_torch))
    result = {"meta": meta, "rows": rows}
    for line in summary(result):
        report(line)
    return result


def config_shapes(cfg: dict) -> tuple[tuple[int, ...], tuple[int, ...], dict]:
    """x's and w's shapes and the conv options of a benchmark configuration."""
    x_shape = (cfg["N"], cfg["Cin"], *cfg["size"])
    w_shape = (cfg["Cout"], cfg["Cin"] // cfg["groups"], *[cfg["k"]] * cfg["dims"])
    opts = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                groups=cfg["groups"])
    return x_shape, w_shape, opts


def explain_plans(configs=None, dtypes=("float32", "float64"), prepare: bool = True) -> str:
    """``convgrad bench --explain``: per configuration (dicts as ``load_configs`` gives them,
    or their names; default all) and dtype, ``ops.plan``'s text — the algorithm of the
    forward, the input gradient and the weight gradient, and why every other one was not
    taken. Nothing is timed. ``prepare``: build the compiled Winograd code first, as
    ``run`` does, so these are the plans the benchmark times (without it a float32 3×3
    layer may say it waits for its code)."""
    from .ops import plan  # noqa: PLC0415

    every = load_configs()
    if configs is None:
        configs = every
    by_name = {c["name"]: c for c in every}
    unknown = [c for c in configs if isinstance(c, str) and c not in by_name]
    if unknown:
        raise ValueError(f"explain_plans: unknown configuration {unknown[0]!r}; choose from "
                         f"{', '.join(by_name)}")
    configs = [by_name[c] if isinstance(c, str) else c for c in configs]
    if prepare and "float32" in dtypes:
        warmup.prepare()
    blocks = []
    for dtype in dtypes:
        for cfg in configs:
            x_shape, w_shape, opts = config_shapes(cfg)
            blocks.append(f"== {cfg['name']} ({dtype}) ==\n"
                          f"{plan(x_shape, w_shape, dtype=dtype, **opts)}")
    return "\n\n".join(blocks)


def machine_facts(compare_torch: bool) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    from .engine.algorithms import fft  # noqa: PLC0415
    from .ops import blas, jit  # noqa: PLC0415

    facts = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu, "cores": os.cpu_count(),
             "python": platform.python_version(), "numpy": np.__version__,
             "blas": _blas_info(),
             "fft": "scipy.fft" if fft.FFT_OPTIONS else "numpy.fft",
             "compiled_kernels": jit.available(),
             "gemm_from_compiled_code": blas.gemm("float32") is not None}
    if compare_torch:
        import torch  # noqa: PLC0415

        facts["torch"] = torch.__version__
        facts["torch_threads"] = torch.get_num_threads()
    return facts


def _blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info  # noqa: PLC0415
    except ImportError:
        return "unknown (install threadpoolctl to see the BLAS and its threads)"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} "
                     f"threads)" for p in pools) or "none found"


def table_header(compare_torch: bool) -> str:
    cols = ["config", "dtype", "cg fwd ms", "cg fwd+bwd ms", "GFLOP/s", "% GEMM peak",
            "layer GEMM GFLOP/s", "% layer GEMM", "extra MiB"]
    if compare_torch:
        cols += ["torch fwd ms", "torch fwd+bwd ms", "fwd ratio", "fwd+bwd ratio"]
    return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


def table_row(r: dict, compare_torch: bool) -> str:
    cells = [r["config"], r["dtype"], f"{r['cg_fwd']:.2f}", f"{r['cg_fwdbwd']:.2f}",
             f"{r['gflops_fwdbwd']:.0f}", f"{r['peak_percent']:.0f}",
             f"{r['layer_gemm_gflops']:.0f}", f"{r['layer_gemm_percent']:.0f}",
             f"{r['extra_mib']:.0f}"]
    if compare_torch:
        cells += [f"{r['torch_fwd']:.2f}", f"{r['torch_fwdbwd']:.2f}", f"{r['fwd_ratio']:.2f}",
                  f"{r['fwdbwd_ratio']:.2f}"]
    return "| " + " | ".join(cells) + " |"


def summary(result: dict) -> list[str]:
    lines = []
    peaks = result["meta"]["gemm_peak_gflops"]
    for dtype in peaks:
        rows = [r for r in result["rows"] if r["dtype"] == dtype]
        if not rows:
            continue
        text = f"{dtype}: GEMM peak {peaks[dtype]:.0f} GFLOP/s"
        if "fwdbwd_ratio" in rows[0]:
            ratios = [r["fwdbwd_ratio"] for r in rows]
            worst = max(rows, key=lambda r: r["fwdbwd_ratio"])
            text += (f"; fwd+bwd time ratio convgrad/torch: geometric mean "
                     f"{math.exp(np.mean(np.log(ratios))):.2f}, worst {worst['fwdbwd_ratio']:.2f}"
                     f" ({worst['config']})")
        lines.append(text)
    return lines


def markdown(result: dict, command: str) -> str:
    """A results page: machine, versions, date, the table and the summary."""
    m = result["meta"]
    compare = "torch" in m
    lines = ["# convgrad benchmark results", "",
             f"Regenerate with `{command}`. Forward + backward computes ∂x, ∂w and ∂b through "
             f"the public autograd path (`F.conv` + `backward`); GFLOP/s counts 3 passes of "
             f"2·N·C_out·(C_in/groups)·ΠK·Π(out), the direct sum's arithmetic (layers computed "
             f"by FFT or Winograd do less, so they can pass the layer's GEMM ceiling); "
             f"% GEMM peak is against a square NumPy matmul "
             f"timed in the same run; layer GEMM is one matmul of the layer's own im2col shape "
             f"(C_out/g × C_in/g·ΠK × N·ΠM per group, no copies) — the BLAS ceiling for that "
             f"shape, which for skinny layers is well below the square peak; extra MiB is the "
             f"peak allocation of one forward + backward beyond its outputs (tracemalloc). "
             f"Best of interleaved rounds; the machine is noisy, so compare ratios, not "
             f"absolute times.", "",
             f"- date: {m['date']}", f"- CPU: {m['cpu']} ({m['cores']} cores)",
             f"- Python {m['python']}, NumPy {m['numpy']}, BLAS: {m['blas']}",
             f"- FFT: {m['fft']}; compiled kernels (numba: depthwise taps, tap sums, Winograd "
             f"transforms): {'yes' if m['compiled_kernels'] else 'no'}; BLAS gemm called from "
             f"the compiled Winograd shares: "
             f"{'yes' if m.get('gemm_from_compiled_code') else 'no'}"]
    if compare:
        lines.append(f"- PyTorch {m['torch']} (CPU, {m['torch_threads']} threads)")
    lines += ["- GEMM peak: " + ", ".join(f"{k} {v:.0f} GFLOP/s"
                                           for k, v in m["gemm_peak_gflops"].items()), "",
              table_header(compare)]
    lines += [table_row(r, compare) for r in result["rows"]]
    lines += [""] + [f"- {line}" for line in summary(result)]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: str) -> None:
    """Bar chart: fwd+bwd ratio to torch per configuration (or GFLOP/s without torch)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = result["rows"]
    key, label = (("fwdbwd_ratio", "time ratio convgrad / torch (fwd+bwd; < 1: faster)")
                  if rows and "fwdbwd_ratio" in rows[0] else ("gflops_fwdbwd", "GFLOP/s"))
    configs = list(dict.fromkeys(r["config"] for r in rows))
    dtypes = list(dict.fromkeys(r["dtype"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(configs)), 4.2), constrained_layout=True)
    width = 0.8 / len(dtypes)
    for i, dtype in enumerate(dtypes):
        values = [next((r[key] for r in rows if r["config"] == c and r["dtype"] == dtype), 0)
                  for c in configs]
        ax.bar(np.arange(len(configs)) + i * width, values, width, label=dtype)
    if key == "fwdbwd_ratio":
        ax.axhline(1.0, color="#444444", linewidth=1)
    ax.set_xticks(np.arange(len(configs)) + width * (len(dtypes) - 1) / 2, configs,
                  rotation=30, ha="right")
    ax.set_ylabel(label)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
