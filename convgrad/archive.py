"""The zip/npy layer of checkpoints: write a zip of members atomically, read one back checked.

Format: a zip archive of stored members. ``NAME.npy`` members hold NumPy's ``.npy`` format
(version 1 or 2) — what ``np.savez`` writes and ``np.load`` reads, for any string ``NAME``.
Besides them a reader may allow a few named non-array members (``serialization`` allows its
``__structure__.json``). ``read_archive`` accepts stored or deflated members (as
``np.savez_compressed`` writes); it reads every member's header first and checks its declared
shape × itemsize against the member's size and the file before allocating anything, so a lying
or hostile archive (a zip bomb, a 7 TiB declared shape, a pickle, a PyTorch file) is refused
with one ``ValueError`` that names ``load``, never inflated or unpickled.

``f`` may be a path (written through a temporary file renamed over the target, see
``atomic_write``) or a binary file object.
"""

from __future__ import annotations

import io
import math
import os
import re
import secrets
import struct
import zipfile
import zlib
from collections import OrderedDict
from typing import BinaryIO, Callable, Mapping, Union

import numpy as np

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
Member = Union[np.ndarray, bytes]
Contents = tuple["OrderedDict[str, np.ndarray]", dict[str, bytes]]   # arrays, other members


# ------------------------------------------------------------------------------ write
def write_archive(f: BinaryIO, members: Mapping[str, Member]) -> None:
    """A zip of stored members (UTF-8 names): arrays as ``.npy`` (what ``np.savez`` writes),
    ``bytes`` as they are."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in members.items():
            with archive.open(name, "w", force_zip64=True) as member:
                if isinstance(value, bytes):
                    member.write(value)
                else:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def atomic_write(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Run ``write`` on a temporary file in ``path``'s folder (named after the target and this
    process), flush it to disk, and only then rename it over ``path``: a crash mid-write leaves
    the old file (or none), never a truncated one; temporaries left by writers that no longer
    run are removed first."""
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
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


# ------------------------------------------------------------------------------ read
def read_file(f, extras: Mapping[str, int] = {}) -> Contents:  # noqa: B006
    """The ``.npy`` members (name without ``.npy`` → array) and the allowed ``extras``
    (member name → largest size in bytes; their bytes) of the archive at path or binary file
    object ``f``. Errors as ``serialization.load`` documents them."""
    if isinstance(f, (str, os.PathLike)):
        path = as_path(f, "load")
        if os.path.isdir(path):
            raise IsADirectoryError(f"load: {path} is a directory, not a checkpoint file")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"load: no such file: {path}")
        with open(path, "rb") as stream:
            return _read_stream(stream, path, extras)
    if not callable(getattr(f, "read", None)):
        raise TypeError(f"load: f must be a str, an os.PathLike or a binary file object, got "
                        f"{type(f).__name__}")
    name = str(getattr(f, "name", None) or f"<{type(f).__name__}>")
    try:
        seekable = f.seekable() and f.tell() == 0
    except (AttributeError, OSError, ValueError):
        seekable = False
    if not seekable:                    # a stream, or an archive not at its start: copy it
        data = f.read()
        if not isinstance(data, bytes):
            raise TypeError(f"load: {name} is a text stream; open the file in binary mode "
                            f"('rb')")
        f = io.BytesIO(data)
    return _read_stream(f, name, extras)


def _read_stream(f: BinaryIO, name: str, extras: Mapping[str, int]):
    head = f.read(8)
    if not isinstance(head, bytes):
        raise TypeError(f"load: {name} is a text stream; open the file in binary mode ('rb')")
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):     # a member first, or empty
        raise ValueError(_not_zip(name, head))
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    return read_archive(f, name, size, extras)


def read_archive(f: BinaryIO, name: str, size: int,
                 extras: Mapping[str, int] = {}) -> Contents:  # noqa: B006
    """Every member of the zip in ``f`` (``size`` bytes), each checked before it is read."""
    try:
        with zipfile.ZipFile(f) as archive:
            infos = archive.infolist()
            _check_members(infos, name, size, extras)
            _check_layout(f, infos, getattr(archive, "start_dir", None), name)
            arrays, other = OrderedDict(), {}
            for info in infos:
                if info.filename in extras:
                    other[info.filename] = _read_bytes(archive, info)
                else:
                    arrays[info.filename[:-len(MEMBER_SUFFIX)]] = _read_member(archive, info,
                                                                               name)
            return arrays, other
    except ReadError as e:
        raise ValueError(str(e)) from None
    except _READ_ERRORS as e:
        raise ValueError(f"load: {name} is not a readable .npz checkpoint (truncated or "
                         f"corrupt?): {type(e).__name__}: {e}") from None


