"""Checkpoints as plain ``.npz`` archives: written atomically, read with pickle disabled.

Format: a zip archive with one stored ``NAME.npy`` member (NumPy's ``.npy`` format, version 1 or
2) per entry — what ``np.savez`` writes and ``np.load`` reads, for any string key. ``load``
accepts exactly such archives (stored or deflated members, as ``np.savez_compressed`` writes);
it reads every member's header first and checks its declared shape × itemsize against the
member's size and the file before allocating anything, so a lying or hostile archive (a zip
bomb, a 7 TiB declared shape, a pickle, a PyTorch file) is refused with one ``ValueError`` that
names ``load``, never inflated or unpickled.

The archive layer (``write_archive`` / ``read_archive``: a flat ``{member: array}``) is kept
apart from what ``save`` accepts, so that other members (a JSON description of a nested
structure) and other formats (safetensors) can be added beside it.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import struct
import zipfile
import zlib
from collections import OrderedDict
from typing import BinaryIO, Mapping

import numpy as np

from .autograd import Tensor

NUMERIC_KINDS = "biufc"          # bool, signed, unsigned, float, complex
MEMBER_SUFFIX = ".npy"
DEFLATE_MAX_RATIO = 1032         # deflate cannot expand more than ~1032:1
CHUNK = 16 * 2**20               # bytes read from a member at a time
TORCH_RECIPE = ("convert it with PyTorch (weights only, nothing executed):\n"
                "    sd = torch.load(f, weights_only=True)\n"
                "    safetensors.torch.save_file(sd, 'model.safetensors')  # or: np.savez("
                "'model.npz', **{k: v.numpy() for k, v in sd.items()})")
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
                struct.error, ValueError, OverflowError, KeyError, IndexError,
                NotImplementedError, RuntimeError, SyntaxError)


# ------------------------------------------------------------------------------ save
def save(state_dict: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write ``{name: array}`` to ``path`` (.npz) atomically.

    Values may be Tensors, ndarrays or numbers (bool, int, float, complex); keys any strings
    (every key is kept, ``'file'`` and ``'allow_pickle'`` included). The archive goes to a
    temporary file in the same directory (named after the target and this process), is flushed
    to disk, and only then renamed over ``path``: a crash mid-write leaves the old file (or
    none), never a truncated one, and the next ``save`` to that target removes temporaries
    left by writers that no longer run.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> save({"file": np.arange(3), "allow_pickle": 1.5}, path)
    >>> {k: v.tolist() for k, v in load(path).items()}
    {'file': [0, 1, 2], 'allow_pickle': 1.5}
    """
    path = _path(path, "save")
    arrays = OrderedDict((_member_name(key), _numeric(key, value))
                         for key, value in _items(state_dict))
    folder, base = os.path.split(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path} is a directory; give a file name such as "
                                f"{os.path.join(path, 'model.npz')}")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: folder {folder} does not exist")
    remove_stale_temporaries(folder, base)
    tmp = os.path.join(folder, f".{base[:200]}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            write_archive(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_archive(f: BinaryIO, arrays: Mapping[str, np.ndarray]) -> None:
    """A zip of stored ``.npy`` members (UTF-8 names), as ``np.savez`` writes it."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def remove_stale_temporaries(folder: str, base: str) -> list[str]:
    """Delete the temporaries of ``save`` to ``base`` whose writer process is gone."""
    pattern = re.compile(rf"^\.{re.escape(base[:200])}\.(\d+)\.[0-9a-f]{{8}}\.tmp$")
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if match and not _process_alive(int(match.group(1))):
            try:
                os.unlink(os.path.join(folder, name))
                removed.append(name)
            except OSError:
                pass                    # another saver removed it first
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True                     # someone else's process, or cannot tell: keep it
    return True


def _items(state_dict):
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a mapping {{name: array}} (a state dict), got "
                        f"{type(state_dict).__name__}")
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save: keys must be strings, got {key!r} "
                            f"({type(key).__name__})")
        yield key, value


def _member_name(key: str) -> str:
    if "\x00" in key:
        raise ValueError(f"save: key {key!r} contains a NUL character, which a zip member "
                         f"name cannot hold")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"save: key {key!r} is not valid Unicode (a lone surrogate); zip "
                         f"member names are UTF-8") from None
    return key + MEMBER_SUFFIX


def _numeric(key: str, value) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, (str, bytes, list, tuple, dict, set)) or value is None:
        raise TypeError(f"save: '{key}' is a {type(value).__name__}; a checkpoint entry must "
                        f"be a Tensor, an ndarray or a number")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"save: '{key}' ({type(value).__name__}) is not an array: {e}") from None
    if array.dtype.kind not in NUMERIC_KINDS or array.dtype.fields is not None:
        raise TypeError(f"save: '{key}' has dtype {array.dtype}; only numeric arrays can be "
                        f"saved (no pickled objects)")
    return array


# ------------------------------------------------------------------------------ load
def load(path: str | os.PathLike) -> OrderedDict[str, np.ndarray]:
    """Read a checkpoint written by ``save`` (or any numeric ``.npz``), pickle disabled.

    Raises TypeError for a path that is not a str/PathLike, FileNotFoundError for a missing
    file, IsADirectoryError for a folder, and ValueError (naming ``load``) for anything that is
    not a numeric ``.npz``: truncated or corrupt, pickled objects, a PyTorch file (with the
    recipe to convert it), members that are not ``.npy`` arrays, sizes that do not add up,
    unsupported compression or encryption.
    """
    path = _path(path, "load")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path} is a directory, not a checkpoint file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(8)
        f.seek(0)
        if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):     # a member first, or empty
            raise ValueError(_not_zip(path, head))
        return read_archive(f, path, os.fstat(f.fileno()).st_size)


def read_archive(f: BinaryIO, name: str, size: int) -> OrderedDict[str, np.ndarray]:
    """Every ``.npy`` member of the zip in ``f`` (``size`` bytes), checked before reading."""
    try:
        with zipfile.ZipFile(f) as archive:
            infos = archive.infolist()
            _check_members(infos, name, size)
            _check_layout(f, infos, getattr(archive, "start_dir", None), name)
            return OrderedDict((info.filename[:-len(MEMBER_SUFFIX)],
                                _read_member(archive, info, name)) for info in infos)
    except _ReadError as e:
        raise ValueError(str(e)) from None
    except _READ_ERRORS as e:
        raise ValueError(f"load: {name} is not a readable .npz checkpoint (truncated or "
                         f"corrupt?): {type(e).__name__}: {e}") from None


class _ReadError(Exception):
    """A refusal already worded for the user."""


def _check_members(infos, name: str, size: int) -> None:
    names = [i.filename for i in infos]
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        raise _ReadError(f"load: {name} is a PyTorch pickle (a torch.save zip archive); "
                         f"convgrad will not unpickle it (unpickling can run any code) — "
                         f"{TORCH_RECIPE}")
    if len(set(names)) != len(names):
        raise _ReadError(f"load: {name} has two members named "
                         f"{next(n for n in names if names.count(n) > 1)!r}")
    for info in infos:
        where = f"load: {name}: member {info.filename!r}"
        if not info.filename.endswith(MEMBER_SUFFIX) or info.is_dir():
            raise _ReadError(f"{where} is not a .npy array; a checkpoint holds only .npy "
                             f"members (what np.savez writes)")
        if info.flag_bits & 0x1:
            raise _ReadError(f"{where} is encrypted; checkpoints are not")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = zipfile.compressor_names.get(info.compress_type, info.compress_type)
            raise _ReadError(f"{where} uses compression {method!r}; only stored and deflate "
                             f"members (np.savez, np.savez_compressed) are read")
        bound = (info.compress_size if info.compress_type == zipfile.ZIP_STORED
                 else DEFLATE_MAX_RATIO * info.compress_size + 1024)
        if info.header_offset + info.compress_size > size or info.file_size > bound:
            raise _ReadError(f"{where} declares {info.file_size} bytes from "
                             f"{info.compress_size} stored at offset {info.header_offset}, "
                             f"which the {size}-byte file cannot hold (truncated, corrupt or "
                             f"a zip bomb)")


def _check_layout(f: BinaryIO, infos, start_dir: int | None, name: str) -> None:
    """The members tile the file from its start to the central directory, one after the other:
    no bytes unaccounted for (a directory that lost entries), no overlaps (a zip bomb that
    reuses one compressed stream for many members)."""
    at = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        f.seek(info.header_offset)
        local = f.read(30)
        if info.header_offset < at:
            raise _ReadError(f"load: {name}: member {info.filename!r} overlaps the one before "
                             f"it (corrupt, or a zip bomb)")
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise _ReadError(f"load: {name}: the central directory places member "
                             f"{info.filename!r} where there is no local header (corrupt?)")
        if info.header_offset - at not in _DESCRIPTOR_GAPS:
            break
        at = (info.header_offset + 30 + int.from_bytes(local[26:28], "little")
              + int.from_bytes(local[28:30], "little") + info.compress_size)
    else:
        if start_dir is None or start_dir - at in _DESCRIPTOR_GAPS:
            return
    raise _ReadError(f"load: {name}: the central directory does not account for every "
                     f"member of the file (corrupt?)")


_DESCRIPTOR_GAPS = (0, 12, 16, 20, 24)   # bytes between members: none, or a data descriptor


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> np.ndarray:
    where = f"load: {name}: member {info.filename!r}"
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise _ReadError(f"{where}: unsupported .npy version {version}")
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = reader(member)
        if dtype.hasobject:
            raise _ReadError(f"load: {name} contains pickled objects (member "
                             f"{info.filename!r}, dtype {dtype}); refused, not run (convgrad "
                             f"checkpoints hold plain numeric arrays only)")
        if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None:
            raise _ReadError(f"{where} has dtype {dtype}; checkpoints hold numeric arrays "
                             f"only")
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise _ReadError(f"{where}: invalid shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        if member.tell() + nbytes != info.file_size:
            raise _ReadError(f"{where} declares shape {shape} of {dtype} ({nbytes} bytes) but "
                             f"holds {info.file_size - member.tell()} bytes of data "
                             f"(truncated or corrupt)")
        array = np.empty(shape, dtype, order="F" if fortran else "C")
        flat = array.reshape(-1, order="A").view(np.uint8) if array.size else np.empty(0)
        done = 0
        while done < nbytes:
            got = member.readinto(memoryview(flat)[done:done + CHUNK])
            if not got:
                raise _ReadError(f"{where} ends after {done} of {nbytes} bytes (truncated)")
            done += got
        member.read(1)                  # reaching the end checks the CRC
    return array


def _not_zip(path: str, head: bytes) -> str:
    if head[:1] == b"\x80":
        return (f"load: {path} is a pickle — a PyTorch file (legacy torch.save format) or a "
                f"plain Python pickle; convgrad will not unpickle it (unpickling can run any "
                f"code) — {TORCH_RECIPE}")
    if head[:6] == b"\x93NUMPY":
        return (f"load: {path} is a single .npy array, not a checkpoint; read it with "
                f"np.load({path!r}) or save a dict {{name: array}}")
    return (f"load: {path} is not an .npz archive (no zip header; a pickle, a bare .npy or a "
            f"corrupt file) — nothing was executed")


def _path(path, op: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{op}: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{op}: path is empty")
    return path
