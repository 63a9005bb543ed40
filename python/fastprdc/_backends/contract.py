"""The backend contract: what every backend (numpy, cpu, cuda, cupy, ...) computes and returns.

Inputs are validated before they reach a backend (``fastprdc._validation``): 2-D, C-contiguous,
float32 or float64, finite. Every distance, neighbour and membership decision equals the float64
oracle (docs/metrics.md section 10), so all backends return the same values bit for bit; only
``n_rechecked`` (how many float64 evaluations the fast path needed) differs. Derived flags
(``a_covered``, ``b_covered``) are computed here, once, above the backends.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, NamedTuple, Protocol

import numpy as np

from .._means import float64_mean
from .._options import RunOptions

__all__ = ["Backend", "CrossResult", "HostArrays", "KnnResult"]


class KnnResult(NamedTuple):
    """k nearest neighbours per query row, sorted by (distance, index)."""

    dist: np.ndarray  # (n, k) float64 oracle distances
    idx: np.ndarray  # (n, k) int64
    n_rechecked: int


@dataclass
class CrossResult:
    """One fused cross pass A x B (balls centred on A with ``ka`` radius columns and on B with
    ``kb``, neighbour lists both ways, realism on balls centred on A with ``kr`` columns).

    Per B row: ``b_count`` / ``b_min_radius`` (M, ka): A-balls holding it and the smallest such
    radius (+inf if none); ``b_ball_count`` (M, kb): A points inside its ball; ``b_knn_dist`` /
    ``b_knn_idx`` (M, knn_b): nearest A rows; ``b_realism`` / ``b_realism_idx`` (M, kr): the
    largest radius / distance ratio over the kept A-balls and its centre (lowest index on ties;
    NaN / -1 when no ball is kept). Per A row: ``a_ball_count`` (N, ka), ``a_count`` /
    ``a_min_radius`` (N, kb), ``a_knn_dist`` / ``a_knn_idx`` (N, knn_a). Counts are int64.
    Fields can also be read as ``result["b_count"]``.
    """

    b_count: np.ndarray
    b_min_radius: np.ndarray
    a_ball_count: np.ndarray
    a_count: np.ndarray
    a_min_radius: np.ndarray
    b_ball_count: np.ndarray
    a_knn_dist: np.ndarray
    a_knn_idx: np.ndarray
    b_knn_dist: np.ndarray
    b_knn_idx: np.ndarray
    b_realism: np.ndarray
    b_realism_idx: np.ndarray
    n_rechecked: int = 0

    @classmethod
    def from_mapping(cls, m: Any) -> CrossResult:
        """From a mapping holding every field (extra keys are ignored)."""
        return cls(**{f.name: m[f.name] for f in fields(cls)})

    @property
    def a_covered(self) -> np.ndarray:
        """(N, ka) bool: the A-ball holds at least one B point."""
        return self.a_ball_count > 0

    @property
    def b_covered(self) -> np.ndarray:
        """(M, kb) bool: the B-ball holds at least one A point."""
        return self.b_ball_count > 0

    def keys(self) -> tuple[str, ...]:
        return (*self.__dataclass_fields__, "a_covered", "b_covered")

    def __contains__(self, name: object) -> bool:
        return name in self.keys()

    def __getitem__(self, name: str) -> Any:
        if name in self:
            return getattr(self, name)
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default


class Backend(Protocol):
    """What every backend provides. ``name`` is its registry key; ``location`` is where it wants
    its inputs ("host": numpy arrays; "cuda": GPU-resident inputs stay on the GPU)."""

    name: str
    location: str

    def pairwise_distances(
        self, X: np.ndarray, Y: np.ndarray, opts: RunOptions | None = None
    ) -> np.ndarray:
        """Oracle distances (n, m) float64; X and Y may mix float32 and float64."""
        ...

    def knn(self, X: np.ndarray, Y: np.ndarray | None, k: int, opts: RunOptions) -> KnnResult:
        """k nearest rows of Y for every row of X (of X itself, self excluded by position, when
        Y is None)."""
        ...

    def cross_pass(
        self,
        A: np.ndarray,
        B: np.ndarray,
        radii_a: np.ndarray | None,
        radii_b: np.ndarray | None,
        strict: bool,
        knn_a: int,
        knn_b: int,
        opts: RunOptions,
        realism_radii: np.ndarray | None = None,
        realism_eps: float | None = None,
    ) -> CrossResult:
        """The fused cross pass (see :class:`CrossResult`); ``realism_radii`` (N, kr), negative =
        pruned; ``realism_eps`` None for r / d, a float >= 0 for r^2 / (d^2 + eps)."""
        ...

    def column_mean(self, X: np.ndarray) -> np.ndarray:
        """The float64 mean of the rows, bit-identical to ``fastprdc._means.float64_mean``."""
        ...

    def take_rows(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` of X, in the backend's memory."""
        ...


class HostArrays:
    """``column_mean`` and ``take_rows`` for the backends that work on host (numpy) arrays."""

    def column_mean(self, X: np.ndarray) -> np.ndarray:
        return float64_mean(X)

    def take_rows(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(X[rows])
