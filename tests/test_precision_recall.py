"""Improved precision and recall (docs/metrics.md section 1) against a brute-force
distance matrix built in the test, and against the reference float64 blocks."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    DATA_KINDS,
    KIND_SHAPES,
    assert_exact,
    assert_fraction,
    assert_k_list_matches_single_k,
    brute_metrics,
    brute_prdc_counts,
    gaussian,
    load_reference,
    make_pair,
)

import fastprdc


def _check_pr(got, real, fake, k, boundary, label=""):
    c = brute_prdc_counts(real, fake, k, boundary)
    n_in_real, n_in_fake = int(c["in_real_manifold"].sum()), int(c["in_fake_manifold"].sum())
    assert_fraction(got["precision"], n_in_real, c["M"], f"{label} precision")
    assert_fraction(got["recall"], n_in_fake, c["N"], f"{label} recall")
    return c


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_precision_recall_vs_brute_force(backend, kind, dtype, order, boundary, rng):
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d, dtype, order)
    got = fastprdc.precision_recall(real, fake, k=3, boundary=boundary, device=backend)
    assert set(got) == {"precision", "recall"}
    _check_pr(got, real, fake, 3, boundary, kind)


def test_default_k_and_boundary(backend, rng):
    real, fake = make_pair(rng, "lattice", 90, 80, 3)
    got = fastprdc.precision_recall(real, fake, device=backend)
    _check_pr(got, real, fake, 3, "inclusive", "defaults")


@pytest.mark.parametrize("k_kind", ["one", "max"])
def test_extreme_k(backend, boundary, k_kind, rng):
    real, fake = make_pair(rng, "repeats", 60, 45, 5)
    k = 1 if k_kind == "one" else 44  # k < M is needed for the fake radii
    got = fastprdc.precision_recall(real, fake, k=k, boundary=boundary, device=backend)
    _check_pr(got, real, fake, k, boundary, f"k={k}")


def test_k_list_equals_separate_calls(backend, boundary, rng):
    real, fake = make_pair(rng, "lattice", 120, 100, 3)
    ks = [1, 3, 7]
    got = assert_k_list_matches_single_k(
        fastprdc.precision_recall, real, fake, ks, ("precision", "recall"),
        boundary=boundary, device=backend,
    )  # fmt: skip
    assert set(got) == {"precision", "recall"}
    for k in ks:
        _check_pr({n: got[n][k] for n in got}, real, fake, k, boundary, f"list k={k}")


def test_sample_level(backend, boundary, rng):
    real, fake = make_pair(rng, "repeats", 80, 70, 4)
    got = fastprdc.precision_recall(
        real, fake, k=3, boundary=boundary, sample_level=True, device=backend
    )
    c = _check_pr(got, real, fake, 3, boundary, "sample_level")
    assert got["in_real_manifold"].dtype == np.bool_
    assert got["in_fake_manifold"].dtype == np.bool_
    assert_exact(got["in_real_manifold"], c["in_real_manifold"], "in_real_manifold")
    assert_exact(got["in_fake_manifold"], c["in_fake_manifold"], "in_fake_manifold")
    assert got["precision"] == got["in_real_manifold"].mean()
    assert got["recall"] == got["in_fake_manifold"].mean()


def test_sample_level_k_list(backend, rng):
    real, fake = make_pair(rng, "lattice", 70, 60, 3)
    got = fastprdc.precision_recall(real, fake, k=[2, 4], sample_level=True, device=backend)
    for k in (2, 4):
        c = brute_prdc_counts(real, fake, k, "inclusive")
        assert_exact(got["in_real_manifold"][k], c["in_real_manifold"], f"k={k} in_real")
        assert_exact(got["in_fake_manifold"][k], c["in_fake_manifold"], f"k={k} in_fake")


def test_not_sample_level_has_no_arrays(rng):
    real, fake = make_pair(rng, "gauss", 50, 40, 3)
    got = fastprdc.precision_recall(real, fake)
    assert set(got) == {"precision", "recall"}


# ---------------------------------------------------------------------------
# sanity identities (docs/metrics.md section 2 / native boundary rule)
# ---------------------------------------------------------------------------


def test_identical_sets_inclusive_is_one(backend, dtype, rng):
    x = make_pair(rng, "repeats", 100, 2, 6, dtype)[0]
    got = fastprdc.precision_recall(x, x.copy(), k=3, device=backend)
    assert got == {"precision": 1.0, "recall": 1.0}


def test_identical_sets_strict_is_prdc(backend, rng):
    prdc = pytest.importorskip("prdc")
    x = gaussian(rng, 90, 5, np.float32)
    got = fastprdc.precision_recall(x, x.copy(), k=3, boundary="strict", device=backend)
    ref = prdc.compute_prdc(real_features=x, fake_features=x.copy(), nearest_k=3)
    assert got["precision"] == ref["precision"]
    assert got["recall"] == ref["recall"]
    _check_pr(got, x, x, 3, "strict", "identical strict")


def test_all_radii_zero_strict_scores_zero(backend):
    """Each row repeated k+1 times: every radius is 0. Strict gives 0 (the known
    complaint about prdc), inclusive gives 1."""
    base = np.random.default_rng(7).standard_normal((15, 4)).astype(np.float32)
    x = np.repeat(base, 4, axis=0)
    strict = fastprdc.precision_recall(x, x.copy(), k=3, boundary="strict", device=backend)
    incl = fastprdc.precision_recall(x, x.copy(), k=3, boundary="inclusive", device=backend)
    assert strict == {"precision": 0.0, "recall": 0.0}
    assert incl == {"precision": 1.0, "recall": 1.0}


def test_inclusive_at_least_strict(backend, rng):
    real, fake = make_pair(rng, "lattice", 110, 90, 3)
    incl = fastprdc.precision_recall(real, fake, k=4, device=backend)
    strict = fastprdc.precision_recall(real, fake, k=4, boundary="strict", device=backend)
    assert incl["precision"] >= strict["precision"]
    assert incl["recall"] >= strict["recall"]
    # lattice data has exact ties, so the two boundaries really differ here
    assert incl != strict


def test_disjoint_sets_score_zero(backend, rng):
    real = gaussian(rng, 50, 3, np.float64)
    fake = gaussian(rng, 40, 3, np.float64, loc=100.0)
    got = fastprdc.precision_recall(real, fake, device=backend)
    assert got == {"precision": 0.0, "recall": 0.0}


# ---------------------------------------------------------------------------
# reference data (tests/data/reference, float64_oracle blocks)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["pub_gauss8", "pub_lattice3", "pub_modes16"])
def test_reference_float64_oracle(backend, case):
    real, fake, ref = load_reference(case)
    oracle = ref["float64_oracle"]["prdc"]
    for boundary, tag in (("inclusive", "le"), ("strict", "lt")):
        multi = fastprdc.precision_recall(real, fake, k=[3, 5], boundary=boundary, device=backend)
        for k in (3, 5):
            exp = oracle[f"k{k}_{tag}"]
            got = fastprdc.precision_recall(real, fake, k=k, boundary=boundary, device=backend)
            assert got["precision"] == exp["precision"], (case, k, boundary)
            assert got["recall"] == exp["recall"], (case, k, boundary)
            assert multi["precision"][k] == exp["precision"]
            assert multi["recall"][k] == exp["recall"]


def test_brute_helper_reproduces_reference_oracle():
    """The test-side brute force itself reproduces the published float64 block."""
    for case in ("pub_gauss8", "pub_lattice3", "pub_modes16"):
        real, fake, ref = load_reference(case)
        for k in (3, 5):
            for boundary, tag in (("inclusive", "le"), ("strict", "lt")):
                m = brute_metrics(real, fake, k, boundary)
                exp = ref["float64_oracle"]["prdc"][f"k{k}_{tag}"]
                for name in ("precision", "recall", "density", "coverage"):
                    assert m[name] == exp[name], (case, k, tag, name)
