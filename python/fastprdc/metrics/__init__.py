"""Metric families: one module each, a short derivation from the primitive outputs.

``FAMILIES`` is the registry used by :func:`fastprdc.evaluate` (``metrics="all"`` means
every entry, in this order). A new family is a module defining a ``FAMILY`` plus an entry here.
"""

from __future__ import annotations

from . import density_coverage as _density_coverage
from . import precision_recall as _precision_recall
from ._base import MetricFamily
from .density_coverage import density_coverage
from .prdc_dropin import compute_prdc
from .precision_recall import precision_recall

__all__ = ["FAMILIES", "MetricFamily", "compute_prdc", "density_coverage", "precision_recall"]

FAMILIES: dict[str, MetricFamily] = {
    family.name: family for family in (_precision_recall.FAMILY, _density_coverage.FAMILY)
}
