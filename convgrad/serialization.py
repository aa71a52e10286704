"""Checkpoints as plain ``.npz`` archives: written atomically, read with pickle disabled."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections import OrderedDict
from typing import Mapping

import numpy as np

from .autograd import Tensor


def save(state_dict: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write ``{name: array}`` to ``path`` (.npz) atomically.

    The archive goes to a temporary file in the same directory, is flushed to disk, and only
    then renamed over ``path``: a crash mid-write leaves the old file (or none), never a
    truncated one. Object arrays are refused — a checkpoint holds numbers only.
    """
    path = os.fspath(path)
    arrays = {}
    for key, value in state_dict.items():
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"save: '{key}' has dtype {array.dtype}; only numeric arrays can be "
                            f"saved (no pickled objects)")
        arrays[str(key)] = array
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".convgrad-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike) -> OrderedDict[str, np.ndarray]:
    """Read a checkpoint written by ``save`` (or any numeric ``.npz``), pickle disabled.

    Raises FileNotFoundError for a missing file and ValueError for a file that is not a valid
    ``.npz`` (truncated, corrupt) or that carries pickled objects — which are refused, never run.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":                       # every .npz is a zip archive
        raise ValueError(f"load: {path} is not an .npz archive (no zip header; a pickle, a "
                         f"bare .npy or a corrupt file) — nothing was executed")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return OrderedDict((key, archive[key]) for key in archive.files)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise ValueError(f"load: {path} contains pickled objects; refused, not run (convgrad "
                             f"checkpoints hold plain numeric arrays only)") from None
        raise ValueError(f"load: {path} is not a readable .npz checkpoint: {e}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise ValueError(f"load: {path} is not a readable .npz checkpoint (truncated or "
                         f"corrupt?): {e}") from None
