"""``evaluate``: several metric families from one set of primitive passes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._options import MemoryLike, ProgressLike
from ._validation import parse_k
from .metrics import FAMILIES
from .metrics._base import run_families
from .result import EvaluationResult

__all__ = ["evaluate"]


def _families(metrics: str | Sequence[str]) -> list[str]:
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if names == ["all"]:
        return list(FAMILIES)
    if not names:
        raise ValueError(f"metrics is empty; choose from {sorted(FAMILIES)} or 'all'")
    unknown = [m for m in names if m not in FAMILIES]
    if unknown:
        raise ValueError(
            f"unknown metric family {unknown[0]!r}; known: {', '.join(FAMILIES)} (or 'all')"
        )
    return list(dict.fromkeys(names))


def evaluate(
    real: Any,
    fake: Any,
    *,
    k: int | Sequence[int] | None = None,
    metrics: str | Sequence[str] = ("precision_recall", "density_coverage"),
    boundary: str = "inclusive",
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> EvaluationResult:
    """Evaluate ``fake`` against ``real`` with several metric families at once.

    One self-kNN of real, one of fake and one cross pass serve every family and every k.

    Args:
        real, fake: (N, d) and (M, d) array-likes, one sample per row.
        k: None (each family's default: precision_recall 3, density_coverage 5), an int or
            a list of ints used by every family.
        metrics: family names (``"precision_recall"``, ``"density_coverage"``) or ``"all"``.
        boundary: ``"inclusive"`` (d <= radius) or ``"strict"`` (d < radius).
        sample_level: also return per-sample arrays (``result.samples``).
        device, exact, max_memory, num_threads, progress, tile_rows: how to run
            (``"auto"``/``"cpu"``/``"numpy"``; float64 recheck; memory budget like "8GB";
            threads; ``True`` for a progress bar or a ``callable(done, total)``; rows per tile).

    Returns:
        :class:`EvaluationResult` (``.scalars[family][metric][k]``, ``.samples``, ``.info``).
    """
    names = _families(metrics)
    if k is not None:
        ks, _ = parse_k(k)
    requests = [
        (FAMILIES[name], ks if k is not None else [FAMILIES[name].default_k]) for name in names
    ]
    return run_families(
        real,
        fake,
        requests,
        boundary=boundary,
        sample_level=sample_level,
        device=device,
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
    )
