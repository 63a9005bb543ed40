"""The three primitives (and the backend-level cross pass) against the float64 oracle.

Exactness is the contract: every backend (the numpy reference and each fast one) must be
*bit-identical* to the independent brute force of ``_helpers.py`` (same float64
distances, same neighbour indices, same counts and flags) for every dtype, memory
order, tiling and thread count.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    CROSS_KEYS,
    DATA_KINDS,
    KIND_SHAPES,
    as_oracle,
    assert_exact,
    brute_d2,
    brute_dist,
    brute_knn,
    brute_knn_from_dist,
    brute_membership,
    brute_radii,
    gaussian,
    is_int_dtype,
    lattice,
    make_pair,
    offset_data,
    with_repeats,
)

from fastprdc import primitives as P

# ---------------------------------------------------------------------------
# the oracle itself
# ---------------------------------------------------------------------------


def _numpy_broadcast_dist(x, y):
    x = as_oracle(x)
    y = as_oracle(y)
    return np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))


@pytest.mark.parametrize("d", [1, 3, 17, 128])
def test_oracle_matches_independent_brute_force(rng, dtype, d):
    x = gaussian(rng, 60, d, dtype)
    y = gaussian(rng, 45, d, dtype, loc=1.0)
    a = brute_dist(x, y)
    b = _numpy_broadcast_dist(x, y)
    assert a.dtype == np.float64
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_oracle_exact_on_lattice(rng):
    # every squared difference is a multiple of 0.25: any summation order is exact
    x = lattice(rng, 80, 3)
    y = lattice(rng, 70, 3, shift=0.5)
    assert_exact(brute_dist(x, y), _numpy_broadcast_dist(x, y), "lattice distances")
    assert_exact(brute_dist(x), _numpy_broadcast_dist(x, x), "lattice self distances")


def test_oracle_knn_tie_order():
    # four identical points: every list is the other rows, ascending by index
    x = np.zeros((4, 2), dtype=np.float32)
    dist, idx = brute_knn(x, k=3)
    assert_exact(idx, [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]], "idx")
    assert_exact(dist, np.zeros((4, 3)), "dist")


# ---------------------------------------------------------------------------
# pairwise_distances
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_pairwise_distances_exact(backend, kind, dtype, order, rng):
    n, m, d = KIND_SHAPES[kind]
    x, y = make_pair(rng, kind, n, m, d, dtype, order)
    got = P.pairwise_distances(x, y, device=backend)
    assert got.dtype == np.float64
    assert_exact(got, brute_dist(x, y), "pairwise_distances")


def test_pairwise_distances_self(backend, dtype, rng):
    x = with_repeats(rng, gaussian(rng, 90, 12, dtype), 15)
    got = P.pairwise_distances(x, device=backend)
    assert_exact(got, brute_dist(x), "pairwise_distances(X)")
    assert_exact(np.diag(got), np.zeros(90), "diagonal")
    assert_exact(got, got.T, "symmetry")


def test_pairwise_distances_docstring_mentions_full_matrix():
    doc = (P.pairwise_distances.__doc__ or "").lower()
    assert "matrix" in doc or "n x m" in doc or "n, m" in doc


# ---------------------------------------------------------------------------
# knn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_knn_self_exact(backend, kind, dtype, order, rng):
    n, _, d = KIND_SHAPES[kind]
    x, _ = make_pair(rng, kind, n, 2, d, dtype, order)
    D = brute_dist(x)
    for k in (1, 4, n - 1):
        dist, idx = P.knn(x, k=k, device=backend)
        e_dist, e_idx = brute_knn_from_dist(D, k, self_exclude=True)
        assert dist.dtype == np.float64 and dist.shape == (n, k)
        assert is_int_dtype(idx) and idx.shape == (n, k)
        assert_exact(dist, e_dist, f"self knn dist k={k}")
        assert_exact(idx, e_idx, f"self knn idx k={k}")


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_knn_cross_exact(backend, kind, dtype, order, rng):
    n, m, d = KIND_SHAPES[kind]
    x, y = make_pair(rng, kind, n, m, d, dtype, order)
    D = brute_dist(x, y)
    for k in (1, 5, m):
        dist, idx = P.knn(x, y, k=k, device=backend)
        e_dist, e_idx = brute_knn_from_dist(D, k, self_exclude=False)
        assert dist.shape == (n, k) and idx.shape == (n, k)
        assert_exact(dist, e_dist, f"cross knn dist k={k}")
        assert_exact(idx, e_idx, f"cross knn idx k={k}")


def test_knn_self_exclusion_by_position(backend):
    # rows 0, 3 and 5 are identical; rows 1 and 4 identical
    x = np.array(
        [[0, 0], [1, 0], [5, 5], [0, 0], [1, 0], [0, 0], [9, 9]],
        dtype=np.float32,
    )
    dist, idx = P.knn(x, k=2, device=backend)
    for i in range(len(x)):
        assert i not in idx[i], f"row {i} lists itself: {idx[i]}"
    # a duplicate is a neighbour at distance 0, lowest index first
    assert_exact(idx[0], [3, 5], "row 0")
    assert_exact(idx[3], [0, 5], "row 3")
    assert_exact(idx[5], [0, 3], "row 5")
    assert_exact(dist[0], [0.0, 0.0], "row 0 dist")
    assert idx[1, 0] == 4 and dist[1, 0] == 0.0
    assert idx[4, 0] == 1 and dist[4, 0] == 0.0
    # row 2 has no duplicate: its first neighbour is at a positive distance
    assert dist[2, 0] > 0


def test_knn_all_identical_rows(backend, dtype):
    x = np.full((6, 3), 2.5, dtype=dtype)
    dist, idx = P.knn(x, k=5, device=backend)
    assert_exact(dist, np.zeros((6, 5)), "dist")
    expected = np.array([[j for j in range(6) if j != i] for i in range(6)])
    assert_exact(idx, expected, "idx")


def test_knn_offset_data_beats_naive_float32(backend, rng):
    """50 + N(0,1) in 128 dims, float32: the naive float32 norm expansion gets
    neighbours wrong; fastprdc must still equal the oracle exactly."""
    x = offset_data(rng, 300, 128)
    k = 5
    e_dist, e_idx = brute_knn(x, k=k)
    # guard: the data really is hard for a naive float32 |x|^2 + |y|^2 - 2xy
    sq = (x * x).sum(1, dtype=np.float32)
    naive = sq[:, None] + sq[None, :] - np.float32(2) * (x @ x.T)
    np.fill_diagonal(naive, np.inf)
    naive_idx = np.argsort(naive, axis=1, kind="stable")[:, :k]
    assert not np.array_equal(naive_idx, e_idx), "test data is not hard enough"
    dist, idx = P.knn(x, k=k, device=backend)
    assert_exact(dist, e_dist, "offset dist")
    assert_exact(idx, e_idx, "offset idx")


@pytest.mark.parametrize("tile_rows", [1, 3, 7, None])
@pytest.mark.parametrize("num_threads", [1, 2])
def test_knn_tiles_and_threads(tile_rows, num_threads, rng, fast_backend):
    x, y = make_pair(rng, "repeats", 83, 61, 9, np.float32)
    e_dist, e_idx = brute_knn(x, k=7)
    run = {"device": fast_backend, "tile_rows": tile_rows, "num_threads": num_threads}
    dist, idx = P.knn(x, k=7, **run)
    assert_exact(dist, e_dist, "self dist")
    assert_exact(idx, e_idx, "self idx")
    e_dist, e_idx = brute_knn(x, y, k=7)
    dist, idx = P.knn(x, y, k=7, **run)
    assert_exact(dist, e_dist, "cross dist")
    assert_exact(idx, e_idx, "cross idx")


def test_knn_mixed_dtypes_promote_to_float64(backend, rng):
    x = gaussian(rng, 50, 6, np.float32)
    y = gaussian(rng, 40, 6, np.float64)
    dist, idx = P.knn(x, y, k=3, device=backend)
    e_dist, e_idx = brute_knn(x, y, k=3)
    assert_exact(dist, e_dist, "dist")
    assert_exact(idx, e_idx, "idx")


@pytest.mark.parametrize("in_dtype", [np.float16, np.int32, np.int64, np.uint8])
def test_knn_other_dtypes_cast_to_float32(backend, in_dtype, rng):
    x = (rng.standard_normal((40, 4)) * 5).astype(in_dtype)
    dist, idx = P.knn(x, k=4, device=backend)
    ref = x.astype(np.float32)
    e_dist, e_idx = brute_knn(ref, k=4)
    assert_exact(dist, e_dist, "dist")
    assert_exact(idx, e_idx, "idx")


def test_knn_non_contiguous_input(backend, rng):
    base = gaussian(rng, 120, 20, np.float64)
    x = base[::2, ::3]  # strided view
    assert not x.flags.c_contiguous and not x.flags.f_contiguous
    dist, idx = P.knn(x, k=3, device=backend)
    e_dist, e_idx = brute_knn(np.ascontiguousarray(x), k=3)
    assert_exact(dist, e_dist, "dist")
    assert_exact(idx, e_idx, "idx")


def test_knn_inexact_mode_shapes_and_values(rng, fast_backend):
    x = gaussian(rng, 300, 32, np.float32)
    y = gaussian(rng, 200, 32, np.float32, loc=0.2)
    for args, n in (((x,), 300), ((x, y), 300)):
        e_dist, e_idx = brute_knn(*args, k=5)
        dist, idx = P.knn(*args, k=5, device=fast_backend, exact=False)
        assert dist.shape == (n, 5) and idx.shape == (n, 5)
        assert dist.dtype == np.float64 and is_int_dtype(idx)
        np.testing.assert_allclose(dist, e_dist, rtol=1e-4, atol=1e-5)
        assert np.mean(idx == e_idx) > 0.95
        # rows still sorted by distance
        assert np.all(np.diff(dist, axis=1) >= -1e-5)


# ---------------------------------------------------------------------------
# kth_radii
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gauss", "lattice", "repeats", "offset"])
def test_kth_radii_int_and_list(backend, kind, dtype, order, rng):
    n, _, d = KIND_SHAPES[kind]
    x, _ = make_pair(rng, kind, n, 2, d, dtype, order)
    for k in (1, 3, n - 1):
        r = P.kth_radii(x, k, device=backend)
        assert isinstance(r, np.ndarray) and r.dtype == np.float64 and r.shape == (n,)
        assert_exact(r, brute_radii(x, k), f"kth_radii k={k}")
    ks = [5, 1, 3, n - 1]
    rs = P.kth_radii(x, ks, device=backend)
    assert isinstance(rs, dict) and sorted(rs) == sorted(ks)
    for k in ks:
        assert_exact(rs[k], brute_radii(x, k), f"kth_radii list k={k}")


@pytest.mark.parametrize("tile_rows", [1, 3, 7, None])
@pytest.mark.parametrize("num_threads", [1, 2])
def test_kth_radii_tiles_threads(tile_rows, num_threads, rng, fast_backend):
    x = lattice(rng, 97, 3)
    run = {"device": fast_backend, "tile_rows": tile_rows, "num_threads": num_threads}
    rs = P.kth_radii(x, [1, 2, 5], **run)
    for k in (1, 2, 5):
        assert_exact(rs[k], brute_radii(x, k), f"k={k}")


# ---------------------------------------------------------------------------
# ball_membership
# ---------------------------------------------------------------------------


MEMBERSHIP_KEYS = [
    "count",
    "any",
    "min_radius",
    "nearest_centre",
    "nearest_centre_distance",
    "any_point",
    "nearest_point",
    "nearest_point_distance",
]


def _check_membership(got, expected, label):
    assert set(MEMBERSHIP_KEYS) <= set(got), f"missing keys: {set(MEMBERSHIP_KEYS) - set(got)}"
    assert is_int_dtype(got["count"]), got["count"].dtype
    assert np.asarray(got["any"]).dtype == np.bool_
    assert np.asarray(got["any_point"]).dtype == np.bool_
    assert is_int_dtype(got["nearest_centre"]) and is_int_dtype(got["nearest_point"])
    for key in MEMBERSHIP_KEYS:
        assert_exact(got[key], expected[key], f"{label} {key}")


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_ball_membership_exact(backend, kind, dtype, order, boundary, rng):
    n, m, d = KIND_SHAPES[kind]
    centres, points = make_pair(rng, kind, n, m, d, dtype, order)
    # radii from the centres' own kNN: exact ties with point distances on lattice data
    radii = brute_radii(centres, 3)
    got = P.ball_membership(points, centres, radii, boundary=boundary, device=backend)
    _check_membership(got, brute_membership(points, centres, radii, boundary), kind)


def test_ball_membership_zero_and_custom_radii(backend, boundary, rng):
    centres = lattice(rng, 60, 2)
    points = np.concatenate([centres[:10], lattice(rng, 40, 2, shift=0.25)])
    radii = np.round(rng.uniform(0, 2, size=60) * 2) / 2  # multiples of 0.5, some 0
    radii[:5] = 0.0
    got = P.ball_membership(points, centres, radii, boundary=boundary, device=backend)
    expected = brute_membership(points, centres, radii, boundary)
    _check_membership(got, expected, "zero radii")
    # points 0-4 sit on centres 0-4, whose radius is 0: inside (at least) that ball
    # with the inclusive boundary; a radius-0 ball holds nothing with the strict one
    if boundary == "inclusive":
        assert np.all(got["count"][:5] >= 1)
        assert np.all(got["min_radius"][:5] == 0.0)
    else:
        assert not np.any(got["any_point"][:5])


def test_ball_membership_negative_zero_radius(backend, rng):
    """A radius of -0.0 is a radius of 0 (the GPU's atomic minimum of radii compares bit
    patterns, in which -0.0 is above every positive radius): the point on that centre has
    min_radius 0 on every backend, not the larger radius of another ball holding it; the
    caller's radii stay as given."""
    centres, points = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 0.0], [0.5, 0.1]])
    radii = np.array([-0.0, 2.0])
    got = P.ball_membership(points, centres, radii, device=backend)
    assert got["min_radius"].tolist() == [0.0, 2.0] and got["count"].tolist() == [2, 1]
    assert not np.signbit(got["min_radius"]).any()
    assert np.signbit(radii[0])


