"""Exact for every finite input: magnitudes from subnormal to near float64's limit, mixed
scales and wide integers, checked against arbitrary-precision arithmetic.

The check is independent of fastprdc and of floating point: every squared distance of a small
data set (12-30 rows, d = 2-5) is computed exactly with :class:`fractions.Fraction` (a float
converts to a Fraction exactly), and from those exact values:

(a) each distance the library returns lies within the float64 oracle's error bound of the exact
    distance (at most 2 ulp here), and equals, bit for bit, the oracle of docs/metrics.md
    section 10 replayed in exact arithmetic with each float64 rounding applied on its own
    (``float(Fraction)`` is correctly rounded; the square root is certified by comparing the
    squares of the rounding midpoints exactly);
(b) every neighbour order and every ball membership decision equals the exact one; the only
    exceptions allowed are pairs whose exact distances lie within that error bound of each
    other (near ties), and the random data sets below contain none, so there every decision
    must be the exact one;
(c) every fast backend equals the numpy oracle bit for bit.

Then every metric family of ``evaluate(metrics="all", sample_level=True)`` is audited: a NaN or
infinity appears only where docs/metrics.md calls for one (rarity NaN for a fake in no real
ball, section 4; realism +inf for a fake on a kept real of positive radius, section 3; -inf
entropy terms for zero distances and what follows from them, section 6); and scaling the data
by an exact power of two changes no count, share or ratio (scale invariance).

Integer inputs are converted without loss (section 9/10): integer data shifted by 2^26 scores
like the unshifted data (cast to float32 it did not: 0.40 / 1.00 instead of 0.82 / 0.96), and
integers above 2^53 are accepted exactly when float64 holds them, refused otherwise.

Each check is shown to fail on a deliberately wrong computation (an unscaled oracle, a float32
cast), so a passing test means something.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from _helpers import assert_results_equal, assert_same, assert_tree_same, brute_knn, quiet

import fastprdc
from fastprdc import primitives as P
from fastprdc._validation import max_magnitude

U = 2.0**-53  # unit roundoff of float64
TINY = 2.0**-1074  # smallest subnormal

# ---------------------------------------------------------------------------
# exact arithmetic
# ---------------------------------------------------------------------------


def exact_d2(x, y):
    """The exact squared distance of two float rows, as a Fraction."""
    return sum((Fraction(float(a)) - Fraction(float(b))) ** 2 for a, b in zip(x, y))


def exact_matrix(X, Y):
    return [[exact_d2(x, y) for y in Y] for x in X]


def high_precision_sqrt(q):
    """sqrt(q) as a 60-digit Decimal (relative error below 1e-59): far finer than float64."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(q.numerator) / Decimal(q.denominator)).sqrt()


def _is_even(c):
    return int(np.float64(c).view(np.int64)) % 2 == 0


def rounded_sqrt(q):
    """The float64 nearest sqrt(q) (ties to even), certified with exact comparisons: c is the
    answer when q lies between the squares of the midpoints to c's float neighbours."""
    if q == 0:
        return 0.0
    c = float(high_precision_sqrt(q))
    while True:
        lo, hi = float(np.nextafter(c, 0.0)), float(np.nextafter(c, np.inf))
        mid_lo, mid_hi = (Fraction(lo) + Fraction(c)) / 2, (Fraction(c) + Fraction(hi)) / 2
        if q < mid_lo**2 or (q == mid_lo**2 and not _is_even(c)):
            c = lo
        elif q > mid_hi**2 or (q == mid_hi**2 and not _is_even(c)):
            c = hi
        else:
            return c


def oracle_replayed(x, y):
    """docs/metrics.md section 10 in exact arithmetic, each float64 operation rounded on its own:
    delta_t = fl(x_t - y_t); s = 2^min(480 - e, 1023) from the largest |delta_t|;
    sum_t fl(fl(delta_t s)^2) sequentially; fl(sqrt); fl(/ s)."""
    deltas = [float(Fraction(float(a)) - Fraction(float(b))) for a, b in zip(x, y)]
    top = max((abs(v) for v in deltas), default=0.0)
    s = Fraction(2) ** min(480 - math.frexp(top)[1], 1023) if top > 0 else Fraction(1)
    acc = 0.0
    for delta in deltas:
        diff = float(Fraction(delta) * s)
        square = float(Fraction(diff) ** 2)
        acc = float(Fraction(acc) + Fraction(square))
    return float(Fraction(rounded_sqrt(Fraction(acc))) / s)


def unscaled_oracle(X, Y):
    """The plain float64 computation without the pair scale: underflows below ~1e-154 and
    overflows above ~1e154. Used only to show that the checks catch it."""
    with np.errstate(under="ignore", over="ignore"):
        diff = X[:, None, :] - Y[None, :, :]
        return np.sqrt((diff * diff).sum(axis=-1))


def error_bound(dist, dim):
    """A bound on |oracle - exact| for a distance near ``dist`` (d + 4 roundings relative,
    plus the subnormal grid of the scaled-back result)."""
    return Decimal((dim + 4) * U) * dist + Decimal(2 * TINY)


def ulps(a, b):
    """Number of float64 steps between two non-negative floats."""
    return abs(int(np.float64(a).view(np.int64)) - int(np.float64(b).view(np.int64)))


# ---------------------------------------------------------------------------
# checks (each returns nothing and raises AssertionError with the first failure)
# ---------------------------------------------------------------------------


