"""Checkpoints: round trip, atomic writes, pickle refused, corrupt files named."""

import os
import pickle

import numpy as np
import pytest

import convgrad as cg
from convgrad import nn


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

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt("power cut")
    monkeypatch.setattr(np, "savez", crash)
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
    with pytest.raises(ValueError, match="pickled objects; refused"):
        cg.load(tmp_path / "objects.npz")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"w": Exploit()}))
    with pytest.raises(ValueError, match="not an .npz archive"):
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
