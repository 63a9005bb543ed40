"""The ``fastprdc`` command line, in-process and via ``python -m``: ``eval`` (file formats and
errors, every family with its options, ``--json`` without per-sample arrays, ``--samples``
with every per-sample array, mode level from label files or keys inside the .npz,
``--report``/``--plot``, per-file keys), ``reference`` and ``eval`` of a saved reference (the
same numbers as a plain ``eval``), progress bars and warnings on stderr (terminal, redirected,
``--quiet``, ``--progress``), ``max_memory`` too small, ``info`` and ``demo`` (with
``--report``/``--plot``), ``show`` of saved results (table, report, plot, several side by
side). The reader itself (fastprdc.io) is tested in test_io.py; the
CLI-written report in a browser in test_report.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    # JSON: the result's to_dict(samples=False), keys as strings (None for a family
    # without k): the per-sample arrays go to --samples alone
    data = json.loads((tmp / "out.json").read_text())
    assert data == json.loads(expected.to_json(samples=False)) | {"info": data["info"]}
    assert "samples" not in data
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
        assert set(npz.files) == {*flat, "__run__"}  # and the digest of the run
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
    [
        ["eval"],
        ["eval", "a.npy"],
        ["frobnicate"],
        ["eval", "a", "b", "--boundary", "open"],
        ["eval", "a", "b", "--prune", "2"],
        ["eval", "a", "b", "--k", "0"],
        [],
    ],
)
def test_usage_errors(args, capsys):
    """A malformed command line is one line on stderr naming the problem and --help."""
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("fastprdc") and ": error: " in err, err
    assert "--help`" in err


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["eval", "a", "b", "--k", "abc"], ["--k", "expected a positive integer, got 'abc'"]),
        (["eval", "a", "b", "--k", "2.5"], ["expected a positive integer, got '2.5'"]),
        (["eval", "a", "b", "--k", "auto"], ["auto applies to --cover-k only"]),
        (["eval", "a", "b", "--threads", "x"], ["--threads", "expected a positive integer"]),
        (["eval", "a", "b", "--prune", "half"], ["--prune", "expected a number, got 'half'"]),
        (["eval", "a", "b", "--foo"], ["fastprdc eval: error: unrecognized arguments: --foo",
                                       "`fastprdc eval --help`"]),
        (["demo", "--nope"], ["fastprdc demo: error: unrecognized arguments: --nope"]),
        (["show", "a.json", "--frob", "b.json"], ["fastprdc show: error: unrecognized"]),
    ],
)  # fmt: skip
def test_usage_errors_name_the_option_and_the_subcommand(args, fragments, capsys):
    """A bad option value says what was expected (no internal function name); an unknown
    option is reported by the subcommand, whose --help lists its options."""
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "_positive_int" not in err and "_fraction" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_show_takes_results_after_the_options(files, capsys):
    _, _, tmp = files
    for name in ("a", "b"):
        code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--k", "2",
                            "--json", tmp / f"{name}.json", "--quiet")  # fmt: skip
        assert code == 0, err
    code, after, err = _run(capsys, "show", tmp / "a.json", "--quiet", tmp / "b.json")
    assert code == 0, err
    code, before, err = _run(capsys, "show", tmp / "a.json", tmp / "b.json", "--quiet")
    assert code == 0 and after == before, err


def test_eval_inputs_that_are_no_features_are_named(files, capsys):
    """A missing REAL or FAKE (a .zarr name too: no cluster starts for it) and a directory
    that is neither a .zarr store nor holds .npy files: one line naming the path."""
    _, _, tmp = files
    (tmp / "empty").mkdir()
    cases = [
        ([tmp / "nope.zarr", tmp / "fake.npy"], ["no such file", "nope.zarr"]),
        ([tmp / "real.npy", tmp / "nope_dir"], ["no such file", "nope_dir"]),
        ([tmp / "real.npy", tmp / "empty"], ["empty: is a directory holding no .npy files"]),
    ]
    for args, fragments in cases:
        code, _out, err = _run(capsys, "eval", *args, "--quiet")
        assert code == 2 and err.count("\n") == 1, err
        assert "Dask" not in err and "cluster" not in err, err
        for fragment in fragments:
            assert fragment in err, (fragment, err)


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
        assert set(npz.files) == {*flat, "__run__"}
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


# ---------------------------------------------------------------------------
# the result table: a family without k is never under a k column
# ---------------------------------------------------------------------------


def test_table_alpha_values_not_under_a_k_column(files, capsys):
    real, fake, tmp = files
    code, out, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--k", "3", "5",
                          "--metrics", "precision_recall", "alpha_precision_beta_recall",
                          "--quiet")  # fmt: skip
    assert code == 0, err
    expected = fastprdc.evaluate(real, fake, k=[3, 5], metrics=["precision_recall",
                                 "alpha_precision_beta_recall"])  # fmt: skip
    lines = out.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("metric"))
    assert header.split() == ["metric", "k=3", "k=5"]
    k3_end = header.index("k=3") + len("k=3")
    (heading,) = [line for line in lines if "alpha_precision_beta_recall" in line]
    assert heading.rstrip().endswith("[no k]")
    for metric, per_k in expected.scalars["alpha_precision_beta_recall"].items():
        (line,) = [x for x in lines if x.split()[:1] == [metric]]
        value = f"{per_k[None]:.4f}"
        # "name = value": the value follows the name, it is not right-aligned in a k column
        assert line.split() == [metric, "=", value], line
        assert line.rstrip().index(value) + len(value) != k3_end
    # the families with k keep one right-aligned column per k
    (line,) = [x for x in lines if x.split()[:1] == ["precision"]]
    p3 = f"{expected.scalars['precision_recall']['precision'][3]:.4f}"
    assert line.index(p3) + len(p3) == k3_end


def test_table_alpha_alone_has_a_value_column(files, capsys):
    _, _, tmp = files
    code, out, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy",
                          "--metrics", "alpha_precision_beta_recall", "--quiet")  # fmt: skip
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.lstrip().startswith("metric"))
    assert header.split() == ["metric", "value"]
    assert "k=" not in out and "[no k]" not in out


# ---------------------------------------------------------------------------
# --json without samples; --samples alone; --report / --plot
# ---------------------------------------------------------------------------


def test_json_has_no_per_sample_arrays(tmp_path, capsys):
    real, fake, rl, fl = _modes16_files(tmp_path)
    code, _, err = _run(
        capsys, "eval", tmp_path / "real.npy", tmp_path / "fake.npy",
        "--real-labels", tmp_path / "real_labels.npy",
        "--fake-labels", tmp_path / "fake_labels.npy", "--metrics", "precision_recall",
        "--json", tmp_path / "o.json", "--samples", tmp_path / "s", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp_path / "o.json").read_text())
    assert set(data) == {"scalars", "info", "per_class"}
    assert "samples" not in data["per_class"] and "indices" not in data["per_class"]
    expected = fastprdc.evaluate(real, fake, metrics=["precision_recall"], real_labels=rl,
                                 fake_labels=fl, sample_level=True)  # fmt: skip
    want = json.loads(expected.to_json(samples=False))
    for part in (data, want):  # times differ
        del part["info"], part["per_class"]["info"]
    assert data == want
    # --samples is written under the exact name given (no .npz appended)
    assert not (tmp_path / "s.npz").exists()
    with np.load(tmp_path / "s") as npz:
        assert "precision_recall.in_real_manifold_k3" in npz.files
        assert "per_class.0.real_rows" in npz.files


def test_to_dict_samples_option():
    real, fake = _data()
    res = fastprdc.evaluate(real, fake, sample_level=True, real_labels=np.arange(120) % 2,
                            fake_labels=np.arange(100) % 2)  # fmt: skip
    full = res.to_dict()  # the Python API's default keeps the samples
    assert "samples" in full and "samples" in full["per_class"] and "indices" in full["per_class"]
    lean = res.to_dict(samples=False)
    assert "samples" not in lean
    assert "samples" not in lean["per_class"] and "indices" not in lean["per_class"]
    assert (
        lean["scalars"] == full["scalars"]
        and lean["per_class"]["scalars"] == (full["per_class"]["scalars"])
    )
    assert json.loads(res.to_json(samples=False)) == json.loads(json.dumps(lean))


PNG = b"\x89PNG\r\n\x1a\n"


def test_eval_report_and_plot(files, capsys):
    pytest.importorskip("matplotlib")
    _, _, tmp = files
    code, _out, err = _run(
        capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--k", "3", "5",
        "--report", tmp / "r.html", "--plot", tmp / "s.png", "--json", tmp / "o.json",
    )  # fmt: skip
    assert code == 0, err
    assert "wrote" in err and "r.html" in err and "s.png" in err
    text = (tmp / "r.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<title>fastprdc: fake.npy against real.npy</title>" in text
    assert text.count("data:image/png;base64,") >= 4  # vs k, curves, PCE, histograms
    assert "Sample-level histograms" in text  # a report run has the per-sample arrays ...
    assert (tmp / "s.png").read_bytes()[:8] == PNG
    assert "samples" not in json.loads((tmp / "o.json").read_text())  # ... the JSON none
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--plot",
                        tmp / "s.pdf", "--dpi", "60", "--quiet")  # fmt: skip
    assert code == 0, err
    assert (tmp / "s.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(
    "option, name, fragment",
    [
        ("--report", "r.txt", ".html or .htm"),
        ("--plot", "p.jpg", ".png or .pdf or .svg"),
        ("--plot", "missing_dir/p.png", "no such directory"),
        ("--json", "missing_dir/o.json", "no such directory"),
    ],
)
def test_bad_output_names_fail_before_the_run(files, capsys, option, name, fragment):
    _, _, tmp = files
    code, out, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", option,
                          tmp / name)  # fmt: skip
    assert code == 2 and fragment in err and option in err
    assert out == ""  # nothing ran
    assert len(err.strip().splitlines()) == 1


def test_report_without_matplotlib(files, capsys, no_matplotlib):
    _, _, tmp = files
    for option, name in (("--report", "r.html"), ("--plot", "p.png")):
        code, out, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", option,
                              tmp / name)  # fmt: skip
        assert code == 2 and 'pip install "fastprdc[plot]"' in err and option in err
        assert out == "" and not (tmp / name).exists()


def test_demo_report_and_plot(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="fastprdc demo needs scikit-learn ([demo] extra)")
    pytest.importorskip("matplotlib")
    code, out, err = _run(capsys, "demo", "--quick", "--report", tmp_path / "demo.html",
                          "--plot", tmp_path / "demo.png", "--dpi", "50")  # fmt: skip
    assert code == 0, err
    assert "mode dropping" in out.lower()
    text = (tmp_path / "demo.html").read_text(encoding="utf-8")
    for family in ALL:  # every family, the per-class table with the dropped digits
        assert family in text, family
    assert "Missing from fake (dropped modes): <strong>8, 9</strong>" in text
    assert (tmp_path / "demo.png").read_bytes()[:8] == PNG


# ---------------------------------------------------------------------------
# show: saved results printed, plotted, reported, compared
# ---------------------------------------------------------------------------


def _saved_runs(capsys, tmp, steps):
    """`eval --json STEP.json` of fakes drifting away from real (and the label files)."""
    real, fake = _data()
    rng = np.random.default_rng(5)
    np.save(tmp / "real_labels.npy", rng.integers(0, 2, len(real)))
    np.save(tmp / "fake_labels.npy", rng.integers(0, 2, len(fake)))
    for i, step in enumerate(steps):
        np.save(tmp / f"fake{step}.npy", fake + np.float32(0.5 * i))
        code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / f"fake{step}.npy",
                            "--json", tmp / f"{step}.json", "--quiet", "--real-labels",
                            tmp / "real_labels.npy", "--fake-labels",
                            tmp / "fake_labels.npy")  # fmt: skip
        assert code == 0, err
    return [tmp / f"{step}.json" for step in steps]


def test_show_prints_the_saved_table(files, capsys):
    _, _, tmp = files
    (path,) = _saved_runs(capsys, tmp, [100])
    code, out, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake100.npy",
                          "--real-labels", tmp / "real_labels.npy", "--fake-labels",
                          tmp / "fake_labels.npy", "--quiet")  # fmt: skip
    table = out
    code, out, err = _run(capsys, "show", path)
    assert code == 0, err
    strip = [line for line in table.splitlines() if " s, " not in line]  # the run's time
    assert [line for line in out.splitlines() if " s, " not in line] == strip
    assert "Per class" in out


def test_show_report_plot_and_compare(files, capsys):
    pytest.importorskip("matplotlib")
    _, _, tmp = files
    paths = _saved_runs(capsys, tmp, [1000, 2000, 3000])
    code, out, err = _run(capsys, "show", paths[0], "--report", tmp / "r.html", "--plot",
                          tmp / "s.svg", "--dpi", "40")  # fmt: skip
    assert code == 0, err
    page = (tmp / "r.html").read_text(encoding="utf-8")
    assert "<title>fastprdc: 1000.json</title>" in page and "Per class" in page
    assert b"<svg" in (tmp / "s.svg").read_bytes()[:2000]
    code, out, err = _run(capsys, "show", *paths, "--plot", tmp / "cmp.png", "--xlabel", "step")
    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith("== ")] == [
        "== 1000.json ==", "== 2000.json ==", "== 3000.json =="
    ]  # fmt: skip
    assert (tmp / "cmp.png").read_bytes()[:8] == PNG and "wrote" in err


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--report", "r.html"], "--report describes one result, got 2"),
        (["--plot", "p.jpg"], ".png or .pdf or .svg"),
    ],
)
def test_show_bad_requests(files, capsys, extra, fragment):
    _, _, tmp = files
    paths = _saved_runs(capsys, tmp, [1, 2])
    code, out, err = _run(capsys, "show", *paths, *[tmp / e if "." in e else e for e in extra])
    assert code == 2 and fragment in err and out == ""


def test_show_with_the_samples_file_draws_the_histograms(files, capsys):
    pytest.importorskip("matplotlib")
    _, _, tmp = files
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--json",
                        tmp / "r.json", "--samples", tmp / "r.npz", "--quiet")  # fmt: skip
    assert code == 0, err
    code, _out, err = _run(capsys, "show", tmp / "r.json", "--samples", tmp / "r.npz",
                          "--report", tmp / "r.html", "--quiet")  # fmt: skip
    assert code == 0, err
    assert "Sample-level histograms" in (tmp / "r.html").read_text(encoding="utf-8")
    code, _, err = _run(capsys, "show", tmp / "r.json", tmp / "r.json", "--samples", tmp / "r.npz")
    assert code == 2 and "--samples belongs to one RESULT" in err


def test_show_names_files_by_as_many_folders_as_tell_them_apart(files, capsys):
    pytest.importorskip("matplotlib")
    _, _, tmp = files
    (first,) = _saved_runs(capsys, tmp, [7])
    for run in ("runA", "runB"):
        (tmp / run).mkdir()
        (tmp / run / "final.json").write_text(first.read_text())
    code, out, err = _run(capsys, "show", tmp / "runA" / "final.json", tmp / "runB" / "final.json",
                          "--plot", tmp / "ab.png")  # fmt: skip
    assert code == 0, err
    assert "== runA/final.json ==" in out and "== runB/final.json ==" in out
    code, _, err = _run(capsys, "show", first, first)
    assert code == 2 and "the same RESULT file is given twice" in err


def test_show_refuses_what_is_not_a_result(files, capsys):
    _, _, tmp = files
    (tmp / "other.json").write_text('{"hello": 1}', encoding="utf-8")
    code, out, err = _run(capsys, "show", tmp / "other.json")
    assert code == 2 and "not a fastprdc result" in err and "'hello'" in err
    code, out, err = _run(capsys, "show", tmp / "missing.json")
    assert code == 2 and "missing.json" in err and out == ""


# ---------------------------------------------------------------------------
# reference
# ---------------------------------------------------------------------------


def _json(path):
    return json.loads(path.read_text())


def _same_numbers(a, b):
    """Two --json outputs with the same scalars, curves and per-class numbers."""
    assert a["scalars"] == b["scalars"]
    assert a.get("curves") == b.get("curves")
    assert a["info"]["ks"] == b["info"]["ks"] and a["info"]["params"] == b["info"]["params"]
    if "per_class" in a or "per_class" in b:
        for key in ("scalars", "curves", "class_mean", "missing_in_fake", "evaluated"):
            assert a["per_class"][key] == b["per_class"][key], key


@pytest.mark.parametrize("features", [False, True])
def test_reference_round_trip_same_numbers(files, capsys, features):
    _, _, tmp = files
    ref = tmp / "real.ref.npz"
    extra = ["--include-features"] if features else []
    code, out, err = _run(capsys, "reference", tmp / "real.npy", "--out", ref, "--k", "3", "5",
                          *extra, "--quiet")  # fmt: skip
    assert code == 0, err
    # the one-paragraph summary
    text = " ".join(out.split())
    for fragment in ("N=120", "d=6", "float32", "precision_recall (k=3, 5)",
                     "alpha_precision_beta_recall (no k)", "real self-kNN depth",
                     "sha256:", "KB", " s: "):  # fmt: skip
        assert fragment in text, fragment
    assert ("features are included" in text) == features
    loaded = fastprdc.Reference.load(ref)
    assert loaded.has_features == features
    assert loaded.fingerprint in text
    real_opt = [] if features else ["--real", tmp / "real.npy"]
    code, _, err = _run(capsys, "eval", ref, tmp / "fake.npy", *real_opt,
                        "--json", tmp / "ref.json", "--quiet")  # fmt: skip
    assert code == 0, err
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--k", "3", "5",
                        "--json", tmp / "plain.json", "--quiet")  # fmt: skip
    assert code == 0, err
    got, plain = _json(tmp / "ref.json"), _json(tmp / "plain.json")
    _same_numbers(got, plain)
    assert set(got["scalars"]) == set(ALL)  # the reference's metrics and ks by default
    assert got["info"]["reference"]["fingerprint"] == loaded.fingerprint
    # any request the stored side serves: fewer families, a smaller k, family options
    code, _, err = _run(capsys, "eval", ref, tmp / "fake.npy", *real_opt, "--k", "3",
                        "--metrics", "precision_recall", "realism_score", "--prune", "0.25",
                        "--boundary", "strict", "--json", tmp / "ref2.json", "--quiet")  # fmt: skip
    assert code == 0, err
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--k", "3",
                        "--metrics", "precision_recall", "realism_score", "--prune", "0.25",
                        "--boundary", "strict", "--json", tmp / "plain2.json",
                        "--quiet")  # fmt: skip
    assert code == 0, err
    _same_numbers(_json(tmp / "ref2.json"), _json(tmp / "plain2.json"))


def test_reference_family_options_kept(files, capsys):
    """Options given to `reference` are the defaults of `eval REF`; options given to `eval`
    change only their own parameter."""
    _, _, tmp = files
    ref = tmp / "r.ref.npz"
    opts = ["--metrics", "precision_recall_cover", "realism_score", "--C", "2",
            "--variant", "cheema2023", "--cover-k", "2", "4"]  # fmt: skip
    code, _, err = _run(capsys, "reference", tmp / "real.npy", "--out", ref, *opts,
                        "--include-features", "--quiet")  # fmt: skip
    assert code == 0, err
    code, _, err = _run(capsys, "eval", ref, tmp / "fake.npy", "--prune", "0.3",
                        "--json", tmp / "a.json", "--quiet")  # fmt: skip
    assert code == 0, err
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", *opts,
                        "--prune", "0.3", "--json", tmp / "b.json", "--quiet")  # fmt: skip
    assert code == 0, err
    a, b = _json(tmp / "a.json"), _json(tmp / "b.json")
    _same_numbers(a, b)
    assert a["info"]["params"]["precision_recall_cover"] == {"C": 2, "variant": "cheema2023"}
    assert a["info"]["ks"]["precision_recall_cover"] == [2, 4]
    # --cover-k alone keeps the other families' stored k
    code, _, err = _run(capsys, "eval", ref, tmp / "fake.npy", "--cover-k", "2",
                        "--json", tmp / "c.json", "--quiet")  # fmt: skip
    assert code == 0, err
    c = _json(tmp / "c.json")
    assert c["info"]["ks"] == {"precision_recall_cover": [2], "realism_score": [3]}


def test_reference_per_class_round_trip(tmp_path, capsys):
    _modes16_files(tmp_path)
    ref = tmp_path / "r.ref.npz"
    code, out, err = _run(capsys, "reference", tmp_path / "real.npy", "--out", ref,
                          "--metrics", "precision_recall", "density_coverage",
                          "--real-labels", tmp_path / "real_labels.npy", "--quiet")  # fmt: skip
    assert code == 0, err
    assert "each of 6 classes" in " ".join(out.split())
    code, out, err = _run(capsys, "eval", ref, tmp_path / "fake.npy", "--real", tmp_path /
                          "real.npy", "--fake-labels", tmp_path / "fake_labels.npy",
                          "--json", tmp_path / "a.json", "--quiet")  # fmt: skip
    assert code == 0, err
    assert "no fake samples" in out
    code, _, err = _run(capsys, "eval", tmp_path / "real.npy", tmp_path / "fake.npy",
                        "--metrics", "precision_recall", "density_coverage",
                        "--real-labels", tmp_path / "real_labels.npy",
                        "--fake-labels", tmp_path / "fake_labels.npy",
                        "--json", tmp_path / "b.json", "--quiet")  # fmt: skip
    assert code == 0, err
    a, b = _json(tmp_path / "a.json"), _json(tmp_path / "b.json")
    _same_numbers(a, b)
    assert a["per_class"]["missing_in_fake"] == [4, 5]


def test_reference_errors(files, capsys):
    _real, _, tmp = files
    ref = tmp / "r.ref.npz"
    code, _, err = _run(capsys, "reference", tmp / "real.npy", "--out", ref, "--quiet")
    assert code == 0, err
    cases = [
        # no features stored and none given
        (["eval", ref, tmp / "fake.npy"], ["holds no real features", "--real FILE"]),
        # --real with a plain features file
        (["eval", tmp / "real.npy", tmp / "fake.npy", "--real", tmp / "real.npy"],
         ["not a reference file"]),
        # other real features than the reference's
        (["eval", ref, tmp / "fake.npy", "--real", tmp / "fake.npy"], ["fingerprint"]),
        # per class with a reference built without labels
        (["eval", ref, tmp / "fake.npy", "--real", tmp / "real.npy", "--fake-labels",
          tmp / "fake.npy"], ["built without labels", "--real-labels"]),
        # a request the stored real side cannot serve
        (["eval", ref, tmp / "fake.npy", "--real", tmp / "real.npy", "--k", "9"],
         ["cannot serve", "depth"]),
        # --out into a missing directory
        (["reference", tmp / "real.npy", "--out", tmp / "nope" / "r.npz"],
         ["no such directory"]),
    ]  # fmt: skip
    for args, fragments in cases:
        code, _out, err = _run(capsys, *args, "--quiet")
        assert code == 2, (args, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        for fragment in fragments:
            assert fragment in err, (fragment, err)


@pytest.mark.parametrize(
    "request_args",
    [
        ["--k", "5", "--center", "{center}"],
        ["--k", "20", "--cover-k", "3"],
        ["--k", "20", "--center", "{center}", "--n-alphas", "7"],
    ],
)
def test_reference_error_command_line_builds_a_reference_that_serves(files, capsys, request_args):
    """The command line a reference's 'cannot serve' error suggests, run as printed (REAL,
    OUT.npz and FILE filled in), builds a reference that serves the same eval: family options
    (the alpha/beta centre, the cover's k, parameters) included."""
    import shlex

    real, _, tmp = files
    np.save(tmp / "center.npy", real.mean(axis=0) + 0.5)
    ref = tmp / "r.ref.npz"
    code, _, err = _run(capsys, "reference", tmp / "real.npy", "--out", ref, "--quiet")
    assert code == 0, err
    extra = [a.replace("{center}", str(tmp / "center.npy")) for a in request_args]
    base = ["eval", "{ref}", tmp / "fake.npy", "--real", tmp / "real.npy", *extra]
    code, _, err = _run(capsys, *[ref if a == "{ref}" else a for a in base], "--quiet")
    assert code == 2 and "cannot serve" in err, err
    suggested = err.split("command line: ")[1].split("), or evaluate")[0]
    fill = {"REAL": str(tmp / "real.npy"), "OUT.npz": str(tmp / "new.npz"),
            "FILE": str(tmp / "center.npy")}  # fmt: skip
    argv = [fill.get(a, a) for a in shlex.split(suggested)]
    assert argv[0] == "fastprdc", suggested
    code, _, err = _run(capsys, *argv[1:], "--quiet")
    assert code == 0, (suggested, err)
    base[1] = tmp / "new.npz"
    code, _, err = _run(capsys, *base, "--json", tmp / "a.json", "--quiet")
    assert code == 0, (suggested, err)
    code, _, err = _run(capsys, "eval", tmp / "real.npy", *base[2:3], *extra,
                        "--json", tmp / "b.json", "--quiet")  # fmt: skip
    assert code == 0, err
    _same_numbers(_json(tmp / "a.json"), _json(tmp / "b.json"))


def _damaged(path, at):
    """A copy of ``path`` with the byte at ``at`` (a fraction of the size) flipped."""
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0xFF
    out = path.with_name("damaged_" + path.name)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("compress", [False, True])
def test_damaged_files_are_one_line_errors(files, capsys, compress):
    """A reference, features or samples file with a flipped byte (a bad zip CRC, a broken
    deflate stream, a damaged header): exit 2, one line naming the file, no traceback."""
    _, fake, tmp = files
    extra = ["--compress"] if compress else []
    code, _, err = _run(capsys, "reference", tmp / "real.npy", "--out", tmp / "r.npz",
                        "--include-features", *extra, "--quiet")  # fmt: skip
    assert code == 0, err
    save = np.savez_compressed if compress else np.savez
    save(tmp / "f.npz", feats=fake)
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--json",
                        tmp / "s.json", "--samples", tmp / "s.npz", "--quiet")  # fmt: skip
    assert code == 0, err
    cases = [
        (["eval", "{bad}", tmp / "fake.npy"], tmp / "r.npz"),
        (["eval", tmp / "real.npy", "{bad}"], tmp / "f.npz"),
        (["show", tmp / "s.json", "--samples", "{bad}"], tmp / "s.npz"),
    ]
    for args, path in cases:
        refused = 0
        for at in (0.1, 0.3, 0.5, 0.7, 0.9):
            bad = _damaged(path, at)
            argv = [bad if a == "{bad}" else a for a in args]
            code, _, err = _run(capsys, *argv, "--quiet")
            if code == 0:  # the flipped byte was in padding no reader looks at
                continue
            refused += 1
            assert code == 2, (argv, err)
            assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
            assert bad.name in err, err
        assert refused >= 3, (args, refused)