def check_distances(D, X, Y, exact, *, replay=True):
    """(a): every D[i, j] within the error bound of the exact distance and at most 2 ulp from
    its correct rounding; with ``replay`` also bit-identical to the replayed oracle."""
    dim = X.shape[1]
    for i, x in enumerate(X):
        for j, y in enumerate(Y):
            q = exact[i][j]
            true = high_precision_sqrt(q)
            got = float(D[i, j])
            assert abs(Decimal(got) - true) <= error_bound(true, dim), (
                f"({i}, {j}): {got!r} is not within the oracle bound of the exact {true:.17e}"
            )
            correct = rounded_sqrt(q)
            assert ulps(got, correct) <= 2, f"({i}, {j}): {got!r} vs correctly rounded {correct!r}"
            if replay:
                expected = oracle_replayed(x, y)
                assert got == expected, f"({i}, {j}): {got!r} != replayed oracle {expected!r}"


def near_tie(a2, b2, dim):
    """Whether two exact squared distances are within the oracle's error bound of each other
    (their float64 distances may then compare either way, or be equal)."""
    a, b = high_precision_sqrt(a2), high_precision_sqrt(b2)
    return a2 != b2 and abs(a - b) <= 2 * error_bound(max(a, b), dim)


def exact_order(row, self_index=None):
    """Indices sorted by (exact squared distance, index), ``self_index`` left out."""
    return sorted((j for j in range(len(row)) if j != self_index), key=lambda j: (row[j], j))


def check_knn(idx, exact, dim, *, self_exclude):
    """(b) for neighbour lists: the library's list equals the exact order; a differing
    position must hold two exactly near-tied neighbours. Returns the number of near ties."""
    ties = 0
    for i, row in enumerate(exact):
        want = exact_order(row, i if self_exclude else None)[: idx.shape[1]]
        for pos, (g, w) in enumerate(zip(idx[i].tolist(), want)):
            if g != w:
                assert near_tie(row[g], row[w], dim), (
                    f"row {i}, position {pos}: neighbour {g} (exact d^2 {float(row[g]):.6e}) "
                    f"where the exact order has {w} ({float(row[w]):.6e})"
                )
                ties += 1
    return ties


def kth(values, k):
    return sorted(values)[k - 1]


def exact_radii2(exact_self, k):
    """Exact squared k-th neighbour radius of every row (self left out by position)."""
    return [kth([v for j, v in enumerate(row) if j != i], k) for i, row in enumerate(exact_self)]


def inside(d2, r2, boundary):
    return d2 <= r2 if boundary == "inclusive" else d2 < r2


def decided(points, centres, exact_cross, radii2, dim, k, boundary="inclusive"):
    """Point-in-ball decisions (points x centres, balls of the centres' k-th radius): the exact
    ones, except that a near-tied pair takes the library's decision (the one allowed freedom,
    checked by check_membership). Returns (decisions, number of near ties)."""
    D = P.pairwise_distances(points, centres, device="numpy")
    radii = P.kth_radii(centres, k, device="numpy")
    out, ties = [], 0
    for p, row in enumerate(exact_cross):
        out.append([])
        for c, d2 in enumerate(row):
            if near_tie(d2, radii2[c], dim):
                ties += 1
                out[-1].append(
                    bool(D[p, c] <= radii[c] if boundary == "inclusive" else D[p, c] < radii[c])
                )
            else:
                out[-1].append(inside(d2, radii2[c], boundary))
    return out, ties


def check_membership(decisions, exact_cross, radii2, dim, boundary):
    """(b) for balls: decisions[p][c] (point p in the ball of centre c) equals the exact
    decision unless the point's distance and the radius are near-tied. Returns near ties."""
    ties = 0
    for p, row in enumerate(exact_cross):
        for c, d2 in enumerate(row):
            want = inside(d2, radii2[c], boundary)
            if bool(decisions[p][c]) != want:
                assert near_tie(d2, radii2[c], dim), (
                    f"point {p}, ball {c}: library says {'in' if not want else 'out'}, exact "
                    f"d^2 {float(d2):.6e} vs r^2 {float(radii2[c]):.6e} says the opposite"
                )
                ties += 1
    return ties


# ---------------------------------------------------------------------------
# data sets: (real, fake) at the edges of float64
# ---------------------------------------------------------------------------


def _signed(rng, n, d, scale):
    return rng.standard_normal((n, d)) * scale


def _rows_at_two_scales(rng, n, d, small, large):
    x = _signed(rng, n, d, small)
    x[::2] = _signed(rng, (n + 1) // 2, d, large)
    return x


def _columns_at_two_scales(rng, n, d, small, large):
    x = _signed(rng, n, d, small)
    x[:, 0] = _signed(rng, n, 1, large)[:, 0]
    return x


#: (N, M, d) where it is not (24, 20, 3).
SHAPES = {
    "1e-310": (16, 14, 2),
    "1e150": (24, 20, 5),
    "columns 1e-150 and 1e150": (24, 20, 2),
    "rows 1e-150 and 1e150": (20, 18, 4),
    "real 1e-300, fake 1e-290": (30, 12, 5),
}


def make_set(name, seed=0):
    rng = np.random.default_rng(seed)
    n, m, d = SHAPES.get(name, (24, 20, 3))
    if name in ("1e-300", "1e-170", "1e150", "1e300", "1e-310"):
        scale = float(name)
        return _signed(rng, n, d, scale), _signed(rng, m, d, scale)
    if name == "rows 1e-150 and 1e150":
        return (
            _rows_at_two_scales(rng, n, d, 1e-150, 1e150),
            _rows_at_two_scales(rng, m, d, 1e-150, 1e150),
        )
    if name == "columns 1e-150 and 1e150":
        return (
            _columns_at_two_scales(rng, n, d, 1e-150, 1e150),
            _columns_at_two_scales(rng, m, d, 1e-150, 1e150),
        )
    if name == "real 1e-300, fake 1e-290":
        return _signed(rng, n, d, 1e-300), _signed(rng, m, d, 1e-290)
    if name == "tiny and huge rows":
        return (
            _rows_at_two_scales(rng, n, d, 1e-300, 1e300),
            _rows_at_two_scales(rng, m, d, 1e-300, 1e300),
        )
    raise ValueError(name)  # pragma: no cover


SETS = [
    "1e-300",
    "1e-170",
    "1e150",
    "1e300",
    "1e-310",
    "rows 1e-150 and 1e150",
    "columns 1e-150 and 1e150",
    "real 1e-300, fake 1e-290",
    "tiny and huge rows",
]


#: Sets with near ties: a tiny row is as far from a huge row as any other tiny row, to within
#: 1e-300 relative (their exact distances differ, their float64 distances do not).
NEAR_TIES = {"rows 1e-150 and 1e150", "tiny and huge rows"}


class Exact:
    """Every exact squared distance of a (real, fake) pair."""

    def __init__(self, real, fake):
        self.dim = real.shape[1]
        self.rr = exact_matrix(real, real)
        self.ff = exact_matrix(fake, fake)
        self.fr = exact_matrix(fake, real)  # (M, N)
        self.rf = [list(col) for col in zip(*self.fr)]  # (N, M)


_EXACT_CACHE: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, Exact]] = {}


