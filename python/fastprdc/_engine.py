"""The single plan/run step behind every metric: self-kNN of real, self-kNN of fake, one cross pass.

Metric families state what they need as a :class:`Needs`; the needs of all requested
families are merged, each self-kNN runs once at the largest depth, and a single cross pass
(real = A, fake = B) evaluates the balls, realism columns and cross neighbour lists of every
requested k at once. The few follow-ups that are O((N + M) d) or touch only a handful of rows
(distances to a centre, exact tie sets) run through the same backend on demand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import _progress
from ._options import RunOptions
from ._validation import check_k_limit

__all__ = ["EngineOutput", "Needs", "run"]


@dataclass(frozen=True)
class Needs:
    """What a computation needs from the primitives.

    Attributes:
        real_radius_ks: k values of the real balls (radius rho_k^R), used in the cross pass.
        fake_radius_ks: k values of the fake balls (radius rho_k^F).
        real_self_knn: self-kNN depth of real needed beyond the radii (e.g. neighbour lists).
        fake_self_knn: likewise for fake.
        real_to_fake_knn: nearest fakes of each real (cross kNN, 0 = none); needs <= M.
        fake_to_real_knn: nearest reals of each fake; needs <= N.
        realism: ``(k, prune)`` pairs: realism columns on the real balls of radius rho_k^R,
            balls above the ``1 - prune`` quantile of the radii pruned (see :func:`kept_radii`).
        fake_to_real_knn_wanted: a depth of nearest reals per fake that would be useful but
            is not required: clipped to N instead of raising.
    """

    real_radius_ks: frozenset[int] = frozenset()
    fake_radius_ks: frozenset[int] = frozenset()
    real_self_knn: int = 0
    fake_self_knn: int = 0
    real_to_fake_knn: int = 0
    fake_to_real_knn: int = 0
    realism: frozenset[tuple[int, float]] = frozenset()
    fake_to_real_knn_wanted: int = 0

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            self.real_radius_ks | other.real_radius_ks,
            self.fake_radius_ks | other.fake_radius_ks,
            max(self.real_self_knn, other.real_self_knn),
            max(self.fake_self_knn, other.fake_self_knn),
            max(self.real_to_fake_knn, other.real_to_fake_knn),
            max(self.fake_to_real_knn, other.fake_to_real_knn),
            self.realism | other.realism,
            max(self.fake_to_real_knn_wanted, other.fake_to_real_knn_wanted),
        )

    def real_depth(self) -> int:
        """Depth of the real self-kNN serving every real radius and neighbour list."""
        return max({self.real_self_knn} | self.real_radius_ks | {k for k, _ in self.realism})

    def fake_depth(self) -> int:
        """Depth of the fake self-kNN."""
        return max({self.fake_self_knn} | self.fake_radius_ks)


def kept_radii(radii: np.ndarray, prune: float) -> tuple[np.ndarray, float]:
    """Realism pruning: (radius where kept, else -1.0; the threshold).

    A ball is kept when its radius is at or below ``np.median(radii)`` for ``prune=0.5``
    and ``np.quantile(radii, 1 - prune)`` otherwise (``prune=0`` keeps every ball); equal
    radii at the threshold are all kept.
    """
    threshold = float(np.median(radii) if prune == 0.5 else np.quantile(radii, 1.0 - prune))
    return np.where(radii <= threshold, radii, -1.0), threshold


@dataclass
class EngineOutput:
    """Raw primitive outputs of one run; metric modules derive everything from these."""

    n_real: int
    n_fake: int
    dim: int
    dtype: str
    backend: str
    strict: bool
    exact: bool
    real_knn: tuple[np.ndarray, np.ndarray] | None  # self-kNN of real: (dist, idx) (N, k_max)
    fake_knn: tuple[np.ndarray, np.ndarray] | None
    real_radii: dict[int, np.ndarray]  # k -> rho_k^R, (N,) float64
    fake_radii: dict[int, np.ndarray]  # k -> rho_k^F, (M,) float64
    cross: dict[str, Any]  # cross_pass output with A = real, B = fake
    timings: dict[str, float] = field(default_factory=dict)
    n_rechecked: int = 0
    realism_columns: dict[tuple[int, float], tuple[int, float, int]] = field(
        default_factory=dict
    )  # (k, prune) -> (column of b_realism, threshold, number of kept balls)
    real: np.ndarray | None = field(default=None, repr=False)  # validated inputs
    fake: np.ndarray | None = field(default=None, repr=False)
    engine: Any = field(default=None, repr=False)  # the backend object that ran
    opts: RunOptions | None = field(default=None, repr=False)
    _centre_cache: dict[tuple[str, bytes], np.ndarray] = field(default_factory=dict, repr=False)

    def real_balls(self, k: int) -> dict[str, np.ndarray]:
        """Real balls of radius rho_k^R: per fake ``fake_count`` (balls containing it) and
        ``fake_min_radius`` (+inf if none); per real ``real_covered`` (ball holds a fake)."""
        c = list(self.real_radii).index(k)
        return {
            "fake_count": self.cross["b_count"][:, c],
            "fake_min_radius": self.cross["b_min_radius"][:, c],
            "real_covered": self.cross["a_covered"][:, c],
        }

    def fake_balls(self, k: int) -> dict[str, np.ndarray]:
        """Fake balls of radius rho_k^F: per real ``real_count`` and ``real_min_radius``;
        per fake ``fake_covered``."""
        c = list(self.fake_radii).index(k)
        return {
            "real_count": self.cross["a_count"][:, c],
            "real_min_radius": self.cross["a_min_radius"][:, c],
            "fake_covered": self.cross["b_covered"][:, c],
        }

    def real_kth(self, k: int) -> np.ndarray:
        """rho_k^R: distance from each real to its k-th nearest other real, (N,) float64."""
        assert self.real_knn is not None
        return self.real_knn[0][:, k - 1]

    def fake_kth(self, k: int) -> np.ndarray:
        """rho_k^F, (M,) float64."""
        assert self.fake_knn is not None
        return self.fake_knn[0][:, k - 1]

    def real_to_fake(self, k: int) -> np.ndarray:
        """nu_k^F(r_i): distance from each real to its k-th nearest fake, (N,) float64."""
        return self.cross["a_knn_dist"][:, k - 1]

    def fake_to_real(self, k: int) -> np.ndarray:
        """nu_k^R(f_j): distance from each fake to its k-th nearest real, (M,) float64."""
        return self.cross["b_knn_dist"][:, k - 1]

    def realism(self, k: int, prune: float) -> dict[str, Any]:
        """Realism on the real balls of radius rho_k^R pruned at ``prune``: per fake
        ``score`` (M,) float64 and ``real_index`` (M,) int64 (the maximising real, lowest
        index on ties); ``threshold`` (the pruning radius) and ``n_kept`` (kept balls)."""
        c, threshold, n_kept = self.realism_columns[(k, prune)]
        return {
            "score": self.cross["b_realism"][:, c],
            "real_index": self.cross["b_realism_idx"][:, c],
            "threshold": threshold,
            "n_kept": n_kept,
        }

    def centre_distances(self, which: str, centre: np.ndarray) -> np.ndarray:
        """Oracle distances from every row of ``which`` ("real" or "fake") to ``centre``
        ((d,) float64), through the backend's exact ``pairwise_distances``; cached."""
        X = self.real if which == "real" else self.fake
        assert X is not None and self.engine is not None
        c = np.ascontiguousarray(centre, dtype=np.float64).reshape(1, -1)
        key = (which, c.tobytes())
        if key not in self._centre_cache:
            t0 = time.perf_counter()
            # every backend accepts a float32 set against a float64 centre (oracle semantics)
            dist = self.engine.pairwise_distances(X, c)
            self._centre_cache[key] = np.ascontiguousarray(dist[:, 0])
            self.timings["centres"] = self.timings.get("centres", 0.0) + (time.perf_counter() - t0)
        return self._centre_cache[key]

    def fake_to_real_knn(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest reals of the fakes ``rows`` (exact, sorted by (distance, index)),
        for follow-ups that need deeper lists than the cross pass kept for a few rows."""
        assert self.fake is not None and self.real is not None and self.opts is not None
        sub = np.ascontiguousarray(self.fake[rows])
        res = self.engine.knn(sub, self.real, k, replace(self.opts, progress=None))
        self.n_rechecked += int(res[2]) if len(res) > 2 else 0
        return res[0], res[1]


def _check(needs: Needs, n: int, m: int) -> None:
    for k in sorted(needs.real_radius_ks | {needs.real_self_knn} | {k for k, _ in needs.realism}):
        if k:
            check_k_limit(k, n, "N", "real")
    for k in sorted(needs.fake_radius_ks | {needs.fake_self_knn}):
        if k:
            check_k_limit(k, m, "M", "fake")
    check_k_limit(needs.real_to_fake_knn, m, "M", "fake", inclusive=True)
    check_k_limit(needs.fake_to_real_knn, n, "N", "real", inclusive=True)


def _self_knn(
    backend: Any, X: np.ndarray, k: int, opts: RunOptions, description: str
) -> tuple[tuple[np.ndarray, np.ndarray] | None, int]:
    if k == 0:
        return None, 0
    with _progress.phase(opts.progress, description) as callback:
        res = backend.knn(X, None, k, replace(opts, progress=callback, description=description))
    rechecked = int(res[2]) if len(res) > 2 else 0
    return (res[0], res[1]), rechecked


def _radii(
    knn: tuple[np.ndarray, np.ndarray] | None, ks: frozenset[int]
) -> tuple[dict[int, np.ndarray], np.ndarray | None]:
    """k -> k-th neighbour distance, plus the (n, K) column block for the cross pass."""
    if knn is None or not ks:
        return {}, None
    order = sorted(ks)
    block = np.ascontiguousarray(knn[0][:, [k - 1 for k in order]], dtype=np.float64)
    return {k: block[:, c] for c, k in enumerate(order)}, block


def _realism_columns(
    knn: tuple[np.ndarray, np.ndarray] | None, realism: frozenset[tuple[int, float]]
) -> tuple[dict[tuple[int, float], tuple[int, float, int]], np.ndarray | None]:
    """(k, prune) -> (column, threshold, n_kept), plus the (N, KR) realism radii block
    (negative = pruned) for the cross pass."""
    if knn is None or not realism:
        return {}, None
    columns: dict[tuple[int, float], tuple[int, float, int]] = {}
    block = np.empty((knn[0].shape[0], len(realism)), dtype=np.float64)
    for c, (k, prune) in enumerate(sorted(realism)):
        block[:, c], threshold = kept_radii(knn[0][:, k - 1], prune)
        columns[(k, prune)] = (c, threshold, int((block[:, c] >= 0).sum()))
    return columns, block


def run(
    real: np.ndarray,
    fake: np.ndarray,
    needs: Needs,
    strict: bool,
    opts: RunOptions,
    backend: Any,
) -> EngineOutput:
    """Run the primitives once for ``needs`` on validated inputs (see ``_validation``)."""
    n, m = real.shape[0], fake.shape[0]
    _check(needs, n, m)
    timings: dict[str, float] = {}
    t_start = time.perf_counter()

    depth_r, depth_f = needs.real_depth(), needs.fake_depth()
    knn_b = max(needs.fake_to_real_knn, min(needs.fake_to_real_knn_wanted, n))
    t0 = time.perf_counter()
    real_knn, rechecked_r = _self_knn(backend, real, depth_r, opts, "kNN real")
    t1 = time.perf_counter()
    fake_knn, rechecked_f = _self_knn(backend, fake, depth_f, opts, "kNN fake")
    t2 = time.perf_counter()
    timings["knn_real"], timings["knn_fake"] = t1 - t0, t2 - t1

    real_radii, radii_a = _radii(real_knn, needs.real_radius_ks)
    fake_radii, radii_b = _radii(fake_knn, needs.fake_radius_ks)
    realism_columns, radii_realism = _realism_columns(real_knn, needs.realism)
    cross: dict[str, Any] = {}
    if (
        radii_a is not None
        or radii_b is not None
        or radii_realism is not None
        or (needs.real_to_fake_knn or knn_b)
    ):
        description = "cross pass"
        extra = {} if radii_realism is None else {"realism_radii": radii_realism}
        with _progress.phase(opts.progress, description) as callback:
            cross = backend.cross_pass(
                real,
                fake,
                radii_a,
                radii_b,
                strict,
                needs.real_to_fake_knn,
                knn_b,
                replace(opts, progress=callback, description=description),
                **extra,
            )
    timings["cross"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t_start

    return EngineOutput(
        n_real=n,
        n_fake=m,
        dim=real.shape[1],
        dtype=str(real.dtype),
        backend=str(backend.name),
        strict=strict,
        exact=opts.exact,
        real_knn=real_knn,
        fake_knn=fake_knn,
        real_radii=real_radii,
        fake_radii=fake_radii,
        cross=cross,
        timings=timings,
        n_rechecked=rechecked_r + rechecked_f + int(cross.get("n_rechecked", 0)),
        realism_columns=realism_columns,
        real=real,
        fake=fake,
        engine=backend,
        opts=replace(opts, progress=None),
    )
