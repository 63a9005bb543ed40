"""``evaluate``: several metric families from one set of primitive passes, optionally per class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

from . import modes
from ._dispatch import distributed, is_distributed_input
from ._options import MemoryLike, ProgressLike
from ._validation import parse_k, validate_pair
from .metrics import DEFAULT_METRICS, FAMILIES
from .metrics._base import NO_K, MetricFamily, run_families
from .metrics.precision_recall_cover import resolve_ks
from .result import EvaluationResult

__all__ = ["evaluate"]

KLike = Union[int, str, Sequence[Union[int, str]]]


def _families(metrics: str | Sequence[str]) -> list[str]:
    if not isinstance(metrics, (str, Sequence)):
        raise TypeError(
            f"metrics must be a family name, a list of them or 'all', got {metrics!r}; "
            f"families: {', '.join(FAMILIES)}"
        )
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


def _bind(names: list[str], params: Mapping[str, Mapping[str, Any]] | None) -> list[MetricFamily]:
    params = dict(params or {})
    unknown = [name for name in params if name not in FAMILIES]
    if unknown:
        raise ValueError(f"params names an unknown metric family {unknown[0]!r}")
    unused = [name for name in params if name not in names]
    if unused:
        raise ValueError(f"params given for {unused[0]!r}, which is not among the metrics")
    for name, value in params.items():
        if not isinstance(value, Mapping):
            raise TypeError(
                f"params[{name!r}] must map parameter names to values, e.g. "
                f"{{{name!r}: {FAMILIES[name].defaults!r}}}, got {value!r}"
            )
    return [
        FAMILIES[name].with_params(**params[name]) if name in params else FAMILIES[name]
        for name in names
    ]


def _family_ks(family: MetricFamily, k: Any, real: Any) -> list[Any]:
    """The ks one family runs with: its default when k is None, else k (``"auto"`` only
    for precision_recall_cover)."""
    if not family.uses_k:
        return [NO_K]
    if k is None:
        return [family.default_k]
    if family.name == "precision_recall_cover":
        return resolve_ks(k, real, family.bound()["C"])[0]
    return parse_k(k)[0]


def _requests(
    families: list[MetricFamily], k: KLike | Mapping[str, KLike] | None, real: Any
) -> list[tuple[MetricFamily, list[Any]]]:
    if isinstance(k, Mapping):
        names = {family.name for family in families}
        unknown = [name for name in k if name not in names]
        if unknown:
            raise ValueError(f"k given for {unknown[0]!r}, which is not among the metrics")
        no_k = [fam.name for fam in families if not fam.uses_k and k.get(fam.name) is not None]
        if no_k:
            raise ValueError(f"k given for {no_k[0]!r}, which takes no k")
        return [(fam, _family_ks(fam, k.get(fam.name), real)) for fam in families]
    if k is not None:
        with_k = [fam.name for fam in families if fam.uses_k]
        if not with_k:
            raise ValueError(
                f"k={k!r} given, but no requested family takes k "
                f"({', '.join(fam.name for fam in families)} takes none)"
            )
        given = [k] if isinstance(k, str) else list(k) if isinstance(k, Sequence) else []
        others = [name for name in with_k if name != "precision_recall_cover"]
        if "auto" in given and others:
            raise ValueError(
                "k='auto' applies to precision_recall_cover only, and the metrics also hold "
                f"{', '.join(others)}: pass k={{'precision_recall_cover': 'auto'}} (the others "
                "keep their defaults)"
            )
        if "auto" not in given:
            parse_k(k)  # one clear error for a bad k, whatever the families
    return [(fam, _family_ks(fam, k, real)) for fam in families]


def evaluate(
    real: Any,
    fake: Any,
    *,
    k: KLike | Mapping[str, KLike] | None = None,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    boundary: str = "inclusive",
    sample_level: bool = False,
    real_labels: Any = None,
    fake_labels: Any = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
    client: Any = None,
) -> EvaluationResult:
    """Evaluate ``fake`` against ``real`` with several metric families at once.

    One self-kNN of real, one of fake and one cross pass serve every family and every k
    (plus O((N + M) d) distances to the centres for alpha-precision).

    Args:
        real, fake: (N, d) and (M, d) array-likes, one sample per row.
        k: None (each family's default: precision_recall 3, density_coverage 5,
            realism_score 3, rarity_score 3, precision_recall_cover 3, pce_rce_re 5), an
            int or a list of ints used by every family that takes k, or a mapping
            ``{family: k}`` (families left out keep their default; precision_recall_cover
            also takes ``"auto"``, given alone when it is the only family with k).
            alpha_precision_beta_recall takes no k: a k with no family to take it raises.
        metrics: family names (``"precision_recall"``, ``"density_coverage"``,
            ``"realism_score"``, ``"rarity_score"``, ``"precision_recall_cover"``,
            ``"pce_rce_re"``, ``"alpha_precision_beta_recall"``) or ``"all"``.
        boundary: ``"inclusive"`` (d <= radius) or ``"strict"`` (d < radius), for the
            families defined by balls (precision/recall, density/coverage, rarity, cover).
        sample_level: also return per-sample arrays (``result.samples``; every family's
            function documents its arrays).
        real_labels, fake_labels: class ids (one per row, both or neither): adds
            ``result.per_class``, every requested metric per class (class c of fake against
            class c of real), the class histograms and the classes missing from fake.
        params: family parameters, e.g. ``{"realism_score": {"prune": 0.5},
            "precision_recall_cover": {"C": 3, "variant": "native"},
            "alpha_precision_beta_recall": {"n_alphas": 30, "center": None}}``.
        device, exact, max_memory, num_threads, progress, tile_rows: how to run
            (``"auto"``/``"cpu"``/``"numpy"``/``"cuda"``/``"cupy"``/``"sim"``, a GPU backend
            on one GPU as ``"cuda:1"``; float64 recheck;
            memory budget like "8GB"; threads; ``True`` for a progress bar or a
            ``callable(done, total)``; rows per tile).
        client: a Dask ``distributed.Client``: run on its cluster (:mod:`fastprdc.distributed`,
            the same results). Dask array inputs run there too, on the current client when
            ``client`` is None.

    Returns:
        :class:`EvaluationResult` (``.scalars[family][metric][k]``, ``.curves``,
        ``.samples``, ``.per_class``, ``.info``).
    """
    if client is not None or is_distributed_input(real, fake):
        return distributed().evaluate(
            real, fake, client=client, k=k, metrics=metrics, boundary=boundary,
            sample_level=sample_level, real_labels=real_labels, fake_labels=fake_labels,
            params=params, device=device, exact=exact, max_memory=max_memory,
            num_threads=num_threads, progress=progress, tile_rows=tile_rows,
        )  # fmt: skip
    families = _bind(_families(metrics), params)
    requests = _requests(families, k, real)
    run = {
        "device": device,
        "exact": exact,
        "max_memory": max_memory,
        "num_threads": num_threads,
        "tile_rows": tile_rows,
    }
    labelled = real_labels is not None or fake_labels is not None
    if labelled:
        if real_labels is None or fake_labels is None:
            raise ValueError("real_labels and fake_labels must be given together")
        shapes = validate_pair(real, fake, on_device=True)  # GPU inputs: described, not copied
        modes.validate_labels(real_labels, shapes[0].shape[0], "real_labels", "real")
        modes.validate_labels(fake_labels, shapes[1].shape[0], "fake_labels", "fake")
    result = run_families(
        real,
        fake,
        requests,
        boundary=boundary,
        sample_level=sample_level,
        progress=progress,
        **run,
    )
    if labelled:
        result.per_class = modes.per_class(
            real,
            fake,
            real_labels,
            fake_labels,
            requests,
            boundary=boundary,
            sample_level=sample_level,
            progress=progress,
            **run,
        )
    return result
