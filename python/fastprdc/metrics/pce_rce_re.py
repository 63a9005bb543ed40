"""Information-theoretic PCE, RCE and RE (Fox et al. 2025), docs/metrics.md section 6.

Kozachenko-Leonenko kNN entropy estimates with psi(k) in place of ln k, in float64:
H(F, R) = mean_j [ln N - psi(k) + ln V_d + d ln nu_k^R(f_j)], H(R, F) likewise with the
roles swapped, H(R) = mean_i [ln(N - 1) - psi(k) + ln V_d + d ln rho_k^R(i)], H(F) likewise;
PCE = H(F, R) - H(R), RCE = H(R, F) - H(R), RE = H(F) - H(R).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._engine import EngineOutput, Needs
from .._options import MemoryLike, ProgressLike
from .._validation import parse_k
from .._warn import warn
from ._base import Derived, MetricFamily, reshape_single, run_families

__all__ = ["FAMILY", "digamma_int", "log_unit_ball_volume", "pce_rce_re"]

_EULER_GAMMA = 0.57721566490153286061


def digamma_int(k: int) -> float:
    """psi(k) for a positive int: -gamma + sum_{t=1}^{k-1} 1/t."""
    return -_EULER_GAMMA + math.fsum(1.0 / t for t in range(1, k))


def log_unit_ball_volume(d: int) -> float:
    """ln V_d = (d/2) ln(pi) - lnGamma(d/2 + 1), the log volume of the unit d-ball."""
    return (d / 2) * math.log(math.pi) - math.lgamma(d / 2 + 1)


def _terms(n_other: int, k: int, log_v: float, d: int, dist: np.ndarray) -> np.ndarray:
    """Per-sample summands ln(n_other) - psi(k) + ln V_d + d ln(dist); -inf where dist == 0."""
    with np.errstate(divide="ignore"):
        return (math.log(n_other) - digamma_int(k) + log_v) + d * np.log(dist)


def _needs(ks: Sequence[int], params: Mapping[str, Any]) -> Needs:
    k = max(ks)
    return Needs(real_self_knn=k, fake_self_knn=k, real_to_fake_knn=k, fake_to_real_knn=k)


def _derive(
    out: EngineOutput, ks: Sequence[int], sample_level: bool, params: Mapping[str, Any]
) -> Derived:
    n, m, d = out.n_real, out.n_fake, out.dim
    log_v = log_unit_ball_volume(d)
    names = ("pce", "rce", "re", "h_fake_real", "h_real_fake", "h_real", "h_fake")
    scalars: dict[str, dict[int, float]] = {name: {} for name in names}
    samples: dict[str, dict[int, np.ndarray]] = {
        name: {}
        for name in ("h_fake_real_terms", "h_real_fake_terms", "h_real_terms", "h_fake_terms")
    }
    zero_counts: list[str] = []
    for k in ks:
        nu_fake, nu_real = out.fake_to_real(k), out.real_to_fake(k)
        rho_real, rho_fake = out.real_kth(k), out.fake_kth(k)
        terms = {
            "h_fake_real": _terms(n, k, log_v, d, nu_fake),
            "h_real_fake": _terms(m, k, log_v, d, nu_real),
            "h_real": _terms(n - 1, k, log_v, d, rho_real),
            "h_fake": _terms(m - 1, k, log_v, d, rho_fake),
        }
        h = {name: float((1 / t.shape[0]) * np.sum(t)) for name, t in terms.items()}
        for name, value in h.items():
            scalars[name][k] = value
        scalars["pce"][k] = h["h_fake_real"] - h["h_real"]  # -inf - -inf = nan (Python floats)
        scalars["rce"][k] = h["h_real_fake"] - h["h_real"]
        scalars["re"][k] = h["h_fake"] - h["h_real"]
        zero_real = int(((nu_real == 0) | (rho_real == 0)).sum())
        zero_fake = int(((nu_fake == 0) | (rho_fake == 0)).sum())
        if zero_real or zero_fake:
            zero_counts.append(f"k={k}: {zero_real} real and {zero_fake} fake samples")
        if sample_level:
            for name, t in terms.items():
                samples[name + "_terms"][k] = t
    if zero_counts:
        warn(
            "pce_rce_re: zero k-th neighbour distances (exact duplicates) at "
            + "; ".join(zero_counts)
            + ": their log terms are -inf, and so is every entropy that includes them"
        )
    return Derived(scalars, samples, {})


FAMILY = MetricFamily(
    name="pce_rce_re",
    default_k=5,
    metrics=("pce", "rce", "re", "h_fake_real", "h_real_fake", "h_real", "h_fake"),
    needs_fn=_needs,
    derive_fn=_derive,
    uses_boundary=False,
)


def pce_rce_re(
    real: Any,
    fake: Any,
    k: int | Sequence[int] = 5,
    *,
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, Any]:
    """Precision cross-entropy, recall cross-entropy and recall entropy (Fox et al.).

    PCE = H(F, R) - H(R) (fidelity, lower is better), RCE = H(R, F) - H(R) (mode dropping,
    lower is better; the kNN estimate of KL(P || Q)), RE = H(F) - H(R) (intra-class
    diversity, higher is better), from kNN entropy estimates in nats, computed in float64.
    A zero k-th neighbour distance (duplicates) makes its term -inf: the affected entropies
    are -inf (differences of two -inf are NaN) and one RuntimeWarning gives the counts.

    Returns:
        ``"pce"``, ``"rce"``, ``"re"`` and the raw entropies ``"h_fake_real"``,
        ``"h_real_fake"``, ``"h_real"``, ``"h_fake"`` (floats; ``{k: float}`` per entry
        for a list of k). ``sample_level=True`` adds the per-sample summands whose means
        are the entropies: ``"h_fake_real_terms"`` and ``"h_fake_terms"`` ((M,) float64, per
        fake), ``"h_real_fake_terms"`` and ``"h_real_terms"`` ((N,) float64, per real).
    """
    ks, is_list = parse_k(k)
    result = run_families(
        real,
        fake,
        [(FAMILY, ks)],
        sample_level=sample_level,
        device=device,
        exact=exact,
        max_memory=max_memory,
        num_threads=num_threads,
        progress=progress,
        tile_rows=tile_rows,
    )
    return reshape_single(result, FAMILY, ks, is_list)
