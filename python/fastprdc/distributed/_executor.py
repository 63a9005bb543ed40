"""The distributed executor of an engine :class:`~fastprdc._engine.Plan`.

It mirrors :func:`fastprdc._engine.run` pass by pass, as Dask futures:

1. inputs: every row block validated on a worker (the dtype rules of ``_validation``; the
   common dtype decided once from per-block facts), kept in worker memory for the run;
2. self-kNN of each set: one task per block pair I <= J (I == J: the backend's self-kNN;
   I < J: one cross sweep giving both directions), merged per row block by exact top-k merges
   (tree reductions of ``client.submit``);
   means: a chain of tasks carrying the float64 running row sum in row order (bit-identical to
   numpy's sequential axis-0 sum, see :func:`_tasks.mean_step`); centre distances per block;
3. the cross pass: one task per (real block, fake block) with the radii of its two blocks
   (computed on the workers from the merged neighbour lists, the realism pruning thresholds
   too), partials merged per real block and per fake block;
4. tie completion: ``_engine.nearest_ball_ties`` with ``deeper`` run as tasks;
5. ``_engine.assemble`` on the gathered arrays.

Steps 1 to 3 are submitted at once: Dask orders them by their data dependencies, and the
driver waits only for the gathered results (and for each round of the tie completion). The
driver holds O((N + M) k) numbers and the futures; a task holds two blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
from distributed import wait

from .. import _engine
from .._backends.contract import CrossResult
from .._engine import Centre, EngineOutput, Plan, SideOutput
from .._options import RunOptions
from .._validation import _check_shape, _target_dtype
from . import _tasks
from ._inputs import Source, check_block_rows, raw_blocks
from ._merge import merge_parts

__all__ = [
    "Blocks",
    "ShapeOnly",
    "Tracker",
    "backend_name",
    "check_sources",
    "cross",
    "knn_against",
    "mean",
    "prepare",
    "run_plan",
    "self_knn",
    "self_knn_sets",
]

#: Partials merged by one merge task (the ``split_every`` of the tree reductions).
FAN_IN = 8


def _merge_task(depths: dict[str, int], refs: list[tuple[Any, int | None]]) -> dict:
    """Merge partials given as (dict, None) or (tuple of dicts, position)."""
    return merge_parts([value if i is None else value[i] for value, i in refs], depths)


def _dtype_name(dtypes: Sequence[str]) -> str:
    return "float64" if "float64" in dtypes else "float32"


def _static_target(dtype: np.dtype, name: str) -> str | None:
    """The float dtype of ``_validation._target_dtype`` when the dtype alone decides it, else
    None (integers wider than 16 bits and floats wider than 64 depend on the values)."""
    if (dtype.kind in "iu" and dtype.itemsize > 2) or (dtype.kind == "f" and dtype.itemsize > 8):
        return None
    if dtype.kind == "O":
        return "float64"  # _as_array converts objects to float64
    return np.dtype(_target_dtype(np.empty((1, 1), dtype=dtype), name)).name


class Tracker:
    """Submits the tasks of one run, reports progress and cancels them on interruption.

    ``progress`` is None, or ``progress(done, total)`` over the tasks submitted so far (a
    rerun after a lost worker makes ``done`` go back until the task finishes again).
    """

    def __init__(self, client: Any, progress: Callable[[int, int], None] | None = None):
        self.client = client
        self.progress = progress
        self.futures: list[Any] = []  # the run's tasks (what progress counts)
        self.inputs: list[Any] = []  # futures of the caller's data (released, never cancelled)
        self.token = uuid.uuid4().hex[:8]
        self.count = 0  # tasks submitted (info["distributed"]["tasks"])
        self.scattered: list[Any] = []  # input blocks scattered from the driver (no tasks)
        self.lost_inputs = False  # a scattered block was lost (set when the run fails)
        self.backend: str | None = None  # the workers' backend name, once asked
        self._workers: list[str] | None = None
        self._reported = (-1, -1)

    def submit(
        self, fn: Callable[..., Any], *args: Any, name: str, where: str | None = None, **kwargs: Any
    ) -> Any:
        """``client.submit`` with a readable unique key; ``where``: the worker it should run on
        (a loose restriction: Dask may still move it, e.g. when that worker is gone)."""
        self.count += 1
        key = f"fastprdc-{name}-{self.token}{self.count:07d}"
        if where is not None:
            kwargs.update(workers=[where], allow_other_workers=True)
        future = self.client.submit(fn, *args, key=key, pure=False, **kwargs)
        self.futures.append(future)
        return future

    @property
    def workers(self) -> list[str]:
        """The cluster's workers when the run started (sorted addresses)."""
        if self._workers is None:
            info = self.client.scheduler_info(n_workers=-1)
            self._workers = sorted(info.get("workers", {}))
        return self._workers

    def _report(self) -> None:
        if self.progress is None:
            return
        done = sum(f.status == "finished" for f in self.futures)
        now = (done, len(self.futures))
        if now != self._reported:
            self._reported = now
            self.progress(*now)

    def wait(self, futures: Sequence[Any]) -> None:
        """Block until ``futures`` are done (finished or failed), reporting progress.

        ``distributed.wait`` waits on the current client: the run's own client is made the
        current one (it need not be the default client)."""
        futures = list(futures)
        with self.client.as_current():
            if self.progress is None:
                wait(futures)
                return
            while True:
                self._report()
                try:
                    wait(futures, timeout=0.2)
                except (TimeoutError, asyncio.TimeoutError):
                    continue
                if all(f.done() for f in futures):
                    break
        self._report()

    def check(self, futures: Sequence[Any]) -> None:
        """Wait for ``futures``; when some failed, raise the error of the first in their order
        (whichever task failed first)."""
        futures = list(futures)
        self.wait(futures)
        for f in futures:
            if f.status == "error":
                f.result()

    def gather(self, futures: Sequence[Any]) -> list[Any]:
        self.check(futures)
        return self.client.gather(list(futures))

    def gather_checked(self, futures: Sequence[Any]) -> list[Any]:
        """:meth:`gather` of validation results: ValueError with the message of the first
        :class:`_tasks.BlockError` in their order (the first bad row of the first bad set, as
        one machine reports it, whichever block was validated first)."""
        results = self.gather(futures)
        for r in results:
            if isinstance(r, _tasks.BlockError):
                raise ValueError(r.message)
        return results

    def cancel(self, force: bool = True) -> None:
        """Cancel (or, done, drop) every task of the run and the data it scattered, at once
        rather than when the futures are garbage-collected; the caller's own dask data is only
        released."""
        if self.futures or self.scattered:
            with contextlib.suppress(Exception):
                self.client.cancel(self.futures + self.scattered, force=force)
        self.futures.clear()
        self.scattered.clear()
        self.inputs.clear()

    @contextlib.contextmanager
    def running(self) -> Iterator[Tracker]:
        """Cancel the outstanding tasks on any exception (Ctrl-C included), then re-raise; on
        success drop the run's data from the workers."""
        try:
            yield self
        except BaseException:
            self.lost_inputs = any(f.status != "finished" for f in self.scattered)
            self.cancel()
            raise
        else:
            self._report()
            self.cancel(force=False)


