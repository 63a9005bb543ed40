"""Precision cover and recall cover (Cheema and Urner 2023), docs/metrics.md section 5."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._dispatch import is_distributed_input
from .._engine import EngineOutput, Needs
from .._options import MemoryLike, ProgressLike
from .._validation import parse_k, validate_features
from ._base import Derived, MetricFamily, reshape_single, run_families

__all__ = ["FAMILY", "auto_k", "precision_recall_cover"]

_VARIANTS = ("native", "cheema2023")


def auto_k(n: int, C: int) -> int:
    """The authors' default k for n real samples: k' = int(ln(n) + 7), k = int(k' / C + 1)."""
    k_total = int(math.log(n) + 6 + 1)
    return int(k_total / C + 1)


def _check(params: dict[str, Any]) -> dict[str, Any]:
    C, variant = params["C"], params["variant"]
    if isinstance(C, bool) or not isinstance(C, numbers.Integral) or C < 1:
        raise ValueError(f"C must be a positive int, got {C!r}")
    if variant not in _VARIANTS:
        raise ValueError(
            f"variant must be one of {', '.join(map(repr, _VARIANTS))}, got {variant!r}"
        )
    return {"C": int(C), "variant": variant}


def _check_data(ks: Sequence[int], params: Mapping[str, Any], n: int, m: int, d: int) -> None:
    for k in ks:
        kp = params["C"] * k
        for symbol, size, of in (("N", n, "real"), ("M", m, "fake")):
            if kp >= size:
                raise ValueError(
                    f"k={k} is too large for precision_recall_cover with C={params['C']}: needs "
                    f"k' = C*k = {kp} smaller than {symbol}={size}, the number of {of} samples"
                )


def _needs(ks: Sequence[int], params: Mapping[str, Any]) -> Needs:
    k = max(ks)
    depth = params["C"] * k
    return Needs(real_self_knn=depth, fake_self_knn=depth, real_to_fake_knn=k, fake_to_real_knn=k)


def _derive(
    out: EngineOutput, ks: Sequence[int], sample_level: bool, params: Mapping[str, Any]
) -> Derived:
    inside = np.less if out.strict else np.less_equal
    C, mirrored = params["C"], params["variant"] == "cheema2023"
    scalars: dict[str, dict[int, float]] = {"precision_cover": {}, "recall_cover": {}}
    samples: dict[str, dict[int, np.ndarray]] = {"fake_in_cover": {}, "real_in_cover": {}}
    for k in ks:
        # the k'-NN ball of f_j within F holds >= k reals  <=>  nu_k^R(f_j) within rho_k'^F(j)
        fake_in = inside(out.fake_to_real(k), out.fake_kth(C * k))
        real_in = inside(out.real_to_fake(k), out.real_kth(C * k))
        pc, rc = float(fake_in.mean()), float(real_in.mean())
        scalars["precision_cover"][k], scalars["recall_cover"][k] = (
            (rc, pc) if mirrored else (pc, rc)
        )
        if sample_level:
            samples["fake_in_cover"][k] = fake_in
            samples["real_in_cover"][k] = real_in
    return Derived(scalars, samples, {})


FAMILY = MetricFamily(
    name="precision_recall_cover",
    default_k=3,
    metrics=("precision_cover", "recall_cover"),
    needs_fn=_needs,
    derive_fn=_derive,
    defaults={"C": 3, "variant": "native"},
    params={"C": 3, "variant": "native"},
    check=_check,
    check_data=_check_data,
)


def resolve_ks(k: Any, real: Any, C: int) -> tuple[list[int], bool]:
    """Parse k (int, list, or ``"auto"`` anywhere in it) with ``"auto"`` -> :func:`auto_k`
    of the number of rows of ``real``."""
    if isinstance(k, str) or (isinstance(k, (list, tuple)) and any(isinstance(v, str) for v in k)):
        items = [k] if isinstance(k, str) else list(k)
        bad = [v for v in items if isinstance(v, str) and v != "auto"]
        if bad:
            raise ValueError(f"k must be a positive int, a list of them, or 'auto'; got {bad[0]!r}")
        if is_distributed_input(real):  # only its row count: never read a dask array here
            real = np.broadcast_to(np.float32(0.0), (real.shape[0], 1))
        n_real = validate_features(real, "real", min_rows=2).shape[0]
        resolved = [auto_k(n_real, C) if v == "auto" else v for v in items]
        ks, _ = parse_k(resolved)
        return ks, not isinstance(k, str)
    return parse_k(k)


def precision_recall_cover(
    real: Any,
    fake: Any,
    k: int | str | Sequence[int | str] = 3,
    C: int = 3,
    *,
    variant: str = "native",
    boundary: str = "inclusive",
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, Any]:
    """Precision cover and recall cover, with k' = C * k.

    precision_cover: share of fakes whose k'-NN ball within the fakes holds at least k
    reals, i.e. nu_k^R(f_j) <= rho_{k'}^F(j); recall_cover: share of reals whose k'-NN
    ball within the reals holds at least k fakes (the information-theoretic paper's
    reading). ``variant="cheema2023"`` returns the authors' code's mirrored assignment
    (its "cover precision" is the real-centred share). ``k="auto"`` uses the authors' rule
    k = int(int(ln(N) + 7) / C + 1), N = number of real samples. ``boundary="strict"``
    tests < instead of <=.

    Returns:
        ``{"precision_cover": float, "recall_cover": float}`` (``{k: float}`` per metric for
        a list of k). ``sample_level=True`` adds ``"fake_in_cover"`` ((M,) bool: the fake's
        k'-ball holds >= k reals) and ``"real_in_cover"`` ((N,) bool, the mirror).
    """
    family = FAMILY.with_params(C=C, variant=variant)
    ks, is_list = resolve_ks(k, real, family.bound()["C"])
    result = run_families(
        real,
        fake,
        [(family, ks)],
        boundary=boundary,
        sample_level=sample_level,
        device=device,
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
    )
    return reshape_single(result, family, ks, is_list)
