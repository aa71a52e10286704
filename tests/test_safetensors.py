"""safetensors: convgrad's NumPy reader/writer against the real ``safetensors`` package.

Files convgrad writes are byte-identical to the reference writer's (same order, same padding)
and load in ``safetensors.numpy``/``safetensors.torch`` and into a torch model with
``strict=True``; files torch writes load into convgrad; ``cg.load`` knows the format by content.
Corrupt files — truncated, bytes flipped, lying lengths, overlapping offsets, bad entries — are
one ValueError naming load, never anything else, and never read as something the reference
would not read.
"""

import io
import json
import os
import re
import struct
import tempfile

import numpy as np
import pytest
import safetensors
import safetensors.numpy as sn
from fuzzing import bounded, fuzz, refused
from helpers import import_torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import convgrad as cg
import convgrad.safetensors as cs

DTYPES = [np.dtype(f"{order}{code}") for code in ("i1", "i2", "i4", "i8", "u1", "u2", "u4",
                                                  "u8", "f2", "f4", "f8", "c8")
          for order in "<>"] + [np.dtype(bool)]
KEYS = st.text(max_size=10).filter(lambda k: k != "__metadata__")
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


@st.composite
def arrays(draw):
    """Any supported dtype and byte order, zero sizes and 0-d included, some not contiguous."""
    array = draw(hnp.arrays(draw(st.sampled_from(DTYPES)), SHAPES))
    view = draw(st.sampled_from(["as is", "transposed", "reversed"]))
    if view == "transposed":
        return array.T
    return array[::-1] if view == "reversed" and array.ndim else array


STATES = st.dictionaries(KEYS, arrays(), max_size=6)
METADATA = st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=1)
FOLDER = tempfile.mkdtemp(prefix="convgrad-safetensors-")


def little(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, array.dtype.newbyteorder("<")).tobytes()


def same_tensors(got, want):
    """Same names, dtypes (as native NumPy dtypes), shapes and bytes (NaN payloads included)."""
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        array = got[key].numpy() if isinstance(got[key], cg.Tensor) else np.asarray(got[key])
        value = value.numpy() if isinstance(value, cg.Tensor) else np.asarray(value)
        assert array.dtype == value.dtype.newbyteorder("="), key
        assert array.shape == value.shape, key
        assert little(array) == little(value), key


