"""Ties and duplicates: every fast backend equals the float64 numpy oracle (``device="numpy"``,
which defines "exact") and, where it is cheap, the package-independent brute force of
``_helpers.py``:

- sqrt ties: two squared distances one ulp apart round to the same ``sqrt``; the oracle ranks by
  the rounded distance (then index), so no backend may rank by ``d^2``;
- quantised data (thirds, 8-bit pixel levels): exact ties everywhere, every family;
- massive ties (all-identical rows, all-zero realism radii) give the right answer in bounded time
  (their memory bound is in test_memory.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    assert_exact,
    assert_results_equal,
    assert_same,
    brute_dist,
    brute_knn,
    brute_membership,
    quiet,
)

import fastprdc
from fastprdc import primitives as P
from fastprdc._backends import get_backend
from fastprdc._options import make_options

NUMPY = {"device": "numpy"}


def _fast(backend):
    return {"device": backend, "num_threads": 2}


def _assert_knn_same(backend, X, Y, k, tag, **kw):
    dc, ic = P.knn(X, Y, k, **_fast(backend), **kw)
    dn, in_ = P.knn(X, Y, k, **NUMPY, **kw)
    assert_same(dc, dn, f"{tag}: knn distances")
    assert_exact(ic, in_, f"{tag}: knn indices")
    return dn, in_


def _assert_ball_same(backend, points, centres, radii, tag, **kw):
    c = P.ball_membership(points, centres, radii, **_fast(backend), **kw)
    n = P.ball_membership(points, centres, radii, **NUMPY, **kw)
    assert set(c) == set(n), f"{tag}: keys {sorted(c)} != {sorted(n)}"
    for key in n:
        assert_same(c[key], n[key], f"{tag}: {key}")
    return n


# ---------------------------------------------------------------------------
# sqrt ties: rank by the rounded distance, then by index
# ---------------------------------------------------------------------------

# d^2(0, 1) and d^2(0, 2) differ by one ulp but have the same sqrt: the oracle's nearest
# neighbour of row 0 is row 1 (equal distance, lower index); ranking by d^2 gives row 2.
SQRT_TIE = np.array(
    [
        [0.1, 0.1, 0.1, 0.1],
        [0.7666666666666666, 1.1, 1.1, 0.43333333333333335],
        [1.1, 0.43333333333333335, 0.7666666666666666, 1.1],
    ]
)


def test_sqrt_tie_premise():
    """The two squared distances differ, their square roots do not."""
    d2 = []
    for j in (1, 2):
        acc = 0.0
        for t in range(SQRT_TIE.shape[1]):  # the oracle's sequential float64 sum
            acc += (SQRT_TIE[0, t] - SQRT_TIE[j, t]) ** 2
        d2.append(acc)
    assert d2[1] < d2[0], d2  # ranking by d^2 would put row 2 first
    assert np.sqrt(d2[0]) == np.sqrt(d2[1])
    oracle_dist, oracle_idx = brute_knn(SQRT_TIE, k=2)
    assert oracle_dist[0, 0] == oracle_dist[0, 1], oracle_dist
    assert oracle_idx[0, 0] == 1


@pytest.mark.parametrize("k", [1, 2])
def test_sqrt_tie_self_knn(k, fast_backend):
    dist, idx = _assert_knn_same(fast_backend, SQRT_TIE, None, k, f"sqrt tie k={k}")
    bd, bi = brute_knn(SQRT_TIE, k=k)
    assert_same(dist, bd, "numpy vs brute distances")
    assert_exact(idx, bi, "numpy vs brute indices")
    assert idx[0, 0] == 1


def test_sqrt_tie_cross_knn_and_radii(fast_backend):
    _, idx = _assert_knn_same(fast_backend, SQRT_TIE[:1], SQRT_TIE[1:], 2, "sqrt tie cross")
    assert_exact(idx, [[0, 1]], "cross indices")
    rc = P.kth_radii(SQRT_TIE, [1, 2], **_fast(fast_backend))
    rn = P.kth_radii(SQRT_TIE, [1, 2], **NUMPY)
    for k in (1, 2):
        assert_same(rc[k], rn[k], f"kth_radii k={k}")


@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
def test_sqrt_tie_ball_nearest(boundary, fast_backend):
    """nearest_centre / nearest_point / realism_centre break the sqrt tie by index."""
    radii = np.array([1.6, 1.6])  # both centres' balls hold the point
    n = _assert_ball_same(
        fast_backend,
        SQRT_TIE[:1],
        SQRT_TIE[1:],
        radii,
        "sqrt tie ball",
        boundary=boundary,
        realism=True,
    )
    assert n["nearest_centre"][0] == 0
    assert n["realism_centre"][0] == 0


def _thirds(rng):
    return rng.integers(0, 4, (30, 7)) / 3.0, rng.integers(0, 4, (30, 7)) / 3.0


def _pixels(rng):
    levels = rng.integers(0, 256, 5)
    return rng.choice(levels, (60, 6)) / 255.0, rng.choice(levels, (60, 6)) / 255.0


QUANTISED = {"thirds": _thirds, "pixels": _pixels}


@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
@pytest.mark.parametrize("kind", sorted(QUANTISED))
def test_quantised_evaluate_all_matches_numpy(kind, boundary, fast_backend):
    """metrics="all", sample_level=True: every array and scalar identical (equal_nan)."""
    rng = np.random.default_rng(3 if kind == "thirds" else 4)
    for trial in range(6):
        R, F = QUANTISED[kind](rng)
        kw = {"k": [1, 3], "metrics": "all", "boundary": boundary, "sample_level": True}
        rc = quiet(fastprdc.evaluate, R, F, **kw, **_fast(fast_backend))
        rn = quiet(fastprdc.evaluate, R, F, **kw, **NUMPY)
        assert_results_equal(rc, rn, f"{kind} trial {trial}")


@pytest.mark.parametrize("kind", sorted(QUANTISED))
def test_quantised_evaluate_all_row_order(kind, fast_backend):
    """Permuted rows of tie-laden data: every scalar the same up to the order of its float
    sums, except the alpha/beta curves' Deltas, whose centres are row-order sums and whose
    beta takes the lowest-index nearest fake (README, Ties); authenticity is checked."""
    rng = np.random.default_rng(5)
    for trial in range(4):
        R, F = QUANTISED[kind](rng)
        pr, pf = rng.permutation(len(R)), rng.permutation(len(F))
        kw = {"k": [1, 3], "metrics": "all", **_fast(fast_backend)}
        a = quiet(fastprdc.evaluate, R, F, **kw).scalars
        b = quiet(fastprdc.evaluate, R[pr], F[pf], **kw).scalars
        assert a.keys() == b.keys()
        for family, metrics in a.items():
            assert metrics.keys() == b[family].keys()
            for metric, per_k in metrics.items():
                if metric.startswith("delta_"):
                    continue
                for k, v in per_k.items():
                    got = b[family][metric][k]
                    np.testing.assert_allclose(got, v, rtol=1e-12, err_msg=f"{metric} {trial}")


@pytest.mark.parametrize("kind", sorted(QUANTISED))
def test_quantised_primitives_match_numpy(kind, fast_backend):
    """Self / cross kNN over every k and ball membership (nearest indices, realism)."""
    rng = np.random.default_rng(5 if kind == "thirds" else 6)
    for trial in range(10):
        R, F = QUANTISED[kind](rng)
        n = R.shape[0]
        tag = f"{kind} trial {trial}"
        dist, idx = _assert_knn_same(fast_backend, R, None, n - 1, f"{tag} self")
        bd, bi = brute_knn(R, k=n - 1)
        assert_same(dist, bd, f"{tag}: numpy vs brute distances")
        assert_exact(idx, bi, f"{tag}: numpy vs brute indices")
        _assert_knn_same(fast_backend, F, R, n, f"{tag} cross")
        radii = P.kth_radii(R, 3, **NUMPY)
        for boundary in ("inclusive", "strict"):
            got = _assert_ball_same(
                fast_backend, F, R, radii, f"{tag} ball {boundary}", boundary=boundary, realism=True
            )
            brute = brute_membership(F, R, radii, boundary)
            for key in ("count", "nearest_centre", "nearest_point", "min_radius"):
                assert_same(got[key], brute[key], f"{tag}: numpy vs brute {key}")


# ---------------------------------------------------------------------------
# massive ties: right answer, bounded time
# ---------------------------------------------------------------------------


def _lowest_others(n, k):
    """Self-kNN indices when every row is identical: the k lowest indices except self."""
    base = np.arange(k)[None, :]
    rows = np.arange(n)[:, None]
    return base + (base >= rows)


def test_identical_rows_self_knn(fast_backend):
    """Every pair tied at 0: the exact lists, for at most O(n^2) float64 evaluations (a list is
    compacted, never grown; with the row groups of exact mode none at all,
    test_identical_rows_need_no_float64_evaluation), counted, not timed."""
    n, d, k = 3000, 8, 5
    X = np.full((n, d), 0.37)
    expected = _lowest_others(n, k)
    dist, idx = P.knn(X, k=k, **_fast(fast_backend))
    assert_exact(idx, expected, f"{fast_backend} indices")
    assert_exact(dist, np.zeros((n, k)), f"{fast_backend} distances")
    dn, in_ = P.knn(X, k=k, **NUMPY)
    assert_exact(in_, expected, "numpy indices")
    assert_exact(dn, np.zeros((n, k)), "numpy distances")
    rechecked = get_backend(fast_backend).knn(X, None, k, make_options(num_threads=2)).n_rechecked
    assert rechecked <= 2 * n * n, f"self-kNN of {n} identical rows: {rechecked} evaluations"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_rows_cross_knn_and_radii(dtype, fast_backend):
    X = np.zeros((700, 8), dtype=dtype)
    Y = np.zeros((2500, 8), dtype=dtype)
    _, idx = _assert_knn_same(fast_backend, X, Y, 5, "identical cross")
    assert_exact(idx, np.broadcast_to(np.arange(5), (700, 5)), "cross indices")
    rc = P.kth_radii(Y, [1, 5], **_fast(fast_backend))
    for k in (1, 5):
        assert_exact(rc[k], np.zeros(2500), f"kth_radii k={k}")


def _zero_radii_data(rng, n, m):
    """Lattice points: 81 distinct positions, so most points sit on several centres
    (ratio 1 at distance 0) and every other pair has ratio 0: ties everywhere."""
    points = rng.integers(0, 3, (n, 4)) / 2.0
    centres = rng.integers(0, 3, (m, 4)) / 2.0
    centres[:5] = 7.0  # a few centres far from every point
    points[:5] = -3.0  # a few points on no centre: realism 0, tie over all centres
    return points, centres


def test_zero_radii_realism_matches_numpy(fast_backend):
    """Every ratio ties (0, or 1 at distance 0): the exact answer, with float64 evaluations
    for the pairs at distance 0 and a few more (about 1.2-1.5 million of the 16 million
    pairs here), never for every pair: counted, not timed."""
    rng = np.random.default_rng(7)
    points, centres = _zero_radii_data(rng, 4000, 4000)
    zeros = np.zeros(centres.shape[0])
    c = P.ball_membership(points, centres, zeros, realism=True, **_fast(fast_backend))
    n = P.ball_membership(points, centres, zeros, realism=True, **NUMPY)
    for key in n:
        assert_same(c[key], n[key], f"zero radii: {key}")
    assert_exact(n["realism_centre"][:5], np.zeros(5, dtype=np.int64), "no-hit ties -> 0")
    z = zeros[:, None]
    cross = get_backend(fast_backend).cross_pass(
        centres, points, z, None, False, 1, 1, make_options(num_threads=2), realism_radii=z
    )
    assert cross.n_rechecked <= 4000 * 4000 // 4, f"{cross.n_rechecked} float64 evaluations"


@pytest.mark.parametrize(
    ("boundary", "eps"), [("strict", None), ("inclusive", 1e-5), ("strict", 0.0)]
)
def test_zero_radii_realism_variants(boundary, eps, fast_backend):
    """Strict boundary and the squared (eps) form: every ratio 0 (or 1 at d = 0, eps 0)."""
    rng = np.random.default_rng(8)
    points, centres = _zero_radii_data(rng, 1500, 1500)
    _assert_ball_same(
        fast_backend, points, centres, np.zeros(1500), f"zero radii {boundary} eps={eps}",
        boundary=boundary, realism=True, realism_eps=eps,
    )  # fmt: skip


@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
def test_inexact_mode_keeps_pairs_on_the_ball_boundary(boundary, fast_backend):
    """Small-integer lattice: every float32 estimate is exact, so exact=False must count the
    many fakes lying exactly on a real ball's boundary like the oracle does (the scan keeps a
    pair whose estimate equals the ball's reach)."""
    grid = np.stack(np.meshgrid(np.arange(6.0), np.arange(6.0)), axis=-1).reshape(-1, 2)
    real = grid.astype(np.float32)
    fake = (grid + np.array([1.0, 0.0])).astype(np.float32)
    expected = fastprdc.density_coverage(real, fake, k=4, boundary=boundary, sample_level=True,
                                         **NUMPY)  # fmt: skip
    got = fastprdc.density_coverage(real, fake, k=4, boundary=boundary, sample_level=True,
                                    exact=False, **_fast(fast_backend))  # fmt: skip
    assert_exact(got["n_real_balls"], expected["n_real_balls"], "balls per fake")
    assert_exact(got["covered"], expected["covered"], "covered")
    assert got["density"] == expected["density"] and got["coverage"] == expected["coverage"]


