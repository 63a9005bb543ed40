"""Mode level: every metric per class (class c of fake against class c of real).

Given a class id per real and per fake sample, :func:`per_class` reports the class
histograms of both sets, the classes missing from fake (dropped modes) and from real,
and, for every class present in both sets, the full results of the requested metric
families computed on that class alone (one engine run per class). This is the reading of
the mode-dropping and mode-shrinkage experiments of the information-theoretic paper
(Fox et al.): a dropped mode appears in ``missing_in_fake``; a shrunk mode keeps its
precision but loses recall, coverage and RE within its class.

``fastprdc.evaluate(..., real_labels=..., fake_labels=...)`` calls :func:`per_class` and
stores its output on ``result.per_class``; :func:`format_per_class` prints it (the text
itself is rendered in ``_tables.py``, with the rest of the tables; it is re-exported here).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._backends import resolve_device
from ._frames import clear_own_frames
from ._tables import format_per_class, is_number
from ._validation import parse_boundary, validate_pair
from ._warn import warn
from .metrics._base import MetricFamily, run_families

__all__ = ["format_per_class", "per_class", "validate_labels"]

_MIN_ROWS = 2  # every metric needs at least two samples in each set


# --------------------------------------------------------------------------- labels


def validate_labels(labels: Any, n_rows: int, name: str, set_name: str) -> np.ndarray:
    """Class ids of one set: 1-D, one per row, hashable (ints, bools, strings, finite floats;
    numpy byte strings are read as UTF-8 text).

    Returns the ids as a numpy array (object dtype only when the input is one).

    Raises:
        ValueError: naming the problem, e.g. ``"real_labels must be a 1-D array of class
            ids, got shape (5, 2)"`` or ``"fake_labels has 9 entries but fake has 10 rows"``.
    """
    if labels is None:
        raise ValueError(f"{name} is missing")
    try:
        arr = np.asarray(labels)
    except Exception as exc:
        raise ValueError(f"{name} could not be converted to a numpy array: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class ids, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {arr.shape[0]} entries but {set_name} has {n_rows} rows "
            "(one class id per sample)"
        )
    kind = arr.dtype.kind
    if kind == "S":  # byte strings (e.g. read by h5py): their text is the class id
        try:
            return np.char.decode(arr, "utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{name} holds byte strings that are not UTF-8 text ({exc}); decode them first"
            ) from None
    if kind == "U" and not isinstance(labels, np.ndarray):
        other = next((v for v in labels if not isinstance(v, (str, np.str_))), None)
        if other is not None:
            raise ValueError(
                f"{name} mixes strings with other ids (e.g. {other!r}); numpy would turn "
                f"every id into text, so {other!r} and {str(other)!r} would be one class: "
                "use ids of one type"
            )
    if kind in "biuU":
        return arr
    if kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(
                f"{name} contains NaN or inf (first at index {int(np.argmax(bad))}); "
                "class ids must be finite"
            )
        return arr
    if kind == "O":
        for i, value in enumerate(arr.tolist()):
            try:
                hash(value)
            except TypeError:
                raise ValueError(
                    f"{name}[{i}] is not a valid class id (unhashable {type(value).__name__})"
                ) from None
            is_float = isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)
            if is_float and not math.isfinite(float(value)):
                raise ValueError(
                    f"{name} contains NaN or inf (first at index {i}); class ids must be finite"
                )
        return arr
    raise ValueError(
        f"{name} must hold class ids (ints, bools, strings or floats), got dtype {arr.dtype}"
    )


def _groups(labels: np.ndarray) -> dict[Any, np.ndarray]:
    """class id (Python scalar) -> sorted int64 row indices, in order of first class key."""
    if labels.dtype.kind != "O":
        uniq, inverse = np.unique(labels, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable").astype(np.int64)
        counts = np.bincount(inverse, minlength=len(uniq))
        parts = np.split(order, np.cumsum(counts)[:-1])
        return dict(zip(uniq.tolist(), parts))
    rows: dict[Any, list[int]] = {}
    for i, value in enumerate(labels.tolist()):
        rows.setdefault(value, []).append(i)
    return {key: np.asarray(idx, dtype=np.int64) for key, idx in rows.items()}


def _ordered(keys: list[Any]) -> list[Any]:
    """Sorted when the ids are comparable, else in order of first appearance."""
    try:
        return sorted(keys)
    except TypeError:
        return keys


# --------------------------------------------------------------------------- per class


def _fit(
    requests: Sequence[tuple[MetricFamily, Sequence[Any]]], n: int, m: int, dim: int
) -> tuple[list[tuple[MetricFamily, list[Any]]], list[str]]:
    """The (family, ks) requests a class of n reals and m fakes can run, and why others cannot
    (the family's own data check first: its message names its own terms, e.g. k' = C*k)."""
    kept: list[tuple[MetricFamily, list[Any]]] = []
    reasons: list[str] = []
    for family, ks in requests:
        ok: list[Any] = []
        # a family without k runs once (ks_for gives its single no-k entry)
        for k in family.ks_for(ks):
            try:
                family.check_sizes([k], n, m, dim)
                family.needs([k]).check(n, m)
            except ValueError as exc:
                where = family.name if k is None else f"{family.name} k={k}"
                reasons.append(f"{where}: {exc}")
            else:
                ok.append(k)
        if ok:
            kept.append((family, ok))
    return kept, reasons


def _class_mean(
    scalars: dict[Any, dict[str, dict[str, dict[int, Any]]]],
) -> dict[str, dict[str, dict[int, float]]]:
    """Unweighted mean over the evaluated classes of every numeric scalar. A class that
    lacks a value (see ``partial``) does not count; NaN and infinities propagate."""
    values: dict[str, dict[str, dict[int, list[float]]]] = {}
    for per_family in scalars.values():
        for family, per_metric in per_family.items():
            for metric, per_k in per_metric.items():
                for k, value in per_k.items():
                    if is_number(value):
                        values.setdefault(family, {}).setdefault(metric, {}).setdefault(
                            k, []
                        ).append(float(value))
    out: dict[str, dict[str, dict[int, float]]] = {}
    for family, per_metric in values.items():
        for metric, per_k in per_metric.items():
            for k, vals in per_k.items():
                with np.errstate(invalid="ignore"):
                    out.setdefault(family, {}).setdefault(metric, {})[k] = float(np.mean(vals))
    return out


def per_class(
    real: Any,
    fake: Any,
    real_labels: Any,
    fake_labels: Any,
    requests: Sequence[tuple[MetricFamily, Sequence[Any]]],
    *,
    boundary: str = "inclusive",
    sample_level: bool = False,
    run_class: Callable[..., Any] | None = None,
    **run_options: Any,
) -> dict[str, Any]:
    """Every requested metric per class: class c of ``fake`` against class c of ``real``.

    Args:
        real, fake: (N, d) and (M, d) feature arrays (validated as in every entry point).
        real_labels, fake_labels: one class id per row (1-D, length N and M; ints, bools,
            strings or finite floats; equal ids in both sets name the same class).
        requests: ``[(MetricFamily, ks)]``, the list :func:`fastprdc.evaluate` passes to
            ``run_families``; every class runs the same requests.
        boundary: ``"inclusive"`` or ``"strict"``.
        sample_level: also return each class's per-sample arrays and row indices.
        run_class: how one class runs: ``run_class(class_id, real_rows, fake_rows, requests,
            **options) -> EvaluationResult`` with the class's int64 row indices
            (``fastprdc.Reference`` passes one that reuses the class's stored real side,
            ``fastprdc.distributed`` its executor; ``real`` and ``fake`` then need only a
            ``.shape``). Default: ``run_families`` on the validated rows of the class (gathered
            on the GPU when the run is there).
        **run_options: ``device``, ``exact``, ``max_memory``, ``num_threads``, ``progress``,
            ``tile_rows`` as in :func:`fastprdc.evaluate`. ``progress=True`` shows one bar
            over the classes.

    Returns:
        A dict (plain containers, JSON-able through ``EvaluationResult.to_dict``):

        - ``classes``: every class id of either set (sorted when comparable);
        - ``real_counts``, ``fake_counts``: ``{class: number of rows}`` (0 when absent);
        - ``missing_in_fake``: classes with real rows but no fake (dropped modes);
        - ``missing_in_real``: classes with fake rows but no real;
        - ``evaluated``: classes present in both sets whose metrics were computed;
        - ``skipped``: ``{class: reason}`` for classes present in both sets but too small
          for every requested k (never silently left out);
        - ``partial``: ``{class: [reason, ...]}`` for classes too small for some of the
          requested (family, k) pairs; the others were computed;
        - ``scalars``: ``{class: {family: {metric: {k: value}}}}`` (as ``result.scalars``;
          a family without k uses the key None);
        - ``curves``: ``{class: {family: {name: {k: array}}}}`` (as ``result.curves``, e.g.
          the alpha-precision curve of each class);
        - ``class_mean``: ``{family: {metric: {k: float}}}``, unweighted mean over the
          evaluated classes;
        - ``info``: ``{class: run info}`` (sizes, ks, backend, seconds, ...);
        - ``samples`` and ``indices`` (``sample_level=True`` only): ``{class: samples}`` as
          ``result.samples``, and ``{class: {"real": rows, "fake": rows}}``, the int64 rows
          of the full sets that the class's per-sample arrays refer to, in order;
        - ``boundary``.

    Raises:
        ValueError: bad features or labels (naming the problem).
    """
    parse_boundary(boundary)
    if run_class is None:
        # GPU-resident inputs stay on the GPU when the run does: classes are gathered there
        device = run_options.get("device", "auto")
        backend = resolve_device(device, real, fake, names=("real", "fake"))
        on_device = backend.location == "cuda"
        real, fake = validate_pair(real, fake, on_device=on_device)
        take = backend.take_rows if on_device else (lambda X, rows: X[rows])

        def run_class(c: Any, rows_r: np.ndarray, rows_f: np.ndarray, kept: Any, **kw: Any) -> Any:
            try:
                return run_families(take(real, rows_r), take(fake, rows_f), kept, **kw)
            except BaseException as exc:  # the class's gathered rows (on the GPU) go with it
                clear_own_frames(exc.__traceback__)
                raise

    n_all, m_all = int(real.shape[0]), int(fake.shape[0])
    r_labels = validate_labels(real_labels, n_all, "real_labels", "real")
    f_labels = validate_labels(fake_labels, m_all, "fake_labels", "fake")
    requests = [(family, list(ks)) for family, ks in requests]
    if not requests:
        raise ValueError("per_class needs at least one (family, ks) request")

    r_groups, f_groups = _groups(r_labels), _groups(f_labels)
    classes = _ordered(list(dict.fromkeys([*r_groups, *f_groups])))
    real_counts = {c: len(r_groups[c]) if c in r_groups else 0 for c in classes}
    fake_counts = {c: len(f_groups[c]) if c in f_groups else 0 for c in classes}
    missing_in_fake = [c for c in classes if c not in f_groups]
    missing_in_real = [c for c in classes if c not in r_groups]
    common = [c for c in classes if c in r_groups and c in f_groups]
    if not common:
        warn(
            "per_class: no class id occurs in both real_labels and fake_labels "
            f"(real: {_preview(list(r_groups))}; fake: {_preview(list(f_groups))})"
        )

    progress = run_options.pop("progress", False)
    bar = None
    if progress is True and common:
        from tqdm import tqdm

        bar = tqdm(total=len(common), desc="fastprdc per class", unit="class", leave=False)
        inner_progress: Any = False
    else:
        inner_progress = progress

    evaluated: list[Any] = []
    class_warnings: dict[type[Warning], list[str]] = {}
    skipped: dict[Any, str] = {}
    partial: dict[Any, list[str]] = {}
    scalars: dict[Any, Any] = {}
    curves: dict[Any, Any] = {}
    samples: dict[Any, Any] = {}
    indices: dict[Any, dict[str, np.ndarray]] = {}
    info: dict[Any, Any] = {}
    try:
        for c in common:
            n_c, m_c = real_counts[c], fake_counts[c]
            if n_c < _MIN_ROWS or m_c < _MIN_ROWS:
                skipped[c] = (
                    f"needs at least {_MIN_ROWS} samples in each set, "
                    f"has N={n_c} real and M={m_c} fake"
                )
                continue
            kept, reasons = _fit(requests, n_c, m_c, int(real.shape[1]))
            if not kept:
                skipped[c] = "; ".join(reasons)
                continue
            if reasons:
                partial[c] = reasons
            rows_r, rows_f = r_groups[c], f_groups[c]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = run_class(
                    c,
                    rows_r,
                    rows_f,
                    kept,
                    boundary=boundary,
                    sample_level=sample_level,
                    progress=inner_progress,
                    **run_options,
                )
            for w in caught:  # re-issued once per category below, saying which class
                class_warnings.setdefault(w.category, []).append(f"class {c!r}: {w.message}")
            evaluated.append(c)
            scalars[c] = res.scalars
            curves[c] = res.curves
            info[c] = res.info
            if sample_level:
                samples[c] = res.samples
                indices[c] = {"real": rows_r, "fake": rows_f}
            if bar is not None:
                bar.update(1)
    except BaseException:
        # the classes done so far still say what they found, but never in place of the error
        # (a warning that the filters make an exception is dropped)
        with contextlib.suppress(Warning):
            _reissue(class_warnings)
        raise
    finally:
        if bar is not None:
            bar.close()
    _reissue(class_warnings)

    out: dict[str, Any] = {
        "classes": classes,
        "real_counts": real_counts,
        "fake_counts": fake_counts,
        "missing_in_fake": missing_in_fake,
        "missing_in_real": missing_in_real,
        "evaluated": evaluated,
        "skipped": skipped,
        "partial": partial,
        "scalars": scalars,
        "curves": curves,
        "class_mean": _class_mean(scalars),
        "info": info,
        "boundary": boundary,
    }
    if sample_level:
        out["samples"] = samples
        out["indices"] = indices
    return out


def _reissue(class_warnings: dict[type[Warning], list[str]], limit: int = 5) -> None:
    """One warning per category for the classes' warnings (the first ``limit`` in full)."""
    for category, lines in class_warnings.items():
        more = len(lines) - limit
        shown = "; ".join(lines[:limit]) + (f"; and {more} more" if more > 0 else "")
        warn(f"per_class: {len(lines)} warning(s) from the classes: {shown}", category)


def _preview(keys: list[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(k) for k in keys[:limit])
    return shown + (", ..." if len(keys) > limit else "")
