"""Drop-in for the information-theoretic metrics code (NSSAC/PrecisionRecallMetric, Fox et al.).

:func:`compute_metrics` reproduces ``metrics/metrics.py``'s ``compute_metrics``: the
same dict, keys in the same order, numpy float64 values, computed as coded:

- radii r_k from ``kneighbors(X, k+1)`` (self included: the k-th radius by position);
  every ball test is **inclusive** (``<=``);
- ``precision`` = #{fakes in some real ball} / M, ``recall`` = #{reals in some fake
  ball} / N, ``density`` = (total count of (real ball, fake) memberships) / (k M) in one
  division, ``coverage`` = mean over reals of "some fake in my ball";
- ``frechet_distance``: upstream's ``compute_fd`` (``np.mean`` in the input dtype,
  ``np.cov``, ``scipy.linalg.sqrtm`` of the product, with its eps fallback). Without
  scipy, the trace of the square root comes from symmetric eigendecompositions.
- ``precision_cross_entropy`` / ``recall_cross_entropy`` / ``recall_entropy`` are the
  **raw** kNN entropy estimates H(F,R), H(R,F) and H(R) (the names are upstream's; the
  paper's PCE/RCE/RE differences are :func:`fastprdc.pce_rce_re`):
  ``(1/n) * sum(ln n_other - psi(k) + ln V_d + d ln nu)`` with nu the k-th nearest
  cross distance (or r_k^R with ln(N-1) for H(R)).

Everything comes from one fastprdc run (two self-kNNs at depth k, one cross pass with
the balls of both sets and the k nearest cross neighbours both ways) on exact distances.
Upstream's distances are rounded on float32 input, which loses exact ties (e.g. on data
with duplicates); ``emulate_float32_distances=True`` reproduces that rounding for float32
input. scikit-learn's float32 ``pairwise_distances`` (the cross distances of every ball
test) is ``sqrt`` in float32 of the float32-rounded square, g(d) = sqrt32(f32(d^2)); the
radii and k-th neighbour distances come from ``NearestNeighbors(algorithm="auto")``, which
is a KD-tree (float64 distances) unless d > 15 or k + 1 >= n // 2 for the fitted set, and
brute force otherwise (float32 distances, g(d) again). So a ball test is ``g(d) <= r``
(tree) or ``g(d) <= g(r)`` (brute), decided here as ``d <= t`` with t the largest float64
passing it, and the entropies read g(nu) where upstream's search is brute. scikit-learn
takes d^2 as |x|^2 - 2 x.y + |y|^2 in float64, which far from the origin can round a
distance within about 1e-16 |x|^2 of a float32 rounding boundary the other way: the
emulation reproduces upstream exactly up to that rounding. Without the option every decision
is exact. A zero distance gives -inf entropies as upstream; compat
then emits one RuntimeWarning with the count (upstream: numpy's divide-by-zero warning).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._warn import warn
from ._common import float32_distance, float32_distance_limit, to_numpy

__all__ = ["compute_fd", "compute_metrics"]


def _special(k: int, d: int) -> tuple[float, float]:
    """(digamma(k), ln V_d) with scipy's functions when importable (as upstream)."""
    try:
        from scipy.special import digamma, loggamma
    except ImportError:
        from ..metrics.pce_rce_re import digamma_int, log_unit_ball_volume

        return digamma_int(k), log_unit_ball_volume(d)
    return digamma(k), (d / 2) * np.log(math.pi) - loggamma((d / 2) + 1)


def _sqrtm_trace(s1: np.ndarray, s2: np.ndarray, eps: float) -> float:
    """tr sqrtm(s1 @ s2) as upstream's compute_fd takes it (scipy when importable)."""
    try:
        from scipy.linalg import sqrtm
    except ImportError:
        return _sqrtm_trace_eigh(s1, s2)
    try:
        covmean = sqrtm(s1.dot(s2))
        if np.iscomplexobj(covmean):
            covmean = covmean.real
    except ValueError:
        eye = np.eye(s1.shape[0])
        covmean = sqrtm(s1 + eps * eye).dot(sqrtm(s2 + eps * eye))
        covmean = covmean.real
    return np.trace(covmean)


