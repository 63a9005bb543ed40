"""The float64 oracle: the three primitives in plain numpy, defining "exact".

For rows x, y (cast to float64 from the given values)::

    d2 = 0.0
    for t in range(d):
        d2 += (x[t] - y[t]) ** 2
    dist = sqrt(d2)

vectorised across pairs and sequential across dimensions, so every distance is bit-identical
to the native float64 recheck. Nothing here is tuned for speed: it is the reference that
tests compare every other backend with. Memory is bounded by processing row blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._options import RunOptions

__all__ = ["NumpyBackend"]

_TILE = 512  # inner tile edge (a float64 tile of a few MB: L2/L3 resident)
_DEFAULT_BUDGET = 256 * 2**20  # bytes for one row block of temporaries
_BYTES_PER_PAIR = 48  # distance, masks, cumsum and selection temporaries per (row, column)


def _transposed64(X: np.ndarray) -> np.ndarray:
    """(d, n) float64 C-contiguous copy: row t holds coordinate t of every sample."""
    return np.ascontiguousarray(X.T, dtype=np.float64)


def _distances(PT: np.ndarray, QT: np.ndarray) -> np.ndarray:
    """Oracle distances between the columns of PT (d, n) and of QT (d, m): (n, m) float64."""
    return np.sqrt(_squared_distances(PT, QT))


def _squared_distances(PT: np.ndarray, QT: np.ndarray) -> np.ndarray:
    """Oracle d^2 (sequential float64 sums over the dimensions), (n, m)."""
    d, n = PT.shape
    m = QT.shape[1]
    out = np.empty((n, m), dtype=np.float64)
    for r0 in range(0, n, _TILE):
        r1 = min(r0 + _TILE, n)
        for c0 in range(0, m, _TILE):
            c1 = min(c0 + _TILE, m)
            acc = np.zeros((r1 - r0, c1 - c0), dtype=np.float64)
            diff = np.empty_like(acc)
            for t in range(d):
                np.subtract.outer(PT[t, r0:r1], QT[t, c0:c1], out=diff)
                np.multiply(diff, diff, out=diff)
                np.add(acc, diff, out=acc)
            out[r0:r1, c0:c1] = acc
    return out


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


def _realism_update(
    D2: np.ndarray,
    r: np.ndarray,
    eps: float | None,
    r0: int,
    best: np.ndarray,
    best_idx: np.ndarray,
) -> None:
    """Fold the rows of D2 (oracle d^2 from A rows r0.. to every B row) into the running
    realism maximum ``best`` / ``best_idx`` (per B row, updated in place). The ratio is
    r / d (eps None) or r^2 / (d^2 + eps); a zero denominator gives +inf, or 1 when r = 0."""
    kept = r >= 0
    if not kept.any():
        return
    rows = np.nonzero(kept)[0]
    rk = r[rows, None]
    num = rk if eps is None else rk * rk
    den = np.sqrt(D2[rows]) if eps is None else D2[rows] + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den  # exact float64 division of oracle values
    zero = den == 0
    ratio[zero] = np.where(np.broadcast_to(rk, den.shape)[zero] > 0, np.inf, 1.0)
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


class NumpyBackend:
    """Pure-numpy float64 reference backend (slow, exact by definition)."""

    name = "numpy"

    def pairwise_distances(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Full (n, m) float64 matrix of oracle distances."""
        return _distances(_transposed64(X), _transposed64(Y))

    def knn(
        self, X: np.ndarray, Y: np.ndarray | None, k: int, opts: RunOptions
    ) -> tuple[np.ndarray, np.ndarray]:
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
        for r0 in range(0, n, rows):
            r1 = min(r0 + rows, n)
            D = _distances(XT[:, r0:r1], YT)
            if Y is None:
                D[np.arange(r1 - r0), np.arange(r0, r1)] = np.nan  # exclude self by position
            dist[r0:r1], idx[r0:r1] = _topk(D, k)
            ticker.tick()
        return dist, idx

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
    ) -> dict[str, Any]:
        """Ball membership both ways, cross nearest neighbours and realism (see the contract).

        ``realism_radii`` (N, KR): column c holds realism balls centred on A, a negative
        entry marking a pruned ball. Per b_j and column: ``b_realism`` = max over kept i of
        r_i / d(b_j, a_i) (d == 0: +inf if r_i > 0, 1 if r_i == 0; NaN without kept balls)
        and ``b_realism_idx`` = the maximising i (lowest on ties, -1 without kept balls);
        with ``realism_eps`` the ratio is r_i^2 / (d^2 + eps) instead. ``a_ball_count`` /
        ``b_ball_count``: points inside each ball (``*_covered`` = count > 0).
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
        for r0 in range(0, n, rows):
            r1 = min(r0 + rows, n)
            D2 = _squared_distances(AT[:, r0:r1], BT)  # rows of A (this block) x all of B
            D = np.sqrt(D2)
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
                    D2,
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
        out["a_covered"] = out["a_ball_count"] > 0
        out["b_covered"] = out["b_ball_count"] > 0
        out["n_rechecked"] = 0
        return out
