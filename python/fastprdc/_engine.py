"""The single plan/run step behind every metric.

Metric families state what they need as a :class:`Needs`; the needs of all requested families
are merged into one :class:`Plan`, which lists every pass of the run:

1. real side: the self-kNN of real at the deepest k needed, the real mean (when a family
   measures distances to it) and the real rows' distances to the requested centres;
2. fake side: the same for fake;
3. one cross pass (real = A, fake = B) for the balls, realism columns and cross neighbour lists
   of every requested k at once;
4. tie completion: for the families that need it (authenticity), whether some exactly tied
   nearest real of each fake holds it inside its k-NN ball, with deeper exact neighbour lists
   for the few fakes whose tie set runs past the cross pass's list.

:func:`run` executes a plan on one backend; ``fastprdc.distributed`` executes the same plan as
Dask tasks, and ``fastprdc.Reference`` keeps a real side to reuse. Nothing runs outside the
plan: the :class:`EngineOutput` holds arrays only.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from typing import Any, Union

import numpy as np

from . import _progress
from ._backends import backend_label
from ._backends.contract import CrossResult
from ._means import float64_mean
from ._options import RunOptions
from ._validation import check_k_limit

__all__ = [
    "FAKE_MEAN",
    "REAL_MEAN",
    "EngineOutput",
    "Needs",
    "Plan",
    "RealSide",
    "SideOutput",
    "centre_digest",
    "float64_mean",
    "given_centre",
    "run",
    "run_side",
]

#: A centre of distance measurements: ("mean", "real"), ("mean", "fake") or ("given", bytes of a
#: float64 vector).
Centre = tuple[str, Union[str, bytes]]
REAL_MEAN: Centre = ("mean", "real")
FAKE_MEAN: Centre = ("mean", "fake")


def given_centre(vector: np.ndarray) -> Centre:
    """The plan key of a caller-given centre (a float64 vector)."""
    return ("given", np.ascontiguousarray(vector, dtype=np.float64).tobytes())


def centre_digest(centre: Centre) -> str:
    """sha256 (hex) of a given centre's float64 values: names it in ``info`` and messages
    (the same vector, whatever its dtype, gives the same digest)."""
    return hashlib.sha256(centre[1]).hexdigest()  # type: ignore[arg-type]


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
        centre_distances: ``(set, centre)`` pairs: distances from every row of ``"real"`` or
            ``"fake"`` to a :data:`Centre` (a set's mean, or a given vector).
        nearest_ball_ties: k values: per fake, whether ANY of its exactly tied nearest reals
            r_i has d(f, r_i) < rho_k^R(i) (authenticity's rule).
    """

    real_radius_ks: frozenset[int] = frozenset()
    fake_radius_ks: frozenset[int] = frozenset()
    real_self_knn: int = 0
    fake_self_knn: int = 0
    real_to_fake_knn: int = 0
    fake_to_real_knn: int = 0
    realism: frozenset[tuple[int, float]] = frozenset()
    fake_to_real_knn_wanted: int = 0
    centre_distances: frozenset[tuple[str, Centre]] = frozenset()
    nearest_ball_ties: frozenset[int] = frozenset()

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
            self.centre_distances | other.centre_distances,
            self.nearest_ball_ties | other.nearest_ball_ties,
        )

    def real_depth(self) -> int:
        """Depth of the real self-kNN serving every real radius and neighbour list."""
        ks = {self.real_self_knn} | self.real_radius_ks | {k for k, _ in self.realism}
        return max(ks | self.nearest_ball_ties)

    def fake_depth(self) -> int:
        """Depth of the fake self-kNN."""
        return max({self.fake_self_knn} | self.fake_radius_ks)

    def check(self, n: int, m: int) -> None:
        """ValueError when a k does not fit N real and M fake samples."""
        real_ks = self.real_radius_ks | {self.real_self_knn} | {k for k, _ in self.realism}
        for k in sorted(real_ks | self.nearest_ball_ties):
            if k:
                check_k_limit(k, n, "N", "real")
        for k in sorted(self.fake_radius_ks | {self.fake_self_knn}):
            if k:
                check_k_limit(k, m, "M", "fake")
        check_k_limit(self.real_to_fake_knn, m, "M", "fake", inclusive=True)
        check_k_limit(self.fake_to_real_knn, n, "N", "real", inclusive=True)


