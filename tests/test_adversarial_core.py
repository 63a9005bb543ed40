"""Adversarial regression tests for the native core (review findings on csrc/).

Every test compares the cpu backend with the float64 numpy oracle (``device="numpy"``,
which defines "exact") and, where it is cheap, with the package-independent brute-force
oracle of ``_helpers.py``:

1. sqrt ties: two squared distances one ulp apart round to the same ``sqrt``; the oracle
   ranks by the rounded distance (then index), so the cpu must not rank by ``d^2``;
2. massive ties (all-identical rows, all-zero realism radii) give the right answer in
   bounded memory (the candidate lists were O(N M) before: 4 GB for N = 20000);
3. extreme magnitudes: values whose squared differences overflow are rejected with a
   clear ValueError by every public entry; tiny (underflowing, subnormal) values give
   exactly the oracle's results;
4. a ``tile_rows`` far beyond the number of rows neither crashes nor changes anything.

Everything that could crash or exhaust memory before the fix runs in a subprocess, so a
regression is reported as a failure instead of killing the test session.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from _helpers import PEAK_BYTES_SRC, assert_exact, brute_knn, brute_membership
from _oracles import assert_same

import fastprdc
from fastprdc import primitives as P

MB = 1024 * 1024
CPU = {"device": "cpu", "num_threads": 2}
NUMPY = {"device": "numpy"}
ALL_KEYS = (
    "count", "any", "min_radius", "nearest_centre", "nearest_centre_distance",
    "any_point", "point_count", "nearest_point", "nearest_point_distance",
)  # fmt: skip
REALISM_KEYS = ("realism", "realism_centre")


# ---------------------------------------------------------------------------
# comparison helpers
# ---------------------------------------------------------------------------


def _quiet(fn, *args, **kwargs):
    """pce_rce_re warns (RuntimeWarning) on zero distances, which quantised data has."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _assert_tree_same(a, b, path):
    """Nested dicts / lists / arrays / scalars equal bit for bit (NaN == NaN)."""
    if isinstance(a, dict):
        assert isinstance(b, dict), f"{path}: dict vs {type(b).__name__}"
        assert set(a) == set(b), f"{path}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"
        for key in a:
            _assert_tree_same(a[key], b[key], f"{path}/{key}")
    elif a is None or b is None:
        assert a is b, f"{path}: {a!r} != {b!r}"
    elif isinstance(a, (list, tuple)) and a and isinstance(a[0], (dict, list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_tree_same(x, y, f"{path}[{i}]")
    else:
        assert_same(a, b, path)


def _assert_eval_same(res_cpu, res_np, tag):
    """Every scalar, curve and per-sample array of two EvaluationResults is identical."""
    for part in ("scalars", "curves", "samples"):
        _assert_tree_same(getattr(res_cpu, part), getattr(res_np, part), f"{tag}:{part}")


def _assert_knn_same(X, Y, k, tag, **kw):
    dc, ic = P.knn(X, Y, k, **CPU, **kw)
    dn, in_ = P.knn(X, Y, k, **NUMPY, **kw)
    assert_same(dc, dn, f"{tag}: knn distances")
    assert_exact(ic, in_, f"{tag}: knn indices")
    return dn, in_


def _assert_ball_same(points, centres, radii, tag, **kw):
    c = P.ball_membership(points, centres, radii, **CPU, **kw)
    n = P.ball_membership(points, centres, radii, **NUMPY, **kw)
    assert set(c) == set(n), f"{tag}: keys {sorted(c)} != {sorted(n)}"
    for key in n:
        assert_same(c[key], n[key], f"{tag}: {key}")
    return n


# ---------------------------------------------------------------------------
# 1. sqrt ties: rank by the rounded distance, then by index
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
def test_sqrt_tie_self_knn(k):
    dist, idx = _assert_knn_same(SQRT_TIE, None, k, f"sqrt tie k={k}")
    bd, bi = brute_knn(SQRT_TIE, k=k)
    assert_same(dist, bd, "numpy vs brute distances")
    assert_exact(idx, bi, "numpy vs brute indices")
    assert idx[0, 0] == 1


def test_sqrt_tie_cross_knn_and_radii():
    _, idx = _assert_knn_same(SQRT_TIE[:1], SQRT_TIE[1:], 2, "sqrt tie cross")
    assert_exact(idx, [[0, 1]], "cross indices")
    rc = P.kth_radii(SQRT_TIE, [1, 2], **CPU)
    rn = P.kth_radii(SQRT_TIE, [1, 2], **NUMPY)
    for k in (1, 2):
        assert_same(rc[k], rn[k], f"kth_radii k={k}")


@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
def test_sqrt_tie_ball_nearest(boundary):
    """nearest_centre / nearest_point / realism_centre break the sqrt tie by index."""
    radii = np.array([1.6, 1.6])  # both centres' balls hold the point
    n = _assert_ball_same(
        SQRT_TIE[:1], SQRT_TIE[1:], radii, "sqrt tie ball", boundary=boundary, realism=True
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
def test_quantised_evaluate_all_matches_numpy(kind, boundary):
    """metrics="all", sample_level=True: every array and scalar identical (equal_nan)."""
    rng = np.random.default_rng(3 if kind == "thirds" else 4)
    for trial in range(6):
        R, F = QUANTISED[kind](rng)
        kw = {"k": [1, 3], "metrics": "all", "boundary": boundary, "sample_level": True}
        rc = _quiet(fastprdc.evaluate, R, F, **kw, **CPU)
        rn = _quiet(fastprdc.evaluate, R, F, **kw, **NUMPY)
        _assert_eval_same(rc, rn, f"{kind} trial {trial}")


@pytest.mark.parametrize("kind", sorted(QUANTISED))
def test_quantised_primitives_match_numpy(kind):
    """Self / cross kNN over every k and ball membership (nearest indices, realism)."""
    rng = np.random.default_rng(5 if kind == "thirds" else 6)
    for trial in range(10):
        R, F = QUANTISED[kind](rng)
        n = R.shape[0]
        tag = f"{kind} trial {trial}"
        dist, idx = _assert_knn_same(R, None, n - 1, f"{tag} self")
        bd, bi = brute_knn(R, k=n - 1)
        assert_same(dist, bd, f"{tag}: numpy vs brute distances")
        assert_exact(idx, bi, f"{tag}: numpy vs brute indices")
        _assert_knn_same(F, R, n, f"{tag} cross")
        radii = P.kth_radii(R, 3, **NUMPY)
        for boundary in ("inclusive", "strict"):
            got = _assert_ball_same(
                F, R, radii, f"{tag} ball {boundary}", boundary=boundary, realism=True
            )
            brute = brute_membership(F, R, radii, boundary)
            for key in ("count", "nearest_centre", "nearest_point", "min_radius"):
                assert_same(got[key], brute[key], f"{tag}: numpy vs brute {key}")


# ---------------------------------------------------------------------------
# 2. massive ties: right answer, bounded time and memory
# ---------------------------------------------------------------------------


def _lowest_others(n, k):
    """Self-kNN indices when every row is identical: the k lowest indices except self."""
    base = np.arange(k)[None, :]
    rows = np.arange(n)[:, None]
    return base + (base >= rows)


def test_identical_rows_self_knn():
    n, d, k = 3000, 8, 5
    X = np.full((n, d), 0.37)
    expected = _lowest_others(n, k)
    t0 = time.perf_counter()
    dist, idx = P.knn(X, k=k, **CPU)
    elapsed = time.perf_counter() - t0
    assert_exact(idx, expected, "cpu indices")
    assert_exact(dist, np.zeros((n, k)), "cpu distances")
    dn, in_ = P.knn(X, k=k, **NUMPY)
    assert_exact(in_, expected, "numpy indices")
    assert_exact(dn, np.zeros((n, k)), "numpy distances")
    assert elapsed < 10.0, f"self-kNN of {n} identical rows took {elapsed:.1f} s"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_rows_cross_knn_and_radii(dtype):
    X = np.zeros((700, 8), dtype=dtype)
    Y = np.zeros((2500, 8), dtype=dtype)
    _, idx = _assert_knn_same(X, Y, 5, "identical cross")
    assert_exact(idx, np.broadcast_to(np.arange(5), (700, 5)), "cross indices")
    rc = P.kth_radii(Y, [1, 5], **CPU)
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


def test_zero_radii_realism_matches_numpy():
    rng = np.random.default_rng(7)
    points, centres = _zero_radii_data(rng, 4000, 4000)
    zeros = np.zeros(centres.shape[0])
    t0 = time.perf_counter()
    c = P.ball_membership(points, centres, zeros, realism=True, **CPU)
    elapsed = time.perf_counter() - t0
    n = P.ball_membership(points, centres, zeros, realism=True, **NUMPY)
    for key in n:
        assert_same(c[key], n[key], f"zero radii: {key}")
    assert_exact(n["realism_centre"][:5], np.zeros(5, dtype=np.int64), "no-hit ties -> 0")
    assert elapsed < 10.0, f"zero-radii realism 4000 x 4000 took {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("boundary", "eps"), [("strict", None), ("inclusive", 1e-5), ("strict", 0.0)]
)
def test_zero_radii_realism_variants(boundary, eps):
    """Strict boundary and the squared (eps) form: every ratio 0 (or 1 at d = 0, eps 0)."""
    rng = np.random.default_rng(8)
    points, centres = _zero_radii_data(rng, 1500, 1500)
    _assert_ball_same(
        points, centres, np.zeros(1500), f"zero radii {boundary} eps={eps}",
        boundary=boundary, realism=True, realism_eps=eps,
    )  # fmt: skip


MEM_SCRIPT = PEAK_BYTES_SRC + textwrap.dedent(
    """
    import json, sys, time
    import numpy as np


    from fastprdc import primitives as P
    kw = dict(device="cpu", num_threads=2)
    mode, n = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    if mode == "knn":
        X = np.zeros((n, 8))
    else:
        A = rng.random((n, 8))
        B = rng.random((n, 8))
        zeros = np.zeros(n)
    # warm up: native module, thread pool, small buffers
    P.knn(np.zeros((300, 8)), k=5, **kw)
    P.ball_membership(A[:300] if mode != "knn" else np.zeros((300, 8)),
                      np.zeros((300, 8)), np.zeros(300), realism=True, **kw)
    base = peak_bytes()
    t0 = time.perf_counter()
    if mode == "knn":
        dist, idx = P.knn(X, k=5, **kw)
        ok = bool(np.array_equal(idx[:, 0], np.where(np.arange(n) == 0, 1, 0)))
        ok &= bool(np.array_equal(idx[-1], np.arange(5))) and not dist.any()
    else:
        out = P.ball_membership(A, B, zeros, realism=True, **kw)
        ok = bool((out["realism"] == 0).all() and (out["realism_centre"] == 0).all())
    print(json.dumps({"base": base, "peak": peak_bytes(), "ok": ok,
                      "seconds": time.perf_counter() - t0}))
    """
)


def _measure(mode, n):
    proc = subprocess.run(
        [sys.executable, "-c", MEM_SCRIPT, mode, str(n)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-3000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["extra"] = out["peak"] - out["base"]
    return out


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads VmHWM from /proc/self/status (Linux)"
)


@linux_only
@pytest.mark.slow  # ~6 s: every identical pair goes through the exact recheck
def test_identical_rows_knn_memory_bounded():
    """20000 identical rows, k = 5: tie candidates must not grow as N^2 (was 4 GB)."""
    out = _measure("knn", 20000)
    assert out["ok"], out
    assert out["extra"] < 200 * MB, (
        f"self-kNN of 20000 identical rows grew peak memory by {out['extra'] / MB:.0f} MB "
        f"in {out['seconds']:.1f} s"
    )


@linux_only
def test_zero_radii_realism_memory_bounded():
    """8000 x 8000 with all-zero radii: every ratio ties at 0 (was O(N M) memory: 500 MB
    here, 4 GB at 20000)."""
    out = _measure("realism", 8000)
    assert out["ok"], out
    assert out["extra"] < 200 * MB, (
        f"zero-radii realism 8000 x 8000 grew peak memory by {out['extra'] / MB:.0f} MB "
        f"in {out['seconds']:.1f} s"
    )


# ---------------------------------------------------------------------------
# 3. extreme magnitudes
# ---------------------------------------------------------------------------

OVERFLOW = r"(?i)overflow|too large"


def _with_value(rng, shape, value):
    x = rng.random(shape)
    x[shape[0] // 2, -1] = value
    return x


ENTRIES = {
    "knn": lambda R, F, kw: P.knn(R, k=3, **kw),
    "knn_cross_Y": lambda R, F, kw: P.knn(F, R, k=3, **kw),
    "knn_cross_X": lambda R, F, kw: P.knn(R, F, k=3, **kw),
    "kth_radii": lambda R, F, kw: P.kth_radii(R, 3, **kw),
    "ball_points": lambda R, F, kw: P.ball_membership(R, F, np.ones(len(F)), **kw),
    "ball_centres": lambda R, F, kw: P.ball_membership(F, R, np.ones(len(R)), **kw),
    "pairwise": lambda R, F, kw: P.pairwise_distances(R, F, **kw),
    "precision_recall": lambda R, F, kw: fastprdc.precision_recall(R, F, k=3, **kw),
    "precision_recall_fake": lambda R, F, kw: fastprdc.precision_recall(F, R, k=3, **kw),
    "density_coverage": lambda R, F, kw: fastprdc.density_coverage(R, F, k=3, **kw),
    "evaluate": lambda R, F, kw: _quiet(fastprdc.evaluate, R, F, k=3, metrics="all", **kw),
}


@pytest.mark.parametrize("device", ["numpy", "cpu"])
@pytest.mark.parametrize("value", [1e308, -1e308, 6e307])
@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_overflowing_values_rejected(entry, value, device):
    """One value whose distances would exceed float64's range (width 3: |value| above
    max_magnitude(3) ~ 5.2e307): a clear ValueError."""
    rng = np.random.default_rng(9)
    R = _with_value(rng, (40, 3), value)  # the offending value sits in R
    F = rng.random((30, 3))
    with pytest.raises(ValueError, match=OVERFLOW):
        ENTRIES[entry](R, F, {"device": device})


@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_overflowing_scaled_data_rejected(device):
    """Whole data sets at the top of float64's range (not one outlier)."""
    rng = np.random.default_rng(10)
    R = rng.random((40, 3)) * 1e308
    F = rng.random((30, 3)) * 1e308
    for call in (
        lambda: P.knn(R, k=3, device=device),
        lambda: fastprdc.precision_recall(R, F, k=3, device=device),
        lambda: _quiet(fastprdc.evaluate, R, F, k=3, metrics="all", device=device),
    ):
        with pytest.raises(ValueError, match=OVERFLOW):
            call()


@pytest.mark.parametrize("scale", [1e140, 2e154, 1e200, 1e300])
def test_large_values_exact(scale):
    """Large magnitudes (squares far beyond float64) are evaluated on the pair-scaled oracle:
    accepted, cpu == numpy == the brute-force oracle."""
    rng = np.random.default_rng(11)
    R = rng.random((40, 3)) * scale
    F = rng.random((30, 3)) * scale
    _assert_knn_same(R, None, 3, f"{scale:g} self")
    _assert_knn_same(F, R, 3, f"{scale:g} cross")
    assert_same(P.knn(R, k=3, **CPU)[0], brute_knn(R, k=3)[0], f"{scale:g} vs brute")
    radii = P.kth_radii(R, 3, **NUMPY)
    for boundary in ("inclusive", "strict"):
        _assert_ball_same(F, R, radii, f"{scale:g} {boundary}", boundary=boundary, realism=True)
    kw = {"k": 3, "metrics": "all", "sample_level": True}
    _assert_eval_same(
        _quiet(fastprdc.evaluate, R, F, **kw, **CPU),
        _quiet(fastprdc.evaluate, R, F, **kw, **NUMPY),
        f"{scale:g} evaluate",
    )


@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_magnitude_cap_boundary(device):
    """Exactly max_magnitude(d) is accepted (and exact); the next float above it is rejected."""
    from fastprdc._validation import max_magnitude

    cap = max_magnitude(3)
    rng = np.random.default_rng(18)
    R = rng.random((20, 3))
    R[3, 1] = cap
    R[7, 2] = -cap
    dist, _ = P.knn(R, k=2, device=device)
    assert np.isfinite(dist).all()
    assert_same(dist, brute_knn(R, k=2)[0], "cap distances vs brute")
    for bad in (np.nextafter(cap, np.inf), -np.nextafter(cap, np.inf)):
        R[5, 0] = bad
        with pytest.raises(ValueError, match=OVERFLOW):
            P.knn(R, k=2, device=device)
        R[5, 0] = 0.5


# ---------------------------------------------------------------------------
# 4. tile_rows far beyond the input size
# ---------------------------------------------------------------------------

TILE_SCRIPT = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np
    import fastprdc
    from fastprdc import primitives as P

    def same(a, b, name):
        if isinstance(a, dict):
            assert set(a) == set(b), name
            for key in a:
                same(a[key], b[key], f"{name}/{key}")
        elif isinstance(a, (tuple, list)) and a and not np.isscalar(a[0]):
            for i, (x, y) in enumerate(zip(a, b)):
                same(x, y, f"{name}[{i}]")
        else:
            x, y = np.asarray(a), np.asarray(b)
            ok = x.shape == y.shape and np.array_equal(
                x, y, equal_nan=x.dtype.kind == "f" and y.dtype.kind == "f")
            assert ok, f"{name}: {x!r} != {y!r}"

    tile = int(sys.argv[1])
    device = sys.argv[2]
    rng = np.random.default_rng(0)
    R = rng.random((50, 4)); F = rng.random((37, 4))
    R32 = R.astype(np.float32); F32 = F.astype(np.float32)
    kw = dict(device=device)
    big = dict(device=device, tile_rows=tile)
    radii = P.kth_radii(R, 3, **kw)
    for X, Y, tag in ((R, F, "f64"), (R32, F32, "f32")):
        same(P.knn(X, k=3, **big), P.knn(X, k=3, **kw), f"{tag} knn self")
        same(P.knn(Y, X, k=3, **big), P.knn(Y, X, k=3, **kw), f"{tag} knn cross")
        same(P.kth_radii(X, [1, 3], **big), P.kth_radii(X, [1, 3], **kw), f"{tag} radii")
        for b in ("inclusive", "strict"):
            same(P.ball_membership(Y, X, radii, boundary=b, realism=True, **big),
                 P.ball_membership(Y, X, radii, boundary=b, realism=True, **kw),
                 f"{tag} ball {b}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            a = fastprdc.evaluate(X, Y, k=[1, 3], metrics="all", sample_level=True, **big)
            b = fastprdc.evaluate(X, Y, k=[1, 3], metrics="all", sample_level=True, **kw)
        for part in ("scalars", "curves", "samples"):
            same(getattr(a, part), getattr(b, part), f"{tag} evaluate {part}")
    print("ok")
    """
)


@pytest.mark.parametrize("device", ["cpu", "numpy"])
@pytest.mark.parametrize("tile", [300_000, 10**8])
def test_huge_tile_rows_no_crash_same_result(tile, device):
    """In a subprocess: the native core aborted ("terminate called recursively")."""
    proc = subprocess.run(
        [sys.executable, "-c", TILE_SCRIPT, str(tile), device],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), (
        f"tile_rows={tile} on {device}: exit {proc.returncode}\n"
        f"stdout: {proc.stdout[-1500:]}\nstderr: {proc.stderr[-3000:]}"
    )