def exact_set(name, seed=0):
    """(real, fake, Exact) of a named set, computed once per session."""
    if (name, seed) not in _EXACT_CACHE:
        real, fake = make_set(name, seed)
        _EXACT_CACHE[(name, seed)] = (real, fake, Exact(real, fake))
    return _EXACT_CACHE[(name, seed)]


# ---------------------------------------------------------------------------
# (a) distances, (b) decisions, (c) backends
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SETS)
def test_distances_equal_exact_arithmetic(name, fast_backend):
    """(a) and (c): self and cross distances against the Fraction values."""
    real, fake, ex = exact_set(name)
    for X, Y, exact in ((real, real, ex.rr), (fake, real, ex.fr)):
        D = P.pairwise_distances(X, Y, device="numpy")
        assert np.array_equal(P.pairwise_distances(X, Y, device=fast_backend), D)
        check_distances(D, X, Y, exact)


@pytest.mark.parametrize("name", SETS)
def test_neighbour_orders_equal_exact(name, fast_backend):
    """(b) and (c): every self and cross kNN list, to the deepest k, in the exact order."""
    real, fake, ex = exact_set(name)
    n = real.shape[0]
    for X, Y, exact, k in ((real, None, ex.rr, n - 1), (fake, real, ex.fr, n)):
        dist, idx = P.knn(X, Y, k, device=fast_backend)
        dn, in_ = P.knn(X, Y, k, device="numpy")
        assert np.array_equal(dist, dn) and np.array_equal(idx, in_)
        ties = check_knn(idx, exact, ex.dim, self_exclude=Y is None)
        assert (ties > 0) == (name in NEAR_TIES), ties


@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
@pytest.mark.parametrize("name", SETS)
def test_ball_memberships_equal_exact(name, boundary, fast_backend):
    """(b) and (c): radii are the exact k-th distances (within the bound), and every fake-in-real-
    ball and real-in-fake-ball decision is the exact one; counts and flags follow."""
    real, fake, ex = exact_set(name)
    for k in (1, 3):
        for points, centres, cross, self_exact in (
            (fake, real, ex.fr, ex.rr),
            (real, fake, ex.rf, ex.ff),
        ):
            radii = P.kth_radii(centres, k, device=fast_backend)
            assert np.array_equal(radii, P.kth_radii(centres, k, device="numpy"))
            radii2 = exact_radii2(self_exact, k)
            for c, r in enumerate(radii):
                true = high_precision_sqrt(radii2[c])
                assert abs(Decimal(float(r)) - true) <= error_bound(true, ex.dim), (k, c)
            D = P.pairwise_distances(points, centres, device="numpy")
            compare = np.less_equal if boundary == "inclusive" else np.less
            decisions = compare(D, radii[None, :])
            ties = check_membership(decisions, cross, radii2, ex.dim, boundary)
            assert ties == 0 or name in NEAR_TIES, ties
            got = P.ball_membership(points, centres, radii, boundary=boundary, device=fast_backend)
            want, _ = decided(points, centres, cross, radii2, ex.dim, k, boundary)
            assert got["count"].tolist() == [sum(row) for row in want]
            assert got["any"].tolist() == [any(row) for row in want]
            assert got["any_point"].tolist() == [any(col) for col in zip(*want)]


@pytest.mark.parametrize("name", SETS)
def test_scalars_equal_exact_counts(name, fast_backend):
    """precision, recall, density and coverage are exact counts of exact decisions (near-tied
    ones, in the sets that have them, as the library decided them)."""
    real, fake, ex = exact_set(name)
    N, M = real.shape[0], fake.shape[0]
    for k in (1, 3):
        got = fastprdc.evaluate(real, fake, k=k, device=fast_backend).scalars
        r2 = exact_radii2(ex.rr, k)
        in_real, ties_r = decided(fake, real, ex.fr, r2, ex.dim, k)  # (M, N)
        in_fake, ties_f = decided(real, fake, ex.rf, exact_radii2(ex.ff, k), ex.dim, k)  # (N, M)
        assert ties_r + ties_f == 0 or name in NEAR_TIES
        assert got["precision_recall"]["precision"][k] == sum(map(any, in_real)) / M
        assert got["precision_recall"]["recall"][k] == sum(map(any, in_fake)) / N
        assert got["density_coverage"]["density"][k] == sum(map(sum, in_real)) / (k * M)
        covered = sum(any(col) for col in zip(*in_real))  # real ball i holds some fake
        assert got["density_coverage"]["coverage"][k] == covered / N


# ---------------------------------------------------------------------------
# every family: NaN and infinities only where the definitions call for them
# ---------------------------------------------------------------------------