@dataclass
class Blocks:
    """A validated set on the cluster: one future per row block, in row order."""

    futures: list[Any]
    sizes: list[int]
    dim: int
    dtype: str
    homes: list[str | None] = field(default_factory=list)  # the worker holding each block
    offsets: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.offsets = [0, *np.cumsum(self.sizes).tolist()][: len(self.sizes)]
        if not self.homes:
            self.homes = [None] * len(self.futures)

    @property
    def n(self) -> int:
        return int(sum(self.sizes))

    def __len__(self) -> int:
        return len(self.futures)

    def subset(self, tracker: Tracker, rows: np.ndarray) -> Blocks:
        """The blocks of the rows ``rows`` (sorted global indices), in order."""
        futures, sizes, homes = [], [], []
        for f, off, size, home in zip(self.futures, self.offsets, self.sizes, self.homes):
            lo, hi = np.searchsorted(rows, [off, off + size])
            if hi > lo:
                local = rows[lo:hi] - off
                futures.append(
                    tracker.submit(_tasks.take_rows, f, local, name="take-rows", where=home)
                )
                sizes.append(int(hi - lo))
                homes.append(home)
        return Blocks(futures, sizes, self.dim, self.dtype, homes)


class Balancer:
    """Where each block-pair task of one phase runs: on the less loaded of the workers
    holding its two blocks, unless another worker is idle enough to be worth moving a block
    (its load plus the task's cost is still no more). Costs are rows x rows products, so the
    phase ends on every worker at about the same time; Dask's work stealing still moves
    tasks when a worker runs slow or is lost."""

    def __init__(self, workers: Sequence[str]):
        self.load = dict.fromkeys(workers, 0.0)

    def pick(self, candidates: Sequence[str | None], cost: float) -> str | None:
        if not self.load:
            return None
        local = [w for w in candidates if w in self.load] or list(self.load)
        best = min(local, key=lambda w: (self.load[w], w))
        idle = min(self.load, key=lambda w: (self.load[w], w))
        if self.load[idle] + cost <= self.load[best]:
            best = idle
        self.load[best] += cost
        return best


