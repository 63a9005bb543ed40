"""synthcity's ``PRDCScore`` and ``AlphaPrecision`` metrics computed by fastprdc.

Reproduces synthcity 0.2.12 (``synthcity.metrics.eval_statistical``) as coded.

:func:`prdc_score` is ``PRDCScore(nearest_k)._compute_prdc(real, fake)``: prdc's
precision, recall, density and coverage (strict ``d < radius``, density
``(1. / float(k)) * counts.mean()``), returned as a dict of numpy float64 scalars, with no
print (unlike the ``prdc`` package).

:func:`alpha_precision_metrics` is ``AlphaPrecision().metrics(X, X_syn, emb_center=None)``,
returning synthcity's 6-tuple ``(alphas, alpha_precision_curve, beta_coverage_curve,
Delta_precision_alpha, Delta_coverage_beta, authenticity)``:

* **equal-length rule**: ``RuntimeError("The real and synthetic data must have the same
  length")`` unless ``len(X) == len(X_syn)`` (``synthcity.metrics.Metrics.evaluate``
  subsamples both sets to the smaller size before calling it);
* ``emb_center`` defaults to ``np.mean(X, axis=0)``; ``alphas = np.linspace(0, 1, 30)``;
* alpha-precision curve: share of synthetic rows with ``||x_syn - emb_center|| <=``
  ``np.quantile(||x - emb_center||, alpha)`` (inclusive, numpy's linear quantiles);
* beta-coverage curve: share of real rows i with ``d(x_i, g_i) <= r_1(x_i)`` **and**
  ``||g_i - mean(X_syn)|| <= quantile_alpha`` of those norms, where g_i is the nearest
  synthetic row of x_i and r_1 the distance to the nearest other real row;
* curves are Python lists of numpy float64 (count / n);
* **Delta normalisation** (synthcity's, not the paper's 2/(n-1)):
  ``Delta = 1 - sum|alphas - curve| / sum(alphas)``; ``RuntimeError("negative value detected
  for Delta_precision_alpha")`` (checked first) or ``... Delta_coverage_beta`` if negative;
* **authenticity as coded**: ``mean(r_1[g_i] < d(x_i, g_i))`` over the real rows, i.e. the
  real-side radius array indexed by the *synthetic* index g_i (only in range because the two
  sets have equal length).

The O(N d) steps (norms to the centres, quantiles, curves, Deltas) are numpy on the arrays
as given, in synthcity's dtypes; only the two neighbour searches come from fastprdc: r_1 by
``kth_radii(X, 1)`` and (d(x_i, g_i), g_i) by ``knn(X, X_syn, 1)``, exact float64 distances,
the lowest index on ties. synthcity uses scikit-learn's ``NearestNeighbors``: float32 inputs
give float32-rounded distances, and equidistant synthetic rows are returned in the tree's
order. Results are bit-identical to synthcity whenever the neighbour decisions agree (all
data without exact or near ties); on tied data (e.g. lattices) the beta curve and the
authenticity follow the lowest-index rule instead.

``fastprdc.compat.patch("synthcity")`` sets ``PRDCScore._compute_prdc`` and
``AlphaPrecision.metrics`` on synthcity's class objects (which ``Metrics.evaluate`` uses
through its own list of metric classes), so ``synthcity.metrics.Metrics.evaluate`` and the
metrics' ``evaluate`` run on fastprdc. ``AlphaPrecision._evaluate`` (OneClass embedding,
covariate normalisation) stays synthcity's code and calls the patched ``metrics``.
synthcity caches metric results in its workspace (``use_cache=True`` by default): a result
cached before ``patch()`` is returned as is, so use ``use_cache=False`` or a fresh workspace
when comparing.

synthcity 0.2.12 installs from PyPI but, in a fresh environment, does not import: it pins
``torch<2.3`` while its dependency ``opacus`` (1.5.4) uses ``torch.nn.RMSNorm`` (torch >=
2.4). ``patch("synthcity")`` then raises ``ImportError`` chaining that error; the functions
here need neither synthcity nor torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import nearest_real_and_synthetic, row_norms, to_numpy
from ._patching import register

__all__ = ["alpha_precision_metrics", "prdc_score"]

N_ALPHAS = 30  # synthcity's n_steps


def prdc_score(real_features: Any, fake_features: Any, nearest_k: int = 5) -> dict[str, Any]:
    """``synthcity PRDCScore(nearest_k)._compute_prdc(real_features, fake_features)``.

    Returns:
        ``{"precision", "recall", "density", "coverage"}``, numpy float64 scalars (prdc's
        strict boundary and density expression; nothing printed).
    """
    from ..metrics.prdc_dropin import compute_prdc
    from .prdc import check_radius_k

    real, fake = to_numpy(real_features), to_numpy(fake_features)
    for features in (real, fake):  # synthcity's argpartition at nearest_k + 1, real first
        check_radius_k(nearest_k, len(features))
    values = compute_prdc(real, fake, int(nearest_k))  # int-likes, as synthcity takes them
    return {
        name: np.float64(values[name]) for name in ("precision", "recall", "density", "coverage")
    }


def _delta(alphas: np.ndarray, curve: list[Any]) -> Any:
    return 1 - np.sum(np.abs(np.array(alphas) - np.array(curve))) / np.sum(alphas)


def alpha_precision_metrics(
    X: Any, X_syn: Any, emb_center: Any = None
) -> tuple[np.ndarray, list[Any], list[Any], Any, Any, Any]:
    """``synthcity AlphaPrecision().metrics(X, X_syn, emb_center)`` (0.2.12).

    Args:
        X: real rows (n, d). X_syn: synthetic rows (n, d), same length.
        emb_center: centre of the real embedding; default ``np.mean(X, axis=0)``.

    Returns:
        ``(alphas, alpha_precision_curve, beta_coverage_curve, Delta_precision_alpha,
        Delta_coverage_beta, authenticity)``.

    Raises:
        RuntimeError: different lengths, or a negative Delta (as synthcity).
    """
    X = to_numpy(X)
    X_syn = to_numpy(X_syn)
    if len(X) != len(X_syn):
        raise RuntimeError("The real and synthetic data must have the same length")
    emb_center = np.mean(X, axis=0) if emb_center is None else to_numpy(emb_center)

    alphas = np.linspace(0, 1, N_ALPHAS)
    radii = np.quantile(row_norms(X, emb_center), alphas)
    synth_center = np.mean(X_syn, axis=0)
    synth_to_center = row_norms(X_syn, emb_center)
    real_to_real, real_to_synth, nearest_synth = nearest_real_and_synthetic(X, X_syn)

    closest_d = row_norms(X_syn[nearest_synth], synth_center)
    closest_radii = np.quantile(closest_d, alphas)
    in_own_ball = real_to_synth <= real_to_real

    alpha_precision_curve = [np.mean(synth_to_center <= radii[t]) for t in range(len(radii))]
    beta_coverage_curve = [
        np.mean(in_own_ball * (closest_d <= closest_radii[t])) for t in range(len(radii))
    ]
    authenticity = np.mean(real_to_real[nearest_synth] < real_to_synth)

    delta_precision_alpha = _delta(alphas, alpha_precision_curve)
    if delta_precision_alpha < 0:
        raise RuntimeError("negative value detected for Delta_precision_alpha")
    delta_coverage_beta = _delta(alphas, beta_coverage_curve)
    if delta_coverage_beta < 0:
        raise RuntimeError("negative value detected for Delta_coverage_beta")

    return (
        alphas,
        alpha_precision_curve,
        beta_coverage_curve,
        delta_precision_alpha,
        delta_coverage_beta,
        authenticity,
    )


def _compute_prdc(self: Any, real_features: Any, fake_features: Any) -> dict[str, Any]:
    """synthcity ``PRDCScore._compute_prdc`` on fastprdc (``fastprdc.compat.synthcity``)."""
    return prdc_score(real_features, fake_features, self.nearest_k)


def _metrics(self: Any, X: Any, X_syn: Any, emb_center: Any = None) -> tuple[Any, ...]:
    """synthcity ``AlphaPrecision.metrics`` on fastprdc (``fastprdc.compat.synthcity``)."""
    return alpha_precision_metrics(X, X_syn, emb_center)


_compute_prdc.__name__ = "_compute_prdc"
_compute_prdc.__qualname__ = "PRDCScore._compute_prdc"
_metrics.__name__ = "metrics"
_metrics.__qualname__ = "AlphaPrecision.metrics"


def _targets() -> list[tuple[Any, str, Any]]:
    try:
        from synthcity.metrics import eval_statistical
    except Exception as exc:  # synthcity 0.2.12 + opacus 1.5.4 fail with AttributeError
        raise ImportError(
            "fastprdc.compat.patch('synthcity'): synthcity is installed but "
            f"synthcity.metrics.eval_statistical failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return [
        (eval_statistical.PRDCScore, "_compute_prdc", _compute_prdc),
        (eval_statistical.AlphaPrecision, "metrics", _metrics),
    ]


register("synthcity", module="synthcity", pip="synthcity", targets=_targets)