def _nonfinite(tree, path=()):
    """(path, value) of every NaN or infinity in nested dicts of scalars and arrays."""
    if isinstance(tree, dict):
        return [hit for key, sub in tree.items() for hit in _nonfinite(sub, (*path, key))]
    arr = np.asarray(tree)
    if arr.dtype.kind != "f":
        return []
    if arr.ndim == 0:
        return [] if np.isfinite(arr) else [(path, float(arr))]
    bad = np.argwhere(~np.isfinite(arr))
    return [((*path, *map(int, pos)), float(arr[tuple(pos)])) for pos in bad]


def allowed_nonfinite(real, fake, ex, ks):
    """Every (path, value) that docs/metrics.md calls for on this data, from exact arithmetic:
    rarity NaN for a fake in no real ball (section 4); realism +inf for a fake on a kept real
    of positive radius (section 3); -inf entropy terms for zero distances, the entropies that
    sum them and the differences of those (section 6)."""
    allowed = {}
    for k in ks:
        r2 = exact_radii2(ex.rr, k)
        in_real, _ = decided(fake, real, ex.fr, r2, ex.dim, k)
        outside = [j for j, row in enumerate(in_real) if not any(row)]
        for j in outside:
            allowed[("samples", "rarity_score", "rarity", k, j)] = "nan"
        if len(outside) == len(ex.fr):
            allowed[("scalars", "rarity_score", "mean_in_ball", k)] = "nan"
        # kept balls: radius <= np.median of the radii (the library's radii, which the tests
        # above show to be the exact ones within the oracle's bound)
        radii = P.kth_radii(real, k, device="numpy")
        kept = radii <= np.median(radii)
        on_kept = [
            j
            for j, row in enumerate(ex.fr)
            if any(d2 == 0 and kept[i] and r2[i] > 0 for i, d2 in enumerate(row))
        ]
        for j in on_kept:
            allowed[("samples", "realism_score", "realism", k, j)] = "inf"
        if on_kept:
            allowed[("scalars", "realism_score", "mean", k)] = "inf"
        zero = {
            "h_fake_real": [kth(row, k) == 0 for row in ex.fr],
            "h_real_fake": [kth(row, k) == 0 for row in ex.rf],
            "h_real": [v == 0 for v in r2],
            "h_fake": [v == 0 for v in exact_radii2(ex.ff, k)],
        }
        for name, flags in zero.items():
            for i in np.flatnonzero(flags).tolist():
                allowed[("samples", "pce_rce_re", f"{name}_terms", k, i)] = "-inf"
            if any(flags):
                allowed[("scalars", "pce_rce_re", name, k)] = "-inf"
        for diff, (a, b) in DIFFERENCES.items():
            minus_a, minus_b = any(zero[a]), any(zero[b])
            if minus_a or minus_b:
                value = "nan" if minus_a and minus_b else ("-inf" if minus_a else "inf")
                allowed[("scalars", "pce_rce_re", diff, k)] = value
    return allowed


DIFFERENCES = {"pce": ("h_fake_real", "h_real"), "rce": ("h_real_fake", "h_real"),
               "re": ("h_fake", "h_real")}  # fmt: skip


def check_nonfinite(res, real, fake, ex, ks):
    """Every NaN / infinity of ``res`` is one the definitions call for, with its sign, and
    every one they call for is there."""
    parts = {"scalars": res.scalars, "samples": res.samples, "curves": res.curves}
    found = {
        path: "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        for path, v in _nonfinite(parts)
    }
    allowed = allowed_nonfinite(real, fake, ex, ks)
    unexpected = {p: v for p, v in found.items() if allowed.get(p) != v}
    assert not unexpected, f"non-finite values the definitions do not call for: {unexpected}"
    missing = {p: v for p, v in allowed.items() if found.get(p) != v}
    assert not missing, f"non-finite values the definitions call for are missing: {missing}"


def _with_copies(name):
    """A named set whose first fakes are exact copies of the reals with the smallest radii
    (kept by the realism pruning: realism +inf) and of one real twice (zero distances within
    the fakes too: -inf entropy terms), the exact distances recomputed."""
    real, fake = make_set(name, seed=1)
    small = [int(np.argmin(P.kth_radii(real, k, device="numpy"))) for k in (1, 3)]
    fake[:4] = real[[small[0], small[1], 2, 2]]
    return real, fake, Exact(real, fake)


@pytest.mark.parametrize("copies", [False, True], ids=["random", "copies"])
@pytest.mark.parametrize("name", SETS)
def test_every_family_nonfinite_only_where_defined(name, copies, fast_backend):
    """evaluate(metrics="all", sample_level=True): the fast backend equals the numpy oracle bit
    for bit, and its only NaN / infinities are those the definitions call for."""
    real, fake, ex = _with_copies(name) if copies else exact_set(name)
    ks = [1, 3]
    kw = {"k": ks, "metrics": "all", "sample_level": True}
    got = quiet(fastprdc.evaluate, real, fake, device=fast_backend, **kw)
    assert_results_equal(got, quiet(fastprdc.evaluate, real, fake, device="numpy", **kw), name)
    check_nonfinite(got, real, fake, ex, ks)
    if copies:  # the data does exercise the rules
        for k in ks:
            assert got.scalars["realism_score"]["mean"][k] == math.inf
        assert got.scalars["pce_rce_re"]["h_fake_real"][1] == -math.inf
        assert got.scalars["pce_rce_re"]["re"][1] == -math.inf  # H(F) = -inf, H(R) finite


# ---------------------------------------------------------------------------
# scale invariance: X * 2^p scores like X
# ---------------------------------------------------------------------------

