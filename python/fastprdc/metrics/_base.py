"""What a metric family is, and the one function that runs any set of families.

A family states what it needs from the primitives for a list of k (:class:`Needs`) and
derives its scalars, per-sample arrays and curves from the engine output. Family parameters
(realism ``prune``, cover ``C``, ``n_alphas``...) are bound into the family object with
:meth:`MetricFamily.with_params`, so a request is always a ``(family, ks)`` pair. Adding a
family means adding a module with a :class:`MetricFamily` and registering it in
``metrics/__init__.py``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Callable, NamedTuple

import numpy as np

from .. import _engine
from .._backends import resolve_device
from .._dispatch import distributed, is_distributed_input
from .._engine import EngineOutput, Needs, SideOutput, centre_digest, given_centre
from .._options import MemoryLike, ProgressLike, RunOptions, make_options
from .._validation import check_bool, parse_boundary, validate_pair
from ..result import EvaluationResult

__all__ = [
    "NO_K",
    "Derived",
    "MetricFamily",
    "derive_result",
    "merged_needs",
    "plan_requests",
    "reshape_single",
    "run_families",
]

NO_K = None
"""The k key under which a family without k (alpha-precision...) stores its values."""

Request = tuple["MetricFamily", Sequence[Any]]
#: ``(needs, real, fake, opts, backend) -> SideOutput``: a stored real side for a run's needs.
RealSideProvider = Callable[[Needs, np.ndarray, np.ndarray, RunOptions, Any], SideOutput]


class Derived(NamedTuple):
    """What a family derives from one engine run.

    scalars: ``{metric: {k: float}}``; samples: ``{name: {k: ndarray}}`` (filled when
    sample-level output is asked for, or for the family's ``primary`` arrays); curves:
    ``{name: {k: ndarray}}`` (family-level arrays such as the alpha-precision curve).
    Families without k use the key :data:`NO_K` (None).
    """

    scalars: dict[str, dict[Any, float]]
    samples: dict[str, dict[Any, np.ndarray]]
    curves: dict[str, dict[Any, np.ndarray]]


@dataclass(frozen=True)
class MetricFamily:
    """One metric family.

    Attributes:
        name: registry name, e.g. ``"precision_recall"``.
        default_k: k used when the caller gives none; None for a family without k.
        metrics: names of its scalar metrics.
        needs_fn: (ks, params) -> what the primitives must compute.
        derive_fn: (engine output, ks, sample_level, params) -> :class:`Derived`.
        defaults: parameter names and default values.
        params: the bound parameter values (``defaults`` overridden by ``with_params``).
        check: validates and normalises a full parameter mapping (raises ValueError).
        primary: per-sample arrays the family's own function always returns.
        uses_boundary: whether ``boundary`` changes its results.
        check_data: (ks, params, n_real, n_fake, dim) -> None, raising ValueError before
            any pass runs when the data cannot serve the request (clearer than the engine's
            generic size check).
    """

    name: str
    default_k: int | None
    metrics: tuple[str, ...]
    needs_fn: Callable[[Sequence[int], Mapping[str, Any]], Needs]
    derive_fn: Callable[[EngineOutput, Sequence[int], bool, Mapping[str, Any]], Derived]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    check: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    primary: tuple[str, ...] = ()
    uses_boundary: bool = True
    check_data: Callable[[Sequence[Any], Mapping[str, Any], int, int, int], None] | None = None

    @property
    def uses_k(self) -> bool:
        return self.default_k is not None

    def bound(self) -> dict[str, Any]:
        """Every parameter value: the defaults overridden by the bound ones."""
        return {**self.defaults, **self.params}

    def with_params(self, **params: Any) -> MetricFamily:
        """A copy with ``params`` bound (validated); unknown names raise ValueError."""
        unknown = [p for p in params if p not in self.defaults]
        if unknown:
            known = ", ".join(self.defaults) or "none"
            raise ValueError(
                f"{self.name} has no parameter {unknown[0]!r} (its parameters: {known})"
            )
        merged = {**self.bound(), **params}
        if self.check is not None:
            merged = self.check(merged)
        return replace(self, params=merged)

    def check_sizes(self, ks: Sequence[Any], n: int, m: int, dim: int) -> None:
        """The family's own data check (``check_data``) for these ks on n reals and m fakes of
        width ``dim``: ValueError in its own terms (e.g. k' = C*k) before any pass runs."""
        if self.check_data is not None:
            self.check_data(self.ks_for(ks), self.bound(), n, m, dim)

    def needs(self, ks: Sequence[int]) -> Needs:
        """What the primitives must compute for these ks."""
        return self.needs_fn(self.ks_for(ks), self.bound())

    def derive(self, out: EngineOutput, ks: Sequence[int], sample_level: bool) -> Derived:
        """Scalars, samples and curves from one engine run."""
        return self.derive_fn(out, self.ks_for(ks), sample_level, self.bound())

    def ks_for(self, ks: Sequence[Any]) -> list[Any]:
        """The ks a family computes: the given ones, or ``[NO_K]`` for a family without k."""
        return list(ks) if self.uses_k else [NO_K]


def run_families(
    real: Any,
    fake: Any,
    requests: Sequence[Request],
    *,
    boundary: str = "inclusive",
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
    primary: bool = False,
    real_side: RealSideProvider | None = None,
) -> EvaluationResult:
    """Validate, run the primitives once for all ``(family, ks)`` requests, derive the results.

    ``primary=True`` computes each family's primary per-sample arrays even without
    ``sample_level`` (its own function returns them); other sample arrays are then dropped.
    ``real_side(needs, real, fake, opts, backend)``, when given, returns a real side computed
    earlier for the merged needs (``fastprdc.Reference``); the engine then skips the real passes.
    Dask arrays run on the current Dask client (``fastprdc.distributed``).
    """
    sample_level = check_bool(sample_level, "sample_level")
    if is_distributed_input(real, fake):
        if real_side is not None:
            raise ValueError(
                "a Reference evaluates on this machine, but fake is a dask array: give it as "
                "numpy (fake.compute()), or run fastprdc.evaluate(real, fake) on the cluster"
            )
        return distributed().run_families(
            real, fake, requests, boundary=boundary, sample_level=sample_level, device=device,
            exact=exact, max_memory=max_memory, num_threads=num_threads, progress=progress,
            tile_rows=tile_rows, primary=primary,
        )  # fmt: skip
    t_start = time.perf_counter()
    strict = parse_boundary(boundary)
    opts = make_options(
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
    )
    backend = resolve_device(device, real, fake, names=("real", "fake"))
    real, fake = validate_pair(real, fake, on_device=backend.location == "cuda")

    requests, needs = plan_requests(requests, real.shape[0], fake.shape[0], real.shape[1])
    side = None if real_side is None else real_side(needs, real, fake, opts, backend)
    out = _engine.run(real, fake, needs, strict, opts, backend, real_side=side)
    return derive_result(out, requests, boundary, sample_level, primary, t_start)


def plan_requests(
    requests: Sequence[Request], n: int, m: int, dim: int
) -> tuple[list[tuple[MetricFamily, list[Any]]], Needs]:
    """The requests with their ks resolved, and the merged needs (each family's data check
    run first). Shared by every executor."""
    resolved = [(family, family.ks_for(ks)) for family, ks in requests]
    for family, ks in resolved:
        family.check_sizes(ks, n, m, dim)
    return resolved, merged_needs(resolved)


def merged_needs(requests: Sequence[tuple[MetricFamily, Sequence[Any]]]) -> Needs:
    """What the engine must compute for every request at once."""
    needs = Needs()
    for family, ks in requests:
        needs = needs | family.needs(ks)
    return needs


def derive_result(
    out: EngineOutput,
    requests: Sequence[tuple[MetricFamily, Sequence[Any]]],
    boundary: str,
    sample_level: bool,
    primary: bool,
    t_start: float,
) -> EvaluationResult:
    """Every family's scalars, samples and curves from one engine output, with the run info.
    Shared by every executor."""
    scalars: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    for family, ks in requests:
        derived = family.derive(out, ks, sample_level or (primary and bool(family.primary)))
        scalars[family.name] = derived.scalars
        if sample_level:
            samples[family.name] = derived.samples
        elif primary and family.primary:
            samples[family.name] = {
                name: v for name, v in derived.samples.items() if name in family.primary
            }
        if derived.curves:
            curves[family.name] = derived.curves
    info = {
        "n_real": out.n_real,
        "n_fake": out.n_fake,
        "dim": out.dim,
        "dtype": out.dtype,
        "backend": out.backend,
        "exact": out.exact,
        "boundary": boundary,
        "ks": {family.name: list(ks) for family, ks in requests},
        "params": {family.name: _plain_params(family.bound()) for family, _ in requests},
        "n_rechecked": out.n_rechecked,
        "seconds": time.perf_counter() - t_start,
        "timings": dict(out.timings),
    }
    return EvaluationResult(
        scalars=scalars,
        samples=samples if (sample_level or primary) else None,
        info=info,
        curves=curves,
    )


def _plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters for ``info`` (a centre array is summarised by its shape and digest, not
    copied: runs with different centres differ)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, np.ndarray):
            out[name] = f"array{value.shape} sha256:{centre_digest(given_centre(value))[:16]}"
        else:
            out[name] = value
    return out


def reshape_single(
    result: EvaluationResult, family: MetricFamily, ks: Sequence[int], is_list: bool
) -> dict[str, Any]:
    """A one-family result as the metric function's dict: values per k (list k) or bare."""
    out: dict[str, Any] = {}
    parts = [result.scalars[family.name], result.curves.get(family.name, {})]
    if result.samples is not None:
        parts.append(result.samples.get(family.name, {}))
    key = ks[0] if family.uses_k else NO_K
    for part in parts:
        for name, per_k in part.items():
            out[name] = dict(per_k) if (is_list and family.uses_k) else per_k[key]
    return out
