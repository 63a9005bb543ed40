"""piq's improved precision and recall (``piq.PR``, piq 0.8.0) computed by fastprdc.

``PR(nearest_k=5).compute_metric(real_features, fake_features)`` returns the tuple
``(precision, recall)`` of 0-dim float32 tensors, with piq 0.8.0's rules as coded
(``piq/pr.py`` since photosynthesis-team/piq PR #285):

* radii r^R_i, r^F_j: distance to the ``nearest_k``-th nearest other row of the same set
  (``topk(k + 1)`` of the self-distance row, the row itself being the first);
* **precision** = share of fakes j with, for some real i, ``d(i, j) < r^R_i`` or
  ``torch.isclose(d(i, j), r^R_i)`` (defaults rtol=1e-5, atol=1e-8, i.e.
  ``|d - r| <= 1e-8 + 1e-5 r``). Together: ``d(i, j) <= r^R_i (1 + 1e-5) + 1e-8``, an
  inclusive test with slightly inflated real radii;
* **recall** = share of reals i with, for some fake j, ``d(i, j) < r^F_j`` **or**
  ``isclose(d(i, j), r^R_i)``: upstream's isclose term uses the *real* radius (a bug kept
  here, since patched numbers must not change), so a real also counts as recalled when some
  fake lies in the thin shell ``|d(i, j) - r^R_i| <= 1e-8 + 1e-5 r^R_i`` around it;
* each value is ``.float().mean()``: the float32 nearest to count / n.

fastprdc computes the distances exactly (float64 evaluation of the given values) and the
band edges ``r (1 + 1e-5) + 1e-8`` and ``r (1 - 1e-5) - 1e-8`` in float64; upstream uses
torch's float32 ``cdist`` and a float32 tolerance, so the two agree exactly except for
pairs within float32 rounding of a band edge or of a fake radius. The shell needs the number
of fakes inside each real-centred ball, which fastprdc's cross pass counts per centre: one
fused pass (real balls at the two band edges, fake balls at r^F) serves both values.

The older piq code (before PR #285, ``compute_metric(real, fake, nearest_k=5)``) used plain
strict ``<`` for both: ``PR(nearest_k, variant="strict")`` reproduces it.

Inputs may be torch tensors (any device) or arrays; float32 and float64 are used as given,
other dtypes as float32. Results are torch tensors (on the device of the first input when
it is a tensor) whenever torch is installed, else 0-dim numpy float32 arrays.

``fastprdc.compat.patch("piq")`` replaces ``piq.pr.PR.compute_metric`` (``piq.PR`` is the
same class), so ``piq.PR(nearest_k)(x_features, y_features)`` runs on fastprdc. The patched
method keeps piq's own input checks (``_validate_input``, ``AssertionError``) and
``self.nearest_k``. As in piq, ``pr(x, y)`` treats x as the real features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import tensor_to_float_array
from ._patching import register

__all__ = ["PR", "precision_recall_counts"]

_RTOL = 1e-5  # torch.isclose defaults
_ATOL = 1e-8
_VARIANTS = ("isclose", "strict")


def precision_recall_counts(
    real_features: Any, fake_features: Any, nearest_k: int = 5, *, variant: str = "isclose"
) -> dict[str, int]:
    """The counts behind :meth:`PR.compute_metric`: ``{"n_precise", "n_fake", "n_recalled",
    "n_real"}`` (fakes counted in precision, number of fakes, reals counted in recall,
    number of reals). ``variant="strict"`` is the pre-#285 piq code (plain ``<``)."""
    from .._backends import resolve_device
    from .._options import make_options
    from .._validation import check_k_limit, parse_k, validate_pair

    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
    ks, is_list = parse_k(nearest_k, "nearest_k")
    if is_list:
        raise ValueError("nearest_k must be a single int")
    k = ks[0]
    real, fake = tensor_to_float_array(real_features), tensor_to_float_array(fake_features)
    backend = resolve_device("auto", real, fake, names=("real_features", "fake_features"))
    R, F = validate_pair(
        real, fake, ("real_features", "fake_features"), min_rows=(2, 2),
        on_device=backend.location == "cuda",
    )  # fmt: skip
    check_k_limit(k, R.shape[0], "N", "real")
    check_k_limit(k, F.shape[0], "M", "fake")
    opts = make_options()
    r_real = np.ascontiguousarray(backend.knn(R, None, k, opts)[0][:, k - 1], dtype=np.float64)
    r_fake = np.ascontiguousarray(backend.knn(F, None, k, opts)[0][:, k - 1], dtype=np.float64)
    if variant == "strict":
        radii_a = r_real[:, None]
    else:
        tol = _ATOL + _RTOL * r_real
        # Strict pass throughout: d <= hi  <=>  d < nextafter(hi, inf) for float64 d;
        # the shell's lower edge lo is strict as in |d - r| <= tol (d < lo is outside),
        # and lo <= 0 leaves nothing below it.
        hi = np.nextafter(r_real + tol, np.inf)
        lo = np.maximum(r_real - tol, 0.0)
        radii_a = np.ascontiguousarray(np.column_stack([hi, lo]))
    cross = backend.cross_pass(
        R, F, radii_a, np.ascontiguousarray(r_fake[:, None]), True, 0, 0, opts
    )  # fmt: skip
    precise = cross["b_count"][:, 0] > 0  # per fake: inside some (inflated) real ball
    recalled = cross["a_count"][:, 0] > 0  # per real: strictly inside some fake ball
    if variant == "isclose":
        in_band = cross["a_ball_count"][:, 0] - cross["a_ball_count"][:, 1]
        recalled = recalled | (in_band > 0)  # upstream's isclose(d, real radius) term
    return {
        "n_precise": int(np.count_nonzero(precise)),
        "n_fake": int(F.shape[0]),
        "n_recalled": int(np.count_nonzero(recalled)),
        "n_real": int(R.shape[0]),
    }


