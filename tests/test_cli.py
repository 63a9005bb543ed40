"""The ``fastprdc`` command line: eval / info / demo, in-process and via ``python -m``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import fastprdc
from fastprdc.cli import main


def _data(n=120, m=100, d=6, seed=0):
    rng = np.random.default_rng(seed)
    real = rng.standard_normal((n, d)).astype(np.float32)
    fake = (0.3 + rng.standard_normal((m, d))).astype(np.float32)
    return real, fake


@pytest.fixture
def files(tmp_path):
    real, fake = _data()
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake)
    return real, fake, tmp_path


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------
# eval
# ---------------------------------------------------------------------------


def test_eval_npy_table_json_samples(files, capsys):
    real, fake, tmp = files
    code, out, err = _run(
        capsys,
        "eval", tmp / "real.npy", tmp / "fake.npy",
        "--k", "3", "5",
        "--json", tmp / "out.json",
        "--samples", tmp / "samples.npz",
        "--quiet",
    )  # fmt: skip
    assert code == 0, err
    # the default --metrics is "all" (every family)
    expected = fastprdc.evaluate(real, fake, k=[3, 5], metrics="all", sample_level=True)
    # the table names every metric and shows the values
    for metric in ("precision", "recall", "density", "coverage"):
        assert metric in out
    assert f"{expected.scalars['precision_recall']['precision'][3]:.4f}" in out
    # JSON: the result's to_dict(), keys as strings (None for a family without k)
    data = json.loads((tmp / "out.json").read_text())
    assert data == json.loads(expected.to_json()) | {"info": data["info"]}
    for family, metrics in expected.scalars.items():
        for metric, per_k in metrics.items():
            for k, value in per_k.items():
                key = "null" if k is None else str(k)  # json.dumps spelling of a None key
                assert data["scalars"][family][metric][key] == value, (family, metric, k)
    assert data["info"]["n_real"] == 120 and data["info"]["n_fake"] == 100
    # samples: every per-sample array of the result, named family.name_kK (family.name for
    # a family without k)
    with np.load(tmp / "samples.npz") as npz:
        flat = {}
        for family, per_name in expected.samples.items():
            for name, per_k in per_name.items():
                for k, arr in per_k.items():
                    flat[f"{family}.{name}" + ("" if k is None else f"_k{k}")] = arr
        assert set(npz.files) == set(flat)
        for key, arr in flat.items():
            np.testing.assert_array_equal(npz[key], arr)


def test_eval_quiet_means_no_stderr(files, capsys):
    _, _, tmp = files
    code, out, err = _run(
        capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--json", tmp / "o.json", "--quiet"
    )
    assert code == 0
    assert err == ""
    assert "precision" in out


def test_eval_not_quiet_reports_on_stderr(files, capsys):
    _, _, tmp = files
    json_out = tmp / "o.json"
    code, out, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--json", json_out)
    assert code == 0
    assert "o.json" in err  # "wrote ..." message
    assert "precision" in out and "precision" not in err


def test_eval_options_match_api(files, capsys):
    real, fake, tmp = files
    code, _, err = _run(
        capsys,
        "eval", tmp / "real.npy", tmp / "fake.npy",
        "--k", "4", "--metrics", "precision_recall", "--boundary", "strict",
        "--device", "numpy", "--json", tmp / "o.json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp / "o.json").read_text())
    assert set(data["scalars"]) == {"precision_recall"}
    expected = fastprdc.precision_recall(real, fake, k=4, boundary="strict")
    assert data["scalars"]["precision_recall"]["precision"]["4"] == expected["precision"]
    assert data["scalars"]["precision_recall"]["recall"]["4"] == expected["recall"]
    assert data["info"]["boundary"] == "strict"
    assert data["info"]["backend"] == "numpy"


@pytest.mark.parametrize("key", ["feats", "reps", "feature", "arr_0"])
def test_npz_key_autodetect(tmp_path, capsys, key):
    real, fake = _data(seed=1)
    # a second, unrelated array must not confuse the detection
    np.savez(tmp_path / "real.npz", **{key: real, "labels": np.arange(len(real))})
    np.savez(tmp_path / "fake.npz", **{key: fake, "labels": np.arange(len(fake))})
    code, _, err = _run(
        capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npz",
        "--json", tmp_path / "o.json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp_path / "o.json").read_text())
    expected = fastprdc.precision_recall(real, fake)
    assert data["scalars"]["precision_recall"]["precision"]["3"] == expected["precision"]


def test_npz_single_array_any_name(tmp_path, capsys):
    real, fake = _data(seed=2)
    np.savez(tmp_path / "real.npz", whatever=real)
    np.save(tmp_path / "fake.npy", fake)
    code, _, err = _run(capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npy", "--quiet")
    assert code == 0, err


def test_npz_ambiguous_needs_key(tmp_path, capsys):
    real, fake = _data(seed=3)
    np.savez(tmp_path / "real.npz", a=real, b=real[:, :2])
    np.savez(tmp_path / "fake.npz", a=fake, b=fake[:, :2])
    code, _, err = _run(capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npz", "--quiet")
    assert code == 2
    assert "--key" in err
    code, _, err = _run(
        capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npz", "--key", "a",
        "--json", tmp_path / "o.json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp_path / "o.json").read_text())
    assert data["info"]["dim"] == 6
    code, _, err = _run(
        capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npz", "--key", "zzz", "--quiet"
    )
    assert code == 2 and "zzz" in err


def test_pickle_refused_npy(tmp_path, capsys):
    real, fake = _data()
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = real, fake
    np.save(tmp_path / "evil.npy", obj, allow_pickle=True)
    np.save(tmp_path / "fake.npy", fake)
    code, _, err = _run(capsys, "eval", tmp_path / "evil.npy", tmp_path / "fake.npy", "--quiet")
    assert code == 2
    assert "pickle" in err.lower()


def test_pickle_refused_npz(tmp_path, capsys):
    real, _ = _data()
    obj = np.array([{"x": 1}, None], dtype=object)
    np.savez(tmp_path / "evil.npz", feats=obj)
    np.save(tmp_path / "real.npy", real)
    code, _, err = _run(capsys, "eval", tmp_path / "real.npy", tmp_path / "evil.npz", "--quiet")
    assert code == 2
    assert "pickle" in err.lower()


def test_bad_input_exit_code_2(tmp_path, capsys):
    real, fake = _data()
    fake = fake.copy()
    fake[17, 1] = np.nan
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake)
    code, _, err = _run(capsys, "eval", tmp_path / "real.npy", tmp_path / "fake.npy", "--quiet")
    assert code == 2
    assert "fake" in err and "17" in err and "nan" in err.lower()
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_width_mismatch_and_missing_file(tmp_path, capsys):
    real, fake = _data()
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake[:, :4])
    code, _, err = _run(capsys, "eval", tmp_path / "real.npy", tmp_path / "fake.npy", "--quiet")
    assert code == 2 and "width" in err
    code, _, err = _run(capsys, "eval", tmp_path / "nope.npy", tmp_path / "fake.npy", "--quiet")
    assert code == 2 and "nope.npy" in err


def test_k_too_large_exit_code_2(files, capsys):
    _, _, tmp = files
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--k", "500", "--quiet")
    assert code == 2 and "500" in err


@pytest.mark.parametrize(
    "args",
    [["eval"], ["eval", "a.npy"], ["frobnicate"], ["eval", "a", "b", "--boundary", "open"], []],
)
def test_usage_errors(args, capsys):
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert "usage" in err.lower()


# ---------------------------------------------------------------------------
# info / demo / python -m
# ---------------------------------------------------------------------------


def test_info(capsys):
    code, out, _ = _run(capsys, "info")
    assert code == 0
    low = out.lower()
    for word in ("fastprdc", "blas", "openmp", "backends", "numpy", "cpu"):
        assert word in low, word


def test_demo_quick(capsys):
    pytest.importorskip("sklearn", reason="fastprdc demo needs scikit-learn ([demo] extra)")
    code, out, err = _run(capsys, "demo", "--quick")
    assert code == 0, err
    low = out.lower()
    for word in ("precision", "recall", "density", "coverage"):
        assert word in low


def test_python_m_fastprdc(files):
    real, fake, tmp = files
    proc = subprocess.run(
        [sys.executable, "-m", "fastprdc", "eval", str(tmp / "real.npy"), str(tmp / "fake.npy"),
         "--k", "3", "--json", str(tmp / "o.json"), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "precision" in proc.stdout
    data = json.loads((tmp / "o.json").read_text())
    assert (
        data["scalars"]["precision_recall"]["precision"]["3"]
        == (fastprdc.precision_recall(real, fake, k=3)["precision"])
    )
    bad = subprocess.run(
        [sys.executable, "-m", "fastprdc", "eval", str(tmp / "real.npy"), str(tmp / "nope.npy")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "nope.npy" in bad.stderr