def check_sources(sources: Sequence[Source], min_rows: Sequence[int]) -> None:
    """The shape checks of ``_validation.validate_pair`` (empty, too few rows, widths), on the
    driver before any task."""
    for src, rows in zip(sources, min_rows):
        _check_shape(ShapeOnly(src.shape), src.name, rows)  # type: ignore[arg-type]
    if len({src.shape[1] for src in sources}) > 1:
        a, b = sources[0], sources[1]
        raise ValueError(
            f"{a.name} and {b.name} have different widths: {a.shape[1]} vs {b.shape[1]}"
        )


def prepare(tracker: Tracker, sources: Sequence[Source], block_rows: int | None) -> list[Blocks]:
    """Validate the sets of one call on the workers, block by block, in one common dtype
    (float64 when any set needs it; ``_validation``'s rules and messages, rows counted in the
    whole set). The validated blocks stay in worker memory for the run; a bad one is a
    ValueError raised here (its task returns the error, see :class:`_tasks.BlockError`)."""
    client = tracker.client
    block_rows = check_block_rows(block_rows)
    raws = []
    for src in sources:
        futures, sizes = raw_blocks(src, client, tracker, block_rows, tracker.workers)
        tracker.inputs.extend(futures)
        offsets = [0, *np.cumsum(sizes).tolist()]
        raws.append((src, futures, sizes, offsets))
    targets: list[str] = []
    pending = []
    for src, futures, _, offsets in raws:
        static = _static_target(src.dtype, src.name)
        if static is not None:
            targets.append(static)
        else:
            pending += [
                tracker.submit(_tasks.block_target, f, src.name, off, name="check-dtype")
                for f, off in zip(futures, offsets)
            ]
    if pending:
        targets += tracker.gather_checked(pending)
    dtype = _dtype_name(targets)
    out = []
    workers = tracker.workers
    for src, futures, sizes, offsets in raws:
        # block i of every set lives on worker i mod W (where numpy blocks were scattered)
        homes = [workers[i % len(workers)] if workers else None for i in range(len(futures))]
        prepared = [
            tracker.submit(
                _tasks.prepare_block, f, dtype, src.name, off, name="validate", where=home
            )
            for f, off, home in zip(futures, offsets, homes)
        ]
        out.append(Blocks(prepared, sizes, src.shape[1], dtype, homes))
    # the blocks stay on the workers: only their (small) errors come to the driver
    tracker.gather_checked(
        [
            tracker.submit(_tasks.block_error, f, name="check", where=home)
            for blocks in out
            for f, home in zip(blocks.futures, blocks.homes)
        ]
    )
    return out


def backend_name(tracker: Tracker, device: str) -> str:
    """The backend the workers use for ``device`` (resolved on a worker, once per tracker)."""
    if tracker.backend is None:
        task = tracker.submit(_tasks.backend_name, device, name="backend")
        tracker.backend = str(tracker.gather([task])[0])
    return tracker.backend


class ShapeOnly:
    """Stands for an array known by its shape only (``_validation._check_shape``,
    ``modes.per_class`` with ``run_class``)."""

    def __init__(self, shape: tuple[int, int]):
        self.shape = shape


# --------------------------------------------------------------------------- passes


def _merge_tree(
    tracker: Tracker, refs: list[tuple[Any, int | None]], depths: dict[str, int], name: str
) -> Any:
    """One future of the dict merging the partials ``refs`` -- (future of a dict, None) or
    (future of a tuple of dicts, position) -- as a tree reduction of FAN_IN partials per merge
    task. Tasks returning both sides of a pair are indexed inside the merge task, not by extra
    tasks."""
    assert refs, "nothing to merge"
    while len(refs) > 1 or refs[0][1] is not None:
        refs = [
            (tracker.submit(_merge_task, depths, group, name=name), None)
            if len(group) > 1 or group[0][1] is not None
            else group[0]
            for group in (refs[i : i + FAN_IN] for i in range(0, len(refs), FAN_IN))
        ]
    return refs[0][0]


