"""A reusable real set: its passes computed once, then any number of fake sets evaluated.

``ref = fastprdc.Reference(real, metrics=..., k=..., params=...)`` validates ``real`` once and
runs the real side of the engine's plan (``_engine``: the self-kNN of real at the depth every
requested family needs, the real mean and the real rows' distances to the centres); with
``real_labels`` it does the same for every class. ``ref.evaluate(fake, ...)`` then runs only
the fake side and the cross pass (plus authenticity's tie completion), and returns exactly
what ``fastprdc.evaluate(real, fake, ...)`` returns with the same arguments.

Why the reuse is exact: with ``exact=True`` every distance, neighbour list (sorted by distance,
then index) and decision is the float64 oracle's (docs/metrics.md section 10), so

- a deeper self-kNN list starts with the shallower one: the stored list, cut to the depth a
  request needs, is what ``evaluate`` computes;
- a float32 real set used as float64 (a float64 fake promotes the pair) holds the same values
  (the float32 -> float64 conversion is exact), so its self-kNN, mean (numpy's float64 sum
  of the same values in the same order) and centre distances are unchanged;
- which backend, tile size or thread count computed the real side does not matter.

``exact=False`` results are float32-accurate and depend on the tile size; a reference built
with ``exact=False`` therefore only serves ``exact=False`` runs with the same backend and run
options (``tile_rows``, ``max_memory``, ``num_threads``), and vice versa.

``ref.save(path)`` writes one ``.npz`` (no pickle; its format: :mod:`._reference_file`): the
stored real sides, the parameters, the fingerprint of the real features (:func:`fingerprint`),
the library version and, with ``include_features=True``, the features themselves.
``Reference.load(path, real=None)`` reads it back; a file without features needs the real set
again (``real=`` or :meth:`Reference.attach`), checked against the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Union

import numpy as np

from . import _engine, modes
from ._backends import resolve_device
from ._engine import FAKE_MEAN, Centre, Needs, Plan, SideOutput, run_side
from ._options import MemoryLike, ProgressLike, RunOptions, make_options
from ._reference_file import (
    FORMAT,
    FORMAT_VERSION,
    ArchiveReader,
    is_reference_file,
    json_params,
    open_archive,
    reference_meta,
    running_version,
    savable_labels,
    side_depth,
    side_meta,
    write_archive,
)
from ._validation import validate_features, validate_pair
from .evaluate import KLike, _bind, _families, _requests
from .metrics import DEFAULT_METRICS
from .metrics._base import MetricFamily, merged_needs, plan_requests, run_families
from .result import EvaluationResult

__all__ = ["FORMAT", "FORMAT_VERSION", "Reference", "fingerprint", "is_reference_file"]

PathLike = Union[str, "os.PathLike[str]"]

_NO_FAKE_LIMIT = sys.maxsize  # "as many fakes as needed": real-side checks only
_HASH_CHUNK = 1 << 24  # bytes hashed per step (rows of the validated array, no copy)


# --------------------------------------------------------------------------- fingerprint


def _fingerprint_validated(a: np.ndarray) -> str:
    """sha256 of a validated (2-D, C-contiguous, float32/float64) array: a header with the
    shape and dtype, then the little-endian bytes row by row, streamed in chunks."""
    h = hashlib.sha256()
    header = {"shape": [int(s) for s in a.shape], "dtype": a.dtype.name}
    h.update(b"fastprdc.features.v1\n")
    h.update(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    h.update(b"\n")
    little = a.dtype.newbyteorder("<")
    step = max(1, _HASH_CHUNK // max(1, a.shape[1] * a.dtype.itemsize))
    for r0 in range(0, a.shape[0], step):
        chunk = a[r0 : r0 + step]
        if chunk.dtype != little:  # big-endian machine or input: hash the little-endian bytes
            chunk = chunk.astype(little)
        h.update(memoryview(np.ascontiguousarray(chunk)).cast("B"))
    return "sha256:" + h.hexdigest()


def fingerprint(real: Any) -> str:
    """The fingerprint of a real feature set, as stored in a reference file.

    ``"sha256:<hex>"`` of a canonical encoding of the features after validation (the exact
    conversion every entry point applies: integers, float16 and float32 become float32,
    float64 stays float64): the line ``fastprdc.features.v1``, the line
    ``{"dtype":"float32","shape":[N,d]}``, then the values as little-endian bytes, row after
    row. It depends on the values, the shape and the validated dtype only, so it is the same
    on every machine and backend, for C- or Fortran-ordered input and for a memmap (hashed in
    chunks of rows, never copied whole). The same values as float32 and as float64 have
    different fingerprints.
    """
    return _fingerprint_validated(validate_features(real, "real", min_rows=2))


# --------------------------------------------------------------------------- real sides


def _real_needs(needs: Needs) -> Needs:
    """The part of ``needs`` that the real side serves (nothing about fake)."""
    return Needs(
        real_radius_ks=needs.real_radius_ks,
        real_self_knn=needs.real_self_knn,
        fake_to_real_knn=needs.fake_to_real_knn,
        realism=needs.realism,
        fake_to_real_knn_wanted=needs.fake_to_real_knn_wanted,
        centre_distances=frozenset(
            (which, c) for which, c in needs.centre_distances if (which, c) != ("real", FAKE_MEAN)
        ),
        nearest_ball_ties=needs.nearest_ball_ties,
    )


def _real_plan(needs: Needs, n: int) -> Plan:
    """The plan of the real passes alone (its real-size checks included)."""
    return Plan.build(_real_needs(needs), n, 0)


def _centre_text(centre: Centre) -> str:
    kind, value = centre
    if kind == "mean":
        return f"the {value} mean"
    return f"a given center (sha256 {_engine.centre_digest(centre)[:12]}...)"


def _missing(side: SideOutput | None, plan: Plan) -> list[str]:
    """What ``plan`` needs from the real side that ``side`` does not hold."""
    out = []
    depth = side_depth(side)
    if plan.real_depth > depth:
        out.append(f"the real self-kNN to depth {plan.real_depth} (the reference holds {depth})")
    if plan.means("real") and (side is None or side.mean is None):
        out.append("the real mean")
    for centre in plan.real_centres:
        if side is None or centre not in side.centre_distances:
            out.append(f"the real rows' distances to {_centre_text(centre)}")
    return out


def _trim(side: SideOutput, plan: Plan) -> SideOutput:
    """The stored side cut to what ``plan`` asks for, as the engine would have computed it."""
    depth = plan.real_depth
    knn = None
    if depth and side.knn is not None:
        knn = (side.knn[0][:, :depth], side.knn[1][:, :depth])
    return SideOutput(
        knn=knn,
        mean=side.mean if plan.means("real") else None,
        centre_distances={c: side.centre_distances[c] for c in plan.real_centres},
        n_rechecked=side.n_rechecked,
        seconds=0.0,
    )


def _request_text(requests: Sequence[tuple[MetricFamily, Sequence[Any]]]) -> str:
    metrics = [family.name for family, _ in requests]
    ks = {family.name: list(ks) for family, ks in requests if family.uses_k}
    return f"metrics={metrics}, k={ks}"


def _cli_text(
    wanted: Mapping[str, list[Any]], requests: Sequence[tuple[MetricFamily, Sequence[Any]]]
) -> str:
    """The `fastprdc reference` command line building a reference for ``wanted`` (family: ks),
    with the family options of ``requests``' parameters that differ from the defaults (an array
    parameter, the alpha/beta centre, as FILE)."""
    cover = "precision_recall_cover"
    ks = sorted({k for name, ks in wanted.items() if name != cover for k in ks if k is not None})
    cover_ks = [k for k in wanted.get(cover, []) if k is not None]
    text = f"fastprdc reference REAL --out OUT.npz --metrics {' '.join(wanted)}"
    if ks or cover_ks:
        text += f" --k {' '.join(map(str, ks or cover_ks))}"
    if cover_ks and ks and cover_ks != ks:
        text += f" --cover-k {' '.join(map(str, cover_ks))}"
    for family, _ in requests:
        for name, value in family.params.items():
            if isinstance(value, np.ndarray):
                text += f" --{name.replace('_', '-')} FILE"
            elif value is not None and value != family.defaults.get(name):
                text += f" --{name.replace('_', '-')} {value}"
    return text


# --------------------------------------------------------------------------- Reference


class Reference:
    """A real feature set with its passes computed once, to evaluate many fake sets against.

    Args:
        real: (N, d) array-like, validated as in :func:`fastprdc.evaluate` (any real dtype,
            converted exactly to float32 or float64; kept by reference, not copied, when it
            already is C-contiguous float32 or float64).
        k, metrics, params: the requests the reference is built for, exactly as in
            :func:`fastprdc.evaluate` (defaults: precision_recall and density_coverage at
            their default k). The real side covers all of them at once: the deepest self-kNN
            any of them needs, the real mean and the centre distances of alpha-precision.
        real_labels: one class id per real row: also builds the real side of every class
            (for ``ref.evaluate(fake, fake_labels=...)``, the per-class results).
        device, exact, max_memory, num_threads, progress, tile_rows: how to run the real
            passes, as in :func:`fastprdc.evaluate`.

    Attributes:
        n_real, dim, dtype: the validated real set (``dtype`` "float32" or "float64").
        fingerprint: :func:`fingerprint` of the real features.
        metrics, ks, params: the requests built for (``ks``: ``{family: [k, ...]}``,
            ``[None]`` for a family without k; ``params``: every bound parameter).
        exact: whether the real side is exact (``ref.evaluate`` runs with the same setting).
        real_depth: depth of the stored real self-kNN.
        has_features: whether the real features are attached (always, unless loaded from a
            file without them and not given again).
        has_labels: whether per-class real sides are stored.
        library_version: the fastprdc version that built the real side.
        seconds: time spent building the real side(s).
    """

    def __init__(
        self,
        real: Any,
        *,
        k: KLike | Mapping[str, KLike] | None = None,
        metrics: str | Sequence[str] = DEFAULT_METRICS,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        real_labels: Any = None,
        device: str = "auto",
        exact: bool = True,
        max_memory: MemoryLike = None,
        num_threads: int | None = None,
        progress: ProgressLike = False,
        tile_rows: int | None = None,
    ) -> None:
        t0 = time.perf_counter()
        families = _bind(_families(metrics), params)
        opts = make_options(
            exact=exact,
            max_memory=max_memory,
            num_threads=num_threads,
            progress=progress,
            tile_rows=tile_rows,
        )
        backend = resolve_device(device, real)
        real_v = validate_features(real, "real", min_rows=2)
        requests = _requests(families, k, real_v)
        n, d = real_v.shape
        _, needs = plan_requests(requests, n, _NO_FAKE_LIMIT, d)  # the ks are resolved already
        plan = _real_plan(needs, n)
        labels = None
        if real_labels is not None:
            labels = modes.validate_labels(real_labels, n, "real_labels", "real")

        self._init_common(
            real=real_v,
            requests=requests,
            fingerprint=_fingerprint_validated(real_v),
            n=n,
            dim=d,
            dtype=real_v.dtype.name,
            exact=opts.exact,
            settings=_settings(backend, opts),
            library_version=running_version(),
        )
        self._side = run_side("real", real_v, plan, opts, backend)
        if labels is not None:
            self._labels = labels
            self._class_sides = {}
            for c, rows in modes._groups(labels).items():
                self._class_sides[c] = self._class_side(real_v, rows, opts, backend)
        self.seconds = time.perf_counter() - t0

    # construction helpers ------------------------------------------------
    def _init_common(
        self,
        *,
        real: np.ndarray | None,
        requests: list[tuple[MetricFamily, list[Any]]],
        fingerprint: str,
        n: int,
        dim: int,
        dtype: str,
        exact: bool,
        settings: dict[str, Any],
        library_version: str,
    ) -> None:
        self._real = real
        self._requests = requests
        self.fingerprint = fingerprint
        self.n_real, self.dim, self.dtype = n, dim, dtype
        self.exact = exact
        self._settings = settings
        self.library_version = library_version
        self._labels: np.ndarray | None = None
        self._class_sides: dict[Any, SideOutput | None] = {}
        self.seconds = 0.0

    def _class_side(
        self, real_v: np.ndarray, rows: np.ndarray, opts: RunOptions, backend: Any
    ) -> SideOutput | None:
        """The real side of one class: every request that fits its size (as ``per_class``
        decides, with as many fakes as needed), and the real self-kNN as deep as the class
        allows, up to the whole set's depth (so that a smaller k serves a class too small for
        the reference's own k); None when it holds nothing."""
        n_c = len(rows)
        if n_c < modes._MIN_ROWS:
            return None
        kept, _ = modes._fit(self._requests, n_c, _NO_FAKE_LIMIT, real_v.shape[1])
        needs = merged_needs(kept) | Needs(real_self_knn=min(self.real_depth, n_c - 1))
        if needs == Needs():
            return None
        quiet = replace(opts, progress=None)
        return run_side("real", real_v[rows], _real_plan(needs, n_c), quiet, backend)

    # public attributes -----------------------------------------------------
    @property
    def metrics(self) -> list[str]:
        return [family.name for family, _ in self._requests]

    @property
    def ks(self) -> dict[str, list[Any]]:
        return {family.name: list(ks) for family, ks in self._requests}

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        return {family.name: dict(family.bound()) for family, _ in self._requests}

    @property
    def real_depth(self) -> int:
        return side_depth(self._side)

    @property
    def has_features(self) -> bool:
        return self._real is not None

    @property
    def has_labels(self) -> bool:
        return self._labels is not None

    @property
    def real_side(self) -> SideOutput:
        """The stored real side (engine arrays; do not modify)."""
        return self._side

    def __repr__(self) -> str:
        return (
            f"Reference(N={self.n_real}, d={self.dim}, dtype={self.dtype}, "
            f"{_request_text(self._requests)}, real self-kNN depth {self.real_depth}, "
            f"exact={self.exact}, labels={'yes' if self.has_labels else 'no'}, "
            f"features={'attached' if self.has_features else 'not attached'}, "
            f"{self.fingerprint[:19]}...)"
        )

    # real features -----------------------------------------------------------
    def attach(self, real: Any) -> Reference:
        """Attach the real features (for a reference loaded without them), checked against the
        fingerprint; returns ``self``. ValueError naming both fingerprints when they differ."""
        real_v = validate_features(real, "real", min_rows=2)
        got = _fingerprint_validated(real_v)
        if got != self.fingerprint:
            raise ValueError(
                "real does not match this reference: the reference was built from real "
                f"features of shape ({self.n_real}, {self.dim}) and dtype {self.dtype}, "
                f"fingerprint {self.fingerprint}; the given ones have shape {real_v.shape} and "
                f"dtype {real_v.dtype.name} after validation, fingerprint {got}"
            )
        self._real = real_v
        return self

    # evaluation --------------------------------------------------------------
    def evaluate(
        self,
        fake: Any,
        *,
        k: KLike | Mapping[str, KLike] | None = None,
        metrics: str | Sequence[str] | None = None,
        boundary: str = "inclusive",
        sample_level: bool = False,
        real_labels: Any = None,
        fake_labels: Any = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        device: str = "auto",
        exact: bool | None = None,
        max_memory: MemoryLike = None,
        num_threads: int | None = None,
        progress: ProgressLike = False,
        tile_rows: int | None = None,
    ) -> EvaluationResult:
        """``fastprdc.evaluate(real, fake, ...)`` with the stored real side: runs only the fake
        self-kNN, the fake centre distances and the cross pass. The result is identical to
        ``fastprdc.evaluate`` with the same arguments (``info`` adds ``"reference"``).

        ``metrics``, ``k`` and ``params`` default to the reference's: with none of them
        given, exactly the requests the reference was built for. Given ones follow
        :func:`fastprdc.evaluate`; ``k`` and ``params`` left out then keep the reference's
        values for the families it was built with. Any request whose real passes the
        reference holds is served (e.g. smaller k, another realism ``prune``, another
        ``n_alphas``, a cover ``variant``, either boundary); others raise ValueError naming
        what is missing and what to build the reference with. ``exact`` defaults to the
        reference's and must equal it. ``fake_labels`` needs a reference built with
        ``real_labels`` (``real_labels``, if given, must equal those).
        """
        if self._real is None:
            raise ValueError(
                "this reference was saved without the real features, which the cross pass "
                "needs: pass them to Reference.load(path, real=...) or ref.attach(real) "
                f"(shape ({self.n_real}, {self.dim}), fingerprint {self.fingerprint})"
            )
        if exact is None:
            exact = self.exact
        if bool(exact) != self.exact:
            raise ValueError(
                f"this reference was built with exact={self.exact}; evaluate with "
                f"exact={self.exact} or build a Reference with exact={bool(exact)} "
                "(the real side of one would not match the other's results)"
            )
        real = self._real
        requests = self._resolve(k, metrics, params)
        run = {
            "device": device,
            "exact": exact,
            "max_memory": max_memory,
            "num_threads": num_threads,
            "tile_rows": tile_rows,
        }
        labelled = real_labels is not None or fake_labels is not None
        if labelled:
            if fake_labels is None:
                raise ValueError("real_labels and fake_labels must be given together")
            if self._labels is None:
                raise ValueError(
                    "this reference was built without real_labels: build it with "
                    "Reference(real, ..., real_labels=...) to evaluate per class"
                )
            shapes = validate_pair(real, fake)
            real_v, fake_v = shapes
            if real_labels is not None:
                given = modes.validate_labels(
                    real_labels, shapes[0].shape[0], "real_labels", "real"
                )
                if given.tolist() != self._labels.tolist():
                    raise ValueError(
                        "real_labels differ from the labels this reference was built with "
                        "(leave real_labels out to use the stored ones)"
                    )
            modes.validate_labels(fake_labels, shapes[1].shape[0], "fake_labels", "fake")
        result = run_families(
            real,
            fake,
            requests,
            boundary=boundary,
            sample_level=sample_level,
            progress=progress,
            real_side=self._provider(self._side, requests, "the real set"),
            **run,
        )
        if labelled:
            result.per_class = modes.per_class(
                real_v,
                fake_v,
                self._labels,
                fake_labels,
                requests,
                boundary=boundary,
                sample_level=sample_level,
                progress=progress,
                run_class=lambda c, rows_r, rows_f, kept, **kw: self._run_class(
                    c, real_v[rows_r], fake_v[rows_f], kept, **kw
                ),
                **run,
            )
        result.info["reference"] = {
            "fingerprint": self.fingerprint,
            "real_side": "stored",
            "real_depth": self.real_depth,
        }
        return result

    def _resolve(
        self,
        k: KLike | Mapping[str, KLike] | None,
        metrics: str | Sequence[str] | None,
        params: Mapping[str, Mapping[str, Any]] | None,
    ) -> list[tuple[MetricFamily, list[Any]]]:
        """The (family, ks) requests of one evaluate call (see :meth:`evaluate`)."""
        if k is None and metrics is None and params is None:
            return list(self._requests)
        names = self.metrics if metrics is None else _families(metrics)
        mine = {family.name: (family, ks) for family, ks in self._requests}
        if params is None:
            params = {name: mine[name][0].params for name in names if name in mine}
        if k is None:
            k = {
                name: list(mine[name][1]) for name in names if name in mine and mine[name][0].uses_k
            }
        assert self._real is not None
        return _requests(_bind(names, params), k, self._real)

    def _provider(
        self,
        side: SideOutput | None,
        requests: Sequence[tuple[MetricFamily, Sequence[Any]]],
        where: str,
    ) -> Any:
        """A ``run_families`` real-side provider serving ``side`` (see ``_base``)."""

        def provide(
            needs: Needs, real: np.ndarray, fake: np.ndarray, opts: RunOptions, backend: Any
        ) -> SideOutput:
            self._check_run(opts, backend)
            plan = Plan.build(needs, real.shape[0], fake.shape[0])  # evaluate's size checks
            missing = _missing(side, plan)
            if missing:
                raise ValueError(self._missing_text(side, requests, real.shape[0], where))
            assert side is not None
            return _trim(side, plan)

        return provide

    def _missing_text(
        self,
        side: SideOutput | None,
        requests: Sequence[tuple[MetricFamily, Sequence[Any]]],
        n: int,
        where: str,
    ) -> str:
        lines = []
        for family, ks in requests:
            plan = _real_plan(family.needs(ks), n)
            missing = _missing(side, plan)
            if missing:
                what = family.name + (f" k={list(ks)}" if family.uses_k else "")
                lines.append(f"{what} needs " + " and ".join(missing))
        wanted = {name: ks for name, ks in self.ks.items()}
        for family, ks in requests:
            if family.uses_k:
                wanted[family.name] = sorted(set(wanted.get(family.name, [])) | set(ks))
            else:
                wanted.setdefault(family.name, [None])
        k_text = {name: ks for name, ks in wanted.items() if ks != [None]}
        return (
            f"this reference cannot serve the request on {where}: "
            + "; ".join(lines)
            + f". It was built for {_request_text(self._requests)}. Build a reference for the "
            f"request instead (Python: Reference(real, metrics={list(wanted)}, k={k_text}) with "
            f"the params of this request; command line: {_cli_text(wanted, requests)}), or "
            "evaluate without one"
        )

    def _check_run(self, opts: RunOptions, backend: Any) -> None:
        """exact=False results depend on the backend and tiling: those must match too."""
        if self.exact:
            return
        now = _settings(backend, opts)
        if now != self._settings:
            raise ValueError(
                "this reference was built with exact=False, whose float32 results depend on "
                f"the backend and tiling: it was built with {self._settings}, this run uses "
                f"{now}; use the same settings, or exact=True (the default) on both sides"
            )

    def _run_class(
        self,
        c: Any,
        real: np.ndarray,
        fake: np.ndarray,
        requests: Sequence[tuple[MetricFamily, Sequence[Any]]],
        **kwargs: Any,
    ) -> EvaluationResult:
        """One class of ``per_class``, served by the class's stored real side."""
        side = self._class_sides.get(c)
        where = f"class {c!r} ({real.shape[0]} real samples)"
        provider = self._provider(side, requests, where)
        return run_families(real, fake, requests, real_side=provider, **kwargs)

    # file ----------------------------------------------------------------------
    def save(
        self, path: PathLike, *, include_features: bool = False, compress: bool = False
    ) -> None:
        """Write the reference to one ``.npz`` file at ``path`` (no pickle; the name is kept
        as given).

        It holds the real side(s) (self-kNN distances and indices, mean, centre
        distances), the requests (metrics, ks, params), the settings, the real features'
        fingerprint and shape, the library and format versions, the labels when there are
        any, and with ``include_features=True`` the real features themselves (then
        :meth:`load` needs no ``real``). ``compress=True`` deflates the arrays.
        """
        if include_features and self._real is None:
            raise ValueError("include_features=True but the real features are not attached")
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": self.library_version,
            "saved_by": running_version(),
            "fingerprint": self.fingerprint,
            "n_real": self.n_real,
            "dim": self.dim,
            "dtype": self.dtype,
            "metrics": self.metrics,
            "ks": self.ks,
            "params": json_params(self.params, arrays),
            "exact": self.exact,
            "settings": self._settings,
            "features": bool(include_features),
            "side": side_meta(self._side, "side/", arrays),
            "labels": None,
        }
        if self._labels is not None:
            # the saved labels (object ids converted) group into the same classes; the order
            # of modes._groups over them, which load recomputes, numbers the class sides
            labels = savable_labels(self._labels)
            arrays["labels"] = labels
            classes = []
            for j, (c, rows) in enumerate(modes._groups(labels).items()):
                side = side_meta(self._class_sides.get(c), f"class{j}/", arrays)
                classes.append({"n": len(rows), "side": side})
            meta["labels"] = {"classes": classes}
        if include_features:
            assert self._real is not None
            arrays["features"] = self._real
        arrays["meta"] = np.array(json.dumps(meta))
        write_archive(path, arrays, compress)

    @classmethod
    def load(cls, path: PathLike, real: Any = None) -> Reference:
        """Read a file written by :meth:`save`.

        ``real``: the real features, checked against the stored fingerprint (needed before
        ``evaluate`` when the file holds no features; :meth:`attach` does the same later).
        Raises ValueError for a file that is not a reference (or is damaged), of a newer
        format version, or for a ``real`` that is not the set the reference was built from;
        OSError (FileNotFoundError...) when the file cannot be opened.
        """
        with open_archive(path) as npz:
            ref = cls._from_npz(npz, str(path))
        if real is not None:
            ref.attach(real)
        return ref

    @classmethod
    def _from_npz(cls, npz: Any, name: str) -> Reference:
        reader = ArchiveReader(npz, name)
        meta = reference_meta(npz, name)
        version = meta.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"{name}: bad reference format version {version!r}")
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{name} was written by fastprdc {meta.get('saved_by', '?')} in reference "
                f"format version {version}; this fastprdc ({running_version()}) reads format "
                f"version {FORMAT_VERSION} and below: upgrade fastprdc or rebuild the reference"
            )
        try:
            n, d, dtype = int(meta["n_real"]), int(meta["dim"]), str(meta["dtype"])
            fp = str(meta["fingerprint"])
            metrics, ks, params = list(meta["metrics"]), dict(meta["ks"]), dict(meta["params"])
            exact, settings = bool(meta["exact"]), dict(meta["settings"])
            has_features = bool(meta["features"])
        except (KeyError, TypeError, ValueError) as exc:
            reader.fail(f"incomplete metadata ({exc!r})")
        if dtype not in ("float32", "float64"):
            reader.fail(f"dtype {dtype!r}")
        for family, values in params.items():
            if not isinstance(values, dict):
                reader.fail(f"the parameters of {family!r} are {values!r}, not a mapping")
            for pname, value in values.items():
                if isinstance(value, dict) and "array" in value:
                    values[pname] = np.array(reader.read(str(value["array"])))
        try:
            families = _bind(_families(metrics), params)
            requests = [(fam, [None if v is None else int(v) for v in ks[fam.name]])
                        for fam in families]  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            reader.fail(f"bad requests ({exc})")

        real_v = None
        if has_features:
            real_v = reader.array("features", (n, d), "f")
            if real_v.dtype.name != dtype:
                reader.fail(f"features have dtype {real_v.dtype}, expected {dtype}")
            real_v = np.ascontiguousarray(real_v)
            if _fingerprint_validated(real_v) != fp:
                reader.fail("the stored features do not match the stored fingerprint")
        ref = cls.__new__(cls)
        ref._init_common(
            real=real_v,
            requests=requests,
            fingerprint=fp,
            n=n,
            dim=d,
            dtype=dtype,
            exact=exact,
            settings=settings,
            library_version=str(meta.get("library_version", "unknown")),
        )
        side = reader.side(meta.get("side"), "side/", n, d)
        if side is None:
            reader.fail("no real side")
        ref._side = side
        labels_meta = meta.get("labels")
        if labels_meta is not None:
            labels = reader.read("labels") if "labels" in npz.files else None
            if labels is None or labels.shape != (n,):
                reader.fail("labels missing or of the wrong length")
            groups = modes._groups(labels)
            classes = labels_meta.get("classes", [])
            if [entry.get("n") for entry in classes] != [len(r) for r in groups.values()]:
                reader.fail("the stored classes do not match the stored labels")
            ref._labels = labels
            ref._class_sides = {
                c: reader.side(entry["side"], f"class{j}/", len(groups[c]), d)
                for j, (c, entry) in enumerate(zip(groups, classes))
            }
        return ref


def _settings(backend: Any, opts: RunOptions) -> dict[str, Any]:
    """The run settings that can change exact=False results."""
    return {
        "backend": str(backend.name),
        "tile_rows": opts.tile_rows,
        "max_memory": opts.max_memory,
        "num_threads": opts.num_threads,
    }
