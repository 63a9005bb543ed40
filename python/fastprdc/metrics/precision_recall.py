"""Improved precision and recall (Kynkaanniemi et al. 2019), docs/metrics.md section 1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._engine import EngineOutput, Needs
from .._options import MemoryLike, ProgressLike
from .._validation import parse_k
from ._base import Derived, MetricFamily, reshape_single, run_families

__all__ = ["FAMILY", "precision_recall"]


def _needs(ks: Sequence[int], params: Mapping[str, Any]) -> Needs:
    return Needs(real_radius_ks=frozenset(ks), fake_radius_ks=frozenset(ks))


def _derive(
    out: EngineOutput, ks: Sequence[int], sample_level: bool, params: Mapping[str, Any]
) -> Derived:
    scalars: dict[str, dict[int, float]] = {"precision": {}, "recall": {}}
    samples: dict[str, dict[int, np.ndarray]] = {"in_real_manifold": {}, "in_fake_manifold": {}}
    for k in ks:
        in_real = out.real_balls(k)["fake_count"] > 0  # per fake: inside some real ball
        in_fake = out.fake_balls(k)["real_count"] > 0  # per real: inside some fake ball
        scalars["precision"][k] = float(in_real.mean())
        scalars["recall"][k] = float(in_fake.mean())
        if sample_level:
            samples["in_real_manifold"][k] = in_real
            samples["in_fake_manifold"][k] = in_fake
    return Derived(scalars, samples, {})


FAMILY = MetricFamily(
    name="precision_recall",
    default_k=3,
    metrics=("precision", "recall"),
    needs_fn=_needs,
    derive_fn=_derive,
)


def precision_recall(
    real: Any,
    fake: Any,
    k: int | Sequence[int] = 3,
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
    """Improved precision and recall of ``fake`` against ``real`` (rows are samples).

    precision: share of fakes inside at least one real k-NN ball; recall: share of reals
    inside at least one fake k-NN ball. ``boundary="inclusive"`` counts d <= radius,
    ``"strict"`` d < radius.

    Returns:
        ``{"precision": float, "recall": float}``, or ``{k: float}`` per metric for a list
        of k. ``sample_level=True`` adds ``"in_real_manifold"`` ((M,) bool, per fake) and
        ``"in_fake_manifold"`` ((N,) bool, per real).
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
