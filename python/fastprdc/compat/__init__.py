"""Drop-in replacements for the metric libraries people already use.

One module per upstream, each reproducing that library's signatures, return types and
conventions (boundaries, squared or plain distances, dtypes, prints), computed by
fastprdc's exact primitives without the upstream's N x M matrices:

========================================  ==============================================
module                                    upstream
========================================  ==============================================
:mod:`fastprdc.compat.prdc`               ``prdc`` 0.2 (clovaai/generative-evaluation-prdc)
:mod:`fastprdc.compat.improved_precision_recall`
                                          kynkaat/improved-precision-and-recall-metric
                                          (and the StyleGAN2-ADA port, ``variant=``)
:mod:`fastprdc.compat.rarity`             hichoe95/Rarity-Score ``MANIFOLD``
:mod:`fastprdc.compat.info_theory`        NSSAC/PrecisionRecallMetric ``compute_metrics``
:mod:`fastprdc.compat.dgm_eval`           layer6ai-labs/dgm-eval ``compute_prdc``,
                                          ``compute_authpct``
:mod:`fastprdc.compat.torch_fidelity`     torch-fidelity ``metric_prc``
:mod:`fastprdc.compat.synthcity`          synthcity ``PRDCScore``, ``AlphaPrecision``
:mod:`fastprdc.compat.alpha_precision`    the official alpha-precision code (Alaa et al.,
                                          ahmedmalaa/evaluating-generative-models)
                                          ``compute_alpha_precision``
:mod:`fastprdc.compat.piq`                piq ``PR``
========================================  ==============================================

Installed libraries can be patched in place, so existing pipelines run on fastprdc
unchanged::

    import fastprdc.compat
    fastprdc.compat.patch("prdc")        # prdc.compute_prdc now runs on fastprdc
    ...
    fastprdc.compat.unpatch("prdc")      # the original functions are back

Names bound with ``from prdc import compute_prdc`` *before* ``patch`` keep the original
function: patch first, or call through the module. Importing this package imports
neither torch nor any upstream library.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._patching import available, is_patched, patch, patchable, patched, unpatch

__all__ = ["available", "is_patched", "patch", "patchable", "patched", "unpatch"]

_SUBMODULES = (
    "alpha_precision",
    "dgm_eval",
    "improved_precision_recall",
    "info_theory",
    "piq",
    "prdc",
    "rarity",
    "synthcity",
    "torch_fidelity",
)


def __getattr__(name: str) -> Any:
    """``fastprdc.compat.prdc`` etc. import the submodule on first access."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
