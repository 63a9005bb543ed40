"""Brute-force oracles for the metric families of docs/metrics.md sections 3-7 (realism, rarity,
cover, entropies, alpha/beta); sections 1-2 are in ``_helpers.py``.

Written from the text of ``docs/metrics.md`` only, on top of
the sequential float64 oracle distances of ``_helpers.brute_dist`` (no fastprdc code):

* realism (section 3): max over kept real balls of ``r_i / d(f_j, r_i)``; ``d == 0`` gives
  ``+inf`` when ``r_i > 0``; ``r_i == 0`` gives 1 if ``d == 0`` else 0; kept balls have
  ``r_i <= np.quantile(r, 1 - prune)`` (``np.median`` for the default 0.5); the index of the
  maximising ball is the lowest one among equal ratios;
* rarity (section 4): smallest radius among the real balls that contain the fake, NaN if none;
* precision / recall cover (section 5): ``nu_k^R(f_j) <= rho_{C k}^F(j)`` and the mirror;
* PCE / RCE / RE (section 6): Kozachenko-Leonenko entropies with ``psi(k)`` (scipy's digamma,
  an independent implementation of psi), float64;
* alpha-precision, beta-recall, authenticity (section 7): centre distances with the oracle
  distance to a float64 centre, numpy's default quantile, nearest fake = lowest index among
  equally near fakes, authenticity by the "any equally-nearest real" rule.
"""

from __future__ import annotations

import numpy as np
from _helpers import as_oracle, brute_dist, brute_radii, inside
from scipy.special import digamma, gammaln

# ---------------------------------------------------------------------------
# realism (section 3)
# ---------------------------------------------------------------------------