#: Values that hold the same information at every scale (counts, shares, ratios, indices).
INVARIANT = {
    "precision_recall": ("precision", "recall"),
    "density_coverage": ("density", "coverage"),
    "realism_score": ("share_ge_1", "n_kept_balls"),
    "rarity_score": ("n_out_of_ball",),
    "precision_recall_cover": ("precision_cover", "recall_cover"),
    "alpha_precision_beta_recall": ("delta_precision_alpha", "delta_coverage_beta", "authenticity"),
}


def _integer_grid(rng, n, d):
    """Integers below 2^20 (exact after any power-of-two scaling that stays normal) with
    repeated rows and exact ties."""
    x = rng.integers(-(2**19), 2**19, (n, d)).astype(np.float64)
    x[-3:] = x[:3]
    x[:, -1] = np.round(x[:, -1] / 2**16) * 2**16  # coarse column: many equal coordinates
    return x


@pytest.mark.parametrize("eps", [1e-310, 0.5])
def test_pruned_realism_centres_stay_pruned_when_eps_is_imprecise(eps, fast_backend):
    """A pruned realism centre (negative radius) never scores, even where eps loses its precision
    in the frame (1e-310: subnormal there; 0.5 beside values of 1e200: beyond float64's range
    there) and every kept radius is left to the exact recheck: the pruned one must not join
    them (it would get the ratio (-1)^2 / (d^2 + eps) > 0 and win)."""
    from fastprdc._backends import get_backend
    from fastprdc._options import make_options

    unit = 1.0 if eps < 1e-300 else 1e200
    A, B = np.array([[0.0], [unit]]), np.array([[0.25 * unit]])
    rr = np.array([[-unit], [0.5 * unit]])
    opts = make_options(num_threads=2)
    want = get_backend("numpy").cross_pass(A, B, None, None, False, 0, 0, opts, rr, eps)
    got = get_backend(fast_backend).cross_pass(A, B, None, None, False, 0, 0, opts, rr, eps)
    assert_same(got["b_realism_idx"], want["b_realism_idx"], "maximising centre")
    assert_same(got["b_realism"], want["b_realism"], "ratio")
    assert want["b_realism_idx"][0, 0] == 1


@pytest.mark.parametrize("eps", [None, 0.0, 1e-5, 1e-320])
def test_realism_with_radii_below_the_normal_range(eps, fast_backend):
    """Radii (and eps) that fall below float64's normal range once scaled into the fast path's
    frame lose their precision there, down to 0: such balls are decided by the exact ratio (a
    radius of 5e-324 at distance 0 is +inf, not "on the ball"), on every tile size."""
    centres, points = np.array([[0.0], [1.0], [8.0]]), np.array([[0.0]])
    radii = np.array([5e-324, 5.0, 0.0])  # the row at 8 makes the frame scale < 1
    got = P.ball_membership(points, centres, radii, realism=True, realism_eps=eps,
                            device=fast_backend)  # fmt: skip
    if eps is None or eps == 0.0:  # r / 0 or r^2 / 0 (with eps > 0: r^2 / eps, about 0)
        assert got["realism"][0] == np.inf and got["realism_centre"][0] == 0
    # a normal frame radius whose square underflows (squared form): 1e-340 / 1e-300 wins
    radii = np.array([1e-170, 1e-21, 0.0])
    kwargs = dict(realism=True, realism_eps=1e-300 if eps is None else eps)
    want = P.ball_membership(points, centres, radii, device="numpy", **kwargs)
    got = P.ball_membership(points, centres, radii, device=fast_backend, **kwargs)
    assert_tree_same(got, want, "squared radius below the normal range")
    rng = np.random.default_rng(3)
    for case in range(12):
        n, m, d = int(rng.integers(2, 30)), int(rng.integers(1, 25)), int(rng.integers(1, 4))
        scale = [1e-300, 1.0, 8.0, 1e300][case % 4]
        centres = np.round(rng.standard_normal((n, d)) * 2) * scale
        points = np.round(rng.standard_normal((m, d)) * 2) * scale
        points[: m // 2] = centres[rng.integers(0, n, m // 2)]  # at distance 0 from a centre
        points[: m // 3] += rng.integers(-3, 4, (m // 3, d)) * 5e-324
        radii = rng.choice([0.0, 5e-324, 1.5e-323, 1e-320, 1e-310, 2.2e-308, 1e-160, 1.0, 1e300],
                           n)  # fmt: skip
        for tile_rows in (None, 3):
            kwargs = dict(realism=True, realism_eps=eps, tile_rows=tile_rows)
            want = P.ball_membership(points, centres, radii, device="numpy", **kwargs)
            got = P.ball_membership(points, centres, radii, device=fast_backend, **kwargs)
            assert_tree_same(got, want, f"case {case}, tile_rows {tile_rows}")


@pytest.mark.parametrize("power", [-1040, -990, -560, 500, 980])
def test_scale_invariance(power, fast_backend):
    """Every count, share and ratio of X * 2^p equals that of X; rarity and distances scale by
    exactly 2^p (distances stay in float64's normal range except at p = -1040, where the
    subnormal result is checked for decisions only); entropies shift by d p ln 2."""
    rng = np.random.default_rng(abs(power))
    real, fake = _integer_grid(rng, 40, 3), _integer_grid(rng, 33, 3)
    scale = 2.0**power
    kw = {"k": [1, 3], "metrics": "all", "sample_level": True, "device": fast_backend}
    base = quiet(fastprdc.evaluate, real, fake, **kw)
    scaled = quiet(fastprdc.evaluate, real * scale, fake * scale, **kw)
    for family, metrics in INVARIANT.items():
        for metric in metrics:
            assert scaled.scalars[family][metric] == base.scalars[family][metric], (family, metric)
    normal = power > -1000  # the distances are normal floats: exactly scaled, so are ratios
    if normal:
        assert scaled.scalars["realism_score"]["mean"] == base.scalars["realism_score"]["mean"]
    for name in ("alpha_precision_curve", "beta_recall_curve"):
        got = scaled.curves["alpha_precision_beta_recall"][name][None]
        assert np.array_equal(got, base.curves["alpha_precision_beta_recall"][name][None]), name
    for family, arrays in base.samples.items():
        for arr_name, per_k in arrays.items():
            for k, want in per_k.items():
                got = scaled.samples[family][arr_name][k]
                if want.dtype.kind in "biu":
                    assert np.array_equal(got, want), (family, arr_name, k)
                elif arr_name == "realism":
                    assert not normal or np.array_equal(got, want), (family, arr_name, k)
                elif arr_name.endswith("_terms"):
                    shift = want.shape and real.shape[1] * power * math.log(2)
                    np.testing.assert_allclose(got, want + shift, rtol=1e-12, atol=1e-9)
                elif normal:  # distances and radii: exactly scaled
                    assert np.array_equal(got, want * scale, equal_nan=True), (family, arr_name)
    for metric in ("pce", "rce", "re"):
        for k in (1, 3):
            a = scaled.scalars["pce_rce_re"][metric][k]
            b = base.scalars["pce_rce_re"][metric][k]
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9) or (math.isnan(a) and math.isnan(b))


# ---------------------------------------------------------------------------
# the magnitude cap: values whose distances would overflow are refused; below it, exact
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
    "evaluate": lambda R, F, kw: quiet(fastprdc.evaluate, R, F, k=3, metrics="all", **kw),
}


