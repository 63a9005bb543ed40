"""alpha-Precision, beta-Recall and Authenticity (Alaa et al. 2022), docs/metrics.md section 7.

Native rules: centre c = float64 mean of real (or the caller's centre); alphas =
linspace(0, 1, n_alphas); quantiles are numpy's default (linear). The nearest fake g_i of a
real is the lowest index among equally near fakes; a fake is unauthentic when ANY of its
equally nearest reals r_i satisfies d(f, r_i) < rho_1^R(i), so authenticity does not depend
on row order (beta-recall does, on exact ties, and so can the mean centre's last bits).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._engine import FAKE_MEAN, REAL_MEAN, EngineOutput, Needs, given_centre
from .._options import MemoryLike, ProgressLike
from .._validation import check_values, validate_vector
from ._base import NO_K, Derived, MetricFamily, reshape_single, run_families

__all__ = ["FAMILY", "alpha_precision_beta_recall"]

_TIE_DEPTH = 4  # nearest reals kept per fake in the cross pass (ties beyond: exact follow-up)


def _check(params: dict[str, Any]) -> dict[str, Any]:
    n_alphas, center = params["n_alphas"], params["center"]
    if isinstance(n_alphas, bool) or not isinstance(n_alphas, numbers.Integral) or n_alphas < 2:
        raise ValueError(f"n_alphas must be an int >= 2, got {n_alphas!r}")
    if center is not None:
        center = validate_vector(center, "center")  # a copy: later changes do not leak in
    return {"n_alphas": int(n_alphas), "center": center}


def _check_data(ks: Sequence[Any], params: Mapping[str, Any], n: int, m: int, d: int) -> None:
    center = params["center"]
    if center is None:
        return
    if center.shape[0] != d:
        raise ValueError(f"center has width {center.shape[0]} but the features have width {d}")
    check_values(center.reshape(1, -1), "center")  # within max_magnitude(d), as the features


def _centre(params: Mapping[str, Any]) -> tuple[str, Any]:
    """The plan key of the alpha-precision centre: the real mean, or the given vector."""
    center = params["center"]
    return REAL_MEAN if center is None else given_centre(center)


def _needs(ks: Sequence[Any], params: Mapping[str, Any]) -> Needs:
    c = _centre(params)
    return Needs(
        real_self_knn=1,
        real_to_fake_knn=1,
        fake_to_real_knn=1,
        fake_to_real_knn_wanted=_TIE_DEPTH,
        centre_distances=frozenset({("real", c), ("fake", c), ("fake", FAKE_MEAN)}),
        nearest_ball_ties=frozenset({1}),
    )


def _counts_at_or_below(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, the number of values <= it (int64)."""
    return np.searchsorted(np.sort(values), thresholds, side="right").astype(np.int64)


def _delta(alphas: np.ndarray, curve: np.ndarray) -> float:
    """1 - 2 * sum_t |alpha_t - curve_t| / (n_alphas - 1)."""
    return float(1.0 - 2.0 * np.sum(np.abs(alphas - curve)) / (alphas.shape[0] - 1))


