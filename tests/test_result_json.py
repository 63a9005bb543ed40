"""EvaluationResult's JSON both ways: ``from_json(to_json())`` gives the same result back (the
same text, table, keys and arrays) for every family, with and without per-sample arrays and
per-class tables, class ids of every kind, non-finite values; bad documents are refused with
a message that names the problem. The ``fastprdc show`` command is tested in test_cli.py."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from _helpers import ALL_FAMILIES

import fastprdc
from fastprdc import EvaluationResult


def _pair(rng, dtype, n=90, m=80, d=5):
    real = rng.standard_normal((n, d)).astype(dtype)
    fake = (0.4 + rng.standard_normal((m, d))).astype(dtype)
    return real, fake


def _assert_same(a: EvaluationResult, b: EvaluationResult) -> None:
    """Equal scalars (NaN equal to NaN), curves, samples and per-class tables, and keys of the
    same Python types: what every caller of a result reads."""

    def same(x, y, where):
        if isinstance(x, dict):
            assert isinstance(y, dict) and list(x) == list(y), where
            for (kx, vx), ky in zip(x.items(), y):
                assert type(kx) is type(ky), (where, kx, ky)
                same(vx, y[ky], f"{where}.{kx!r}")
        elif isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray), where
            assert x.dtype.kind == y.dtype.kind, (where, x.dtype, y.dtype)
            np.testing.assert_array_equal(x, y, err_msg=where)
        elif isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), where
        elif isinstance(x, (list, tuple)):
            assert list(x) == list(y), where
        else:
            assert x == y and type(x) is type(y), (where, x, y)

    for name in ("scalars", "curves", "samples", "per_class"):
        same(getattr(a, name), getattr(b, name), name)


@pytest.mark.parametrize("sample_level", [False, True], ids=["scalars", "samples"])
def test_round_trip_every_family(backend, dtype, sample_level, rng, tmp_path):
    real, fake = _pair(rng, dtype)
    res = fastprdc.evaluate(
        real, fake, metrics="all", k=[2, 4], sample_level=sample_level, device=backend
    )
    path = tmp_path / "r.json"
    text = res.to_json(path)
    for source in (path, str(path), text):
        back = EvaluationResult.from_json(source)
        assert back.to_json() == text
        assert repr(back) == repr(res)
        _assert_same(res, back)
    assert back.info == json.loads(text)["info"]
    assert back["precision"] == res["precision"]  # int k keys
    assert back["authenticity"] == res["authenticity"]  # the key None
    assert (back.samples is None) is (not sample_level)
    assert EvaluationResult.from_dict(res.to_dict()).to_json() == text


#: Three class ids of each kind (the fake set lacks the first: a dropped mode).
LABELS = {
    "int": [0, 1, 2],
    "str": ["cat", "dog", "1"],
    "bool": [True, False],
    "float": [0.5, -1.25, 3.0],
    "tuple": [(0, "a"), (1, "b"), (2, "a")],
}


def _objects(values, picks):
    out = np.empty(len(picks), dtype=object)
    out[:] = [values[i] for i in picks]
    return out


def _labels(values, picks):
    """Labels in the array type users have: numeric or str arrays, object arrays for tuples."""
    return _objects(values, picks) if isinstance(values[0], tuple) else np.asarray(values)[picks]


@pytest.mark.parametrize("kind", list(LABELS))
@pytest.mark.parametrize("samples", [False, True], ids=["lean", "samples"])
def test_round_trip_per_class(kind, samples, rng):
    real, fake = _pair(rng, np.float32, n=150, m=140)
    values = LABELS[kind]
    r_labels = _labels(values, rng.integers(0, len(values), 150))
    f_labels = _labels(values, rng.integers(1, len(values), 140))
    res = fastprdc.evaluate(
        real,
        fake,
        metrics=["precision_recall", "alpha_precision_beta_recall"],
        k=[2, 3],
        sample_level=True,
        real_labels=r_labels,
        fake_labels=f_labels,
    )
    assert res.per_class["missing_in_fake"]  # a dropped class survives the trip too
    text = res.to_json(samples=samples)
    back = EvaluationResult.from_json(text)
    assert back.to_json() == text
    assert repr(back) == repr(res)
    if samples:
        _assert_same(res, back)
    else:
        assert "indices" not in back.per_class and back.samples is None
    assert back.per_class["classes"] == res.per_class["classes"]
    assert list(back.per_class["scalars"]) == res.per_class["evaluated"]


def test_non_finite_values_come_back_as_floats(rng):
    real, fake = _pair(rng, np.float64)
    res = fastprdc.evaluate(real, fake, metrics="rarity_score", k=2, sample_level=True)
    rarity = res.samples["rarity_score"]["rarity"][2]
    res.scalars["rarity_score"]["mean_in_ball"][2] = math.inf
    res.samples["rarity_score"]["rarity"][2] = np.where(np.arange(rarity.size) % 2, np.nan, rarity)
    text = res.to_json()
    assert '"Infinity"' in text and '"NaN"' in text
    back = EvaluationResult.from_json(text)
    assert back.scalars["rarity_score"]["mean_in_ball"][2] == math.inf
    arr = back.samples["rarity_score"]["rarity"][2]
    assert arr.dtype == np.float64 and np.isnan(arr[1::2]).all()
    np.testing.assert_array_equal(arr[::2], rarity[::2])


def test_negative_infinity_comes_back_negative(rng):
    """Duplicated reals make H(R) = -inf (so PCE = +inf): the JSON text keeps the sign of each
    infinity, and both read back as they were."""
    real, fake = _pair(rng, np.float64)
    real[1::2] = real[::2]  # every real has an exact copy: rho_k^R = 0 for k = 1
    with pytest.warns(RuntimeWarning, match="zero k-th neighbour distances"):
        res = fastprdc.evaluate(real, fake, metrics="pce_rce_re", k=1)
    scalars = res.scalars["pce_rce_re"]
    assert scalars["h_real"][1] == -math.inf and scalars["pce"][1] == math.inf
    text = res.to_json()
    assert '"-Infinity"' in text and '"Infinity"' in text
    back = EvaluationResult.from_json(text)
    _assert_same(res, back)
    assert back.scalars["pce_rce_re"]["h_real"][1] == -math.inf


def test_class_ids_that_share_a_json_key_are_refused(rng):
    real, fake = _pair(rng, np.float32, n=120, m=120)
    labels = _objects([1, "1"], np.arange(120) % 2)
    res = fastprdc.evaluate(real, fake, metrics="precision_recall", k=2,
                            real_labels=labels, fake_labels=labels)  # fmt: skip
    with pytest.raises(ValueError, match=r"class ids .* both become the JSON key '1'"):
        res.to_json()
    assert set(res.to_dict()["per_class"]["scalars"]) == {1, "1"}  # a dict holds both


def test_class_ids_json_cannot_hold_are_refused_by_name(rng):
    import datetime

    real, fake = _pair(rng, np.float32, n=120, m=120)
    days = [datetime.date(2026, 1, 1), datetime.date(2026, 1, 2)]
    labels = _objects(days, np.arange(120) % 2)
    res = fastprdc.evaluate(real, fake, metrics="precision_recall", k=2,
                            real_labels=labels, fake_labels=labels)  # fmt: skip
    with pytest.raises(ValueError, match=r"class id datetime.date\(2026, 1, 1\) \(date\) cannot"):
        res.to_json()


def test_byte_string_labels_are_their_text(rng):
    """numpy byte strings (h5py reads them) are class ids by their UTF-8 text."""
    real, fake = _pair(rng, np.float32, n=120, m=120)
    labels = np.array([b"cat", "chat\u00e9".encode()])[np.arange(120) % 2]
    res = fastprdc.evaluate(real, fake, metrics="precision_recall", k=2,
                            real_labels=labels, fake_labels=labels)  # fmt: skip
    assert res.per_class["classes"] == ["cat", "chat\u00e9"]
    assert EvaluationResult.from_json(res.to_json()).per_class["classes"] == ["cat", "chat\u00e9"]
    with pytest.raises(ValueError, match="not UTF-8 text"):
        fastprdc.evaluate(real, fake, real_labels=np.array([b"\xff"] * 120), fake_labels=labels)


@pytest.mark.parametrize(
    "document, fragment",
    [
        ("{}", "no 'scalars' or 'info' entry"),
        ('{"scalars": {}}', "no 'info' entry"),
        ("[1, 2]", "the document is list"),
        ('{"scalars": [], "info": {}}', "scalars is list, not a map"),
        ('{"scalars": {}, "info": {}, "per_class": {"classes": [1], "scalars": {"2": {}}}}',
         "per_class.scalars has the key '2', which is not in per_class.classes"),
        ('{"scalars": {', "the text given is not JSON"),
    ],
)  # fmt: skip
def test_bad_documents_are_refused(document, fragment):
    with pytest.raises(ValueError, match=r"not a fastprdc result|not JSON") as info:
        EvaluationResult.from_json(document)
    assert fragment in str(info.value)


def _document(rng) -> dict:
    real, fake = _pair(rng, np.float32, n=120, m=110)
    labels = {"real_labels": np.arange(120) % 2, "fake_labels": np.arange(110) % 2}
    res = fastprdc.evaluate(real, fake, metrics="all", k=2, sample_level=True, **labels)
    return json.loads(res.to_json())


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda d: d["scalars"].update(precision_recall=[1]), "scalars.precision_recall is list"),
        (lambda d: d["per_class"].update(classes=None), "per_class.classes is NoneType"),
        (lambda d: d["per_class"]["indices"].update({"0": [1, 2]}), "per_class.indices[0] is list"),
        (lambda d: d["scalars"]["precision_recall"]["precision"].update(abc=0.5),
         "scalars.precision_recall.precision has the key 'abc', not a k"),
        (lambda d: d["scalars"]["precision_recall"]["precision"].update({"2": "n/a"}),
         "scalars.precision_recall.precision[2] is 'n/a', not a number"),
        (lambda d: d["per_class"].update(classes=[0, 1, 1]), "not a list of distinct class ids"),
        (lambda d: d["samples"]["rarity_score"]["rarity"].update({"2": 3}),
         "samples.rarity_score.rarity[2] is int, not a list"),
        (lambda d: d["scalars"]["precision_recall"]["precision"].update({"2": True}),
         "scalars.precision_recall.precision[2] is bool, not a number"),
        (lambda d: d["info"].update(params="x"), "info.params is str, not a map"),
        (lambda d: d["info"]["params"].update(precision_recall=[]),
         "info.params.precision_recall is list, not a map"),
        (lambda d: d["info"].update(seconds="fast"), "info.seconds is 'fast', not a number"),
        (lambda d: d["info"].update(n_real=-1), "info.n_real is -1, not a count"),
        (lambda d: d["info"].update(exact="yes"), "info.exact is str, not true or false"),
        (lambda d: d["info"]["ks"].update(precision_recall=["3"]),
         "info.ks.precision_recall is '3', not a count"),
        (lambda d: d["info"]["timings"].update(cross=None) or d["info"]["timings"].update(
            total=[1]), "info.timings.total is list, not a number"),
        (lambda d: d["per_class"]["info"]["0"].update(n_fake=2.5),
         "per_class.info[0].n_fake is 2.5, not a count"),
    ],
)  # fmt: skip
def test_wrong_entries_are_named(rng, edit, fragment):
    data = _document(rng)
    edit(data)
    with pytest.raises(ValueError, match="not a fastprdc result") as info:
        EvaluationResult.from_json(json.dumps(data))
    assert fragment in str(info.value)


def test_entries_an_older_document_lacks_read_as_empty(rng):
    data = _document(rng)
    for name in ("partial", "skipped", "evaluated", "class_mean", "curves", "info"):
        del data["per_class"][name]
    back = EvaluationResult.from_json(json.dumps(data))
    assert back.per_class["partial"] == {} and back.per_class["evaluated"] == [0, 1]
    assert "Per class" in repr(back)
    del data["per_class"]["real_counts"]
    with pytest.raises(ValueError, match=r"per_class\.real_counts lacks the count of class 0"):
        EvaluationResult.from_json(json.dumps(data))


def test_paths_that_look_like_json_and_a_bom(rng, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real, fake = _pair(rng, np.float32)
    res = fastprdc.evaluate(real, fake, k=2)
    for name in ("[baseline] run.json", "{exp}.json"):
        res.to_json(name)
        assert EvaluationResult.from_json(name).to_json() == res.to_json()
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + res.to_json().encode())
    assert EvaluationResult.from_json(tmp_path / "bom.json").to_json() == res.to_json()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"cannot read a result from .*nope\.json"):
        EvaluationResult.from_json(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json is not JSON"):
        EvaluationResult.from_json(tmp_path / "bad.json")
    (tmp_path / "s.npz").write_bytes(b"PK\x03\x04\x93\x00binary")  # e.g. a samples file
    with pytest.raises(ValueError, match=r"s\.npz is not a result JSON file \(not UTF-8"):
        EvaluationResult.from_json(tmp_path / "s.npz")


def test_save_samples_of_a_result_without_them_is_refused(rng, tmp_path):
    """A result computed without sample_level=True has no per-sample arrays: save_samples
    says so instead of writing a file of none (also with a per-class table's rows)."""
    real, fake = _pair(rng, np.float32)
    labels = (rng.integers(0, 2, 90), rng.integers(0, 2, 80))
    for kw in ({}, {"real_labels": labels[0], "fake_labels": labels[1]}):
        res = fastprdc.evaluate(real, fake, k=2, **kw)
        with pytest.raises(ValueError, match="no per-sample arrays: evaluate with sample_level"):
            res.save_samples(tmp_path / "s.npz")
        assert not (tmp_path / "s.npz").exists()


def test_plot_and_report_of_a_result_read_back(rng):
    pytest.importorskip("matplotlib")
    from fastprdc import plot
    from fastprdc.report import render_report

    real, fake = _pair(rng, np.float32)
    labels = (rng.integers(0, 2, 90), rng.integers(0, 2, 80))
    res = fastprdc.evaluate(real, fake, metrics="all", k=[2, 4], sample_level=True,
                            real_labels=labels[0], fake_labels=labels[1])  # fmt: skip
    back = EvaluationResult.from_json(res.to_json())

    def page(result):  # without the line that holds the time of rendering
        text = render_report(result, title="t", figures=False)
        return [line for line in text.splitlines() if 'class="lead"' not in line]

    assert page(back) == page(res)
    assert list(plot.figures(back)) == list(plot.figures(res))
    assert set(res.scalars) == set(ALL_FAMILIES)


# ---------------------------------------------------------------------------
# the per-sample arrays in their own .npz (save_samples / from_json(samples=...))
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["int", "str", "tuple"])
def test_json_without_samples_plus_the_samples_file_is_the_whole_result(kind, rng, tmp_path):
    real, fake = _pair(rng, np.float32, n=150, m=140)
    values = LABELS[kind]
    labels = {
        "real_labels": _labels(values, rng.integers(0, 3, 150)),
        "fake_labels": _labels(values, rng.integers(1, 3, 140)),
    }
    res = fastprdc.evaluate(real, fake, metrics="all", k=[2, 3], sample_level=True, **labels)
    res.to_json(tmp_path / "r.json", samples=False)
    assert res.save_samples(tmp_path / "r.samples") == tmp_path / "r.samples"  # name as given
    back = EvaluationResult.from_json(tmp_path / "r.json", samples=tmp_path / "r.samples")
    assert back.to_json() == res.to_json()
    _assert_same(res, back)


