"""Metric families: one module each, a short derivation from the primitive outputs.

``FAMILIES`` is the registry used by :func:`fastprdc.evaluate` (``metrics="all"`` means
every entry, in this order). A new family is a module defining a ``FAMILY`` plus an entry here.
"""

from __future__ import annotations

from . import alpha_precision_beta_recall as _alpha_precision_beta_recall
from . import density_coverage as _density_coverage
from . import pce_rce_re as _pce_rce_re
from . import precision_recall as _precision_recall
from . import precision_recall_cover as _precision_recall_cover
from . import rarity_score as _rarity_score
from . import realism_score as _realism_score
from ._base import MetricFamily
from .alpha_precision_beta_recall import alpha_precision_beta_recall
from .density_coverage import density_coverage
from .pce_rce_re import pce_rce_re
from .prdc_dropin import compute_prdc
from .precision_recall import precision_recall
from .precision_recall_cover import precision_recall_cover
from .rarity_score import rarity_score
from .realism_score import realism_score

__all__ = [
    "DEFAULT_METRICS",
    "FAMILIES",
    "MetricFamily",
    "alpha_precision_beta_recall",
    "compute_prdc",
    "density_coverage",
    "pce_rce_re",
    "precision_recall",
    "precision_recall_cover",
    "rarity_score",
    "realism_score",
]

FAMILIES: dict[str, MetricFamily] = {
    family.name: family
    for family in (
        _precision_recall.FAMILY,
        _density_coverage.FAMILY,
        _realism_score.FAMILY,
        _rarity_score.FAMILY,
        _precision_recall_cover.FAMILY,
        _pce_rce_re.FAMILY,
        _alpha_precision_beta_recall.FAMILY,
    )
}

#: The families an evaluation computes when none are named (``evaluate``, ``Reference``,
#: the Dask ``evaluate``); the command line's ``eval`` computes ``"all"``.
DEFAULT_METRICS: tuple[str, ...] = ("precision_recall", "density_coverage")
