"""``compute_prdc``: a drop-in for ``prdc.compute_prdc`` (prdc 0.2, Naeem et al. 2020).

Same signature, strict boundary (d < radius) and the same float expressions as prdc, on
exact distances. Unlike prdc it prints nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._engine import EngineOutput, Needs
from .._options import MemoryLike, ProgressLike
from .._validation import parse_k
from ._base import Derived, MetricFamily, run_families

__all__ = ["compute_prdc"]


def _needs(ks: Sequence[int], params: Mapping[str, Any]) -> Needs:
    return Needs(real_radius_ks=frozenset(ks), fake_radius_ks=frozenset(ks))


def _derive(
    out: EngineOutput, ks: Sequence[int], sample_level: bool, params: Mapping[str, Any]
) -> Derived:
    scalars: dict[str, dict[int, float]] = {
        "precision": {}, "recall": {}, "density": {}, "coverage": {}
    }  # fmt: skip
    for k in ks:
        real_balls, fake_balls = out.real_balls(k), out.fake_balls(k)
        counts = real_balls["fake_count"]
        # prdc's expressions: (D < r).any(0).mean(), (1. / float(k)) * (D < r).sum(0).mean(), ...
        scalars["precision"][k] = float((counts > 0).mean())
        scalars["recall"][k] = float((fake_balls["real_count"] > 0).mean())
        scalars["density"][k] = float((1.0 / float(k)) * counts.mean())
        scalars["coverage"][k] = float(real_balls["real_covered"].mean())
    return Derived(scalars, {}, {})


_FAMILY = MetricFamily(
    name="prdc",
    default_k=5,
    metrics=("precision", "recall", "density", "coverage"),
    needs_fn=_needs,
    derive_fn=_derive,
)


def compute_prdc(
    real_features: Any,
    fake_features: Any,
    nearest_k: int,
    *,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, float]:
    """Precision, recall, density and coverage exactly as ``prdc.compute_prdc`` defines them.

    Drop-in: ``from fastprdc import compute_prdc`` replaces ``from prdc import compute_prdc``.
    Strict boundary (d < radius); density is ``(1. / float(k)) * counts.mean()``.

    Returns:
        ``{"precision": float, "recall": float, "density": float, "coverage": float}``.
    """
    ks, _ = parse_k(nearest_k, "nearest_k", single=True)
    result = run_families(
        real_features,
        fake_features,
        [(_FAMILY, ks)],
        boundary="strict",
        device=device,
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
    )
    return {name: per_k[ks[0]] for name, per_k in result.scalars[_FAMILY.name].items()}
