"""What a metric family is, and the one function that runs any set of families.

A family states what it needs from the primitives for a list of k (:class:`Needs`) and
derives its scalars and per-sample arrays from the engine output. Adding a family means
adding a module with a :class:`MetricFamily` and registering it in ``metrics/__init__.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import _engine
from .._backends import resolve_device
from .._engine import EngineOutput, Needs
from .._options import MemoryLike, ProgressLike, make_options
from .._validation import parse_boundary, validate_pair
from ..result import EvaluationResult

__all__ = ["Derived", "MetricFamily", "run_families"]

# (scalars {metric: {k: float}}, samples {name: {k: ndarray}})
Derived = tuple[dict[str, dict[int, float]], dict[str, dict[int, np.ndarray]]]


@dataclass(frozen=True)
class MetricFamily:
    """One metric family.

    Attributes:
        name: registry name, e.g. ``"precision_recall"``.
        default_k: k used when the caller gives none.
        metrics: names of its scalar metrics.
        needs: ks -> what the primitives must compute.
        derive: (engine output, ks, sample_level) -> (scalars, samples).
    """

    name: str
    default_k: int
    metrics: tuple[str, ...]
    needs: Callable[[Sequence[int]], Needs]
    derive: Callable[[EngineOutput, Sequence[int], bool], Derived]


def run_families(
    real: Any,
    fake: Any,
    requests: Sequence[tuple[MetricFamily, Sequence[int]]],
    *,
    boundary: str = "inclusive",
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> EvaluationResult:
    """Validate, run the primitives once for all ``(family, ks)`` requests, derive the results."""
    t_start = time.perf_counter()
    strict = parse_boundary(boundary)
    opts = make_options(
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
    )
    backend = resolve_device(device, real, fake)
    real, fake = validate_pair(real, fake)

    needs = Needs()
    for family, ks in requests:
        needs = needs | family.needs(ks)
    out = _engine.run(real, fake, needs, strict, opts, backend)

    scalars: dict[str, dict[str, dict[int, float]]] = {}
    samples: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    for family, ks in requests:
        scalars[family.name], samples[family.name] = family.derive(out, ks, sample_level)
    info = {
        "n_real": out.n_real,
        "n_fake": out.n_fake,
        "dim": out.dim,
        "dtype": out.dtype,
        "backend": out.backend,
        "exact": out.exact,
        "boundary": boundary,
        "ks": {family.name: list(ks) for family, ks in requests},
        "n_rechecked": out.n_rechecked,
        "seconds": time.perf_counter() - t_start,
        "timings": dict(out.timings),
    }
    return EvaluationResult(scalars=scalars, samples=samples if sample_level else None, info=info)


def reshape_single(
    result: EvaluationResult, family: MetricFamily, ks: Sequence[int], is_list: bool
) -> dict[str, Any]:
    """A one-family result as the metric function's dict: values per k (list k) or bare."""
    out: dict[str, Any] = {}
    parts = [result.scalars[family.name]]
    if result.samples is not None:
        parts.append(result.samples[family.name])
    for part in parts:
        for name, per_k in part.items():
            out[name] = dict(per_k) if is_list else per_k[ks[0]]
    return out
