"""Density and coverage (docs/metrics.md section 2) against a brute-force distance
matrix built in the test, the sanity identities, and the reference float64 blocks."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    DATA_KINDS,
    KIND_SHAPES,
    assert_density,
    assert_exact,
    assert_fraction,
    assert_k_list_matches_single_k,
    brute_prdc_counts,
    gaussian,
    is_int_dtype,
    load_reference,
    make_pair,
)

import fastprdc
from fastprdc import primitives as P


def _check_dc(got, real, fake, k, boundary, label=""):
    c = brute_prdc_counts(real, fake, k, boundary)
    assert_density(got["density"], int(c["n_real_balls"].sum()), k, c["M"], f"{label} density")
    assert_fraction(got["coverage"], int(c["covered"].sum()), c["N"], f"{label} coverage")
    return c


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_density_coverage_vs_brute_force(backend, kind, dtype, order, boundary, rng):
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d, dtype, order)
    got = fastprdc.density_coverage(real, fake, k=5, boundary=boundary, device=backend)
    assert set(got) == {"density", "coverage"}
    _check_dc(got, real, fake, 5, boundary, kind)


def test_default_k_is_5_and_inclusive(backend, rng):
    real, fake = make_pair(rng, "lattice", 90, 80, 3)
    got = fastprdc.density_coverage(real, fake, device=backend)
    _check_dc(got, real, fake, 5, "inclusive", "defaults")


@pytest.mark.parametrize("k_kind", ["one", "max"])
def test_extreme_k(backend, boundary, k_kind, rng):
    real, fake = make_pair(rng, "repeats", 60, 45, 5)
    k = 1 if k_kind == "one" else 59  # only real radii are needed: k < N
    got = fastprdc.density_coverage(real, fake, k=k, boundary=boundary, device=backend)
    _check_dc(got, real, fake, k, boundary, f"k={k}")


def test_fewer_fakes_than_k(backend, rng):
    """Density/coverage need no fake radii, so M <= k is allowed (M >= 2)."""
    real = gaussian(rng, 40, 3, np.float64)
    fake = gaussian(rng, 3, 3, np.float64)
    got = fastprdc.density_coverage(real, fake, k=5, device=backend)
    _check_dc(got, real, fake, 5, "inclusive", "M<k")


def test_k_list_equals_separate_calls(backend, boundary, rng):
    real, fake = make_pair(rng, "lattice", 120, 100, 3)
    ks = [7, 1, 5]
    got = assert_k_list_matches_single_k(
        fastprdc.density_coverage, real, fake, ks, ("density", "coverage"),
        boundary=boundary, device=backend,
    )  # fmt: skip
    for k in ks:
        _check_dc({n: got[n][k] for n in got}, real, fake, k, boundary, f"list k={k}")


def test_sample_level(backend, boundary, rng):
    real, fake = make_pair(rng, "repeats", 80, 70, 4)
    got = fastprdc.density_coverage(
        real, fake, k=5, boundary=boundary, sample_level=True, device=backend
    )
    c = _check_dc(got, real, fake, 5, boundary, "sample_level")
    assert is_int_dtype(got["n_real_balls"]) and got["n_real_balls"].shape == (70,)
    assert got["covered"].dtype == np.bool_ and got["covered"].shape == (80,)
    assert_exact(got["n_real_balls"], c["n_real_balls"], "n_real_balls")
    assert_exact(got["covered"], c["covered"], "covered")


def test_sample_level_k_list(backend, rng):
    real, fake = make_pair(rng, "lattice", 70, 60, 3)
    got = fastprdc.density_coverage(
        real, fake, k=[2, 5], boundary="strict", sample_level=True, device=backend
    )
    for k in (2, 5):
        c = brute_prdc_counts(real, fake, k, "strict")
        assert_exact(got["n_real_balls"][k], c["n_real_balls"], f"k={k} n_real_balls")
        assert_exact(got["covered"][k], c["covered"], f"k={k} covered")


# ---------------------------------------------------------------------------
# sanity identities
# ---------------------------------------------------------------------------


def test_identical_sets_inclusive_full_coverage(backend, dtype, rng):
    x = make_pair(rng, "repeats", 100, 2, 6, dtype)[0]
    got = fastprdc.density_coverage(x, x.copy(), k=5, device=backend)
    assert got["coverage"] == 1.0
    _check_dc(got, x, x, 5, "inclusive", "identical")


def test_identical_sets_strict_is_prdc(backend, rng):
    prdc = pytest.importorskip("prdc")
    x = gaussian(rng, 90, 5, np.float32)
    got = fastprdc.density_coverage(x, x.copy(), k=5, boundary="strict", device=backend)
    ref = prdc.compute_prdc(real_features=x, fake_features=x.copy(), nearest_k=5)
    assert got["coverage"] == ref["coverage"]
    assert got["density"] == pytest.approx(ref["density"], rel=4e-16, abs=0)


def test_all_radii_zero(backend):
    """Each row repeated 6 times (k=5): every radius is 0. Strict: nothing is in
    any ball. Inclusive: every fake is in exactly its 6 copies' balls."""
    base = np.random.default_rng(3).standard_normal((12, 3))
    x = np.repeat(base, 6, axis=0)
    strict = fastprdc.density_coverage(x, x.copy(), k=5, boundary="strict", device=backend)
    assert strict == {"density": 0.0, "coverage": 0.0}
    incl = fastprdc.density_coverage(x, x.copy(), k=5, device=backend, sample_level=True)
    assert incl["coverage"] == 1.0
    assert_exact(incl["n_real_balls"], np.full(72, 6), "n_real_balls")
    assert incl["density"] == (6 * 72) / (5 * 72)