def written(data: bytes, name: str = "case.safetensors") -> str:
    path = os.path.join(FOLDER, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ------------------------------------------------------------------ round trips, both ways
@fuzz(80)
@given(STATES, METADATA)
def test_any_dict_round_trips_and_matches_the_reference_writer_byte_for_byte(state, metadata):
    data = cs.save(state, metadata)
    if state or metadata != {}:    # the reference writes {},"__metadata__":{}} for ({}, {})
        assert data == sn.save({k: v.copy() for k, v in state.items()}, metadata=metadata)
    same_tensors(cs.load(data), state)
    same_tensors(sn.load(data), state)
    path = written(data)
    same_tensors(cg.load(path), state)
    cs.save_file(state, path, metadata)
    assert open(path, "rb").read() == data
    same_tensors(cs.load_file(path), state)
    assert cs.load_metadata(path) == metadata
    with safetensors.safe_open(path, "np") as f:
        assert f.metadata() == metadata


def test_order_and_alignment_are_the_reference_writers():
    """Tensors by dtype (largest first), then name; the header padded with spaces to 8 bytes."""
    state = {"b": np.ones(3, np.float32), "a": np.ones(1, np.uint8), "z": np.ones(2),
             "flag": np.array(True), "c": np.zeros((2, 0), np.int64)}
    data = cs.save(state, {"note": "x"})
    n = struct.unpack("<Q", data[:8])[0]
    assert n % 8 == 0 and data[8:8 + n].endswith(b" ")
    header = json.loads(data[8:8 + n])
    assert list(header) == ["__metadata__", "c", "z", "b", "a", "flag"]
    assert header["z"] == {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}
    assert list(cs.load(data)) == ["c", "z", "b", "a", "flag"]        # the buffer's order
    assert cs.save({}) == sn.save({}) == struct.pack("<Q", 8) + b"{}      "


def test_files_written_by_torch_load_into_convgrad(tmp_path):
    torch = import_torch()
    from safetensors.torch import save_file  # noqa: PLC0415

    state = {"f64": torch.randn(2, 3, dtype=torch.float64), "f32": torch.randn(4),
             "f16": torch.randn(3).half(), "i64": torch.arange(5), "i32": torch.arange(3).int(),
             "i16": torch.arange(3).short(), "i8": torch.arange(-2, 2).to(torch.int8),
             "u8": torch.arange(4).to(torch.uint8), "b": torch.tensor([True, False]),
             "c64": torch.tensor([1 + 2j], dtype=torch.complex64), "scalar": torch.tensor(2.5),
             "empty": torch.zeros(0, 3), "u16": torch.tensor([1, 65535], dtype=torch.uint16),
             "u32": torch.tensor([7], dtype=torch.uint32),
             "u64": torch.tensor([2**63], dtype=torch.uint64)}
    save_file(state, tmp_path / "t.safetensors", metadata={"format": "pt"})
    want = {k: v.numpy() for k, v in state.items()}
    for loaded in (cg.load(tmp_path / "t.safetensors"), cs.load_file(tmp_path / "t.safetensors"),
                   cs.load((tmp_path / "t.safetensors").read_bytes())):
        same_tensors(loaded, want)
        assert all(type(v) is cg.Tensor for v in loaded.values())
    assert cs.load_metadata(tmp_path / "t.safetensors") == {"format": "pt"}
    loaded = cg.load(tmp_path / "t.safetensors")
    loaded["f32"].add_(1)                                # writable, owned arrays
    assert loaded["u64"].item() == 2**63


def _nets(torch):
    def build(lib):
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                             nn.Conv2d(3, 4, 3, stride=2), nn.Flatten(), nn.Linear(16, 5))
    cg.manual_seed(1)
    torch.manual_seed(2)
    return build(cg), build(torch)