def self_knn_sets(
    tracker: Tracker,
    sets: Sequence[tuple[Blocks, int, str]],
    device: str,
    opts: RunOptions,
) -> list[list[Any] | None]:
    """For each ``(blocks, depth, label)`` set, per row block a future of its merged self-kNN
    ``{"knn_dist", "knn_idx", "n_rechecked"}`` at ``depth`` (None for depth 0); block pairs
    I <= J only. The full-size pair tasks of every set are submitted first and the half-size
    diagonal ones last, so the end of the phase holds the shortest tasks."""
    parts: list[list[list[tuple[Any, int | None]]]] = [[[] for _ in X.futures] for X, _, _ in sets]
    balance = Balancer(tracker.workers)
    for s, (X, depth, label) in enumerate(sets):
        for i in range(len(X) if depth else 0):
            for j in range(i + 1, len(X)):
                where = balance.pick((X.homes[i], X.homes[j]), X.sizes[i] * X.sizes[j])
                pair = tracker.submit(
                    _tasks.self_pair, X.futures[i], X.futures[j], depth, X.offsets[i],
                    X.offsets[j], device, opts, name=f"knn-{label}", where=where,
                )  # fmt: skip
                parts[s][i].append((pair, 0))
                parts[s][j].append((pair, 1))
    for s, (X, depth, label) in enumerate(sets):
        for i in range(len(X) if depth else 0):
            if X.sizes[i] > 1:
                where = balance.pick((X.homes[i],), X.sizes[i] ** 2 / 2)
                diag = tracker.submit(
                    _tasks.self_diag, X.futures[i], depth, X.offsets[i], device, opts,
                    name=f"knn-{label}", where=where,
                )  # fmt: skip
                parts[s][i].insert(0, (diag, None))
    return [
        [_merge_tree(tracker, p, {"knn_dist": depth}, f"merge-knn-{label}") for p in parts[s]]
        if depth
        else None
        for s, (_, depth, label) in enumerate(sets)
    ]


def self_knn(
    tracker: Tracker, X: Blocks, depth: int, device: str, opts: RunOptions, label: str
) -> list[Any]:
    """:func:`self_knn_sets` of one set."""
    out = self_knn_sets(tracker, [(X, depth, label)], device, opts)[0]
    assert out is not None
    return out


def knn_against(
    tracker: Tracker,
    queries: list[Any],
    Y: Blocks,
    depth: int,
    device: str,
    opts: RunOptions,
    label: str,
) -> Any:
    """A future of the merged ``depth`` nearest rows of Y for the query rows (the futures of
    ``queries``, concatenated in order)."""
    parts = [
        (tracker.submit(_tasks.knn_rows, queries, f, depth, off, device, opts, name=label), None)
        for f, off in zip(Y.futures, Y.offsets)
    ]
    return _merge_tree(tracker, parts, {"knn_dist": depth}, f"merge-{label}")


def cross(
    tracker: Tracker,
    A: Blocks,
    B: Blocks,
    radii_a: list[Any] | None,
    radii_b: list[Any] | None,
    realism: list[Any] | None,
    realism_eps: float | None,
    strict: bool,
    knn_a: int,
    knn_b: int,
    device: str,
    opts: RunOptions,
) -> tuple[list[Any], list[Any]]:
    """Per A block and per B block, futures of the merged cross-pass partials."""
    a_parts: list[list[tuple[Any, int | None]]] = [[] for _ in range(len(A))]
    b_parts: list[list[tuple[Any, int | None]]] = [[] for _ in range(len(B))]
    balance = Balancer(tracker.workers)
    for i in range(len(A)):
        for j in range(len(B)):
            where = balance.pick((A.homes[i], B.homes[j]), A.sizes[i] * B.sizes[j])
            pair = tracker.submit(
                _tasks.cross_pair, A.futures[i], B.futures[j],
                None if radii_a is None else radii_a[i],
                None if radii_b is None else radii_b[j],
                None if realism is None else realism[i],
                realism_eps, strict, knn_a, knn_b, A.offsets[i], B.offsets[j], device, opts,
                name="cross", where=where,
            )  # fmt: skip
            a_parts[i].append((pair, 0))
            b_parts[j].append((pair, 1))
    depths = {"a_knn_dist": knn_a, "b_knn_dist": knn_b}
    return (
        [_merge_tree(tracker, p, depths, "merge-cross") for p in a_parts],
        [_merge_tree(tracker, p, depths, "merge-cross") for p in b_parts],
    )