def test_a_samples_file_of_another_run_is_refused(rng, tmp_path):
    """The file carries its run's digest: another run's arrays are refused even when their
    families, ks and sizes are the same (another fake set, or the same one run again)."""
    real, fake = _pair(rng, np.float32)
    one = fastprdc.evaluate(real, fake, k=[2, 3], sample_level=True)
    one.save_samples(tmp_path / "one.npz")
    for other_fake in (fake[::-1].copy(), fake):
        other = fastprdc.evaluate(real, other_fake, k=[2, 3], sample_level=True)
        with pytest.raises(ValueError, match="per-sample arrays of another run than this result"):
            EvaluationResult.from_json(other.to_json(samples=False), samples=tmp_path / "one.npz")
    back = EvaluationResult.from_json(one.to_json(samples=False), samples=tmp_path / "one.npz")
    _assert_same(one, back)
    # the same run's JSON reformatted by a tool (keys sorted, 1.0 written as 1): still its own
    text = json.dumps(json.loads(one.to_json(samples=False)), sort_keys=True, indent=1)
    text = re.sub(r"(\d)\.0([,\n])", r"\1\2", text)
    assert text != one.to_json(samples=False)
    back = EvaluationResult.from_json(text, samples=tmp_path / "one.npz")
    assert back.scalars == one.scalars  # (in the file's key order)
    for family, names in one.samples.items():
        for name, per_k in names.items():
            for k, arr in per_k.items():
                np.testing.assert_array_equal(back.samples[family][name][k], arr)


