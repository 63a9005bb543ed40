"""A numpy / scikit-learn rendering of synthcity 0.2.12's ``AlphaPrecision.metrics``.

The baseline of ``bench_alpha_beta.py`` when synthcity itself cannot be imported. synthcity
0.2.12 (the version of the reference data, ``tests/data/reference/README.md``) installs from
PyPI but does not import in a fresh environment: it pins ``torch<2.3`` while its dependency
``opacus`` 1.5.4 uses ``torch.nn.RMSNorm`` (torch >= 2.4), so ``import
synthcity.metrics.eval_statistical`` fails with ``AttributeError``.

:func:`alpha_precision_metrics` is ``synthcity.metrics.eval_statistical.AlphaPrecision.metrics``
of 0.2.12 line by line (only the pydantic argument check and the class around it are left
out); it computes, on the arrays as given (no cast: float32 features stay float32):

* ``Radii``: ``np.quantile`` (linear) at ``alphas = linspace(0, 1, 30)`` of the norms
  ``sqrt(sum((X - emb_center) ** 2))`` (float64 when ``emb_center`` is float64);
* ``real_to_real``: distance to the nearest other real, from
  ``NearestNeighbors(n_neighbors=2, n_jobs=-1, p=2).fit(X).kneighbors(X)`` (column 1);
* ``real_to_synth`` and its index g_i: ``NearestNeighbors(n_neighbors=1, ...).fit(X_syn)``
  queried by X;
* t_i = ``sqrt(sum((X_syn[g_i] - mean(X_syn)) ** 2))``, in the dtype of X_syn (float32 for
  float32 features), and its quantiles;
* the curves ``mean(synth_to_center <= Radii[k])`` and
  ``mean((real_to_synth <= real_to_real) * (t <= quantile_k(t)))`` (float64 count / n);
* Delta = ``1 - sum|alphas - curve| / sum(alphas)`` (synthcity's normalisation; the paper's
  is ``1 - 2 sum|alphas - curve| / (n_alphas - 1)``), RuntimeError if negative;
* authenticity as coded: ``mean(real_to_real[g_i] < real_to_synth[i])`` over the N reals
  (a real-side radius indexed by a fake index), so it needs N == M, which synthcity enforces.

``internals=True`` also returns the intermediate arrays (references, no extra work), so that
``bench_alpha_beta.py`` can compare with fastprdc where the conventions coincide.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

__all__ = ["SOURCE", "alpha_precision_metrics", "beta_curve", "delta_synthcity"]

SOURCE = (
    "numpy/scikit-learn rendering of synthcity 0.2.12 "
    "synthcity.metrics.eval_statistical.AlphaPrecision.metrics (benchmarks/_synthcity_rendering.py)"
)


def alpha_precision_metrics(
    X: np.ndarray,
    X_syn: np.ndarray,
    emb_center: np.ndarray | None = None,
    *,
    internals: bool = False,
) -> tuple[Any, ...]:
    """``AlphaPrecision().metrics(X, X_syn, emb_center)`` of synthcity 0.2.12.

    Returns ``(alphas, alpha_precision_curve, beta_coverage_curve, Delta_precision_alpha,
    Delta_coverage_beta, authenticity)`` (the curves are lists of numpy float64, as in
    synthcity); with ``internals=True`` a dict of intermediate arrays is appended.
    """
    if len(X) != len(X_syn):
        raise RuntimeError("The real and synthetic data must have the same length")

    if emb_center is None:
        emb_center = np.mean(X, axis=0)

    n_steps = 30
    alphas = np.linspace(0, 1, n_steps)

    Radii = np.quantile(np.sqrt(np.sum((X - emb_center) ** 2, axis=1)), alphas)

    synth_center = np.mean(X_syn, axis=0)

    alpha_precision_curve = []
    beta_coverage_curve = []

    synth_to_center = np.sqrt(np.sum((X_syn - emb_center) ** 2, axis=1))

    nbrs_real = NearestNeighbors(n_neighbors=2, n_jobs=-1, p=2).fit(X)
    real_to_real, _ = nbrs_real.kneighbors(X)

    nbrs_synth = NearestNeighbors(n_neighbors=1, n_jobs=-1, p=2).fit(X_syn)
    real_to_synth, real_to_synth_args = nbrs_synth.kneighbors(X)

    # Let us find closest real point to any real point, excluding itself (therefore 1 instead of 0)
    real_to_real = real_to_real[:, 1].squeeze()
    real_to_synth = real_to_synth.squeeze()
    real_to_synth_args = real_to_synth_args.squeeze()

    real_synth_closest = X_syn[real_to_synth_args]

    real_synth_closest_d = np.sqrt(np.sum((real_synth_closest - synth_center) ** 2, axis=1))
    closest_synth_Radii = np.quantile(real_synth_closest_d, alphas)

    for k in range(len(Radii)):
        precision_audit_mask = synth_to_center <= Radii[k]
        alpha_precision = np.mean(precision_audit_mask)

        beta_coverage = np.mean(
            (real_to_synth <= real_to_real) * (real_synth_closest_d <= closest_synth_Radii[k])
        )

        alpha_precision_curve.append(alpha_precision)
        beta_coverage_curve.append(beta_coverage)

    # See which one is bigger

    authen = real_to_real[real_to_synth_args] < real_to_synth
    authenticity = np.mean(authen)

    Delta_precision_alpha = 1 - np.sum(
        np.abs(np.array(alphas) - np.array(alpha_precision_curve))
    ) / np.sum(alphas)

    if Delta_precision_alpha < 0:
        raise RuntimeError("negative value detected for Delta_precision_alpha")

    Delta_coverage_beta = 1 - np.sum(
        np.abs(np.array(alphas) - np.array(beta_coverage_curve))
    ) / np.sum(alphas)

    if Delta_coverage_beta < 0:
        raise RuntimeError("negative value detected for Delta_coverage_beta")

    out: tuple[Any, ...] = (
        alphas,
        alpha_precision_curve,
        beta_coverage_curve,
        Delta_precision_alpha,
        Delta_coverage_beta,
        authenticity,
    )
    if internals:
        out += (
            {
                "radii": Radii,
                "synth_to_center": synth_to_center,
                "real_to_real": real_to_real,
                "real_to_synth": real_to_synth,
                "real_to_synth_args": real_to_synth_args,
                "real_synth_closest_d": real_synth_closest_d,
            },
        )
    return out


def beta_curve(internals: dict[str, np.ndarray], t: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """synthcity's beta-coverage curve from its neighbour results, with the t_i given
    (e.g. float64 distances to a float64 fake mean instead of synthcity's float32 ones)."""
    in_ball = internals["real_to_synth"] <= internals["real_to_real"]
    q = np.quantile(t, alphas)
    return np.array([np.mean(in_ball * (t <= q[k])) for k in range(len(alphas))])


def delta_synthcity(alphas: np.ndarray, curve: Any) -> float:
    """synthcity's Delta: ``1 - sum|alphas - curve| / sum(alphas)``."""
    return float(1 - np.sum(np.abs(np.array(alphas) - np.array(curve))) / np.sum(alphas))
