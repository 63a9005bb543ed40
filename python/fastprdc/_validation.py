"""Input rules shared by every public entry point (docs/metrics.md section 9).

Arrays come back 2-D, C-contiguous and float32 or float64 (float64 stays float64, any other
real dtype is cast to float32; when one set is float64 both become float64). A copy is made
only when the layout or dtype requires one, and inputs are never modified.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_k_limit",
    "parse_boundary",
    "parse_k",
    "validate_features",
    "validate_pair",
    "validate_radii",
]

_BOUNDARIES = {"inclusive": False, "strict": True}


def _as_array(x: Any, name: str) -> np.ndarray:
    """View ``x`` as a 2-D numpy array of a real dtype (no copy when already one)."""
    try:
        a = np.asarray(x)
    except Exception as exc:
        raise ValueError(f"{name} could not be converted to a numpy array: {exc}") from exc
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {a.shape}")
    kind = a.dtype.kind
    if kind in "biuf":
        return a
    if kind == "O" or (kind == "V" and a.dtype.names is None):  # objects, bfloat16-like
        try:
            return a.astype(np.float64 if kind == "O" else np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}") from exc
    raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")


def _is_float64(a: np.ndarray) -> bool:
    """float64 and wider floats are kept in float64; every other dtype goes to float32."""
    return a.dtype.kind == "f" and a.dtype.itemsize >= 8


def _check_shape(a: np.ndarray, name: str, min_rows: int) -> None:
    n, d = a.shape
    if n == 0 or d == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if n < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {n}")


def _finalize(a: np.ndarray, dtype: type, name: str) -> np.ndarray:
    """Cast to ``dtype`` (non-float64 inputs pass through float32 first), C-contiguous."""
    if dtype is np.float64 and not _is_float64(a) and a.dtype != np.float32:
        a = a.astype(np.float32)
    out = np.ascontiguousarray(a, dtype=dtype)
    if a.dtype.kind == "f" or a.dtype.kind == "V":
        _check_finite(out, name)
    return out


# Largest magnitude whose squared differences, summed over up to 2^20 dimensions, stay finite in
# float64 (the exactness oracle): 2^480 ~ 3.1e144. float32 inputs never come near it.
_MAX_MAGNITUDE = 2.0**480


def _check_finite(a: np.ndarray, name: str) -> None:
    # min/max propagate NaN and need no temporary: a fast test before locating the row.
    hi, lo = a.max(), a.min()
    if np.isfinite(hi) and np.isfinite(lo):
        if max(abs(float(hi)), abs(float(lo))) > _MAX_MAGNITUDE:
            big = np.abs(a) > _MAX_MAGNITUDE
            row = int(np.argmax(big.any(axis=1)))
            raise ValueError(
                f"{name} has values too large for exact distances (first bad row: {row}, "
                f"|value| > {_MAX_MAGNITUDE:.3g}): squared distances would overflow float64; "
                "rescale the features"
            )
        return
    step = max(1, (1 << 20) // a.shape[1])
    for r0 in range(0, a.shape[0], step):
        ok = np.isfinite(a[r0 : r0 + step]).all(axis=1)
        if not ok.all():
            row = r0 + int(np.argmin(ok))
            raise ValueError(f"{name} contains NaN or inf (first bad row: {row})")


def validate_features(x: Any, name: str, *, min_rows: int = 1) -> np.ndarray:
    """One feature set: 2-D, non-empty, finite; returned float32 or float64, C-contiguous."""
    a = _as_array(x, name)
    _check_shape(a, name, min_rows)
    return _finalize(a, np.float64 if _is_float64(a) else np.float32, name)


def validate_pair(
    x: Any,
    y: Any,
    names: tuple[str, str] = ("real", "fake"),
    *,
    min_rows: tuple[int, int] = (2, 2),
) -> tuple[np.ndarray, np.ndarray]:
    """Two feature sets of equal width, returned in one common dtype (see module doc)."""
    a = _as_array(x, names[0])
    b = _as_array(y, names[1])
    _check_shape(a, names[0], min_rows[0])
    _check_shape(b, names[1], min_rows[1])
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} have different widths: {a.shape[1]} vs {b.shape[1]}"
        )
    dtype = np.float64 if (_is_float64(a) or _is_float64(b)) else np.float32
    return _finalize(a, dtype, names[0]), _finalize(b, dtype, names[1])


def parse_boundary(boundary: str) -> bool:
    """``"inclusive"`` (d <= r) -> False, ``"strict"`` (d < r) -> True."""
    if not isinstance(boundary, str) or boundary not in _BOUNDARIES:
        raise ValueError(f"boundary must be 'inclusive' or 'strict', got {boundary!r}")
    return _BOUNDARIES[boundary]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def parse_k(k: Any, name: str = "k") -> tuple[list[int], bool]:
    """A positive int or a non-empty list of them -> (distinct ks in given order, is_list)."""
    if _is_int(k):
        ks, is_list = [int(k)], False
    elif isinstance(k, (Sequence, np.ndarray)) and not isinstance(k, (str, bytes)):
        if len(k) == 0:
            raise ValueError(f"{name} list is empty")
        bad = [v for v in k if not _is_int(v)]
        if bad:
            raise ValueError(f"{name} list must hold ints only, got {bad[0]!r}")
        ks, is_list = list(dict.fromkeys(int(v) for v in k)), True
    else:
        raise ValueError(f"{name} must be a positive int or a list of positive ints, got {k!r}")
    for v in ks:
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    return ks, is_list


def check_k_limit(k: int, n: int, symbol: str, set_name: str, *, inclusive: bool = False) -> None:
    """``k < n`` (self neighbours, ``inclusive=False``) or ``k <= n`` (neighbours in another set).

    Error: ``"k=300 is too large: needs k < N=300 (number of real samples)"``.
    """
    if k > n or (k == n and not inclusive):
        op = "<=" if inclusive else "<"
        raise ValueError(
            f"k={k} is too large: needs k {op} {symbol}={n} (number of {set_name} samples)"
        )


def validate_radii(radii: Any, n_centres: int) -> np.ndarray:
    """Ball radii: shape (n_centres,) or (n_centres, K), finite, >= 0; returned float64."""
    r = np.asarray(radii)
    if r.dtype.kind not in "biuf":
        raise ValueError(f"radii must hold real numbers, got dtype {r.dtype}")
    if r.ndim not in (1, 2) or r.shape[0] != n_centres:
        raise ValueError(f"radii must have shape ({n_centres},) or ({n_centres}, K), got {r.shape}")
    r = np.ascontiguousarray(r, dtype=np.float64)
    if not np.isfinite(r).all() or (r < 0).any():
        raise ValueError("radii must be finite and >= 0")
    return r
