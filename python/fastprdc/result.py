"""EvaluationResult: the typed, printable outcome of :func:`fastprdc.evaluate`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

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


@dataclass
class EvaluationResult:
    """Scalar metrics per family and k, optional per-sample arrays, and run information.

    Attributes:
        scalars: ``{family: {metric: {k: float}}}``, e.g.
            ``scalars["precision_recall"]["precision"][3]``.
        samples: ``{family: {name: {k: ndarray}}}`` when ``sample_level=True``, else None.
        info: n_real, n_fake, dim, dtype, backend, exact, boundary, ks (per family),
            n_rechecked, seconds, timings.
    """

    scalars: dict[str, dict[str, dict[int, float]]]
    samples: dict[str, dict[str, dict[int, np.ndarray]]] | None
    info: dict[str, Any]

    def __getitem__(self, metric: str) -> dict[int, float]:
        """``result["precision"]`` -> ``{k: value}`` from whichever family computes it."""
        for family in self.scalars.values():
            if metric in family:
                return family[metric]
        known = [m for family in self.scalars.values() for m in family]
        raise KeyError(f"no metric {metric!r} in this result; it has {known}")

    def to_dict(self) -> dict[str, Any]:
        """Plain Python containers (floats, ints, lists) ready for ``json.dumps``."""
        out = {"scalars": _plain(self.scalars), "info": _plain(self.info)}
        if self.samples is not None:
            out["samples"] = _plain(self.samples)
        return out

    def to_json(self, path: PathLike | None = None, *, indent: int | None = 2) -> str:
        """Strict JSON text of :meth:`to_dict` (non-finite floats as strings); written to
        ``path`` when one is given."""
        text = json.dumps(_strict_json(self.to_dict()), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def __repr__(self) -> str:
        info = self.info
        head = ", ".join(
            f"{key}={info[key]}"
            for key in ("n_real", "n_fake", "dim", "dtype", "backend", "boundary", "exact")
            if key in info
        )
        ks = sorted({k for fam in self.scalars.values() for vals in fam.values() for k in vals})
        rows = [(m, vals) for fam in self.scalars.values() for m, vals in fam.items()]
        width = max([len("metric")] + [len(m) for m, _ in rows])
        cols = [f"k={k}" for k in ks]
        colw = max([10] + [len(c) for c in cols])
        lines = [f"EvaluationResult({head})"]
        lines.append(f"  {'metric':<{width}}" + "".join(f"{c:>{colw + 2}}" for c in cols))
        for metric, vals in rows:
            cells = [f"{vals[k]:.4f}" if k in vals else "-" for k in ks]
            lines.append(f"  {metric:<{width}}" + "".join(f"{c:>{colw + 2}}" for c in cells))
        if "seconds" in info:
            extra = f"  ({info['seconds']:.3f} s"
            if info.get("n_rechecked"):
                extra += f", {info['n_rechecked']} float64 rechecks"
            lines.append(extra + ")")
        return "\n".join(lines)