@pytest.mark.parametrize("tile_rows", [1, 3, 17, None])
def test_numpy_oracle_ties_do_not_depend_on_row_blocks(tile_rows):
    """The numpy oracle itself (which every other backend is compared with) processes row
    blocks: on a lattice full of exact ties its neighbour lists equal the package-independent
    brute force and its realism keeps the lowest maximising centre, for any block size."""
    rng = np.random.default_rng(11)
    X = rng.integers(0, 3, (60, 3)) / 2.0
    Y = rng.integers(0, 3, (45, 3)) / 2.0
    kw = {"device": "numpy", "tile_rows": tile_rows}
    for args, tag in (((X,), "self"), ((X, Y), "cross")):
        dist, idx = P.knn(*args, k=30, **kw)
        bd, bi = brute_knn(*args, k=30)
        assert_exact(idx, bi, f"{tag} indices, tile_rows={tile_rows}")
        assert_exact(dist, bd, f"{tag} distances, tile_rows={tile_rows}")
    radii = rng.choice([0.0, 0.5, 1.0], Y.shape[0])
    got = P.ball_membership(X, Y, radii, realism=True, **kw)
    D = brute_dist(X, Y)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(D > 0, radii[None, :] / D, np.where(radii[None, :] > 0, np.inf, 1.0))
    assert_exact(got["realism_centre"], np.argmax(ratio, axis=1), "realism centre (lowest)")
    assert_exact(got["realism"], ratio.max(axis=1), "realism")
    assert_exact(got["nearest_centre"], np.argmin(D, axis=1), "nearest centre (lowest)")
    assert_exact(got["nearest_point"], np.argmin(D, axis=0), "nearest point (lowest)")


