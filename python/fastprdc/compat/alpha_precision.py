"""The official alpha-precision / beta-recall / authenticity code computed by fastprdc.

Reproduces ``compute_alpha_precision(real_data, synthetic_data, emb_center)`` of Alaa et al.
(github.com/ahmedmalaa/evaluating-generative-models, ``metrics/evaluation.py``, commit
093910e487d0) as coded, returning its 6-tuple ``(alphas, alpha_precision_curve,
beta_coverage_curve, Delta_precision_alpha, Delta_coverage_beta, authenticity)``:

* ``alphas = np.linspace(0, 1, 30)``; ``emb_center`` is required (the code has no default;
  the paper's centre is the mean of the real embedding);
* centre distances: both sets rounded to float32 (``torch.tensor(x).float()``), the
  subtraction in the promoted dtype of float32 and ``emb_center`` (a numpy float64 centre
  gives float64 norms; a float32 one, or a Python list, float32 norms);
* alpha-precision curve: share of synthetic rows with ``||f - c|| <=`` ``np.quantile(||r -
  c||, alpha)`` (numpy's linear quantiles), compared in the norms' dtype;
* beta-coverage curve: share of real rows i with ``d(r_i, g_i) <= r_1(r_i)`` **and**
  ``t_i <= quantile_alpha(t)``, where g_i is the nearest synthetic row of r_i, r_1 the distance
  to the nearest other real row and t_i = ||g_i - mean(synthetic)|| in float32 (the mean taken
  in the data's dtype, then rounded to float32); torch compares the float32 t_i with the
  quantile rounded to float32, and so does this module;
* curves: Python lists of numpy float32 (``np.mean`` of float32 masks, float32(count / n));
* **Delta**: ``1 - 2 * sum|alphas - curve| * (alphas[1] - alphas[0])`` (numpy float64; the
  paper's normalisation, which synthcity changed to ``/ sum(alphas)``);
* **authenticity as coded**: ``mean(r_1[g_i] < d(r_i, g_i))`` over the **real** rows, the
  real-side radius array indexed with the *synthetic* index g_i. With more synthetic than
  real rows an index can fall outside the real set: the code then raises torch's IndexError,
  and so does this module (naming the index). The paper's rule, over the synthetic rows, is
  ``fastprdc.alpha_precision_beta_recall(...)["authenticity"]``.

The O(N d) steps (centre norms, quantiles, curves, Deltas) are numpy in the code's dtypes;
the two neighbour searches come from fastprdc: r_1 by ``kth_radii(real, 1)`` and
(d(r_i, g_i), g_i) by ``knn(real, synthetic, 1)``, exact float64 distances, the lowest index
on ties. The official code uses scikit-learn's ``NearestNeighbors`` (float32 inputs give
float32-rounded distances under the brute algorithm; equidistant synthetic rows come in the
tree's order) and torch's float32 sums for t_i. Results are bit-identical to the official code
whenever those decisions agree, i.e. on all data without exact or near (one-ulp) ties; on tied
data (e.g. lattices) the beta curve and the authenticity follow the lowest-index rule.

The upstream is no installable package, so there is nothing to patch: call
:func:`compute_alpha_precision` directly. It needs neither torch nor scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import nearest_real_and_synthetic, row_norms, to_numpy

__all__ = ["compute_alpha_precision"]

N_STEPS = 30  # the official code's n_steps


def _centre_dtype(emb_center: Any) -> type:
    """The dtype of ``torch.tensor(data).float() - torch.tensor(emb_center)``: float64 for a
    float64 array or tensor, float32 otherwise (a Python list becomes a float32 tensor)."""
    dtype = getattr(emb_center, "dtype", None)
    return np.float64 if str(dtype) in ("float64", "torch.float64") else np.float32


def _delta(alphas: np.ndarray, curve: list[Any]) -> Any:
    return 1 - 2 * np.sum(np.abs(np.array(alphas) - np.array(curve))) * (alphas[1] - alphas[0])


def compute_alpha_precision(
    real_data: Any, synthetic_data: Any, emb_center: Any
) -> tuple[np.ndarray, list[Any], list[Any], Any, Any, Any]:
    """``compute_alpha_precision(real_data, synthetic_data, emb_center)`` of the official code.

    Args:
        real_data: real rows (N, d). synthetic_data: synthetic rows (M, d).
        emb_center: the centre of the real embedding (d,).

    Returns:
        ``(alphas, alpha_precision_curve, beta_coverage_curve, Delta_precision_alpha,
        Delta_coverage_beta, authenticity)``: alphas (30,) float64, the curves lists of numpy
        float32, the Deltas and authenticity numpy float64.

    Raises:
        IndexError: a real row's nearest synthetic index is not a real index (only possible
            with more synthetic than real rows), as the official code.
    """
    real = to_numpy(real_data)
    synth = to_numpy(synthetic_data)
    dtype = _centre_dtype(emb_center)
    centre = to_numpy(emb_center).astype(dtype)
    real32, synth32 = real.astype(np.float32), synth.astype(np.float32)

    alphas = np.linspace(0, 1, N_STEPS)
    radii = np.quantile(row_norms(real32.astype(dtype), centre), alphas)
    synth_to_center = row_norms(synth32.astype(dtype), centre)

    real_to_real, real_to_synth, nearest_synth = nearest_real_and_synthetic(real, synth)

    synth_center = np.mean(synth, axis=0).astype(np.float32)
    closest_d = row_norms(synth32[nearest_synth], synth_center)  # float32, as torch
    closest_radii = np.quantile(closest_d, alphas)
    in_own_ball = real_to_synth <= real_to_real

    alpha_precision_curve = [
        np.mean((synth_to_center <= dtype(r)).astype(np.float32)) for r in radii
    ]
    beta_coverage_curve = [
        np.mean((in_own_ball & (closest_d <= np.float32(r))).astype(np.float32))
        for r in closest_radii
    ]

    outside = nearest_synth >= len(real)
    if outside.any():
        raise IndexError(
            f"index {int(nearest_synth[outside][0])} is out of bounds for dimension 0 with size "
            f"{len(real)} (the official authenticity indexes the real radii with a real row's "
            "nearest synthetic index; fastprdc.alpha_precision_beta_recall gives the paper's)"
        )
    authenticity = np.mean(real_to_real[nearest_synth] < real_to_synth)

    return (
        alphas,
        alpha_precision_curve,
        beta_coverage_curve,
        _delta(alphas, alpha_precision_curve),
        _delta(alphas, beta_coverage_curve),
        authenticity,
    )
