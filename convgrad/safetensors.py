"""safetensors files (Hugging Face's format) written and read by NumPy alone, no dependency.

The ``safetensors`` package is a test oracle only: the format is small enough to implement here,
and implementing it keeps ``convgrad`` a NumPy-only library. The names and semantics are those of
``safetensors.numpy`` / ``safetensors.torch``: ``save``, ``save_file``, ``load``, ``load_file``;
``load_metadata`` reads a file's metadata (``safe_open(f).metadata()`` in the package).
``cg.save(state_dict, "m.safetensors")`` writes this format and ``cg.load`` recognises it by its
content (``is_safetensors``), whatever the file's name.

Format (https://github.com/huggingface/safetensors):

* 8 bytes: N, the length of the header, an unsigned little-endian 64-bit integer;
* N bytes: the header, a UTF-8 JSON object ``{NAME: {"dtype": "F32", "shape": [2, 3],
  "data_offsets": [BEGIN, END]}, ...}``, optionally with ``"__metadata__": {str: str}``;
* the byte buffer: each tensor's elements, C order, little-endian, from BEGIN to END (relative
  to the start of the buffer).

Writing mirrors the reference writer byte for byte: tensors ordered by dtype (its ``Dtype``
enum, largest first: U64, I64, F64, C64, F32, U32, I32, F16, U16, I16, I8, U8, BOOL) then by
name; compact JSON (non-ASCII kept, control characters escaped), ``__metadata__`` first; the
header padded with spaces to a multiple of 8 bytes, so the buffer is 8-byte aligned. Metadata
keeps its order (the reference's is arbitrary). Big-endian and non-contiguous arrays are
written little-endian and contiguous; zero-size tensors and 0-d scalars are kept. Tensors that
share memory (a tied weight, a view) are each written with their own data, where
``safetensors.torch.save_file`` refuses them. Writing to a path is atomic (``atomic_write``).

Dtypes: F64, F32, F16, C64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL. BF16 and the F8/F6/F4
types have no NumPy dtype: ``load`` refuses them naming the tensor (convert in torch first:
``{k: v.float() for k, v in sd.items()}``). ``save`` refuses other dtypes (complex128, str,
object, datetime, structured) with a TypeError naming the key.

Reading checks everything before it allocates: every flaw is one ValueError naming the op and
the file — a header length past the file or over 100 MB (the reference limit), a header that
is not UTF-8 JSON, not an object, or has a key twice; an entry without exactly ``dtype``,
``shape`` and ``data_offsets``; an unknown dtype; a shape that is not non-negative integers;
offsets that do not match shape × itemsize, overlap, leave a hole, or do not end where the file
does (the buffer must be covered in order, as the reference requires); metadata that is not
str → str; a truncated file. Like the reference it accepts whitespace around the header and
``"__metadata__": null``; unlike it, it refuses duplicate keys and extra fields. BOOL bytes
other than 0 and 1 are read as True (torch's reading).
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
from collections import OrderedDict
from typing import Any, BinaryIO, Callable, Mapping

import numpy as np

from .archive import as_path, atomic_write
from .autograd import Tensor
from .device import device as _device

__all__ = ["save", "save_file", "load", "load_file", "load_metadata", "is_safetensors"]

MAX_HEADER = 100_000_000          # bytes: the reference reader's limit
MAX_DIMS = 64                     # NumPy's
SUFFIX = ".safetensors"
METADATA = "__metadata__"
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "C64": "<c8", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "|i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "|u1",
          "BOOL": "|b1"}
_ORDER = ("U64", "I64", "F64", "C64", "F32", "U32", "I32", "F16", "U16", "I16", "I8", "U8",
          "BOOL")                 # the reference writer's order (its Dtype enum, reversed)
_RANK = {name: i for i, name in enumerate(_ORDER)}
_NAMES = {(np.dtype(code).kind, np.dtype(code).itemsize): name for name, code in DTYPES.items()}
UNREPRESENTABLE = ("BF16", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F4",
                   "F6_E2M3", "F6_E3M2")
_FIELDS = {"dtype", "shape", "data_offsets"}
_CHUNK = 16 * 2**20


# ------------------------------------------------------------------------------ save
def save(tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> bytes:
    """The safetensors bytes of ``tensors`` ({str: Tensor or ndarray}) and ``metadata``.

    >>> import numpy as np
    >>> data = save({"w": np.ones(2, np.float32)}, {"format": "np"})
    >>> int.from_bytes(data[:8], "little"), data[8:40]
    (88, b'{"__metadata__":{"format":"np"},')
    >>> load(data)["w"]
    tensor([1., 1.])
    """
    head, arrays = _prepare(tensors, metadata, "save")
    buffer = io.BytesIO()
    _write(buffer, head, arrays)
    return buffer.getvalue()


def save_file(tensors: Mapping[str, Any], filename: str | os.PathLike,
              metadata: Mapping[str, str] | None = None) -> None:
    """Write ``tensors`` and ``metadata`` to ``filename`` (atomically: a temporary file renamed
    over it). TypeError/ValueError naming ``save_file`` for what safetensors cannot hold,
    before a byte is written."""
    _save_path(tensors, filename, metadata, "save_file")


def _save_path(tensors: Any, filename: Any, metadata: Any, op: str) -> None:
    path = as_path(filename, op)
    head, arrays = _prepare(tensors, metadata, op)
    atomic_write(path, lambda stream: _write(stream, head, arrays))


def _prepare(tensors: Any, metadata: Any, op: str) -> tuple[bytes, list[np.ndarray]]:
    """The length and header bytes, and the arrays in the order of the buffer."""
    if not isinstance(tensors, Mapping):
        raise TypeError(f"{op}: tensors must be a dict {{str: Tensor or ndarray}}, got "
                        f"{type(tensors).__name__}")
    entries = []
    for key, value in tensors.items():
        if not isinstance(key, str):
            raise TypeError(f"{op}: the key {key!r} is a {type(key).__name__}; safetensors "
                            f"names tensors by str")
        if key == METADATA:
            raise ValueError(f"{op}: the key {METADATA!r} is reserved for the metadata; "
                             f"rename the tensor")
        _check_text(key, f"{op}: the key {key!r}", ValueError)
        array = value.array if isinstance(value, Tensor) else value
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{op}: tensors[{key!r}] is a {type(value).__name__}; a "
                            f"safetensors file holds Tensors and ndarrays")
        name = None if array.dtype.fields else _NAMES.get((array.dtype.kind,
                                                           array.dtype.itemsize))
        if name is None:
            raise TypeError(f"{op}: tensors[{key!r}] has dtype {array.dtype}, which "
                            f"safetensors cannot hold (it holds {', '.join(DTYPES)})")
        entries.append((_RANK[name], key, name, array))
    entries.sort(key=lambda e: e[:2])
    header: dict[str, Any] = {}
    if metadata is not None:
        header[METADATA] = _metadata(metadata, op)
    offset = 0
    for _, key, name, array in entries:
        header[key] = {"dtype": name, "shape": list(array.shape),
                       "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, [e[3] for e in entries]


def _metadata(metadata: Any, op: str) -> dict[str, str]:
    if not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError(f"{op}: metadata must be a dict of str to str, got "
                        f"{_short(metadata)}")
    for key, value in metadata.items():
        _check_text(key, f"{op}: the metadata key {key!r}", ValueError)
        _check_text(value, f"{op}: metadata[{key!r}]", ValueError)
    return dict(metadata)


def _check_text(text: str, where: str, error: type[Exception]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{where} is not valid Unicode (a lone surrogate); a safetensors header "
                    f"is UTF-8") from None


def _write(stream: BinaryIO, head: bytes, arrays: list[np.ndarray]) -> None:
    stream.write(head)
    for array in arrays:
        if array.size:
            little = np.ascontiguousarray(array, array.dtype.newbyteorder("<"))
            stream.write(memoryview(little.reshape(-1).view(np.uint8)))


# ------------------------------------------------------------------------------ load
def load(data: bytes) -> dict[str, Tensor]:
    """The tensors of safetensors ``data`` (bytes), in the order of the buffer. ValueError
    naming ``load`` for any flaw (see the module docstring)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load: data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    arrays, _ = _read(io.BytesIO(data), 0, len(data), "load: <bytes>")
    return {key: Tensor.wrap(array) for key, array in arrays.items()}


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Tensor]:
    """The tensors of the safetensors file ``filename``, in the order of its buffer (as
    ``safetensors.torch.load_file``). ``device``: ``'cpu'`` (or a CPU ``device``); another
    device is a RuntimeError, since convgrad computes on the CPU. FileNotFoundError,
    IsADirectoryError, and ValueError naming ``load_file`` for any flaw in the file."""
    if _device(device).type != "cpu":
        raise RuntimeError(f"load_file: cannot load onto device {str(device)!r}; convgrad "
                           f"computes on the CPU only")
    arrays, _ = _read_path(filename, "load_file", header_only=False)
    return {key: Tensor.wrap(array) for key, array in arrays.items()}