@dataclass(frozen=True)
class Plan:
    """Every pass of one run, resolved for N real and M fake samples (see the module doc).

    Attributes:
        real_depth, fake_depth: self-kNN depths (0 = the pass does not run).
        real_radius_ks, fake_radius_ks: sorted radius columns of the cross pass.
        realism: sorted ``(k, prune)`` realism columns of the cross pass.
        knn_a, knn_b: cross neighbour list depths (real -> fakes, fake -> reals).
        centres: ``{set: centres}``: the centres whose distances each set needs.
        tie_ks: k values of the nearest-ball tie completion.
    """

    n_real: int
    n_fake: int
    real_depth: int
    fake_depth: int
    real_radius_ks: tuple[int, ...]
    fake_radius_ks: tuple[int, ...]
    realism: tuple[tuple[int, float], ...]
    knn_a: int
    knn_b: int
    real_centres: tuple[Centre, ...]
    fake_centres: tuple[Centre, ...]
    tie_ks: tuple[int, ...]

    @classmethod
    def build(cls, needs: Needs, n: int, m: int) -> Plan:
        needs.check(n, m)

        def centres(which: str) -> tuple[Centre, ...]:
            return tuple(sorted({c for s, c in needs.centre_distances if s == which}))

        knn_b = max(needs.fake_to_real_knn, min(needs.fake_to_real_knn_wanted, n))
        if needs.nearest_ball_ties:
            knn_b = max(knn_b, 1)
        return cls(
            n_real=n,
            n_fake=m,
            real_depth=needs.real_depth(),
            fake_depth=needs.fake_depth(),
            real_radius_ks=tuple(sorted(needs.real_radius_ks)),
            fake_radius_ks=tuple(sorted(needs.fake_radius_ks)),
            realism=tuple(sorted(needs.realism)),
            knn_a=needs.real_to_fake_knn,
            knn_b=knn_b,
            real_centres=centres("real"),
            fake_centres=centres("fake"),
            tie_ks=tuple(sorted(needs.nearest_ball_ties)),
        )

    def means(self, which: str) -> bool:
        """Whether the run needs the mean of ``which`` ("real" or "fake")."""
        return ("mean", which) in self.real_centres + self.fake_centres

    def has_cross(self) -> bool:
        return bool(
            self.real_radius_ks or self.fake_radius_ks or self.realism or self.knn_a or self.knn_b
        )


def kept_radii(radii: np.ndarray, prune: float) -> tuple[np.ndarray, float]:
    """Realism pruning: (radius where kept, else -1.0; the threshold).

    A ball is kept when its radius is at or below ``np.median(radii)`` for ``prune=0.5``
    and ``np.quantile(radii, 1 - prune)`` otherwise (``prune=0`` keeps every ball); equal
    radii at the threshold are all kept.
    """
    big = radii.size and float(radii.max()) > 2.0**1021  # the median's a + b could overflow
    r = radii * 0.25 if big else radii  # exact scaling (radii this large are normal numbers)
    threshold = float(np.median(r) if prune == 0.5 else np.quantile(r, 1.0 - prune))
    if big:
        threshold *= 4.0
    return np.where(radii <= threshold, radii, -1.0), threshold


@dataclass
class SideOutput:
    """The passes of one set alone: its self-kNN (dist, idx) at the plan's depth (None when not
    needed), its mean (when needed) and its distances to centres."""

    knn: tuple[np.ndarray, np.ndarray] | None = None
    mean: np.ndarray | None = None
    centre_distances: dict[Centre, np.ndarray] = field(default_factory=dict)
    n_rechecked: int = 0
    seconds: float = 0.0


