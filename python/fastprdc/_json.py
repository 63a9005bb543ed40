"""The JSON form of an :class:`~fastprdc.EvaluationResult`, both ways.

Writing: numpy values become Python ones, arrays lists, non-finite floats the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (strict JSON), and every map key text: a k is
``"3"`` (``"null"`` for a family without k), a class id the text :func:`class_key` gives.
Reading inverts it: keys back to ks and class ids (through the per-class ``classes``
list), lists of per-sample values and curves back to numpy arrays (bool, int64 or float64
as the values are), the non-finite strings back to floats.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["class_key", "decode", "digest", "encode"]

#: Per-class entries that hold per-sample arrays (left out by ``to_dict(samples=False)``).
PER_SAMPLE = ("samples", "indices")

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_SCALARS = (str, int, float, bool, type(None))  # what JSON holds as it is (values and keys)


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
    return key if isinstance(key, _SCALARS) else class_key(key)


def class_key(c: Any) -> str:
    """The JSON key of a class id: a string as it is, anything else its JSON text
    (``3`` -> ``"3"``, ``True`` -> ``"true"``, ``0.5`` -> ``"0.5"``, ``(1, "a")`` ->
    ``'[1, "a"]'``), which is also the key ``json.dumps`` writes for a scalar."""
    return c if isinstance(c, str) else json.dumps(plain(c), default=repr)  # repr: see check


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
    """Every class id can be written (ints, floats, bools, strings, None and tuples of these)
    and distinct ids give distinct JSON keys (``1`` and ``"1"`` would not)."""
    seen: dict[str, Any] = {}
    for c in classes:
        if not _writable(c):
            raise ValueError(
                f"class id {c!r} ({type(c).__name__}) cannot be written as JSON: give class ids "
                "as ints, floats, bools or strings (or tuples of them)"
            )
        key = class_key(c)
        if key in seen:
            raise ValueError(
                f"class ids {seen[key]!r} and {c!r} both become the JSON key {key!r}: "
                "give the labels of both sets one type of class id"
            )
        seen[key] = c


def _writable(c: Any) -> bool:
    if isinstance(c, np.generic):
        c = c.item()
    if isinstance(c, tuple):
        return all(_writable(v) for v in c)
    return isinstance(c, _SCALARS)


def encode(data: dict[str, Any], indent: int | None) -> str:
    """Strict JSON text of a result's plain dict."""
    return json.dumps(_strict(data), indent=indent, allow_nan=False)


# --------------------------------------------------------------------------- reading
# Every reader takes ``where``, the path of the value in the document, for its error message.