@pytest.mark.parametrize("value", [1e308, -1e308, 6e307])
@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_overflowing_values_rejected(entry, value, backend):
    """One value whose distances would exceed float64's range (width 3: |value| above
    max_magnitude(3) ~ 5.2e307): a clear ValueError."""
    rng = np.random.default_rng(9)
    R = _with_value(rng, (40, 3), value)  # the offending value sits in R
    F = rng.random((30, 3))
    with pytest.raises(ValueError, match=OVERFLOW):
        ENTRIES[entry](R, F, {"device": backend})


def test_overflowing_scaled_data_rejected(backend):
    """Whole data sets at the top of float64's range (not one outlier)."""
    rng = np.random.default_rng(10)
    R = rng.random((40, 3)) * 1e308
    F = rng.random((30, 3)) * 1e308
    for call in (
        lambda: P.knn(R, k=3, device=backend),
        lambda: fastprdc.precision_recall(R, F, k=3, device=backend),
        lambda: quiet(fastprdc.evaluate, R, F, k=3, metrics="all", device=backend),
    ):
        with pytest.raises(ValueError, match=OVERFLOW):
            call()


@pytest.mark.parametrize("scale", [1e140, 2e154, 1e200, 1e300])
def test_large_values_exact(scale, fast_backend):
    """Large magnitudes (squares far beyond float64) are evaluated on the pair-scaled oracle:
    accepted, each fast backend == numpy == the brute-force oracle."""
    rng = np.random.default_rng(11)
    R = rng.random((40, 3)) * scale
    F = rng.random((30, 3)) * scale
    fast = {"device": fast_backend, "num_threads": 2}
    for X, Y, tag in ((R, None, "self"), (F, R, "cross")):
        dist, idx = P.knn(X, Y, 3, **fast)
        assert_same(dist, P.knn(X, Y, 3, device="numpy")[0], f"{scale:g} {tag} distances")
        assert_same(idx, P.knn(X, Y, 3, device="numpy")[1], f"{scale:g} {tag} indices")
    assert_same(P.knn(R, k=3, **fast)[0], brute_knn(R, k=3)[0], f"{scale:g} vs brute")
    radii = P.kth_radii(R, 3, device="numpy")
    for boundary in ("inclusive", "strict"):
        kw = {"boundary": boundary, "realism": True}
        got = P.ball_membership(F, R, radii, **kw, **fast)
        assert_tree_same(got, P.ball_membership(F, R, radii, **kw, device="numpy"), boundary)
    kw = {"k": 3, "metrics": "all", "sample_level": True}
    assert_results_equal(
        quiet(fastprdc.evaluate, R, F, **kw, **fast),
        quiet(fastprdc.evaluate, R, F, **kw, device="numpy"),
        f"{scale:g} evaluate",
    )


def test_magnitude_cap_boundary(backend):
    """Exactly max_magnitude(d) is accepted (and exact); the next float above it is rejected."""
    cap = max_magnitude(3)
    rng = np.random.default_rng(18)
    R = rng.random((20, 3))
    R[3, 1] = cap
    R[7, 2] = -cap
    dist, _ = P.knn(R, k=2, device=backend)
    assert np.isfinite(dist).all()
    assert_same(dist, brute_knn(R, k=2)[0], "cap distances vs brute")
    for bad in (np.nextafter(cap, np.inf), -np.nextafter(cap, np.inf)):
        R[5, 0] = bad
        with pytest.raises(ValueError, match=OVERFLOW):
            P.knn(R, k=2, device=backend)
        R[5, 0] = 0.5


# ---------------------------------------------------------------------------
# integers and wide floats: converted without loss
# ---------------------------------------------------------------------------


def _small_integers(seed=26):
    rng = np.random.default_rng(seed)
    real = rng.integers(0, 6, (60, 4))
    fake = rng.integers(0, 6, (50, 4)) + rng.integers(0, 2, (50, 4))
    return real.astype(np.int64), fake.astype(np.int64)