#: The real side of a run, kept by ``fastprdc.Reference`` for reuse.
RealSide = SideOutput


def _centre_vector(centre: Centre, means: dict[str, np.ndarray | None]) -> np.ndarray:
    kind, value = centre
    if kind == "mean":
        mean = means[str(value)]
        assert mean is not None, f"the plan computes no mean of {value}"
        return mean
    return np.frombuffer(value, dtype=np.float64)  # type: ignore[arg-type]


def _self_knn(
    backend: Any, X: np.ndarray, k: int, opts: RunOptions, description: str
) -> tuple[tuple[np.ndarray, np.ndarray] | None, int]:
    if k == 0:
        return None, 0
    with _progress.phase(opts.progress, description) as callback:
        res = backend.knn(X, None, k, replace(opts, progress=callback, description=description))
    return (res.dist, res.idx), int(res.n_rechecked)


def run_side(
    which: str,
    X: np.ndarray,
    plan: Plan,
    opts: RunOptions,
    backend: Any,
    other_mean: np.ndarray | None = None,
) -> SideOutput:
    """The self-kNN, mean and centre distances of ``which`` ("real" or "fake").

    Distances to the other set's mean need ``other_mean`` (the real side runs first)."""
    t0 = time.perf_counter()
    depth = plan.real_depth if which == "real" else plan.fake_depth
    knn, rechecked = _self_knn(backend, X, depth, opts, f"kNN {which}")
    out = SideOutput(knn=knn, n_rechecked=rechecked)
    if plan.means(which):
        out.mean = backend.column_mean(X)
    other = "fake" if which == "real" else "real"
    means = {which: out.mean, other: other_mean}
    for centre in plan.real_centres if which == "real" else plan.fake_centres:
        c = _centre_vector(centre, means).reshape(1, -1)
        # every backend accepts a float32 set against a float64 centre (oracle semantics)
        out.centre_distances[centre] = np.ascontiguousarray(
            backend.pairwise_distances(X, c, opts)[:, 0]
        )
    out.seconds = time.perf_counter() - t0
    return out


def _radii(
    knn: tuple[np.ndarray, np.ndarray] | None, ks: tuple[int, ...]
) -> tuple[dict[int, np.ndarray], np.ndarray | None]:
    """k -> k-th neighbour distance, plus the (n, K) column block for the cross pass."""
    if knn is None or not ks:
        return {}, None
    block = np.ascontiguousarray(knn[0][:, [k - 1 for k in ks]], dtype=np.float64)
    return {k: block[:, c] for c, k in enumerate(ks)}, block


def realism_block(
    knn: tuple[np.ndarray, np.ndarray] | None, realism: tuple[tuple[int, float], ...]
) -> tuple[dict[tuple[int, float], tuple[int, float, int]], np.ndarray | None]:
    """(k, prune) -> (column, threshold, n_kept), plus the (N, KR) realism radii block
    (negative = pruned) for the cross pass."""
    if knn is None or not realism:
        return {}, None
    columns: dict[tuple[int, float], tuple[int, float, int]] = {}
    block = np.empty((knn[0].shape[0], len(realism)), dtype=np.float64)
    for c, (k, prune) in enumerate(realism):
        block[:, c], threshold = kept_radii(knn[0][:, k - 1], prune)
        columns[(k, prune)] = (c, threshold, int((block[:, c] >= 0).sum()))
    return columns, block


