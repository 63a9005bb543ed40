"""fastprdc: exact, fast, O(N)-memory kNN evaluation metrics for generative models.

Metric functions: :func:`precision_recall`, :func:`density_coverage`,
:func:`realism_score`, :func:`rarity_score`, :func:`precision_recall_cover`,
:func:`pce_rce_re`, :func:`alpha_precision_beta_recall`, :func:`evaluate` (every family
from one set of passes, optionally per class) and :func:`compute_prdc` (drop-in for ``prdc``).
:class:`Reference`: a real set's passes computed once, for many fake sets (saved as ``.npz``).
Building blocks: :mod:`fastprdc.primitives`. Configuration report: :func:`show_config`.
Figures: :mod:`fastprdc.plot` (matplotlib, imported on first use); HTML report:
:mod:`fastprdc.report`.
"""

from __future__ import annotations

from . import plot, primitives
from ._config import show_config
from .evaluate import evaluate
from .metrics import (
    alpha_precision_beta_recall,
    compute_prdc,
    density_coverage,
    pce_rce_re,
    precision_recall,
    precision_recall_cover,
    rarity_score,
    realism_score,
)
from .reference import Reference
from .result import EvaluationResult


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return "0+unknown"
    try:
        return version("fastprdc")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _version()

__all__ = [
    "EvaluationResult",
    "Reference",
    "__version__",
    "alpha_precision_beta_recall",
    "compute_prdc",
    "density_coverage",
    "evaluate",
    "pce_rce_re",
    "plot",
    "precision_recall",
    "precision_recall_cover",
    "primitives",
    "rarity_score",
    "realism_score",
    "show_config",
]
