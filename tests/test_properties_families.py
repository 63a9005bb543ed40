"""Property-based tests (hypothesis) for the issue-3 families on small random inputs with
repeated rows, grids, large offsets: cpu == numpy and both == the brute-force oracles of
``_oracles.py`` (every decision exact), plus invariances."""

from __future__ import annotations

import warnings

import numpy as np
from _oracles import (
    assert_same,
    brute_alpha_beta,
    brute_pr_cover,
    brute_rarity,
    brute_realism,
    realism_from_radii,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import point_sets

import fastprdc
from fastprdc._backends import get_backend
from fastprdc._options import RunOptions

SETTINGS = settings(deadline=None, max_examples=30, database=None)


@SETTINGS
@given(sets=point_sets(min_rows=3), data=st.data())
def test_cross_pass_realism_cpu_equals_oracle(sets, data):
    from _helpers import as_oracle, brute_dist

    real, fake = sets
    n = real.shape[0]
    dt = np.float64 if np.float64 in (real.dtype, fake.dtype) else np.float32
    A = np.ascontiguousarray(real, dtype=dt)
    B = np.ascontiguousarray(fake, dtype=dt)
    n_cols = data.draw(st.integers(1, 3), label="columns")
    cols = []
    D_AA = brute_dist(as_oracle(A))
    np.fill_diagonal(D_AA, np.inf)
    srt = np.sort(D_AA, axis=1)
    for _ in range(n_cols):
        k = data.draw(st.integers(1, n - 1), label="k")
        keep = data.draw(st.sampled_from(["median", "all", "random", "none"]), label="keep")
        r = srt[:, k - 1].copy()
        if keep == "median":
            r = np.where(r <= np.median(r), r, -1.0)
        elif keep == "random":
            mask = np.random.default_rng(k).random(n) < 0.5
            r = np.where(mask, r, -1.0)
        elif keep == "none":
            r = np.full(n, -1.0)
        cols.append(r)
    R = np.ascontiguousarray(np.stack(cols, axis=1))
    tile_rows = data.draw(st.sampled_from([None, 1, 2, 5]), label="tile_rows")
    threads = data.draw(st.sampled_from([1, 2]), label="threads")
    got = get_backend("cpu").cross_pass(A, B, None, None, False, 0, 0,
                                        RunOptions(tile_rows=tile_rows, num_threads=threads),
                                        realism_radii=R)  # fmt: skip
    ref = get_backend("numpy").cross_pass(A, B, None, None, False, 0, 0, RunOptions(),
                                          realism_radii=R)  # fmt: skip
    D = brute_dist(as_oracle(A), as_oracle(B))
    for c in range(R.shape[1]):
        score, idx = realism_from_radii(D, R[:, c])
        assert_same(got["b_realism"][:, c], score, f"cpu score col {c}")
        assert_same(got["b_realism_idx"][:, c], idx, f"cpu idx col {c}")
        assert_same(ref["b_realism"][:, c], score, f"numpy score col {c}")
        assert_same(ref["b_realism_idx"][:, c], idx, f"numpy idx col {c}")


@SETTINGS
@given(sets=point_sets(min_rows=3), data=st.data())
def test_families_equal_oracles(sets, data):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    backend = data.draw(st.sampled_from(["cpu", "numpy"]), label="backend")
    boundary = data.draw(st.sampled_from(["inclusive", "strict"]), label="boundary")
    k = data.draw(st.integers(1, min(n, m) - 1), label="k")
    prune = data.draw(st.sampled_from([0.0, 0.5, 0.8]), label="prune")
    got = fastprdc.realism_score(real, fake, k=k, prune=prune, sample_level=True,
                                 device=backend)  # fmt: skip
    score, idx, _ = brute_realism(real, fake, k, prune)
    assert_same(got["realism"], score, "realism")
    assert_same(got["realism_real_index"], idx, "realism idx")

    rar = fastprdc.rarity_score(real, fake, k=k, boundary=boundary, device=backend)
    exp, n_out = brute_rarity(real, fake, k, boundary)
    assert_same(rar["rarity"], exp, "rarity")
    assert rar["n_out_of_ball"] == n_out

    C = data.draw(st.integers(1, 3), label="C")
    kc = data.draw(st.integers(1, max(1, (min(n, m) - 1) // C)), label="k_cover")
    if C * kc < min(n, m):
        cov = fastprdc.precision_recall_cover(real, fake, k=kc, C=C, boundary=boundary,
                                              sample_level=True, device=backend)  # fmt: skip
        c = brute_pr_cover(real, fake, kc, C, boundary)
        assert_same(cov["fake_in_cover"], c["pc_flags"], "fake_in_cover")
        assert_same(cov["real_in_cover"], c["rc_flags"], "real_in_cover")

    n_alphas = data.draw(st.integers(2, 12), label="n_alphas")
    ab = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=n_alphas, sample_level=True,
                                              device=backend)  # fmt: skip
    e = brute_alpha_beta(real, fake, n_alphas)
    assert_same(ab["alpha_precision_curve"], e["alpha_precision_curve"], "P(alpha)")
    assert_same(ab["beta_recall_curve"], e["beta_recall_curve"], "R(beta)")
    assert_same(ab["authentic"], e["authentic"], "authentic")
    assert_same(ab["nearest_fake_index"], e["nearest_fake"], "nearest fake")


@SETTINGS
@given(sets=point_sets(min_rows=4), data=st.data())
def test_row_permutations(sets, data):
    """Permuting the reals permutes nothing per fake (realism value, rarity, authenticity,
    cover flags); permuting the fakes permutes the per-fake arrays."""
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    pr, pf = rng.permutation(n), rng.permutation(m)
    k = data.draw(st.integers(1, min(n, m) - 1), label="k")
    # a fixed centre: the mean of permuted rows may differ in its last bits
    center = np.asarray(real, dtype=np.float64).mean(axis=0)
    kw = {"k": k, "metrics": ["realism_score", "rarity_score", "alpha_precision_beta_recall"],
          "sample_level": True,
          "params": {"alpha_precision_beta_recall": {"center": center}}}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = fastprdc.evaluate(real, fake, **kw)
        b = fastprdc.evaluate(real[pr], fake[pf], **kw)
    for family, name in (("realism_score", "realism"), ("rarity_score", "rarity")):
        assert_same(b.samples[family][name][k], a.samples[family][name][k][pf], name)
    assert_same(
        b.samples["alpha_precision_beta_recall"]["authentic"][None],
        a.samples["alpha_precision_beta_recall"]["authentic"][None][pf],
        "authentic",
    )
    assert (
        b.scalars["alpha_precision_beta_recall"]["authenticity"][None]
        == (a.scalars["alpha_precision_beta_recall"]["authenticity"][None])
    )
    assert_same(
        b.curves["alpha_precision_beta_recall"]["alpha_precision_curve"][None],
        a.curves["alpha_precision_beta_recall"]["alpha_precision_curve"][None],
        "P",
    )