def nearest_ball_ties(
    dist: np.ndarray,
    idx: np.ndarray,
    rho: np.ndarray,
    n_real: int,
    deeper: Any,
) -> np.ndarray:
    """Per fake: some exactly tied nearest real r_i has d(f, r_i) < rho[i] ((M,) bool).

    ``dist`` / ``idx`` are the cross pass's nearest-real lists. Rows whose tie set may run past
    the list (its last entry ties the first) and are not yet decided get exact, deeper lists
    from ``deeper(rows, depth) -> (dist, idx)``, doubling the depth until decided. A row whose
    nearest distance is not below the largest radius is decided (no real can flag it) without
    them: with heavy duplication (radii 0, every real tied at distance 0) that is every row.
    """
    nearest = dist[:, :1]
    flagged = ((dist == nearest) & (nearest < rho[idx])).any(axis=1)
    depth = dist.shape[1]
    open_ = (dist[:, -1] == nearest[:, 0]) & ~flagged & (nearest[:, 0] < rho.max())
    rows = np.nonzero(open_)[0] if depth < n_real else []
    while len(rows):
        depth = min(2 * depth, n_real)
        d2, i2 = deeper(rows, depth)
        tied = d2 == nearest[rows]
        hit = (tied & (nearest[rows] < rho[i2])).any(axis=1)
        flagged[rows[hit]] = True
        rows = rows[~hit & tied[:, -1]] if depth < n_real else rows[:0]
    return flagged


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
    cross: CrossResult | None  # cross pass with A = real, B = fake
    timings: dict[str, float] = field(default_factory=dict)
    n_rechecked: int = 0
    realism_columns: dict[tuple[int, float], tuple[int, float, int]] = field(
        default_factory=dict
    )  # (k, prune) -> (column of b_realism, threshold, number of kept balls)
    centres: dict[Centre, np.ndarray] = field(default_factory=dict)
    centre_dist: dict[tuple[str, Centre], np.ndarray] = field(default_factory=dict)
    ties: dict[int, np.ndarray] = field(default_factory=dict)  # k -> (M,) bool

    def real_balls(self, k: int) -> dict[str, np.ndarray]:
        """Real balls of radius rho_k^R: per fake ``fake_count`` (balls containing it) and
        ``fake_min_radius`` (+inf if none); per real ``real_covered`` (ball holds a fake)."""
        assert self.cross is not None
        c = list(self.real_radii).index(k)
        return {
            "fake_count": self.cross.b_count[:, c],
            "fake_min_radius": self.cross.b_min_radius[:, c],
            "real_covered": self.cross.a_covered[:, c],
        }

    def fake_balls(self, k: int) -> dict[str, np.ndarray]:
        """Fake balls of radius rho_k^F: per real ``real_count`` and ``real_min_radius``;
        per fake ``fake_covered``."""
        assert self.cross is not None
        c = list(self.fake_radii).index(k)
        return {
            "real_count": self.cross.a_count[:, c],
            "real_min_radius": self.cross.a_min_radius[:, c],
            "fake_covered": self.cross.b_covered[:, c],
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
        assert self.cross is not None
        return self.cross.a_knn_dist[:, k - 1]

    def fake_to_real(self, k: int) -> np.ndarray:
        """nu_k^R(f_j): distance from each fake to its k-th nearest real, (M,) float64."""
        assert self.cross is not None
        return self.cross.b_knn_dist[:, k - 1]

    def realism(self, k: int, prune: float) -> dict[str, Any]:
        """Realism on the real balls of radius rho_k^R pruned at ``prune``: per fake
        ``score`` (M,) float64 and ``real_index`` (M,) int64 (the maximising real, lowest
        index on ties); ``threshold`` (the pruning radius) and ``n_kept`` (kept balls)."""
        assert self.cross is not None
        c, threshold, n_kept = self.realism_columns[(k, prune)]
        return {
            "score": self.cross.b_realism[:, c],
            "real_index": self.cross.b_realism_idx[:, c],
            "threshold": threshold,
            "n_kept": n_kept,
        }

    def centre_distances(self, which: str, centre: Centre) -> np.ndarray:
        """Oracle distances from every row of ``which`` ("real" or "fake") to ``centre``."""
        return self.centre_dist[(which, centre)]


def assemble(
    plan: Plan,
    real_side: SideOutput,
    fake_side: SideOutput,
    cross: CrossResult | None,
    ties: dict[int, np.ndarray],
    *,
    dim: int,
    dtype: str,
    backend: str,
    strict: bool,
    exact: bool,
    timings: dict[str, float],
    n_rechecked: int,
) -> EngineOutput:
    """The engine output of a finished plan (shared by every executor)."""
    real_radii, _ = _radii(real_side.knn, plan.real_radius_ks)
    fake_radii, _ = _radii(fake_side.knn, plan.fake_radius_ks)
    columns, _ = realism_block(real_side.knn, plan.realism)
    centres: dict[Centre, np.ndarray] = {}
    centre_dist: dict[tuple[str, Centre], np.ndarray] = {}
    means = {"real": real_side.mean, "fake": fake_side.mean}
    for which, side in (("real", real_side), ("fake", fake_side)):
        for centre, dist in side.centre_distances.items():
            centres[centre] = _centre_vector(centre, means)
            centre_dist[(which, centre)] = dist
    return EngineOutput(
        n_real=plan.n_real,
        n_fake=plan.n_fake,
        dim=dim,
        dtype=dtype,
        backend=backend,
        strict=strict,
        exact=exact,
        real_knn=real_side.knn,
        fake_knn=fake_side.knn,
        real_radii=real_radii,
        fake_radii=fake_radii,
        cross=cross,
        timings=timings,
        n_rechecked=n_rechecked,
        realism_columns=columns,
        centres=centres,
        centre_dist=centre_dist,
        ties=ties,
    )


def run(
    real: np.ndarray,
    fake: np.ndarray,
    needs: Needs,
    strict: bool,
    opts: RunOptions,
    backend: Any,
    *,
    real_side: SideOutput | None = None,
) -> EngineOutput:
    """Run every pass of ``needs`` on validated inputs (see ``_validation``) on one backend.

    ``real_side`` is a real side computed earlier for the same real set and a plan with the
    same real passes (``fastprdc.Reference``); it is not recomputed.
    """
    n, m = real.shape[0], fake.shape[0]
    plan = Plan.build(needs, n, m)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    if real_side is None:
        real_side = run_side("real", real, plan, opts, backend)
        timings["knn_real"] = real_side.seconds
    t1 = time.perf_counter()
    fake_side = run_side("fake", fake, plan, opts, backend, other_mean=real_side.mean)
    t2 = time.perf_counter()
    timings["knn_fake"] = t2 - t1

    cross: CrossResult | None = None
    if plan.has_cross():
        _, radii_a = _radii(real_side.knn, plan.real_radius_ks)
        _, radii_b = _radii(fake_side.knn, plan.fake_radius_ks)
        _, radii_realism = realism_block(real_side.knn, plan.realism)
        extra = {} if radii_realism is None else {"realism_radii": radii_realism}
        description = "cross pass"
        with _progress.phase(opts.progress, description) as callback:
            cross = backend.cross_pass(
                real,
                fake,
                radii_a,
                radii_b,
                strict,
                plan.knn_a,
                plan.knn_b,
                replace(opts, progress=callback, description=description),
                **extra,
            )
    t3 = time.perf_counter()
    timings["cross"] = t3 - t2

    extra_rechecks = 0
    ties: dict[int, np.ndarray] = {}
    if plan.tie_ks:
        assert cross is not None and real_side.knn is not None
        quiet = replace(opts, progress=None)

        def deeper(rows: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
            nonlocal extra_rechecks
            res = backend.knn(backend.take_rows(fake, rows), real, depth, quiet)
            extra_rechecks += int(res.n_rechecked)
            return res.dist, res.idx

        for k in plan.tie_ks:
            rho = real_side.knn[0][:, k - 1]
            ties[k] = nearest_ball_ties(cross.b_knn_dist, cross.b_knn_idx, rho, n, deeper)
        timings["ties"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t_start

    return assemble(
        plan,
        real_side,
        fake_side,
        cross,
        ties,
        dim=real.shape[1],
        dtype=str(real.dtype),
        backend=backend_label(backend),
        strict=strict,
        exact=opts.exact,
        timings=timings,
        n_rechecked=real_side.n_rechecked
        + fake_side.n_rechecked
        + (cross.n_rechecked if cross is not None else 0)
        + extra_rechecks,
    )
