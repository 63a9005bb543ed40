"""Drop-in for dgm-eval's kNN metrics (layer6ai-labs/dgm-eval, Stein et al. 2023).

- :func:`compute_prdc` reproduces ``dgm_eval/metrics/prdc.py``: prdc's four numbers
  (strict boundary, numpy float64; see :mod:`fastprdc.compat.prdc`), the size line
  printed to **stderr**, and with ``realism=True`` the key ``"realism"``: per fake,
  ``max r_i / d(i, j)`` over the real balls whose radius is **strictly below**
  ``np.median`` of the radii; plain distances, no eps; ``inf`` at distance 0 from a kept
  ball of positive radius, ``nan`` at distance 0 from a kept ball of radius 0 (0/0,
  propagated by numpy's max); float32 when both inputs are float32; ValueError when no
  radius is below the median (an empty max, as upstream).
- :func:`compute_authpct` reproduces ``dgm_eval/metrics/authpct.py``: inputs cast to
  float32; a generated row is authentic when the distance from its nearest training row
  (first index on ties) to *that* row's own nearest other training row is **strictly
  smaller** than its distance to it; returns the percentage as a Python float holding
  the float32 value ``100 * count / M``.

Distances are exact, so results equal dgm-eval's wherever its float32 distances do not
flip an exact or near tie. The native realism (:func:`fastprdc.realism_score`) keeps
radii *at or below* the median and never returns NaN (docs/metrics.md section 3).

``python -m fastprdc.compat.dgm_eval ARGS...`` patches dgm-eval, then runs its own
command line (``python -m dgm_eval ARGS...``) so every prdc / authpct it computes runs on
fastprdc. dgm-eval is not on PyPI: install it from its repository
(``git clone https://github.com/layer6ai-labs/dgm-eval; cd dgm-eval; pip install -e .``).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._common import float32_mean, sklearn_dtype, to_numpy
from ._patching import register

__all__ = ["compute_authpct", "compute_prdc", "main"]

_INSTALL_HINT = (
    "dgm-eval is not on PyPI; install it from source: git clone "
    "https://github.com/layer6ai-labs/dgm-eval && cd dgm-eval && pip install -e ."
)


def _realism(real: np.ndarray, fake: np.ndarray, nearest_k: int) -> np.ndarray:
    """dgm-eval's realism: max over radii strictly below the median of r_i / d(i, j)."""
    from .. import primitives

    exact = primitives.kth_radii(real, nearest_k) if nearest_k > 0 else np.zeros(len(real))
    assert isinstance(exact, np.ndarray)
    mask = exact < np.median(exact)
    if not mask.any():
        raise ValueError("zero-size array to reduction operation maximum which has no identity")
    centres = np.ascontiguousarray(real[mask])
    r = np.ascontiguousarray(exact[mask])
    score = primitives.ball_membership(fake, centres, r, realism=True)["realism"]
    zero = r == 0
    if zero.any():  # 0/0 at a kept zero-radius real: nan, which upstream's max propagates
        on_centre = primitives.ball_membership(
            fake, np.ascontiguousarray(centres[zero]), np.zeros(int(zero.sum()))
        )["any"]
        score = np.where(on_centre, np.nan, score)
    return score.astype(real.dtype)  # real and fake already have sklearn's result dtype


def compute_prdc(
    real_features: Any, fake_features: Any, nearest_k: int, realism: bool = False
) -> dict[str, Any]:
    """dgm-eval's ``compute_prdc``: prdc's dict (numpy float64), plus ``"realism"`` (M,).

    Prints ``Num real: N Num fake: M`` to stderr.
    """
    from .prdc import _prdc_values, _print_sizes

    real, fake = to_numpy(real_features), to_numpy(fake_features)
    _print_sizes(real, fake, file=sys.stderr)
    d: dict[str, Any] = dict(_prdc_values(real, fake, nearest_k))
    if realism:
        dtype = sklearn_dtype(real, fake)
        d["realism"] = _realism(
            np.asarray(real, dtype=dtype), np.asarray(fake, dtype=dtype), int(nearest_k)
        )
    return d


def compute_authpct(train_feat: Any, gen_feat: Any) -> float:
    """dgm-eval's ``compute_authpct``: percentage of authentic generated rows.

    Authentic: ``r_1(i*) < d(g, x_i*)``, where x_i* is g's nearest training row (first
    index on ties) and r_1(i*) its distance to its nearest other training row.
    """
    from .. import primitives

    train = np.ascontiguousarray(to_numpy(train_feat), dtype=np.float32)
    gen = np.ascontiguousarray(to_numpy(gen_feat), dtype=np.float32)
    rho1 = primitives.kth_radii(train, 1)
    assert isinstance(rho1, np.ndarray)
    bm = primitives.ball_membership(gen, train, rho1)
    authentic = rho1[bm["nearest_centre"]] < bm["nearest_centre_distance"]
    return float32_mean(100 * int(authentic.sum()), authentic.shape[0])


def _targets() -> list[tuple[Any, str, Any]]:
    import dgm_eval.metrics
    import dgm_eval.metrics.authpct
    import dgm_eval.metrics.prdc  # noqa: F401 - loads the submodule read below

    metrics = sys.modules["dgm_eval.metrics"]
    targets: list[tuple[Any, str, Any]] = [
        (sys.modules["dgm_eval.metrics.prdc"], "compute_prdc", compute_prdc),
        (sys.modules["dgm_eval.metrics.authpct"], "compute_authpct", compute_authpct),
        (metrics, "compute_prdc", compute_prdc),
        (metrics, "compute_authpct", compute_authpct),
    ]
    main_module = sys.modules.get("dgm_eval.__main__")
    if main_module is not None:  # already executed: its star import bound the originals
        for name, fn in (("compute_prdc", compute_prdc), ("compute_authpct", compute_authpct)):
            if hasattr(main_module, name):
                targets.append((main_module, name, fn))
    return targets


register(
    "dgm_eval",
    module="dgm_eval",
    pip="dgm-eval",
    targets=_targets,
    aliases=("dgm-eval",),
    install_hint=_INSTALL_HINT,
)


def main(argv: list[str] | None = None) -> None:
    """Patch dgm-eval, then run ``python -m dgm_eval`` with ``argv`` (default sys.argv[1:])."""
    import runpy

    from ._patching import patch

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        patch("dgm_eval")
    except ModuleNotFoundError:
        raise SystemExit(
            f"fastprdc.compat.dgm_eval: dgm-eval is not installed. {_INSTALL_HINT}"
        ) from None
    sys.argv = ["dgm_eval", *args]
    runpy.run_module("dgm_eval", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    # run through the imported module, so the registry and the patched names all refer to
    # fastprdc.compat.dgm_eval (not to this __main__ copy)
    from fastprdc.compat.dgm_eval import main as _main

    _main()