def test_a_class_id_none_reads_back_its_samples(rng, tmp_path):
    real, fake = _pair(rng, np.float32, n=80, m=70)
    labels = {"real_labels": [None if i % 2 else "a" for i in range(80)],
              "fake_labels": [None if i % 3 else "a" for i in range(70)]}  # fmt: skip
    res = fastprdc.evaluate(real, fake, k=3, sample_level=True, **labels)
    res.save_samples(tmp_path / "s.npz")
    back = EvaluationResult.from_json(res.to_json(samples=False), samples=tmp_path / "s.npz")
    assert back.to_json() == res.to_json()


@pytest.mark.parametrize("pair", [(None, "None"), (True, "True"), ((1, "a"), "(1, 'a')")])
def test_class_ids_that_print_alike_keep_their_own_samples(pair, rng, tmp_path):
    """Distinct class ids whose str() is the same (None and "None") are named by their JSON
    keys in the samples file, so neither overwrites the other."""
    real, fake = _pair(rng, np.float32, n=80, m=70)
    a, b = pair
    real_labels, fake_labels = np.empty(80, dtype=object), np.empty(70, dtype=object)
    real_labels[:] = [a if i % 2 else b for i in range(80)]
    fake_labels[:] = [a if i % 3 else b for i in range(70)]
    res = fastprdc.evaluate(real, fake, k=3, sample_level=True, real_labels=real_labels,
                            fake_labels=fake_labels)  # fmt: skip
    res.save_samples(tmp_path / "s.npz")
    back = EvaluationResult.from_json(res.to_json(samples=False), samples=tmp_path / "s.npz")
    assert back.to_json() == res.to_json()
    assert set(back.per_class["samples"]) == {a, b}
    for c in (a, b):
        np.testing.assert_array_equal(back.per_class["indices"][c]["real"],
                                      res.per_class["indices"][c]["real"])  # fmt: skip


