"""Means that never overflow needlessly: the one definition of "the float64 mean" used by the
engine (alpha-precision's centres), the metric summaries and every backend."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["float64_mean"]


def float64_mean(X: np.ndarray) -> np.ndarray:
    """The float64 mean along axis 0 (of the rows of a matrix: numpy's sequential sum over rows,
    then / n; of a vector: numpy's pairwise sum). When the sum could overflow, the values are
    scaled by 2^-s (s = bit length of n) first and the mean scaled back: exact scaling, so for
    data in the usual range this is ``np.mean(X, axis=0)``. Infinite values give +-inf."""
    n = X.shape[0]
    # max and min need no temporary (a memory-mapped X is not copied); an infinite value makes the
    # mean infinite whatever the scaling
    top = max(abs(float(np.max(X))), abs(float(np.min(X)))) if X.size else 0.0
    if not math.isfinite(top) or top * n < 2.0**1020:
        return np.mean(X, axis=0, dtype=np.float64)
    s = n.bit_length()
    return np.mean(np.asarray(X, dtype=np.float64) * 2.0**-s, axis=0) * 2.0**s
