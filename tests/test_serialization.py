"""Checkpoints: round trip, atomic writes, pickle refused, corrupt files named."""

import io
import math
import os
import pickle
import re
import struct
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from helpers import import_torch

import convgrad as cg
from convgrad import nn, serialization


def test_round_trip_restores_the_model(tmp_path):
    cg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    model(np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32))
    path = tmp_path / "model.npz"
    cg.save(model.state_dict(), path)
    loaded = cg.load(path)
    assert list(loaded) == list(model.state_dict())
    clone = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))
    clone.load_state_dict(loaded)
    for (k, a), b in zip(model.state_dict().items(), clone.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
        assert a.dtype == b.dtype


def test_a_crash_mid_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    cg.save({"w": np.ones(3)}, path)

    def crash(f, arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt("power cut")
    monkeypatch.setattr(serialization, "write_archive", crash)
    with pytest.raises(KeyboardInterrupt):
        cg.save({"w": np.zeros(3)}, path)
    np.testing.assert_array_equal(cg.load(path)["w"], np.ones(3))
    assert os.listdir(tmp_path) == ["model.npz"]                 # no temporary left behind


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_pickled_content_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "objects.npz", w=np.array([Exploit()], dtype=object))
    with pytest.raises(ValueError, match="contains pickled objects .*refused, not run"):
        cg.load(tmp_path / "objects.npz")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"w": Exploit()}))
    with pytest.raises(ValueError, match="is a pickle .* will not unpickle"):
        cg.load(tmp_path / "plain.pkl")
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(TypeError, match="only numeric arrays"):
        cg.save({"w": np.array([object()], dtype=object)}, tmp_path / "x.npz")