# ---------------------------------------------------------------------------
# exact duplicates: grouped by value, decided without the oracle (every fast backend)
# ---------------------------------------------------------------------------


def _first_occurrence(*sets):
    """Per row of the concatenated sets, the position of the first row with the same values
    (compared as float64: -0.0 == 0.0, and a float32 row equals a float64 row of its values)."""
    seen: dict = {}
    rows = [tuple(float(v) + 0.0 for v in r) for s in sets for r in s]
    return np.array([seen.setdefault(r, p) for p, r in enumerate(rows)], dtype=np.int64)


def test_duplicate_groups_compare_values():
    """Groups hold exactly the rows with equal values: -0.0 joins 0.0, a float32 row joins the
    float64 row of its values, a row one ulp away or 0.1f against 0.1 stays apart."""
    from fastprdc import _core

    up = np.nextafter(1.0, 2.0)
    X = np.array([[0.5, 0.0, 1.0], [0.5, -0.0, 1.0], [0.5, 0.0, up], [0.1, 0, 0]])
    for dx, dy in ((np.float64, np.float64), (np.float32, np.float64), (np.float32, np.float32)):
        x, y = X.astype(dx), X[[3, 1, 0, 2]].astype(dy)
        ids, any_ = _core.duplicate_groups(x, y)
        assert_exact(ids, _first_occurrence(x, y), f"{dx.__name__} / {dy.__name__}")
        assert any_
    ids, _ = _core.duplicate_groups(X[:1].astype(np.float32), np.array([[0.5, 0.0, 1.0]]))
    assert ids.tolist() == [0, 0]
    ids, _ = _core.duplicate_groups(X[3:].astype(np.float32), X[3:])
    assert ids.tolist() == [0, 1]  # 0.1f != 0.1
    ids, any_ = _core.duplicate_groups(np.eye(4), np.zeros((0, 4)))
    assert ids.tolist() == [0, 1, 2, 3] and not any_