def digest(data: dict[str, Any]) -> str:
    """A hash of ``data`` (plain containers, as :func:`plain` gives) that a JSON rewritten by
    tools does not change: keys sorted, every number a float (``1`` and ``1.0`` alike)."""
    text = json.dumps(_numbers_as_floats(data), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _numbers_as_floats(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_floats(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _bad(where: str, what: str) -> ValueError:
    return ValueError(f"not a fastprdc result: {where} {what}")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, f"is {type(value).__name__}, not a map")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(where, f"is {type(value).__name__}, not a list")
    return value


def _k(key: Any, where: str) -> Any:
    """A k from a JSON key (``"3"``, ``"null"``); a key that is not text (``to_dict``'s) as is."""
    if key is None or (isinstance(key, int) and not isinstance(key, bool)):
        return key
    if key == "null":
        return None
    if isinstance(key, str) and key.lstrip("-").isdigit():
        return int(key)
    raise _bad(where, f"has the key {key!r}, not a k (an int, or null for no k)")


def _number(value: Any, where: str) -> Any:
    if isinstance(value, str):
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        raise _bad(where, f"is {value!r}, not a number")
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise _bad(where, f"is {type(value).__name__}, not a number")


def _count(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _bad(where, f"is {value!r}, not a count")


def _of_type(kind: type, name: str) -> Any:
    def read(value: Any, where: str) -> Any:
        if isinstance(value, kind):
            return value
        raise _bad(where, f"is {type(value).__name__}, not {name}")

    return read


def _ks(value: Any, where: str) -> dict[str, list[Any]]:
    out = {}
    for family, ks in _mapping(value, where).items():
        at = f"{where}.{family}"
        out[family] = [None if k is None else _count(k, at) for k in _list(ks, at)]
    return out


#: How the entries of ``info`` read back (entries not named here: as they are).
_INFO: dict[str, Any] = {
    "n_real": _count,
    "n_fake": _count,
    "dim": _count,
    "n_rechecked": _count,
    "seconds": _number,
    "dtype": _of_type(str, "a string"),
    "backend": _of_type(str, "a string"),
    "boundary": _of_type(str, "a string"),
    "exact": _of_type(bool, "true or false"),
    "ks": _ks,
    "params": lambda v, at: {
        family: dict(_mapping(p, f"{at}.{family}")) for family, p in _mapping(v, at).items()
    },
    "timings": lambda v, at: {
        name: _number(t, f"{at}.{name}") for name, t in _mapping(v, at).items()
    },
    "reference": lambda v, at: dict(_mapping(v, at)),
}


def _info(value: Any, where: str) -> dict[str, Any]:
    """``info`` (of the run, or of one class) with its known entries checked."""
    return {
        key: _INFO[key](v, f"{where}.{key}") if key in _INFO else v
        for key, v in _mapping(value, where).items()
    }


def _array(values: Any, where: str, dtype: Any = None) -> np.ndarray:
    values = _list(values, where)
    if any(isinstance(v, str) for v in values):
        return np.asarray([_number(v, where) for v in values], dtype=np.float64)
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise _bad(where, f"is not an array of numbers ({exc})") from None


def _per_k(part: Any, leaf: Any, where: str) -> dict[str, dict[str, dict[Any, Any]]]:
    """``{family: {name: {k: leaf(value)}}}`` with k keys read back."""
    out: dict[str, dict[str, dict[Any, Any]]] = {}
    for family, fam in _mapping(part, where).items():
        out[family] = {}
        for name, per_k in _mapping(fam, f"{where}.{family}").items():
            at = f"{where}.{family}.{name}"
            out[family][name] = {
                _k(k, at): leaf(v, f"{at}[{k}]") for k, v in _mapping(per_k, at).items()
            }
    return out


def _class_id(value: Any) -> Any:
    """A class id read from JSON: lists (written for tuples) become tuples again."""
    return tuple(_class_id(v) for v in value) if isinstance(value, list) else value


#: Per-class entries keyed by class id -> how one class's value reads back.
_BY_CLASS: dict[str, Any] = {
    "real_counts": lambda v, at: v,
    "fake_counts": lambda v, at: v,
    "skipped": lambda v, at: v,
    "partial": lambda v, at: v,
    "info": _info,
    "scalars": lambda v, at: _per_k(v, _number, at),
    "curves": lambda v, at: _per_k(v, _array, at),
    "samples": lambda v, at: _per_k(v, _array, at),
    "indices": lambda v, at: {
        side: _array(rows, f"{at}.{side}", np.int64) for side, rows in _mapping(v, at).items()
    },
}
#: Per-class lists of class ids.
_CLASS_LISTS = ("missing_in_fake", "missing_in_real", "evaluated")


def _per_class(pc: Mapping[str, Any]) -> dict[str, Any]:
    """The per-class table, its entries in the document's order; the notes an older document
    may lack (skipped, partial, class_mean, curves, info) read as empty, ``evaluated`` as the
    classes with scalars. The class counts must cover every class, and every class must be
    evaluated, skipped or missing from one set (what the table prints)."""
    classes = [_class_id(c) for c in _list(pc.get("classes", []), "per_class.classes")]
    try:
        check_class_keys(classes)
    except ValueError as exc:
        raise _bad("per_class.classes", f"is not a list of distinct class ids: {exc}") from None
    by_key = {class_key(c): c for c in classes}

    def cid(key: Any, where: str) -> Any:
        if isinstance(key, str) and key in by_key:
            return by_key[key]
        if not isinstance(key, str) and key in classes:  # to_dict's keys, not yet text
            return key
        raise _bad(where, f"has the key {key!r}, which is not in per_class.classes")

    out: dict[str, Any] = {}
    for name, value in pc.items():
        at = f"per_class.{name}"
        if name == "classes":
            out[name] = classes
        elif name in _CLASS_LISTS:
            out[name] = [_class_id(c) for c in _list(value, at)]
        elif name in _BY_CLASS:
            read = _BY_CLASS[name]
            out[name] = {cid(k, at): read(v, f"{at}[{k}]") for k, v in _mapping(value, at).items()}
        elif name == "class_mean":
            out[name] = _per_k(value, _number, at)
        else:  # boundary, or anything a later version adds
            out[name] = value
    for name in ("skipped", "partial", "scalars", "curves", "info", "class_mean"):
        out.setdefault(name, {})
    out.setdefault("evaluated", list(out["scalars"]))
    for name in ("missing_in_fake", "missing_in_real"):
        out.setdefault(name, [])
    for name in ("real_counts", "fake_counts"):
        lacking = [c for c in classes if c not in out.get(name, {})]
        if lacking:
            raise _bad(f"per_class.{name}", f"lacks the count of class {lacking[0]!r}")
    done = {*out["missing_in_fake"], *out["missing_in_real"], *out["skipped"], *out["scalars"]}
    lacking = [c for c in classes if c not in done]
    if lacking:
        raise _bad(
            "per_class.scalars",
            f"lacks class {lacking[0]!r}, which is not skipped or missing from a set either",
        )
    return out


def decode(data: Any) -> dict[str, Any]:
    """The fields of an EvaluationResult from the dict that ``to_dict`` (or the JSON text of
    ``to_json``) gave: ``scalars``, ``samples``, ``info``, ``curves``, ``per_class``.

    Raises:
        ValueError: ``"not a fastprdc result: ..."`` naming the entry that is missing or wrong.
    """
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
        "scalars": _per_k(data["scalars"], _number, "scalars"),
        "samples": None if samples is None else _per_k(samples, _array, "samples"),
        "info": _info(data["info"], "info"),
        "curves": _per_k(data.get("curves", {}), _array, "curves"),
        "per_class": None if per_class is None else _per_class(_mapping(per_class, "per_class")),
    }
