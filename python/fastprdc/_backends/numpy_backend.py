"""The float64 oracle: the three primitives in plain numpy, defining "exact".

For rows x, y (cast to float64 from the given values), with e the binary exponent of the pair's
largest |x_t - y_t| (2^(e-1) <= max < 2^e) and s = 2^min(480 - e, 1023)::

    d2s = 0.0
    for t in range(d):
        d2s += ((x[t] - y[t]) * s) ** 2
    dist = sqrt(d2s) / s

vectorised across pairs and sequential across dimensions, so every distance is bit-identical
to the native float64 recheck (csrc/common/oracle.hpp; docs/metrics.md section 10). For data
in the usual range the power-of-two scale changes no bit; it keeps the sums free of overflow
and underflow for any finite input. Nothing here is tuned for speed: it is the reference that
tests compare every other backend with. Memory is bounded by processing row blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._options import RunOptions
from .contract import CrossResult, HostArrays, KnnResult

__all__ = ["NumpyBackend"]

_TILE = 512  # inner tile edge (a float64 tile of a few MB: L2/L3 resident)
_DEFAULT_BUDGET = 256 * 2**20  # bytes for one row block of temporaries
_BYTES_PER_PAIR = 48  # distance, masks, cumsum and selection temporaries per (row, column)


_ORACLE_TOP = 480  # scaled differences stay below 2^480 (csrc/common/oracle.hpp)
_ZERO_EXPONENT = -2000  # binary exponent of 0


def _transposed64(X: np.ndarray) -> np.ndarray:
    """(d, n) float64 C-contiguous copy: row t holds coordinate t of every sample."""
    return np.ascontiguousarray(X.T, dtype=np.float64)


def _scales(top: np.ndarray) -> np.ndarray:
    """Pair scales s = 2^min(480 - e, 1023) from the largest |difference| (1 where it is 0)."""
    e = np.frexp(top)[1]
    return np.where(top > 0, np.ldexp(1.0, np.minimum(_ORACLE_TOP - e, 1023)), 1.0)


def _plain_is_exact(XT: np.ndarray) -> bool:
    """Every non-zero |value| lies in [2^-400, 2^400]: then no difference, square or sum of the
    unscaled computation leaves float64's normal range (a non-zero difference is at least
    2^-452), and it is bit-identical to the scaled one (power-of-two scaling commutes with
    every rounding in the normal range)."""
    a = np.abs(XT)
    nonzero = a[a > 0]
    return nonzero.size == 0 or (nonzero.min() >= 2.0**-400 and nonzero.max() <= 2.0**400)


class _Oracle:
    """Scaled sums d2s and pair scales s between the columns of PT (d, n) and QT (d, m)."""

    def __init__(self, PT: np.ndarray, QT: np.ndarray) -> None:
        self.PT, self.QT = PT, QT
        self.plain = _plain_is_exact(PT) and (QT is PT or _plain_is_exact(QT))

    def _tile(self, P: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(d2s, s) of the columns of P (d, a) against those of Q (d, c). In the plain case the
        unscaled sums are returned with s = 1: every value derived from (d2s, s) (distance,
        realism ratio) is then bit-identical to the one from the pair's own scale."""
        shape = (P.shape[1], Q.shape[1])
        acc = np.zeros(shape)
        diff = np.empty(shape)
        if self.plain:
            s = np.ones(shape)
        else:
            top = np.zeros(shape)
            for t in range(P.shape[0]):
                np.subtract.outer(P[t], Q[t], out=diff)
                np.maximum(top, np.abs(diff), out=top)
            s = _scales(top)
        for t in range(P.shape[0]):
            np.subtract.outer(P[t], Q[t], out=diff)
            if not self.plain:
                np.multiply(diff, s, out=diff)
            np.multiply(diff, diff, out=diff)
            np.add(acc, diff, out=acc)
        return acc, s

    def block(self, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        """(d2s, s) of P columns r0:r1 against every Q column, (r1 - r0, m) each."""
        PT, QT = self.PT, self.QT
        m = QT.shape[1]
        out = np.empty((r1 - r0, m), dtype=np.float64)
        S = np.empty((r1 - r0, m), dtype=np.float64)
        for a0 in range(0, r1 - r0, _TILE):
            a1 = min(a0 + _TILE, r1 - r0)
            for c0 in range(0, m, _TILE):
                c1 = min(c0 + _TILE, m)
                out[a0:a1, c0:c1], S[a0:a1, c0:c1] = self._tile(
                    PT[:, r0 + a0 : r0 + a1], QT[:, c0:c1]
                )
        return out, S

    def distances(self, r0: int, r1: int) -> np.ndarray:
        """Oracle distances of P columns r0:r1 against every Q column."""
        d2s, S = self.block(r0, r1)
        return np.sqrt(d2s) / S


def _distances(PT: np.ndarray, QT: np.ndarray) -> np.ndarray:
    """Oracle distances between the columns of PT (d, n) and of QT (d, m): (n, m) float64."""
    return _Oracle(PT, QT).distances(0, PT.shape[1])


def _topk(dmat: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of dmat the k smallest entries sorted by (value, column); NaN entries are skipped.

    Every row must hold at least k non-NaN entries. Returns (values float64, columns int64).
    """
    n = dmat.shape[0]
    if k == 0 or n == 0:
        return np.empty((n, k), dtype=np.float64), np.empty((n, k), dtype=np.int64)
    kth = np.partition(dmat, k - 1, axis=1)[:, k - 1 : k]  # NaN sort last
    below = dmat < kth
    tied = dmat == kth
    missing = k - below.sum(axis=1, keepdims=True)
    keep = below | (tied & (np.cumsum(tied, axis=1) <= missing))  # lowest-index ties first
    cols = np.nonzero(keep)[1].reshape(n, k)  # ascending column within each row
    vals = np.take_along_axis(dmat, cols, axis=1)
    order = np.argsort(vals, axis=1, kind="stable")  # equal values keep column order
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(cols, order, axis=1)


def _merge_topk(
    dist: np.ndarray, idx: np.ndarray, new_dist: np.ndarray, new_idx: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two (value, index)-sorted candidate lists whose new indices all exceed the old."""
    cat_d = np.concatenate([dist, new_dist], axis=1)
    cat_i = np.concatenate([idx, new_idx], axis=1)
    order = np.argsort(cat_d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(cat_d, order, axis=1), np.take_along_axis(cat_i, order, axis=1)


def _block_rows(n: int, m: int, opts: RunOptions) -> int:
    """Rows per block: ``tile_rows`` if given, else as many as the memory budget allows."""
    if opts.tile_rows:
        return max(1, min(n, opts.tile_rows))
    budget = opts.max_memory or _DEFAULT_BUDGET
    return max(1, min(n, budget // (_BYTES_PER_PAIR * max(m, 1))))


def _scale_pow2(v: np.ndarray, e: np.ndarray) -> np.ndarray:
    """v * 2^e in steps of at most 2^1023 towards the result (csrc/common/fp.hpp scale_pow2)."""
    v = np.array(v, dtype=np.float64, copy=True)
    e = np.array(np.broadcast_to(e, v.shape), dtype=np.int64, copy=True)
    while (e < -1022).any():
        low = e < -1022
        v[low] *= 2.0**-1022
        e[low] += 1022
    while (e > 1023).any():
        high = e > 1023
        v[high] *= 2.0**1023
        e[high] -= 1023
    return v * np.ldexp(1.0, e)


def _ratio_scaled(rs: np.ndarray, q: np.ndarray, eps_s: np.ndarray | None) -> np.ndarray:
    """rs / sqrt(q) (eps_s None) or rs^2 / (q + eps_s); zero denominator: +inf, or 1 for rs = 0;
    an infinite denominator gives 0 (or +inf over an infinite numerator)."""
    num = rs if eps_s is None else rs * rs
    den = np.sqrt(q) if eps_s is None else q + eps_s
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = num / den
    ratio = np.where(np.isinf(den), np.where(np.isinf(num), np.inf, 0.0), ratio)
    return np.where(den > 0, ratio, np.where(rs > 0, np.inf, 1.0))


def _realism_ratio(r: np.ndarray, d2s: np.ndarray, S: np.ndarray, eps: float | None) -> np.ndarray:
    """The exact realism ratio (csrc/common/realism.hpp): r / d, or r^2 / (d2s / s^2 + eps)
    evaluated in a power-of-two scale t chosen from r and d."""
    r = np.broadcast_to(r, d2s.shape)
    if eps is None:
        d = np.sqrt(d2s) / S
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = r / d
        return np.where(d > 0, ratio, np.where(r > 0, np.inf, 1.0))
    ps = np.frexp(S)[1] - 1
    e_d = np.where(d2s > 0, np.frexp(np.sqrt(d2s))[1] - ps, _ZERO_EXPONENT)
    e_r = np.where(r > 0, np.frexp(r)[1], _ZERO_EXPONENT)
    e = np.maximum(e_d, e_r)
    te = np.clip(-e, -1022, 1022)
    with np.errstate(over="ignore", under="ignore"):
        rt = _scale_pow2(r, te)
        q = _scale_pow2(d2s, 2 * (te - ps))
        et = _scale_pow2(np.full(d2s.shape, float(eps)), 2 * te)
    zero = e == _ZERO_EXPONENT
    rt, q = np.where(zero, 0.0, rt), np.where(zero, 0.0, q)
    return _ratio_scaled(rt, q, et)


def _realism_update(
    d2s: np.ndarray,
    S: np.ndarray,
    r: np.ndarray,
    eps: float | None,
    r0: int,
    best: np.ndarray,
    best_idx: np.ndarray,
) -> None:
    """Fold the rows of (d2s, S) (oracle pairs of A rows r0.. with every B row) into the running
    realism maximum ``best`` / ``best_idx`` (per B row, updated in place)."""
    kept = r >= 0
    if not kept.any():
        return
    rows = np.nonzero(kept)[0]
    ratio = _realism_ratio(r[rows, None], d2s[rows], S[rows], eps)
    arg = np.argmax(ratio, axis=0)  # first maximum = lowest row index
    top = ratio[arg, np.arange(ratio.shape[1])]
    better = top > best  # strictly: earlier blocks (lower indices) win ties
    best[better] = top[better]
    best_idx[better] = rows[arg[better]] + r0


class _Ticker:
    """Calls ``progress(done, total)`` once per block (and once at the start)."""

    def __init__(self, opts: RunOptions, total: int) -> None:
        self.progress = opts.progress
        self.total = total
        self.done = 0
        if self.progress is not None:
            self.progress(0, total)

    def tick(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


class NumpyBackend(HostArrays):
    """Pure-numpy float64 reference backend (slow, exact by definition)."""

    name = "numpy"
    location = "host"

    def pairwise_distances(
        self, X: np.ndarray, Y: np.ndarray, opts: RunOptions | None = None
    ) -> np.ndarray:
        """Full (n, m) float64 matrix of oracle distances."""
        return _distances(_transposed64(X), _transposed64(Y))

    def knn(self, X: np.ndarray, Y: np.ndarray | None, k: int, opts: RunOptions) -> KnnResult:
        """k nearest rows of Y (of X itself, self excluded by position, when Y is None)."""
        XT = _transposed64(X)
        YT = XT if Y is None else _transposed64(Y)
        n, m = XT.shape[1], YT.shape[1]
        if k > (m - 1 if Y is None else m):
            raise ValueError(f"k={k} is too large for {m} reference rows")
        dist = np.empty((n, k), dtype=np.float64)
        idx = np.empty((n, k), dtype=np.int64)
        rows = _block_rows(n, m, opts)
        ticker = _Ticker(opts, -(-n // rows))
        oracle = _Oracle(XT, YT)
        for r0 in range(0, n, rows):
            r1 = min(r0 + rows, n)
            D = oracle.distances(r0, r1)
            if Y is None:
                D[np.arange(r1 - r0), np.arange(r0, r1)] = np.nan  # exclude self by position
            dist[r0:r1], idx[r0:r1] = _topk(D, k)
            ticker.tick()
        return KnnResult(dist, idx, 0)

    def cross_pass(
        self,
        A: np.ndarray,
        B: np.ndarray,
        radii_a: np.ndarray | None,
        radii_b: np.ndarray | None,
        strict: bool,
        knn_a: int,
        knn_b: int,
        opts: RunOptions,
        realism_radii: np.ndarray | None = None,
        realism_eps: float | None = None,
    ) -> CrossResult:
        """Ball membership both ways, cross nearest neighbours and realism (see the contract).

        ``realism_radii`` (N, KR): column c holds realism balls centred on A, a negative
        entry marking a pruned ball. Per b_j and column: ``b_realism`` = max over kept i of
        r_i / d(b_j, a_i) (d == 0: +inf if r_i > 0, 1 if r_i == 0; NaN without kept balls)
        and ``b_realism_idx`` = the maximising i (lowest on ties, -1 without kept balls);
        with ``realism_eps`` the ratio is r_i^2 / (d^2 + eps) instead. ``a_ball_count`` /
        ``b_ball_count``: points inside each ball.
        """
        AT, BT = _transposed64(A), _transposed64(B)
        n, m = AT.shape[1], BT.shape[1]
        ra = np.zeros((n, 0)) if radii_a is None else np.asarray(radii_a, dtype=np.float64)
        rb = np.zeros((m, 0)) if radii_b is None else np.asarray(radii_b, dtype=np.float64)
        rr = np.zeros((n, 0)) if realism_radii is None else np.asarray(realism_radii, np.float64)
        ka, kb, kr = ra.shape[1], rb.shape[1], rr.shape[1]
        if knn_a > m or knn_b > n:
            raise ValueError(f"cross kNN sizes ({knn_a}, {knn_b}) exceed the set sizes ({m}, {n})")
        inside = np.less if strict else np.less_equal

        out: dict[str, Any] = {
            "b_count": np.zeros((m, ka), dtype=np.int64),
            "b_min_radius": np.full((m, ka), np.inf),
            "a_ball_count": np.zeros((n, ka), dtype=np.int64),
            "a_count": np.zeros((n, kb), dtype=np.int64),
            "a_min_radius": np.full((n, kb), np.inf),
            "b_ball_count": np.zeros((m, kb), dtype=np.int64),
            "a_knn_dist": np.empty((n, knn_a), dtype=np.float64),
            "a_knn_idx": np.empty((n, knn_a), dtype=np.int64),
            "b_realism": np.full((m, kr), -np.inf),
            "b_realism_idx": np.full((m, kr), -1, dtype=np.int64),
        }
        b_knn_dist = np.empty((m, 0), dtype=np.float64)
        b_knn_idx = np.empty((m, 0), dtype=np.int64)

        rows = _block_rows(n, m, opts)
        ticker = _Ticker(opts, -(-n // rows))
        oracle = _Oracle(AT, BT)
        for r0 in range(0, n, rows):
            r1 = min(r0 + rows, n)
            d2s, S = oracle.block(r0, r1)  # rows of A (this block) x all of B
            D = np.sqrt(d2s) / S
            for c in range(ka):  # balls centred at A rows
                r = ra[r0:r1, c : c + 1]
                hit = inside(D, r)
                out["a_ball_count"][r0:r1, c] = hit.sum(axis=1)
                out["b_count"][:, c] += hit.sum(axis=0)
                smallest = np.where(hit, r, np.inf).min(axis=0)
                np.minimum(out["b_min_radius"][:, c], smallest, out=out["b_min_radius"][:, c])
            for c in range(kb):  # balls centred at B rows
                r = rb[None, :, c]
                hit = inside(D, r)
                out["a_count"][r0:r1, c] = hit.sum(axis=1)
                out["a_min_radius"][r0:r1, c] = np.where(hit, r, np.inf).min(axis=1)
                out["b_ball_count"][:, c] += hit.sum(axis=0)
            for c in range(kr):  # realism balls centred at A rows (negative radius: pruned)
                _realism_update(
                    d2s,
                    S,
                    rr[r0:r1, c],
                    realism_eps,
                    r0,
                    out["b_realism"][:, c],
                    out["b_realism_idx"][:, c],
                )
            if knn_a:
                out["a_knn_dist"][r0:r1], out["a_knn_idx"][r0:r1] = _topk(D, knn_a)
            if knn_b:
                new_d, new_i = _topk(D.T, min(knn_b, r1 - r0))
                b_knn_dist, b_knn_idx = _merge_topk(b_knn_dist, b_knn_idx, new_d, new_i + r0, knn_b)
            ticker.tick()

        out["b_knn_dist"] = np.ascontiguousarray(b_knn_dist)
        out["b_knn_idx"] = np.ascontiguousarray(b_knn_idx)
        out["b_realism"][out["b_realism_idx"] < 0] = np.nan  # no kept ball at all
        out["n_rechecked"] = 0
        return CrossResult.from_mapping(out)