@pytest.mark.parametrize("tile_rows", [1, 3, 7, None])
@pytest.mark.parametrize("num_threads", [1, 2])
def test_ball_membership_tiles_threads(tile_rows, num_threads, boundary, rng, fast_backend):
    centres, points = make_pair(rng, "lattice", 70, 55, 3)
    radii = brute_radii(centres, 2)
    got = P.ball_membership(
        points,
        centres,
        radii,
        boundary=boundary,
        device=fast_backend,
        tile_rows=tile_rows,
        num_threads=num_threads,
    )
    _check_membership(got, brute_membership(points, centres, radii, boundary), "tiles")


# ---------------------------------------------------------------------------
# ball_membership: per-centre point counts and the squared-with-eps realism form
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
def test_point_count_per_centre(backend, kind, boundary, rng):
    n, m, d = KIND_SHAPES[kind]
    centres, points = make_pair(rng, kind, n, m, d)
    radii = np.stack([brute_radii(centres, 3), brute_radii(centres, 5)], axis=1)
    out = P.ball_membership(points, centres, radii, boundary=boundary, device=backend)
    D = np.sqrt(brute_d2(centres, points))
    op = np.less if boundary == "strict" else np.less_equal
    hit = op(D[:, :, None], radii[:, None, :])
    np.testing.assert_array_equal(out["point_count"], hit.sum(axis=1))
    np.testing.assert_array_equal(out["any_point"], hit.any(axis=1))
    np.testing.assert_array_equal(out["count"], hit.sum(axis=0))


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("eps", [1e-5, 0.0, 0.5])
def test_squared_eps_realism(backend, kind, eps, rng):
    n, m, d = KIND_SHAPES[kind]
    centres, points = make_pair(rng, kind, n, m, d)
    r = brute_radii(centres, 3)
    r[r > np.median(r)] = 0.0  # pruned balls as in the improved-P&R code: radius 0
    out = P.ball_membership(points, centres, r, realism=True, realism_eps=eps, device=backend)
    D2 = brute_d2(centres, points)
    num = np.broadcast_to((r * r)[:, None], D2.shape)
    den = D2 + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den, np.where(num > 0, np.inf, 1.0))
    np.testing.assert_array_equal(out["realism"], ratio.max(axis=0))
    np.testing.assert_array_equal(out["realism_centre"], ratio.argmax(axis=0))