def test_duplicate_groups_random_copies(rng):
    """Thousands of rows from a small lattice (most of them copies): the ids equal a
    first-occurrence dictionary's, for any thread count."""
    from fastprdc import _core

    X = rng.integers(0, 3, (3000, 4)) / 2.0
    Y = rng.integers(0, 3, (1000, 4)).astype(np.float32) / 2
    want = _first_occurrence(X, Y)
    for threads in (1, 2):
        ids, any_ = _core.duplicate_groups(X, Y.astype(np.float64), num_threads=threads)
        assert_exact(ids, want, f"{threads} threads")
        assert any_


def _same_values(X):
    """``same`` for group_ids over the rows of X (float64 comparison, as the device's)."""
    return lambda x, y: (X[x].astype(np.float64) == X[y].astype(np.float64)).all(axis=1)


@pytest.mark.parametrize("spread", [1, 2, 5, 2**64 - 1])
def test_group_ids_do_not_rest_on_the_hash(spread, rng):
    """The GPU engine's grouping (row hashes from the device, then comparisons): hashes that
    collide everywhere (spread 1: every row has the same hash) or often still give the
    first-occurrence ids, and rows that are equal are compared with their group's first row."""
    from fastprdc._backends.row_groups import group_ids

    X = rng.integers(0, 3, (400, 3)) / 2.0
    X[rng.random(X.shape) < 0.1] = -0.0
    hashes = rng.integers(0, spread, len(X), dtype=np.uint64, endpoint=True)
    # equal rows must hash alike: take each group's hash from its first row
    first = _first_occurrence(X)
    hashes = hashes[first]
    assert_exact(group_ids(hashes, _same_values(X)), first, f"spread {spread}")
    assert_exact(group_ids(np.zeros(0, np.uint64), _same_values(X)), np.zeros(0, np.int64), "empty")