def test_a_torch_model_loads_convgrads_file_strictly_and_back(tmp_path):
    torch = import_torch()
    from safetensors.torch import load_file, save_file  # noqa: PLC0415

    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5)).astype(np.float32)
    model, tmodel = _nets(torch)
    model(cg.tensor(x))                                  # running stats move off their start
    model.eval()
    tmodel.eval()
    cg.save(model.state_dict(), tmp_path / "cg.safetensors")
    tmodel.load_state_dict(load_file(tmp_path / "cg.safetensors"), strict=True)
    with torch.no_grad():
        np.testing.assert_allclose(tmodel(torch.from_numpy(x)).numpy(),
                                   model(cg.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)

    _, tother = _nets(torch)
    tother(torch.from_numpy(x))
    tother.eval()
    save_file(tother.state_dict(), tmp_path / "torch.safetensors")
    fresh, _ = _nets(torch)
    fresh.eval()
    fresh.load_state_dict(cg.load(tmp_path / "torch.safetensors"), strict=True)
    with torch.no_grad():
        np.testing.assert_allclose(fresh(cg.tensor(x)).detach().numpy(),
                                   tother(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-5)
    assert fresh.state_dict()["1.num_batches_tracked"].item() == 1


def test_metadata_round_trips_and_is_checked(tmp_path):
    path = tmp_path / "m.safetensors"
    metadata = {"format": "pt", "ünï ☃": "a\nb\"c\\", "": ""}
    cs.save_file({"w": np.ones(2)}, path, metadata=metadata)
    assert cs.load_metadata(path) == metadata
    with safetensors.safe_open(str(path), "np") as f:
        assert f.metadata() == metadata
    sn.save_file({"w": np.ones(2)}, str(path), metadata={"by": "reference"})
    assert cs.load_metadata(path) == {"by": "reference"}
    cs.save_file({"w": np.ones(2)}, path)
    assert cs.load_metadata(path) is None
    for bad in ({"k": 1}, {1: "v"}, ["k"], "k=v"):
        with pytest.raises(TypeError, match="save_file: metadata must be a dict of str to str"):
            cs.save_file({"w": np.ones(2)}, tmp_path / "x.safetensors", metadata=bad)
    with pytest.raises(ValueError, match="save: metadata.* lone surrogate"):
        cs.save({}, {"k": "\ud800"})
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


@pytest.mark.parametrize("tensors, error, message", [
    ({1: np.ones(2)}, TypeError, "save_file: the key 1 is a int; safetensors names tensors by "
                                 "str"),
    ({"__metadata__": np.ones(2)}, ValueError, "the key '__metadata__' is reserved"),
    ({"w": np.ones(2, complex)}, TypeError, "tensors['w'] has dtype complex128, which "
                                            "safetensors cannot hold"),
    ({"w": np.array(["a"])}, TypeError, "tensors['w'] has dtype <U1"),
    ({"w": np.array([None])}, TypeError, "tensors['w'] has dtype object"),
    ({"w": np.zeros(2, [("a", "f4")])}, TypeError, "tensors['w'] has dtype"),
    ({"w": np.zeros(2, "M8[s]")}, TypeError, "tensors['w'] has dtype datetime64[s]"),
    ({"w": [1.0]}, TypeError, "tensors['w'] is a list; a safetensors file holds Tensors"),
    ({"\ud800": np.ones(1)}, ValueError, "lone surrogate"),
    ([np.ones(1)], TypeError, "tensors must be a dict"),
])
def test_save_refuses_what_safetensors_cannot_hold_before_writing(tmp_path, tensors, error,
                                                                  message):
    with pytest.raises(error, match=re.escape(message)):
        cs.save_file(tensors, tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []


def test_cg_save_to_a_safetensors_path_needs_a_flat_dict_of_tensors(tmp_path):
    checkpoint = {"epoch": 3, "model": {"w": cg.ones(2)}}
    with pytest.raises(TypeError, match=re.escape(
            "save: obj['epoch'] is a int; a .safetensors file holds a flat dict {str: tensor} "
            "(a state_dict()) — use a .pt or .npz path for a full checkpoint")):
        cg.save(checkpoint, tmp_path / "c.safetensors")
    with pytest.raises(TypeError, match="save: obj is a list; a .safetensors file holds"):
        cg.save([cg.ones(2)], tmp_path / "c.safetensors")
    assert os.listdir(tmp_path) == []
    cg.save(checkpoint, tmp_path / "c.pt")               # the same checkpoint, as a .pt: fine
    w = cg.nn.Parameter(cg.ones(3))
    cg.save({"w": w, "alias": w, "view": w[:2], "big": np.arange(4, dtype=">i4")},
            tmp_path / "p.SafeTensors")
    loaded = sn.load_file(str(tmp_path / "p.SafeTensors"))       # shared tensors: each written
    same_tensors(loaded, {"w": np.ones(3, np.float32), "alias": np.ones(3, np.float32),
                          "view": np.ones(2, np.float32), "big": np.arange(4, dtype="<i4")})


def test_cg_load_knows_the_format_by_content(tmp_path):
    state = {"w": np.arange(6.0).reshape(2, 3), "n": np.array(7)}
    data = cs.save(state)
    (tmp_path / "weights.bin").write_bytes(data)
    loaded = cg.load(tmp_path / "weights.bin")
    assert type(loaded).__name__ == "OrderedDict"
    same_tensors(loaded, state)
    same_tensors(cg.load(io.BytesIO(data)), state)
    shifted = io.BytesIO(b"junk" + data)                 # read from the position
    shifted.seek(4)
    same_tensors(cg.load(shifted), state)

    class Pipe:                                          # a stream that cannot seek
        def __init__(self):
            self.stream = io.BytesIO(data)

        def read(self, n=-1):
            return self.stream.read(n)
    same_tensors(cg.load(Pipe()), state)
    with open(tmp_path / "weights.bin", "rb") as f:
        same_tensors(cg.load(f, map_location="cpu"), state)
    seen = []
    cg.load(tmp_path / "weights.bin", map_location=lambda t, where: seen.append(where))
    assert seen == ["cpu", "cpu"]
    with pytest.raises(RuntimeError, match="CUDA"):
        cg.load(tmp_path / "weights.bin", map_location="cuda")
    with pytest.raises(RuntimeError, match="load_file: cannot load onto device 'cuda:0'"):
        cs.load_file(tmp_path / "weights.bin", device="cuda:0")
    same_tensors(cs.load_file(tmp_path / "weights.bin", device=cg.device("cpu")), state)
    cg.save(state, tmp_path / "m.npz")                   # the other formats are unaffected
    same_tensors(cg.load(tmp_path / "m.npz"), state)
    with pytest.raises(TypeError, match="load: .* text stream"):
        cg.load(io.StringIO(data.decode("latin-1")))
    with pytest.raises(FileNotFoundError, match="load_file: no such file"):
        cs.load_file(tmp_path / "absent.safetensors")
    with pytest.raises(IsADirectoryError, match="load_metadata: .* is a directory"):
        cs.load_metadata(tmp_path)
    assert not cs.is_safetensors((tmp_path / "m.npz").read_bytes()[:9])
    assert cs.is_safetensors(data[:9]) and not cs.is_safetensors(data[:8])


@pytest.mark.parametrize("dtype, name", [("bfloat16", "BF16"), ("float8_e4m3fn", "F8_E4M3"),
                                         ("float8_e5m2", "F8_E5M2")])
def test_dtypes_numpy_cannot_represent_are_refused_with_the_conversion(tmp_path, dtype, name):
    torch = import_torch()
    from safetensors.torch import save_file  # noqa: PLC0415

    save_file({"ok": torch.ones(2), "layer.w": torch.ones(2).to(getattr(torch, dtype))},
              tmp_path / "h.safetensors")
    for load in (cg.load, cs.load_file):
        with pytest.raises(ValueError) as info:
            load(tmp_path / "h.safetensors")
        message = str(info.value)
        assert f"tensor 'layer.w': dtype {name} has no NumPy dtype" in message, message
        assert "v.float()" in message and "corrupt" not in message
        assert message.startswith(("load: ", "load_file: "))


# ------------------------------------------------------------------------------ bad files
def file_of(header, data: bytes = b"", pad: bool = True) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    text += b" " * (-len(text) % 8 if pad else 0)
    return struct.pack("<Q", len(text)) + text + data


ENTRY = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize("data, message", [
    (b"", "has 0 bytes, fewer than the 8"),
    (struct.pack("<Q", 2**63) + b"{}", f"more than the {cs.MAX_HEADER} allowed"),
    (struct.pack("<Q", cs.MAX_HEADER + 1) + b"{}", "more than the"),
    (struct.pack("<Q", 99_999_999) + b"{}", "but only 2 follow it"),
    (file_of(b"\xff{}"), "not UTF-8"),
    (file_of(b"[]"), "does not start with '{'"),
    (file_of(b"{"), "not valid JSON"),
    (file_of(b'{"w": NaN}'), "not valid JSON: non-standard JSON constant NaN"),
    (file_of(b'{"a": {"x": 1, "x": 2}}'), "the key 'x' appears twice"),
    (file_of(b'{"w": ' + json.dumps(ENTRY).encode() + b', "w": '
             + json.dumps(ENTRY).encode() + b"}", bytes(8)), "the key 'w' appears twice"),
    (file_of({"w": {"dtype": "F32", "shape": [2]}}, bytes(8)), "tensor 'w': an entry is"),
    (file_of({"w": {**ENTRY, "extra": 1}}, bytes(8)), "tensor 'w': an entry is"),
    (file_of({"w": [1, 2]}, bytes(8)), "tensor 'w': an entry is"),
    (file_of({"w": {**ENTRY, "dtype": "F128"}}, bytes(8)), "unknown dtype 'F128'"),
    (file_of({"w": {**ENTRY, "dtype": 3}}, bytes(8)), "unknown dtype 3"),
    (file_of({"w": {**ENTRY, "shape": [-2]}}, bytes(8)), "shape [-2] is not a list of non-neg"),
    (file_of({"w": {**ENTRY, "shape": [2.0]}}, bytes(8)), "shape [2.0] is not"),
    (file_of({"w": {**ENTRY, "shape": [True, 2]}}, bytes(8)), "shape [True, 2] is not"),
    (file_of({"w": {**ENTRY, "shape": 2}}, bytes(8)), "shape 2 is not"),
    (file_of({"w": {**ENTRY, "shape": [1] * 65, "data_offsets": [0, 4]}}, bytes(4)),
     "65 dimensions"),
    (file_of({"w": {**ENTRY, "data_offsets": [0, 8, 9]}}, bytes(8)), "is not [begin, end]"),
    (file_of({"w": {**ENTRY, "data_offsets": [-8, 0]}}, bytes(8)), "is not [begin, end]"),
    (file_of({"w": {**ENTRY, "data_offsets": [0, 4]}}, bytes(4)), "is 8 bytes but data_offsets"),
    (file_of({"w": {**ENTRY, "shape": [2**70]}}, bytes(8)), "bytes but data_offsets [0, 8]"),
    (file_of({"w": ENTRY}, bytes(4)), "cover 8 bytes but the buffer after the header has 4"),
    (file_of({"w": ENTRY}, bytes(9)), "cover 8 bytes but the buffer after the header has 9"),
    (file_of({"w": {**ENTRY, "data_offsets": [4, 12]}}, bytes(12)), "leave a hole after byte 0"),
    (file_of({"w": {**ENTRY, "data_offsets": [8, 0]}}, bytes(8)), "leave a hole after byte 0"),
    (file_of({"v": ENTRY, "w": {**ENTRY, "data_offsets": [4, 12]}}, bytes(12)),
     "tensor 'w': data_offsets [4, 12] overlap the tensor before it"),
    (file_of({"v": ENTRY, "w": ENTRY}, bytes(16)), "overlap the tensor before it"),
    (file_of({"__metadata__": {"k": 1}}), "__metadata__ must map str to str"),
    (file_of({"__metadata__": ["k"]}), "__metadata__ must map str to str"),
    (file_of(b'{"__metadata__": {"k": "\\ud800"}}'), "metadata['k'] is not valid Unicode"),
    (file_of(b'{"\\udc00": ' + json.dumps(ENTRY).encode() + b"}", bytes(8)),
     "the tensor name '\\udc00' is not valid Unicode"),
    (file_of({"w": {**ENTRY, "shape": [0, 2**70], "data_offsets": [0, 0]}}),
     "cannot be allocated"),
    (file_of(b"{" + b'"a":[' * 100_000 + b"]" * 100_000 + b"}"), "not valid JSON"),
    (file_of(b'{"a": 1' + b"0" * 5000 + b"}"), "not valid JSON"),
])
def test_each_flaw_is_one_value_error_naming_load_and_the_file(data, message):
    path = written(data, "bad.safetensors")
    for load, op in ((cg.load, "load"), (cs.load_file, "load_file")):
        with pytest.raises(ValueError, match=re.escape(message)) as info:
            bounded(load, path)
        assert str(info.value).startswith(f"{op}: {path}: "), str(info.value)
    with pytest.raises(ValueError, match=re.escape(message)):
        cs.load(data)


def test_what_the_reference_accepts_leniently(tmp_path):
    """Whitespace around the header, "__metadata__": null and an 8-byte-unaligned header are
    read (as the reference reads them); BOOL bytes other than 0/1 are True (torch's reading)."""
    data = file_of(b' {"__metadata__": null, "b": {"dtype": "BOOL", "shape": [3], '
                   b'"data_offsets": [0, 3]}}\n\t', b"\x00\x01\x07", pad=False)
    np.testing.assert_array_equal(cs.load(data)["b"].numpy(), [False, True, True])
    np.testing.assert_array_equal(sn.load(data)["b"].view(np.uint8), [0, 1, 7])
    assert cs.load_metadata(written(data)) is None


# ------------------------------------------------------------------------------ fuzz
def agrees_or_refuses(data: bytes):
    """Either a ValueError naming load, or exactly what the reference reads from ``data``."""
    try:
        got = bounded(cs.load, data)
    except ValueError as e:
        assert str(e).startswith("load: <bytes>: "), str(e)
        return None
    want = sn.load(data)           # convgrad never reads a file the reference refuses
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        if value.dtype == bool:
            value = value.view(np.uint8) != 0
        same_tensors({key: got[key]}, {key: value})
    return got


@fuzz(60)
@given(STATES.filter(bool), METADATA, st.data())
def test_a_truncated_file_is_refused(state, metadata, data):
    raw = cs.save(state, metadata)
    cut = data.draw(st.integers(0, len(raw) - 1), label="cut at")
    refused(cs.load, raw[:cut], op="load", allowed=(ValueError,))
    refused(cg.load, written(raw[:cut]), op="load", allowed=(ValueError,))
    refused(cg.load, written(raw[:cut], "case.bin"), op="load", allowed=(ValueError,))


@fuzz(80)
@given(STATES.filter(bool), METADATA, st.data())
def test_flipped_bytes_are_refused_or_read_as_the_reference_reads_them(state, metadata, data):
    raw = bytearray(cs.save(state, metadata))
    header_end = 8 + struct.unpack("<Q", raw[:8])[0]
    in_header = data.draw(st.booleans(), label="in the header")
    for _ in range(data.draw(st.integers(1, 6), label="flips")):
        at = data.draw(st.integers(8, header_end - 1) if in_header or header_end == len(raw)
                       else st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255).filter(lambda b, old=raw[at]: b != old))
    loaded = agrees_or_refuses(bytes(raw))
    if loaded is not None:
        same_tensors(bounded(cg.load, written(bytes(raw))), loaded)


@fuzz(60)
@given(STATES, METADATA, st.one_of(st.integers(0, 2**64 - 1), st.integers(-64, 64)))
def test_a_lying_header_length_is_refused(state, metadata, length):
    raw = cs.save(state, metadata)
    true = struct.unpack("<Q", raw[:8])[0]
    length = length if length > 64 or length < -64 else max(true + length, 0)
    if length == true:
        length += 1
    lying = struct.pack("<Q", length % 2**64) + raw[8:]
    refused(cs.load, lying, op="load", allowed=(ValueError,))
    refused(cg.load, written(lying), op="load", allowed=(ValueError,))


def _pick_entry(state, data):
    """The header and buffer of ``state`` saved, and one tensor's name drawn from it."""
    raw = cs.save(state)
    n = struct.unpack("<Q", raw[:8])[0]
    header, buffer = json.loads(raw[8:8 + n]), raw[8 + n:]
    return header, buffer, data.draw(st.sampled_from(sorted(header)), label="tensor")


@fuzz(60)
@given(STATES.filter(bool), st.data())
def test_moved_offsets_are_refused(state, data):
    """Overlaps, holes, offsets past the buffer, sizes that do not match the shape."""
    header, buffer, key = _pick_entry(state, data)
    begin, end = header[key]["data_offsets"]
    new = data.draw(st.tuples(st.integers(0, len(buffer) + 16), st.integers(0, len(buffer) + 16))
                    .filter(lambda o: o != (begin, end)), label="offsets")
    header[key]["data_offsets"] = list(new)
    bad = file_of(header, buffer)
    if end > begin:                # a tensor with bytes can only be where it was
        refused(cs.load, bad, op="load", allowed=(ValueError,))
    else:                          # an empty one may sit at any boundary
        agrees_or_refuses(bad)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2, 2**65) | st.floats() |
                    st.text(max_size=4),
                    lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)


@fuzz(60)
@given(STATES.filter(bool), st.data())
def test_a_mangled_entry_is_refused_or_read_as_the_reference_reads_it(state, data):
    header, buffer, key = _pick_entry(state, data)
    field = data.draw(st.sampled_from(["dtype", "shape", "data_offsets", "extra", None,
                                       "__metadata__"]), label="field")
    value = data.draw(JSON, label="value")
    if field == "__metadata__":
        header[field] = value
    elif field is None:
        header[key] = value
    elif data.draw(st.booleans(), label="delete"):
        header[key].pop(field, None)
    else:
        header[key][field] = value
    agrees_or_refuses(file_of(header, buffer))
