"""Drop-in for the Rarity Score code (hichoe95/Rarity-Score, Han et al. 2023).

:class:`MANIFOLD` reproduces ``src/rarity_score.py``'s class: the constructor's two
prints (typo included), ``is_in_ball(k, samples)`` returning
``(dist_radi, r, out_ball_ids)`` and ``rarity(k, samples)`` returning
``(scores, scores_ids)``, with upstream's conventions:

- r = the k-th radius of each real row, self excluded by position (upstream takes
  position k of the sorted row, self included), float64;
- a sample is in ball i when ``r_i - d > 0``: the **strict** boundary (a zero radius
  holds nothing);
- ``scores[j]`` = the smallest radius among the balls holding sample j, **0** for a sample
  in no ball; ``scores_ids = (-scores).argsort()[:M - n_out]`` (numpy's default sort, as
  upstream), i.e. the in-ball samples by decreasing rarity.

Differences, by design: distances are exact (upstream uses a float64 norm expansion and
prints a WARNING when it clamps negative squares; compat never does); the N x N real-real
matrices are not built (the ``real2real_*`` attributes are computed on first access);
``rarity`` never builds the N x M matrix, and ``is_in_ball`` builds its ``dist_radi``
(N, M) only because its API returns it (``return_matrix=False`` returns None instead).
``metric`` other than ``"euclidian"`` and ``cluster=True`` raise NotImplementedError.
``device`` is kept and not used (fastprdc picks its backend).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import to_numpy

__all__ = ["MANIFOLD"]


class MANIFOLD:
    """Real-ball manifold for rarity scores (the Rarity Score code's ``MANIFOLD``)."""

    def __init__(
        self, real_features: Any, fake_features: Any, metric: str = "euclidian", device: str = "cpu"
    ) -> None:
        if metric != "euclidian":
            raise NotImplementedError(
                f"metric={metric!r}: only upstream's 'euclidian' metric is reproduced"
            )
        self.metric = metric
        self.device = device
        self.real_features = real_features
        self.fake_features = fake_features
        self.num_reals = real_features.shape[0]
        self.num_fakes = fake_features.shape[0]
        print("Pre-processing pairwise diatances ...")
        self._real = self._float64(real_features, "real_features")
        self._radii: dict[int, np.ndarray] = {}
        self.num_cluster = 0
        self.modes = None
        self.sample_mode_ids = None
        print("Initialization is DONE !")

    @staticmethod
    def _float64(x: Any, name: str) -> np.ndarray:
        a = np.asarray(to_numpy(x), dtype=np.float64)  # upstream computes in float64
        if a.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array, got shape {a.shape}")
        return np.ascontiguousarray(a)

    def _kth(self, k: int) -> np.ndarray:
        """r_k of every real row (position k of the sorted row, self included), cached."""
        from .. import primitives

        n = self._real.shape[0]
        k = int(k)
        if not -n <= k < n:
            raise IndexError(f"index {k} is out of bounds for axis 1 with size {n}")
        k %= n
        if k not in self._radii:
            if k == 0:
                self._radii[k] = np.zeros(n)
            else:
                radii = primitives.kth_radii(self._real, k)
                assert isinstance(radii, np.ndarray)
                self._radii[k] = radii
        return self._radii[k]

    def _samples(self, samples: Any) -> np.ndarray:
        if samples is None:
            raise ValueError("samples is required")
        s = self._float64(samples, "samples")
        if s.shape[1] != self._real.shape[1]:
            raise ValueError(
                f"samples and real_features have different widths: "
                f"{s.shape[1]} vs {self._real.shape[1]}"
            )
        return s

    def _membership(self, k: int, s: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        from .. import primitives

        r = self._kth(k)
        bm = primitives.ball_membership(s, self._real, r, boundary="strict")
        return r, bm

    def is_in_ball(
        self, k: int = 3, samples: Any = None, cluster: bool = False, *, return_matrix: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """Which samples lie strictly inside some real k-NN ball.

        Returns:
            ``dist_radi`` float64 (N, M) = r_i - d(real_i, sample_j) (None with
            ``return_matrix=False``; building it takes 8 N M bytes), ``r`` float64 (N,) and
            ``out_ball_ids`` int64, ascending: samples in no ball (no positive entry).
        """
        if cluster:
            raise NotImplementedError("cluster=True needs upstream's clustering code")
        s = self._samples(samples)
        r, bm = self._membership(k, s)
        out_ball_ids = np.flatnonzero(~bm["any"])
        dist_radi = None
        if return_matrix:
            from .. import primitives

            dist_radi = r[:, None] - primitives.pairwise_distances(self._real, s)
        return dist_radi, r, out_ball_ids

    def rarity(self, k: int = 3, samples: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Rarity score of every sample (default: the fake features).

        Returns:
            ``scores`` float64 (M,): the smallest radius of a real ball strictly holding
            the sample, 0 if none; ``scores_ids`` int64: the in-ball samples sorted by
            decreasing score (``(-scores).argsort()`` cut to their number).
        """
        s = self._samples(self.fake_features if samples is None else samples)
        _, bm = self._membership(k, s)
        scores = np.where(bm["any"], bm["min_radius"], 0.0)
        num_out_ball = int((~bm["any"]).sum())
        scores_ids = (-scores).argsort()[: s.shape[0] - num_out_ball]
        return scores, scores_ids

    # Upstream's N x N attributes, built only when asked for (N^2 memory each).
    @property
    def real2real_distances(self) -> np.ndarray:
        """(N, N) float64 real-real distances (upstream: a torch tensor)."""
        from .. import primitives

        return primitives.pairwise_distances(self._real)

    @property
    def real2real_sorted(self) -> np.ndarray:
        """(N, N) float64: every row of :attr:`real2real_distances` sorted ascending."""
        return np.sort(self.real2real_distances, axis=1)

    @property
    def real2real_sorted_ids(self) -> np.ndarray:
        """(N, N) int64: the argsort of every row of :attr:`real2real_distances`."""
        return self.real2real_distances.argsort(axis=1)