def _columns(part: dict, ks: Sequence[int]) -> np.ndarray:
    """The radius columns of a merged neighbour list (``_engine._radii`` on a row block)."""
    return _engine._radii((part["knn_dist"], part["knn_idx"]), tuple(ks))[1]


def _kept(part: dict, columns: Sequence[tuple[int, float]]) -> np.ndarray:
    """Realism radii of a row block: radius where kept (``_engine.kept_radii`` with the
    threshold of the whole set), else -1."""
    out = np.empty((part["knn_dist"].shape[0], len(columns)), dtype=np.float64)
    for c, (k, threshold) in enumerate(columns):
        radii = part["knn_dist"][:, k - 1]
        out[:, c] = np.where(radii <= threshold, radii, -1.0)
    return out


def mean(tracker: Tracker, X: Blocks) -> Any:
    """A future (or, for width 1, an array) of ``_engine.float64_mean`` of the whole set: a
    chain of tasks adding the blocks' rows in order (the overflow guard decided inside the
    chain from every block's largest magnitude, so the driver never waits)."""
    if X.dim == 1:
        # numpy sums a single column pairwise, not row by row: O(N) values, so the mean is
        # computed on the driver by the very same function
        column = np.concatenate(tracker.gather(X.futures), axis=0)
        return _engine.float64_mean(column)
    tops = [tracker.submit(_tasks.max_abs, f, name="max") for f in X.futures]
    acc = None
    for f in X.futures:
        acc = tracker.submit(_tasks.mean_step, acc, f, tops, X.n, name="mean", priority=1)
    return tracker.submit(_tasks.mean_finish, acc, tops, X.n, name="mean", priority=1)


def _thresholds(
    parts: list[dict], realism: tuple[tuple[int, float], ...]
) -> list[tuple[int, float]]:
    """(k, pruning threshold) per realism column, from every real block's merged list
    (``_engine.realism_block`` on the whole set, on a worker)."""
    knn = (_concat(parts, "knn_dist"), _concat(parts, "knn_idx"))
    columns, _ = _engine.realism_block(knn, realism)
    return [(k, columns[(k, p)][1]) for k, p in realism]


def _concat(parts: list[dict], name: str) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([p[name] for p in parts], axis=0))


def _side(parts: list[dict] | None) -> tuple[tuple[np.ndarray, np.ndarray] | None, int]:
    if parts is None:
        return None, 0
    return (_concat(parts, "knn_dist"), _concat(parts, "knn_idx")), sum(
        int(p["n_rechecked"]) for p in parts
    )


