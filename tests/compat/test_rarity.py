"""fastprdc.compat.rarity.MANIFOLD against the reference data (the Rarity Score code run on
the reference cases) and a brute-force rendering of the upstream class."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from _helpers import brute_dist

from fastprdc.compat.rarity import MANIFOLD

from .conftest import gauss_pair, lattice_pair, ref_floats


def render_rarity(real, samples, k):
    """The upstream class in exact arithmetic: sorted rows (self included), strict test."""
    real = np.asarray(real, np.float64)
    samples = np.asarray(samples, np.float64)
    r = np.sort(brute_dist(real), axis=1)[:, k]
    dist_radi = r[:, None] - brute_dist(real, samples)
    out_ball_ids = np.where(~(dist_radi > 0).any(axis=0))[0]
    valid = dist_radi > 0
    scores = np.zeros(samples.shape[0])
    for i in range(samples.shape[0]):
        if i not in out_ball_ids:
            scores[i] = r[valid[:, i]].min()
    scores_ids = (-scores).argsort()[: samples.shape[0] - len(out_ball_ids)]
    return dist_radi, r, out_ball_ids, scores, scores_ids


def test_rarity_reference(ref_case, capsys):
    rr = ref_case.ref["rarity"]
    m = MANIFOLD(real_features=ref_case.real, fake_features=ref_case.fake)
    out = capsys.readouterr().out
    assert out == "Pre-processing pairwise diatances ...\nInitialization is DONE !\n"
    scores, ids = m.rarity(k=rr["k"])
    expected = ref_floats(rr["scores"])
    assert scores.dtype == np.float64 and scores.shape == expected.shape
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    n_in = len(ref_case.fake) - rr["n_out_of_ball"]
    assert ids.dtype == np.int64 and len(ids) == n_in
    # in-ball samples by decreasing score: the reference scores give the same order
    # wherever they are not tied
    np.testing.assert_array_equal(expected[ids], np.sort(expected[expected > 0])[::-1])
    assert np.all(scores[ids] > 0)
    _, r, out_ids = m.is_in_ball(k=rr["k"], samples=ref_case.fake)
    assert len(out_ids) == rr["n_out_of_ball"]
    np.testing.assert_array_equal(out_ids, np.flatnonzero(expected == 0))
    radii = ref_floats(ref_case.ref["float64_oracle"]["real_radii"]["k3"])
    np.testing.assert_allclose(r, radii, rtol=1e-15, atol=0)  # the JSON summed pairwise
    assert capsys.readouterr().out == ""  # no WARNING lines (exact distances)


@pytest.mark.parametrize("kind", ["gauss", "lattice"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_manifold_matches_rendering(kind, k, capsys):
    rng = np.random.default_rng(k)
    real, fake = (gauss_pair if kind == "gauss" else lattice_pair)(rng)
    m = MANIFOLD(real, fake)
    dist_radi, r, out_ids = m.is_in_ball(k, fake)
    e_dist_radi, e_r, e_out, e_scores, e_ids = render_rarity(real, fake, k)
    np.testing.assert_array_equal(r, e_r)
    np.testing.assert_array_equal(dist_radi, e_dist_radi)
    np.testing.assert_array_equal(out_ids, e_out)
    assert dist_radi.dtype == np.float64 and dist_radi.shape == (len(real), len(fake))
    assert out_ids.dtype == np.int64
    scores, ids = m.rarity(k)
    np.testing.assert_array_equal(scores, e_scores)
    np.testing.assert_array_equal(ids, e_ids)  # same expression, same numpy sort
    # samples other than the fakes
    s2, i2 = m.rarity(k, samples=real[::3])
    e = render_rarity(real, real[::3], k)
    np.testing.assert_array_equal(s2, e[3])
    np.testing.assert_array_equal(i2, e[4])
    capsys.readouterr()


def test_zero_radius_holds_nothing(capsys):
    """Strict test: a zero-radius ball (duplicated centre) does not hold its own copies."""
    real = np.array([[0, 0], [0, 0], [0, 0], [0, 0], [5, 5], [5, 6], [6, 5], [9, 9]], np.float32)
    fake = np.array([[0, 0], [5, 5.5], [20, 20]], np.float32)
    m = MANIFOLD(real, fake)
    scores, ids = m.rarity(k=2)
    assert scores[0] == 0.0 and scores[2] == 0.0 and scores[1] > 0
    np.testing.assert_array_equal(ids, [1])
    np.testing.assert_array_equal(m.is_in_ball(2, fake)[2], [0, 2])
    capsys.readouterr()


def test_is_in_ball_options_and_errors(capsys):
    rng = np.random.default_rng(0)
    real, fake = gauss_pair(rng, 50, 40, 4)
    m = MANIFOLD(real, fake)
    dist_radi, r, out_ids = m.is_in_ball(3, fake, return_matrix=False)
    assert dist_radi is None
    np.testing.assert_array_equal(out_ids, m.is_in_ball(3, fake)[2])
    with pytest.raises(ValueError, match="samples is required"):
        m.is_in_ball(3)
    with pytest.raises(NotImplementedError):
        m.is_in_ball(3, fake, cluster=True)
    with pytest.raises(NotImplementedError):
        MANIFOLD(real, fake, metric="cossim")
    with pytest.raises(IndexError):
        m.rarity(k=50)
    assert m.num_reals == 50 and m.num_fakes == 40 and m.metric == "euclidian"
    assert m.real_features is real and m.fake_features is fake
    assert m.num_cluster == 0 and m.modes is None and m.sample_mode_ids is None
    np.testing.assert_array_equal(m.real2real_sorted[:, 3], r)
    np.testing.assert_array_equal(np.take_along_axis(m.real2real_distances,
                                                     m.real2real_sorted_ids, 1),
                                  m.real2real_sorted)  # fmt: skip
    capsys.readouterr()


def test_rarity_never_builds_a_matrix(capsys):
    rng = np.random.default_rng(1)
    n = m = 3000
    real, fake = gauss_pair(rng, n, m, 8)
    manifold = MANIFOLD(real, fake)
    manifold.rarity(3, samples=fake[:20])  # warm-up
    tracemalloc.start()
    try:
        scores, _ = manifold.rarity(3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scores.shape == (m,)
    assert peak < n * m * 8 / 16, f"peak {peak} bytes traced"
    capsys.readouterr()