def test_fake_that_is_a_reference_file_is_refused(files, capsys):
    _, _, tmp = files
    code, _, err = _run(capsys, "reference", tmp / "real.npy", "--out", tmp / "r.npz",
                        "--include-features", "--quiet")  # fmt: skip
    assert code == 0, err
    code, _, err = _run(capsys, "eval", tmp / "fake.npy", tmp / "r.npz", "--quiet")
    assert code == 2 and "is a reference file" in err and "REFERENCE FAKE" in err, err


def test_an_output_that_is_an_input_is_refused(files, capsys):
    """Writing an output over one of the command's inputs would destroy it: refused before
    any work, the input unchanged."""
    _, _, tmp = files
    np.save(tmp / "center.npy", np.load(tmp / "real.npy").mean(0))
    before = {p: p.read_bytes() for p in (tmp / "real.npy", tmp / "fake.npy", tmp / "center.npy")}
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--json",
                        tmp / "r.json", "--samples", tmp / "s.npz", "--quiet")  # fmt: skip
    assert code == 0, err
    (tmp / "r.html").write_bytes((tmp / "r.json").read_bytes())  # a result under an odd name
    cases = [
        ["reference", tmp / "real.npy", "--out", tmp / "real.npy"],
        ["eval", tmp / "real.npy", tmp / "fake.npy", "--samples", tmp / "fake.npy"],
        ["eval", tmp / "real.npy", tmp / "fake.npy", "--json", tmp / "." / "real.npy"],
        ["show", tmp / "r.html", "--samples", tmp / "s.npz", "--report", tmp / "r.html"],
        ["eval", tmp / "real.npy", tmp / "fake.npy", "--center", tmp / "center.npy",
         "--json", tmp / "center.npy"],
        ["reference", tmp / "real.npy", "--center", tmp / "center.npy", "--out",
         tmp / "center.npy"],
    ]  # fmt: skip
    for args in cases:
        code, _, err = _run(capsys, *args, "--quiet")
        assert code == 2 and "is also an input of this command" in err, (args, err)
    assert {p: p.read_bytes() for p in before} == before


