"""``save`` / ``load`` with torch's signatures: checkpoints as ``.npz`` archives, never pickles.

A path ending ``.safetensors`` gets Hugging Face's format instead (``convgrad.safetensors``: a
flat ``{str: tensor}`` dict only); ``load`` knows a safetensors file by its content, whatever
its name, and returns an ``OrderedDict`` of Tensors in the order of the file's buffer.

Format (the zip/npy layer is ``convgrad.archive``):

* A flat ``{str: Tensor or ndarray}`` dict (a model's ``state_dict()``) is written as
  ``np.savez`` writes it — one ``KEY.npy`` member per key — so ``np.load(path)[key]`` reads it.
* Anything else torch users save (a checkpoint dict with an epoch, an optimizer's and a
  scheduler's state dicts, a list, a number ...) is written as numbered array members
  ``0.npy``, ``1.npy``, ... (one per distinct array; a tensor saved twice is stored once) plus
  one member ``__structure__.json``: ``{"format": "convgrad.structure", "version": 1,
  "root": NODE}`` where NODE is one of

  ===================================  ================================================
  ``null``, ``true``, ``false``        None, bool
  a JSON integer / string              int (any size) / str
  a JSON number with a fraction or     float; ``{"float": "nan" | "inf" | "-inf"}`` for
  exponent                             the non-finite ones
  ``{"complex": [RE, IM]}``            complex; RE, IM a JSON number or ``"nan"``,
                                       ``"inf"``, ``"-inf"``
  ``{"tensor": K}``                    a Tensor (an ndarray too) from member ``K.npy``;
                                       optional ``"requires_grad": true`` and
                                       ``"parameter": true`` (an ``nn.Parameter``)
  ``{"numpy": K}``                     a NumPy scalar (``np.float32(1.5)``), member ``K.npy``
  ``{"list": [NODE, ...]}``,           list, tuple (a namedtuple or ``Size`` becomes a
  ``{"tuple": [NODE, ...]}``           plain tuple)
  ``{"dict": [[KEY, NODE], ...]}``,    dict, OrderedDict (in order); KEY a JSON string or
  ``{"OrderedDict": [...]}``           integer (bool keys are refused)
  ===================================  ================================================

  nested at most ``MAX_DEPTH`` containers deep. Sets, bytes, custom objects, functions, dtype
  objects, object/string/date arrays and other keys are refused by ``save`` with a
  ``TypeError`` naming the path of keys (``obj['optimizer']['state'][0]``); a cycle, or
  nesting past ``MAX_DEPTH``, with a ``ValueError``.

``load`` rebuilds the structure with convgrad Tensors for tensors and arrays (an ndarray comes
back as a Tensor); a flat archive (``save``'s or any numeric ``np.savez`` file) comes back as
an ``OrderedDict`` of Tensors, as a state dict. It never unpickles: ``pickle_module``,
``pickle_protocol``, ``weights_only`` and ``**pickle_load_args`` are accepted for torch's
signatures and ignored (``weights_only=False`` loads exactly what ``True`` does). Every flaw in
a file — a corrupt zip, a lying array header, a zip bomb, a torch pickle, bad JSON, a
reference to a missing member, a wrong node, nesting past ``MAX_DEPTH`` — is one
``ValueError`` naming ``load`` (a safetensors file's flaws too).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import OrderedDict
from typing import Any, BinaryIO, Callable

import numpy as np

from . import safetensors
from .archive import (  # noqa: F401  (re-exported)
    DEFLATE_MAX_RATIO,
    MEMBER_SUFFIX,
    NUMERIC_KINDS,
    as_path,
    atomic_write,
    read_file,
    remove_stale_temporaries,
    write_archive,
)
from .autograd import Tensor

STRUCTURE = "__structure__.json"
FORMAT, VERSION = "convgrad.structure", 1
MAX_DEPTH = 128                  # containers nested in one another, saved or loaded
STRUCTURE_MAX_BYTES = 16 * 2**20
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# ------------------------------------------------------------------------------ save
def save(obj: Any, f: str | os.PathLike | BinaryIO, pickle_module: Any = None,
         pickle_protocol: Any = None, _use_new_zipfile_serialization: bool = True) -> None:
    """Write ``obj`` to ``f`` in the format of the module docstring.

    ``obj``: a Tensor, ndarray, number, str, bool, None, or nested dict / OrderedDict / list /
    tuple of those (str or int keys). ``f``: a path — written atomically: a temporary file in
    the same folder is flushed to disk and renamed over ``f``, so a crash leaves the old file
    (or none), never a truncated one, and the next save removes temporaries of writers that no
    longer run — or a binary file object (``io.BytesIO``), written from its position.
    ``pickle_module``, ``pickle_protocol`` and ``_use_new_zipfile_serialization`` are torch's,
    accepted and ignored (nothing is pickled). The whole object is checked before a byte is
    written. A path ending ``.safetensors`` gets that format (a flat dict of tensors only).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> save({"epoch": 3, "loss": [0.5, None]}, path)
    >>> load(path)
    {'epoch': 3, 'loss': [0.5, None]}
    """
    if isinstance(f, (str, os.PathLike)) and as_path(f, "save").lower().endswith(".safetensors"):
        return safetensors._save_path(safetensors._flat(obj), f, None, "save")
    members = _members(obj)
    if isinstance(f, (str, os.PathLike)):
        path = as_path(f, "save")
        atomic_write(path, lambda stream: write_archive(stream, members))
        return
    if not callable(getattr(f, "write", None)):
        raise TypeError(f"save: f must be a str, an os.PathLike or a binary file object, got "
                        f"{type(f).__name__}")
    write_archive(f, members)
    if callable(getattr(f, "flush", None)):
        f.flush()


def _members(obj: Any) -> dict[str, Any]:
    """The archive's members: ``KEY.npy`` for a flat state dict, else numbered arrays and the
    structure."""
    if _is_flat(obj):
        return {key + MEMBER_SUFFIX: _array(value, f"obj[{key!r}]")
                for key, value in obj.items()}
    encoder = _Encoder()
    root = encoder.node(obj, "obj", 0, set())
    text = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False,
                      separators=(",", ":"))
    members: dict[str, Any] = {STRUCTURE: text.encode("ascii")}
    members.update((f"{i}{MEMBER_SUFFIX}", a) for i, a in enumerate(encoder.arrays))
    return members


def _is_flat(obj: Any) -> bool:
    """A dict of str keys that can name zip members and of plain tensors/arrays."""
    return isinstance(obj, dict) and all(
        isinstance(k, str) and "\x00" not in k and not re.search("[\ud800-\udfff]", k)
        and (isinstance(v, np.ndarray) or (type(v) is Tensor and not v.requires_grad))
        for k, v in obj.items())


def _array(value: Any, where: str) -> np.ndarray:
    array = value.array if isinstance(value, Tensor) else value
    if array.dtype.kind not in NUMERIC_KINDS or array.dtype.fields is not None:
        raise TypeError(f"save: {where} has dtype {array.dtype}; only numeric arrays can be "
                        f"saved (no pickled objects)")
    return array


class _Encoder:
    """Turns an object into a NODE, collecting its arrays (each distinct array once)."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._index: dict[int, int] = {}

    def member(self, array: np.ndarray, where: str) -> int:
        array = _array(array, where)
        if id(array) not in self._index:
            self._index[id(array)] = len(self.arrays)
            self.arrays.append(array)           # kept alive: ids stay unique
        return self._index[id(array)]

    def node(self, obj: Any, where: str, depth: int, open_: set[int]) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and not isinstance(obj, np.generic):
            return int(obj)
        if isinstance(obj, float) and not isinstance(obj, np.generic):
            return _part(obj) if math.isfinite(obj) else {"float": _part(obj)}
        if isinstance(obj, complex) and not isinstance(obj, np.generic):
            return {"complex": [_part(obj.real), _part(obj.imag)]}
        if isinstance(obj, Tensor):
            from .nn import Parameter  # noqa: PLC0415  (nn imports much)
            out: dict[str, Any] = {"tensor": self.member(obj.array, where)}
            if obj.requires_grad:
                out["requires_grad"] = True
            if isinstance(obj, Parameter):
                out["parameter"] = True
            return out
        if isinstance(obj, np.ndarray):
            return {"tensor": self.member(obj, where)}
        if isinstance(obj, np.generic):
            return {"numpy": self.member(np.asarray(obj), where)}
        if not isinstance(obj, (dict, list, tuple)):
            raise TypeError(f"save: {where} is a {type(obj).__name__}; a checkpoint holds "
                            f"Tensors, ndarrays, numbers, str, bool, None and dicts, lists "
                            f"and tuples of them")
        if depth >= MAX_DEPTH:
            raise ValueError(f"save: {where} is nested more than {MAX_DEPTH} containers deep")
        if id(obj) in open_:
            raise ValueError(f"save: {where} contains itself (a cycle)")
        open_.add(id(obj))
        try:
            if isinstance(obj, dict):
                kind = "OrderedDict" if isinstance(obj, OrderedDict) else "dict"
                return {kind: [[_key(k, where), self.node(v, f"{where}[{k!r}]", depth + 1,
                                                          open_)] for k, v in obj.items()]}
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {kind: [self.node(v, f"{where}[{i}]", depth + 1, open_)
                           for i, v in enumerate(obj)]}
        finally:
            open_.discard(id(obj))


