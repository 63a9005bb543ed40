"""The per-sample arrays of an :class:`~fastprdc.EvaluationResult` as one ``.npz`` file, both ways.

Keys: ``<family>.<name>_k<k>`` (``<family>.<name>`` for a family without k); with a per-class
table also ``per_class.<class>.real_rows`` / ``fake_rows`` (rows of the full sets) and
``per_class.<class>.<family>.<name>_k<k>``, ``<class>`` being the class id's JSON key
(``_json.class_key``: distinct ids, distinct keys; files written before it used ``str`` of the
id, which is still read); and
``__run__``, the digest of the run the arrays belong to (files written before it have none). This is
what ``fastprdc eval --samples`` writes; the JSON of the same result (``--json``) holds the
rest, and ``EvaluationResult.from_json(json, samples=npz)`` puts the two together again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._json import class_key
from .io import NPZ_ERRORS, archive_kind

__all__ = ["flatten", "read_into", "write"]


def _flatten(prefix: str, value: Any, flat: dict[str, np.ndarray]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            if key is None:  # a family without k
                name = prefix
            elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
                name = f"{prefix}_k{key}"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            _flatten(name, sub, flat)
    elif value is not None:
        flat[prefix] = np.asarray(value)


def flatten(samples: Any, per_class: Any = None) -> dict[str, np.ndarray]:
    """``{family: {name: {k: array}}}`` (and the per-class arrays) -> ``{"family.name_k3":
    array, ...}`` for ``np.savez``."""
    flat: dict[str, np.ndarray] = {}
    _flatten("", samples or {}, flat)
    if per_class:
        for c, rows in (per_class.get("indices") or {}).items():
            flat[f"per_class.{class_key(c)}.real_rows"] = np.asarray(rows["real"])
            flat[f"per_class.{class_key(c)}.fake_rows"] = np.asarray(rows["fake"])
        for c, per_family in (per_class.get("samples") or {}).items():
            _flatten(f"per_class.{class_key(c)}", per_family or {}, flat)
    return flat


RUN_KEY = "__run__"


def write(path: str | os.PathLike[str], samples: Any, per_class: Any, run: str) -> None:
    """The arrays of ``flatten`` and the ``run`` digest as one .npz at ``path``, under the
    exact name given (np.savez of a path would add .npz). ValueError when there are none."""
    arrays = flatten(samples, per_class)
    if all(key.endswith((".real_rows", ".fake_rows")) for key in arrays):  # class rows only
        raise ValueError(
            "this result holds no per-sample arrays: evaluate with sample_level=True "
            "(fastprdc eval --samples does)"
        )
    with open(path, "wb") as fh:
        np.savez(fh, **arrays, **{RUN_KEY: np.array(run)})


def _split(key: str, families: Mapping[str, Any], where: str) -> tuple[str, str, Any]:
    """``"family.name_k3"`` -> (family, name, 3); (family, name, None) for a family without
    k. ValueError when the family is not in the result or the k is not one of its ks."""
    family, _, rest = key.partition(".")
    if family not in families or not rest:
        raise ValueError(
            f"{where}: the array {key!r} is of no family of this result "
            f"({', '.join(families)}): is it the samples file of another run?"
        )
    ks = families[family]
    name, sep, k_text = rest.rpartition("_k")
    if sep and k_text.isdigit() and int(k_text) in ks:
        return family, name, int(k_text)
    if None in ks:
        return family, rest, None
    raise ValueError(f"{where}: the array {key!r} is of no k this result has for {family} {ks}")


def _check_rows(arr: np.ndarray, info: Mapping[str, Any], key: str, where: str) -> np.ndarray:
    sizes = (info.get("n_real"), info.get("n_fake"))
    if arr.ndim == 0 or arr.shape[0] not in sizes:
        raise ValueError(
            f"{where}: the array {key!r} has shape {arr.shape}, but this result has "
            f"{sizes[0]} real and {sizes[1]} fake samples: is it the samples file of another run?"
        )
    return arr


def read_into(result: Any, path: str | os.PathLike[str], run: str) -> None:
    """Put the arrays of the samples file at ``path`` (``flatten``'s keys) into ``result``
    (its ``samples`` and its per-class ``samples`` and ``indices``). ValueError when the file
    cannot be read, was written for another run than ``run`` (the result's digest), or naming
    the first array that does not belong to this result (another family, k, class or size)."""
    try:
        with open(path, "rb") as fh:  # our handle: closed even when the archive is broken
            if archive_kind(fh) != "npz":  # a .npy, or no numpy file at all
                raise ValueError("not an .npz archive (written by --samples / save_samples)")
            with np.load(fh, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
    except NPZ_ERRORS as exc:
        raise ValueError(f"cannot read per-sample arrays from {path}: {exc}") from exc
    stored = arrays.pop(RUN_KEY, None)
    if stored is not None and str(stored[()]) != run:
        raise ValueError(
            f"{path} holds the per-sample arrays of another run than this result's (their run "
            "digests differ): give the --samples file written with this JSON"
        )
    _attach(result, arrays, str(path))


def _attach(result: Any, arrays: Mapping[str, np.ndarray], where: str) -> None:
    ks = {family: list(v) for family, v in result.info.get("ks", {}).items()}
    pc = result.per_class
    classes = (pc or {}).get("classes", [])
    by_text = {str(c): c for c in classes}  # the names of files written before class_key
    by_text.update({class_key(c): c for c in classes})
    samples: dict[str, Any] = {}
    per_class_samples: dict[Any, Any] = {}
    indices: dict[Any, dict[str, np.ndarray]] = {}
    for key, arr in arrays.items():
        if key.startswith("per_class."):
            if pc is None:
                raise ValueError(f"{where}: the array {key!r} is per class, this result is not")
            body = key[len("per_class.") :]
            text, _, tail = body.rpartition(".")  # the class text may hold dots
            if tail in ("real_rows", "fake_rows") and text in by_text:
                c = by_text[text]
                indices.setdefault(c, {})[tail[:4]] = np.asarray(arr, dtype=np.int64)
                continue
            text, _, family_name = body[: len(body) - len(tail) - 1].rpartition(".")
            if text not in by_text or by_text[text] not in pc.get("info", {}):
                raise ValueError(f"{where}: the array {key!r} is of no evaluated class here")
            c = by_text[text]  # may be None: a class id like any other
            info = pc["info"][c]
            family, name, k = _split(f"{family_name}.{tail}", info.get("ks", {}), where)
            arr = _check_rows(np.asarray(arr), info, key, where)
            per_class_samples.setdefault(c, {}).setdefault(family, {}).setdefault(name, {})[k] = arr
        else:
            family, name, k = _split(key, ks, where)
            arr = _check_rows(np.asarray(arr), result.info, key, where)
            samples.setdefault(family, {}).setdefault(name, {})[k] = arr
    if samples:
        result.samples = samples
    if pc is not None and per_class_samples:
        pc["samples"] = per_class_samples
        pc["indices"] = indices
