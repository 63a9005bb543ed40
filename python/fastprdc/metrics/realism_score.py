"""Realism score (Kynkaanniemi et al. 2019), docs/metrics.md section 3."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._engine import EngineOutput, Needs
from .._means import float64_mean
from .._options import MemoryLike, ProgressLike
from .._validation import parse_k
from ._base import Derived, MetricFamily, reshape_single, run_families

__all__ = ["FAMILY", "realism_score"]


def _check(params: dict[str, Any]) -> dict[str, Any]:
    prune = params["prune"]
    if isinstance(prune, bool) or not isinstance(prune, numbers.Real) or not 0 <= prune < 1:
        raise ValueError(f"prune must be a number in [0, 1), got {prune!r}")
    return {"prune": float(prune)}


def _needs(ks: Sequence[int], params: Mapping[str, Any]) -> Needs:
    return Needs(realism=frozenset((k, params["prune"]) for k in ks))


def _derive(
    out: EngineOutput, ks: Sequence[int], sample_level: bool, params: Mapping[str, Any]
) -> Derived:
    scalars: dict[str, dict[int, float]] = {"mean": {}, "share_ge_1": {}, "n_kept_balls": {}}
    samples: dict[str, dict[int, np.ndarray]] = {"realism": {}, "realism_real_index": {}}
    for k in ks:
        res = out.realism(k, params["prune"])
        score = res["score"]
        scalars["mean"][k] = float(float64_mean(score))
        scalars["share_ge_1"][k] = float(np.mean(score >= 1.0))
        scalars["n_kept_balls"][k] = res["n_kept"]
        if sample_level:
            samples["realism"][k] = np.ascontiguousarray(score)
            samples["realism_real_index"][k] = np.ascontiguousarray(res["real_index"])
    return Derived(scalars, samples, {})


FAMILY = MetricFamily(
    name="realism_score",
    default_k=3,
    metrics=("mean", "share_ge_1", "n_kept_balls"),
    needs_fn=_needs,
    derive_fn=_derive,
    defaults={"prune": 0.5},
    params={"prune": 0.5},
    check=_check,
    primary=("realism",),
    uses_boundary=False,
)


def realism_score(
    real: Any,
    fake: Any,
    k: int | Sequence[int] = 3,
    prune: float = 0.5,
    *,
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, Any]:
    """Realism score of every fake: max over the kept real balls of radius / distance.

    realism(f_j) = max_i rho_k^R(i) / d(f_j, r_i) over the real k-NN balls whose radius is
    at or below the median radius (``prune=0.5``; generally the ``1 - prune`` quantile,
    ``prune=0`` keeps every ball; equal radii at the threshold are all kept). A fake on a
    kept real of positive radius scores +inf; on a kept real of radius 0 it scores 1 for
    that ball. realism >= 1 exactly when the fake lies in a kept ball (inclusive).

    Returns:
        ``"realism"`` ((M,) float64 per fake), ``"mean"`` (+inf when a fake sits on a kept
        real of positive radius), ``"share_ge_1"`` (share of fakes with realism >= 1) and
        ``"n_kept_balls"``; ``{k: value}`` per entry for a list of k. ``sample_level=True`` adds
        ``"realism_real_index"`` ((M,) int64, the maximising real, lowest index on ties).
    """
    ks, is_list = parse_k(k)
    family = FAMILY.with_params(prune=prune)
    result = run_families(
        real,
        fake,
        [(family, ks)],
        sample_level=sample_level,
        device=device,
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
        primary=True,
    )
    return reshape_single(result, family, ks, is_list)