def test_gpu_groups_equal_the_cpu_groups(rng):
    """The device hash and comparison (kernels hash_rows, compare_rows, run by the sim backend)
    give the CPU engine's ids: -0.0 with 0.0, float32 rows with the float64 rows of their values,
    a row one ulp away apart, sets of different dtypes, a set alone (the self pass)."""
    from fastprdc import _core

    sim = get_backend("sim")
    up = np.nextafter(1.0, 2.0)
    X = np.array([[0.5, 0.0, 1.0], [0.5, -0.0, 1.0], [0.5, 0.0, up], [0.1, 0, 0]])
    L = rng.integers(0, 3, (900, 9)) / 2.0
    cases = [(X, X[[3, 1, 0, 2]]), (X.astype(np.float32), X), (L[:600], L[600:].astype(np.float32))]
    with sim.ops.current():
        for x, y in cases:
            want, _ = _core.duplicate_groups(x, y)
            assert_exact(want, _first_occurrence(x, y), f"cpu {x.dtype} / {y.dtype}")
            got = sim._groups([sim._set(x, "x"), sim._set(y, "y")])
            assert_exact(got, want, f"{x.dtype} / {y.dtype}")
            assert_exact(sim._groups([sim._set(y, "y")]), _first_occurrence(y), "one set")
        assert sim._groups([sim._set(np.eye(4), "x")]) is None


def _copies(rng, dtype, n_groups=40, d=5):
    """Rows in groups of 1 to 9 identical copies (sizes around every k tested, so some lists
    are filled by copies alone and some need one more neighbour), shuffled, with near-copies
    that must not join a group (one element one ulp away) and copies whose zeros are -0.0
    (which do: the same values)."""
    sizes = rng.integers(1, 10, n_groups)
    X = np.repeat(rng.integers(-2, 3, (n_groups, d)) / 2.0, sizes, axis=0).astype(dtype)
    near = X[:8].copy()
    near[:, 0] = np.nextafter(near[:, 0], dtype(np.inf))
    negative_zero = X[8:16].copy()
    negative_zero[negative_zero == 0] = -0.0
    X = np.concatenate([X, near, negative_zero])
    return X[rng.permutation(len(X))]


def _real_and_fake(rng, dtype):
    real = _copies(rng, dtype)
    fake = np.concatenate([_copies(rng, dtype), real[rng.integers(0, len(real), 60)]])
    return real, fake[rng.permutation(len(fake))]