def test_truncated_and_missing_files_get_clear_errors(tmp_path):
    path = tmp_path / "model.npz"
    cg.save({"w": np.arange(10_000.0)}, path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable .npz checkpoint"):
        cg.load(tmp_path / "cut.npz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        cg.load(tmp_path / "absent.npz")


def test_every_string_key_is_kept_even_numpy_keyword_names(tmp_path):
    """A flat {str: array} dict is written as np.savez writes it, so np.load reads it."""
    state = {"allow_pickle": np.ones(2), "file": np.arange(3), "": np.array(1.5, np.float32),
             "a/b.npy": np.zeros((2, 0)), "ünï ☃": np.array(True), "x": np.array(2 + 1j),
             "big": cg.tensor(2**62)}
    cg.save(state, tmp_path / "m.npz")
    for loaded in (cg.load(tmp_path / "m.npz"), np.load(tmp_path / "m.npz")):
        assert sorted(loaded) == sorted(state)
        for key, value in state.items():
            np.testing.assert_array_equal(loaded[key], np.asarray(value), err_msg=key)
            assert loaded[key].dtype == np.asarray(value).dtype


def test_numbers_keep_their_python_types(tmp_path):
    """Was: numbers in a state dict became 0-d arrays (the flat-only rule). Now as torch: a
    number comes back as the number, a NumPy scalar as the NumPy scalar."""
    state = {"": np.float32(1.5), "ünï ☃": True, "x": 2 + 1j, "big": 2**62, "n": math.nan,
             "i": -math.inf, "a\x00b": 1, "\ud800": 2.0,
             "ci": complex(0, math.inf)}          # found by the long fuzz profile
    cg.save(state, tmp_path / "m.npz")
    loaded = cg.load(tmp_path / "m.npz")
    assert list(loaded) == list(state) and type(loaded) is dict
    for key, value in state.items():
        assert type(loaded[key]) is type(value), key
        assert loaded[key] == value or (math.isnan(value) and math.isnan(loaded[key]))


def test_an_empty_state_dict_round_trips(tmp_path):
    """Found by the fuzz suite: an empty archive starts with the end record, not a member."""
    cg.save({}, tmp_path / "e.npz")
    assert cg.load(tmp_path / "e.npz") == {}
    np.savez(tmp_path / "n.npz")
    assert cg.load(tmp_path / "n.npz") == {}


def test_fortran_order_and_big_endian_arrays_round_trip(tmp_path):
    state = {"f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
             "be": np.arange(4, dtype=">i4"), "view": np.arange(10)[::3]}
    cg.save(state, tmp_path / "m.npz")
    loaded = cg.load(tmp_path / "m.npz")
    for key, value in state.items():
        np.testing.assert_array_equal(loaded[key], value)


@pytest.mark.parametrize("state, error, message", [
    ({1.5: np.ones(2)}, TypeError, "obj has the key 1.5 (float); dict keys must be str or int"),
    ({True: np.ones(2)}, TypeError, "key True (bool)"),
    ({"a": {(1, 2): 3}}, TypeError, "obj['a'] has the key (1, 2)"),
    ({"w": object()}, TypeError, "obj['w'] is a object"),
    ({"w": [1, {2}]}, TypeError, "obj['w'][1] is a set"),
    ({"w": b"bytes"}, TypeError, "obj['w'] is a bytes"),
    ({"w": len}, TypeError, "obj['w'] is a builtin_function_or_method"),
    ({"w": np.array(["a"])}, TypeError, "obj['w'] has dtype <U1"),
    ({"w": [np.zeros(2, [("a", "f8")])]}, TypeError, "obj['w'][0] has dtype"),
    ({"w": {"v": np.array([None])}}, TypeError, "only numeric arrays"),
    (cg.float32, TypeError, "obj is a Float32DType"),
])
def test_save_refuses_what_a_checkpoint_cannot_hold(tmp_path, state, error, message):
    """Was: keys other than str, and str / None / list values, were refused (the flat-only
    rule). Now what torch users save is kept and the rest is refused naming the path of keys."""
    with pytest.raises(error, match=re.escape(message)):
        cg.save(state, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_cycles_and_nesting_bombs_are_refused_by_save(tmp_path):
    cyclic = {"a": []}
    cyclic["a"].append(cyclic)
    with pytest.raises(ValueError, match=re.escape("save: obj['a'][0] contains itself")):
        cg.save(cyclic, tmp_path / "m.npz")
    deep = []
    for _ in range(serialization.MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ValueError, match="save: obj.* nested more than"):
        cg.save(deep, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_bad_paths_are_named(tmp_path):
    with pytest.raises(TypeError, match="load: f must be a str, an os.PathLike or a binary file "
                                        "object, got NoneType"):
        cg.load(None)
    with pytest.raises(TypeError, match="save: f must be a str"):
        cg.save({}, 3)
    with pytest.raises(TypeError, match="load: .* text stream"):
        cg.load(io.StringIO("PK"))
    with pytest.raises(IsADirectoryError, match="load: .* is a directory"):
        cg.load(tmp_path)
    with pytest.raises(IsADirectoryError, match="save: .* is a directory"):
        cg.save({}, tmp_path)
    with pytest.raises(FileNotFoundError, match="save: folder .* does not exist"):
        cg.save({}, tmp_path / "no" / "m.npz")


def zip_with(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def test_only_archives_of_npy_members_are_accepted(tmp_path):
    text = zip_with(tmp_path / "t.npz", {"w.npy": npy(np.ones(2)), "notes.txt": b"hello"})
    with pytest.raises(ValueError, match="member 'notes.txt' is not a .npy array"):
        cg.load(text)
    fake = zip_with(tmp_path / "f.npz", {"w.npy": b"hello, not an array"})
    with pytest.raises(ValueError, match="load: .*not a readable .npz"):
        cg.load(fake)
    (tmp_path / "bare.npy").write_bytes(npy(np.ones(2)))
    with pytest.raises(ValueError, match="single .npy array"):
        cg.load(tmp_path / "bare.npy")
    compressed = tmp_path / "c.npz"
    np.savez_compressed(compressed, a=np.zeros(100_000), b=np.arange(5))
    np.testing.assert_array_equal(cg.load(compressed)["b"], np.arange(5))


@pytest.mark.parametrize("legacy", [False, True])
def test_a_torch_file_is_named_with_a_recipe_and_never_unpickled(tmp_path, monkeypatch, legacy):
    torch = import_torch()
    monkeypatch.chdir(tmp_path)
    torch.save({"w": torch.ones(2), "x": Exploit()}, tmp_path / "m.pt",
               _use_new_zipfile_serialization=not legacy)
    with pytest.raises(ValueError, match="is a PyTorch|a PyTorch file") as info:
        cg.load(tmp_path / "m.pt")
    message = str(info.value)
    assert "will not unpickle" in message and "torch.load(f, weights_only=True)" in message
    assert "safetensors.torch.save_file" in message and "np.savez" in message
    assert not (tmp_path / "pwned").exists()


def test_a_member_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    # a .npy header for 7 TiB of float64, followed by 16 bytes of data
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (2**40, 7)})
    huge = zip_with(tmp_path / "h.npz", {"w.npy": buffer.getvalue() + bytes(16)})
    with pytest.raises(ValueError, match=r"declares shape \(1099511627776, 7\)"):
        cg.load(huge)


def test_a_zip_bomb_is_refused_not_inflated(tmp_path):
    """A member whose directory entry claims far more than deflate can expand is refused."""
    path = zip_with(tmp_path / "b.npz", {"w.npy": npy(np.zeros(2**20))}, zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 2**32 - 1)      # uncompressed size: 4 GiB
    (tmp_path / "bomb.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="zip bomb"):
        cg.load(tmp_path / "bomb.npz")


@pytest.mark.parametrize("flags, method, message", [
    (0x1, zipfile.ZIP_STORED, "is encrypted"),
    (0x0, zipfile.ZIP_BZIP2, "compression 'bzip2'"),
    (0x0, 99, "compression 99"),
])
def test_encryption_and_other_compressions_are_value_errors(tmp_path, flags, method, message):
    path = zip_with(tmp_path / "m.npz", {"w.npy": npy(np.ones(2))})
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature)
        struct.pack_into("<HH", data, at + flag_at, flags, method)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"load: .*{re.escape(message)}"):
        cg.load(path)


def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    script = (f"import numpy as np, convgrad as cg, os\n"
              f"from convgrad import serialization\n"
              f"def die(f, arrays):\n"
              f"    f.write(b'x' * 1000); f.flush(); os._exit(9)\n"
              f"serialization.write_archive = die\n"
              f"cg.save({{'w': np.ones(3)}}, {str(tmp_path / 'm.npz')!r})\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert done.returncode == 9
    (stale,) = os.listdir(tmp_path)
    assert stale.startswith(".m.npz.") and stale.endswith(".tmp")
    other = tmp_path / f".other.npz.{done.returncode}.00000000.tmp"
    other.write_bytes(b"")                       # another target's temporary: kept
    live = tmp_path / f".m.npz.{os.getpid()}.0000abcd.tmp"
    live.write_bytes(b"")                        # a running writer's temporary: kept
    cg.save({"w": np.zeros(3)}, tmp_path / "m.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.npz", other.name, live.name])


def test_a_directory_that_lost_entries_is_refused_not_read_as_fewer(tmp_path):
    """Found by the long fuzz profile: an end record whose central-directory size had one byte
    zeroed loaded as an empty dict. Members must tile the file up to the central directory."""
    path = tmp_path / "m.npz"
    cg.save({"a": np.ones(3), "b": np.zeros(2)}, path)
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    size = struct.unpack_from("<I", data, end + 12)[0]
    struct.pack_into("<I", data, end + 12, size // 2)      # the directory's second entry lost
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="load: .*central directory (does not acc|places)"):
        cg.load(path)


def test_overlapping_members_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    cg.save({"a": np.ones(3), "a2": np.ones(3)}, path)
    data = bytearray(path.read_bytes())
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    struct.pack_into("<I", data, second + 42, 0)           # b's data is a's
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="load: .*overlaps the one before"):
        cg.load(path)


# ------------------------------------------------------------- checkpoints with torch's shape
def _same(got, want, where="obj"):
    """A loaded convgrad object matches the torch object torch.load returned."""
    torch = import_torch()
    if isinstance(want, torch.Tensor):
        assert isinstance(got, cg.Tensor), where
        assert got.shape == tuple(want.shape) and got.requires_grad == want.requires_grad, where
        assert str(got.dtype) == str(want.dtype).removeprefix("torch."), where
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=0,
                                   err_msg=where)
        return
    assert type(got) is type(want), f"{where}: {type(got)} != {type(want)}"
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            _same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert got == want, where


