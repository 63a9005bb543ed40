"""Density and coverage (Naeem et al. 2020), docs/metrics.md section 2."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._engine import EngineOutput, Needs
from .._options import MemoryLike, ProgressLike
from .._validation import parse_k
from ._base import Derived, MetricFamily, reshape_single, run_families

__all__ = ["FAMILY", "density_coverage"]


def _needs(ks: Sequence[int], params: Mapping[str, Any]) -> Needs:
    return Needs(real_radius_ks=frozenset(ks))


def _derive(
    out: EngineOutput, ks: Sequence[int], sample_level: bool, params: Mapping[str, Any]
) -> Derived:
    scalars: dict[str, dict[int, float]] = {"density": {}, "coverage": {}}
    samples: dict[str, dict[int, np.ndarray]] = {"n_real_balls": {}, "covered": {}}
    for k in ks:
        balls = out.real_balls(k)
        counts = balls["fake_count"]  # per fake: number of real balls containing it
        covered = balls["real_covered"]  # per real: its ball holds at least one fake
        scalars["density"][k] = int(counts.sum()) / (k * out.n_fake)
        scalars["coverage"][k] = float(covered.mean())
        if sample_level:
            samples["n_real_balls"][k] = np.ascontiguousarray(counts)
            samples["covered"][k] = np.ascontiguousarray(covered)
    return Derived(scalars, samples, {})


FAMILY = MetricFamily(
    name="density_coverage",
    default_k=5,
    metrics=("density", "coverage"),
    needs_fn=_needs,
    derive_fn=_derive,
)


def density_coverage(
    real: Any,
    fake: Any,
    k: int | Sequence[int] = 5,
    *,
    boundary: str = "inclusive",
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, Any]:
    """Density and coverage of ``fake`` against ``real`` (rows are samples).

    density: number of (fake, real k-NN ball containing it) pairs / (k * M), can exceed 1;
    coverage: share of real k-NN balls holding at least one fake. ``boundary="inclusive"``
    counts d <= radius, ``"strict"`` d < radius.

    Returns:
        ``{"density": float, "coverage": float}``, or ``{k: float}`` per metric for a list
        of k. ``sample_level=True`` adds ``"n_real_balls"`` ((M,) int64, per fake) and
        ``"covered"`` ((N,) bool, per real).
    """
    ks, is_list = parse_k(k)
    result = run_families(
        real,
        fake,
        [(FAMILY, ks)],
        boundary=boundary,
        sample_level=sample_level,
        device=device,
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
    )
    return reshape_single(result, FAMILY, ks, is_list)
