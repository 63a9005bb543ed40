"""EvaluationResult: the typed, printable outcome of :func:`fastprdc.evaluate` (its text is
rendered by ``_tables.format_result``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from ._json import PER_SAMPLE, check_class_keys, decode, digest, encode, plain
from ._samples_file import read_into, write
from ._tables import format_result

__all__ = ["EvaluationResult"]

PathLike = Union[str, Path]


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
        raise KeyError(f"no metric {metric!r} in this result; it has {self.keys()}")

    def keys(self) -> list[str]:
        """The metric names ``result[name]`` serves (scalars, then curves), each once; with
        ``__iter__`` and ``in``, ``dict(result)`` is ``{metric: {k: value}}``."""
        names = [m for part in (self.scalars, self.curves) for f in part.values() for m in f]
        return list(dict.fromkeys(names))

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, metric: object) -> bool:
        return metric in self.keys()

    def __len__(self) -> int:
        return len(self.keys())

    def to_dict(self, *, samples: bool = True) -> dict[str, Any]:
        """Plain Python containers (floats, ints, lists) ready for ``json.dumps``.

        ``samples=False`` leaves out every per-sample array (``samples``, and the per-class
        ``samples`` and ``indices``): scalars, curves, info and the per-class table only,
        a size independent of the number of samples (what ``fastprdc eval --json`` writes).
        """
        out = {"scalars": plain(self.scalars), "info": plain(self.info)}
        if self.curves:
            out["curves"] = plain(self.curves)
        if samples and self.samples is not None:
            out["samples"] = plain(self.samples)
        if self.per_class is not None:
            per_class = self.per_class
            if not samples:
                per_class = {k: v for k, v in per_class.items() if k not in PER_SAMPLE}
            out["per_class"] = plain(per_class)
        return out

    def to_json(
        self, path: PathLike | None = None, *, indent: int | None = 2, samples: bool = True
    ) -> str:
        """Strict JSON text of :meth:`to_dict` (non-finite floats as strings); written to
        ``path`` when one is given. ``samples=False``: without per-sample arrays."""
        if self.per_class is not None:
            check_class_keys(list(self.per_class.get("classes", [])))
        text = encode(self.to_dict(samples=samples), indent)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationResult:
        """The result that :meth:`to_dict` described: ks and class ids back as keys, per-sample
        arrays and curves back as numpy arrays (bool, int64 or float64), non-finite values
        back as floats. Raises ValueError when ``data`` is not such a dict."""
        return cls(**decode(data))

    @classmethod
    def from_json(cls, source: PathLike, *, samples: PathLike | None = None) -> EvaluationResult:
        """Read what :meth:`to_json` (or ``fastprdc eval --json``) wrote: a file path, or the
        JSON text itself (a string that is not an existing file and starts with ``{``).
        ``samples``: the .npz of :meth:`save_samples` (``fastprdc eval --samples``) of the same
        run, for a JSON written without them. ``to_json`` of the result read gives the same
        text back. Raises ValueError naming what is wrong (an unreadable file, text that is
        not JSON, an entry missing or of the wrong kind, arrays of another run)."""
        text, where = None, str(source)
        if isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
            try:
                is_file = Path(source).is_file()
            except (OSError, ValueError):  # too long or odd for a file name
                is_file = False
            if not is_file:
                text, where = source, "the text given"
        if text is None:
            try:
                text = Path(source).read_text(encoding="utf-8-sig")  # a BOM is skipped
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"{source} is not a result JSON file (not UTF-8 text: byte {exc.start} "
                    f"is 0x{exc.object[exc.start]:02x})"
                ) from None
            except OSError as exc:
                raise ValueError(f"cannot read a result from {source}: {exc}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} is not JSON: {exc}") from exc
        try:
            result = cls.from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if samples is not None:
            read_into(result, samples, result._run_digest())
        return result

    def save_samples(self, path: PathLike) -> Path:
        """Every per-sample array, and only those, to one .npz at ``path`` (what ``fastprdc
        eval --samples`` writes): ``precision_recall.in_real_manifold_k3``, ...; with a
        per-class table also ``per_class.<class>.real_rows`` / ``fake_rows`` and
        ``per_class.<class>.<family>.<name>_k3``. Returns the path. ValueError when the
        result holds no per-sample arrays (it was computed without ``sample_level=True``)."""
        write(path, self.samples, self.per_class, self._run_digest())
        return Path(path)

    def _run_digest(self) -> str:
        """What tells this run from another: a hash of its JSON without per-sample arrays
        (scalars, curves, info with its timings, the per-class table) in a canonical form, so
        that a JSON reformatted by a tool (keys sorted, 1.0 written as 1) still matches."""
        return digest(self.to_dict(samples=False))

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