def _derive(
    out: EngineOutput, ks: Sequence[Any], sample_level: bool, params: Mapping[str, Any]
) -> Derived:
    assert out.cross is not None
    n, m = out.n_real, out.n_fake
    alphas = np.linspace(0.0, 1.0, params["n_alphas"])
    c = _centre(params)

    # alpha-precision: fakes within the alpha-quantile of the real distances to the centre
    real_c = out.centre_distances("real", c)
    fake_c = out.centre_distances("fake", c)
    precision_curve = _counts_at_or_below(fake_c, np.quantile(real_c, alphas)) / m

    # beta-recall: reals whose nearest fake g_i lies in their 1-NN ball, with t_i (distance
    # of g_i to the fake mean) within the beta-quantile of the t
    rho1 = out.real_kth(1)
    g, g_dist = out.cross.a_knn_idx[:, 0], out.cross.a_knn_dist[:, 0]
    fake_mean_dist = out.centre_distances("fake", FAKE_MEAN)
    t = fake_mean_dist[g]
    in_ball = g_dist <= rho1
    recall_curve = _counts_at_or_below(t[in_ball], np.quantile(t, alphas)) / n

    # authenticity: no exactly tied nearest real r_i with d(f, r_i) < rho_1^R(i)
    authentic = ~out.ties[1]
    scalars = {
        "delta_precision_alpha": {NO_K: _delta(alphas, precision_curve)},
        "delta_coverage_beta": {NO_K: _delta(alphas, recall_curve)},
        "authenticity": {NO_K: float(authentic.mean())},
    }
    curves = {
        "alphas": {NO_K: alphas},
        "alpha_precision_curve": {NO_K: precision_curve},
        "beta_recall_curve": {NO_K: recall_curve},
    }
    samples: dict[str, dict[Any, np.ndarray]] = {}
    if sample_level:
        arrays = {
            "authentic": authentic,
            "nearest_real_index": out.cross.b_knn_idx[:, 0],
            "nearest_real_distance": out.cross.b_knn_dist[:, 0],
            "fake_center_distance": fake_c,
            "fake_mean_distance": fake_mean_dist,
            "real_center_distance": real_c,
            "real_radius": rho1,
            "nearest_fake_index": g,
            "nearest_fake_distance": g_dist,
            "nearest_fake_in_ball": in_ball,
        }
        samples = {name: {NO_K: np.ascontiguousarray(a)} for name, a in arrays.items()}
    return Derived(scalars, samples, curves)


FAMILY = MetricFamily(
    name="alpha_precision_beta_recall",
    default_k=None,
    metrics=("delta_precision_alpha", "delta_coverage_beta", "authenticity"),
    needs_fn=_needs,
    derive_fn=_derive,
    defaults={"n_alphas": 30, "center": None},
    params={"n_alphas": 30, "center": None},
    check=_check,
    uses_boundary=False,
    check_data=_check_data,
)


def alpha_precision_beta_recall(
    real: Any,
    fake: Any,
    n_alphas: int = 30,
    center: Any = None,
    *,
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, Any]:
    """alpha-Precision and beta-Recall curves, their Delta summaries, and Authenticity.

    With c = ``center`` (default: the float64 mean of real) and alphas =
    linspace(0, 1, n_alphas): P(alpha) = share of fakes with d(f, c) <= the alpha-quantile
    of {d(r, c)}; R(beta) = share of reals r_i with d(r_i, g_i) <= rho_1^R(i) and
    t_i <= the beta-quantile of {t}, where g_i is the nearest fake (lowest index on ties)
    and t_i = d(g_i, mean of fake). Delta = 1 - 2 sum_t |alpha_t - curve_t| / (n_alphas - 1).
    Authenticity = share of fakes f for which no equally nearest real r_i has
    d(f, r_i) < rho_1^R(i). Boundaries are fixed by the definitions (<= and <).

    Returns:
        ``"alphas"``, ``"alpha_precision_curve"``, ``"beta_recall_curve"`` ((n_alphas,)
        float64, counts / set size), ``"delta_precision_alpha"``, ``"delta_coverage_beta"``
        and ``"authenticity"`` (floats). ``sample_level=True`` adds, per fake (M,):
        ``"authentic"`` (bool), ``"nearest_real_index"`` (int64, lowest on ties),
        ``"nearest_real_distance"``, ``"fake_center_distance"`` (to c) and
        ``"fake_mean_distance"`` (to the fake mean); per real (N,):
        ``"real_center_distance"``, ``"real_radius"`` (rho_1^R), ``"nearest_fake_index"``
        (g_i), ``"nearest_fake_distance"`` and ``"nearest_fake_in_ball"`` (bool).
    """
    family = FAMILY.with_params(n_alphas=n_alphas, center=center)
    result = run_families(
        real,
        fake,
        [(family, [NO_K])],
        sample_level=sample_level,
        device=device,
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
    )
    return reshape_single(result, family, [NO_K], False)
