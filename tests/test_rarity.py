"""Rarity score (docs/metrics.md section 4) against a brute force and the Rarity Score reference.

Native: the smallest k-NN radius among the real balls containing the fake, NaN outside
every ball (plus the count of such fakes), either boundary. The reference code uses the
strict boundary and returns 0 outside every ball.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    DATA_KINDS,
    KIND_SHAPES,
    as_oracle,
    assert_same,
    brute_dist,
    brute_radii,
    make_pair,
)
from _oracles import brute_rarity

import fastprdc


def _floats(values):
    return np.array([float(v) for v in values], dtype=np.float64)


def _check(got, real, fake, k, boundary, label):
    exp, n_out = brute_rarity(real, fake, k, boundary)
    assert got["rarity"].dtype == np.float64
    assert_same(got["rarity"], exp, f"{label} rarity")
    assert isinstance(got["n_out_of_ball"], int) and got["n_out_of_ball"] == n_out, label
    assert int(np.isnan(got["rarity"]).sum()) == n_out
    if n_out < exp.size:
        assert got["mean_in_ball"] == pytest.approx(float(np.nanmean(exp)), rel=1e-14, abs=0)
    return exp


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_rarity_vs_brute_force(backend, kind, dtype, boundary, rng):
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d, dtype)
    got = fastprdc.rarity_score(real, fake, k=3, boundary=boundary, device=backend)
    _check(got, real, fake, 3, boundary, kind)


def test_rarity_default_is_inclusive(backend, rng):
    real, fake = make_pair(rng, "lattice", 100, 90, 3)
    got = fastprdc.rarity_score(real, fake, device=backend)
    _check(got, real, fake, 3, "inclusive", "default")


def test_rarity_k_list(backend, boundary, rng):
    real, fake = make_pair(rng, "repeats", 100, 80, 6)
    ks = [1, 2, 5]
    got = fastprdc.rarity_score(real, fake, k=ks, boundary=boundary, device=backend)
    for k in ks:
        single = fastprdc.rarity_score(real, fake, k=k, boundary=boundary, device=backend)
        assert_same(got["rarity"][k], single["rarity"], f"k={k}")
        assert got["n_out_of_ball"][k] == single["n_out_of_ball"]
        _check({n: got[n][k] for n in got}, real, fake, k, boundary, f"list k={k}")


def test_rarity_zero_radius_balls(backend):
    """A zero-radius ball (k+1 duplicates) holds its duplicates when inclusive, nothing
    when strict."""
    real = np.array([[0, 0], [0, 0], [0, 0], [5, 0], [5, 1], [6, 0], [9, 9]], np.float32)
    fake = np.array([[0, 0], [5, 0.5], [100, 100]], np.float32)
    inc = fastprdc.rarity_score(real, fake, k=2, boundary="inclusive", device=backend)
    st = fastprdc.rarity_score(real, fake, k=2, boundary="strict", device=backend)
    assert inc["rarity"][0] == 0.0
    assert np.isnan(st["rarity"][0]) or st["rarity"][0] > 0  # only larger balls may hold it
    assert np.isnan(inc["rarity"][2]) and np.isnan(st["rarity"][2])
    _check(inc, real, fake, 2, "inclusive", "zero radius inclusive")
    _check(st, real, fake, 2, "strict", "zero radius strict")


def test_rarity_equals_precision_membership(backend, boundary, rng):
    """Finite rarity <-> the fake is in the real manifold (precision's per-sample flag)."""
    real, fake = make_pair(rng, "lattice", 120, 110, 3)
    rar = fastprdc.rarity_score(real, fake, k=3, boundary=boundary, device=backend)
    pr = fastprdc.precision_recall(real, fake, k=3, boundary=boundary, sample_level=True,
                                   device=backend)  # fmt: skip
    assert_same(~np.isnan(rar["rarity"]), pr["in_real_manifold"], "finite <-> in manifold")
    assert rar["n_out_of_ball"] == round((1 - pr["precision"]) * fake.shape[0])


# ---------------------------------------------------------------------------
# reference: hichoe95/Rarity-Score (strict boundary, 0 outside every ball)
# ---------------------------------------------------------------------------


def test_reference_rarity_strict(reference_case, backend):
    case, real, fake, ref = reference_case
    exp = _floats(ref["rarity"]["scores"])
    got = fastprdc.rarity_score(real, fake, k=3, boundary="strict", device=backend)
    out = np.isnan(got["rarity"])
    # the reference's 0 (out of every ball) <-> native NaN
    assert_same(out, exp == 0, "out-of-ball pattern")
    assert got["n_out_of_ball"] == ref["rarity"]["n_out_of_ball"]
    assert np.abs(got["rarity"][~out] - exp[~out]).max() <= 1e-12
    assert got["rarity"][~out].mean() == pytest.approx(ref["rarity"]["mean_in_ball_score"],
                                                       rel=1e-12)  # fmt: skip
    if case == "pub_lattice3":
        assert out[146]  # on four zero-radius reals: in no ball under `<`


def test_reference_strict_vs_inclusive_is_the_boundary(reference_case, backend):
    """Inclusive and strict rarity differ exactly on fakes lying on some ball's surface
    (d == r exactly, lattice3 only): every other fake has the same score, and a fake that
    differs gets, inclusive, the radius of a ball it touches (or of a smaller one)."""
    case, real, fake, ref = reference_case
    inc = fastprdc.rarity_score(real, fake, k=3, boundary="inclusive", device=backend)
    st = fastprdc.rarity_score(real, fake, k=3, boundary="strict", device=backend)
    dist = brute_dist(as_oracle(real), as_oracle(fake))
    r = brute_radii(as_oracle(real), 3)
    on_surface = dist == r[:, None]  # (N, M)
    touches = on_surface.any(axis=0)
    a, b = inc["rarity"], st["rarity"]
    differs = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    assert not (differs & ~touches).any()
    # the surface radius is the smallest containing ball inclusive, for each differing fake
    for j in np.flatnonzero(differs):
        assert a[j] == r[on_surface[:, j]].min()
        assert np.isnan(b[j]) or b[j] > a[j]
    n_ties = ref["float64_oracle"]["tie_stats"]["k3_real_balls_exact"]
    assert int(on_surface.sum()) == n_ties
    if case == "pub_lattice3":
        assert differs.sum() > 0
        assert inc["n_out_of_ball"] < st["n_out_of_ball"] == ref["rarity"]["n_out_of_ball"]
        # inclusive = 1 - exact `<=` precision
        prec_le = ref["float64_oracle"]["prdc"]["k3_le"]["precision"]
        assert inc["n_out_of_ball"] == round((1 - prec_le) * fake.shape[0])
    else:
        assert not differs.any()