def _part(value: float) -> float | str:
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _key(key: Any, where: str) -> Any:
    if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, (bool, np.generic))):
        return key if isinstance(key, str) else int(key)
    raise TypeError(f"save: {where} has the key {key!r} ({type(key).__name__}); dict keys "
                    f"must be str or int")


# ------------------------------------------------------------------------------ load
def load(f: str | os.PathLike | BinaryIO, map_location: Any = None, pickle_module: Any = None,
         *, weights_only: bool = True, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Read what ``save`` wrote, any numeric ``.npz`` or any safetensors file (a path or a binary
    file object): the saved structure with Tensors for tensors and arrays; a flat archive or a
    safetensors file is an ``OrderedDict`` of Tensors. ``map_location`` (None, ``'cpu'``, a
    ``device``, a dict of locations or a callable ``(tensor, 'cpu') -> tensor or None``) is
    applied to each tensor: the CPU leaves it as it is, a CUDA target raises torch's
    RuntimeError (CUDA is not available). ``mmap=True`` (a path only, as in torch) is accepted;
    the arrays are read into memory. ``pickle_module``, ``weights_only`` and
    ``**pickle_load_args`` are ignored: nothing is ever unpickled.

    Raises TypeError for an ``f`` that is neither a path nor a binary file object,
    FileNotFoundError for a missing file, IsADirectoryError for a folder, and ValueError
    (naming ``load``) for any file that is not such a checkpoint: truncated or corrupt,
    pickled objects, a PyTorch file (with the recipe to convert it), members that are not
    ``.npy`` arrays, sizes that do not add up, unsupported compression or encryption, a
    structure or a safetensors header that is not valid.
    """
    relocate = _relocator(map_location)
    if mmap not in (None, False, True):
        raise TypeError(f"load: mmap must be None or a bool, got {mmap!r}")
    if mmap and not isinstance(f, (str, os.PathLike)):
        raise ValueError("load: f must be a file path in order to use the mmap argument")
    tensors, f = safetensors._sniff(f)      # by content: a safetensors file, else the zip
    if tensors is not None:
        return OrderedDict((k, relocate(Tensor.wrap(a))) for k, a in tensors.items())
    arrays, extras = read_file(f, {STRUCTURE: STRUCTURE_MAX_BYTES})
    if STRUCTURE not in extras:
        return OrderedDict((k, relocate(Tensor.wrap(a))) for k, a in arrays.items())
    name = (os.fsdecode(os.fspath(f)) if isinstance(f, (str, os.PathLike))
            else str(getattr(f, "name", None) or f"<{type(f).__name__}>"))
    return _Decoder(arrays, relocate, f"load: {name}: {STRUCTURE}").decode(extras[STRUCTURE])


_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_KINDS = ("tensor", "numpy", "float", "complex", "list", "tuple", "dict", "OrderedDict")


class _Decoder:
    """Rebuilds the object of a structure member, checking every node."""

    def __init__(self, arrays, relocate: Callable[[Tensor], Tensor], where: str) -> None:
        self.arrays, self.relocate, self.where = arrays, relocate, where
        self.used: set[int] = set()

    def fail(self, message: str) -> ValueError:
        return ValueError(f"{self.where}: {message} (corrupt checkpoint?)")

    def decode(self, raw: bytes) -> Any:
        chars = np.frombuffer(_STRINGS.sub(b"", raw), np.uint8)
        folded = chars | 32                                # [ { -> 123, ] } -> 125
        brackets = folded[(folded == 123) | (folded == 125)]
        depth = np.cumsum(124 - brackets.astype(np.int32))  # +1 opens, -1 closes
        if depth.size and depth.max() > 3 * MAX_DEPTH + 4:
            raise self.fail(f"nested deeper than {MAX_DEPTH} containers")
        try:
            doc = json.loads(raw.decode("utf-8"), parse_constant=self._constant)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as e:
            raise self.fail(f"not valid JSON: {e}") from None
        if not isinstance(doc, dict) or set(doc) != {"format", "version", "root"} or \
                doc["format"] != FORMAT:
            raise self.fail(f'expected {{"format": "{FORMAT}", "version": {VERSION}, '
                            f'"root": ...}}')
        if doc["version"] != VERSION or type(doc["version"]) is not int:
            raise self.fail(f"format version {doc['version']!r} is not {VERSION}")
        if {str(i) for i in range(len(self.arrays))} != set(self.arrays):
            raise self.fail(f"the array members {sorted(self.arrays)[:5]} are not numbered "
                            f"0.npy, 1.npy, ...")
        root = self.node(doc["root"], "root", 0)
        missing = sorted(set(range(len(self.arrays))) - self.used)
        if missing:
            raise self.fail(f"array member {missing[0]}.npy is not referenced")
        return root

    def _constant(self, token: str) -> Any:
        raise ValueError(f"non-standard JSON constant {token}")

    def node(self, node: Any, where: str, depth: int) -> Any:
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        kinds = [k for k in node if k in _KINDS] if isinstance(node, dict) else []
        if len(kinds) != 1:
            raise self.fail(f"{where} is not a node (one of {', '.join(_KINDS)}): "
                            f"{str(node)[:80]}")
        kind = kinds[0]
        value = node[kind]
        if kind in ("tensor", "numpy"):
            allowed = {"tensor", "requires_grad", "parameter"} if kind == "tensor" else {kind}
            flags = {k: node[k] for k in node if k != kind}
            if set(node) - allowed or any(v is not True for v in flags.values()):
                raise self.fail(f"{where}: unexpected fields {sorted(node)}")
            array = self.array(value, where)
            if kind == "numpy":
                if array.ndim:
                    raise self.fail(f"{where}: a NumPy scalar of shape {array.shape}")
                return array[()]
            return self.tensor(array, **flags)
        if len(node) != 1:
            raise self.fail(f"{where}: a node has one field, got {sorted(node)}")
        if kind == "float":
            return self.float(value, where)
        if kind == "complex":
            if not isinstance(value, list) or len(value) != 2:
                raise self.fail(f"{where}: complex needs [real, imag]")
            return complex(self.float(value[0], where), self.float(value[1], where))
        if not isinstance(value, list):
            raise self.fail(f"{where}: {kind} holds a {type(value).__name__}, not a list")
        if depth >= MAX_DEPTH:
            raise self.fail(f"{where}: nested deeper than {MAX_DEPTH} containers")
        if kind in ("list", "tuple"):
            items = [self.node(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
            return items if kind == "list" else tuple(items)
        out = OrderedDict() if kind == "OrderedDict" else {}
        for pair in value:
            if not isinstance(pair, list) or len(pair) != 2 or type(pair[0]) not in (str, int):
                raise self.fail(f"{where}: a {kind} entry must be [str or int key, node]")
            key = pair[0]
            if key in out:
                raise self.fail(f"{where}: the key {key!r} appears twice")
            out[key] = self.node(pair[1], f"{where}[{key!r}]", depth + 1)
        return out

    def float(self, value: Any, where: str) -> float:
        if type(value) in (int, float):
            return float(value)
        if isinstance(value, str) and value in _NON_FINITE:
            return _NON_FINITE[value]
        raise self.fail(f"{where}: {value!r} is not a float")

    def array(self, index: Any, where: str) -> np.ndarray:
        if type(index) is not int or str(index) not in self.arrays:
            raise self.fail(f"{where} refers to array member {index!r}.npy, which the archive "
                            f"does not hold")
        self.used.add(index)
        return self.arrays[str(index)]

    def tensor(self, array: np.ndarray, requires_grad: bool = False,
               parameter: bool = False) -> Tensor:
        t = self.relocate(Tensor.wrap(array))
        if parameter:
            from .nn import Parameter  # noqa: PLC0415
            return Parameter(t, requires_grad=requires_grad)
        return t.requires_grad_(True) if requires_grad else t


_NO_CUDA = ("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
            "is False. If you are running on a CPU-only machine, please use torch.load with "
            "map_location=torch.device('cpu') to map your storages to the CPU.")


def _relocator(map_location: Any) -> Callable[[Tensor], Tensor]:
    """torch's ``map_location`` forms, applied to every loaded tensor (saved on the CPU)."""
    from .device import device  # noqa: PLC0415

    def to(target: Any) -> Callable[[Tensor], Tensor]:
        def move(t: Tensor) -> Tensor:
            kind = device(target).type if isinstance(target, (str, device)) else None
            if kind == "cpu":
                return t
            if kind == "cuda":
                raise RuntimeError(_NO_CUDA)
            raise RuntimeError(f"load: cannot restore a tensor on {target!r}; convgrad "
                               f"computes on the CPU only")
        return move

    if map_location is None:
        return lambda t: t
    if isinstance(map_location, (str, device)):
        return to(map_location)
    if isinstance(map_location, dict):
        return to(map_location.get("cpu", "cpu"))
    if callable(map_location):
        def call(t: Tensor) -> Tensor:
            moved = map_location(t, "cpu")
            if moved is None:
                return t
            if not isinstance(moved, Tensor):
                raise TypeError(f"load: map_location returned a {type(moved).__name__}, not "
                                f"a Tensor or None")
            return moved
        return call
    raise TypeError(f"load: map_location must be None, a str, a device, a dict or a "
                    f"callable, got {type(map_location).__name__}")