@pytest.mark.parametrize("tile_rows,num_threads", [(1, 1), (5, 2), (None, 2)])
def test_squared_eps_realism_fast_backend_equals_numpy(tile_rows, num_threads, rng, fast_backend):
    centres, points = make_pair(rng, "repeats", 110, 90, 8)
    r = brute_radii(centres, 3)
    kw = dict(realism=True, realism_eps=1e-5)
    ref = P.ball_membership(points, centres, r, device="numpy", **kw)
    got = P.ball_membership(
        points, centres, r, device=fast_backend, tile_rows=tile_rows, num_threads=num_threads, **kw
    )
    for key in ("realism", "realism_centre", "point_count"):
        np.testing.assert_array_equal(got[key], ref[key])


@pytest.mark.parametrize("eps", [-1.0, float("nan"), float("inf")])
def test_bad_realism_eps(eps):
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="realism_eps"):
        P.ball_membership(x, x, np.ones(4), realism=True, realism_eps=eps)


# ---------------------------------------------------------------------------
# backend-level cross pass
# ---------------------------------------------------------------------------


def _run_options(**kw):
    from fastprdc._options import RunOptions

    return RunOptions(**kw)


def _expected_cross(A, B, radii_a, radii_b, strict, knn_a, knn_b):
    D = brute_dist(A, B)  # (N, M)
    N, M = D.shape
    op = np.less if strict else np.less_equal
    out = {}
    KA = 0 if radii_a is None else radii_a.shape[1]
    KB = 0 if radii_b is None else radii_b.shape[1]
    b_count = np.zeros((M, KA), np.int64)
    b_min = np.full((M, KA), np.inf)
    a_cov = np.zeros((N, KA), bool)
    for c in range(KA):
        r = radii_a[:, c][:, None]
        ins = op(D, r)
        b_count[:, c] = ins.sum(0)
        b_min[:, c] = np.where(ins, r, np.inf).min(0)
        a_cov[:, c] = ins.any(1)
    a_count = np.zeros((N, KB), np.int64)
    a_min = np.full((N, KB), np.inf)
    b_cov = np.zeros((M, KB), bool)
    for c in range(KB):
        r = radii_b[:, c][None, :]
        ins = op(D, r)
        a_count[:, c] = ins.sum(1)
        a_min[:, c] = np.where(ins, r, np.inf).min(1)
        b_cov[:, c] = ins.any(0)
    out.update(
        b_count=b_count,
        b_min_radius=b_min,
        a_covered=a_cov,
        a_count=a_count,
        a_min_radius=a_min,
        b_covered=b_cov,
    )
    out["a_knn_dist"], out["a_knn_idx"] = brute_knn_from_dist(D, knn_a, False)
    out["b_knn_dist"], out["b_knn_idx"] = brute_knn_from_dist(D.T, knn_b, False)
    return out