def test_two_outputs_of_one_file_are_refused(files, capsys):
    """The second output would replace the first (the JSON lost, exit 0): refused before any
    work, nothing written."""
    _, _, tmp = files
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--json",
                        tmp / "r.json", "--quiet")  # fmt: skip
    assert code == 0, err
    cases = [
        ["eval", "--json", tmp / "o.json", "--samples", tmp / "o.json"],
        ["eval", "--json", tmp / "x.html", "--report", tmp / "sub" / ".." / "x.html"],
        ["eval", "--samples", tmp / "p.png", "--plot", tmp / "p.png"],
        ["show", tmp / "r.json", "--report", tmp / "r2.html", "--plot", tmp / "r2.html"],
    ]
    (tmp / "sub").mkdir()
    for command, *outputs in cases:
        inputs = [tmp / "real.npy", tmp / "fake.npy"] if command == "eval" else []
        code, _, err = _run(capsys, command, *inputs, *outputs, "--quiet")
        assert code == 2 and "each output needs its own file name" in err, (outputs, err)
    assert sorted(p.name for p in tmp.iterdir()) == ["fake.npy", "r.json", "real.npy", "sub"]
    # show's --samples is an input: writing the report over it is refused as such
    (tmp / "s.html").write_bytes(b"not read")
    code, _, err = _run(capsys, "show", tmp / "r.json", "--samples", tmp / "s.html", "--report",
                        tmp / "s.html", "--quiet")  # fmt: skip
    assert code == 2 and "is also an input of this command" in err, err


