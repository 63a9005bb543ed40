"""Drop-in for ``prdc`` 0.2 (clovaai/generative-evaluation-prdc, Naeem et al. 2020).

Same functions, signatures, return types and side effects as ``prdc/prdc.py``:

- :func:`compute_prdc` prints ``Num real: N Num fake: M`` to stdout (as prdc does; the
  native :func:`fastprdc.compute_prdc` prints nothing) and returns
  ``dict(precision, recall, density, coverage)`` of **numpy float64** scalars. Every test
  is strict (``d < radius``), density is prdc's ``(1. / float(k)) * counts.mean()``. It
  runs one fastprdc pass and never builds the N x M distance matrix.
- :func:`compute_pairwise_distance` and :func:`compute_nearest_neighbour_distances`
  return prdc's arrays: the full (N, M) matrix for the first (as upstream),
  fastprdc's O(N)-memory radii for the second. Their dtype follows scikit-learn's
  ``pairwise_distances``: float32 when both inputs are float32, else float64.
- :func:`get_kth_value` is prdc's generic numpy helper (k-th smallest, 1-based, along the
  last axis; the same argpartition rules and errors).
- :func:`compute_density` / :func:`compute_coverage` (prdc's GitHub HEAD; not in 0.2) and
  :func:`compute_prdc_torch` (HEAD's ``prdc_torch``; torch tensors in, Python floats out).

Distances are exact (float64 evaluation of the given values), so results equal prdc's
wherever prdc's float32 distances do not flip an exact or near tie (see the README of
``tests/data/reference``). ``fastprdc.compat.patch("prdc")`` installs these functions in
the ``prdc`` package.
"""

from __future__ import annotations

import operator
import sys
from typing import Any

import numpy as np

from ._common import sklearn_dtype, to_numpy
from ._patching import register

__all__ = [
    "compute_coverage",
    "compute_density",
    "compute_nearest_neighbour_distances",
    "compute_pairwise_distance",
    "compute_prdc",
    "compute_prdc_torch",
    "get_kth_value",
]


def _as_sklearn(x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray | None, type]:
    """Inputs as scikit-learn would compute with them: float32 pairs stay float32,
    anything else is used in float64 (ints and float16 included)."""
    a = to_numpy(x)
    b = None if y is None else to_numpy(y)
    dtype = sklearn_dtype(a, b)
    a = np.asarray(a, dtype=dtype)
    b = None if b is None else np.asarray(b, dtype=dtype)
    return a, b, dtype


def check_radius_k(nearest_k: int, n: int) -> None:
    """prdc takes the (k+1)-th smallest of a row of n: numpy's argpartition needs an integer
    k+1 < n (any int-like k works there, and here; a float k raises TypeError there, and here)."""
    try:
        operator.index(nearest_k + 1)
    except TypeError:
        raise TypeError(f"nearest_k must be an integer, got {nearest_k!r}") from None
    if nearest_k < 0:
        raise ValueError(f"nearest_k must be >= 0, got {nearest_k}")
    if nearest_k + 1 >= n:
        raise ValueError(f"kth(={nearest_k + 1}) out of bounds ({n})")


def compute_pairwise_distance(data_x: Any, data_y: Any = None) -> np.ndarray:
    """Euclidean distances between the rows of data_x and data_y (default data_x).

    Builds the full (N, M) matrix, as prdc does. float32 when both inputs are float32,
    else float64; the diagonal of a self-distance matrix is exactly 0.
    """
    from .. import primitives

    a, b, dtype = _as_sklearn(data_x, data_y)
    return primitives.pairwise_distances(a, b).astype(dtype, copy=False)


def get_kth_value(unsorted: Any, k: int, axis: int = -1) -> np.ndarray:
    """The k-th smallest value (1-based) of ``unsorted`` along ``axis`` (prdc's helper).

    As in prdc, the partition runs along ``axis`` and the first k positions are taken
    along the last axis, so only the last axis works for 2-D+ input; k must be < the
    axis length (numpy's argpartition rule).
    """
    a = np.asarray(unsorted)
    first_k = np.argpartition(a, k, axis=axis)[..., :k]
    return np.take_along_axis(a, first_k, axis=axis).max(axis=axis)


def compute_nearest_neighbour_distances(input_features: Any, nearest_k: int) -> np.ndarray:
    """Distance from each row to its nearest_k-th nearest other row (prdc's radii).

    Computed without the N x N matrix. Needs nearest_k <= N - 2 (prdc's own limit).
    """
    from .. import primitives

    x, _, dtype = _as_sklearn(input_features)
    if x.ndim != 2:
        raise ValueError(f"Expected 2D array, got array of shape {x.shape}")
    n = x.shape[0]
    check_radius_k(nearest_k, n)
    if nearest_k == 0:  # the (k+1)-th smallest with k = 0 is the self distance
        return np.zeros(n, dtype=dtype)
    radii = primitives.kth_radii(x, int(nearest_k))
    assert isinstance(radii, np.ndarray)
    return radii.astype(dtype)


