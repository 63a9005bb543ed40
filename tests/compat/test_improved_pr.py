"""fastprdc.compat.improved_precision_recall: kynkaat's ManifoldEstimator and the
StyleGAN2-ADA variant, against the reference data (kynkaat_port) and brute-force
renderings of the upstream code in exact arithmetic (the TF code cannot run here)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _helpers import brute_dist

from fastprdc.compat import improved_precision_recall as ipr
from fastprdc.compat._common import largest_preimage, round_down

from .conftest import gauss_pair, lattice_pair, ref_floats

# ---------------------------------------------------------------------------
# brute-force renderings of the upstream code (exact float64 distances)
# ---------------------------------------------------------------------------


def render_manifold(ref, nhood_sizes, clamp_to_percentile=None):
    """kynkaat's ManifoldEstimator.__init__: (D float32 (N, H), exact radii after pruning)."""
    ref = np.asarray(ref, dtype=np.float32)
    dself = brute_dist(ref)
    seq = np.arange(max(nhood_sizes) + 1)
    r = np.partition(dself, seq, axis=1)[:, list(nhood_sizes)]  # self included, by position
    dsq = np.square(r).astype(np.float32)
    if clamp_to_percentile is not None:
        thr = np.percentile(dsq, clamp_to_percentile, axis=0)
        pruned = np.greater(dsq, thr)
        dsq[pruned] = 0
        r = np.where(pruned, 0.0, r)
    return dsq, r


def render_evaluate(ref, evl, nhood_sizes, clamp_to_percentile=None, eps=1e-5):
    """kynkaat's evaluate: (int32 predictions, float32 realism, int32 nearest index)."""
    D, r = render_manifold(ref, nhood_sizes, clamp_to_percentile)
    d = brute_dist(np.asarray(evl, np.float32), np.asarray(ref, np.float32))  # (M, N)
    pred = (d[:, :, None] <= r[None, :, :]).any(axis=1).astype(np.int32)
    realism = np.max(r[:, 0] ** 2 / (d**2 + float(np.float32(eps))), axis=1).astype(np.float32)
    nearest = np.argmin(d, axis=1).astype(np.int32)
    return D, pred, realism, nearest


def render_stylegan2_ada(manifold, probes, k):
    """StyleGAN2-ADA compute_pr for one direction: fp16 features, fp16 distances."""
    m16 = np.asarray(manifold, np.float32).astype(np.float16)
    p16 = np.asarray(probes, np.float32).astype(np.float16)
    dself = brute_dist(m16.astype(np.float32)).astype(np.float16)
    kth = np.sort(dself.astype(np.float32), axis=1)[:, k].astype(np.float16)
    d = brute_dist(p16.astype(np.float32), m16.astype(np.float32)).astype(np.float16)
    return (d <= kth[None, :]).any(axis=1)


# ---------------------------------------------------------------------------
# reference data
# ---------------------------------------------------------------------------


def test_knn_precision_recall_features_reference(ref_case, capsys):
    kp = ref_case.ref["kynkaat_port"]
    state = ipr.knn_precision_recall_features(ref_case.real, ref_case.fake, nhood_sizes=[3])
    assert list(state) == ["precision", "recall"]
    for key in state:
        assert state[key].dtype == np.float64 and state[key].shape == (1,)
        assert state[key][0] == kp[key], key
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Evaluating k-NN precision and recall with {len(ref_case.real)} samples..."
    assert re.fullmatch(r"Evaluated k-NN precision and recall in: \S+s", out[1])
    assert len(out) == 2


def test_realism_code_reference(ref_case):
    kp = ref_case.ref["kynkaat_port"]["realism_code"]
    me = ipr.ManifoldEstimator(None, ref_case.real, clamp_to_percentile=kp["clamp_to_percentile"])
    pred, realism, nearest = me.evaluate(ref_case.fake, return_realism=True, return_neighbors=True)
    assert realism.dtype == np.float32 and realism.shape == (len(ref_case.fake),)
    expected = ref_floats(kp["scores"])
    np.testing.assert_allclose(realism, expected, rtol=2e-5, atol=0)
    assert int((me.D[:, 0] > 0).sum()) == kp["n_kept_radii"]
    f64 = ref_floats(
        ref_case.ref["float64_oracle"]["crosscheck_extras"]["realism_code_form_float64"]
    )
    np.testing.assert_allclose(realism, f64, rtol=1e-6, atol=0)
    assert pred.dtype == np.int32 and nearest.dtype == np.int32


def test_manifold_D_reference_radii(ref_case):
    radii = ref_case.ref["float64_oracle"]["real_radii"]
    me = ipr.ManifoldEstimator(None, ref_case.real, nhood_sizes=[3, 5])
    assert me.D.dtype == np.float32 and me.D.shape == (len(ref_case.real), 2)
    for h, k in enumerate((3, 5)):
        np.testing.assert_array_equal(
            me.D[:, h], np.square(ref_floats(radii[f"k{k}"])).astype(np.float32)
        )