@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
def test_copies_evaluate_all_matches_numpy(boundary, dtype, fast_backend):
    """Groups of copies inside and across the sets, near-copies, -0.0: metrics="all",
    sample_level=True equals the oracle at k below, at and above the group sizes."""
    rng = np.random.default_rng(12)
    for trial in range(3):
        R, F = _real_and_fake(rng, dtype)
        kw = {"k": [1, 3, 5, 8], "metrics": "all", "boundary": boundary, "sample_level": True}
        rc = quiet(fastprdc.evaluate, R, F, **kw, **_fast(fast_backend))
        rn = quiet(fastprdc.evaluate, R, F, **kw, **NUMPY)
        assert_results_equal(rc, rn, f"copies trial {trial}")


def test_copies_primitives_match_numpy(dtype, fast_backend):
    """Self and cross kNN at every k up to beyond the largest group, ball membership with
    realism (both forms, both boundaries) on radii that are mostly 0."""
    rng = np.random.default_rng(13)
    for trial in range(2):
        R, F = _real_and_fake(rng, dtype)
        tag = f"copies trial {trial}"
        for k in (1, 2, 4, 8, 11):
            _assert_knn_same(fast_backend, R, None, k, f"{tag} self k={k}")
            _assert_knn_same(fast_backend, F, R, k, f"{tag} cross k={k}")
            _assert_knn_same(fast_backend, R, F, k, f"{tag} cross back k={k}")
        radii = P.kth_radii(R, 4, **NUMPY)
        assert (radii == 0).mean() > 0.3, "the case needs many zero radii"
        for boundary, eps in (("inclusive", None), ("strict", None), ("inclusive", 1e-3)):
            _assert_ball_same(
                fast_backend, F, R, radii, f"{tag} ball {boundary} eps={eps}",
                boundary=boundary, realism=True, realism_eps=eps,
            )  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_rows_need_no_float64_evaluation(dtype, fast_backend):
    """Rows are grouped by value once per pass (on the GPU by a device hash and comparison), so
    identical rows' pairs are decided without the oracle (their distance is 0, and a distinct row
    is farther than a radius of 0) and a list that k copies fill is preset: no float64 evaluation
    at all, where each pair of copies would otherwise be rechecked (about 1.24 n^2 evaluations
    for the self-kNN alone)."""
    X = np.full((2000, 8), 0.37, dtype=dtype)
    Y = np.full((1500, 8), 0.37, dtype=dtype)
    engine = get_backend(fast_backend)
    opts = make_options(num_threads=2)
    res = engine.knn(X, None, 5, opts)
    assert_exact(res.idx, _lowest_others(2000, 5), "self indices")
    assert res.n_rechecked == 0, res.n_rechecked
    z = np.zeros((2000, 1))
    cross = engine.cross_pass(X, Y, z, np.zeros((1500, 1)), False, 3, 3, opts, realism_radii=z)
    assert_exact(cross["a_knn_idx"], np.broadcast_to(np.arange(3), (2000, 3)), "cross indices")
    assert_exact(cross["b_count"], np.full((1500, 1), 2000), "A balls holding each B row")
    assert_exact(cross["a_ball_count"], np.full((2000, 1), 1500), "B rows in each A ball")
    assert cross.n_rechecked == 0, cross.n_rechecked


def test_copies_of_the_kth_neighbour_are_barred(fast_backend):
    """16 rows at distance 1 from a row repeated 2000 times: each row's list holds k of those
    copies, and every later copy ties with its k-th entry. After one exact compaction the list's
    bar (the k-th entry's group and index) refuses them, with no further compaction: a few
    evaluations per row, where each compaction of a list of ties would cost one (about 180 per
    row without the bars). Neighbours equal the numpy oracle's."""
    d, k = 8, 3
    centre = np.full(d, 0.5)
    rows = centre + np.concatenate([np.eye(d), -np.eye(d)])
    copies = np.repeat(centre[None], 2000, axis=0)
    X = np.concatenate([rows, copies])
    engine, opts = get_backend(fast_backend), make_options(num_threads=2, tile_rows=512)
    for res, want in (
        (engine.knn(X, None, k, opts), P.knn(X, k=k, **NUMPY)),
        (engine.knn(rows, copies, k, opts), P.knn(rows, copies, k=k, **NUMPY)),
    ):
        assert_exact(res.idx, want[1], "indices")
        assert_exact(res.dist, want[0], "distances")
        assert res.n_rechecked <= 10 * len(rows), res.n_rechecked
    back = engine.cross_pass(copies, rows, None, None, False, 0, k, opts)  # the lists of B
    assert_exact(back["b_knn_idx"], want[1], "lists of B")
    assert back.n_rechecked <= 10 * len(rows), back.n_rechecked


