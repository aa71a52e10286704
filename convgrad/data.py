"""Image-classification data for ``convgrad train``: scikit-learn's bundled digits, a ``.npz``
file, or a folder of MNIST IDX files. Nothing is downloaded.

Every loader returns a ``Dataset`` of float32 images (N, C, H, W) scaled to [0, 1] when they
came as bytes, and int64 labels 0…classes−1. Problems with the user's data raise ``DataError``
(a ValueError) with one line that says what is wrong.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from .archive import DEFLATE_MAX_RATIO
from .archive import load_arrays as load_archive


class DataError(ValueError):
    """The data given by the user cannot be used; the message says why."""


@dataclass
class Dataset:
    """Images (N, C, H, W) float32 and int64 labels. Float images outside [0, 1] are mapped
    onto it with the training set's minimum and maximum (the same map for the test set), so
    that 0–255 floats train like bytes; ``scale`` records (low, high) of that map."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    scale: tuple | None = None

    def __post_init__(self):
        images = len(self.y_train) + len(self.y_test)
        if self.classes > images:
            raise DataError(f"{self.name}: labels go up to {self.classes - 1} but there are only "
                            f"{images} images; class indices must be 0…K−1 with K at most the "
                            f"number of images (renumber them: np.unique(y, "
                            f"return_inverse=True)[1])")
        low, high = float(self.x_train.min()), float(self.x_train.max())
        if low < 0.0 or high > 1.0:
            span = max(high - low, 1e-12)
            self.x_train = ((self.x_train - low) / span).astype(np.float32)
            self.x_test = ((self.x_test - low) / span).astype(np.float32)
            self.scale = (low, high)

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


def load(source: str, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """``'digits'``, a ``.npz`` file or an IDX folder; without a given test set, a seeded split."""
    if source == "digits":
        return load_digits(test_fraction, seed)
    if os.path.isdir(source):
        return load_idx_dir(source)
    if not os.path.exists(source):
        raise DataError(f"--data {source}: no such file or folder (expected 'digits', a .npz "
                        f"file or a folder of MNIST IDX files)")
    return load_npz(source, test_fraction, seed)


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's 1 797 handwritten 8×8 digits (pixel values 0–16), bundled with it."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits  # noqa: PLC0415
    except ImportError:
        raise DataError('the digits data ships with scikit-learn: pip install "convgrad[data]" '
                        '(or give --data FILE.npz / an MNIST folder)') from None
    bunch = sklearn_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]
    return _split(x, bunch.target.astype(np.int64), test_fraction, seed, "digits")


def load_npz(path: str, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """``x`` (N, H, W) or (N, C, H, W), integer ``y`` (N,); optional ``x_test``, ``y_test``."""
    try:
        arrays = load_archive(path)
    except (OSError, ValueError) as e:              # any unreadable file is a user error here
        reason = " ".join(str(e).removeprefix("load: ").split())     # one line
        raise DataError(f"--data {path}: not a readable .npz file — {reason}") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"--data {path}: missing array '{key}' (found {sorted(arrays)}; "
                            f"need x (N, H, W) or (N, C, H, W) and integer labels y)")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"--data {path}: give both x_test and y_test, or neither")
    x, y = _images(arrays["x"], f"{path}: x"), _labels(arrays["y"], f"{path}: y")
    _check_pair(x, y, path, "x", "y")
    if "x_test" not in arrays:
        return _split(x, y, test_fraction, seed, os.path.basename(path))
    x_test, y_test = _images(arrays["x_test"], f"{path}: x_test"), _labels(arrays["y_test"],
                                                                          f"{path}: y_test")
    _check_pair(x_test, y_test, path, "x_test", "y_test")
    if x_test.shape[1:] != x.shape[1:]:
        raise DataError(f"--data {path}: x_test images {x_test.shape[1:]} differ from x images "
                        f"{x.shape[1:]}")
    return Dataset(x, y, x_test, y_test, os.path.basename(path))


IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """One IDX file (gzipped or not): magic 0 0 type ndim, ndim big-endian sizes, data. The
    declared size is checked against the file (and, gzipped, against what deflate can expand
    it to) before the data is read; the data is read in chunks, never past the declared size."""
    gzipped = path.endswith(".gz")
    try:
        size = os.path.getsize(path)
        with (gzip.open if gzipped else open)(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in IDX_TYPES:
                raise DataError(f"{path}: not an IDX file (bad magic number)")
            ndim, dtype = head[3], np.dtype(IDX_TYPES[head[2]])
            sizes = f.read(4 * ndim)
            if len(sizes) < 4 * ndim:
                raise DataError(f"{path}: IDX header ends early (truncated?)")
            shape = struct.unpack(f">{ndim}I", sizes)
            nbytes = math.prod(shape) * dtype.itemsize
            room = DEFLATE_MAX_RATIO * size if gzipped else size - 4 - 4 * ndim
            if nbytes > room:
                raise DataError(f"{path}: IDX header says shape {shape} ({nbytes} bytes of "
                                f"data) but the file has {size} bytes (truncated?)")
            chunks, done = [], 0
            while done <= nbytes:
                chunk = f.read(min(nbytes + 1 - done, 16 * 2**20))
                if not chunk:
                    break
                chunks.append(chunk)
                done += len(chunk)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    if done != nbytes:
        raise DataError(f"{path}: IDX header says shape {shape} ({nbytes} bytes of data) but "
                        f"the file holds {done} (truncated?)")
    return np.frombuffer(b"".join(chunks), dtype).reshape(shape)


def load_idx_dir(folder: str) -> Dataset:
    """MNIST-style folder: train-images, train-labels, t10k-images, t10k-labels IDX files
    (``-idx3-ubyte`` or ``.idx3-ubyte`` names, optionally ``.gz``)."""
    names = os.listdir(folder)

    def find(prefix: str, kind: str) -> str:
        hits = sorted(n for n in names if n.startswith(prefix) and kind in n)
        if not hits:
            raise DataError(f"--data {folder}: no '{prefix}*{kind}*' IDX file (expected "
                            f"train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                            f"t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])")
        return os.path.join(folder, hits[0])

    parts = [read_idx(find(p, k)) for p, k in (("train", "images"), ("train", "labels"),
                                               ("t10k", "images"), ("t10k", "labels"))]
    x, y, x_test, y_test = (_images(parts[0], "train images"), _labels(parts[1], "train labels"),
                            _images(parts[2], "t10k images"), _labels(parts[3], "t10k labels"))
    _check_pair(x, y, folder, "train images", "train labels")
    _check_pair(x_test, y_test, folder, "t10k images", "t10k labels")
    return Dataset(x, y, x_test, y_test, os.path.basename(os.path.normpath(folder)))


def _images(x: np.ndarray, what: str) -> np.ndarray:
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or min(x.shape) < 1:
        raise DataError(f"{what}: images must be (N, H, W) or (N, C, H, W), got shape {x.shape}")
    if x.dtype == np.uint8:
        return (x / np.float32(255)).astype(np.float32)
    if x.dtype.kind not in "fiu":
        raise DataError(f"{what}: images must be numbers (uint8 or float), got dtype {x.dtype}")
    with np.errstate(over="ignore"):            # beyond float32's range is refused next
        x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{what}: images contain NaN or infinity (or values beyond float32's "
                        f"range)")
    return x


def _labels(y: np.ndarray, what: str) -> np.ndarray:
    if y.ndim != 1:
        raise DataError(f"{what}: labels must be one integer per image, shape (N,), got "
                        f"{y.shape}")
    if y.dtype.kind not in "iuf":
        raise DataError(f"{what}: labels must be integers (class indices), got dtype {y.dtype}")
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        raise DataError(f"{what}: labels must be integers (class indices); float labels must "
                        f"be whole numbers (3.0 is a label, 3.5 or NaN is not)")
    if y.size and y.min() < 0:
        raise DataError(f"{what}: labels must be ≥ 0 class indices, found {y.min():g}")
    if y.size and y.max() >= 2**62:
        raise DataError(f"{what}: label {y.max():g} is not a usable class index")
    return y.astype(np.int64)


def _check_pair(x, y, source, x_name, y_name) -> None:
    if len(x) != len(y):
        raise DataError(f"--data {source}: {x_name} has {len(x)} images but {y_name} has "
                        f"{len(y)} labels")


def _split(x, y, test_fraction: float, seed: int, name: str) -> Dataset:
    if len(x) < 2:
        raise DataError(f"{name}: need at least 2 images to hold some out for testing")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = min(max(1, round(len(x) * test_fraction)), len(x) - 1)
    test, train = order[:n_test], order[n_test:]
    return Dataset(x[train], y[train], x[test], y[test], name)