def test_plain_npz_with_a_meta_array_is_features(tmp_path, capsys):
    """Only a reference file's format marker makes REAL a reference."""
    real, fake = _data(seed=5)
    np.savez(tmp_path / "real.npz", feats=real, meta=np.array('{"format": "something"}'))
    np.save(tmp_path / "fake.npy", fake)
    code, _, err = _run(capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npy",
                        "--key", "feats", "--fake-key", "", "--json", tmp_path / "o.json",
                        "--metrics", "precision_recall", "--quiet")  # fmt: skip
    assert code == 2 and "fake.npy" in err  # --fake-key "" is still a key for a .npy
    code, _, err = _run(capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npy",
                        "--real-key", "feats", "--json", tmp_path / "o.json",
                        "--metrics", "precision_recall", "--quiet")  # fmt: skip
    assert code == 0, err
    data = _json(tmp_path / "o.json")
    assert (
        data["scalars"]["precision_recall"]["precision"]["3"]
        == (fastprdc.precision_recall(real, fake)["precision"])
    )
    assert "reference" not in data["info"]


# ---------------------------------------------------------------------------
# per-file keys, directories, max_memory
# ---------------------------------------------------------------------------


def test_per_file_keys(tmp_path, capsys):
    real, fake = _data(seed=6)
    np.savez(tmp_path / "real.npz", a=real, b=real[:, :2])
    np.savez(tmp_path / "fake.npz", x=fake, y=fake[:, :2])
    np.save(tmp_path / "fake.npy", fake)
    base = ["eval", tmp_path / "real.npz", tmp_path / "fake.npz", "--metrics", "precision_recall",
            "--json", tmp_path / "o.json", "--quiet"]  # fmt: skip
    code, _, err = _run(capsys, *base, "--real-key", "a", "--fake-key", "x")
    assert code == 0, err
    expected = fastprdc.precision_recall(real, fake)["precision"]
    assert _json(tmp_path / "o.json")["scalars"]["precision_recall"]["precision"]["3"] == expected
    # --key is shared; a per-file key overrides it for its file
    code, _, err = _run(capsys, *base, "--key", "x", "--real-key", "a")
    assert code == 0, err
    code, _, err = _run(capsys, *base, "--key", "a")
    assert code == 2 and "fake.npz" in err and "'a'" in err
    # a shared --key with a .npy file points to the per-file options
    code, _, err = _run(capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npy",
                        "--key", "a", "--quiet")  # fmt: skip
    assert code == 2 and "fake.npy" in err and "--real-key" in err
    code, _, err = _run(capsys, "eval", tmp_path / "real.npz", tmp_path / "fake.npy",
                        "--real-key", "a", "--json", tmp_path / "o.json", "--quiet")  # fmt: skip
    assert code == 0, err
    # reference: --key and --real-key both name the array of REAL
    for option in ("--key", "--real-key"):
        code, _, err = _run(capsys, "reference", tmp_path / "real.npz", "--out",
                            tmp_path / "r.npz", option, "a", "--quiet")  # fmt: skip
        assert code == 0, err
        assert fastprdc.Reference.load(tmp_path / "r.npz").dim == 6
    code, _, err = _run(capsys, "reference", tmp_path / "fake.npy", "--out", tmp_path / "r.npz",
                        "--key", "a", "--quiet")  # fmt: skip
    assert code == 2 and ".npz and .pt files only" in err