def realism_from_radii(D, radii):
    """Realism of every B row against balls centred on A.

    ``D``: (N, M) oracle distances A x B. ``radii``: (N,) float64, a negative entry means
    "pruned". Returns (score (M,) float64, idx (M,) int64): max over kept i of the ratio
    (conventions above), lowest index among equal maxima; NaN / -1 when no ball is kept.
    """
    D = np.asarray(D, dtype=np.float64)
    r = np.asarray(radii, dtype=np.float64)[:, None]
    kept = np.broadcast_to(r >= 0, D.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = r / D
    ratio = np.where(D == 0, np.where(r > 0, np.inf, 1.0), ratio)
    ratio = np.where(kept, ratio, -np.inf)
    idx = np.argmax(ratio, axis=0).astype(np.int64)  # first maximum = lowest index
    score = ratio[idx, np.arange(D.shape[1])]
    none = ~kept.any(axis=0)
    score = np.where(none, np.nan, score)
    idx = np.where(none, -1, idx).astype(np.int64)
    return score, idx


def kept_threshold(radii, prune):
    if prune == 0.5:
        return float(np.median(radii))
    return float(np.quantile(radii, 1.0 - prune))


def brute_realism(real, fake, k=3, prune=0.5):
    """(scores, idx, kept mask) of the native realism score."""
    real, fake = as_oracle(real), as_oracle(fake)
    r = brute_radii(real, k)
    kept = r <= kept_threshold(r, prune)
    D = brute_dist(real, fake)
    score, idx = realism_from_radii(D, np.where(kept, r, -1.0))
    return score, idx, kept


def kynkaat_code_form(D, radii, eps=1e-5, percentile=50):
    """The kynkaat code form in float64: ``max_i R_i / (d^2 + eps)`` with squared radii R,
    R_i set to 0 when above ``np.percentile(R, 50)``."""
    sq = np.asarray(radii, dtype=np.float64) ** 2
    sq = np.where(sq > np.percentile(sq, percentile), 0.0, sq)
    return (sq[:, None] / (np.asarray(D, dtype=np.float64) ** 2 + eps)).max(axis=0)


# ---------------------------------------------------------------------------
# rarity (section 4)
# ---------------------------------------------------------------------------


def brute_rarity(real, fake, k=3, boundary="inclusive"):
    real, fake = as_oracle(real), as_oracle(fake)
    r = brute_radii(real, k)
    D = brute_dist(real, fake)
    ins = inside(D, r[:, None], boundary)
    score = np.where(ins, r[:, None], np.inf).min(axis=0)
    score = np.where(ins.any(axis=0), score, np.nan)
    return score, int((~ins.any(axis=0)).sum())


# ---------------------------------------------------------------------------
# precision / recall cover (section 5)
# ---------------------------------------------------------------------------


def kth_cross(D, k):
    """k-th smallest distance along axis 0 of D: (N, M) -> per column (M,)."""
    return np.sort(D, axis=0)[k - 1]


def brute_pr_cover(real, fake, k=3, C=3, boundary="inclusive"):
    """Counts behind PC and RC (Fox reading): dict with per-sample flags."""
    real, fake = as_oracle(real), as_oracle(fake)
    D = brute_dist(real, fake)  # (N, M)
    kp = C * k
    nu_fake = kth_cross(D, k)  # per fake: k-th nearest real
    nu_real = kth_cross(D.T, k)  # per real: k-th nearest fake
    rho_fake = brute_radii(fake, kp)
    rho_real = brute_radii(real, kp)
    pc_flags = inside(nu_fake, rho_fake, boundary)
    rc_flags = inside(nu_real, rho_real, boundary)
    return {
        "pc_flags": pc_flags,
        "rc_flags": rc_flags,
        "pc_count": int(pc_flags.sum()),
        "rc_count": int(rc_flags.sum()),
        "N": real.shape[0],
        "M": fake.shape[0],
    }


def auto_k(n, C=3):
    """The authors' default-k rule: k_total = int(ln(n) + 7), k = int(k_total / C + 1)."""
    k_total = int(np.log(n) + 7)
    return int(k_total / C + 1)


# ---------------------------------------------------------------------------
# PCE / RCE / RE (section 6)
# ---------------------------------------------------------------------------


def log_unit_ball_volume(d):
    return (d / 2.0) * np.log(np.pi) - gammaln(d / 2.0 + 1.0)


def brute_entropy_terms(real, fake, k):
    """Per-sample summands of H(F,R), H(R,F), H(R), H(F), float64 (may hold -inf)."""
    real, fake = as_oracle(real), as_oracle(fake)
    N, d = real.shape
    M = fake.shape[0]
    D = brute_dist(real, fake)
    nu_fake = kth_cross(D, k)  # nu_k^R(f_j)
    nu_real = kth_cross(D.T, k)  # nu_k^F(r_i)
    rho_real = brute_radii(real, k)
    rho_fake = brute_radii(fake, k)
    c = -digamma(k) + log_unit_ball_volume(d)
    with np.errstate(divide="ignore"):
        return {
            "h_fake_real": np.log(N) + c + d * np.log(nu_fake),
            "h_real_fake": np.log(M) + c + d * np.log(nu_real),
            "h_real": np.log(N - 1) + c + d * np.log(rho_real),
            "h_fake": np.log(M - 1) + c + d * np.log(rho_fake),
            # samples with a zero k-th distance in one of their two terms
            "_zero_real": int(((nu_real == 0) | (rho_real == 0)).sum()),
            "_zero_fake": int(((nu_fake == 0) | (rho_fake == 0)).sum()),
        }


def brute_entropies(real, fake, k):
    terms = brute_entropy_terms(real, fake, k)
    h = {name: float(np.mean(terms[name])) for name in ("h_fake_real", "h_real_fake", "h_real",
                                                          "h_fake")}  # fmt: skip
    with np.errstate(invalid="ignore"):
        h["pce"] = h["h_fake_real"] - h["h_real"]
        h["rce"] = h["h_real_fake"] - h["h_real"]
        h["re"] = h["h_fake"] - h["h_real"]
    return h, terms


# ---------------------------------------------------------------------------
# alpha-precision, beta-recall, authenticity (section 7)
# ---------------------------------------------------------------------------


def dist_to_centre(X, c):
    """Oracle distance of every row of X to the float64 point c (sequential over dims)."""
    X = as_oracle(X)
    c = np.asarray(c, dtype=np.float64)
    acc = np.zeros(X.shape[0], dtype=np.float64)
    for t in range(X.shape[1]):
        diff = X[:, t] - c[t]
        acc += diff * diff
    return np.sqrt(acc)


def delta(alphas, curve):
    """The paper's Delta: 1 - 2 * sum_t |alpha_t - curve_t| / (n_alphas - 1)."""
    return 1.0 - 2.0 * np.sum(np.abs(np.asarray(alphas) - np.asarray(curve))) / (len(alphas) - 1)


def delta_synthcity(alphas, curve):
    return 1.0 - np.sum(np.abs(np.asarray(alphas) - np.asarray(curve))) / np.sum(alphas)


def brute_authenticity_flags(real, fake):
    """Per fake: True = authentic. Unauthentic when ANY equally-nearest real r_i* has
    d(f_j, r_i*) < rho_1^R(i*)."""
    real, fake = as_oracle(real), as_oracle(fake)
    dist = brute_dist(real, fake)  # (N, M)
    rho1 = brute_radii(real, 1)
    nearest = dist == dist.min(axis=0)[None, :]
    unauth = (nearest & (dist < rho1[:, None])).any(axis=0)
    return ~unauth


def brute_alpha_beta(real, fake, n_alphas=30, center=None):
    real, fake = as_oracle(real), as_oracle(fake)
    N, M = real.shape[0], fake.shape[0]
    c = real.mean(axis=0) if center is None else np.asarray(center, dtype=np.float64)
    alphas = np.linspace(0.0, 1.0, n_alphas)
    d_real_c = dist_to_centre(real, c)
    d_fake_c = dist_to_centre(fake, c)
    q_alpha = np.quantile(d_real_c, alphas)
    p_counts = np.array([int((d_fake_c <= q).sum()) for q in q_alpha])

    D = brute_dist(real, fake)  # (N, M)
    g = np.argmin(D, axis=1)  # nearest fake of each real: lowest index among ties
    d_g = D[np.arange(N), g]
    rho1 = brute_radii(real, 1)
    t = dist_to_centre(fake[g], fake.mean(axis=0))
    q_beta = np.quantile(t, alphas)
    close = d_g <= rho1
    r_counts = np.array([int((close & (t <= q)).sum()) for q in q_beta])

    auth = brute_authenticity_flags(real, fake)
    P = p_counts / M
    R = r_counts / N
    return {
        "alphas": alphas,
        "alpha_precision_curve": P,
        "beta_recall_curve": R,
        "p_counts": p_counts,
        "r_counts": r_counts,
        "delta_precision_alpha": delta(alphas, P),
        "delta_coverage_beta": delta(alphas, R),
        "authenticity": int(auth.sum()) / M,
        "authentic": auth,
        "nearest_fake": g.astype(np.int64),
        "nearest_fake_distance": d_g,
        "center": c,
        "d_real_center": d_real_c,
        "d_fake_center": d_fake_c,
    }