def _prdc_values(real: Any, fake: Any, nearest_k: int) -> dict[str, np.float64]:
    """prdc's four numbers as numpy float64 from one strict fastprdc pass."""
    from ..metrics import compute_prdc as native_compute_prdc

    r, f, _ = _as_sklearn(real, fake)
    for x, name in ((r, "real_features"), (f, "fake_features")):
        if x.ndim != 2:
            raise ValueError(f"{name}: Expected 2D array, got array of shape {x.shape}")
        check_radius_k(nearest_k, x.shape[0])
    values = native_compute_prdc(r, f, int(nearest_k))
    # the native values are the same float64 expressions, returned as Python floats
    names = ("precision", "recall", "density", "coverage")
    return {name: np.float64(values[name]) for name in names}


def _print_sizes(real: Any, fake: Any, file: Any = None) -> None:
    print(f"Num real: {real.shape[0]} Num fake: {fake.shape[0]}", file=file)


def compute_prdc(real_features: Any, fake_features: Any, nearest_k: int) -> dict[str, Any]:
    """Precision, recall, density and coverage as ``prdc.compute_prdc`` computes them.

    Prints ``Num real: N Num fake: M`` to stdout first. Strict boundary for all four;
    density = ``(1. / float(nearest_k)) * counts.mean()``. Never builds an N x M matrix.

    Returns:
        ``dict(precision=, recall=, density=, coverage=)`` of numpy float64 scalars.
    """
    real, fake = to_numpy(real_features), to_numpy(fake_features)
    _print_sizes(real, fake)
    return _prdc_values(real, fake, nearest_k)


def _strict_real_balls(real_features: Any, fake_features: Any, nearest_k: int) -> dict:
    """``ball_membership`` of the fakes in the real k-NN balls, prdc's strict boundary."""
    from .. import primitives

    real, fake, _ = _as_sklearn(real_features, fake_features)
    assert fake is not None
    check_radius_k(nearest_k, real.shape[0])
    radii = primitives.kth_radii(real, int(nearest_k))
    return primitives.ball_membership(fake, real, radii, boundary="strict")


def compute_density(real_features: Any, fake_features: Any, nearest_k: int) -> np.float64:
    """prdc HEAD's ``compute_density``: density alone (strict), no print, numpy float64."""
    counts = _strict_real_balls(real_features, fake_features, nearest_k)["count"]
    return np.float64((1.0 / float(nearest_k)) * counts.mean())


def compute_coverage(real_features: Any, fake_features: Any, nearest_k: int) -> np.float64:
    """prdc HEAD's ``compute_coverage``: coverage alone (strict), no print, numpy float64."""
    covered = _strict_real_balls(real_features, fake_features, nearest_k)["any_point"]
    return np.float64(covered.mean())


def compute_prdc_torch(real_features: Any, fake_features: Any, nearest_k: int) -> dict[str, float]:
    """prdc HEAD's ``compute_prdc_torch``: torch tensors (any device) in, Python floats out.

    Prints the same ``Num real: N Num fake: M`` line; the same strict tests.
    """
    real, fake = to_numpy(real_features), to_numpy(fake_features)
    _print_sizes(real, fake)
    return {name: float(v) for name, v in _prdc_values(real, fake, nearest_k).items()}


def _targets() -> list[tuple[Any, str, Any]]:
    import prdc
    import prdc.prdc

    inner = sys.modules["prdc.prdc"]  # the submodule (the package attribute may be shadowed)
    targets: list[tuple[Any, str, Any]] = [
        (inner, "compute_prdc", compute_prdc),
        (inner, "compute_pairwise_distance", compute_pairwise_distance),
        (inner, "get_kth_value", get_kth_value),
        (inner, "compute_nearest_neighbour_distances", compute_nearest_neighbour_distances),
        (prdc, "compute_prdc", compute_prdc),
    ]
    for name, fn in (("compute_density", compute_density), ("compute_coverage", compute_coverage)):
        for owner in (inner, prdc):
            if hasattr(owner, name):
                targets.append((owner, name, fn))
    try:  # prdc HEAD only; importing it imports torch
        import importlib.util

        has_torch_module = importlib.util.find_spec("prdc.prdc_torch") is not None
    except (ImportError, ValueError):
        has_torch_module = False
    if has_torch_module:
        try:
            import prdc.prdc_torch
        except ImportError:
            pass
        else:
            torch_module = sys.modules["prdc.prdc_torch"]
            targets.append((torch_module, "compute_prdc_torch", compute_prdc_torch))
            if hasattr(prdc, "compute_prdc_torch"):
                targets.append((prdc, "compute_prdc_torch", compute_prdc_torch))
    return targets


register("prdc", module="prdc", pip="prdc", targets=_targets)