@pytest.mark.parametrize("where", ["real", "fake", "labels", "center", "json"])
def test_directory_as_a_file(files, capsys, where):
    _, _, tmp = files
    d = tmp / "adir"
    d.mkdir()
    args = {
        "real": [d, tmp / "fake.npy"],
        "fake": [tmp / "real.npy", d],
        "labels": [tmp / "real.npy", tmp / "fake.npy", "--real-labels", d, "--fake-labels", d],
        "center": [tmp / "real.npy", tmp / "fake.npy", "--center", d],
        "json": [tmp / "real.npy", tmp / "fake.npy", "--json", d],
    }[where]
    code, out, err = _run(capsys, "eval", *args, "--quiet")
    assert code == 2
    assert err.startswith("fastprdc eval: error: ")
    assert "is a directory" in err and str(d) in err
    assert len(err.strip().splitlines()) == 1 and "Errno" not in err and "Traceback" not in err
    assert out == ""


def test_max_memory_too_small_api():
    real, fake = _data()
    with pytest.raises(ValueError, match=r"max_memory=1000 bytes is too small.*16 rows"):
        fastprdc.evaluate(real, fake, max_memory=1000, device="cpu")
    with pytest.raises(ValueError, match=r"is too small.*\(1 threads\)"):
        fastprdc.Reference(real, max_memory=2047, num_threads=1, device="cpu")
    # the smallest budget that holds one 16-row tile per thread runs, and changes nothing
    small = fastprdc.evaluate(real, fake, max_memory=2048, num_threads=1, device="cpu")
    assert small.scalars == fastprdc.evaluate(real, fake, device="cpu").scalars


