"""The JSON form of an :class:`~fastprdc.EvaluationResult`, both ways.

Writing: numpy values become Python ones, arrays lists, non-finite floats the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (strict JSON), and every map key text: a k is
``"3"`` (``"null"`` for a family without k), a class id the text :func:`class_key` gives.
Reading inverts it: keys back to ks and class ids (through the per-class ``classes``
list), lists of per-sample values and curves back to numpy arrays (bool, int64 or float64
as the values are), the non-finite strings back to floats.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["class_key", "decode", "encode"]

#: Per-class entries that hold per-sample arrays (left out by ``to_dict(samples=False)``).
PER_SAMPLE = ("samples", "indices")

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

#: Per-class entries keyed by class id, and how their values read back.
_BY_CLASS = (
    "real_counts",
    "fake_counts",
    "skipped",
    "partial",
    "scalars",
    "curves",
    "info",
    "samples",
    "indices",
)


def plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, arrays -> lists, tuples -> lists, recursively;
    map keys that JSON cannot hold as they are (class ids such as tuples) via class_key."""
    if isinstance(value, dict):
        return {_plain_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _plain_key(key: Any) -> Any:
    if isinstance(key, np.generic):
        key = key.item()
    return key if key is None or isinstance(key, (str, int, float, bool)) else class_key(key)


def class_key(c: Any) -> str:
    """The JSON key of a class id: a string as it is, anything else its JSON text
    (``3`` -> ``"3"``, ``True`` -> ``"true"``, ``0.5`` -> ``"0.5"``, ``(1, "a")`` ->
    ``'[1, "a"]'``), which is also the key ``json.dumps`` writes for a scalar."""
    return c if isinstance(c, str) else json.dumps(plain(c))


def _strict(value: Any) -> Any:
    """Non-finite floats -> "Infinity" / "-Infinity" / "NaN" so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def check_class_keys(classes: list[Any]) -> None:
    """Distinct class ids must give distinct JSON keys (``1`` and ``"1"`` would not)."""
    seen: dict[str, Any] = {}
    for c in classes:
        key = class_key(c)
        if key in seen:
            raise ValueError(
                f"class ids {seen[key]!r} and {c!r} both become the JSON key {key!r}: "
                "give the labels of both sets one type of class id"
            )
        seen[key] = c


def encode(data: dict[str, Any], indent: int | None) -> str:
    """Strict JSON text of a result's plain dict."""
    return json.dumps(_strict(data), indent=indent, allow_nan=False)


# --------------------------------------------------------------------------- reading


def _k(key: Any) -> Any:
    """A k from a JSON key (``"3"``, ``"null"``); a key that is not text (``to_dict``'s) as is."""
    if not isinstance(key, str):
        return key
    if key == "null":
        return None
    try:
        return int(key)
    except ValueError:
        return key


def _number(value: Any) -> Any:
    return _NON_FINITE.get(value, value) if isinstance(value, str) else value


def _array(values: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(values, list) and any(isinstance(v, str) for v in values):
        return np.asarray([_number(v) for v in values], dtype=np.float64)
    return np.asarray(values, dtype=dtype)


def _per_k(part: Any, leaf: Any) -> dict[str, dict[str, dict[Any, Any]]]:
    """``{family: {name: {k: leaf(value)}}}`` with k keys read back."""
    return {
        family: {name: {_k(k): leaf(v) for k, v in per_k.items()} for name, per_k in fam.items()}
        for family, fam in _mapping(part, "a family table").items()
    }


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"not a fastprdc result: {what} is {type(value).__name__}, not a map")
    return value


def _class_id(value: Any) -> Any:
    """A class id read from JSON: lists (written for tuples) become tuples again."""
    return tuple(_class_id(v) for v in value) if isinstance(value, list) else value


def _per_class(pc: Mapping[str, Any]) -> dict[str, Any]:
    classes = [_class_id(c) for c in pc.get("classes", [])]
    by_key = {class_key(c): c for c in classes}

    def cid(key: Any) -> Any:
        if isinstance(key, str) and key in by_key:
            return by_key[key]
        if not isinstance(key, str) and key in classes:  # to_dict's keys, not yet text
            return key
        raise ValueError(f"not a fastprdc result: per-class key {key!r} is not in 'classes'")
        return by_key[key]

    readers = {
        "scalars": lambda v: _per_k(v, _number),
        "curves": lambda v: _per_k(v, _array),
        "samples": lambda v: _per_k(v, _array),
        "indices": lambda v: {side: _array(rows, np.int64) for side, rows in v.items()},
    }
    out: dict[str, Any] = {}
    for name, value in pc.items():
        if name == "classes":
            out[name] = classes
        elif name in _BY_CLASS:
            read = readers.get(name, lambda v: v)
            out[name] = {cid(k): read(v) for k, v in _mapping(value, name).items()}
        elif name == "class_mean":
            out[name] = _per_k(value, _number)
        elif isinstance(value, list):  # missing_in_fake, missing_in_real, evaluated
            out[name] = [_class_id(c) for c in value]
        else:
            out[name] = value
    return out


def decode(data: Any) -> dict[str, Any]:
    """The fields of an EvaluationResult from the dict that ``to_dict`` (or the JSON text of
    ``to_json``) gave: ``scalars``, ``samples``, ``info``, ``curves``, ``per_class``."""
    data = _mapping(data, "the document")
    missing = [name for name in ("scalars", "info") if name not in data]
    if missing:
        raise ValueError(
            f"not a fastprdc result: no {' or '.join(repr(m) for m in missing)} entry "
            f"(it has {sorted(data)}); write one with EvaluationResult.to_json or "
            "`fastprdc eval --json`"
        )
    samples = data.get("samples")
    per_class = data.get("per_class")
    return {
        "scalars": _per_k(data["scalars"], _number),
        "samples": None if samples is None else _per_k(samples, _array),
        "info": dict(_mapping(data["info"], "info")),
        "curves": _per_k(data.get("curves", {}), _array),
        "per_class": None if per_class is None else _per_class(_mapping(per_class, "per_class")),
    }
