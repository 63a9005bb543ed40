"""Small helpers shared by the compat modules (no torch, no upstream imports).

- :func:`to_numpy`: torch tensors (any device) and array-likes to numpy, without copying
  numpy input; :func:`tensor_to_float_array`: a tensor cast to float32 unless it is
  float32/float64, kept on the GPU when it is a CUDA tensor and a GPU backend is usable (the
  compat call then follows the input's device), else as numpy; anything else unchanged.
- :func:`sklearn_dtype`: the dtype scikit-learn's ``pairwise_distances`` returns (float32
  only when both inputs are float32), which several upstreams' arrays inherit.
- :func:`float32_mean`: the value of a torch float32 ``mean()`` of a 0/1 vector.
- :func:`row_norms` / :func:`nearest_real_and_synthetic`: the centre distances and the two
  neighbour searches of the alpha-precision codes (official and synthcity).
- :func:`largest_preimage` / :func:`round_down`: thresholds that turn a comparison made
  on rounded values (float16 / float32) into an exact comparison on float64 distances;
  :func:`float32_distance` / :func:`float32_distance_limit`: the same for scikit-learn's
  float32 euclidean distances.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "float32_distance",
    "float32_distance_limit",
    "float32_mean",
    "largest_preimage",
    "nearest_real_and_synthetic",
    "round_down",
    "row_norms",
    "sklearn_dtype",
    "tensor_to_float_array",
    "to_numpy",
]


def to_numpy(x: Any) -> np.ndarray:
    """A numpy view of ``x``: torch tensors go through ``.detach().cpu().numpy()``."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def tensor_to_float_array(x: Any) -> Any:
    """A torch tensor as a float32/float64 array (float32 unless it is float32/float64) where
    fastprdc computes: a CUDA tensor stays on the GPU (contiguous, no copy when it already is)
    when a GPU backend is usable, so the compat call runs there as the upstream would; anything
    else becomes a host numpy array. Non-tensors are unchanged (fastprdc validates them)."""
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):
        t = x.detach()
        if str(t.dtype) not in ("torch.float32", "torch.float64"):
            t = t.float()
        if getattr(t, "is_cuda", False) and _gpu_backend_usable():
            return t.contiguous()
        return t.cpu().numpy()
    return x


def _gpu_backend_usable() -> bool:
    from .._backends import GPU_BACKENDS, available_backends

    reasons = available_backends()
    return any(reasons[name] is None for name in GPU_BACKENDS)


def sklearn_dtype(x: np.ndarray, y: np.ndarray | None = None) -> type:
    """float32 when ``x`` (and ``y``) are float32, else float64 (sklearn's rule)."""
    if x.dtype == np.float32 and (y is None or y.dtype == np.float32):
        return np.float32
    return np.float64


def float32_mean(count: int, n: int) -> float:
    """``float(torch_bool_vector.float().mean())``: the float32 nearest to count / n.

    Exact (bit for bit) while n < 2**24, where both integers are float32 values and IEEE
    division is correctly rounded.
    """
    return float(np.float32(count) / np.float32(n))


def round_down(r: np.ndarray, dtype: type) -> np.ndarray:
    """The largest ``dtype`` value <= each float64 ``r`` (returned as float64)."""
    r = np.asarray(r, dtype=np.float64)
    u = r.astype(dtype)
    above = u.astype(np.float64) > r
    u[above] = np.nextafter(u[above], dtype(-np.inf))
    return u.astype(np.float64)


def largest_preimage(u: np.ndarray, dtype: type) -> np.ndarray:
    """For values ``u >= 0`` representable in ``dtype`` (float16 or float32): the largest
    float64 t that rounds (to nearest, ties to even) to ``u`` in ``dtype``.

    So for a float64 distance d: ``d <= t`` exactly when ``dtype(d) <= u``. The midpoint m
    between u and the next ``dtype`` value up is exact in float64; it rounds to u when u's
    last mantissa bit is even, so t = m then, and the float64 just below m otherwise.
    """
    dtype = np.dtype(dtype).type
    uint = {np.float16: np.uint16, np.float32: np.uint32}[dtype]
    u_t = np.asarray(u, dtype=np.float64).astype(dtype)
    if np.any(u_t < 0) or not np.all(np.isfinite(u_t)):
        raise ValueError("largest_preimage needs finite values >= 0")
    with np.errstate(over="ignore"):
        up = np.nextafter(u_t, dtype(np.inf)).astype(np.float64)
    top = ~np.isfinite(up)  # u is the largest finite value: its ulp is u - previous
    if np.any(top):
        prev = np.nextafter(u_t[top], dtype(0)).astype(np.float64)
        up[top] = 2 * u_t[top].astype(np.float64) - prev
    u64 = u_t.astype(np.float64)
    m = (u64 + up) / 2  # exact: both have at most 24 significant bits
    even = (u_t.view(uint) & 1) == 0
    return np.where(even, m, np.nextafter(m, 0.0))


def float32_distance(d: np.ndarray) -> np.ndarray:
    """scikit-learn's float32 euclidean distance for an exact distance ``d`` (float64):
    ``sqrt`` in float32 of the float32-rounded square, as ``pairwise_distances`` and a brute
    ``NearestNeighbors`` search return it for float32 input (returned as float64)."""
    with np.errstate(over="ignore"):
        square = np.square(np.asarray(d, dtype=np.float64)).astype(np.float32)
    return np.sqrt(square).astype(np.float64)


def float32_distance_limit(t: np.ndarray) -> np.ndarray:
    """For ``t >= 0`` (float64): the largest float64 x with ``float32_distance(x) <= t``, so
    that the exact test ``d <= x`` decides what scikit-learn's float32 test decides (``t =
    +inf``, a radius whose float32 square overflows: every finite d passes).

    float32_distance is non-decreasing: the limit is derived through each rounding (to
    float32, sqrt, square) and its last float64 ulps are then settled against the function.
    """
    t = np.asarray(t, dtype=np.float64)
    infinite = np.isinf(t)
    t = np.where(infinite, np.finfo(np.float32).max, t)  # any finite value, replaced below
    with np.errstate(over="ignore"):  # t or root^2 beyond float32: the largest float32
        root = largest_preimage(round_down(t, np.float32), np.float32)  # sqrt32(s) <= t
        square = round_down(root * root, np.float32)  # the largest float32 square passing
    x = np.sqrt(largest_preimage(square, np.float32))
    for _ in range(64):
        up = np.nextafter(x, np.inf)
        step_up = float32_distance(up) <= t
        step_down = float32_distance(x) > t
        if not (step_up.any() or step_down.any()):
            break
        x = np.where(step_up, up, np.where(step_down, np.nextafter(x, 0.0), x))
    return np.where(infinite, np.finfo(np.float64).max, x)


def row_norms(x: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``sqrt(sum((x - centre)^2))`` per row, in the dtype numpy gives (as the upstreams)."""
    return np.sqrt(np.sum((x - centre) ** 2, axis=1))


def nearest_real_and_synthetic(
    real: np.ndarray, synth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The neighbour searches of the alpha-precision codes, exact, lowest index on ties: per
    real row, the distance to its nearest other real row, and its nearest synthetic row's
    distance and index."""
    from ..primitives import knn, kth_radii

    dist, idx = knn(real, synth, 1)
    return kth_radii(real, 1), dist[:, 0], idx[:, 0]
