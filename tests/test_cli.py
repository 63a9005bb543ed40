"""The ``fastprdc`` command line, in-process and via ``python -m``: ``eval`` (file formats and
errors, every family with its options, ``--json``, ``--samples`` with every per-sample array,
mode level from label files or keys inside the .npz), ``info`` and ``demo``. The reader itself
(fastprdc.io) is tested in test_io.py."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from _helpers import ALL_FAMILIES as ALL
from _helpers import REFERENCE_DIR, load_reference

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


def _key(k):
    return "null" if k is None else str(k)


def _assert_json_scalars(data, expected):
    assert set(data["scalars"]) == set(expected.scalars)
    for family, metrics in expected.scalars.items():
        for metric, per_k in metrics.items():
            for k, value in per_k.items():
                assert data["scalars"][family][metric][_key(k)] == value, (family, metric, k)
    for family, curves in expected.curves.items():
        for name, per_k in curves.items():
            for k, arr in per_k.items():
                assert data["curves"][family][name][_key(k)] == arr.tolist(), (family, name)


def _flat_samples(samples, prefix=""):
    flat = {}
    for family, per_name in samples.items():
        for name, per_k in per_name.items():
            for k, arr in per_k.items():
                flat[f"{prefix}{family}.{name}" + ("" if k is None else f"_k{k}")] = arr
    return flat


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
# every family: --metrics all, family options
# ---------------------------------------------------------------------------


def test_eval_metrics_all_table_json_samples(files, capsys):
    real, fake, tmp = files
    code, out, err = _run(
        capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--metrics", "all", "--k", "2", "4",
        "--json", tmp / "o.json", "--samples", tmp / "s.npz", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    expected = fastprdc.evaluate(real, fake, k=[2, 4], metrics="all", sample_level=True)
    # the table prints every family and metric
    for family in ALL:
        assert family in out, family
        for metric in expected.scalars[family]:
            assert metric in out, metric
    assert "alpha_precision_curve" in out
    data = json.loads((tmp / "o.json").read_text())
    _assert_json_scalars(data, expected)
    with np.load(tmp / "s.npz") as npz:
        flat = _flat_samples(expected.samples)
        assert set(npz.files) == set(flat)
        for key, arr in flat.items():
            np.testing.assert_array_equal(npz[key], arr, err_msg=key)
    # every family contributes per-sample arrays
    for family in ALL:
        assert any(key.startswith(family + ".") for key in flat), family


def test_eval_default_is_all(files, capsys):
    *_, tmp = files
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy",
                        "--json", tmp / "o.json", "--quiet")  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp / "o.json").read_text())
    assert set(data["scalars"]) == set(ALL)


def test_eval_family_options_match_api(files, capsys):
    real, fake, tmp = files
    center = np.linspace(-0.5, 0.5, real.shape[1])
    np.save(tmp / "center.npy", center)
    code, _, err = _run(
        capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--metrics", "all",
        "--boundary", "strict", "--prune", "0.25", "--C", "2", "--variant", "cheema2023",
        "--cover-k", "auto", "--n-alphas", "11", "--center", tmp / "center.npy",
        "--device", "numpy", "--json", tmp / "o.json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    expected = fastprdc.evaluate(
        real, fake, metrics="all", boundary="strict", device="numpy",
        k={"precision_recall_cover": "auto"},
        params={
            "realism_score": {"prune": 0.25},
            "precision_recall_cover": {"C": 2, "variant": "cheema2023"},
            "alpha_precision_beta_recall": {"n_alphas": 11, "center": center},
        },
    )  # fmt: skip
    data = json.loads((tmp / "o.json").read_text())
    _assert_json_scalars(data, expected)
    assert len(data["curves"]["alpha_precision_beta_recall"]["alphas"]["null"]) == 11
    cover = fastprdc.precision_recall_cover(real, fake, k="auto", C=2, variant="cheema2023",
                                            boundary="strict")  # fmt: skip
    (k_auto,) = expected.info["ks"]["precision_recall_cover"]
    assert (
        data["scalars"]["precision_recall_cover"]["precision_cover"][str(k_auto)]
        == (cover["precision_cover"])
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--metrics", "precision_recall", "--prune", "0.3"], "realism_score"),
        (["--metrics", "density_coverage", "--C", "2"], "precision_recall_cover"),
        (["--metrics", "rarity_score", "--n-alphas", "5"], "alpha_precision_beta_recall"),
    ],
)
def test_family_option_without_its_family(files, capsys, args, fragment):
    _, _, tmp = files
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", *args, "--quiet")
    assert code == 2 and fragment in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [["--prune", "1.5"], ["--C", "0"], ["--n-alphas", "1"],
                                  ["--metrics", "realism"]])  # fmt: skip
def test_bad_family_options_exit_2(files, capsys, args):
    _, _, tmp = files
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", *args, "--quiet")
    assert code == 2, err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------
# mode level
# ---------------------------------------------------------------------------


def _modes16_files(tmp):
    real, fake, _ = load_reference("pub_modes16")
    rl = np.load(REFERENCE_DIR / "pub_modes16_real_labels.npy")
    fl = np.load(REFERENCE_DIR / "pub_modes16_fake_labels.npy")
    np.save(tmp / "real.npy", real)
    np.save(tmp / "fake.npy", fake)
    np.save(tmp / "real_labels.npy", rl)
    np.save(tmp / "fake_labels.npy", fl)
    return real, fake, rl, fl


def test_eval_label_files(tmp_path, capsys):
    real, fake, rl, fl = _modes16_files(tmp_path)
    code, out, err = _run(
        capsys, "eval", tmp_path / "real.npy", tmp_path / "fake.npy",
        "--real-labels", tmp_path / "real_labels.npy",
        "--fake-labels", tmp_path / "fake_labels.npy",
        "--json", tmp_path / "o.json", "--samples", tmp_path / "s.npz", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    expected = fastprdc.evaluate(real, fake, metrics="all", real_labels=rl, fake_labels=fl,
                                 sample_level=True)  # fmt: skip
    pc = expected.per_class
    assert "no fake samples" in out  # classes 4 and 5 are listed in the per-class table
    data = json.loads((tmp_path / "o.json").read_text())
    assert data["per_class"]["missing_in_fake"] == [4, 5]
    assert data["per_class"]["evaluated"] == [0, 1, 2, 3]
    assert data["per_class"]["fake_counts"] == {str(c): v for c, v in pc["fake_counts"].items()}
    for c in pc["evaluated"]:
        for family, metrics in pc["scalars"][c].items():
            for metric, per_k in metrics.items():
                for k, value in per_k.items():
                    got = data["per_class"]["scalars"][str(c)][family][metric][_key(k)]
                    assert got == value, (c, family, metric, k)
    with np.load(tmp_path / "s.npz") as npz:
        for c in pc["evaluated"]:
            np.testing.assert_array_equal(npz[f"per_class.{c}.real_rows"], np.flatnonzero(rl == c))
            np.testing.assert_array_equal(npz[f"per_class.{c}.fake_rows"], np.flatnonzero(fl == c))
            for key, arr in _flat_samples(pc["samples"][c], f"per_class.{c}.").items():
                np.testing.assert_array_equal(npz[key], arr, err_msg=key)


@pytest.mark.parametrize("how", ["auto", "labels-key"])
def test_eval_labels_inside_npz(tmp_path, capsys, how):
    real, fake, rl, fl = _modes16_files(tmp_path)
    name = "labels" if how == "auto" else "mode"
    np.savez(tmp_path / "real.npz", feats=real, **{name: rl})
    np.savez(tmp_path / "fake.npz", feats=fake, **{name: fl})
    opts = ["--per-class"] if how == "auto" else ["--labels-key", "mode", "--key", "feats"]
    code, _, err = _run(
        capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npz", *opts,
        "--metrics", "precision_recall", "--json", tmp_path / "o.json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp_path / "o.json").read_text())
    expected = fastprdc.evaluate(real, fake, metrics=["precision_recall"], real_labels=rl,
                                 fake_labels=fl).per_class  # fmt: skip
    assert data["per_class"]["missing_in_fake"] == [4, 5]
    for c in range(4):
        assert (
            data["per_class"]["scalars"][str(c)]["precision_recall"]["recall"]["3"]
            == (expected["scalars"][c]["precision_recall"]["recall"][3])
        )


def test_eval_labels_length_mismatch_exit_2(tmp_path, capsys):
    _modes16_files(tmp_path)
    np.save(tmp_path / "short.npy", np.zeros(100, np.int64))
    code, _, err = _run(
        capsys, "eval", tmp_path / "real.npy", tmp_path / "fake.npy",
        "--real-labels", tmp_path / "short.npy", "--fake-labels", tmp_path / "fake_labels.npy",
        "--quiet",
    )  # fmt: skip
    assert code == 2
    assert "real_labels" in err and "100" in err and "480" in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------
# info / demo / python -m
# ---------------------------------------------------------------------------


def test_info(capsys):
    code, out, _ = _run(capsys, "info")
    assert code == 0
    low = out.lower()
    for word in ("fastprdc", "blas", "openmp", "backends", "numpy", "cpu"):
        assert word in low, word


def test_demo_shows_every_family_and_the_sweeps(capsys):
    pytest.importorskip("sklearn", reason="fastprdc demo needs scikit-learn ([demo] extra)")
    code, out, err = _run(capsys, "demo", "--quick")
    assert code == 0, err
    low = out.lower()
    for word in ("precision", "recall", "density", "coverage", "realism", "rarity",
                 "precision cover", "recall cover", "pce", "rce", "re ", "alpha",
                 "beta", "authenticity"):  # fmt: skip
        assert word in low, word
    assert "mode dropping" in low  # the mode-dropping sweep table
    assert "missing from fake" in low  # the mode-level table


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