def _sqrtm_trace_eigh(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr sqrt(s1 s2) = sum sqrt(eig(A s2 A)), A = s1^(1/2), for symmetric PSD s1, s2."""
    w, v = np.linalg.eigh(s1)
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    lam = np.linalg.eigvalsh(a @ s2 @ a)
    return float(np.sum(np.sqrt(np.clip(lam, 0, None))))


def compute_fd(reps1: Any, reps2: Any, eps: float = 1e-6) -> Any:
    """Fréchet distance between two feature sets (upstream's ``compute_fd``)."""
    reps1, reps2 = to_numpy(reps1), to_numpy(reps2)
    mu1, sigma1 = np.mean(reps1, axis=0), np.cov(reps1, rowvar=False)
    mu2, sigma2 = np.mean(reps2, axis=0), np.cov(reps2, rowvar=False)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    tr_covmean = _sqrtm_trace(sigma1, sigma2, eps)
    return np.dot(diff, diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean


def _entropy(n: int, n_other: float, k: int, dist: np.ndarray, d: int) -> np.float64:
    """(1/n) * sum(ln n_other - psi(k) + ln V_d + d ln dist), upstream's expression order."""
    psi, log_v = _special(k, d)
    with np.errstate(divide="ignore"):
        return (1 / n) * np.sum(np.log(n_other) - psi + log_v + d * np.log(dist))


def _sklearn_brute(n_fit: int, dim: int, n_neighbors: int) -> bool:
    """Whether ``NearestNeighbors(algorithm="auto")`` searches by brute force (scikit-learn's
    rule for the euclidean metric): more than 15 features, or n_neighbors >= n_fit // 2."""
    return dim > 15 or n_neighbors >= n_fit // 2


def _check_k(nearest_k: int, n_fit: int, n_query: int) -> None:
    """sklearn's kneighbors(n_neighbors = k + 1) limit."""
    if nearest_k + 1 > n_fit:
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {nearest_k + 1}, "
            f"n_samples_fit = {n_fit}, n_samples = {n_query}"
        )


def compute_metrics(
    real_features: Any,
    fake_features: Any,
    nearest_k: int = 5,
    *,
    emulate_float32_distances: bool = False,
) -> dict[str, Any]:
    """Precision, recall, density, coverage, FD and the raw kNN entropies, as upstream.

    Returns:
        dict with keys ``precision, recall, density, coverage, frechet_distance,
        precision_cross_entropy, recall_cross_entropy, recall_entropy`` (numpy float64).
    """
    from .. import primitives
    from .._backends import resolve_device
    from .._options import make_options
    from .._validation import validate_pair

    real_in, fake_in = to_numpy(real_features), to_numpy(fake_features)
    if isinstance(nearest_k, bool) or not isinstance(nearest_k, (int, np.integer)):
        raise TypeError(f"nearest_k must be an int, got {nearest_k!r}")
    k = int(nearest_k)
    if k < 1:
        raise ValueError(f"Expected n_neighbors > 0. Got {k}")
    real, fake = validate_pair(real_in, fake_in, ("real_features", "fake_features"))
    n, dim = real.shape
    m = fake.shape[0]
    _check_k(k, n, n)
    _check_k(k, m, m)
    _check_k(k, m, n)
    _check_k(k, n, m)

    r_real = primitives.kth_radii(real, k)
    r_fake = primitives.kth_radii(fake, k)
    assert isinstance(r_real, np.ndarray) and isinstance(r_fake, np.ndarray)
    balls_real, balls_fake = r_real, r_fake
    emulate = emulate_float32_distances and real_in.dtype == fake_in.dtype == np.float32
    # upstream's float32 searches (module docstring): brute force rounds what it returns
    brute_real = emulate and _sklearn_brute(n, dim, k + 1)
    brute_fake = emulate and _sklearn_brute(m, dim, k + 1)
    if emulate:  # a ball test g(d) <= radius as upstream reads it, i.e. d <= the limit
        balls_real = float32_distance_limit(float32_distance(r_real) if brute_real else r_real)
        balls_fake = float32_distance_limit(float32_distance(r_fake) if brute_fake else r_fake)

    backend = resolve_device("auto", real, fake)
    cross = backend.cross_pass(
        real,
        fake,
        np.ascontiguousarray(balls_real.reshape(-1, 1), dtype=np.float64),
        np.ascontiguousarray(balls_fake.reshape(-1, 1), dtype=np.float64),
        False,  # inclusive
        k,
        k,
        make_options(),
    )
    fake_count = cross["b_count"][:, 0]  # real balls holding each fake
    real_covered = cross["a_covered"][:, 0]  # real ball holds some fake
    real_in_fake = cross["a_count"][:, 0] > 0  # real inside some fake ball
    nu_real = cross["a_knn_dist"][:, k - 1]  # k-th nearest fake of each real
    nu_fake = cross["b_knn_dist"][:, k - 1]  # k-th nearest real of each fake
    if brute_fake:  # upstream searched the fake set by brute force: float32 distances
        nu_real = float32_distance(nu_real)
    if brute_real:
        nu_fake, r_real = float32_distance(nu_fake), float32_distance(r_real)

    precision = np.sum(fake_count > 0) / m
    recall = np.sum(real_in_fake) / n
    density = np.sum(fake_count) / (k * m)
    coverage = np.mean(real_covered)

    pce = _entropy(m, n, k, nu_fake, dim)
    rce = _entropy(n, m, k, nu_real, dim)
    re = _entropy(n, n - 1, k, r_real, dim)
    zeros = int((nu_fake == 0).sum() + (nu_real == 0).sum() + (r_real == 0).sum())
    if zeros:
        warn(
            f"compute_metrics: {zeros} zero k-th neighbour distances (duplicates): their "
            "log terms are -inf, and so are the entropies that include them (upstream: "
            "numpy's 'divide by zero encountered in log')"
        )
    fd = compute_fd(real_in, fake_in)
    return {
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
        "frechet_distance": fd,
        "precision_cross_entropy": pce,
        "recall_cross_entropy": rce,
        "recall_entropy": re,
    }