def _check_cross(got, expected, label):
    for key in CROSS_KEYS:
        assert key in got, f"{label}: cross_pass result lacks {key!r}"
        assert_exact(got[key], expected[key], f"{label} {key}")
    for key in ("b_count", "a_count"):
        assert is_int_dtype(got[key])
    for key in ("a_covered", "b_covered"):
        assert got[key].dtype == np.bool_
    assert isinstance(got["n_rechecked"], (int, np.integer))


def _cross_inputs(rng, kind, dtype):
    n, m, d = KIND_SHAPES[kind]
    A, B = make_pair(rng, kind, n, m, d, dtype, "C")
    rA = {k: brute_radii(A, k) for k in (1, 3, 5)}
    rB = {k: brute_radii(B, k) for k in (2, 4)}
    # unsorted columns, one of them all zeros
    radii_a = np.stack([rA[5], rA[1], np.zeros(n), rA[3]], axis=1)
    radii_b = np.stack([rB[4], rB[2]], axis=1)
    return A, B, np.ascontiguousarray(radii_a), np.ascontiguousarray(radii_b)


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("strict", [False, True], ids=["inclusive", "strict"])
def test_cross_pass_exact(backend, kind, dtype, strict, rng):
    from fastprdc._backends import get_backend

    A, B, radii_a, radii_b = _cross_inputs(rng, kind, dtype)
    be = get_backend(backend)
    got = be.cross_pass(A, B, radii_a, radii_b, strict, 3, 4, _run_options())
    _check_cross(got, _expected_cross(A, B, radii_a, radii_b, strict, 3, 4), kind)
    if backend == "numpy":
        assert got["n_rechecked"] == 0