def _result(counts: dict[str, int], like: Any) -> tuple[Any, Any]:
    """(precision, recall) as piq returns them: 0-dim float32 tensors (float32 count / n)."""
    p = np.float32(counts["n_precise"]) / np.float32(counts["n_fake"])
    r = np.float32(counts["n_recalled"]) / np.float32(counts["n_real"])
    try:
        import torch
    except ImportError:
        return np.asarray(p, dtype=np.float32), np.asarray(r, dtype=np.float32)
    device = like.device if isinstance(like, torch.Tensor) else "cpu"
    return (
        torch.tensor(float(p), dtype=torch.float32, device=device),
        torch.tensor(float(r), dtype=torch.float32, device=device),
    )


class PR:
    """``piq.PR`` on fastprdc: ``PR(nearest_k=5)``; ``pr(real, fake)`` or
    ``pr.compute_metric(real, fake)`` -> ``(precision, recall)``.

    ``variant="isclose"`` (default) is piq 0.8.0; ``"strict"`` is the pre-#285 piq code.
    Not a ``torch.nn.Module`` (torch is optional here); the patched ``piq.PR`` is.
    """

    def __init__(self, nearest_k: int = 5, *, variant: str = "isclose") -> None:
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
        self.nearest_k = nearest_k
        self.variant = variant

    def compute_metric(self, real_features: Any, fake_features: Any) -> tuple[Any, Any]:
        """``(precision, recall)`` of the fake features against the real ones."""
        counts = precision_recall_counts(
            real_features, fake_features, self.nearest_k, variant=self.variant
        )
        return _result(counts, real_features)

    def __call__(self, predicted_features: Any, target_features: Any) -> tuple[Any, Any]:
        """piq's ``forward``: the first argument is used as the real features."""
        return self.compute_metric(predicted_features, target_features)

    forward = __call__

    def __repr__(self) -> str:
        return f"PR(nearest_k={self.nearest_k!r}, variant={self.variant!r})"


def _patched_compute_metric(self: Any, real_features: Any, fake_features: Any) -> tuple[Any, Any]:
    """piq 0.8.0 ``PR.compute_metric`` computed by fastprdc (``fastprdc.compat.piq``)."""
    from piq.utils import _validate_input

    _validate_input([real_features, fake_features], dim_range=(2, 2), size_range=(1, 2))
    counts = precision_recall_counts(real_features, fake_features, self.nearest_k)
    return _result(counts, real_features)


_patched_compute_metric.__name__ = "compute_metric"
_patched_compute_metric.__qualname__ = "PR.compute_metric"


def _targets() -> list[tuple[Any, str, Any]]:
    import piq.pr

    return [(piq.pr.PR, "compute_metric", _patched_compute_metric)]


register("piq", module="piq", pip="piq", targets=_targets)