def test_max_memory_too_small_cli(files, capsys):
    _, _, tmp = files
    for cmd in (["eval", tmp / "real.npy", tmp / "fake.npy"],
                ["reference", tmp / "real.npy", "--out", tmp / "r.npz"]):  # fmt: skip
        code, _out, err = _run(capsys, *cmd, "--max-memory", "1KB", "--device", "cpu", "--quiet")
        assert code == 2, err
        assert "max_memory=1000 bytes is too small" in err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp / "r.npz").exists()


# ---------------------------------------------------------------------------
# progress bars and warnings on stderr (subprocesses: a pipe or a terminal)
# ---------------------------------------------------------------------------


def _cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "fastprdc", *map(str, args)],
        capture_output=True, text=True, timeout=120, **kwargs,
    )  # fmt: skip


@pytest.fixture
def dup_files(tmp_path):
    """Fake with 10 identical rows: pce_rce_re warns (zero k-th neighbour distances)."""
    rng = np.random.default_rng(8)
    real = rng.standard_normal((400, 5)).astype(np.float32)
    fake = rng.standard_normal((300, 5)).astype(np.float32)
    fake[:10] = fake[0]
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake)
    return tmp_path


def test_redirected_run_has_no_progress_and_one_line_warnings(dup_files):
    """stderr is a pipe: no progress bar (no carriage returns); the warning is one line
    through the warnings module, without the source line of the warn() call."""
    tmp = dup_files
    proc = _cli("eval", tmp / "real.npy", tmp / "fake.npy", "--metrics", "pce_rce_re",
                "precision_recall", "--json", tmp / "o.json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "tile" not in proc.stderr and "%" not in proc.stderr
    lines = proc.stderr.splitlines()
    warned = [line for line in lines if "warning" in line.lower()]
    assert warned == [line for line in lines if line.startswith("fastprdc: warning: ")]
    (warning,) = warned
    assert "pce_rce_re: zero k-th neighbour distances" in warning and "10 fake" in warning
    assert lines == [warning, f"wrote {tmp / 'o.json'}"]  # nothing else: no source line
    assert "warnings.warn" not in proc.stderr and ".py:" not in proc.stderr
    assert "RuntimeWarning" not in proc.stderr


def test_quiet_silences_warnings_and_progress(dup_files):
    tmp = dup_files
    for cmd in (["eval", tmp / "real.npy", tmp / "fake.npy", "--metrics", "pce_rce_re",
                 "--json", tmp / "o.json"],
                ["eval", tmp / "real.npy", tmp / "fake.npy", "--metrics", "pce_rce_re",
                 "--progress"]):  # fmt: skip
        proc = _cli(*cmd)
        assert proc.returncode == 0 and "warning" in proc.stderr  # the data warns ...
    proc = _cli("eval", tmp / "real.npy", tmp / "fake.npy", "--metrics", "pce_rce_re",
                "--json", tmp / "o.json", "--quiet")  # fmt: skip
    assert proc.returncode == 0
    assert proc.stderr == ""  # ... but not with --quiet
    assert "pce" in proc.stdout
    # --quiet and --progress contradict each other: a usage error
    proc = _cli("eval", tmp / "real.npy", tmp / "fake.npy", "--quiet", "--progress")
    assert proc.returncode == 2 and "not allowed with" in proc.stderr


def test_progress_flag_shows_bars_when_redirected(dup_files):
    tmp = dup_files
    proc = _cli("eval", tmp / "real.npy", tmp / "fake.npy", "--metrics", "precision_recall",
                "--progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for phase in ("fastprdc kNN real", "fastprdc kNN fake", "fastprdc cross pass"):
        assert phase in proc.stderr, phase
    assert "tile" in proc.stderr


def test_terminal_gets_progress_bars(dup_files):
    """stderr is a terminal (a pseudo-terminal here): progress bars by default."""
    pty = pytest.importorskip("pty")
    import fcntl
    import os
    import struct
    import termios

    tmp = dup_files
    master, slave = pty.openpty()
    # a terminal of 24 rows x 100 columns (a new pseudo-terminal has 0 x 0)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fastprdc", "eval", str(tmp / "real.npy"),
             str(tmp / "fake.npy"), "--metrics", "precision_recall"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
        )  # fmt: skip
    finally:
        os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    text = seen.decode(errors="replace")
    assert "fastprdc kNN real" in text and "fastprdc cross pass" in text and "\r" in text
    assert b"precision" in out


def test_json_to_stdout_and_svg_plot(files, capsys):
    """``--json -``: the JSON alone on stdout (for pipes); ``--plot x.svg`` writes SVG."""
    real, fake, tmp = files
    code, out, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--k", "3",
                          "--json", "-", "--quiet")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)  # nothing but the JSON
    _assert_json_scalars(data, fastprdc.evaluate(real, fake, k=3, metrics="all"))
    assert not (Path.cwd() / "-").exists()
    pytest.importorskip("matplotlib")
    code, _, err = _run(capsys, "eval", tmp / "real.npy", tmp / "fake.npy", "--plot",
                        tmp / "s.svg", "--quiet")  # fmt: skip
    assert code == 0, err
    assert b"<svg" in (tmp / "s.svg").read_bytes()[:2000]


def test_center_file_must_hold_one_vector(files, capsys):
    real, _, tmp = files
    np.save(tmp / "centre_row.npy", real[:1].astype(np.float64))  # (1, d): one vector
    np.save(tmp / "centres.npy", real[:5])  # five rows: not a centre
    args = ("eval", tmp / "real.npy", tmp / "fake.npy", "--metrics", "alpha_precision_beta_recall")
    code, _out, err = _run(capsys, *args, "--center", tmp / "centre_row.npy", "--quiet")
    assert code == 0, err
    code, _, err = _run(capsys, *args, "--center", tmp / "centres.npy")
    assert code != 0
    assert "expected one vector" in err and "(5, " in err
