"""torch-fidelity's precision/recall (``torch_fidelity.metric_prc``) computed by fastprdc.

Reproduces PyPI ``torch-fidelity`` 0.4.0 (the first release with PRC), whose functions
take ``(features_1, features_2, neighborhood=3, batch_size=10000)`` with **features_1 the
generated set and features_2 the real set** (``calculate_metrics``'s ``input1`` /
``input2``):

* radii: ``kthvalue(cdist(f, f), neighborhood + 1)``, the distance to the
  ``neighborhood``-th nearest other row of the same set (the row itself counts as the first);
* **precision** = share of the rows of features_1 lying in some ball of features_2
  (d <= radius, inclusive);
* **recall** = share of the rows of features_2 lying in some ball of features_1 (inclusive);
* each value is ``.float().mean().item()``: a Python float holding the float32 nearest to
  count / n (``float(np.float32(count) / np.float32(n))``, bit for bit while n < 2**24);
* the functions return the tuple ``(precision, recall)``; ``_full`` and ``_part`` differ
  only in how upstream batches its distance matrices, so both are the same function here
  and ``batch_size`` is accepted and ignored (fastprdc tiles and never builds an n x m
  matrix).

The GitHub history before the 0.4.0 release (e.g. commit 5b1e99c) had the opposite roles:
features_1 was the real set, so its "precision" is 0.4.0's recall and vice versa
(torch-fidelity issue #58). ``legacy_order=True`` reproduces that older code.

Decisions are exact (fastprdc's float64 distances of the given values) where upstream uses
torch's float32 ``cdist`` (a norm expansion whose self distances are only approximately 0),
so the two agree exactly except for pairs within float32 rounding of a ball's boundary.

Inputs may be torch tensors (any device; detached and copied to host memory) or arrays.
float32 and float64 are used as given, other dtypes as float32. Errors are fastprdc's
``ValueError`` messages (upstream fails inside torch with ``RuntimeError`` or
``AssertionError`` for the same inputs).

``fastprdc.compat.patch("torch_fidelity")`` replaces
``torch_fidelity.metric_prc.calculate_precision_recall_full`` and ``..._part``, which
``prc_features_to_metric`` looks up at call time: ``torch_fidelity.calculate_metrics(...,
prc=True)``, ``metric_prc.calculate_prc`` and the ``fidelity`` command line then run on
fastprdc. Feature extraction stays torch-fidelity's own.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._common import float32_mean, tensor_to_float_array
from ._patching import register

__all__ = [
    "KEY_METRIC_F_SCORE",
    "KEY_METRIC_PRECISION",
    "KEY_METRIC_RECALL",
    "calculate_precision_recall_full",
    "calculate_precision_recall_part",
    "prc_features_to_metric",
]

KEY_METRIC_PRECISION = "precision"
KEY_METRIC_RECALL = "recall"
KEY_METRIC_F_SCORE = "f_score"

# torch_fidelity.defaults.DEFAULTS for the keyword arguments prc_features_to_metric reads.
_DEFAULTS = {"prc_neighborhood": 3, "prc_batch_size": 10000, "save_cpu_ram": False, "verbose": True}


def _precision_recall(
    features_1: Any, features_2: Any, neighborhood: int, legacy_order: bool
) -> tuple[float, float]:
    from ..metrics.precision_recall import precision_recall

    f1, f2 = tensor_to_float_array(features_1), tensor_to_float_array(features_2)
    # fastprdc's real = features_2, fake = features_1 (torch-fidelity 0.4.0's roles).
    res = precision_recall(f2, f1, k=neighborhood, boundary="inclusive", sample_level=True)
    f1_in_f2_balls = res["in_real_manifold"]  # per row of features_1
    f2_in_f1_balls = res["in_fake_manifold"]  # per row of features_2
    share_1 = float32_mean(int(np.count_nonzero(f1_in_f2_balls)), f1_in_f2_balls.shape[0])
    share_2 = float32_mean(int(np.count_nonzero(f2_in_f1_balls)), f2_in_f1_balls.shape[0])
    if legacy_order:  # features_1 real: precision = probes features_2 in features_1's balls
        return share_2, share_1
    return share_1, share_2


def calculate_precision_recall_full(
    features_1: Any,
    features_2: Any,
    neighborhood: int = 3,
    batch_size: int = 10000,
    *,
    legacy_order: bool = False,
) -> tuple[float, float]:
    """``torch_fidelity.metric_prc.calculate_precision_recall_full`` (0.4.0).

    Args:
        features_1: generated features (n1, d), torch tensor or array.
        features_2: real features (n2, d).
        neighborhood: k of the k-th nearest neighbour radius; needs k < n1 and k < n2.
        batch_size: accepted for compatibility, unused.
        legacy_order: reproduce the GitHub code before 0.4.0 (features_1 real).

    Returns:
        ``(precision, recall)``, Python floats holding float32 values.
    """
    del batch_size
    return _precision_recall(features_1, features_2, neighborhood, legacy_order)


def calculate_precision_recall_part(
    features_1: Any,
    features_2: Any,
    neighborhood: int = 3,
    batch_size: int = 10000,
    *,
    legacy_order: bool = False,
) -> tuple[float, float]:
    """``torch_fidelity.metric_prc.calculate_precision_recall_part``: the same result as
    :func:`calculate_precision_recall_full` (upstream only batches differently)."""
    del batch_size
    return _precision_recall(features_1, features_2, neighborhood, legacy_order)


def prc_features_to_metric(features_1: Any, features_2: Any, **kwargs: Any) -> dict[str, float]:
    """``torch_fidelity.metric_prc.prc_features_to_metric`` without torch-fidelity.

    Reads ``prc_neighborhood`` (3), ``prc_batch_size`` (10000, unused), ``save_cpu_ram``
    (False; no effect on the result) and ``verbose`` (True: prints ``Precision: ...``,
    ``Recall: ...``, ``F-score: ...`` to stderr as upstream does). Returns
    ``{"precision", "recall", "f_score"}`` with ``f_score = 2 p r / max(1e-5, p + r)``.
    """
    opts = {name: kwargs.get(name, default) for name, default in _DEFAULTS.items()}
    fn = (
        calculate_precision_recall_part if opts["save_cpu_ram"] else calculate_precision_recall_full
    )
    precision, recall = fn(features_1, features_2, opts["prc_neighborhood"], opts["prc_batch_size"])
    f_score = 2 * precision * recall / max(1e-5, precision + recall)
    out = {KEY_METRIC_PRECISION: precision, KEY_METRIC_RECALL: recall, KEY_METRIC_F_SCORE: f_score}
    if opts["verbose"]:
        print(f"Precision: {out[KEY_METRIC_PRECISION]:.7g}", file=sys.stderr)
        print(f"Recall: {out[KEY_METRIC_RECALL]:.7g}", file=sys.stderr)
        print(f"F-score: {out[KEY_METRIC_F_SCORE]:.7g}", file=sys.stderr)
    return out


def _targets() -> list[tuple[Any, str, Any]]:
    import torch_fidelity.metric_prc as metric_prc

    return [
        (metric_prc, "calculate_precision_recall_full", calculate_precision_recall_full),
        (metric_prc, "calculate_precision_recall_part", calculate_precision_recall_part),
    ]


register(
    "torch_fidelity",
    module="torch_fidelity",
    pip="torch-fidelity",
    targets=_targets,
    aliases=("torch-fidelity",),
)
