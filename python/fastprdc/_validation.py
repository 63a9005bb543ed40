"""Input rules shared by every public entry point (docs/metrics.md section 9).

Arrays come back 2-D, C-contiguous and float32 or float64, converted without loss: float16,
float32, bfloat16-like and small integer dtypes become float32; float64 stays float64; wider
integers become float32 when every value is within 2^24, float64 when every value is exactly
representable there (every integer below 2^53), and are refused otherwise; wider floats
(longdouble) become float64 only when that is exact. When one set of a pair is float64 both
become float64. A copy is made only when the layout or dtype requires one, and inputs are never
modified. Any finite value is accepted as long as distances stay within float64's range.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._arrays import CUDA, DeviceMatrix, device_matrix, location, to_host

__all__ = [
    "check_bool",
    "check_k_limit",
    "check_realism_eps",
    "check_values",
    "parse_boundary",
    "parse_k",
    "validate_features",
    "validate_pair",
    "validate_radii",
]

_BOUNDARIES = {"inclusive": False, "strict": True}


def _as_array(x: Any, name: str) -> np.ndarray:
    """View ``x`` as a 2-D numpy array of a real dtype (no copy when already one)."""
    if isinstance(x, np.ma.MaskedArray) and np.ma.getmaskarray(x).any():
        raise ValueError(
            f"{name} is a masked array with masked entries; fastprdc never drops values "
            "silently: pass the rows you mean (e.g. x[~x.mask.any(axis=1)].data) or x.filled(v)"
        )
    if getattr(x, "requires_grad", False) and callable(getattr(x, "detach", None)):
        x = x.detach()  # a torch tensor in an autograd graph: its values, without a copy
    if str(getattr(x, "dtype", "")) == "torch.bfloat16":
        x = x.float()  # numpy has no bfloat16; float32 holds every value exactly
    try:
        a = np.asarray(x)
    except Exception as exc:
        raise ValueError(f"{name} could not be converted to a numpy array: {exc}") from exc
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {a.shape}")
    kind = a.dtype.kind
    if kind in "biuf":
        return a
    if kind == "V" and a.dtype.names is None:  # bfloat16-like
        return a.astype(np.float32)
    if kind == "O":
        return _from_objects(a, name)
    raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")


def _from_objects(a: np.ndarray, name: str) -> np.ndarray:
    """float64 values of an object array (Python ints, floats, Fractions...), refused when a
    finite one would be rounded (Python compares numbers of different types exactly)."""
    try:
        with np.errstate(over="ignore"):
            out = a.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}: {exc}") from exc
    finite = np.isfinite(out)
    if not (out[finite].astype(object) == a[finite]).all():
        raise ValueError(
            f"{name} holds numbers that float64 cannot represent exactly; fastprdc never "
            "rounds inputs silently: convert them yourself if rounding is acceptable"
        )
    return out


_F32_INT_LIMIT = 2**24  # every integer up to 2^24 is exact in float32
_F64_INT_LIMIT = 2**53  # ... up to 2^53 in float64


def _exact_integers(values: np.ndarray) -> bool:
    """Whether every integer of ``values`` survives a round trip through float64."""
    return all(int(float(v)) == int(v) for v in values.tolist())


def _target_dtype(a: np.ndarray, name: str) -> type:
    """float32 or float64: the narrowest float dtype holding every value of ``a`` exactly."""
    kind, size = a.dtype.kind, a.dtype.itemsize
    if kind == "f":
        if size <= 4:
            return np.float32
        if size == 8:
            return np.float64
        wide = a[np.isfinite(a)]
        with np.errstate(over="ignore"):  # beyond float64's range: refused just below
            narrowed = wide.astype(np.float64)
        if (narrowed.astype(a.dtype) != wide).any():
            raise ValueError(
                f"{name} has dtype {a.dtype} with values that float64 cannot hold exactly; "
                "convert them yourself if rounding to float64 is acceptable"
            )
        return np.float64
    if kind == "V":  # bfloat16-like: a subset of float32
        return np.float32
    if kind == "b" or size <= 2:
        return np.float32
    if a.size == 0:
        return np.float32
    lo, hi = int(a.min()), int(a.max())
    top = max(abs(lo), abs(hi))
    if top <= _F32_INT_LIMIT:
        return np.float32
    if top > _F64_INT_LIMIT:
        # |v| > 2^53 converts to a float >= 2^53: check those values' round trip, row by row
        beyond = np.abs(a.astype(np.float64)) >= float(_F64_INT_LIMIT)
        for row in np.nonzero(beyond.any(axis=1))[0]:
            if not _exact_integers(a[row][beyond[row]]):
                raise ValueError(
                    f"{name} has integers above 2^53 that float64 cannot hold exactly "
                    f"(first bad row: {int(row)}); fastprdc never rounds inputs silently"
                )
    return np.float64


def validate_vector(x: Any, name: str) -> np.ndarray:
    """A float64 copy of the 1-D array ``x`` (a centre given by the caller), held by the same
    rules as features: real numbers only, none that float64 would round, all finite."""
    try:
        a = np.asarray(x)
    except Exception as exc:
        raise ValueError(f"{name} could not be converted to a numpy array: {exc}") from exc
    if a.ndim != 1 or a.shape[0] == 0:
        raise ValueError(f"{name} must be a 1-D array of real numbers, got shape {a.shape}")
    row = _as_array(a.reshape(1, -1), name)
    _target_dtype(row, name)  # refuses what float64 cannot hold exactly
    with np.errstate(over="ignore"):
        out = np.array(row[0], dtype=np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f"{name} contains NaN or inf")
    return out


def _check_shape(a: np.ndarray, name: str, min_rows: int) -> None:
    n, d = a.shape
    if n == 0 or d == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if n < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {n}")


def _finalize(a: np.ndarray, dtype: type, name: str) -> np.ndarray:
    """Cast to ``dtype`` (exact, see the module doc), C-contiguous; finite values only."""
    if a.dtype.kind == "V":
        a = a.astype(np.float32)
    out = np.ascontiguousarray(a, dtype=dtype)
    if a.dtype.kind == "f" or a.dtype.kind == "V":
        check_values(out, name)
    return out


def max_magnitude(dim: int) -> float:
    """Largest |value| accepted for width ``dim``: every distance (at most 2 sqrt(dim) times it)
    stays finite in float64."""
    return float(np.finfo(np.float64).max) / (2.0 * np.sqrt(float(dim))) * (1.0 - 2.0**-40)


def check_values(a: np.ndarray, name: str) -> None:
    """ValueError naming ``name`` and its first bad row when a value of the 2-D float array
    ``a`` is NaN, infinite or beyond ``max_magnitude`` of its width."""
    # min/max propagate NaN and need no temporary: a fast test before locating the row.
    hi, lo = a.max(), a.min()
    if np.isfinite(hi) and np.isfinite(lo):
        limit = max_magnitude(a.shape[1])
        if max(abs(float(hi)), abs(float(lo))) > limit:
            big = np.abs(a) > limit
            row = int(np.argmax(big.any(axis=1)))
            raise ValueError(
                f"{name} has values too large for finite distances (first bad row: {row}, "
                f"|value| > {limit:.4g} for width {a.shape[1]}): distances would exceed "
                "float64's range; rescale the features"
            )
        return
    step = max(1, (1 << 20) // a.shape[1])
    for r0 in range(0, a.shape[0], step):
        ok = np.isfinite(a[r0 : r0 + step]).all(axis=1)
        if not ok.all():
            row = r0 + int(np.argmin(ok))
            raise ValueError(f"{name} contains NaN or inf (first bad row: {row})")


def _device_input(x: Any, name: str, min_rows: int, on_device: bool) -> DeviceMatrix | None:
    """A GPU-resident input: described without a copy when the backend runs on the GPU (its
    values are checked there), else None (it is then copied to the host and validated there)."""
    if location(x) != CUDA or not on_device:
        return None
    d = device_matrix(x, name)
    if d.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {d.shape[0]}")
    return d


def validate_features(
    x: Any, name: str, *, min_rows: int = 1, on_device: bool = False
) -> np.ndarray | DeviceMatrix:
    """One feature set: 2-D, non-empty, finite; returned float32 or float64, C-contiguous.

    ``on_device``: the backend runs on the GPU, so GPU-resident inputs stay there (a
    :class:`~fastprdc._arrays.DeviceMatrix`); otherwise they are copied to the host."""
    d = _device_input(x, name, min_rows, on_device)
    if d is not None:
        return d
    a = _as_array(to_host(x), name)
    _check_shape(a, name, min_rows)
    return _finalize(a, _target_dtype(a, name), name)


def validate_pair(
    x: Any,
    y: Any,
    names: tuple[str, str] = ("real", "fake"),
    *,
    min_rows: tuple[int, int] = (2, 2),
    on_device: bool = False,
) -> tuple[Any, Any]:
    """Two feature sets of equal width, returned in one common dtype (see module doc).

    With ``on_device`` (a GPU backend), GPU-resident inputs stay on the GPU: checked there, each
    in its own float dtype (the oracle mixes float32 and float64 exactly)."""
    da = _device_input(x, names[0], min_rows[0], on_device)
    db = _device_input(y, names[1], min_rows[1], on_device)
    if da is not None or db is not None:
        a_any = da if da is not None else validate_features(x, names[0], min_rows=min_rows[0])
        b_any = db if db is not None else validate_features(y, names[1], min_rows=min_rows[1])
        if a_any.shape[1] != b_any.shape[1]:
            raise ValueError(
                f"{names[0]} and {names[1]} have different widths: "
                f"{a_any.shape[1]} vs {b_any.shape[1]}"
            )
        return a_any, b_any
    a = _as_array(to_host(x), names[0])
    b = _as_array(to_host(y), names[1])
    _check_shape(a, names[0], min_rows[0])
    _check_shape(b, names[1], min_rows[1])
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} have different widths: {a.shape[1]} vs {b.shape[1]}"
        )
    dtypes = {_target_dtype(a, names[0]), _target_dtype(b, names[1])}
    dtype = np.float64 if np.float64 in dtypes else np.float32
    return _finalize(a, dtype, names[0]), _finalize(b, dtype, names[1])


def parse_boundary(boundary: str) -> bool:
    """``"inclusive"`` (d <= r) -> False, ``"strict"`` (d < r) -> True."""
    if not isinstance(boundary, str) or boundary not in _BOUNDARIES:
        raise ValueError(f"boundary must be 'inclusive' or 'strict', got {boundary!r}")
    return _BOUNDARIES[boundary]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool; TypeError for anything but a bool (a string like "no" is not)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def parse_k(k: Any, name: str = "k", *, single: bool = False) -> tuple[list[int], bool]:
    """A positive int or (unless ``single``) a non-empty list of them -> (distinct ks in
    given order, is_list)."""
    if isinstance(k, np.ndarray) and k.ndim == 0:
        k = k.item()
    if _is_int(k):
        ks, is_list = [int(k)], False
    elif single:
        raise ValueError(f"{name} must be a positive int, got {k!r}")
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


def check_realism_eps(realism_eps: float | None) -> None:
    """ValueError unless ``realism_eps`` is None or a finite number >= 0."""
    if realism_eps is not None and not (np.isfinite(realism_eps) and realism_eps >= 0):
        raise ValueError(f"realism_eps must be a finite number >= 0, got {realism_eps!r}")


def validate_radii(radii: Any, n_centres: int) -> np.ndarray:
    """Ball radii: shape (n_centres,) or (n_centres, K), finite, >= 0; returned float64 (a
    copy, -0.0 as 0.0: every backend then sees one zero, whose bit pattern orders as its value)."""
    r = np.asarray(radii)
    if r.dtype.kind not in "biuf":
        raise ValueError(f"radii must hold real numbers, got dtype {r.dtype}")
    if r.ndim not in (1, 2) or r.shape[0] != n_centres:
        raise ValueError(f"radii must have shape ({n_centres},) or ({n_centres}, K), got {r.shape}")
    r = np.ascontiguousarray(r, dtype=np.float64)
    if not np.isfinite(r).all() or (r < 0).any():
        raise ValueError("radii must be finite and >= 0")
    return r + 0.0
