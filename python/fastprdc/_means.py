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
    """The float64 mean along axis 0. Of the rows of a C-ordered matrix: their running sum in
    row order, then / n, for every width and on every backend (numpy's axis-0 reduction does
    this for width > 1; a single column, which numpy would sum pairwise, goes through cumsum).
    Of a vector: numpy's pairwise sum. When the sum could overflow, the values are scaled by
    2^-s (s = bit length of n) first and the mean scaled back (exact). Infinite values give
    +-inf."""
    n = X.shape[0]
    s = mean_shift(max_abs(X), n)
    Y = np.asarray(X, dtype=np.float64) * 2.0**-s if s else X
    if Y.ndim == 2 and Y.shape[1] == 1 and n:
        mean = np.cumsum(Y[:, 0], dtype=np.float64)[-1:] / n
    else:
        mean = np.mean(Y, axis=0, dtype=np.float64)
    return mean * 2.0**s if s else mean
