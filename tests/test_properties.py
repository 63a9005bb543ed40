"""Property-based tests (hypothesis) on small random inputs with repeated rows, grids and large
offsets: every fast backend == numpy bit for bit (kNN, the cross pass, its realism columns);
every family == the brute-force oracles of ``_oracles.py``; metric ranges; inclusive >= strict;
row permutation invariance."""

from __future__ import annotations

import warnings

import numpy as np
from _helpers import CROSS_KEYS, as_oracle, assert_exact, assert_same, brute_dist
from _oracles import (
    brute_alpha_beta,
    brute_pr_cover,
    brute_rarity,
    brute_realism,
    realism_from_radii,
)
from _strategies import point_sets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastprdc
from fastprdc import primitives as P
from fastprdc._backends import get_backend
from fastprdc._options import RunOptions

# the fast_backend fixture is a constant name per test, so reusing it across examples is safe
SETTINGS = settings(
    deadline=None,
    max_examples=40,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
FAMILY_SETTINGS = settings(SETTINGS, max_examples=30)


@SETTINGS
@given(sets=point_sets(), data=st.data())
def test_knn_fast_backend_equals_numpy(sets, data, fast_backend):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    k_self = data.draw(st.integers(1, n - 1), label="k_self")
    k_cross = data.draw(st.integers(1, m), label="k_cross")
    tile_rows = data.draw(st.sampled_from([None, 1, 2, 5]), label="tile_rows")
    threads = data.draw(st.sampled_from([1, 2]), label="threads")
    for args, k in (((real,), k_self), ((real, fake), k_cross)):
        d_np, i_np = P.knn(*args, k=k, device="numpy")
        d_cpu, i_cpu = P.knn(
            *args, k=k, device=fast_backend, tile_rows=tile_rows, num_threads=threads
        )
        assert_exact(d_cpu, d_np, "knn dist")
        assert_exact(i_cpu, i_np, "knn idx")
        if len(args) == 1:
            assert not np.any(i_cpu == np.arange(n)[:, None]), "self listed"


@SETTINGS
@given(sets=point_sets(), data=st.data())
def test_cross_pass_fast_backend_equals_numpy(sets, data, fast_backend):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    ka = data.draw(st.lists(st.integers(1, n - 1), min_size=0, max_size=3), label="ks_a")
    kb = data.draw(st.lists(st.integers(1, m - 1), min_size=0, max_size=3), label="ks_b")
    strict = data.draw(st.booleans(), label="strict")
    knn_a = data.draw(st.integers(0, min(3, m)), label="knn_a")
    knn_b = data.draw(st.integers(0, min(3, n)), label="knn_b")
    tile_rows = data.draw(st.sampled_from([None, 1, 3]), label="tile_rows")
    dt = np.float64 if np.float64 in (real.dtype, fake.dtype) else np.float32
    A = np.ascontiguousarray(real, dtype=dt)
    B = np.ascontiguousarray(fake, dtype=dt)
    ra = (
        np.ascontiguousarray(np.stack([P.kth_radii(A, k, device="numpy") for k in ka], 1))
        if ka
        else None
    )
    rb = (
        np.ascontiguousarray(np.stack([P.kth_radii(B, k, device="numpy") for k in kb], 1))
        if kb
        else None
    )
    out_np = get_backend("numpy").cross_pass(A, B, ra, rb, strict, knn_a, knn_b, RunOptions())
    out_cpu = get_backend(fast_backend).cross_pass(
        A, B, ra, rb, strict, knn_a, knn_b, RunOptions(tile_rows=tile_rows)
    )
    for key in CROSS_KEYS:
        assert_exact(out_cpu[key], out_np[key], key)


@SETTINGS
@given(sets=point_sets(min_rows=3), data=st.data())
def test_metric_ranges_and_boundary_order(sets, data, fast_backend):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    k = data.draw(st.integers(1, min(n, m) - 1), label="k")
    device = data.draw(st.sampled_from(["numpy", fast_backend]), label="device")
    res = {}
    for boundary in ("inclusive", "strict"):
        pr = fastprdc.precision_recall(real, fake, k=k, boundary=boundary, device=device)
        dc = fastprdc.density_coverage(real, fake, k=k, boundary=boundary, device=device)
        res[boundary] = {**pr, **dc}
        for name in ("precision", "recall", "coverage"):
            assert 0.0 <= res[boundary][name] <= 1.0, (name, res[boundary][name])
        assert 0.0 <= res[boundary]["density"] <= n / k
    for name in ("precision", "recall", "density", "coverage"):
        assert res["inclusive"][name] >= res["strict"][name], name


@SETTINGS
@given(sets=point_sets(min_rows=3), data=st.data())
def test_row_permutation_invariance(sets, data, fast_backend):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    k = data.draw(st.integers(1, min(n, m) - 1), label="k")
    seed = data.draw(st.integers(0, 2**16), label="perm_seed")
    rng = np.random.default_rng(seed)
    pr, pf = rng.permutation(n), rng.permutation(m)
    a = fastprdc.precision_recall(real, fake, k=k, sample_level=True, device=fast_backend)
    b = fastprdc.precision_recall(real[pr], fake[pf], k=k, sample_level=True, device=fast_backend)
    assert a["precision"] == b["precision"] and a["recall"] == b["recall"]
    assert_exact(b["in_real_manifold"], a["in_real_manifold"][pf], "in_real_manifold")
    assert_exact(b["in_fake_manifold"], a["in_fake_manifold"][pr], "in_fake_manifold")
    c = fastprdc.density_coverage(real, fake, k=k, sample_level=True, device=fast_backend)
    e = fastprdc.density_coverage(real[pr], fake[pf], k=k, sample_level=True, device=fast_backend)
    assert c["density"] == e["density"] and c["coverage"] == e["coverage"]
    assert_exact(e["n_real_balls"], c["n_real_balls"][pf], "n_real_balls")


@FAMILY_SETTINGS
@given(sets=point_sets(min_rows=3), data=st.data())
def test_cross_pass_realism_fast_backend_equals_oracle(sets, data, fast_backend):
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
    got = get_backend(fast_backend).cross_pass(A, B, None, None, False, 0, 0,
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


@FAMILY_SETTINGS
@given(sets=point_sets(min_rows=3), data=st.data())
def test_families_equal_oracles(sets, data, fast_backend):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    backend = data.draw(st.sampled_from([fast_backend, "numpy"]), label="backend")
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


@FAMILY_SETTINGS
@given(sets=point_sets(min_rows=4), data=st.data())
def test_row_permutations_realism_rarity_alpha_beta(sets, data):
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