def test_integer_data_shifted_by_2_26_scores_like_unshifted(fast_backend):
    """The issue's example: integer features shifted by 2^26 gave precision / recall
    0.40 / 1.00 instead of 0.82 / 0.96 (a float32 cast rounds them to multiples of 8)."""
    real, fake = _small_integers()
    base = fastprdc.precision_recall(real, fake, k=3, device=fast_backend)
    for shift in (2**26, 2**40, -(2**52)):
        for device in (fast_backend, "numpy"):
            got = fastprdc.precision_recall(real + shift, fake + shift, k=3, device=device)
            assert (got["precision"], got["recall"]) == (base["precision"], base["recall"])
    # the check can fail: the lossy float32 cast of the shifted data scores differently
    lossy = fastprdc.precision_recall(
        (real + 2**26).astype(np.float32),
        (fake + 2**26).astype(np.float32),
        k=3,
        device=fast_backend,
    )
    assert (lossy["precision"], lossy["recall"]) != (base["precision"], base["recall"])


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_integers_above_2_53_exact_or_refused(dtype, fast_backend):
    """Integers above 2^53 are accepted when float64 holds them (here multiples of 2^11 near
    2^63) and give the float64 results; one that it cannot hold is refused naming its row."""
    real, fake = _small_integers(53)
    base = 2**62 if dtype == np.int64 else 2**63
    R = (real.astype(object) * 2**11 + base).astype(dtype)
    F = (fake.astype(object) * 2**11 + base).astype(dtype)
    assert all(int(float(v)) == int(v) for v in R.ravel().tolist())  # exact in float64
    got = fastprdc.evaluate(R, F, metrics="all", device=fast_backend)
    want = fastprdc.evaluate(
        R.astype(np.float64), F.astype(np.float64), metrics="all", device=fast_backend
    )
    assert got.info["dtype"] == "float64"
    assert_results_equal(got, want, "wide integers")
    small = fastprdc.precision_recall(real * 2**11, fake * 2**11, k=3)
    assert fastprdc.precision_recall(R, F, k=3) == small  # the offset changes nothing
    R[7, 2] += 1  # 2^62 + 1 is not a float64
    with pytest.raises(ValueError, match=r"real has integers above 2\^53 .*first bad row: 7"):
        fastprdc.precision_recall(R, F)
    with pytest.raises(ValueError, match=r"fake has integers above 2\^53 .*first bad row: 7"):
        fastprdc.precision_recall(F, R)


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint8, np.int16, np.uint64, np.int32])
def test_small_integer_dtypes_exact(dtype, fast_backend):
    """bool, int8 (-128 included) and the other integer dtypes: the same results as the same
    values given as float64."""
    rng = np.random.default_rng(8)
    info = np.iinfo(dtype) if dtype != np.bool_ else None
    lo, hi = (0, 2) if info is None else (max(info.min, -128), min(info.max, 127) + 1)
    real = rng.integers(lo, hi, (40, 3)).astype(dtype)
    fake = rng.integers(lo, hi, (35, 3)).astype(dtype)
    if info is not None and info.min < 0:
        real[0, 0] = info.min if info.min >= -128 else -128
    kw = {"metrics": "all", "sample_level": True, "device": fast_backend}
    got = quiet(fastprdc.evaluate, real, fake, **kw)
    want = quiet(fastprdc.evaluate, real.astype(np.float64), fake.astype(np.float64), **kw)
    assert_results_equal(got, want, str(np.dtype(dtype)))


@pytest.mark.skipif(
    np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant,
    reason="long double is float64 on this platform",
)
def test_longdouble_exact_accepted_inexact_refused():
    rng = np.random.default_rng(9)
    real = rng.standard_normal((30, 3)) * 1e-300
    fake = rng.standard_normal((25, 3)) * 1e-300
    got = fastprdc.precision_recall(real.astype(np.longdouble), fake.astype(np.longdouble))
    assert got == fastprdc.precision_recall(real, fake)
    inexact = real.astype(np.longdouble)
    inexact[4, 1] += inexact[4, 1] * np.longdouble(2.0) ** -60
    with pytest.raises(ValueError, match="cannot hold exactly"):
        fastprdc.precision_recall(inexact, fake)
    beyond = real.astype(np.longdouble)
    beyond[2, 0] = np.longdouble("1e400")
    with pytest.raises(ValueError, match="cannot hold exactly"):
        quiet(fastprdc.precision_recall, beyond, fake)  # numpy also warns on the cast


# ---------------------------------------------------------------------------
# the checks can fail
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1e-300", "1e300", "1e-170"])
def test_distance_check_catches_an_unscaled_oracle(name):
    """The plain float64 sum underflows (1e-170, 1e-300: squares below 1e-308) or overflows
    (1e300): check_distances rejects it, so the passing checks above mean something."""
    real, _, ex = exact_set(name)
    with pytest.raises(AssertionError, match="not within the oracle bound"):
        check_distances(unscaled_oracle(real, real), real, real, ex.rr, replay=False)


def test_decision_checks_catch_an_unscaled_oracle():
    """Neighbour orders and memberships from unscaled distances (all 0 at 1e-300) differ from
    the exact ones beyond any near tie."""
    real, fake, ex = exact_set("1e-300")
    D = unscaled_oracle(real, real)
    np.fill_diagonal(D, np.inf)
    idx = np.argsort(D, axis=1, kind="stable")[:, :5]
    with pytest.raises(AssertionError, match="where the exact order has"):
        check_knn(idx, ex.rr, ex.dim, self_exclude=True)
    radii2 = exact_radii2(ex.rr, 3)
    decisions = unscaled_oracle(fake, real) <= 0.0  # every fake "inside" every ball
    with pytest.raises(AssertionError, match="says the opposite"):
        check_membership(decisions, ex.fr, radii2, ex.dim, "inclusive")


