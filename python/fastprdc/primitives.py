"""The primitives every metric is built from, for other libraries to build on.

All distances are exact Euclidean distances (float64 evaluation of the given values, see
the README); float64 input, integers beyond 2^24 and object arrays are used as float64, any
other dtype as float32. Ties in
neighbour lists are broken by the lower index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from . import _progress
from ._backends import resolve_device
from ._dispatch import distributed, is_distributed_input
from ._options import MemoryLike, ProgressLike, RunOptions, make_options
from ._validation import (
    check_k_limit,
    check_realism_eps,
    parse_boundary,
    parse_k,
    validate_features,
    validate_pair,
    validate_radii,
)

__all__ = ["ball_membership", "knn", "kth_radii", "membership_output", "pairwise_distances"]


def _inputs(
    X: Any, Y: Any, names: tuple[str, str], on_device: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    if Y is None:
        return validate_features(X, names[0], on_device=on_device), None
    return validate_pair(X, Y, names, min_rows=(1, 1), on_device=on_device)


def _on_device(backend: Any) -> bool:
    return backend.location == "cuda"


def _knn(
    backend: Any, X: np.ndarray, Y: np.ndarray | None, k: int, opts: RunOptions
) -> tuple[np.ndarray, np.ndarray]:
    description = "kNN"
    with _progress.phase(opts.progress, description) as callback:
        res = backend.knn(X, Y, k, replace(opts, progress=callback, description=description))
    return res[0], res[1]


def pairwise_distances(X: Any, Y: Any = None, *, device: str = "auto") -> np.ndarray:
    """Exact distances between the rows of X (n, d) and of Y (m, d; default X).

    Builds the full (n, m) float64 matrix, so memory grows as n * m: for large sets use
    :func:`knn`, :func:`kth_radii` or :func:`ball_membership`, which never store it.
    """
    backend = resolve_device(device, X, Y, names=("X", "Y"))
    A, B = _inputs(X, Y, ("X", "Y"), _on_device(backend))
    return backend.pairwise_distances(A, A if B is None else B)


def knn(
    X: Any,
    Y: Any = None,
    k: int = 1,
    *,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest rows of Y for every row of X, sorted by (distance, index).

    With ``Y=None`` the neighbours are searched in X itself, each row excluded by position
    (a duplicate at another row is a neighbour at distance 0); needs k < n. Otherwise k <= m.

    Returns:
        (dist float64 (n, k), idx int64 (n, k)).
    """
    if is_distributed_input(X, Y):
        return distributed().knn(
            X, Y, k, device=device, exact=exact, max_memory=max_memory,
            num_threads=num_threads, progress=progress, tile_rows=tile_rows,
        )  # fmt: skip
    ks, is_list = parse_k(k)
    if is_list:
        raise ValueError(f"k must be a single int for knn, got {k!r}")
    k = ks[0]
    opts = make_options(
        exact=exact, max_memory=max_memory, num_threads=num_threads,
        progress=progress, tile_rows=tile_rows,
    )  # fmt: skip
    backend = resolve_device(device, X, Y, names=("X", "Y"))
    if Y is None:
        A = validate_features(X, "X", min_rows=2, on_device=_on_device(backend))
        check_k_limit(k, A.shape[0], "n", "X")
        return _knn(backend, A, None, k, opts)
    A, B = validate_pair(X, Y, ("X", "Y"), min_rows=(1, 1), on_device=_on_device(backend))
    check_k_limit(k, B.shape[0], "m", "Y", inclusive=True)
    return _knn(backend, A, B, k, opts)