def run_plan(
    tracker: Tracker,
    real: Blocks,
    fake: Blocks,
    plan: Plan,
    strict: bool,
    opts: RunOptions,
    device: str,
) -> EngineOutput:
    """Every pass of ``plan`` on the cluster (see the module doc); the same EngineOutput as
    ``_engine.run`` on the whole sets. Everything up to the tie completion is submitted at
    once (the phases are ordered by their data dependencies, not by driver barriers)."""
    opts = replace(opts, progress=None, description="")
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    backend_f = None if tracker.backend else tracker.submit(
        _tasks.backend_name, device, name="backend")  # fmt: skip

    # 1. self-kNN of both sets; means and centre distances
    real_knn_f, fake_knn_f = self_knn_sets(
        tracker,
        [(real, plan.real_depth, "real"), (fake, plan.fake_depth, "fake")],
        device,
        opts,
    )
    means: dict[str, Any] = {}
    for which, X in (("real", real), ("fake", fake)):
        if plan.means(which):
            means[which] = mean(tracker, X)
    centre_f: dict[tuple[str, Centre], list[Any]] = {}
    for which, X, centres in (("real", real, plan.real_centres), ("fake", fake, plan.fake_centres)):
        for centre in centres:
            kind, value = centre
            vector = means[str(value)] if kind == "mean" else np.frombuffer(
                value, dtype=np.float64)  # type: ignore[arg-type]  # fmt: skip
            centre_f[(which, centre)] = [
                tracker.submit(_tasks.centre_distances, f, vector, device, opts, name="centre")
                for f in X.futures
            ]

    # 2. the cross pass; radii (and realism pruning thresholds) computed on the workers from
    # the merged lists
    cross_f: tuple[list[Any], list[Any]] | None = None
    if plan.has_cross():

        def radii(futures: list[Any] | None, ks: tuple[int, ...]) -> list[Any] | None:
            if not ks or futures is None:
                return None
            return [tracker.submit(_columns, f, ks, name="radii") for f in futures]

        realism_f = None
        if plan.realism:
            assert real_knn_f is not None
            thresholds = tracker.submit(_thresholds, real_knn_f, plan.realism, name="radii")
            realism_f = [tracker.submit(_kept, f, thresholds, name="radii") for f in real_knn_f]
        cross_f = cross(
            tracker, real, fake,
            radii(real_knn_f, plan.real_radius_ks), radii(fake_knn_f, plan.fake_radius_ks),
            realism_f, None, strict, plan.knn_a, plan.knn_b, device, opts,
        )  # fmt: skip

    # gather everything the driver keeps, in one round
    groups: dict[str, list[Any]] = {
        "real": real_knn_f or [],
        "fake": fake_knn_f or [],
        "cross_a": cross_f[0] if cross_f else [],
        "cross_b": cross_f[1] if cross_f else [],
        "means": [m for m in means.values() if not isinstance(m, np.ndarray)],
        "backend": [backend_f] if backend_f is not None else [],
    }
    for key, futures in centre_f.items():
        groups[repr(key)] = futures
    flat = tracker.gather([f for futures in groups.values() for f in futures])
    got: dict[str, list[Any]] = {}
    for name, futures in groups.items():
        got[name], flat = flat[: len(futures)], flat[len(futures) :]
    timings["gathered"] = time.perf_counter() - t_start
    if backend_f is not None:
        tracker.backend = str(got["backend"][0])
    real_knn, real_rechecked = _side(got["real"] if real_knn_f else None)
    fake_knn, fake_rechecked = _side(got["fake"] if fake_knn_f else None)
    cross_result: CrossResult | None = None
    cross_rechecked = 0
    if cross_f is not None:
        a_parts, b_parts = got["cross_a"], got["cross_b"]
        arrays = {
            name: _concat(a_parts if name.startswith("a_") else b_parts, name)
            for name in CrossResult.__dataclass_fields__
            if name != "n_rechecked"
        }
        cross_rechecked = sum(int(p["n_rechecked"]) for p in a_parts + b_parts)
        cross_result = CrossResult(**arrays, n_rechecked=cross_rechecked)
    gathered_means = iter(got["means"])
    mean_values = {
        which: m if isinstance(m, np.ndarray) else next(gathered_means)
        for which, m in means.items()
    }
    sides = {
        "real": SideOutput(knn=real_knn, mean=mean_values.get("real"), n_rechecked=real_rechecked),
        "fake": SideOutput(knn=fake_knn, mean=mean_values.get("fake"), n_rechecked=fake_rechecked),
    }
    for key in centre_f:
        sides[key[0]].centre_distances[key[1]] = np.ascontiguousarray(
            np.concatenate(got[repr(key)], axis=0)
        )

    # 3. tie completion: deeper lists of the few undecided fakes, as tasks
    t_ties = time.perf_counter()
    extra_rechecks = 0
    ties: dict[int, np.ndarray] = {}
    if plan.tie_ks:
        assert cross_result is not None and real_knn is not None

        def deeper(rows: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
            nonlocal extra_rechecks
            queries = fake.subset(tracker, np.asarray(rows, dtype=np.int64)).futures
            merged = tracker.gather(
                [knn_against(tracker, queries, real, depth, device, opts, "ties")]
            )[0]
            extra_rechecks += int(merged["n_rechecked"])
            return merged["knn_dist"], merged["knn_idx"]

        for k in plan.tie_ks:
            rho = real_knn[0][:, k - 1]
            ties[k] = _engine.nearest_ball_ties(
                cross_result.b_knn_dist, cross_result.b_knn_idx, rho, plan.n_real, deeper
            )
        timings["ties"] = time.perf_counter() - t_ties
    timings["total"] = time.perf_counter() - t_start

    return _engine.assemble(
        plan,
        sides["real"],
        sides["fake"],
        cross_result,
        ties,
        dim=real.dim,
        dtype=real.dtype,
        backend=tracker.backend or backend_name(tracker, device),
        strict=strict,
        exact=opts.exact,
        timings=timings,
        n_rechecked=real_rechecked + fake_rechecked + cross_rechecked + extra_rechecks,
    )