# ---------------------------------------------------------------------------
# against the rendering of the code
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gauss", "lattice"])
@pytest.mark.parametrize("clamp", [None, 50, 80])
@pytest.mark.parametrize("nhood_sizes", [[3], [1, 3, 5], [5, 2, 2]])
def test_manifold_estimator_matches_rendering(kind, clamp, nhood_sizes):
    rng = np.random.default_rng(len(nhood_sizes) * 100 + (clamp or 0))
    ref, evl = (gauss_pair if kind == "gauss" else lattice_pair)(rng)
    me = ipr.ManifoldEstimator(None, ref, nhood_sizes=nhood_sizes, clamp_to_percentile=clamp)
    D, pred, realism, nearest = render_evaluate(ref, evl, nhood_sizes, clamp)
    np.testing.assert_array_equal(me.D, D)
    got_pred, got_realism, got_nearest = me.evaluate(evl, True, True)
    np.testing.assert_array_equal(got_pred, pred)
    assert got_pred.dtype == np.int32 and got_pred.shape == (len(evl), len(nhood_sizes))
    np.testing.assert_allclose(got_realism, realism, rtol=1e-6, atol=0)
    assert np.all(np.isfinite(got_realism)) and np.all(got_realism >= 0)
    np.testing.assert_array_equal(got_nearest, nearest)


def test_evaluate_return_orders():
    rng = np.random.default_rng(0)
    ref, evl = gauss_pair(rng, 60, 40, 4)
    me = ipr.ManifoldEstimator(ipr.DistanceBlock(4, 1), ref, 25000, 50000, [3])
    pred, realism, nearest = me.evaluate(evl, return_realism=True, return_neighbors=True)
    only_pred = me.evaluate(evl)
    assert isinstance(only_pred, np.ndarray)
    np.testing.assert_array_equal(only_pred, pred)
    p2, r2 = me.evaluate(evl, return_realism=True)
    p3, n3 = me.evaluate(evl, return_neighbors=True)
    np.testing.assert_array_equal(p3, pred)
    np.testing.assert_array_equal(p2, pred)
    np.testing.assert_array_equal(r2, realism)
    np.testing.assert_array_equal(n3, nearest)
    assert realism.dtype == np.float32 and nearest.dtype == np.int32
    assert me.nhood_sizes == [3] and me.num_nhoods == 1 and me.eps == 1e-5
    assert me.row_batch_size == 25000 and me.col_batch_size == 50000
    assert me._ref_features is ref


def test_pruned_balls_keep_duplicates():
    """A pruned ball has radius 0, not removed: it still holds exact copies of its centre."""
    ref = np.array([[0, 0], [0, 0], [0, 1], [0, 2], [10, 0], [10, 3], [20, 0], [20, 5]], np.float32)
    me = ipr.ManifoldEstimator(None, ref, nhood_sizes=[1], clamp_to_percentile=10)
    evl = np.array([[10, 0], [10, 0.5], [0, 0]], np.float32)
    pred, realism = me.evaluate(evl, return_realism=True)
    _, exp_pred, exp_realism, _ = render_evaluate(ref, evl, [1], 10)
    np.testing.assert_array_equal(pred, exp_pred)
    assert pred[0, 0] == 1 and pred[1, 0] == 0  # on a pruned centre: in (0 <= 0)
    np.testing.assert_allclose(realism, exp_realism, rtol=1e-6)


def test_distance_block_squared_float32():
    rng = np.random.default_rng(1)
    u, v = rng.standard_normal((7, 5)), rng.standard_normal((9, 5))
    got = ipr.DistanceBlock(5, 1).pairwise_distances(u, v)
    assert got.dtype == np.float32 and got.shape == (7, 9)
    exp = np.square(brute_dist(u.astype(np.float32), v.astype(np.float32))).astype(np.float32)
    np.testing.assert_array_equal(got, exp)


def test_fused_path_equals_estimator_path(capsys):
    """The one-run path of knn_precision_recall_features equals two ManifoldEstimators."""
    rng = np.random.default_rng(6)
    ref, evl = lattice_pair(rng)
    for sizes in ([3], [5, 1, 3], [2, 2]):
        state = ipr.knn_precision_recall_features(ref, evl, nhood_sizes=sizes)
        pr = ipr.ManifoldEstimator(None, ref, nhood_sizes=sizes).evaluate(evl).mean(axis=0)
        rc = ipr.ManifoldEstimator(None, evl, nhood_sizes=sizes).evaluate(ref).mean(axis=0)
        np.testing.assert_array_equal(state["precision"], pr)
        np.testing.assert_array_equal(state["recall"], rc)
        _, pred_p, _, _ = render_evaluate(ref, evl, sizes)
        np.testing.assert_array_equal(state["precision"], pred_p.mean(axis=0))
    capsys.readouterr()


def test_limits():
    rng = np.random.default_rng(2)
    ref, _ = gauss_pair(rng, 10, 5, 3)
    ipr.ManifoldEstimator(None, ref, nhood_sizes=[9])  # position 9 of a row of 10: allowed
    with pytest.raises(ValueError, match="out of bounds"):
        ipr.ManifoldEstimator(None, ref, nhood_sizes=[10])
    with pytest.raises(ValueError, match="variant"):
        ipr.ManifoldEstimator(None, ref, variant="tf")


