"""EvaluationResult: the typed, printable outcome of :func:`fastprdc.evaluate` (its text is
rendered by ``_tables.format_result``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from ._tables import format_result

__all__ = ["EvaluationResult"]

PathLike = Union[str, Path]

#: Per-class entries that hold per-sample arrays (left out by ``to_dict(samples=False)``).
_PER_SAMPLE = ("samples", "indices")


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

    def to_dict(self, *, samples: bool = True) -> dict[str, Any]:
        """Plain Python containers (floats, ints, lists) ready for ``json.dumps``.

        ``samples=False`` leaves out every per-sample array (``samples``, and the per-class
        ``samples`` and ``indices``): scalars, curves, info and the per-class table only,
        a size independent of the number of samples (what ``fastprdc eval --json`` writes).
        """
        out = {"scalars": _plain(self.scalars), "info": _plain(self.info)}
        if self.curves:
            out["curves"] = _plain(self.curves)
        if samples and self.samples is not None:
            out["samples"] = _plain(self.samples)
        if self.per_class is not None:
            per_class = self.per_class
            if not samples:
                per_class = {k: v for k, v in per_class.items() if k not in _PER_SAMPLE}
            out["per_class"] = _plain(per_class)
        return out

    def to_json(
        self, path: PathLike | None = None, *, indent: int | None = 2, samples: bool = True
    ) -> str:
        """Strict JSON text of :meth:`to_dict` (non-finite floats as strings); written to
        ``path`` when one is given. ``samples=False``: without per-sample arrays."""
        text = json.dumps(
            _strict_json(self.to_dict(samples=samples)), indent=indent, allow_nan=False
        )
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
        """The run facts, one row per metric and one column per k, the per-class table."""
        return format_result(self)