def test_nonfinite_check_catches_undefined_values():
    """An infinity where no fake sits on a real, and a missing rarity NaN, are reported."""
    real, fake, ex = exact_set("1e-300")
    res = quiet(fastprdc.evaluate, real, fake, k=[1, 3], metrics="all", sample_level=True,
                device="numpy")  # fmt: skip
    res.samples["realism_score"]["realism"][3][0] = np.inf
    with pytest.raises(AssertionError, match="do not call for"):
        check_nonfinite(res, real, fake, ex, [1, 3])
    res.samples["realism_score"]["realism"][3][0] = 1.0
    rarity = res.samples["rarity_score"]["rarity"][1]
    assert np.isnan(rarity).any(), "the premise: some fake lies in no real ball"
    rarity[np.isnan(rarity)] = 0.0
    with pytest.raises(AssertionError, match="are missing"):
        check_nonfinite(res, real, fake, ex, [1, 3])


def test_replayed_oracle_and_rounded_sqrt_are_exact():
    """The exact tools themselves: rounded_sqrt agrees with math.sqrt (correctly rounded by
    IEEE 754) on representable inputs, and the replayed oracle with numpy's plain float64 sum
    where nothing underflows."""
    rng = np.random.default_rng(10)
    for v in rng.random(200) * 10.0 ** rng.integers(-300, 300, 200):
        assert rounded_sqrt(Fraction(float(v))) == math.sqrt(v)
    x, y = rng.standard_normal((2, 5))
    plain = 0.0
    for a, b in zip(x, y):
        plain += (a - b) * (a - b)
    assert oracle_replayed(x, y) == math.sqrt(plain)


# ---------------------------------------------------------------------------
# known limits (reported; these tests turn into failures when they are fixed)
# ---------------------------------------------------------------------------


def test_distance_far_below_the_rows_magnitude():
    real = np.array([[1e150, 1e-160], [1e150, 2e-160], [-1e150, 0.0], [3e150, 5e-161]])
    ex = exact_matrix(real, real)
    check_distances(P.pairwise_distances(real, device="numpy"), real, real, ex, replay=False)


def test_realism_ratio_beyond_float64_range_is_inf():
    """A ratio r / d beyond float64's range rounds to +inf, IEEE's overflow (docs/metrics.md
    section 3): a fake 1e-300 from a kept real of radius ~1e300; every other score is finite
    and equals the correctly rounded quotient of the exact radius and distance."""
    rng = np.random.default_rng(12)
    real = np.vstack([np.zeros((1, 2)), rng.uniform(-1, 1, (20, 2)) * 1e300])
    fake = np.vstack([[[1e-300, 0.0]], rng.uniform(-1, 1, (10, 2)) * 1e300])
    res = fastprdc.realism_score(real, fake, k=3, prune=0.0, sample_level=True, device="cpu")
    score, idx = res["realism"], res["realism_real_index"]
    radii = P.kth_radii(real, 3, device="numpy")
    assert idx[0] == 0 and radii[0] > 1e299 and score[0] == math.inf
    for j in range(1, len(fake)):
        exact = Fraction(float(radii[idx[j]])) / Fraction(
            rounded_sqrt(exact_d2(fake[j], real[idx[j]]))
        )
        assert math.isfinite(score[j]) and abs(Fraction(float(score[j])) - exact) <= exact * 2 * U


def test_rarity_mean_near_the_magnitude_cap():
    rng = np.random.default_rng(13)
    real = rng.uniform(-1, 1, (30, 3)) * max_magnitude(3) * 0.99
    fake = rng.uniform(-1, 1, (25, 3)) * max_magnitude(3) * 0.99
    res = fastprdc.rarity_score(real, fake, k=3, device="cpu")
    assert math.isfinite(res["mean_in_ball"])


def test_realism_threshold_near_the_magnitude_cap():
    rng = np.random.default_rng(0)
    real = rng.choice([-1.0, 1.0], (30, 3)) * max_magnitude(3)  # corners: huge radii
    fake = rng.choice([-1.0, 1.0], (25, 3)) * max_magnitude(3) * 0.5
    radii = np.sort(P.kth_radii(real, 3, device="numpy"))
    a, b = float(radii[14]), float(radii[15])  # Python floats: no numpy warning here
    threshold = a / 2 + b / 2  # np.median's value, without the overflow
    assert a + b == math.inf  # the premise: their plain sum overflows
    res = fastprdc.realism_score(real, fake, k=3, device="cpu")  # warns (an error here)
    assert res["n_kept_balls"] == int((radii <= threshold).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_gemm_rounding_is_within_the_bound(fast_backend, dtype):
    """The GEMM's own rounding is part of the error bound (gemm_relative_error): a row whose large
    first coordinate absorbs every later product of the dot product (each 0.94 * 2^-24, below
    half an ulp of the running float32 sum) has a duplicate that the GEMM puts
    2 * 255 * 0.94 * 2^-24 too far (240 u32 (n_x + n_y): 6.7 times the bound's fixed terms,
    within its GEMM term) and farther than a row with none of those coordinates. The duplicate
    is still the nearest neighbour (self and cross), as in the numpy oracle. (The absorption
    needs a GEMM that sums each dot product in order within K blocks of >= 256, as OpenBLAS's
    sgemm.)"""
    d = 256
    q = np.full(d, 31 * 2.0**-17)
    q[0] = 1.0
    p = np.zeros(d)
    p[0] = 1.0
    X = np.stack([q, q, p, -q, -q, -p]).astype(dtype)
    for Y, nearest in ((None, [1, 0, 0, 4, 3, 3]), (X, [0, 0, 2, 3, 3, 5])):
        dist, idx = P.knn(X, Y, 1, device=fast_backend)
        dn, in_ = P.knn(X, Y, 1, device="numpy")
        assert idx[:, 0].tolist() == nearest
        assert np.array_equal(dist, dn) and np.array_equal(idx, in_)
        assert dist[[0, 1, 3, 4], 0].tolist() == [0.0] * 4