def kth_radii(
    X: Any,
    k: int | Sequence[int],
    *,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> np.ndarray | dict[int, np.ndarray]:
    """Distance from each row of X to its k-th nearest other row (self excluded by position).

    One neighbour search serves every k of a list.

    Returns:
        float64 (n,), or ``{k: (n,) array}`` when k is a list.
    """
    if is_distributed_input(X):
        return distributed().kth_radii(
            X, k, device=device, exact=exact, max_memory=max_memory,
            num_threads=num_threads, progress=progress, tile_rows=tile_rows,
        )  # fmt: skip
    ks, is_list = parse_k(k)
    opts = make_options(
        exact=exact, max_memory=max_memory, num_threads=num_threads,
        progress=progress, tile_rows=tile_rows,
    )  # fmt: skip
    backend = resolve_device(device, X, names=("X",))
    A = validate_features(X, "X", min_rows=2, on_device=_on_device(backend))
    for v in ks:
        check_k_limit(v, A.shape[0], "n", "X")
    dist, _ = _knn(backend, A, None, max(ks), opts)
    radii = {v: np.ascontiguousarray(dist[:, v - 1]) for v in ks}
    return radii if is_list else radii[ks[0]]


def ball_membership(
    points: Any,
    centres: Any,
    radii: Any,
    *,
    boundary: str = "inclusive",
    realism: bool = False,
    realism_eps: float | None = None,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, np.ndarray]:
    """Which balls (centre row c, radius ``radii[c]``) contain which points.

    ``radii`` has shape (n_centres,) or (n_centres, K) for K sets of balls at once; the
    ball outputs then get a trailing K axis. ``boundary="inclusive"`` means d <= radius,
    ``"strict"`` d < radius.

    Returns:
        per point (n_points, [K]): ``"count"`` (int64, balls containing it), ``"any"`` (bool),
        ``"min_radius"`` (smallest containing radius, +inf if none), ``"nearest_centre"``
        (int64) and ``"nearest_centre_distance"`` (float64); per centre (n_centres, [K]):
        ``"any_point"`` (bool), ``"point_count"`` (int64, points inside the ball),
        ``"nearest_point"`` and ``"nearest_point_distance"``.
        ``realism=True`` adds per point (n_points, [K]) ``"realism"``: the largest
        radius / distance over all balls (float64; distance 0 gives +inf for a positive
        radius and 1 for a zero radius, so realism >= 1 exactly when some ball holds the
        point inclusively), and ``"realism_centre"`` (int64, the maximising centre, lowest
        index on ties). ``realism_eps`` (a float >= 0) switches the ratio to the squared form
        radius^2 / (distance^2 + eps) of the improved-P&R code (with eps > 0 a zero radius
        gives 0; with eps = 0 a zero denominator gives +inf, or 1 for a zero radius).
    """
    if is_distributed_input(points, centres):
        return distributed().ball_membership(
            points, centres, radii, boundary=boundary, realism=realism,
            realism_eps=realism_eps, device=device, exact=exact, max_memory=max_memory,
            num_threads=num_threads, progress=progress, tile_rows=tile_rows,
        )  # fmt: skip
    strict = parse_boundary(boundary)
    opts = make_options(
        exact=exact, max_memory=max_memory, num_threads=num_threads,
        progress=progress, tile_rows=tile_rows,
    )  # fmt: skip
    backend = resolve_device(device, points, centres, names=("points", "centres"))
    P, C = validate_pair(
        points, centres, ("points", "centres"), min_rows=(1, 1), on_device=_on_device(backend)
    )
    r = validate_radii(radii, C.shape[0])
    r2 = r.reshape(r.shape[0], -1)
    description = "ball membership"
    check_realism_eps(realism_eps)
    extra = {"realism_radii": r2, "realism_eps": realism_eps} if realism else {}
    with _progress.phase(opts.progress, description) as callback:
        cross = backend.cross_pass(
            C, P, r2, None, strict, 1, 1,
            replace(opts, progress=callback, description=description), **extra,
        )  # fmt: skip
    return membership_output(cross, r, realism)


def membership_output(cross: Any, r: np.ndarray, realism: bool) -> dict[str, np.ndarray]:
    """:func:`ball_membership`'s dict from a cross pass with A = centres, B = points
    (``r``: the validated radii, (n_centres,) or (n_centres, K))."""

    def ball_shape(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a if r.ndim == 2 else a[:, 0])

    count = ball_shape(cross["b_count"])
    ratios = {}
    if realism:
        ratios = {
            "realism": ball_shape(cross["b_realism"]),
            "realism_centre": ball_shape(cross["b_realism_idx"]),
        }
    return {
        **ratios,
        "count": count,
        "any": count > 0,
        "min_radius": ball_shape(cross["b_min_radius"]),
        "nearest_centre": np.ascontiguousarray(cross["b_knn_idx"][:, 0]),
        "nearest_centre_distance": np.ascontiguousarray(cross["b_knn_dist"][:, 0]),
        "any_point": ball_shape(cross["a_covered"]),
        "point_count": ball_shape(cross["a_ball_count"]),
        "nearest_point": np.ascontiguousarray(cross["a_knn_idx"][:, 0]),
        "nearest_point_distance": np.ascontiguousarray(cross["a_knn_dist"][:, 0]),
    }
