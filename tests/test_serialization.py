"""Checkpoints: round trip, atomic writes, pickle refused, corrupt files named."""

import io
import os
import pickle
import re
import struct
import subprocess
import sys
import zipfile

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
    state = {"allow_pickle": np.ones(2), "file": np.arange(3), "": np.float32(1.5),
             "a/b.npy": np.zeros((2, 0)), "ünï ☃": True, "x": 2 + 1j, "big": 2**62}
    cg.save(state, tmp_path / "m.npz")
    for loaded in (cg.load(tmp_path / "m.npz"), np.load(tmp_path / "m.npz")):
        assert sorted(loaded) == sorted(state)
        for key, value in state.items():
            np.testing.assert_array_equal(loaded[key], np.asarray(value), err_msg=key)
            assert loaded[key].dtype == np.asarray(value).dtype


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
    ({1: np.ones(2)}, TypeError, "keys must be strings, got 1"),
    ({"w": "text"}, TypeError, "'w' is a str"),
    ({"w": None}, TypeError, "'w' is a NoneType"),
    ({"w": [1, 2]}, TypeError, "'w' is a list"),
    ({"w": object()}, TypeError, "dtype object"),
    ({"w": np.array(["a"])}, TypeError, "dtype <U1"),
    ({"w": np.zeros(2, [("a", "f8")])}, TypeError, "only numeric arrays"),
    ([("w", np.ones(2))], TypeError, "expected a mapping"),
    ({"a\x00b": np.ones(2)}, ValueError, "NUL character"),
    ({"\ud800": np.ones(2)}, ValueError, "lone surrogate"),
])
def test_save_refuses_what_a_checkpoint_cannot_hold(tmp_path, state, error, message):
    with pytest.raises(error, match=re.escape(message)):
        cg.save(state, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_bad_paths_are_named(tmp_path):
    with pytest.raises(TypeError, match="load: path must be a str or os.PathLike, got NoneType"):
        cg.load(None)
    with pytest.raises(TypeError, match="save: path must be"):
        cg.save({}, 3)
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
