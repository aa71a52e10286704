"""The training loop behind ``convgrad train``: a small CNN, Adam, cross entropy, mini-batches.

The network (the training anchor of the benchmarks) adapts to the data::

    conv 3×3 (C→8, pad 1) → ReLU → max-pool 2 → conv 3×3 (8→16, pad 1) → ReLU → max-pool 2
    → flatten → linear (16·⌊H/4⌋·⌊W/4⌋ → classes)

Everything random (initial weights, batch order) follows ``seed``: the same seed gives the same
numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import functional as F
from . import nn, optim
from .autograd import Tensor, no_grad
from .data import DataError, Dataset
from .random import generator, manual_seed


def check_image_shape(image_shape: tuple[int, int, int]) -> None:
    """DataError unless the CNN above can take images (C, H, W): two 2×2 poolings need 4×4."""
    _, height, width = image_shape
    if height < 4 or width < 4:
        raise DataError(f"images of {height}×{width} are too small for two 2×2 poolings "
                        f"(need at least 4×4)")


def build_model(image_shape: tuple[int, int, int], classes: int) -> nn.Sequential:
    """The CNN above for images (C, H, W) and ``classes`` outputs (float32)."""
    check_image_shape(image_shape)
    channels, height, width = image_shape
    return nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * (height // 4) * (width // 4), classes))


@dataclass
class History:
    """Per-epoch numbers of one training run."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 512
             ) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) of ``model`` in eval mode, without a graph."""
    model.eval()
    total_loss, correct = 0.0, 0
    with no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(Tensor(x[start:start + batch_size]))
            labels = y[start:start + batch_size]
            total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += int((logits.array.argmax(axis=1) == labels).sum())
    return total_loss / len(x), correct / len(x)


AUGMENT_FROM = 16        # images at least this tall and wide are augmented by default
MAX_SHIFT = 2            # pixels: random translations of up to ±2 (7 % of a 28-pixel side)


def shift_batch(images: np.ndarray, rng: np.random.Generator, max_shift: int = MAX_SHIFT
                ) -> np.ndarray:
    """Each image moved by its own random (dy, dx) ∈ [−max_shift, max_shift]², zero-filled."""
    batch, _, height, width = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (max_shift,) * 2, (max_shift,) * 2))
    views = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(2, 3))
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, batch))
    return np.ascontiguousarray(views[np.arange(batch), :, dy, dx])


def resolve_augment(augment: str, image_shape) -> bool:
    """'auto' augments images of at least AUGMENT_FROM pixels per side ('shift' / 'none')."""
    if augment not in ("auto", "shift", "none"):
        raise ValueError(f"augment must be auto, shift or none, got {augment!r}")
    return augment == "shift" or (augment == "auto" and min(image_shape[1:]) >= AUGMENT_FROM)


def resolve_schedule(schedule: str, augmented: bool) -> str:
    """'auto' is a cosine decay when augmenting (shifted copies keep the loss noisy; the decay
    settles it), constant otherwise."""
    if schedule not in ("auto", "cosine", "constant"):
        raise ValueError(f"schedule must be auto, cosine or constant, got {schedule!r}")
    return ("cosine" if augmented else "constant") if schedule == "auto" else schedule


def fit(data: Dataset, epochs: int = 20, batch_size: int = 64, lr: float = 1e-2,
        seed: int = 0, on_batch: Callable[[int, int, float, float, int], None] | None = None,
        on_epoch: Callable[[int, History], None] | None = None, augment: str = "auto",
        schedule: str = "auto") -> tuple[nn.Module, History]:
    """Train ``build_model`` on ``data`` with Adam; returns the model and its history.

    ``augment``: random shifts of up to ±2 pixels per image and batch ('auto': for images of
    at least 16×16). ``schedule``: the learning rate per epoch, constant or a cosine decay
    ``lr·(1 + cos(π·e/E))/2`` ('auto': cosine exactly when augmenting).
    ``on_batch(epoch, batches_done, mean_loss, accuracy, images_done)`` and
    ``on_epoch(epoch, history)`` report progress.
    """
    manual_seed(seed)
    rng = generator()
    augmented = resolve_augment(augment, data.image_shape)
    schedule = resolve_schedule(schedule, augmented)
    model = build_model(data.image_shape, data.classes)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    history = History()
    n = len(data.x_train)
    for epoch in range(epochs):
        start = time.perf_counter()
        if schedule == "cosine":
            optimizer.param_groups[0]["lr"] = lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        model.train()
        order = rng.permutation(n)
        seen, loss_sum, correct = 0, 0.0, 0
        for b, first in enumerate(range(0, n, batch_size)):
            idx = order[first:first + batch_size]
            images = data.x_train[idx]
            if augmented:
                images = shift_batch(images, rng)
            logits = model(Tensor(images))
            loss = F.cross_entropy(logits, data.y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            correct += int((logits.array.argmax(axis=1) == data.y_train[idx]).sum())
            if on_batch:
                on_batch(epoch, b + 1, loss_sum / seen, correct / seen, seen)
        history.train_loss.append(loss_sum / n)
        history.train_accuracy.append(correct / n)
        history.epoch_seconds.append(time.perf_counter() - start)
        test_loss, test_accuracy = evaluate(model, data.x_test, data.y_test)
        history.test_loss.append(test_loss)
        history.test_accuracy.append(test_accuracy)
        if on_epoch:
            on_epoch(epoch, history)
    return model, history