def test_cross_pass_optional_parts(backend, rng):
    from fastprdc._backends import get_backend

    A, B, radii_a, _ = _cross_inputs(rng, "repeats", np.float32)
    be = get_backend(backend)
    N, M = A.shape[0], B.shape[0]
    got = be.cross_pass(A, B, None, None, False, 0, 2, _run_options())
    assert got["b_count"].shape == (M, 0) and got["a_covered"].shape == (N, 0)
    assert got["a_count"].shape == (N, 0) and got["b_covered"].shape == (M, 0)
    assert got["a_knn_dist"].shape == (N, 0) and got["a_knn_idx"].shape == (N, 0)
    e = _expected_cross(A, B, None, None, False, 0, 2)
    assert_exact(got["b_knn_dist"], e["b_knn_dist"], "b_knn_dist")
    assert_exact(got["b_knn_idx"], e["b_knn_idx"], "b_knn_idx")
    got = be.cross_pass(A, B, radii_a, None, True, 0, 0, _run_options())
    e = _expected_cross(A, B, radii_a, None, True, 0, 0)
    for key in ("b_count", "b_min_radius", "a_covered"):
        assert_exact(got[key], e[key], key)


@pytest.mark.parametrize("tile_rows", [1, 3, 7, None])
@pytest.mark.parametrize("num_threads", [1, 2])
def test_cross_pass_tiles_threads(tile_rows, num_threads, rng, fast_backend):
    from fastprdc._backends import get_backend

    A, B, radii_a, radii_b = _cross_inputs(rng, "lattice", np.float32)
    opts = _run_options(tile_rows=tile_rows, num_threads=num_threads)
    for strict in (False, True):
        got = get_backend(fast_backend).cross_pass(A, B, radii_a, radii_b, strict, 2, 3, opts)
        _check_cross(got, _expected_cross(A, B, radii_a, radii_b, strict, 2, 3), "tiles")


