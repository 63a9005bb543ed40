"""fastprdc: exact, fast, O(N)-memory kNN evaluation metrics for generative models.

Metric functions: :func:`precision_recall`, :func:`density_coverage`, :func:`evaluate`
(several families in one pass) and :func:`compute_prdc` (drop-in for ``prdc``).
Building blocks: :mod:`fastprdc.primitives`. Configuration report: :func:`show_config`.
"""

from __future__ import annotations

from . import primitives
from ._config import show_config
from .evaluate import evaluate
from .metrics import compute_prdc, density_coverage, precision_recall
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
    "__version__",
    "compute_prdc",
    "density_coverage",
    "evaluate",
    "precision_recall",
    "primitives",
    "show_config",
]
