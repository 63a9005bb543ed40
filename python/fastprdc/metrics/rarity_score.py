"""Rarity score (Han et al. 2023), docs/metrics.md section 4."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._engine import EngineOutput, Needs
from .._means import float64_mean
from .._options import MemoryLike, ProgressLike
from .._validation import parse_k
from ._base import Derived, MetricFamily, reshape_single, run_families

__all__ = ["FAMILY", "rarity_score"]


def _needs(ks: Sequence[int], params: Mapping[str, Any]) -> Needs:
    return Needs(real_radius_ks=frozenset(ks))


def _derive(
    out: EngineOutput, ks: Sequence[int], sample_level: bool, params: Mapping[str, Any]
) -> Derived:
    scalars: dict[str, dict[int, float]] = {"n_out_of_ball": {}, "mean_in_ball": {}}
    samples: dict[str, dict[int, np.ndarray]] = {"rarity": {}}
    for k in ks:
        smallest = out.real_balls(k)["fake_min_radius"]  # +inf: in no real ball
        outside = np.isinf(smallest)
        rarity = np.where(outside, np.nan, smallest)
        scalars["n_out_of_ball"][k] = int(outside.sum())
        inside = rarity[~outside]
        scalars["mean_in_ball"][k] = float(float64_mean(inside)) if inside.size else np.nan
        if sample_level:
            samples["rarity"][k] = rarity
    return Derived(scalars, samples, {})


FAMILY = MetricFamily(
    name="rarity_score",
    default_k=3,
    metrics=("n_out_of_ball", "mean_in_ball"),
    needs_fn=_needs,
    derive_fn=_derive,
    primary=("rarity",),
)


def rarity_score(
    real: Any,
    fake: Any,
    k: int | Sequence[int] = 3,
    boundary: str = "inclusive",
    *,
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, Any]:
    """Rarity score of every fake: the smallest radius among the real k-NN balls holding it.

    rarity(f_j) = min { rho_k^R(i) : f_j inside the ball of r_i }; NaN for a fake in no
    real ball. ``boundary="inclusive"`` counts d <= radius, ``"strict"`` d < radius (the
    reference code's test; it reports 0 instead of NaN for out-of-ball fakes).

    Returns:
        ``"rarity"`` ((M,) float64 per fake, NaN outside every ball), ``"n_out_of_ball"``
        (int) and ``"mean_in_ball"`` (mean rarity over the in-ball fakes); ``{k: value}``
        per entry for a list of k.
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
        primary=True,
    )
    return reshape_single(result, FAMILY, ks, is_list)
