"""Text tables of results: the cell and number formats, the per-class columns, and the two
renderers, :func:`format_result` (``repr(EvaluationResult)``) and :func:`format_per_class`
(the mode-level table of :func:`fastprdc.modes.per_class`).

This module reads plain containers only and imports nothing else from fastprdc, so
``result.py``, ``modes.py`` and ``report.py`` all build on it without an import cycle.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from .result import EvaluationResult

__all__ = [
    "Column",
    "cell",
    "class_names",
    "curve_cell",
    "format_per_class",
    "format_result",
    "is_number",
    "per_class_columns",
]

#: (label, family, metric, k) of one per-class column.
Column = tuple[str, str, str, Any]


# --------------------------------------------------------------------------- cells


def is_number(value: Any) -> bool:
    """A real number (Python or numpy), booleans excluded."""
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def cell(value: Any) -> str:
    """One table cell: ints as ints, floats to 4 decimals (4 significant digits from 1e5),
    non-finite values spelled out, None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.4f}" if abs(v) < 1e5 else f"{v:.4g}"


def curve_cell(curve: Any) -> str:
    """A curve summarised: its length and range."""
    c = np.asarray(curve, dtype=np.float64)
    if c.size == 0:
        return "0 points"
    return f"{c.size} points in [{cell(float(np.min(c)))}, {cell(float(np.max(c)))}]"


def params_text(params: Mapping[str, Any] | None) -> str:
    """`` (name=value, ...)`` after a family's name; empty without parameters."""
    if not params:
        return ""
    return " (" + ", ".join(f"{name}={value}" for name, value in params.items()) + ")"


def _k_cells(vals: Mapping[Any, Any], ks: list[Any], fmt: Callable[[Any], str]) -> list[str]:
    """Cells of one row, one per k (a value without k: the one "value" column)."""
    if None in vals:
        return [fmt(vals[None])]
    return [fmt(vals[k]) if k in vals else "-" for k in ks]


def _no_k(family: str, result: EvaluationResult) -> bool:
    """Whether ``family`` takes no k (its values are stored under the key None)."""
    parts = (result.scalars.get(family, {}), result.curves.get(family, {}))
    return any(None in vals for part in parts for vals in part.values())


# --------------------------------------------------------------------------- result


def format_result(result: EvaluationResult) -> str:
    """The text of ``repr(result)``: run facts, one row per metric and one column per k,
    curves summarised, then the per-class table when there is one, and the time.

    A family without k (alpha-precision) is never shown under a k column: its heading says
    ``[no k]`` and each row gives its value after the metric name (``name = value``); only
    a result without any k has a single ``value`` column."""
    info = result.info
    head = ", ".join(
        f"{key}={info[key]}"
        for key in ("n_real", "n_fake", "dim", "dtype", "backend", "boundary", "exact")
        if key in info
    )
    ks = sorted(
        {
            k
            for part in (result.scalars, result.curves)
            for fam in part.values()
            for vals in fam.values()
            for k in vals
            if k is not None
        }
    )
    cols = [f"k={k}" for k in ks] or ["value"]
    params = info.get("params", {})
    rows: list[tuple[str, list[str]]] = []  # (label, cells); no cells: a heading or text row
    texts: dict[int, str] = {}
    for family in dict.fromkeys([*result.scalars, *result.curves]):
        inline = bool(ks) and _no_k(family, result)  # no k among k columns: name = value
        heading = family + params_text(params.get(family))
        rows.append((heading + (" [no k]" if inline else ""), []))
        for metric, vals in result.scalars.get(family, {}).items():
            if inline and None in vals:
                texts[len(rows)] = "= " + cell(vals[None])
                rows.append(("  " + metric, []))
            else:
                rows.append(("  " + metric, _k_cells(vals, ks, cell)))
        for name, vals in result.curves.get(family, {}).items():
            texts[len(rows)] = "; ".join(
                (f"k={k}: " if k is not None else "") + curve_cell(v) for k, v in vals.items()
            )
            rows.append(("  " + name, []))
    width = max(
        [len("metric")]
        + [len(label) for i, (label, cells) in enumerate(rows) if cells or i in texts]
    )
    colw = max([10] + [len(c) for c in cols] + [len(c) for _, cells in rows for c in cells])
    lines = [f"EvaluationResult({head})"]
    lines.append(f"  {'metric':<{width}}" + "".join(f"{c:>{colw + 2}}" for c in cols))
    for i, (label, cells) in enumerate(rows):
        if i in texts:
            lines.append(f"  {label:<{width}}  {texts[i]}")
        elif not cells:
            lines.append(f"  {label}")
        else:
            lines.append(f"  {label:<{width}}" + "".join(f"{c:>{colw + 2}}" for c in cells))
    if result.per_class is not None:
        lines.extend("  " + line for line in format_per_class(result.per_class).splitlines())
    if "seconds" in info:
        extra = f"  ({info['seconds']:.3f} s"
        if info.get("n_rechecked"):
            extra += f", {info['n_rechecked']} float64 rechecks"
        lines.append(extra + ")")
    return "\n".join(line.rstrip() for line in lines)


# --------------------------------------------------------------------------- per class

#: Column labels for metric names that say little without their family.
_SHORT = {
    ("realism_score", "mean"): "realism_mean",
    ("realism_score", "share_ge_1"): "realism>=1",
    ("realism_score", "n_kept_balls"): "realism_kept",
    ("rarity_score", "n_out_of_ball"): "rarity_n_out",
    ("rarity_score", "mean_in_ball"): "rarity_mean",
}


