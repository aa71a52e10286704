"""The ``convgrad`` command line. User errors print one line on stderr and exit with code 2."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from typing import Sequence

import numpy as np

from . import __version__
from .data import DataError


class UsageError(Exception):
    """Bad arguments or unusable data: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):                 # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _integer(minimum: int, meaning: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected a {meaning} integer, got {text!r}")
        return value
    return parse


_positive_int, _seed = _integer(1, "positive"), _integer(0, "non-negative")


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="convgrad", description="Convolution forward and backward, as "
                     "convolutions: train a CNN, and more.")
    parser.add_argument("--version", action="version", version=f"convgrad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    train = commands.add_parser(
        "train", help="train a small CNN on bundled digits, a .npz file or MNIST IDX files",
        description="Train conv(3×3)–ReLU–maxpool–conv(3×3)–ReLU–maxpool–linear with Adam. "
                    "Default data: scikit-learn's 8×8 digits (80/20 split by --seed).")
    train.add_argument("--data", default="digits", metavar="digits|FILE.npz|IDX-DIR",
                       help="'digits' (default); a .npz with x (N,H,W)/(N,C,H,W), integer y and "
                            "optional x_test, y_test; or a folder of MNIST IDX files")
    train.add_argument("--epochs", type=_positive_int, default=30)
    train.add_argument("--batch-size", type=_positive_int, default=64)
    train.add_argument("--lr", type=_learning_rate, default=1e-2, help="Adam learning rate")
    train.add_argument("--seed", type=_seed, default=0, help="governs init, split and order")
    train.add_argument("--augment", choices=("auto", "shift", "none"), default="auto",
                       help="random shifts of up to ±2 pixels per image and batch; auto: for "
                            "images of at least 16×16")
    train.add_argument("--schedule", choices=("auto", "cosine", "constant"), default="auto",
                       help="learning rate per epoch; auto: cosine decay when augmenting")
    train.add_argument("--out", metavar="DIR",
                       help="write model.npz, metrics.json and curves.png here")
    ex = commands.add_parser(
        "explain", help="derive conv backprop for a configuration (symbolic, verified, drawn)",
        description="Build O = X ⋆ F from the definition with SymPy, differentiate it, show "
                    "∂L/∂F and ∂L/∂X for every element, recognise the two convolution patterns "
                    "and verify them symbolically and against convgrad's engine. Defaults: the "
                    "textbook X 3×3, F 2×2.")
    ex.add_argument("--input", default="3x3", help="input size: 5 (1-d) or 3x3 (2-d)")
    ex.add_argument("--kernel", default=None, help="kernel size, e.g. 2x2 (default 2 per dim)")
    ex.add_argument("--stride", default="1", help="S or SxS")
    ex.add_argument("--padding", default="0",
                    help="P, PxP, LO:HI per dim (e.g. 1:0x0:1), same, valid or full")
    ex.add_argument("--dilation", default="1", help="D or DxD (1 = none)")
    ex.add_argument("--in-channels", type=_positive_int, default=1)
    ex.add_argument("--out-channels", type=_positive_int, default=1)
    ex.add_argument("--groups", type=_positive_int, default=1)
    ex.add_argument("--values", default="-2,5,-4", metavar="X,Y,Z",
                    help="x, y, z of the chain-rule prelude f = (x + y)·z")
    ex.add_argument("--format", choices=("text", "markdown", "html", "json"), default="text")
    ex.add_argument("--out", metavar="DIR", help="write the report and its figures here")
    ex.add_argument("--max-equations", type=_positive_int, default=300,
                    help="refuse configurations with more equations than this (default 300)")
    ex.add_argument("--seed", type=_seed, default=0, help="random numbers of the numeric check")
    bench = commands.add_parser(
        "bench", help="time convolutions (forward, forward+backward) against the GEMM peak "
                      "and, optionally, PyTorch",
        description="Time the benchmark configurations through the autograd path: ms, GFLOP/s, "
                    "%% of the NumPy GEMM peak measured in the same run, peak extra memory, and "
                    "with --compare torch the time ratio to PyTorch (CPU).")
    bench.add_argument("--configs", nargs="+", metavar="NAME", help="a subset (default: all)")
    bench.add_argument("--dtype", nargs="+", choices=("float32", "float64"),
                       default=["float32", "float64"])
    bench.add_argument("--compare", choices=("torch",), help="also time PyTorch, interleaved")
    bench.add_argument("--repeat", type=_positive_int, default=5,
                       help="interleaved rounds (each case runs back to back for 0.2 s per round)")
    bench.add_argument("--json", metavar="FILE", help="write the rows and machine facts")
    bench.add_argument("--plot", metavar="FILE.png", help="bar chart of the ratios (or GFLOP/s)")
    bench.add_argument("--markdown", metavar="FILE", help="a results page (benchmarks/RESULTS.md)")
    chk = commands.add_parser(
        "check", help="verify your own conv forward/backward; find the smallest failing case",
        description="Search the configurations your function claims (hypothesis, shrinking) for "
                    "the smallest one where it disagrees with convgrad; report the first wrong "
                    "element, its expected equation and a diagnosis. Exit 0 pass, 1 fail.")
    chk.add_argument("target", help="FILE.py:FUNCTION or package.module:FUNCTION")
    chk.add_argument("--kind", choices=("forward", "backward"), default="forward")
    chk.add_argument("--style", choices=("torch", "course"), default="torch",
                     help="torch: f(x, w, b, stride, padding); course: conv_forward(x, w, b, "
                          "conv_param) -> (out, cache), conv_backward(dout, cache)")
    chk.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw",
                     help="nhwc takes weights as (KH, KW, C_in, C_out)")
    chk.add_argument("--forward", metavar="NAME",
                     help="course style backward: the forward that makes the cache (default: "
                          "conv_forward in the same module)")
    chk.add_argument("--dims", type=int, choices=(1, 2, 3), default=2)
    chk.add_argument("--features", default="stride,padding,nonsquare",
                     help="what the function supports, comma-separated from stride, padding, "
                          "dilation, groups, nonsquare (or 'none')")
    chk.add_argument("--max-examples", type=_positive_int, default=200)
    chk.add_argument("--timeout", type=_learning_rate, default=10.0,
                     help="seconds per call before it counts as a hang")
    chk.add_argument("--rtol", type=_learning_rate, default=1e-6)
    chk.add_argument("--seed", type=_seed, default=0)
    chk.add_argument("--out", metavar="DIR", help="write check_failure.png (expected/got/diff)")
    check = commands.add_parser(
        "gradcheck", help="check every differentiable op against finite differences",
        description="Compare the analytic first and second derivatives of every differentiable "
                    "op with float64 central differences along random directions.")
    check.add_argument("--order", type=int, choices=(1, 2), nargs="+", default=[1, 2])
    check.add_argument("--ops", nargs="+", metavar="NAME", help="only these ops (see the table)")
    check.add_argument("--seed", type=_seed, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        commands = {"train": run_train, "gradcheck": run_gradcheck, "explain": run_explain,
                    "bench": run_bench, "check": run_check}
        return commands[args.command](args)
    except (UsageError, DataError) as e:
        print(f"convgrad: error: {e}" if isinstance(e, DataError) else f"{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("convgrad: interrupted", file=sys.stderr)
        return 130


def run_train(args) -> int:
    from . import data as datasets  # noqa: PLC0415
    from .progress import Progress  # noqa: PLC0415
    from .serialization import save  # noqa: PLC0415
    from .train import fit, resolve_augment, resolve_schedule  # noqa: PLC0415

    if args.out:
        _prepare_out(args.out)
    dataset = datasets.load(args.data, seed=args.seed)
    c, h, w = dataset.image_shape
    print(f"data: {dataset.name}  {len(dataset.x_train)} train / {len(dataset.x_test)} test "
          f"images of {c}×{h}×{w}, {dataset.classes} classes", flush=True)
    if dataset.scale:
        print(f"note: float images span [{dataset.scale[0]:g}, {dataset.scale[1]:g}]; mapped "
              f"onto [0, 1] with the training set's range", flush=True)
    batches = -(-len(dataset.x_train) // args.batch_size)
    progress = Progress(args.epochs, batches)

    def on_epoch(epoch, history):
        progress.finish(epoch, f"loss {history.train_loss[-1]:.4f}  train acc "
                               f"{history.train_accuracy[-1]:6.2%}  test acc "
                               f"{history.test_accuracy[-1]:6.2%}  "
                               f"{history.epoch_seconds[-1]:.2f} s")
        progress.begin()

    started = time.perf_counter()
    augmented = resolve_augment(args.augment, dataset.image_shape)
    schedule = resolve_schedule(args.schedule, augmented)
    if augmented or schedule != "constant":
        print(f"training with {'random shifts (±2 px), ' if augmented else ''}{schedule} "
              f"learning rate", flush=True)
    model, history = fit(dataset, args.epochs, args.batch_size, args.lr, args.seed,
                         on_batch=progress.update, on_epoch=on_epoch,
                         augment="shift" if augmented else "none", schedule=schedule)
    seconds = time.perf_counter() - started
    print(f"test accuracy {history.test_accuracy[-1]:.2%} after {args.epochs} epochs in "
          f"{seconds:.1f} s")
    if args.out:
        metrics = {
            "test_accuracy": history.test_accuracy[-1],
            "train_loss": history.train_loss,
            "train_accuracy": history.train_accuracy,
            "test_accuracy_per_epoch": history.test_accuracy,
            "test_loss": history.test_loss,
            "epoch_seconds": history.epoch_seconds,
            "seconds": seconds,
            "config": {"data": args.data, "epochs": args.epochs, "batch_size": args.batch_size,
                       "lr": args.lr, "seed": args.seed, "optimizer": "Adam",
                       "augment": "shift" if augmented else "none", "schedule": schedule,
                       "image_shape": [c, h, w], "classes": dataset.classes,
                       "train_images": len(dataset.x_train), "test_images": len(dataset.x_test),
                       "input_range_mapped_to_0_1": dataset.scale},
            "versions": {"convgrad": __version__, "numpy": np.__version__,
                         "python": platform.python_version()},
        }
        save(model.state_dict(), os.path.join(args.out, "model.npz"))
        with open(os.path.join(args.out, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
        wrote = ["model.npz", "metrics.json"]
        if _plot_curves(history, os.path.join(args.out, "curves.png")):
            wrote.append("curves.png")
        print(f"wrote {', '.join(wrote)} to {args.out}")
    return 0


def run_explain(args) -> int:
    """Print the derivation (or write it with figures to --out); exit 2 on a bad config."""
    try:
        from . import explain as ex  # noqa: PLC0415
        from .explain import render  # noqa: PLC0415

        size = ex.parse_size(args.input, "--input")
        kernel = (ex.parse_size(args.kernel, "--kernel") if args.kernel else (2,) * len(size))
        if len(kernel) == 1 and len(size) == 2:
            kernel = kernel * 2
        stride, dilation = (_per_dim(ex.parse_size(v, name), len(size), name) for v, name in
                            ((args.stride, "--stride"), (args.dilation, "--dilation")))
        values = tuple(float(v) for v in args.values.split(","))
        if len(values) != 3:
            raise ValueError(f"--values needs three numbers x,y,z, got {args.values!r}")
        report = ex.explain(size, kernel, stride, ex.parse_padding(args.padding), dilation,
                            args.in_channels, args.out_channels, args.groups, values,
                            args.max_equations, args.seed)
        if args.out:
            written = render.write(report, args.format, args.out)
            print(f"wrote {', '.join(written)} to {args.out}")
        elif args.format == "html":
            import tempfile  # noqa: PLC0415

            from .explain.figures import draw_all  # noqa: PLC0415
            with tempfile.TemporaryDirectory() as tmp:
                print(render.to_html(report, draw_all(report, tmp)), end="")
        else:
            print({"text": render.to_text, "markdown": render.to_markdown,
                   "json": render.to_json}[args.format](report), end="")
    except ImportError as e:
        raise UsageError(f"convgrad explain: {e}") from None
    except ValueError as e:
        raise UsageError(f"convgrad explain: {e}" if not str(e).startswith(("explain:",))
                         else f"convgrad {e}") from None
    ok = all(report["verified"].values())
    return 0 if ok else 1


def _per_dim(values: tuple, ndim: int, name: str) -> tuple:
    if len(values) == 1:
        return values * ndim
    if len(values) != ndim:
        raise ValueError(f"{name} has {len(values)} values for a {ndim}-d input")
    return values


def run_check(args) -> int:
    from . import check  # noqa: PLC0415

    features = () if args.features == "none" else tuple(
        f.strip() for f in args.features.split(",") if f.strip())
    module, name = _load_target(args.target)
    fn = getattr(module, name)
    forward = None
    if args.kind == "backward" and args.style == "course":
        forward_name = args.forward or ("conv_forward" if hasattr(module, "conv_forward")
                                        else name.replace("backward", "forward"))
        if not hasattr(module, forward_name):
            raise UsageError(f"convgrad check: the course style backward needs its forward: "
                             f"{args.target.rsplit(':', 1)[0]} has no {forward_name!r} (pass "
                             f"--forward NAME)")
        forward = getattr(module, forward_name)
    options = dict(style=args.style, layout=args.layout, dims=args.dims, features=features,
                   max_examples=args.max_examples, timeout=args.timeout, rtol=args.rtol,
                   seed=args.seed)
    try:
        report = (check.conv_forward(fn, **options) if args.kind == "forward"
                  else check.conv_backward(fn, forward, **options))
    except ValueError as e:
        raise UsageError(f"convgrad {e}") from None
    report.name = name
    print(check.render_text(report), end="")
    if args.out and not report.passed:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "check_failure.png")
        if check.save_figure(report, path):
            print(f"wrote {path}")
    return 0 if report.passed else 1


def _load_target(target: str):
    """(module, function name) from FILE.py:FUNCTION or package.module:FUNCTION."""
    import importlib  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"convgrad check: target must be FILE.py:FUNCTION or "
                         f"package.module:FUNCTION, got {target!r}")
    try:
        if where.endswith(".py"):
            if not os.path.isfile(where):
                raise UsageError(f"convgrad check: {where}: no such file")
            spec = importlib.util.spec_from_file_location(
                os.path.splitext(os.path.basename(where))[0], where)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except UsageError:
        raise
    except Exception as e:  # noqa: BLE001  (importing user code may raise anything)
        raise UsageError(f"convgrad check: importing {where} failed: {type(e).__name__}: "
                         f"{e}") from None
    if not callable(getattr(module, name, None)):
        raise UsageError(f"convgrad check: {where} has no function {name!r}")
    return module, name


def run_bench(args) -> int:
    from . import bench  # noqa: PLC0415

    known = [c["name"] for c in bench.load_configs()]
    unknown = [n for n in args.configs or [] if n not in known]
    if unknown:
        raise UsageError(f"convgrad bench: unknown configuration {unknown[0]!r}; choose from "
                         f"{', '.join(known)}")
    if args.compare == "torch":
        try:
            import torch  # noqa: F401, PLC0415
        except ImportError:
            raise UsageError('convgrad bench: --compare torch needs PyTorch: pip install '
                             '"convgrad[bench]"') from None
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


def run_gradcheck(args) -> int:
    """Exit 0 when every op passes, 1 when one fails (the row says which and how)."""
    from . import selfcheck  # noqa: PLC0415

    try:
        ok = selfcheck.run(tuple(args.order), args.ops, args.seed)
    except KeyError as e:
        raise UsageError(f"convgrad gradcheck: {e.args[0]}") from None
    print("all gradients agree with finite differences" if ok else "some gradients are wrong")
    return 0 if ok else 1


def _prepare_out(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise UsageError(f"convgrad train: --out {folder}: cannot create the folder "
                         f"({e})") from None
    if not os.access(folder, os.W_OK):
        raise UsageError(f"convgrad train: --out {folder}: folder is not writable")


def _plot_curves(history, path: str) -> bool:
    try:
        import matplotlib  # noqa: PLC0415
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print('note: curves.png needs matplotlib: pip install "convgrad[plot]"', file=sys.stderr)
        return False
    epochs = np.arange(1, len(history.train_loss) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    left.plot(epochs, history.train_loss, "o-", color="tab:blue", label="train")
    left.plot(epochs, history.test_loss, "s--", color="tab:orange", label="test")
    left.set(title="cross-entropy loss", xlabel="epoch", ylabel="loss", yscale="log")
    right.plot(epochs, np.array(history.train_accuracy) * 100, "o-", color="tab:blue",
               label="train")
    right.plot(epochs, np.array(history.test_accuracy) * 100, "s--", color="tab:orange",
               label="test")
    right.set(title=f"accuracy (final test {history.test_accuracy[-1]:.2%})", xlabel="epoch",
              ylabel="accuracy (%)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


if __name__ == "__main__":
    sys.exit(main())