def load_metadata(filename: str | os.PathLike) -> dict[str, str] | None:
    """The ``__metadata__`` of the safetensors file ``filename`` (None when it has none); the
    header is checked as ``load_file`` checks it, the tensors are not read."""
    return _read_path(filename, "load_metadata", header_only=True)[1]


def is_safetensors(head: bytes) -> bool:
    """Whether ``head``, the first bytes (9 or more) of a file, start a safetensors file: a
    header length from 2 to ``MAX_HEADER`` and a header starting with ``{``. A zip (``.npz``,
    ``torch.save``), a pickle and a ``.npy`` never do."""
    return (isinstance(head, bytes) and len(head) >= 9 and head[8:9] == b"{"
            and 2 <= int.from_bytes(head[:8], "little") <= MAX_HEADER)


def _read_path(filename: Any, op: str, header_only: bool):
    path = as_path(filename, op)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{op}: {path} is a directory, not a safetensors file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{op}: no such file: {path}")
    with open(path, "rb") as stream:
        return _read(stream, 0, os.fstat(stream.fileno()).st_size, f"{op}: {path}",
                     header_only)


def _sniff(f: Any) -> tuple[OrderedDict[str, np.ndarray] | None, Any]:
    """``cg.load``'s test: the arrays of ``f`` when it is a safetensors file (by content; a
    path ending ``.safetensors`` too unless it holds a zip or a pickle), else None and what to
    read ``f`` from (a stream that cannot seek is copied into a BytesIO first)."""
    if isinstance(f, (str, os.PathLike)):
        path = as_path(f, "load")
        if not os.path.isfile(path):
            return None, f                      # read_file says what is wrong
        with open(path, "rb") as stream:
            head = stream.read(9)
            if is_safetensors(head) or (path.lower().endswith(SUFFIX) and head[:1] != b"\x80"
                                        and head[:4] not in (b"PK\x03\x04", b"PK\x05\x06")):
                size = os.fstat(stream.fileno()).st_size
                return _read(stream, 0, size, f"load: {path}")[0], f
        return None, f
    if not callable(getattr(f, "read", None)):
        return None, f                          # read_file raises the TypeError
    name = str(getattr(f, "name", None) or f"<{type(f).__name__}>")
    try:
        start = f.tell() if f.seekable() and callable(getattr(f, "readinto", None)) else None
    except (AttributeError, OSError, ValueError):
        start = None
    if start is None:
        data = f.read()
        _binary(data, name)
        f, start = io.BytesIO(data), 0
        f.name = name
    head = f.read(9)
    _binary(head, name)
    size = f.seek(0, os.SEEK_END) - start
    f.seek(start)
    if not is_safetensors(head):
        return None, f
    return _read(f, start, size, f"load: {name}")[0], f