def test_a_samples_file_of_class_ids_by_str_still_reads(rng, tmp_path):
    """Files written before the JSON-key names (class None as "None") still read back."""
    real, fake = _pair(rng, np.float32, n=80, m=70)
    labels = {"real_labels": [None if i % 2 else 1 for i in range(80)],
              "fake_labels": [None if i % 3 else 1 for i in range(70)]}  # fmt: skip
    res = fastprdc.evaluate(real, fake, k=3, sample_level=True, **labels)
    res.save_samples(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as npz:
        old = {k.replace("per_class.null.", "per_class.None."): npz[k] for k in npz.files}
    assert any(k.startswith("per_class.None.") for k in old)
    np.savez(tmp_path / "old.npz", **old)
    back = EvaluationResult.from_json(res.to_json(samples=False), samples=tmp_path / "old.npz")
    assert back.to_json() == res.to_json()


def test_a_samples_file_without_a_run_digest_is_checked_by_its_arrays(rng, tmp_path):
    """Files written before the run digest: arrays of another family, k or size are refused."""
    real, fake = _pair(rng, np.float32)
    one = fastprdc.evaluate(real, fake, k=[2, 3], sample_level=True)
    one.save_samples(tmp_path / "with.npz")
    with np.load(tmp_path / "with.npz") as npz:
        np.savez(tmp_path / "one.npz", **{k: npz[k] for k in npz.files if k != "__run__"})
    back = EvaluationResult.from_json(one.to_json(samples=False), samples=tmp_path / "one.npz")
    _assert_same(one, back)
    other_k = fastprdc.evaluate(real, fake, k=[4], sample_level=True)
    with pytest.raises(ValueError, match=r"of no k this result has for precision_recall \[4\]"):
        EvaluationResult.from_json(other_k.to_json(samples=False), samples=tmp_path / "one.npz")
    smaller = fastprdc.evaluate(real[:50], fake, k=[2, 3], sample_level=True)
    with pytest.raises(ValueError, match=r"has shape \(90,\), but this result has 50 real"):
        EvaluationResult.from_json(smaller.to_json(samples=False), samples=tmp_path / "one.npz")
    other_family = fastprdc.evaluate(real, fake, metrics="rarity_score", k=2)
    with pytest.raises(ValueError, match="is of no family of this result"):
        EvaluationResult.from_json(other_family.to_json(), samples=tmp_path / "one.npz")
    with pytest.raises(ValueError, match="cannot read per-sample arrays from"):
        EvaluationResult.from_json(one.to_json(), samples=tmp_path / "missing.npz")