def _train(lib, optimizer, steps, seed=0):
    """Float64 model, its optimizer and StepLR; ``steps`` steps; the losses."""
    lib.manual_seed(seed)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 1)).double()
    opt = (lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if optimizer == "sgd"
           else lib.optim.Adam(model.parameters(), lr=0.05))
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched, lambda n: [_step(lib, model, opt, sched, i) for i in range(n)]


def _step(lib, model, opt, sched, i):
    rng = np.random.default_rng(i)
    x, y = lib.tensor(rng.standard_normal((5, 3))), lib.tensor(rng.standard_normal((5, 1)))
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    sched.step()
    return float(loss.item())


def _copy_weights(model, tmodel):
    torch = import_torch()
    with torch.no_grad():
        for p, q in zip(model.parameters(), tmodel.parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_full_checkpoint_round_trips_and_training_resumes_exactly(tmp_path, optimizer):
    torch = import_torch()
    model, opt, sched, run = _train(cg, optimizer, 2)
    tmodel, topt, tsched, trun = _train(torch, optimizer, 2)
    _copy_weights(model, tmodel)
    first = run(2)
    assert np.allclose(first, trun(2), rtol=1e-12, atol=0)
    checkpoint = {"epoch": 3, "model_state_dict": model.state_dict(),
                  "optimizer_state_dict": opt.state_dict(), "scheduler": sched.state_dict(),
                  "loss": 0.25}
    tcheckpoint = {"epoch": 3, "model_state_dict": tmodel.state_dict(),
                   "optimizer_state_dict": topt.state_dict(), "scheduler": tsched.state_dict(),
                   "loss": 0.25}
    cg.save(checkpoint, tmp_path / "ckpt.pth")
    buffer = io.BytesIO()
    torch.save(tcheckpoint, buffer)
    buffer.seek(0)
    loaded, tloaded = cg.load(tmp_path / "ckpt.pth"), torch.load(buffer)
    _same(loaded, tloaded)                       # the shape of torch's data, types included
    for piece in ("model_state_dict", "optimizer_state_dict", "scheduler"):
        _same(loaded[piece], tcheckpoint[piece], piece)
    uninterrupted = run(3)
    model2, opt2, sched2, run2 = _train(cg, optimizer, 2, seed=1)   # other initial weights
    model2.load_state_dict(loaded["model_state_dict"])
    opt2.load_state_dict(loaded["optimizer_state_dict"])
    sched2.load_state_dict(loaded["scheduler"])
    resumed = run2(3)
    np.testing.assert_allclose(resumed, uninterrupted, rtol=1e-12, atol=0)
    state = loaded["model_state_dict"]
    assert type(state) is OrderedDict and all(type(v) is cg.Tensor for v in state.values())
    state["0.weight"].clone().add_(1)            # a Tensor, as in torch


def test_a_flat_state_dict_is_a_plain_npz_and_a_torch_state_dict_shape(tmp_path):
    torch = import_torch()
    model, *_ = _train(cg, "sgd", 0)
    tmodel, *_ = _train(torch, "sgd", 0)
    _copy_weights(model, tmodel)
    cg.save(model.state_dict(), tmp_path / "m.npz")
    assert sorted(np.load(tmp_path / "m.npz")) == sorted(model.state_dict())
    _same(cg.load(tmp_path / "m.npz"), tmodel.state_dict())


def test_save_to_and_load_from_file_objects(tmp_path):
    obj = {"w": cg.ones(2), "list": [1, (2.5, None)], 3: "three"}
    buffer = io.BytesIO()
    cg.save(obj, buffer)
    buffer.seek(0)
    assert repr(cg.load(buffer)) == repr(obj)
    with open(tmp_path / "m.npz", "wb") as f:
        cg.save(obj, f)
    with open(tmp_path / "m.npz", "rb") as f:
        assert repr(cg.load(f)) == repr(obj)
    shifted = io.BytesIO(b"xx")                   # written from the position, read from it
    shifted.seek(2)
    cg.save({"w": cg.zeros(2)}, shifted)
    shifted.seek(2)
    np.testing.assert_array_equal(cg.load(shifted)["w"], np.zeros(2))
    with pytest.raises(ValueError, match="load: f must be a file path .* mmap"):
        cg.load(io.BytesIO(buffer.getvalue()), mmap=True)
    assert cg.load(tmp_path / "m.npz", mmap=True, weights_only=False)[3] == "three"


def test_parameters_requires_grad_and_shared_tensors_as_torch_keeps_them(tmp_path):
    torch = import_torch()
    w = cg.nn.Parameter(cg.ones(2, dtype=cg.float64))
    obj = [w, cg.zeros(2, dtype=cg.float64).requires_grad_(), w, np.float32(2), 1.5]
    tw = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    tobj = [tw, torch.zeros(2, dtype=torch.float64).requires_grad_(), tw, np.float32(2), 1.5]
    cg.save(obj, tmp_path / "m.pt")
    loaded = cg.load(tmp_path / "m.pt")
    assert isinstance(loaded[0], cg.nn.Parameter) and loaded[1].requires_grad
    assert loaded[0].array is loaded[2].array                 # one member, as one storage
    buffer = io.BytesIO()
    torch.save(tobj, buffer)
    buffer.seek(0)
    _same(loaded[:3], torch.load(buffer, weights_only=False)[:3])
    assert type(loaded[3]) is np.float32 and loaded[4] == 1.5


@pytest.mark.parametrize("where", [None, "cpu", cg.device("cpu"), {"cuda:0": "cpu"},
                                   {"cpu": cg.device("cpu")}, lambda storage, loc: storage,
                                   lambda storage, loc: None])
def test_map_location_forms_keep_tensors_on_the_cpu(tmp_path, where):
    torch = import_torch()
    cg.save({"w": cg.ones(2), "n": 1}, tmp_path / "m.pt")
    np.testing.assert_array_equal(cg.load(tmp_path / "m.pt", map_location=where)["w"],
                                  np.ones(2))
    torch.save({"w": torch.ones(2)}, tmp_path / "t.pt")
    torch_where = where if not isinstance(where, (cg.device, dict)) else "cpu"
    torch.load(tmp_path / "t.pt", map_location=torch_where)      # torch accepts the same


@pytest.mark.parametrize("where", ["cuda", "cuda:1", cg.device("cuda"), {"cpu": "cuda:0"}])
def test_a_cuda_map_location_says_cuda_is_not_available_like_torch(tmp_path, where):
    torch = import_torch()
    cg.save({"w": cg.ones(2)}, tmp_path / "m.pt")
    torch.save({"w": torch.ones(2)}, tmp_path / "t.pt")
    with pytest.raises(RuntimeError) as want:
        torch.load(tmp_path / "t.pt", map_location=str(where) if not isinstance(where, dict)
                   else where)
    with pytest.raises(RuntimeError) as got:
        cg.load(tmp_path / "m.pt", map_location=where)
    assert str(got.value) == str(want.value)
    cg.save({"n": 1}, tmp_path / "none.pt")                     # no tensor: nothing to move
    assert cg.load(tmp_path / "none.pt", map_location=where) == {"n": 1}
    with pytest.raises(TypeError, match="load: map_location must be"):
        cg.load(tmp_path / "m.pt", map_location=3)


def _with_structure(path, text: bytes, arrays=None):
    members = {serialization.STRUCTURE: text}
    members.update({f"{i}.npy": npy(a) for i, a in enumerate(arrays or [])})
    return zip_with(path, members)


@pytest.mark.parametrize("text, message", [
    (b"{not json", "not valid JSON"),
    (b'{"format": "convgrad.structure", "version": 1, "root": NaN}', "not valid JSON"),
    (b'{"format": "other", "version": 1, "root": 1}', "expected"),
    (b'{"format": "convgrad.structure", "version": 2, "root": 1}', "version 2"),
    (b'{"format": "convgrad.structure", "version": 1, "root": {"tensor": 5}}',
     "refers to array member 5.npy"),
    (b'{"format": "convgrad.structure", "version": 1, "root": {"tensor": true}}',
     "refers to array member True.npy"),
    (b'{"format": "convgrad.structure", "version": 1, "root": {"list": 3}}', "not a list"),
    (b'{"format": "convgrad.structure", "version": 1, "root": {"set": []}}', "not a node"),
    (b'{"format": "convgrad.structure", "version": 1, "root": {"dict": [[1.5, 1]]}}',
     "entry must be"),
    (b'{"format": "convgrad.structure", "version": 1, "root": {"dict": [["a", 1], ["a", 2]]}}',
     "appears twice"),
    (b'{"format": "convgrad.structure", "version": 1, "root": {"float": "big"}}',
     "is not a float"),
    (b'{"format": "convgrad.structure", "version": 1, "root": ' + b'{"list": [' * 10_000 +
     b"]}" * 10_000 + b"}", "nested deeper"),
    (b'{"format": "convgrad.structure", "version": 1, "root": ' + b'{"list": [' * 200 +
     b"]}" * 200 + b"}", "nested deeper"),
    (b'{"format": "convgrad.structure", "version": 1, "root": 1' + b"0" * 5000 + b"}",
     "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_a_corrupt_structure_is_one_value_error_naming_load(tmp_path, text, message):
    path = _with_structure(tmp_path / "m.pt", text)
    with pytest.raises(ValueError, match=f"load: .*__structure__.json.*{re.escape(message)}"):
        cg.load(path)


def test_structure_members_must_all_be_referenced_and_numbered(tmp_path):
    ok = b'{"format": "convgrad.structure", "version": 1, "root": {"tensor": 0}}'
    path = _with_structure(tmp_path / "a.pt", ok, [np.ones(2), np.ones(3)])
    with pytest.raises(ValueError, match="load: .*1.npy is not referenced"):
        cg.load(path)
    path = zip_with(tmp_path / "b.pt", {serialization.STRUCTURE: ok, "w.npy": npy(np.ones(2))})
    with pytest.raises(ValueError, match="load: .*not numbered"):
        cg.load(path)
    big = zip_with(tmp_path / "c.pt", {serialization.STRUCTURE: b" " * (16 * 2**20 + 1)})
    with pytest.raises(ValueError, match="load: .*__structure__.json' declares"):
        cg.load(big)


# ------------------------------------------------------------- resuming a training run
def _resumable(seed, dataset):
    """A conv + batchnorm + linear model (float64), Adam, StepLR, and a shuffling DataLoader
    drawing from its own Generator."""
    cg.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(32, 3)).double()
    opt = cg.optim.Adam(model.parameters(), lr=0.01)
    sched = cg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    generator = cg.Generator().manual_seed(0)
    loader = cg.utils.data.DataLoader(dataset, batch_size=6, shuffle=True, generator=generator)
    return model, opt, sched, generator, loader


def _train_from(run, epoch, batch, steps, save_at=None, path=None):
    """``steps`` steps from batch ``batch`` of epoch ``epoch``: the losses. After ``save_at``
    steps a checkpoint is saved to ``path`` and training goes on."""
    model, opt, sched, generator, loader = run
    losses = []
    while True:
        start = generator.get_state()          # before the epoch draws its permutation
        for i, (x, y) in enumerate(loader):
            if i < batch:
                continue                       # done before the checkpoint
            if len(losses) == save_at:
                cg.save({"epoch": epoch, "batch": i, "model_state_dict": model.state_dict(),
                         "optimizer_state_dict": opt.state_dict(),
                         "scheduler_state_dict": sched.state_dict(),
                         "generator_state": start, "loss": losses[-1]}, path)
            if len(losses) == steps:
                return losses
            opt.zero_grad()
            loss = cg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        epoch, batch = epoch + 1, 0


def test_training_resumes_mid_epoch_exactly_from_a_checkpoint(tmp_path):
    """Stopped after 6 steps (4 batches an epoch: mid-epoch, at batch 2 of epoch 1), saved with
    cg.save, rebuilt from fresh objects and resumed, training gives the same losses, bit for
    bit, as the run that went on. The DataLoader's iterator is not saved (torch does not save
    it either), so the checkpoint keeps the Generator's state from the start of the epoch
    (before the sampler drew that epoch's permutation) and the batch reached; the resumed run
    restores the state, so its loader draws the same permutation, and skips the batches done."""
    rng = np.random.default_rng(0)
    dataset = cg.utils.data.TensorDataset(cg.tensor(rng.standard_normal((24, 1, 6, 6))),
                                          cg.tensor(rng.integers(0, 3, 24)))
    path = tmp_path / "checkpoint.pt"
    losses = _train_from(_resumable(0, dataset), 0, 0, 13, save_at=6, path=path)
    checkpoint = cg.load(path)
    assert (checkpoint["epoch"], checkpoint["batch"]) == (1, 2)
    assert checkpoint["loss"] == losses[5]
    model, opt, sched, generator, _ = run = _resumable(1, dataset)    # other initial weights
    model.load_state_dict(checkpoint["model_state_dict"])
    opt.load_state_dict(checkpoint["optimizer_state_dict"])
    sched.load_state_dict(checkpoint["scheduler_state_dict"])
    generator.set_state(checkpoint["generator_state"])
    resumed = _train_from(run, checkpoint["epoch"], checkpoint["batch"], 7)
    np.testing.assert_array_equal(np.array(resumed), np.array(losses[6:]))
    assert sched.get_last_lr() == [0.01 * 0.5 ** 4]

    model, opt, sched, _, _ = run = _resumable(1, dataset)    # without the sampler's place:
    model.load_state_dict(checkpoint["model_state_dict"])     # other batches, other losses
    opt.load_state_dict(checkpoint["optimizer_state_dict"])
    sched.load_state_dict(checkpoint["scheduler_state_dict"])
    assert _train_from(run, checkpoint["epoch"], checkpoint["batch"], 7) != losses[6:]