def per_class_columns(pc: Mapping[str, Any], metrics: Sequence[str] | None) -> list[Column]:
    """(label, family, metric, k) of every numeric scalar of any evaluated class.

    ``metrics`` restricts the columns to these metric or family names. A label is the metric
    name, prefixed by its family where two families share it, suffixed ``@k`` when several k
    occur.
    """
    seen: dict[tuple[str, str, Any], None] = {}
    ks_of: dict[tuple[str, str], set[Any]] = {}
    for per_family in pc["scalars"].values():
        for family, per_metric in per_family.items():
            for metric, per_k in per_metric.items():
                if metrics is not None and metric not in metrics and family not in metrics:
                    continue
                for k, value in per_k.items():
                    if is_number(value):
                        seen[(family, metric, k)] = None
                        ks_of.setdefault((family, metric), set()).add(k)
    all_ks = {k for ks in ks_of.values() for k in ks if k is not None}
    owners: dict[str, set[str]] = {}
    for family, metric, _ in seen:
        owners.setdefault(metric, set()).add(family)
    cols = []
    for family, metric, k in seen:
        label = _SHORT.get((family, metric), metric)
        if len(owners[metric]) > 1 and (family, metric) not in _SHORT:
            label = f"{family}.{metric}"
        if k is not None and len(all_ks) > 1:
            label = f"{label}@{k}"
        cols.append((label, family, metric, k))
    return cols


def class_names(classes: Sequence[Any]) -> dict[Any, str]:
    """Display name of every class id: ``str``, or ``repr`` when two would look the same
    (e.g. 1 and "1")."""
    names = {c: str(c) for c in classes}
    if len(set(names.values())) < len(names):
        names = {c: repr(c) for c in classes}
    return names


def _blocks(cols: list[Column], fixed: int, width: int) -> list[list[Column]]:
    """The columns split into consecutive blocks whose lines fit ``width`` characters."""
    blocks: list[list[Column]] = []
    for col in cols:
        colw = max(10, len(col[0])) + 2
        if blocks and fixed + sum(max(10, len(x[0])) + 2 for x in blocks[-1]) + colw <= width:
            blocks[-1].append(col)
        else:
            blocks.append([col])
    return blocks


def format_per_class(
    per_class: Mapping[str, Any],
    *,
    metrics: Sequence[str] | None = None,
    width: int = 100,
) -> str:
    """A readable table of :func:`fastprdc.modes.per_class` output.

    One row per class (its real and fake counts first; classes that were not evaluated show
    why), one column per numeric scalar (``metric@k`` when several k occur), split into
    blocks that fit ``width`` characters, and a last ``mean`` row (unweighted over the
    evaluated classes). ``metrics`` restricts the columns to these metric or family names.
    """
    pc = per_class
    classes = list(pc["classes"])
    names = class_names(classes)
    cw = max([len("class"), len("mean")] + [len(s) for s in names.values()])
    nr = max([len("n_real")] + [len(str(v)) for v in pc["real_counts"].values()])
    nf = max([len("n_fake")] + [len(str(v)) for v in pc["fake_counts"].values()])
    missing_f, missing_r = pc["missing_in_fake"], pc["missing_in_real"]
    lines = [
        f"Per class (class c of fake against class c of real; boundary={pc.get('boundary')}): "
        f"{sum(1 for v in pc['real_counts'].values() if v)} classes in real, "
        f"{sum(1 for v in pc['fake_counts'].values() if v)} in fake, "
        f"{len(pc['evaluated'])} evaluated",
        "  missing from fake (dropped modes): "
        + (", ".join(names[c] for c in missing_f) if missing_f else "none"),
        "  missing from real: " + (", ".join(names[c] for c in missing_r) if missing_r else "none"),
    ]
    cols = per_class_columns(pc, metrics)
    status = {}
    for c in classes:
        if c in missing_f:
            status[c] = "(no fake samples)"
        elif c in missing_r:
            status[c] = "(no real samples)"
        elif c in pc["skipped"]:
            status[c] = "(skipped, see below)"

    def prefix(label: str, n_r: str, n_f: str) -> str:
        return f"  {label:<{cw}}  {n_r:>{nr}}  {n_f:>{nf}}"

    def counts(c: Any) -> str:
        return prefix(names[c], str(pc["real_counts"][c]), str(pc["fake_counts"][c]))

    if not cols:
        lines.append(prefix("class", "n_real", "n_fake"))
        for c in classes:
            lines.append(counts(c) + ("  " + status[c] if c in status else ""))
    for block in _blocks(cols, len(prefix("", "", "")), width):
        widths = [max(10, len(label)) for label, *_ in block]

        def row(
            values: Mapping[str, Any], block: list[Column] = block, widths: list[int] = widths
        ) -> str:
            cells = [cell(values.get(fam, {}).get(met, {}).get(k)) for _, fam, met, k in block]
            return "".join(f"  {v:>{w}}" for v, w in zip(cells, widths))

        lines.append("")
        lines.append(
            prefix("class", "n_real", "n_fake")
            + "".join(f"  {label:>{w}}" for (label, *_), w in zip(block, widths))
        )
        for c in classes:
            if c in status:
                lines.append(counts(c) + "  " + status[c])
            else:
                lines.append(counts(c) + row(pc["scalars"][c]))
        if len(pc["evaluated"]) > 1:
            lines.append(prefix("mean", "", "") + row(pc["class_mean"]))
    notes = [f"  class {names[c]} skipped: {why}" for c, why in pc["skipped"].items()]
    for c, reasons in pc["partial"].items():
        notes.extend(f"  class {names[c]}: not computed: {why}" for why in reasons)
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines)
