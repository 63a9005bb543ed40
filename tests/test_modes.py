"""Mode level (docs/metrics.md section 8): ``evaluate(..., real_labels=, fake_labels=)`` ->
``result.per_class``: every metric per class (class c of fake against class c of real),
equal to running the families on the class subsets; class histograms; dropped modes."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from _helpers import REFERENCE_DIR, assert_same, load_reference, make_pair

import fastprdc
from fastprdc import modes


def _modes16():
    real, fake, ref = load_reference("pub_modes16")
    rl = np.load(REFERENCE_DIR / "pub_modes16_real_labels.npy")
    fl = np.load(REFERENCE_DIR / "pub_modes16_fake_labels.npy")
    return real, fake, rl, fl, ref


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _assert_same_scalars(got, exp, label):
    assert set(got) == set(exp), label
    for family, per_metric in exp.items():
        assert set(got[family]) == set(per_metric), (label, family)
        for metric, per_k in per_metric.items():
            for k, value in per_k.items():
                assert _same(got[family][metric][k], value), (label, family, metric, k)


def test_modes16_per_class_equals_class_subsets(backend):
    real, fake, rl, fl, ref = _modes16()
    assert rl.tolist() == ref["real_mode"] and fl.tolist() == ref["fake_mode"]
    res = fastprdc.evaluate(real, fake, metrics="all", real_labels=rl, fake_labels=fl,
                            device=backend)  # fmt: skip
    pc = res.per_class
    # histograms, dropped modes
    assert pc["classes"] == [0, 1, 2, 3, 4, 5]
    assert pc["real_counts"] == {c: 80 for c in range(6)}
    assert pc["fake_counts"] == {0: 80, 1: 80, 2: 80, 3: 80, 4: 0, 5: 0}
    assert pc["missing_in_fake"] == ref["dropped_modes"] == [4, 5]
    assert pc["missing_in_real"] == []
    assert pc["evaluated"] == [0, 1, 2, 3]
    assert pc["skipped"] == {} and pc["partial"] == {}
    # the whole-set result is unchanged by the labels
    plain = fastprdc.evaluate(real, fake, metrics="all", device=backend)
    _assert_same_scalars(res.scalars, plain.scalars, "whole set")
    # each class = the families run on that class's rows alone
    for c in range(4):
        sub = fastprdc.evaluate(real[rl == c], fake[fl == c], metrics="all", device=backend)
        _assert_same_scalars(pc["scalars"][c], sub.scalars, f"class {c}")
        for name, arr in sub.curves["alpha_precision_beta_recall"].items():
            assert_same(pc["curves"][c]["alpha_precision_beta_recall"][name][None], arr[None],
                        f"class {c} {name}")  # fmt: skip
    # class_mean: unweighted mean over the evaluated classes
    for family in ("precision_recall", "pce_rce_re"):
        for metric, per_k in pc["class_mean"][family].items():
            for k, value in per_k.items():
                vals = [pc["scalars"][c][family][metric][k] for c in range(4)]
                assert value == pytest.approx(float(np.mean(vals)), rel=1e-15), (family, metric)


def test_modes16_dropped_modes_read_directly(backend):
    """Dropped modes lower recall / coverage of the whole set but not of the kept classes:
    every kept class has higher recall than the whole set, and RCE of the whole set exceeds
    every per-class RCE (the information-theoretic paper's mode-dropping reading)."""
    real, fake, rl, fl, _ = _modes16()
    res = fastprdc.evaluate(real, fake, metrics="all", real_labels=rl, fake_labels=fl,
                            device=backend)  # fmt: skip
    pc = res.per_class
    whole_recall = res.scalars["precision_recall"]["recall"][3]
    whole_rce = res.scalars["pce_rce_re"]["rce"][5]
    for c in pc["evaluated"]:
        assert pc["scalars"][c]["precision_recall"]["recall"][3] > whole_recall
        assert pc["scalars"][c]["pce_rce_re"]["rce"][5] < whole_rce


def test_sample_level_per_class(backend, rng):
    real, fake = make_pair(rng, "gauss", 150, 120, 4)
    rl = rng.integers(0, 3, 150)
    fl = rng.integers(0, 3, 120)
    res = fastprdc.evaluate(real, fake, k=[2, 4], metrics="all", sample_level=True,
                            real_labels=rl, fake_labels=fl, device=backend)  # fmt: skip
    pc = res.per_class
    for c in range(3):
        assert_same(pc["indices"][c]["real"], np.flatnonzero(rl == c), f"class {c} real rows")
        assert_same(pc["indices"][c]["fake"], np.flatnonzero(fl == c), f"class {c} fake rows")
        sub = fastprdc.evaluate(real[rl == c], fake[fl == c], k=[2, 4], metrics="all",
                                sample_level=True, device=backend)  # fmt: skip
        for family, per_name in sub.samples.items():
            for name, per_k in per_name.items():
                for k, arr in per_k.items():
                    assert_same(pc["samples"][c][family][name][k], arr, f"{c} {family} {name}")


@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
def test_shrinking_one_class_changes_only_its_row(boundary, rng):
    """Mode shrinkage read per class: shrinking class 1's fakes toward their mean lowers
    class 1's RE and raises its precision; the other classes' rows are bit-identical."""
    centres = 6 * rng.standard_normal((3, 8))
    rl = np.repeat(np.arange(3), 60)
    fl = np.repeat(np.arange(3), 50)
    real = centres[rl] + rng.standard_normal((180, 8))
    fake = centres[fl] + rng.standard_normal((150, 8))
    shrunk = fake.copy()
    mu = fake[fl == 1].mean(axis=0)
    shrunk[fl == 1] = mu + 0.5 * (fake[fl == 1] - mu)
    kw = {"metrics": "all", "boundary": boundary, "real_labels": rl, "fake_labels": fl}
    a = fastprdc.evaluate(real, fake, **kw).per_class["scalars"]
    b = fastprdc.evaluate(real, shrunk, **kw).per_class["scalars"]
    for c in (0, 2):
        _assert_same_scalars(b[c], a[c], f"class {c}")
    assert b[1]["pce_rce_re"]["re"][5] < a[1]["pce_rce_re"]["re"][5]
    assert b[1]["precision_recall"]["precision"][3] >= a[1]["precision_recall"]["precision"][3]
    assert b[1]["precision_recall"]["recall"][3] < a[1]["precision_recall"]["recall"][3]


def test_string_labels_missing_both_ways_and_small_classes(rng):
    """String ids; a class only in fake (missing_in_real); a class with one fake row
    (skipped with its reason); a class too small for the deepest k (partial)."""
    real, fake = make_pair(rng, "gauss", 100, 90, 3)
    rl = np.array(["cat"] * 50 + ["dog"] * 40 + ["owl"] * 6 + ["bat"] * 4)
    fl = np.array(["cat"] * 45 + ["dog"] * 38 + ["emu"] * 2 + ["owl"] * 4 + ["bat"] * 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = fastprdc.evaluate(real, fake, metrics="all", real_labels=rl, fake_labels=fl)
    pc = res.per_class
    assert pc["classes"] == sorted({"cat", "dog", "owl", "bat", "emu"})
    assert pc["real_counts"] == {"bat": 4, "cat": 50, "dog": 40, "emu": 0, "owl": 6}
    assert pc["fake_counts"] == {"bat": 1, "cat": 45, "dog": 38, "emu": 2, "owl": 4}
    assert pc["missing_in_fake"] == [] and pc["missing_in_real"] == ["emu"]
    assert "bat" in pc["skipped"] and "bat" not in pc["evaluated"]
    assert {"cat", "dog"} <= set(pc["evaluated"])
    # owl (6 real, 4 fake) cannot hold the cover family's k' = 9: partial or skipped, never
    # silently dropped
    assert "owl" in pc["partial"] or "owl" in pc["skipped"]
    reasons = [*pc["partial"].get("owl", []), pc["skipped"].get("owl", "")]
    # the cover family's own terms: k' = C*k, not the generic "k=9" of its neighbour depth
    assert any("precision_recall_cover" in r and "k' = C*k = 9" in r for r in reasons), reasons
    sub = fastprdc.evaluate(real[rl == "cat"], fake[fl == "cat"], metrics="all")
    _assert_same_scalars(pc["scalars"]["cat"], sub.scalars, "cat")
    text = repr(res)
    assert "emu" in text and "bat" in text
    json.dumps(res.to_dict())  # JSON-able with string class ids


def test_per_class_text_and_json(backend):
    real, fake, rl, fl, _ = _modes16()
    res = fastprdc.evaluate(real, fake, real_labels=rl, fake_labels=fl, device=backend)
    text = repr(res)
    assert "no fake samples" in text  # the dropped classes 4 and 5 are shown
    data = json.loads(res.to_json())
    assert data["per_class"]["missing_in_fake"] == [4, 5]
    assert data["per_class"]["real_counts"]["0"] == 80


def test_class_mean_propagates_nan_and_inf(backend):
    """A class whose fakes lie in no real ball has ``mean_in_ball`` NaN, one with a fake on a
    kept real has realism ``mean`` +inf: the unweighted class mean is NaN / +inf, not the mean
    of the other classes (NaN and infinities propagate, docs/metrics.md section 8)."""
    grid = np.stack(np.meshgrid(np.arange(4.0), np.arange(4.0)), axis=-1).reshape(-1, 2)
    real = np.concatenate([grid, grid + 100.0])  # class 0 and class 1, 16 rows each
    fake = np.concatenate([grid[:8] + 0.25, grid[:8] + 1000.0])  # class 1 fakes: no ball
    fake[0] = real[5]  # class 0: a fake on a real (realism +inf for that class)
    labels_r = np.repeat([0, 1], 16)
    labels_f = np.repeat([0, 1], 8)
    res = fastprdc.evaluate(real, fake, metrics=["rarity_score", "realism_score"], k=3,
                            real_labels=labels_r, fake_labels=labels_f, device=backend)  # fmt: skip
    pc = res.per_class
    assert pc["evaluated"] == [0, 1]
    rarity = [pc["scalars"][c]["rarity_score"]["mean_in_ball"][3] for c in (0, 1)]
    assert math.isfinite(rarity[0]) and math.isnan(rarity[1])
    assert math.isnan(pc["class_mean"]["rarity_score"]["mean_in_ball"][3])
    realism = [pc["scalars"][c]["realism_score"]["mean"][3] for c in (0, 1)]
    assert realism[0] == math.inf and math.isfinite(realism[1])
    assert pc["class_mean"]["realism_score"]["mean"][3] == math.inf


def test_duplicates_in_many_classes_warn_once_for_the_classes():
    """pce_rce_re's duplicate warning: one for the whole set and one naming the classes (the
    first five in full), not one per class."""
    rng = np.random.default_rng(4)
    n_classes = 8
    rl = np.repeat(np.arange(n_classes), 12)
    fl = np.repeat(np.arange(n_classes), 10)
    real = rng.standard_normal((rl.size, 3))
    fake = rng.standard_normal((fl.size, 3))
    real[1::12] = real[::12]  # one duplicated real row in every class
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fastprdc.evaluate(
            real, fake, metrics="pce_rce_re", k=1, real_labels=rl, fake_labels=fl
        )
    messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert len(messages) == 2, messages
    assert messages[0].startswith("pce_rce_re: zero k-th neighbour distances")
    summary = messages[1]
    assert summary.startswith(f"per_class: {n_classes} warning(s) from the classes: class 0: ")
    assert "class 4: pce_rce_re" in summary and "class 5:" not in summary
    assert summary.endswith(f"; and {n_classes - 5} more")
    per_class = res.per_class["scalars"]
    assert all(per_class[c]["pce_rce_re"]["h_real"][1] == -math.inf for c in range(n_classes))


def test_class_warnings_survive_a_later_class_error(rng):
    """A class that raises: the warnings of the classes before it are still issued, and the
    error is the one raised, also when warnings are errors."""
    real, fake = make_pair(rng, "gauss", 60, 60, 3)
    labels = np.repeat([0, 1, 2], 20)

    def run_class(c, rows_r, rows_f, requests, **kwargs):
        if c == 2:
            raise KeyError("class 2 failed")
        warnings.warn(f"note of class {c}", RuntimeWarning, stacklevel=1)
        return fastprdc.evaluate(real[rows_r], fake[rows_f], metrics="precision_recall", k=3)

    requests = [(fastprdc.metrics.FAMILIES["precision_recall"], [3])]
    for action in ("always", "error"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter(action)
            with pytest.raises(KeyError, match="class 2 failed"):
                modes.per_class(real, fake, labels, labels, requests, run_class=run_class)
        expected = [
            "per_class: 2 warning(s) from the classes: class 0: note of class 0; "
            "class 1: note of class 1"
        ]
        assert [str(w.message) for w in caught] == (expected if action == "always" else [])
