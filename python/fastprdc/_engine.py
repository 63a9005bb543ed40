"""The single plan/run step behind every metric: self-kNN of real, self-kNN of fake, one cross pass.

Metric families state what they need as a :class:`Needs`; the needs of all requested
families are merged, each self-kNN runs once at the largest k, and a single cross pass
(real = A, fake = B) evaluates the balls of every requested k at once.
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
        real_to_fake_knn: nearest fakes of each real (cross kNN, 0 = none).
        fake_to_real_knn: nearest reals of each fake.
    """

    real_radius_ks: frozenset[int] = frozenset()
    fake_radius_ks: frozenset[int] = frozenset()
    real_self_knn: int = 0
    fake_self_knn: int = 0
    real_to_fake_knn: int = 0
    fake_to_real_knn: int = 0

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            self.real_radius_ks | other.real_radius_ks,
            self.fake_radius_ks | other.fake_radius_ks,
            max(self.real_self_knn, other.real_self_knn),
            max(self.fake_self_knn, other.fake_self_knn),
            max(self.real_to_fake_knn, other.real_to_fake_knn),
            max(self.fake_to_real_knn, other.fake_to_real_knn),
        )


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


def _check(needs: Needs, n: int, m: int) -> None:
    for k in sorted(needs.real_radius_ks | {needs.real_self_knn}):
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

    depth_r = max(needs.real_radius_ks | {needs.real_self_knn})
    depth_f = max(needs.fake_radius_ks | {needs.fake_self_knn})
    t0 = time.perf_counter()
    real_knn, rechecked_r = _self_knn(backend, real, depth_r, opts, "kNN real")
    t1 = time.perf_counter()
    fake_knn, rechecked_f = _self_knn(backend, fake, depth_f, opts, "kNN fake")
    t2 = time.perf_counter()
    timings["knn_real"], timings["knn_fake"] = t1 - t0, t2 - t1

    real_radii, radii_a = _radii(real_knn, needs.real_radius_ks)
    fake_radii, radii_b = _radii(fake_knn, needs.fake_radius_ks)
    cross: dict[str, Any] = {}
    if (
        radii_a is not None
        or radii_b is not None
        or needs.real_to_fake_knn
        or needs.fake_to_real_knn
    ):
        description = "cross pass"
        with _progress.phase(opts.progress, description) as callback:
            cross = backend.cross_pass(
                real,
                fake,
                radii_a,
                radii_b,
                strict,
                needs.real_to_fake_knn,
                needs.fake_to_real_knn,
                replace(opts, progress=callback, description=description),
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
    )