# ---------------------------------------------------------------------------
# StyleGAN2-ADA variant (float16)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gauss", "lattice", "coarse"])
def test_stylegan2_ada_matches_fp16_rendering(kind, capsys):
    rng = np.random.default_rng({"gauss": 1, "lattice": 2, "coarse": 3}[kind])
    if kind == "gauss":
        real, fake = gauss_pair(rng, 150, 140, 8)
        real, fake = 30 * real, 30 * fake  # large values: fp16 rounding matters
    elif kind == "lattice":
        real, fake = lattice_pair(rng)
    else:  # many distances collapse onto the same fp16 value
        real = (np.round(40 * rng.standard_normal((160, 4))) / 7).astype(np.float32)
        fake = (np.round(40 * rng.standard_normal((120, 4))) / 7).astype(np.float32)
    for k in (1, 3):
        me = ipr.ManifoldEstimator(None, real, nhood_sizes=[k], variant="stylegan2-ada")
        np.testing.assert_array_equal(me.evaluate(fake)[:, 0],
                                      render_stylegan2_ada(real, fake, k))  # fmt: skip
        p, r = ipr.stylegan2_ada_pr(real, fake, nhood_size=k)
        exp_p = render_stylegan2_ada(real, fake, k)
        exp_r = render_stylegan2_ada(fake, real, k)
        assert type(p) is float and type(r) is float
        assert p == float(np.float32(exp_p.sum()) / np.float32(exp_p.size))
        assert r == float(np.float32(exp_r.sum()) / np.float32(exp_r.size))
        state = ipr.knn_precision_recall_features(real, fake, [k], variant="stylegan2-ada")
        assert state["precision"][0] == exp_p.mean() and state["recall"][0] == exp_r.mean()


def test_stylegan2_ada_float16_boundary():
    """Fakes just outside a ball whose distance rounds (in float16) onto the radius: in for
    the StyleGAN2-ADA variant, out for the exact kynkaat variant."""
    centres = np.array([[0.0, 8.0 * i] for i in range(6)])
    real = np.concatenate([centres, centres + np.array([1.0, 0.0])]).astype(np.float32)  # r_1 = 1
    # distance sqrt(1 + 2**-10) = 1.000488..., below the float16 midpoint 1 + 2**-11
    fake = (centres + np.array([-1.0, 2.0**-5])).astype(np.float32)
    assert np.float16(np.sqrt(1 + 2.0**-10)) == 1.0
    ada = ipr.ManifoldEstimator(None, real, nhood_sizes=[1], variant="stylegan2-ada")
    exact = ipr.ManifoldEstimator(None, real, nhood_sizes=[1])
    np.testing.assert_array_equal(ada.evaluate(fake)[:, 0], 1)
    np.testing.assert_array_equal(exact.evaluate(fake)[:, 0], 0)
    np.testing.assert_array_equal(ada.evaluate(fake)[:, 0], render_stylegan2_ada(real, fake, 1))
    # one float16 step further out is outside for both
    far = (centres + np.array([-1.0, 2.0**-4])).astype(np.float32)
    np.testing.assert_array_equal(ada.evaluate(far)[:, 0], render_stylegan2_ada(real, far, 1))
    np.testing.assert_array_equal(ada.evaluate(far)[:, 0], 0)


def test_stylegan2_ada_overflow():
    real = np.ones((5, 2), np.float32)
    real[3, 1] = 1e5
    with pytest.raises(ValueError, match="float16"):
        ipr.ManifoldEstimator(None, real, nhood_sizes=[1], variant="stylegan2-ada")


def test_largest_preimage_float16_exhaustive():
    u = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16)  # every finite value >= 0
    t = largest_preimage(u, np.float16)
    assert np.all(t.astype(np.float16) == u)
    above = np.nextafter(t, np.inf)
    with np.errstate(over="ignore"):
        assert np.all(above.astype(np.float16).astype(np.float64) > u.astype(np.float64))


def test_largest_preimage_and_round_down_float32():
    rng = np.random.default_rng(0)
    u = np.concatenate([
        rng.random(5000).astype(np.float32) * 10.0 ** rng.integers(-40, 38, 5000),
        np.array([0.0, 1.4e-45, 1.0, 2.0, 3.4028235e38], np.float32),
    ]).astype(np.float32)  # fmt: skip
    u = np.abs(u[np.isfinite(u)])
    t = largest_preimage(u, np.float32)
    assert np.all(t.astype(np.float32) == u)
    with np.errstate(over="ignore"):
        assert np.all(np.nextafter(t, np.inf).astype(np.float32) > u)
    r = rng.random(1000) * 100
    d = round_down(r, np.float32)
    assert np.all(d <= r) and np.all(d.astype(np.float32).astype(np.float64) == d)
    assert np.all(np.nextafter(d.astype(np.float32), np.float32(np.inf)).astype(np.float64) > r)