def test_cross_pass_fast_backend_equals_numpy_offset(rng, fast_backend):
    """Large common offset, float32, 128 dims: each fast backend == numpy oracle bit for bit."""
    from fastprdc._backends import get_backend

    A, B, radii_a, radii_b = _cross_inputs(rng, "offset", np.float32)
    out = {}
    for name in ("numpy", fast_backend):
        be = get_backend(name)
        out[name] = be.cross_pass(A, B, radii_a, radii_b, False, 5, 5, _run_options())
    for key in CROSS_KEYS:
        assert_exact(out[fast_backend][key], out["numpy"][key], key)


def test_cross_pass_inexact_mode(rng, fast_backend):
    from fastprdc._backends import get_backend

    A, B, radii_a, radii_b = _cross_inputs(rng, "gauss", np.float32)
    got = get_backend(fast_backend).cross_pass(
        A, B, radii_a, radii_b, False, 3, 3, _run_options(exact=False)
    )
    e = _expected_cross(A, B, radii_a, radii_b, False, 3, 3)
    for key in CROSS_KEYS:
        assert got[key].shape == e[key].shape, key
    # counts may differ on a few near-ties only
    assert np.abs(got["b_count"] - e["b_count"]).sum() <= 0.01 * e["b_count"].size + 2
    assert np.mean(got["a_knn_idx"] == e["a_knn_idx"]) > 0.95
    np.testing.assert_allclose(got["a_knn_dist"], e["a_knn_dist"], rtol=1e-4, atol=1e-5)
