"""EvaluationResult: the typed, printable outcome of :func:`fastprdc.evaluate`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

__all__ = ["EvaluationResult"]

PathLike = Union[str, Path]


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, arrays -> lists, containers recursively."""
    if isinstance(value, dict):
        return {
            (_plain(k) if isinstance(k, np.generic) else k): _plain(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _strict_json(value: Any) -> Any:
    """Non-finite floats -> "Infinity" / "-Infinity" / "NaN" so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict_json(v) for v in value]
    return value


def _cell(value: Any) -> str:
    """One table cell: ints as ints, floats to 4 decimals, non-finite spelled out."""
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


def _curve_cell(curve: np.ndarray) -> str:
    """A curve summarised: its length and range."""
    c = np.asarray(curve, dtype=np.float64)
    if c.size == 0:
        return "0 points"
    return f"{c.size} points in [{_cell(float(np.min(c)))}, {_cell(float(np.max(c)))}]"


def _params_text(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    return " (" + ", ".join(f"{name}={value}" for name, value in params.items()) + ")"


@dataclass
class EvaluationResult:
    """Scalar metrics per family and k, optional per-sample arrays, curves, per-class table.

    Attributes:
        scalars: ``{family: {metric: {k: value}}}``, e.g.
            ``scalars["precision_recall"]["precision"][3]``. A family without k
            (``alpha_precision_beta_recall``) uses the key None (``"null"`` in JSON).
        samples: ``{family: {name: {k: ndarray}}}`` when ``sample_level=True``, else None
            (every family documents its arrays in its function's docstring).
        info: n_real, n_fake, dim, dtype, backend, exact, boundary, ks and params (per
            family), n_rechecked, seconds, timings.
        curves: ``{family: {name: {k: ndarray}}}``: family-level arrays such as
            ``curves["alpha_precision_beta_recall"]["alpha_precision_curve"][None]``.
        per_class: the mode-level table of :func:`fastprdc.modes.per_class` when labels
            were given, else None.
    """

    scalars: dict[str, dict[str, dict[Any, Any]]]
    samples: dict[str, dict[str, dict[Any, np.ndarray]]] | None
    info: dict[str, Any]
    curves: dict[str, dict[str, dict[Any, np.ndarray]]] = field(default_factory=dict)
    per_class: dict[str, Any] | None = None

    def __getitem__(self, metric: str) -> dict[Any, Any]:
        """``result["precision"]`` -> ``{k: value}`` from whichever family computes it
        (scalars first, then curves)."""
        for part in (self.scalars, self.curves):
            for family in part.values():
                if metric in family:
                    return family[metric]
        known = [m for part in (self.scalars, self.curves) for f in part.values() for m in f]
        raise KeyError(f"no metric {metric!r} in this result; it has {known}")

    def to_dict(self) -> dict[str, Any]:
        """Plain Python containers (floats, ints, lists) ready for ``json.dumps``."""
        out = {"scalars": _plain(self.scalars), "info": _plain(self.info)}
        if self.curves:
            out["curves"] = _plain(self.curves)
        if self.samples is not None:
            out["samples"] = _plain(self.samples)
        if self.per_class is not None:
            out["per_class"] = _plain(self.per_class)
        return out

    def to_json(self, path: PathLike | None = None, *, indent: int | None = 2) -> str:
        """Strict JSON text of :meth:`to_dict` (non-finite floats as strings); written to
        ``path`` when one is given."""
        text = json.dumps(_strict_json(self.to_dict()), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def plot(self, kind: str = "summary", **kwargs: Any) -> Any:
        """A matplotlib Figure of this result: ``kind`` is ``"summary"``, ``"metrics_vs_k"``,
        ``"alpha_beta_curves"``, ``"pce_rce_re"``, ``"per_class"`` or ``"histograms"`` (the
        :mod:`fastprdc.plot` function of that name gets ``kwargs``). Needs matplotlib
        (``pip install "fastprdc[plot]"``)."""
        from . import plot

        return plot.draw(self, kind, **kwargs)

    def __repr__(self) -> str:
        info = self.info
        head = ", ".join(
            f"{key}={info[key]}"
            for key in ("n_real", "n_fake", "dim", "dtype", "backend", "boundary", "exact")
            if key in info
        )
        ks = sorted(
            {
                k
                for part in (self.scalars, self.curves)
                for fam in part.values()
                for vals in fam.values()
                for k in vals
                if k is not None
            }
        )
        cols = [f"k={k}" for k in ks] or ["value"]
        params = info.get("params", {})
        rows: list[tuple[str, list[str]]] = []  # (label, cells); cells None: a text row
        texts: dict[int, str] = {}
        for family in dict.fromkeys([*self.scalars, *self.curves]):
            rows.append((family + _params_text(params.get(family)), []))
            for metric, vals in self.scalars.get(family, {}).items():
                rows.append(("  " + metric, self._cells(vals, ks, _cell)))
            for name, vals in self.curves.get(family, {}).items():
                texts[len(rows)] = "; ".join(
                    (f"k={k}: " if k is not None else "") + _curve_cell(v) for k, v in vals.items()
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
        if self.per_class is not None:
            lines.append(self._per_class_text())
        if "seconds" in info:
            extra = f"  ({info['seconds']:.3f} s"
            if info.get("n_rechecked"):
                extra += f", {info['n_rechecked']} float64 rechecks"
            lines.append(extra + ")")
        return "\n".join(line.rstrip() for line in lines)

    @staticmethod
    def _cells(vals: dict[Any, Any], ks: list[Any], fmt: Callable[[Any], str]) -> list[str]:
        """Cells of one row; a family without k puts its value in the first column."""
        if None in vals:
            return [fmt(vals[None])] + ["" for _ in ks[1:]]
        return [fmt(vals[k]) if k in vals else "-" for k in ks]

    def _per_class_text(self) -> str:
        pc = self.per_class or {}
        try:
            from .modes import format_per_class

            return "\n".join("  " + line for line in format_per_class(pc).splitlines())
        except Exception:  # never let a display problem hide the results
            missing = ", ".join(map(str, pc.get("missing_in_fake", []))) or "none"
            return (
                f"  per class: {len(pc.get('classes', []))} classes, "
                f"{len(pc.get('evaluated', []))} evaluated; missing from fake: {missing}"
            )
