"""Property-based tests (hypothesis) on small random inputs with repeated rows:
cpu == numpy bit for bit; metric ranges; inclusive >= strict; permutation invariance."""

from __future__ import annotations

import numpy as np
from _helpers import assert_exact
from hypothesis import given, settings
from hypothesis import strategies as st

import fastprdc
from fastprdc import primitives as P

SETTINGS = settings(deadline=None, max_examples=40, database=None)


@st.composite
def point_sets(draw, min_rows=2, max_rows=40):
    """(real, fake) with small coordinates, many repeated rows and exact ties."""
    n = draw(st.integers(min_rows, max_rows))
    m = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    grid = draw(st.sampled_from([None, 1.0, 0.5]))  # None: continuous values
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n + m, d)) * draw(st.sampled_from([1.0, 3.0, 1e3]))
    base += draw(st.sampled_from([0.0, 50.0, -1e4]))
    if grid is not None:
        base = np.round(base / grid) * grid
    x = base.astype(dtype)
    # repeated rows, within a set and across the two sets
    n_rep = draw(st.integers(0, (n + m) // 2))
    if n_rep:
        dst = rng.integers(0, n + m, size=n_rep)
        src = rng.integers(0, n + m, size=n_rep)
        x[dst] = x[src]
    return x[:n], x[n:]


@SETTINGS
@given(sets=point_sets(), data=st.data())
def test_knn_cpu_equals_numpy(sets, data):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    k_self = data.draw(st.integers(1, n - 1), label="k_self")
    k_cross = data.draw(st.integers(1, m), label="k_cross")
    tile_rows = data.draw(st.sampled_from([None, 1, 2, 5]), label="tile_rows")
    threads = data.draw(st.sampled_from([1, 2]), label="threads")
    for args, k in (((real,), k_self), ((real, fake), k_cross)):
        d_np, i_np = P.knn(*args, k=k, device="numpy")
        d_cpu, i_cpu = P.knn(*args, k=k, device="cpu", tile_rows=tile_rows, num_threads=threads)
        assert_exact(d_cpu, d_np, "knn dist")
        assert_exact(i_cpu, i_np, "knn idx")
        if len(args) == 1:
            assert not np.any(i_cpu == np.arange(n)[:, None]), "self listed"


@SETTINGS
@given(sets=point_sets(), data=st.data())
def test_cross_pass_cpu_equals_numpy(sets, data):
    from fastprdc._backends import get_backend
    from fastprdc._options import RunOptions

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
    out_cpu = get_backend("cpu").cross_pass(
        A, B, ra, rb, strict, knn_a, knn_b, RunOptions(tile_rows=tile_rows)
    )
    for key in (
        "b_count",
        "b_min_radius",
        "a_covered",
        "a_count",
        "a_min_radius",
        "b_covered",
        "a_knn_dist",
        "a_knn_idx",
        "b_knn_dist",
        "b_knn_idx",
    ):
        assert_exact(out_cpu[key], out_np[key], key)


@SETTINGS
@given(sets=point_sets(min_rows=3), data=st.data())
def test_metric_ranges_and_boundary_order(sets, data):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    k = data.draw(st.integers(1, min(n, m) - 1), label="k")
    device = data.draw(st.sampled_from(["numpy", "cpu"]), label="device")
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
def test_row_permutation_invariance(sets, data):
    real, fake = sets
    n, m = real.shape[0], fake.shape[0]
    k = data.draw(st.integers(1, min(n, m) - 1), label="k")
    seed = data.draw(st.integers(0, 2**16), label="perm_seed")
    rng = np.random.default_rng(seed)
    pr, pf = rng.permutation(n), rng.permutation(m)
    a = fastprdc.precision_recall(real, fake, k=k, sample_level=True, device="cpu")
    b = fastprdc.precision_recall(real[pr], fake[pf], k=k, sample_level=True, device="cpu")
    assert a["precision"] == b["precision"] and a["recall"] == b["recall"]
    assert_exact(b["in_real_manifold"], a["in_real_manifold"][pf], "in_real_manifold")
    assert_exact(b["in_fake_manifold"], a["in_fake_manifold"][pr], "in_fake_manifold")
    c = fastprdc.density_coverage(real, fake, k=k, sample_level=True, device="cpu")
    e = fastprdc.density_coverage(real[pr], fake[pf], k=k, sample_level=True, device="cpu")
    assert c["density"] == e["density"] and c["coverage"] == e["coverage"]
    assert_exact(e["n_real_balls"], c["n_real_balls"][pf], "n_real_balls")
