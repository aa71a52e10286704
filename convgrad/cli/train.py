"""``convgrad train``: the small CNN on digits, a .npz file or MNIST IDX files; --out writes
model.npz, metrics.json and curves.png, --onnx the exported net."""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np

from .. import __version__
from .usage import output_dir, output_file, require


def run_train(args) -> int:
    from .. import data as datasets  # noqa: PLC0415
    from ..progress import Progress  # noqa: PLC0415
    from ..serialization import save  # noqa: PLC0415
    from ..train import check_image_shape, fit, resolve_augment, resolve_schedule  # noqa: PLC0415

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
    from ..autograd import Tensor, no_grad  # noqa: PLC0415
    from ..onnx import export  # noqa: PLC0415

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
