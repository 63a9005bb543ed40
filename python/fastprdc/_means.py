"""Means that never overflow needlessly: the one definition of "the float64 mean" used by the
engine (alpha-precision's centres), the metric summaries and every backend."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["float64_mean", "max_abs", "mean_shift"]


def max_abs(X: np.ndarray) -> float:
    """max |x| over X, without a temporary (max and min: a memory-mapped X is not copied)."""
    return max(abs(float(np.max(X))), abs(float(np.min(X)))) if X.size else 0.0


def mean_shift(top: float, n: int) -> int:
    """The overflow guard of the mean of n rows whose largest |value| is ``top``: 0 when the
    sum cannot overflow (top * n < 2^1020, or top is infinite: the mean is then infinite
    whatever the scaling), else the bit length s of n (the rows are scaled by 2^-s first)."""
    return 0 if not math.isfinite(top) or top * n < 2.0**1020 else n.bit_length()


def float64_mean(X: np.ndarray) -> np.ndarray:
    """The float64 mean along axis 0 (of the rows of a matrix: numpy's sequential sum over rows,
    then / n; of a vector: numpy's pairwise sum). When the sum could overflow, the values are
    scaled by 2^-s (s = bit length of n) first and the mean scaled back: exact scaling, so for
    data in the usual range this is ``np.mean(X, axis=0)``. Infinite values give +-inf."""
    n = X.shape[0]
    s = mean_shift(max_abs(X), n)
    if not s:
        return np.mean(X, axis=0, dtype=np.float64)
    return np.mean(np.asarray(X, dtype=np.float64) * 2.0**-s, axis=0) * 2.0**s