@pytest.mark.parametrize("extreme", [False, True], ids=["plain", "extreme"])
@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
def test_zero_radius_balls_counted_from_groups(boundary, extreme, fast_backend):
    """Inclusive balls of radius 0 hold exactly their centre's copies: counted from the row
    groups, their pairs left out of the sweep. Radii of 0 (one column), -0.0 (another) and
    positive ones beside either (a smallest radius of -0.0 from the groups must stay below the
    sweep's positive ones, whose counters take atomic minima), balls both ways: every count
    and smallest radius equals numpy's, the sign of a zero radius included (within a column of
    one sign: numpy's reductions leave the sign of a minimum over 0 and -0.0 unspecified).
    Also on data too extreme for the bound (a column of 2^996 beside differences of 1e-300:
    every pair comes with a lower bound of -inf), where the sweep must still leave those balls
    alone."""
    rng = np.random.default_rng(14)
    C = np.repeat(rng.integers(0, 3, (6, 3)) / 2.0, 5, axis=0)[rng.permutation(30)]
    P_ = np.concatenate([C[:10], rng.integers(0, 3, (10, 3)) / 2.0])
    if extreme:
        C, P_ = (np.concatenate([np.full((len(x), 1), 2.0**996), x * 1e-300], 1) for x in (C, P_))
    ra = np.zeros((30, 3))
    ra[:, 0] = -0.0
    ra[rng.random(30) < 0.3, 1] = 0.7
    ra[:, 2] = np.where(rng.random(30) < 0.3, 0.7, -0.0)
    rb = np.where(rng.random((20, 1)) < 0.5, -0.0, 0.4)
    opts, strict = make_options(num_threads=2), boundary == "strict"
    got = get_backend(fast_backend).cross_pass(C, P_, ra, rb, strict, 0, 0, opts)
    want = get_backend("numpy").cross_pass(C, P_, ra, rb, strict, 0, 0, opts)
    for key in (
        "b_count",
        "b_min_radius",
        "a_ball_count",
        "a_count",
        "a_min_radius",
        "b_ball_count",
    ):
        assert_exact(got[key], want[key], key)
        assert_exact(np.signbit(got[key]), np.signbit(want[key]), f"{key} sign")


def test_strict_zero_radius_balls_need_no_pair(fast_backend):
    """boundary="strict" with radius 0: d < 0 holds for no pair, so such a ball holds nothing
    and needs no pair at all, identical rows included: no float64 evaluation on any backend."""
    X = np.full((600, 8), 0.37)
    Y = X[:500].copy()
    cross = get_backend(fast_backend).cross_pass(
        X, Y, np.zeros((600, 1)), np.zeros((500, 1)), True, 0, 0, make_options(num_threads=2)
    )
    assert_exact(cross["b_count"], np.zeros((500, 1), dtype=np.int64), "A balls holding B rows")
    assert_exact(cross["a_ball_count"], np.zeros((600, 1), dtype=np.int64), "B rows in A balls")
    assert_exact(cross["a_count"], np.zeros((600, 1), dtype=np.int64), "B balls holding A rows")
    assert cross.n_rechecked == 0, cross.n_rechecked


def test_copies_on_data_too_extreme_for_the_bound(fast_backend):
    """A constant column of 2^996 beside differences of 1e-300: the bound's absolute term is
    +inf, so every pair is offered (lower bound -inf), even to a list its copies already fill:
    the list must still hold k distinct neighbours, the lowest copies first."""
    X = np.zeros((8, 2))
    X[:, 0] = 2.0**996
    X[:, 1] = np.array([0, 0, 0, 0, 1, 2, 3, 4]) * 1e-300
    for k in (2, 3, 5):
        _assert_knn_same(fast_backend, X, None, k, f"extreme self k={k}")
        _assert_knn_same(fast_backend, X[:3].copy(), X, k, f"extreme cross k={k}")
        _assert_knn_same(fast_backend, X, X[:3].copy(), 3, "extreme cross back")