def _binary(data: Any, name: str) -> None:
    if not isinstance(data, bytes):
        raise TypeError(f"load: {name} is a text stream; open the file in binary mode ('rb')")


def _read(f: BinaryIO, start: int, size: int, where: str, header_only: bool = False):
    """The arrays (in buffer order) and metadata of the ``size`` bytes of ``f`` from
    ``start``; ``where`` ("op: file") begins every error message."""
    def fail(message: str, corrupt: bool = True) -> ValueError:
        return ValueError(f"{where}: {message}" + (" (not a valid safetensors file: truncated "
                                                   "or corrupt?)" if corrupt else ""))

    if size < 8:
        raise fail(f"the file has {size} bytes, fewer than the 8 of a header length")
    f.seek(start)
    n = int.from_bytes(f.read(8), "little")
    if n > MAX_HEADER:
        raise fail(f"the header length is {n} bytes, more than the {MAX_HEADER} allowed")
    if 8 + n > size:
        raise fail(f"the header length is {n} bytes but only {size - 8} follow it")
    raw = f.read(n)
    if len(raw) != n:
        raise fail(f"the header ends after {len(raw)} of {n} bytes")
    entries, metadata = _header(raw, size - 8 - n, fail)
    arrays: OrderedDict[str, np.ndarray] = OrderedDict()
    if header_only:
        return arrays, metadata
    for key, name, shape, nbytes in entries:
        try:
            array = np.empty(shape, DTYPES[name])
        except (ValueError, OverflowError, MemoryError) as e:
            raise fail(f"tensor {key!r}: shape {shape} cannot be allocated ({e})") from None
        flat = memoryview(array.reshape(-1).view(np.uint8)) if nbytes else memoryview(b"")
        done = 0
        while done < nbytes:
            got = f.readinto(flat[done:done + _CHUNK])
            if not got:
                raise fail(f"tensor {key!r} ends after {done} of {nbytes} bytes")
            done += got
        if name == "BOOL":
            array = array.view(np.uint8) != 0
        elif not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        arrays[key] = array
    return arrays, metadata


