"""fastprdc.io, the one file reader (the command line uses it; its exit codes and messages
through ``fastprdc eval`` are in test_cli.py): .npy memory-mapped with one header check,
.npz key detection with one error path, .pt loaded safely, clear errors for directories,
missing files and unsupported suffixes; pickled data is never unpickled."""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import fastprdc.cli
from fastprdc import io
from fastprdc.io import FileReadError, load_features, load_labels


def _features(rows=12, dim=3):
    return np.arange(rows * dim, dtype=np.float32).reshape(rows, dim)


class _TouchOnUnpickle:
    """An object whose unpickling creates a file: proof that nothing was unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.target),))


def test_cli_reads_through_io():
    assert fastprdc.cli.load_features is io.load_features
    assert fastprdc.cli.load_labels is io.load_labels


def test_npy_is_memory_mapped_and_unchanged(tmp_path):
    x = _features()
    np.save(tmp_path / "x.npy", x)
    got = load_features(tmp_path / "x.npy")
    assert isinstance(got, np.memmap)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, x)
    np.save(tmp_path / "ints.npy", x.astype(np.int64))
    assert load_features(str(tmp_path / "ints.npy")).dtype == np.int64  # converted later


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_pickled_data_refused_without_unpickling(tmp_path, suffix):
    marker = tmp_path / "unpickled"
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = _TouchOnUnpickle(marker), 1
    path = tmp_path / f"evil{suffix}"
    if suffix == ".npy":
        np.save(path, obj, allow_pickle=True)
    else:
        np.savez(path, feats=obj)
    with pytest.raises(FileReadError, match="refusing to load pickled data"):
        load_features(path)
    with pytest.raises(FileReadError, match="refusing to load pickled data"):
        load_labels(path)
    assert not marker.exists()
    # the marker works: unpickling the file on purpose does create it
    loaded = np.load(path, allow_pickle=True)
    if suffix == ".npz":
        loaded = loaded["feats"]
    assert marker.exists() and loaded[1] == 1


@pytest.mark.parametrize("key", ["feats", "reps", "feature", "features", "arr_0"])
def test_npz_feature_key_detected(tmp_path, key):
    x = _features()
    np.savez(tmp_path / "x.npz", **{key: x, "labels": np.arange(len(x))})
    np.testing.assert_array_equal(load_features(tmp_path / "x.npz"), x)


def test_npz_single_array_explicit_key_and_ambiguity(tmp_path):
    x = _features()
    np.savez(tmp_path / "one.npz", whatever=x)
    np.testing.assert_array_equal(load_features(tmp_path / "one.npz"), x)
    np.savez(tmp_path / "two.npz", a=x, b=x[:, :2])
    with pytest.raises(FileReadError, match=r"no known feature key.*--key"):
        load_features(tmp_path / "two.npz")
    assert load_features(tmp_path / "two.npz", key="b").shape == (12, 2)
    with pytest.raises(FileReadError, match=r"no array named 'zzz'; keys: a, b"):
        load_features(tmp_path / "two.npz", key="zzz")
    np.savez(tmp_path / "both.npz", feats=x, reps=x)
    with pytest.raises(FileReadError, match="several feature keys"):
        load_features(tmp_path / "both.npz")


@pytest.mark.parametrize(
    "content",
    [b"not a zip archive at all", b"PK\x03\x04truncated", None],
    ids=["garbage", "truncated-zip", "npy-named-npz"],
)
def test_unreadable_npz_one_error(tmp_path, content):
    path = tmp_path / "bad.npz"
    if content is None:
        np.save(tmp_path / "x.npy", _features())
        (tmp_path / "x.npy").rename(path)
    else:
        path.write_bytes(content)
    for load in (load_features, load_labels):
        with pytest.raises(FileReadError, match=r"bad\.npz") as info:
            load(path)
        assert "refusing" not in str(info.value)


def test_unreadable_npy(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(FileReadError, match=r"bad\.npy: not a readable \.npy file"):
        load_features(tmp_path / "bad.npy")


def test_non_numeric_arrays_refused(tmp_path):
    np.save(tmp_path / "s.npy", np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(FileReadError, match="expected a numeric array"):
        load_features(tmp_path / "s.npy")
    np.save(tmp_path / "c.npy", np.ones((3, 2), dtype=np.complex64))
    with pytest.raises(FileReadError, match="expected class ids"):
        load_labels(tmp_path / "c.npy")


def test_paths_that_are_not_feature_files(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_features(tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_labels(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no such file: .*nope\.npy"):
        load_features(tmp_path / "nope.npy")
    (tmp_path / "x.csv").write_text("1,2\n3,4\n")
    with pytest.raises(FileReadError, match=r"unsupported file type \.csv"):
        load_features(tmp_path / "x.csv")
    with pytest.raises(FileReadError, match=r"labels must be a \.npy or \.npz file"):
        load_labels(tmp_path / "x.csv")
    np.save(tmp_path / "x.npy", _features())
    with pytest.raises(FileReadError, match=r"applies to \.npz and \.pt files only"):
        load_features(tmp_path / "x.npy", key="feats")


def test_labels_npy_npz_and_features_file(tmp_path):
    y = np.array([0, 1, 1, 2, 0, 0])
    np.save(tmp_path / "y.npy", y)
    np.testing.assert_array_equal(load_labels(tmp_path / "y.npy"), y)
    np.savez(tmp_path / "only.npz", anything=y)  # a labels-only file: its one array
    np.testing.assert_array_equal(load_labels(tmp_path / "only.npz"), y)
    np.savez(tmp_path / "real.npz", feats=_features(6), real_labels=y, labels=y[::-1])
    np.testing.assert_array_equal(load_labels(tmp_path / "real.npz", "real", features=True), y)
    np.testing.assert_array_equal(load_labels(tmp_path / "real.npz", "fake"), y[::-1])
    np.testing.assert_array_equal(load_labels(tmp_path / "real.npz", key="labels"), y[::-1])
    # two generic label keys (e.g. coarse and fine classes) are ambiguous, as two feature keys
    np.savez(tmp_path / "two.npz", feats=_features(6), labels=y, y=y // 2, fake_labels=y)
    with pytest.raises(FileReadError, match=r"several label keys \(labels, y\).*--labels-key"):
        load_labels(tmp_path / "two.npz", "real", features=True)
    np.testing.assert_array_equal(load_labels(tmp_path / "two.npz", "real", key="y"), y // 2)
    np.testing.assert_array_equal(load_labels(tmp_path / "two.npz", "fake"), y)  # its own key
    np.savez(tmp_path / "feats.npz", feats=_features(6))
    with pytest.raises(FileReadError, match="no labels array found"):
        load_labels(tmp_path / "feats.npz", features=True)
    with pytest.raises(FileReadError, match=r"a \.npy file holds no labels; pass --fake-labels"):
        load_labels(tmp_path / "y.npy", "fake", features=True)
    strings = np.array(["cat", "dog", "cat"])
    np.save(tmp_path / "s.npy", strings)
    np.testing.assert_array_equal(load_labels(tmp_path / "s.npy"), strings)


def test_pt_without_torch_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "x.pt").write_bytes(b"whatever")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(FileReadError, match=r"needs PyTorch \(pip install torch\)"):
        load_features(tmp_path / "x.pt")


def test_pt_tensor_and_dict_loaded_safely(tmp_path):
    torch = pytest.importorskip("torch", reason="reading .pt files needs PyTorch")
    x = _features()
    torch.save(torch.from_numpy(x), tmp_path / "x.pt")
    np.testing.assert_array_equal(load_features(tmp_path / "x.pt"), x)
    torch.save({"feats": torch.from_numpy(x), "step": torch.tensor(3)}, tmp_path / "d.pth")
    np.testing.assert_array_equal(load_features(tmp_path / "d.pth"), x)
    torch.save(torch.from_numpy(x).to(torch.bfloat16), tmp_path / "b.pt")
    assert load_features(tmp_path / "b.pt").dtype == np.float32
    torch.save(_TouchOnUnpickle(tmp_path / "unpickled"), tmp_path / "evil.pt")
    with pytest.raises(FileReadError, match="weights_only=True"):
        load_features(tmp_path / "evil.pt")
    assert not (tmp_path / "unpickled").exists()
