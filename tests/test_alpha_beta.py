"""alpha-Precision, beta-Recall and authenticity (docs/metrics.md section 7) against a brute
force, the official Alaa et al. code and synthcity's ``AlphaPrecision``.

Native rules: quantiles are numpy's default (linear); the nearest fake of a real is the
lowest index among equally near fakes; a fake is unauthentic when ANY of its equally
nearest reals r has d(f, r) < rho_1(r). The reference codes pick among exact ties by their
tree search order and compute authenticity over the reals through the fake index; both
are reproduced here from fastprdc's primitives where they differ from the native rule."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _helpers import (
    DATA_KINDS,
    KIND_SHAPES,
    as_oracle,
    assert_same,
    brute_dist,
    brute_radii,
    common_oracle,
    make_pair,
)
from _oracles import (
    brute_alpha_beta,
    brute_authenticity_flags,
    delta,
    delta_synthcity,
    dist_to_centre,
)

import fastprdc

SCALARS = ("delta_precision_alpha", "delta_coverage_beta", "authenticity")


def _floats(values):
    return np.array([float(v) for v in values], dtype=np.float64)


def _check(got, real, fake, n_alphas, center, label):
    exp = brute_alpha_beta(real, fake, n_alphas, center)
    assert_same(got["alphas"], exp["alphas"], f"{label} alphas")
    # curves: count / n exactly (every decision identical)
    assert_same(got["alpha_precision_curve"], exp["alpha_precision_curve"], f"{label} P(alpha)")
    assert_same(got["beta_recall_curve"], exp["beta_recall_curve"], f"{label} R(beta)")
    assert np.asarray(got["alpha_precision_curve"]).dtype == np.float64
    for name in SCALARS:
        assert isinstance(got[name], float), f"{label} {name}: {type(got[name])}"
    assert got["authenticity"] == exp["authenticity"], label
    # the Deltas are float64 sums over the curves
    for name in ("delta_precision_alpha", "delta_coverage_beta"):
        assert got[name] == pytest.approx(exp[name], abs=1e-14), f"{label} {name}"
    if "authentic" in got:  # sample_level arrays
        assert_same(got["authentic"], exp["authentic"], f"{label} authentic")
        assert_same(got["nearest_fake_index"], exp["nearest_fake"], f"{label} nearest_fake_index")
        assert_same(got["nearest_fake_distance"], exp["nearest_fake_distance"], label)
        assert_same(got["real_center_distance"], exp["d_real_center"], f"{label} d(r, c)")
        assert_same(got["fake_center_distance"], exp["d_fake_center"], f"{label} d(f, c)")
        D = brute_dist(*common_oracle(real, fake))
        assert_same(got["nearest_real_index"], np.argmin(D, axis=0), f"{label} nearest real")
        assert_same(got["nearest_real_distance"], D.min(axis=0), f"{label} nearest real d")
        assert_same(got["real_radius"], brute_radii(as_oracle(real), 1), f"{label} rho_1")
        rho1 = brute_radii(as_oracle(real), 1)
        assert_same(got["nearest_fake_in_ball"], exp["nearest_fake_distance"] <= rho1, label)
    return exp


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_alpha_beta_vs_brute_force(backend, kind, dtype, rng):
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d, dtype)
    got = fastprdc.alpha_precision_beta_recall(real, fake, device=backend)
    assert "authentic" not in got
    _check(got, real, fake, 30, None, kind)
    got = fastprdc.alpha_precision_beta_recall(real, fake, sample_level=True, device=backend)
    _check(got, real, fake, 30, None, f"{kind} sample_level")


@pytest.mark.parametrize("n_alphas", [2, 7, 101])
def test_alpha_beta_n_alphas_and_center(backend, n_alphas, rng):
    real, fake = make_pair(rng, "lattice", 110, 90, 3)
    center = np.array([0.25, -0.5, 0.125])  # exactly representable, off the data centre
    got = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=n_alphas, center=center,
                                               device=backend)  # fmt: skip
    assert len(got["alphas"]) == n_alphas
    _check(got, real, fake, n_alphas, center, f"n_alphas={n_alphas}")


def test_info_tells_given_centres_apart(rng):
    """A saved run records which centre it used (shape and digest of its float64 values)."""
    real, fake = make_pair(rng, "gauss", 60, 50, 3)

    def recorded(center):
        params = {"alpha_precision_beta_recall": {"center": center}}
        res = fastprdc.evaluate(real, fake, metrics=["alpha_precision_beta_recall"], params=params)
        return res.info["params"]["alpha_precision_beta_recall"]["center"]

    one = recorded(np.array([1.0, 2.0, 3.0]))
    assert re.fullmatch(r"array\(3,\) sha256:[0-9a-f]{16}", one), one
    assert recorded(np.array([1, 2, 3], dtype=np.int16)) == one  # the same values
    assert recorded(np.array([1.0, 2.0, 3.5])) != one


def test_default_center_is_mean_of_real(backend, rng):
    real, fake = make_pair(rng, "gauss", 90, 80, 5)
    a = fastprdc.alpha_precision_beta_recall(real, fake, device=backend)
    b = fastprdc.alpha_precision_beta_recall(real, fake, center=as_oracle(real).mean(axis=0),
                                             device=backend)  # fmt: skip
    for name in ("alpha_precision_curve", "beta_recall_curve", *SCALARS):
        assert_same(a[name], b[name], name)


@pytest.mark.parametrize(
    ("center", "fragment"),
    [
        (np.array([1, 2, 3], dtype=np.longdouble) + np.longdouble(2.0) ** -60, "cannot hold"),
        (np.array([2**60 + 1, 0, 0]), "integers above 2^53"),
        (np.array([1, 2, 2**60 + 1], dtype=object), "cannot represent exactly"),
        (np.array([1 + 1j, 2, 3]), "must hold real numbers"),
        (["1", "2", "3"], "must hold real numbers"),
        ([[0.0, 1.0, 2.0]], "must be a 1-D array"),
        ([0.0, np.inf, 1.0], "NaN or inf"),
    ],
)
def test_a_center_is_held_to_the_rules_of_features(center, fragment, rng):
    """A given centre is never rounded either: refused when float64 would change a value."""
    wide = isinstance(center, np.ndarray) and center.dtype == np.longdouble
    if wide and np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("longdouble is float64 on this platform")
    real, fake = make_pair(rng, "gauss", 40, 30, 3)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        fastprdc.alpha_precision_beta_recall(real, fake, center=center)


def test_alpha_precision_curve_endpoints(backend, rng):
    """alpha = 1: every fake within the largest real centre distance counts; alpha = 0:
    only fakes at most as far as the closest real."""
    real, fake = make_pair(rng, "gauss", 80, 70, 4)
    got = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=11, device=backend)
    exp = brute_alpha_beta(real, fake, 11)
    assert got["alphas"][0] == 0.0 and got["alphas"][-1] == 1.0
    dr, df = exp["d_real_center"], exp["d_fake_center"]
    assert got["alpha_precision_curve"][-1] == (df <= dr.max()).sum() / 70
    assert got["alpha_precision_curve"][0] == (df <= dr.min()).sum() / 70


# ---------------------------------------------------------------------------
# authenticity: the any-rule, row-order independence, copies of reals
# ---------------------------------------------------------------------------


def test_authenticity_any_equally_nearest_real(backend):
    """The fake at the origin has two equally near reals: r0 (index 0) with a close
    neighbour (rho_1 = 0.5 < 1) and r1 with a far one (rho_1 = 3 > 1). Under the any-rule
    the fake is unauthentic; looking at the lowest index only would call it authentic."""
    real = np.array([[1, 0], [-1, 0], [1.5, 0], [-4, 0], [10, 10], [10, 11]], np.float64)
    fake = np.array([[0, 0], [10, 10.5], [30, 30]], np.float64)
    got = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=5, sample_level=True,
                                               device=backend)  # fmt: skip
    flags = brute_authenticity_flags(real, fake)
    assert flags.tolist() == [False, False, True]
    assert got["authenticity"] == 1 / 3
    # the same reals in another order: same answer
    perm = np.array([1, 0, 3, 2, 5, 4])
    again = fastprdc.alpha_precision_beta_recall(real[perm], fake, n_alphas=5, device=backend)
    assert again["authenticity"] == 1 / 3
    arrays = [v for v in got.values() if isinstance(v, np.ndarray) and v.dtype == np.bool_
              and v.shape == (3,)]  # fmt: skip
    assert any(np.array_equal(a, flags) or np.array_equal(a, ~flags) for a in arrays), (
        "no per-fake authenticity flags in the sample-level output"
    )


@pytest.mark.parametrize("n_tied", [3, 4, 5, 9, 16])
def test_authenticity_deep_ties(backend, n_tied):
    """A fake with many equally near reals (+-e_i at distance 1 in 8-D) where only the
    LAST of them (highest index) has no close companion (rho_1 = sqrt(2) > 1): the fake
    is unauthentic, whatever the size of the tie set."""
    d = 8
    dirs = np.concatenate([np.eye(d), -np.eye(d)])[:n_tied]
    companions = 1.1 * dirs[:-1]  # 0.1 away from every tied real but the last
    real = np.concatenate([companions, dirs, [[50.0] * d, [51.0] * d]]).astype(np.float64)
    fake = np.array([[0.0] * d, [50.0] * d, [-40.0] * d])
    got = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=3, sample_level=True,
                                               device=backend)  # fmt: skip
    flags = brute_authenticity_flags(real, fake)
    assert flags.tolist() == [False, False, True]
    assert_same(got["authentic"], flags, "authentic")
    # the tied reals first (lowest indices): the qualifying one is still the last
    perm = np.r_[np.arange(n_tied - 1, 2 * n_tied - 1), np.arange(n_tied - 1), [-2, -1]]
    got2 = fastprdc.alpha_precision_beta_recall(real[perm], fake, n_alphas=3, device=backend)
    assert got2["authenticity"] == got["authenticity"] == 1 / 3


def test_authenticity_row_order_independent(backend, rng):
    real, fake = make_pair(rng, "lattice", 140, 120, 3)
    base = fastprdc.alpha_precision_beta_recall(real, fake, device=backend)
    for _ in range(2):
        perm = rng.permutation(real.shape[0])
        got = fastprdc.alpha_precision_beta_recall(real[perm], fake, device=backend)
        assert got["authenticity"] == base["authenticity"]
        assert_same(got["alpha_precision_curve"], base["alpha_precision_curve"], "P(alpha)")


def test_copies_of_reals_are_unauthentic(backend, dtype, rng):
    """A fake that is an exact copy of a real whose nearest other real is at a positive
    distance is unauthentic (d = 0 < rho_1)."""
    real = make_pair(rng, "gauss", 100, 2, 6, dtype)[0]
    fake = make_pair(rng, "gauss", 2, 80, 6, dtype)[1]
    copies = rng.choice(100, 25, replace=False)
    fake[:25] = real[copies]
    got = fastprdc.alpha_precision_beta_recall(real, fake, sample_level=True, device=backend)
    flags = brute_authenticity_flags(real, fake)
    assert not flags[:25].any()
    assert got["authenticity"] == int(flags.sum()) / 80 <= 55 / 80


def test_beta_nearest_fake_lowest_index(backend):
    """Two equally near fakes: g = the lower index (here the one far from the fake mean,
    so t_i and with it R(beta) depends on the choice)."""
    real = np.array([[0, 0], [0.5, 0], [50, 50], [50, 51]], np.float64)
    fake = np.array([[0, 1], [0, -1], [0, -1.2], [0, -1.3], [0, -1.4]], np.float64)
    got = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=6, device=backend)
    _check(got, real, fake, 6, None, "beta ties")
    exp = brute_alpha_beta(real, fake, 6)
    assert exp["nearest_fake"][0] == 0


# ---------------------------------------------------------------------------
# reference data
# ---------------------------------------------------------------------------


def _official_authenticity(real, fake, backend):
    """The official / synthcity authenticity as written, from fastprdc primitives: mean over
    the reals i of ``radius_1(real[g_i]) < d(r_i, g_i)`` -- the real-side radius indexed
    with the *fake* index g_i (needs M <= N). g_i: lowest index among equal distances."""
    d_g, g = fastprdc.primitives.knn(real, fake, k=1, device=backend)
    rho1 = np.asarray(fastprdc.primitives.kth_radii(real, 1, device=backend))
    return float(np.mean(rho1[g[:, 0]] < d_g[:, 0]))


def test_reference_alaa_official(reference_case, backend):
    case, real, fake, ref = reference_case
    off = ref["alaa_official"]
    center = _floats(off["emb_center"])
    got = fastprdc.alpha_precision_beta_recall(real, fake, center=center, device=backend)
    assert_same(got["alphas"], _floats(off["alphas"]), "alphas")
    # official curves: np.mean of float32 masks = float32(count / n), exactly
    p32 = np.float32(got["alpha_precision_curve"]).astype(np.float64)
    b32 = np.float32(got["beta_recall_curve"]).astype(np.float64)
    assert_same(p32, _floats(off["alpha_pc"]), f"{case} alpha_pc")
    # the official Delta from float32 curves
    assert abs(delta(got["alphas"], p32) - off["Dpa"]) <= 1e-12
    if case != "pub_lattice3":
        assert_same(b32, _floats(off["beta_cv"]), f"{case} beta_cv")
        assert abs(delta(got["alphas"], b32) - off["Dcb"]) <= 1e-12
        # authenticity as the official code writes it, reproduced from the primitives
        assert _official_authenticity(real, fake, backend) == off["auten"]
    else:
        # 105 reals have several equidistant nearest fakes; sklearn's KD-tree picks a
        # non-lowest one for 49 of them. With the lowest index (native) the README gives
        # authenticity 0.41 (reference 0.395) and Dcb 0.683377 (reference 0.688751).
        assert _official_authenticity(real, fake, backend) == 0.41 != off["auten"] == 0.395
        assert abs(delta(got["alphas"], b32) - 0.683377) < 5e-7
        assert np.abs(b32 - _floats(off["beta_cv"])).max() <= 0.02 + 1e-7
    # the default centre is the reference's emb_center (float64 mean of the reals), to the bit
    default = fastprdc.alpha_precision_beta_recall(real, fake, sample_level=True, device=backend)
    assert_same(default["real_center_distance"], dist_to_centre(real, center), "d(r, c)")
    assert_same(default["alpha_precision_curve"], got["alpha_precision_curve"], "default c")
    # native authenticity: the paper's rule over the fakes (any equally-nearest real)
    flags = brute_authenticity_flags(real, fake)
    assert got["authenticity"] == int(flags.sum()) / fake.shape[0]
    assert got["authenticity"] == {"pub_gauss8": 0.652, "pub_lattice3": 0.6,
                                   "pub_modes16": 0.7}[case]  # fmt: skip


def test_reference_synthcity(reference_case, backend):
    """synthcity (first n = min(N, M) rows, float64 count/n curves, Delta normalised by
    sum(alpha)) and the official code on the same truncated rows."""
    case, real, fake, ref = reference_case
    sc = ref["synthcity_alpha_precision"]
    n = sc["rows_used"]
    real_n, fake_n = real[:n], fake[:n]
    center = _floats(sc["emb_center"])
    assert_same(center, as_oracle(real_n).mean(axis=0), "emb_center = mean of the rows used")
    got = fastprdc.alpha_precision_beta_recall(real_n, fake_n, center=center, device=backend)
    assert_same(got["alpha_precision_curve"], _floats(sc["alpha_pc"]), f"{case} alpha_pc")
    assert abs(delta_synthcity(got["alphas"], got["alpha_precision_curve"]) - sc["Dpa"]) <= 1e-12
    if case != "pub_lattice3":
        assert_same(got["beta_recall_curve"], _floats(sc["beta_cv"]), f"{case} beta_cv")
        assert abs(delta_synthcity(got["alphas"], got["beta_recall_curve"]) - sc["Dcb"]) <= 1e-12
        assert _official_authenticity(real_n, fake_n, backend) == sc["auten"]
        trunc = ref["alaa_official_truncated"]
        p32 = np.float32(got["alpha_precision_curve"]).astype(np.float64)
        b32 = np.float32(got["beta_recall_curve"]).astype(np.float64)
        assert_same(p32, _floats(trunc["alpha_pc"]), "official truncated alpha_pc")
        assert_same(b32, _floats(trunc["beta_cv"]), "official truncated beta_cv")
        assert abs(delta(got["alphas"], p32) - trunc["Dpa"]) <= 1e-12
        assert abs(delta(got["alphas"], b32) - trunc["Dcb"]) <= 1e-12
        assert _official_authenticity(real_n, fake_n, backend) == trunc["auten"]
    else:
        # lowest-index tie breaking instead of the KD-tree's choice (README): 0.693931
        assert abs(delta_synthcity(got["alphas"], got["beta_recall_curve"]) - 0.693931) < 5e-7
    # the two normalisations of the same curve
    a = got["alphas"]
    P = got["alpha_precision_curve"]
    assert got["delta_precision_alpha"] == pytest.approx(delta(a, P), abs=1e-14)
    assert delta_synthcity(a, P) == pytest.approx(
        1 - (1 - got["delta_precision_alpha"]) * (len(a) - 1) / (2 * np.sum(a)), abs=1e-14
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_width_one_mean_is_the_same_everywhere(backend, dtype):
    """One feature column: numpy would sum it pairwise, wider matrices row by row; the mean
    (and so every centre distance and the decisions on them) is a running sum on every backend.
    Here the fake mirrors the real farthest from the mean exactly onto the other side, so a
    last-bit change of the mean moves that fake across the alpha = 1 radius."""
    rng = np.random.default_rng(1)
    real = rng.normal(size=(17, 1)).astype(dtype)
    total = 0.0
    for v in real[:, 0]:
        total += float(v)
    mean = total / 17
    far = int(np.argmax(np.abs(real[:, 0].astype(np.float64) - mean)))
    fake = np.array([[2 * mean - float(real[far, 0])], [0.0]])
    got = fastprdc.alpha_precision_beta_recall(real, fake, sample_level=True, device=backend)
    want = np.abs(fake[:, 0] - mean)
    assert_same(got["fake_center_distance"], want, "distance to the running-sum mean")


def test_authenticity_of_identical_rows_needs_no_deeper_lists(backend):
    """Every real and fake identical: every radius is 0, so no tied real can flag a fake
    (0 < 0 is false) and the tie completion must decide every fake from the first list, not
    by deepening it to every real. Checked on the engine's tie step directly (a deeper list
    asked for is a failure) and end to end against the numpy oracle."""
    from fastprdc._engine import nearest_ball_ties

    def no_deeper(rows: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        raise AssertionError(f"deeper lists asked for {len(rows)} rows at depth {depth}")

    dist = np.zeros((6, 3))
    idx = np.tile(np.arange(3), (6, 1))
    rho = np.zeros(40)
    assert not nearest_ball_ties(dist, idx, rho, 40, no_deeper).any()
    # one real with a positive radius: rows nearer than it still deepen
    rho[-1] = 1.0
    asked = []

    def deeper(rows: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        asked.append(depth)
        return np.zeros((len(rows), depth)), np.tile(np.arange(40 - depth, 40), (len(rows), 1))

    assert nearest_ball_ties(dist, idx, rho, 40, deeper).all() and asked == [6]

    real, fake = np.ones((300, 4)), np.ones((200, 4))
    got = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=3, device=backend)
    exp = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=3, device="numpy")
    assert got["authenticity"] == exp["authenticity"] == 1.0
