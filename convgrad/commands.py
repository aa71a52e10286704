"""The ``convgrad`` subcommands. Each first checks what it needs (optional dependencies, every
output path, the data), raising ``UsageError`` before any work; then it works."""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np

from . import __version__
from .cli import UsageError, output_dir, output_file, require


def run_train(args) -> int:
    from . import data as datasets  # noqa: PLC0415
    from .progress import Progress  # noqa: PLC0415
    from .serialization import save  # noqa: PLC0415
    from .train import check_image_shape, fit, resolve_augment, resolve_schedule  # noqa: PLC0415

    if args.data == "digits":
        require("sklearn", "data", "scikit-learn", "the bundled digits data ")
    output_dir("--out", args.out)
    if args.onnx is not None:
        require("onnx", "onnx", "onnx", "--onnx ")
        output_file("--onnx", args.onnx)
    dataset = datasets.load(args.data, seed=args.seed)
    check_image_shape(dataset.image_shape)
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
        os.makedirs(args.out, exist_ok=True)
        save(model.state_dict(), os.path.join(args.out, "model.npz"))
        with open(os.path.join(args.out, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
        wrote = ["model.npz", "metrics.json"]
        if _plot_curves(history, os.path.join(args.out, "curves.png")):
            wrote.append("curves.png")
        print(f"wrote {', '.join(wrote)} to {args.out}")
    if args.onnx is not None:
        _export_onnx(model, dataset.x_test, args.onnx)
    return 0


def _export_onnx(model, images: np.ndarray, path: str) -> None:
    """``model`` as ONNX (input ``images`` (N, C, H, W) float32, output ``logits``, the batch
    dynamic); when onnxruntime is installed, its logits on test images are compared."""
    from .autograd import Tensor, no_grad  # noqa: PLC0415
    from .onnx import export  # noqa: PLC0415

    sample = np.ascontiguousarray(images[:256], dtype=np.float32)
    export(model, (Tensor(sample[:1]),), path, input_names=["images"],
           output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    try:
        import onnxruntime  # noqa: PLC0415
    except ImportError:
        print(f"wrote {path} (ONNX; run it with onnxruntime)")
        return
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": sample})[0]
    model.eval()
    with no_grad():
        want = model(Tensor(sample)).numpy()
    error = float(np.max(np.abs(got - want))) if got.size else 0.0
    print(f"wrote {path} (ONNX); onnxruntime reproduces the logits of {len(sample)} test "
          f"images to {error:.1e}")


def run_explain(args) -> int:
    """Print the derivation (or write it with figures to --out); exit 2 on a bad config."""
    require("sympy", "explain")
    if args.out or args.format == "html":
        require("matplotlib", "explain", why="figures (--out, --format html) ")
    output_dir("--out", args.out)
    from . import explain as ex  # noqa: PLC0415
    from .explain import render  # noqa: PLC0415

    try:
        size = ex.parse_size(args.input, "--input")
        kernel = (ex.parse_size(args.kernel, "--kernel") if args.kernel else (2,) * len(size))
        if len(kernel) == 1 and len(size) == 2:
            kernel = kernel * 2
        stride, dilation = (_per_dim(ex.parse_size(v, name), len(size), name) for v, name in
                            ((args.stride, "--stride"), (args.dilation, "--dilation")))
        values = tuple(_number(v, "--values") for v in args.values.split(","))
        if len(values) != 3:
            raise ValueError(f"--values needs three numbers x,y,z, got {args.values!r}")
        report = ex.explain(size, kernel, stride, ex.parse_padding(args.padding), dilation,
                            args.in_channels, args.out_channels, args.groups, values,
                            args.max_equations, args.seed)
    except ValueError as e:
        raise UsageError(str(e).removeprefix("explain: ")) from None
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
    return 0 if all(report["verified"].values()) else 1


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}: expected numbers, got {text!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected finite numbers, got {text!r}")
    return value


def _per_dim(values: tuple, ndim: int, name: str) -> tuple:
    if len(values) == 1:
        return values * ndim
    if len(values) != ndim:
        raise ValueError(f"{name} has {len(values)} values for a {ndim}-d input")
    return values


def run_check(args) -> int:
    """Exit 0: every checked function passed; 1: one is wrong (with ``--kind backward`` the
    backward's verdict decides, its forward's is reported); 2: a usage error."""
    require("hypothesis", "check")
    if args.out:
        require("matplotlib", "plot", why="--out (the failure's figure) ")
    output_dir("--out", args.out)
    from . import check  # noqa: PLC0415
    from .check.capture import summary  # noqa: PLC0415
    from .check.conventions import guess, partner  # noqa: PLC0415

    features = () if args.features == "none" else tuple(
        f.strip() for f in args.features.split(",") if f.strip())
    unknown = [f for f in features if f not in check.FEATURES]
    if unknown:
        raise UsageError(f"unknown feature {unknown[0]!r}; choose from "
                         f"{', '.join(check.FEATURES)} (or 'none')")
    if args.assume_tiling and "tiled" not in features:
        features += ("tiled",)
    module, name, printed = _load_target(args.target, args.timeout)
    where = args.target.rsplit(":", 1)[0]
    fn = getattr(module, name)
    style_guess, role = guess(fn, name)
    role = role or "forward"
    if args.kind in ("forward", "backward"):
        role = args.kind
    other = partner(module, name, role, args.forward if role == "backward" else None)
    kind = args.kind or ("both" if other else role)
    if kind == "both" and other is None:
        if role == "forward":
            looked = name.replace("forward", "backward") if "forward" in name else \
                f"{name}_backward"
            raise UsageError(f"--kind both: {where} has no backward {looked!r} to go with "
                             f"{name!r}")
        raise UsageError(f"--kind both: {where} has no forward to go with {name!r} (pass "
                         f"--forward NAME)")
    names = {role: name, ("backward" if role == "forward" else "forward"): other}
    functions = {k: getattr(module, v) if v else None for k, v in names.items()}
    style = args.style or style_guess or (guess(functions["forward"])[0]
                                          if functions["forward"] else None) or "torch"
    if kind == "backward" and style == "course" and functions["forward"] is None:
        forward_name = args.forward or name.replace("backward", "forward")
        raise UsageError(f"the course style backward needs its forward: {where} has no "
                         f"function {forward_name!r} (pass --forward NAME)")
    options = dict(style=style, layout=args.layout, dims=args.dims, features=features,
                   max_examples=args.max_examples, timeout=args.timeout, rtol=args.rtol,
                   seed=args.seed)
    try:
        if kind == "forward":
            reports = [check.conv_forward(functions["forward"], **options)]
            deciding = reports
        elif kind == "backward":
            report = check.conv_backward(functions["backward"], functions["forward"],
                                         **options)
            deciding = [report]
            reports = [r for r in (report.forward_report, report) if r is not None]
        else:
            reports = deciding = list(check.conv_pair(functions["forward"],
                                                      functions["backward"], **options))
    except check.CheckError as e:
        raise UsageError(str(e).removeprefix("check: ")) from None
    for report in reports:
        report.name = names[report.kind]
        if report.forward_name is not None:
            report.forward_name = names["forward"]
    for line in summary(printed, f"importing {where}", args.show_output):
        print(line)
    print("\n".join(check.render_text(r, args.show_output) for r in reports), end="")
    failed = [r for r in deciding if not r.passed]
    if args.out and failed:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "check_failure.png")
        if check.save_figure(failed[0], path):
            print(f"wrote {path}")
    return 1 if failed else 0


def _load_target(target: str, timeout: float):
    """(module, function name, the lines the import printed) from FILE.py:FUNCTION or
    package.module:FUNCTION; the import runs under the same time limit as the checked calls,
    and may not exit."""
    import importlib  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    from .check.adapters import UserCodeError  # noqa: PLC0415
    from .check.capture import Capture  # noqa: PLC0415
    from .check.runner import call_with_timeout  # noqa: PLC0415

    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"target must be FILE.py:FUNCTION or package.module:FUNCTION, got "
                         f"{target!r}")
    if where.endswith(".py") and not os.path.isfile(where):
        raise UsageError(f"{where}: no such file")

    def import_target():
        if not where.endswith(".py"):
            return importlib.import_module(where)
        spec = importlib.util.spec_from_file_location(
            os.path.splitext(os.path.basename(where))[0], where)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    files = {os.path.normcase(os.path.realpath(where))} if where.endswith(".py") else set()
    try:
        with Capture() as printed:
            module = call_with_timeout(import_target, timeout, files=files)
    except UserCodeError as e:
        if e.kind == "hang":
            raise UsageError(f"importing {where} did not finish within {timeout:g} s "
                             f"(--timeout); does it run something at import?") from None
        if isinstance(e.cause, SystemExit):
            raise UsageError(f"importing {where} called sys.exit({e.cause.code!r}); a module "
                             f"to check must not exit at import (put its script part under "
                             f"if __name__ == '__main__':)") from None
        raise UsageError(f"importing {where} failed: {e}") from None
    if not callable(getattr(module, name, None)):
        raise UsageError(f"{where} has no function {name!r}")
    return module, name, printed.lines


def run_bench(args) -> int:
    from . import bench  # noqa: PLC0415

    known = [c["name"] for c in bench.load_configs()]
    unknown = [n for n in args.configs or [] if n not in known]
    if unknown:
        raise UsageError(f"unknown configuration {unknown[0]!r}; choose from "
                         f"{', '.join(known)}")
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


def run_gradcheck(args) -> int:
    """Exit 0 when every op passes, 1 when one fails (the row says which and how)."""
    from . import selfcheck  # noqa: PLC0415

    try:
        labels = selfcheck.select(args.ops)
    except ValueError as e:
        raise UsageError(str(e)) from None
    ok = selfcheck.run(tuple(args.order), labels, args.seed)
    print("all gradients agree with finite differences" if ok else "some gradients are wrong")
    return 0 if ok else 1


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