class ReadError(Exception):
    """A refusal already worded for the user."""


def _check_members(infos, name: str, size: int, extras: Mapping[str, int]) -> None:
    names = [i.filename for i in infos]
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        raise ReadError(f"load: {name} is a PyTorch pickle (a torch.save zip archive); "
                        f"convgrad will not unpickle it (unpickling can run any code) — "
                        f"{TORCH_RECIPE}")
    if len(set(names)) != len(names):
        raise ReadError(f"load: {name} has two members named "
                        f"{next(n for n in names if names.count(n) > 1)!r}")
    for info in infos:
        where = f"load: {name}: member {info.filename!r}"
        if info.filename in extras:
            if info.file_size > extras[info.filename]:
                raise ReadError(f"{where} declares {info.file_size} bytes; at most "
                                f"{extras[info.filename]} are read")
        elif not info.filename.endswith(MEMBER_SUFFIX) or info.is_dir():
            raise ReadError(f"{where} is not a .npy array; a checkpoint holds only .npy "
                            f"members (what np.savez writes)"
                            + "".join(f" and {e}" for e in extras))
        if info.flag_bits & 0x1:
            raise ReadError(f"{where} is encrypted; checkpoints are not")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = zipfile.compressor_names.get(info.compress_type, info.compress_type)
            raise ReadError(f"{where} uses compression {method!r}; only stored and deflate "
                            f"members (np.savez, np.savez_compressed) are read")
        bound = (info.compress_size if info.compress_type == zipfile.ZIP_STORED
                 else DEFLATE_MAX_RATIO * info.compress_size + 1024)
        if info.header_offset + info.compress_size > size or info.file_size > bound:
            raise ReadError(f"{where} declares {info.file_size} bytes from "
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
            raise ReadError(f"load: {name}: member {info.filename!r} overlaps the one before "
                            f"it (corrupt, or a zip bomb)")
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise ReadError(f"load: {name}: the central directory places member "
                            f"{info.filename!r} where there is no local header (corrupt?)")
        if info.header_offset - at not in _DESCRIPTOR_GAPS:
            break
        at = (info.header_offset + 30 + int.from_bytes(local[26:28], "little")
              + int.from_bytes(local[28:30], "little") + info.compress_size)
    else:
        if start_dir is None or start_dir - at in _DESCRIPTOR_GAPS:
            return
    raise ReadError(f"load: {name}: the central directory does not account for every "
                    f"member of the file (corrupt?)")


_DESCRIPTOR_GAPS = (0, 12, 16, 20, 24)   # bytes between members: none, or a data descriptor


def _read_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as member:     # size already bounded; reading to the end: CRC
        return member.read(info.file_size + 1)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> np.ndarray:
    where = f"load: {name}: member {info.filename!r}"
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise ReadError(f"{where}: unsupported .npy version {version}")
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = reader(member)
        if dtype.hasobject:
            raise ReadError(f"load: {name} contains pickled objects (member "
                            f"{info.filename!r}, dtype {dtype}); refused, not run (convgrad "
                            f"checkpoints hold plain numeric arrays only)")
        if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None:
            raise ReadError(f"{where} has dtype {dtype}; checkpoints hold numeric arrays "
                            f"only")
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ReadError(f"{where}: invalid shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        if member.tell() + nbytes != info.file_size:
            raise ReadError(f"{where} declares shape {shape} of {dtype} ({nbytes} bytes) but "
                            f"holds {info.file_size - member.tell()} bytes of data "
                            f"(truncated or corrupt)")
        array = np.empty(shape, dtype, order="F" if fortran else "C")
        flat = array.reshape(-1, order="A").view(np.uint8) if array.size else np.empty(0)
        done = 0
        while done < nbytes:
            got = member.readinto(memoryview(flat)[done:done + CHUNK])
            if not got:
                raise ReadError(f"{where} ends after {done} of {nbytes} bytes (truncated)")
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


def as_path(path, op: str) -> str:
    """``path`` (str or os.PathLike) as a non-empty str; TypeError/ValueError naming ``op``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{op}: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{op}: path is empty")
    return path


def load_arrays(f) -> OrderedDict[str, np.ndarray]:
    """A flat numeric ``.npz`` (``np.savez``'s) as ``{name: ndarray}``: what ``load`` returned
    before it rebuilt structures with Tensors, for readers of data files (pickle disabled,
    errors as ``load``'s)."""
    return read_file(f)[0]