def _header(raw: bytes, buffer: int, fail: Callable[..., ValueError]):
    """The checked entries ``(name, dtype, shape, nbytes)`` of a header, in buffer order, and
    its metadata."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"the header is not UTF-8: {e}") from None
    if not text.lstrip(" \t\r\n").startswith("{"):
        raise fail(f"the header does not start with '{{': {_short(text)}")
    try:
        doc = json.loads(text, object_pairs_hook=_unique, parse_constant=_constant)
    except (ValueError, RecursionError) as e:     # JSONDecodeError, duplicates, huge numbers
        raise fail(f"the header is not valid JSON: {e}") from None
    metadata = doc.pop(METADATA, None)
    if metadata is not None and (not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values())):
        raise fail(f"{METADATA} must map str to str, got {_short(metadata)}")
    entries = []
    try:
        for key, value in (metadata or {}).items():
            _check_text(key, f"the metadata key {key!r}", _EntryError)
            _check_text(value, f"metadata[{key!r}]", _EntryError)
        for key, info in doc.items():
            _check_text(key, f"the tensor name {key!r}", _EntryError)
            entries.append(_entry(key, info))
    except _EntryError as e:
        raise fail(str(e), e.corrupt) from None
    entries.sort(key=lambda e: e[4])
    at = 0
    for key, name, shape, nbytes, (begin, end) in entries:
        if begin != at or end < begin:
            problem = ("overlap the tensor before it" if begin < at else
                       f"leave a hole after byte {at}" if begin > at else "end before they begin")
            raise fail(f"tensor {key!r}: data_offsets [{begin}, {end}] {problem}; the buffer "
                       f"must be covered in order, without gaps")
        if end - begin != nbytes:
            raise fail(f"tensor {key!r}: shape {shape} of {name} is {nbytes} bytes but "
                       f"data_offsets [{begin}, {end}] hold {end - begin}")
        at = end
    if at != buffer:
        raise fail(f"the tensors cover {at} bytes but the buffer after the header has {buffer}")
    return [e[:4] for e in entries], metadata


class _EntryError(ValueError):
    """One flaw of a header entry, worded for ``fail``; ``corrupt``: not a valid file at all."""

    corrupt = True


def _entry(key: str, info: Any) -> tuple[str, str, list[int], int, tuple[int, int]]:
    """``(key, dtype, shape, nbytes, (begin, end))`` of a header entry that has them right."""
    bad = lambda message: _EntryError(f"tensor {key!r}: {message}")
    if not isinstance(info, dict) or set(info) != _FIELDS:
        raise bad(f'an entry is {{"dtype", "shape", "data_offsets"}}, got {_short(info)}')
    name, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if name in UNREPRESENTABLE:
        error = bad(f"dtype {name} has no NumPy dtype, so convgrad cannot load it; convert it "
                    f"in torch before saving: safetensors.torch.save_file({{k: v.float() for "
                    f"k, v in state_dict.items()}}, path)")
        error.corrupt = False
        raise error
    if not isinstance(name, str) or name not in DTYPES:
        raise bad(f"unknown dtype {_short(name)} (known: {', '.join(DTYPES)})")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise bad(f"shape {_short(shape)} is not a list of non-negative integers")
    if len(shape) > MAX_DIMS:
        raise bad(f"shape has {len(shape)} dimensions, more than NumPy's {MAX_DIMS}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(
            type(o) is int and o >= 0 for o in offsets):
        raise bad(f"data_offsets {_short(offsets)} is not [begin, end], two non-negative "
                  f"integers")
    nbytes = math.prod(shape) * np.dtype(DTYPES[name]).itemsize
    return key, name, shape, nbytes, (offsets[0], offsets[1])


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"the key {key!r} appears twice")
    return out


def _constant(token: str) -> Any:
    raise ValueError(f"non-standard JSON constant {token}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -------------------------------------------------------------------- cg.save's check
def _flat(obj: Any, op: str = "save") -> Mapping[str, Any]:
    """``obj`` when it is a flat dict of tensors (what a .safetensors file holds), else a
    TypeError saying to use a .pt or .npz path for a full checkpoint."""
    bad = (f" is a {type(obj).__name__}" if not isinstance(obj, Mapping) else next(
        (f"[{k!r}] is a {type(v).__name__}" for k, v in obj.items()
         if not isinstance(v, (Tensor, np.ndarray))), None))
    if bad is not None:
        raise TypeError(f"{op}: obj{bad}; a .safetensors file holds a flat dict {{str: "
                        f"tensor}} (a state_dict()) — use a .pt or .npz path for a full "
                        f"checkpoint")
    return obj