def test_inclusive_at_least_strict(backend, rng):
    real, fake = make_pair(rng, "lattice", 110, 90, 3)
    incl = fastprdc.density_coverage(real, fake, k=4, device=backend)
    strict = fastprdc.density_coverage(real, fake, k=4, boundary="strict", device=backend)
    assert incl["density"] > strict["density"]  # lattice ties: strictly more
    assert incl["coverage"] >= strict["coverage"]


def test_same_distribution_expectations(rng):
    """E[density] = 1 and E[coverage] = 1 - prod (N-t)/(N+M-t) (docs/metrics.md 2)."""
    N, M, k = 600, 600, 5
    real = gaussian(rng, N, 4, np.float64)
    fake = gaussian(rng, M, 4, np.float64)
    got = fastprdc.density_coverage(real, fake, k=k)
    expected_cov = 1 - np.prod([(N - t) / (N + M - t) for t in range(1, k + 1)])
    assert abs(got["density"] - 1.0) < 0.12
    assert abs(got["coverage"] - expected_cov) < 0.03


# ---------------------------------------------------------------------------
# reference data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["pub_gauss8", "pub_lattice3", "pub_modes16"])
def test_reference_float64_oracle(backend, case):
    real, fake, ref = load_reference(case)
    fo = ref["float64_oracle"]
    N, M = real.shape[0], fake.shape[0]
    for boundary, tag in (("inclusive", "le"), ("strict", "lt")):
        multi = fastprdc.density_coverage(
            real, fake, k=[3, 5], boundary=boundary, sample_level=True, device=backend
        )
        for k in (3, 5):
            exp = fo["prdc"][f"k{k}_{tag}"]
            got = fastprdc.density_coverage(real, fake, k=k, boundary=boundary, device=backend)
            # the reference density is count / (k M), bit for bit
            assert got["density"] == exp["density"], (case, k, boundary)
            assert got["coverage"] == exp["coverage"], (case, k, boundary)
            assert multi["density"][k] == exp["density"]
            assert multi["coverage"][k] == exp["coverage"]
            counts = multi["n_real_balls"][k]
            assert counts.sum() == round(exp["density"] * k * M)
            assert multi["covered"][k].sum() == round(exp["coverage"] * N)
    inc5 = fastprdc.density_coverage(real, fake, k=5, sample_level=True, device=backend)
    assert_exact(
        inc5["n_real_balls"],
        np.array(fo["fake_in_real_balls_count_k5_le"]),
        "fake_in_real_balls_count_k5_le",
    )


@pytest.mark.parametrize("case", ["pub_gauss8", "pub_lattice3", "pub_modes16"])
def test_reference_radii(backend, case):
    """float64_oracle real_radii / fake_radii. The reference block summed the squared
    differences in another order than our oracle, so on non-lattice data the values
    may differ in the last bit (measured: <= 3.4e-16 relative); on lattice data every
    sum is exact and the radii must match bit for bit."""
    real, fake, ref = load_reference(case)
    fo = ref["float64_oracle"]
    for x, key in ((real, "real_radii"), (fake, "fake_radii")):
        got = P.kth_radii(x, [3, 5], device=backend)
        for k in (3, 5):
            exp = np.array(fo[key][f"k{k}"])
            if case == "pub_lattice3":
                assert_exact(got[k], exp, f"{case} {key} k={k}")
            else:
                np.testing.assert_allclose(got[k], exp, rtol=1e-15, atol=0)
    nearest = P.knn(real, fake, k=1, device=backend)[0][:, 0]
    exp = np.array(fo["real_nearest_fake_distance"])
    if case == "pub_lattice3":
        assert_exact(nearest, exp, "real_nearest_fake_distance")
    else:
        np.testing.assert_allclose(nearest, exp, rtol=1e-15, atol=0)
