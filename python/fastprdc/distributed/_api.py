"""Public entry points of ``fastprdc.distributed`` (see the package doc)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Callable, TypeVar

import numpy as np

from .. import _engine
from .._backends import parse_device
from .._backends.contract import CrossResult
from .._options import MemoryLike, ProgressLike, RunOptions, make_options
from .._progress import named
from .._validation import (
    check_k_limit,
    check_realism_eps,
    parse_boundary,
    parse_k,
    validate_radii,
)
from ..evaluate import _bind, _families, _requests
from ..metrics import DEFAULT_METRICS
from ..metrics._base import derive_result, plan_requests
from ..result import EvaluationResult
from ._executor import (
    Blocks,
    ShapeOnly,
    Tracker,
    check_sources,
    cross,
    knn_against,
    prepare,
    run_plan,
    self_knn,
)
from ._inputs import source

__all__ = [
    "ball_membership",
    "evaluate",
    "get_client",
    "knn",
    "kth_radii",
    "local_cluster",
    "run_families",
]

T = TypeVar("T")
logger = logging.getLogger("fastprdc.distributed")


def get_client(client: Any = None) -> Any:
    """``client`` if given, else the current Dask client (``distributed.default_client()``)."""
    from distributed import Client, default_client

    if client is not None:
        if not isinstance(client, Client):
            raise ValueError(
                f"client must be a distributed.Client, got {type(client).__name__} {client!r}"
                + (": connect with distributed.Client(address)" if isinstance(client, str) else "")
            )
        return client

    try:
        return default_client()
    except ValueError:
        raise ValueError(
            "fastprdc.distributed needs a Dask distributed client: create one first "
            "(distributed.Client(address) for a running cluster, "
            "fastprdc.distributed.local_cluster(n_workers) for one on this machine) or pass "
            "client= to fastprdc.evaluate or a fastprdc.distributed function; "
            "for a single-machine run pass numpy arrays (np.asarray(x))"
        ) from None


def local_cluster(
    n_workers: int | None = None,
    *,
    threads_per_worker: int = 1,
    processes: bool = True,
    dashboard_address: str | None = None,
    **kwargs: Any,
) -> Any:
    """A ``distributed.Client`` on a new ``LocalCluster`` of this machine (closing the client
    closes the cluster; use it as a context manager).

    One thread per worker by default: each worker runs one block-pair task at a time, and the
    tasks run single-threaded (Dask's nannies set ``OMP_NUM_THREADS=1``), so ``n_workers``
    (default: one per core) is the number of cores used. The scheduler's HTTP server (the
    dashboard, when bokeh is installed) listens on ``dashboard_address``, by default a free
    port (Dask's default, 8787, clashes with any cluster already running there); other
    keywords go to ``LocalCluster``.
    """
    from distributed import Client

    return Client(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        dashboard_address=":0" if dashboard_address is None else dashboard_address,
        **kwargs,
    )


class _TaskBar:
    """``progress(done, total)`` as one tqdm bar over the tasks of the run."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, desc="fastprdc (dask)", unit="task", file=sys.stderr,
                dynamic_ncols=True, mininterval=0.2,
            )  # fmt: skip
        if total != self._bar.total:
            self._bar.total = total
        if done != self._bar.n:
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _options(
    exact: bool,
    max_memory: MemoryLike,
    num_threads: int | None,
    progress: ProgressLike,
    tile_rows: int | None,
    device: str,
) -> tuple[RunOptions, Callable[[int, int], None] | None]:
    """Checked run options for the tasks (no callback) and the run's progress callback."""
    opts = make_options(
        exact=exact, max_memory=max_memory, num_threads=num_threads, progress=progress,
        tile_rows=tile_rows,
    )  # fmt: skip
    parse_device(device)  # each worker resolves it; a bad name fails here, before any task
    callback: Callable[[int, int], None] | None
    callback = _TaskBar() if progress is True else named(opts.progress, "dask tasks")
    return replace(opts, progress=None), callback


#: Restarts of a run whose scattered input blocks were lost with a worker.
RESTARTS = 2


def _run(
    client: Any, progress: Callable[[int, int], None] | None, body: Callable[[Tracker], T]
) -> T:
    """``body(tracker)`` for one run on ``client``: its tasks cancelled on any error or Ctrl-C.

    Dask recomputes every lost task from its inputs, except data scattered from the driver
    (numpy inputs): when a worker holding scattered blocks dies, the run starts again from a
    fresh scatter (at most :data:`RESTARTS` times), and says so in the log."""
    client = get_client(client)
    try:
        for attempt in range(RESTARTS + 1):
            tracker = Tracker(client, progress)
            try:
                with tracker.running():
                    return body(tracker)
            except Exception:
                if attempt == RESTARTS or not tracker.lost_inputs:
                    raise
                logger.warning(
                    "fastprdc.distributed: a worker holding scattered input blocks was lost; "
                    "restarting the run from a fresh scatter (attempt %d of %d)",
                    attempt + 2, RESTARTS + 1,
                )  # fmt: skip
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        if isinstance(progress, _TaskBar):
            progress.close()


def _run_info(tracker: Tracker, blocks: Sequence[Blocks]) -> dict[str, Any]:
    client = tracker.client
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return {
        "scheduler": str(getattr(client.scheduler, "address", "")),
        "n_workers": len(workers),
        "blocks": [len(b) for b in blocks],
        "block_rows": [max(b.sizes) for b in blocks],
        "tasks": tracker.count,
    }


def _rows_stand_in(n: int) -> np.ndarray:
    """An (n, 1) zero view for code that only reads the row count (``k="auto"``)."""
    return np.broadcast_to(np.float32(0.0), (n, 1))


# --------------------------------------------------------------------------- metrics


def _derive(
    tracker: Tracker,
    real: Blocks,
    fake: Blocks,
    planned: tuple[Any, _engine.Needs],
    strict: bool,
    boundary: str,
    opts: RunOptions,
    device: str,
    sample_level: bool,
    primary: bool,
    t_start: float,
) -> EvaluationResult:
    """The result of the ``planned`` requests (``plan_requests``'s output) on two block sets:
    the engine's plan run as tasks, then every family derived as on one machine."""
    resolved, needs = planned
    plan = _engine.Plan.build(needs, real.n, fake.n)
    out = run_plan(tracker, real, fake, plan, strict, opts, device)
    return derive_result(out, resolved, boundary, sample_level, primary, t_start)


def run_families(
    real: Any,
    fake: Any,
    requests: Sequence[Any],
    *,
    boundary: str = "inclusive",
    sample_level: bool = False,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
    primary: bool = False,
    client: Any = None,
    block_rows: int | None = None,
) -> EvaluationResult:
    """``fastprdc.metrics._base.run_families`` on a Dask cluster (every metric function
    sends dask-array inputs here)."""
    t_start = time.perf_counter()
    strict = parse_boundary(boundary)
    opts, callback = _options(exact, max_memory, num_threads, progress, tile_rows, device)
    sources = [source(real, "real"), source(fake, "fake")]
    check_sources(sources, (2, 2))
    (n, d), m = sources[0].shape, sources[1].shape[0]
    planned = plan_requests(requests, n, m, d)

    def body(tracker: Tracker) -> EvaluationResult:
        blocks = prepare(tracker, sources, block_rows)
        result = _derive(
            tracker, *blocks, planned, strict, boundary, opts, device, sample_level, primary,
            t_start,
        )  # fmt: skip
        result.info["distributed"] = _run_info(tracker, blocks)
        return result

    return _run(client, callback, body)


def evaluate(
    real: Any,
    fake: Any,
    *,
    client: Any = None,
    block_rows: int | None = None,
    k: Any = None,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    boundary: str = "inclusive",
    sample_level: bool = False,
    real_labels: Any = None,
    fake_labels: Any = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> EvaluationResult:
    """:func:`fastprdc.evaluate` on a Dask cluster: the same arguments and the same result,
    bit for bit.

    Args:
        real, fake: dask arrays (one block per row chunk), numpy arrays or memmaps (cut into
            blocks of ``block_rows``), zarr arrays, or paths (:func:`open_features`).
        client: a ``distributed.Client``; default: the current client.
        block_rows: rows per block (every input is cut or rechunked to it); default: a dask
            array's own row chunks, else one block per worker thread, of at most 65536 rows.
        Every other argument: as :func:`fastprdc.evaluate`. ``num_threads``, ``tile_rows`` and
        ``max_memory`` apply to each task; ``progress=True`` shows one bar over the run's
        tasks (a callable gets ``(tasks done, tasks submitted)``).

    The result's ``info["distributed"]`` tells the scheduler, workers, blocks per set, rows of
    the largest block, and ``tasks``: the tasks fastprdc submitted (the progress total; a dask
    input's own tasks and the scattered numpy blocks are not counted).
    """
    t_start = time.perf_counter()
    families = _bind(_families(metrics), params)
    sources = [source(real, "real"), source(fake, "fake")]
    check_sources(sources, (2, 2))
    (n, d), m = sources[0].shape, sources[1].shape[0]
    requests = _requests(families, k, _rows_stand_in(n))
    labelled = real_labels is not None or fake_labels is not None
    if labelled:
        from .. import modes

        if real_labels is None or fake_labels is None:
            raise ValueError("real_labels and fake_labels must be given together")
        modes.validate_labels(real_labels, n, "real_labels", "real")
        modes.validate_labels(fake_labels, m, "fake_labels", "fake")
    strict = parse_boundary(boundary)
    opts, callback = _options(exact, max_memory, num_threads, progress, tile_rows, device)
    planned = plan_requests(requests, n, m, d)

    def body(tracker: Tracker) -> EvaluationResult:
        blocks = prepare(tracker, sources, block_rows)
        result = _derive(
            tracker, *blocks, planned, strict, boundary, opts, device, sample_level, False, t_start
        )
        if labelled:

            def run_class(
                c: Any, rows_r: np.ndarray, rows_f: np.ndarray, kept: Any, **options: Any
            ) -> EvaluationResult:
                t0 = time.perf_counter()
                sub_r = blocks[0].subset(tracker, rows_r)
                sub_f = blocks[1].subset(tracker, rows_f)
                planned_c = plan_requests(kept, len(rows_r), len(rows_f), d)
                level = options.get("sample_level", False)
                return _derive(
                    tracker, sub_r, sub_f, planned_c, strict, boundary, opts, device, level, False,
                    t0,
                )  # fmt: skip

            result.per_class = modes.per_class(
                ShapeOnly((n, d)), ShapeOnly((m, d)), real_labels, fake_labels, requests,
                boundary=boundary, sample_level=sample_level, run_class=run_class,
                progress=False,
            )  # fmt: skip
        result.info["distributed"] = _run_info(tracker, blocks)
        result.info["seconds"] = time.perf_counter() - t_start
        return result

    return _run(client, callback, body)


# --------------------------------------------------------------------------- primitives


def _gather_lists(tracker: Tracker, futures: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    parts = tracker.gather(futures)
    return (
        np.ascontiguousarray(np.concatenate([p["knn_dist"] for p in parts], axis=0)),
        np.ascontiguousarray(np.concatenate([p["knn_idx"] for p in parts], axis=0)),
    )


def knn(
    X: Any,
    Y: Any = None,
    k: int = 1,
    *,
    client: Any = None,
    block_rows: int | None = None,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fastprdc.primitives.knn` on a Dask cluster (the same lists, bit for bit)."""
    ks, is_list = parse_k(k)
    if is_list:
        raise ValueError(f"k must be a single int for knn, got {k!r}")
    k = ks[0]
    opts, callback = _options(exact, max_memory, num_threads, progress, tile_rows, device)
    if Y is None:
        sources = [source(X, "X")]
        check_sources(sources, (2,))
        check_k_limit(k, sources[0].shape[0], "n", "X")
    else:
        sources = [source(X, "X"), source(Y, "Y")]
        check_sources(sources, (1, 1))
        check_k_limit(k, sources[1].shape[0], "m", "Y", inclusive=True)

    def body(tracker: Tracker) -> tuple[np.ndarray, np.ndarray]:
        blocks = prepare(tracker, sources, block_rows)
        if Y is None:
            return _gather_lists(tracker, self_knn(tracker, blocks[0], k, device, opts, "X"))
        return _gather_lists(
            tracker,
            [knn_against(tracker, [f], blocks[1], k, device, opts, "knn")
             for f in blocks[0].futures],
        )  # fmt: skip

    return _run(client, callback, body)


def kth_radii(
    X: Any,
    k: int | Sequence[int],
    *,
    client: Any = None,
    block_rows: int | None = None,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> np.ndarray | dict[int, np.ndarray]:
    """:func:`fastprdc.primitives.kth_radii` on a Dask cluster."""
    ks, is_list = parse_k(k)
    opts, callback = _options(exact, max_memory, num_threads, progress, tile_rows, device)
    sources = [source(X, "X")]
    check_sources(sources, (2,))
    for v in ks:
        check_k_limit(v, sources[0].shape[0], "n", "X")

    def body(tracker: Tracker) -> tuple[np.ndarray, np.ndarray]:
        blocks = prepare(tracker, sources, block_rows)
        return _gather_lists(tracker, self_knn(tracker, blocks[0], max(ks), device, opts, "X"))

    dist, _ = _run(client, callback, body)
    radii = {v: np.ascontiguousarray(dist[:, v - 1]) for v in ks}
    return radii if is_list else radii[ks[0]]


def ball_membership(
    points: Any,
    centres: Any,
    radii: Any,
    *,
    boundary: str = "inclusive",
    realism: bool = False,
    realism_eps: float | None = None,
    client: Any = None,
    block_rows: int | None = None,
    device: str = "auto",
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> dict[str, np.ndarray]:
    """:func:`fastprdc.primitives.ball_membership` on a Dask cluster (``radii`` is a numpy
    array: O(centres x K) numbers on the driver)."""
    from ..primitives import membership_output

    strict = parse_boundary(boundary)
    opts, callback = _options(exact, max_memory, num_threads, progress, tile_rows, device)
    sources = [source(points, "points"), source(centres, "centres")]
    check_sources(sources, (1, 1))
    r = validate_radii(radii, sources[1].shape[0])
    r2 = r.reshape(r.shape[0], -1)
    check_realism_eps(realism_eps)

    def body(tracker: Tracker) -> tuple[list[dict], list[dict]]:
        P, C = prepare(tracker, sources, block_rows)
        # each block's radii travel inside one task (recomputable after a lost worker)
        rf = [
            tracker.submit(np.ascontiguousarray, r2[off : off + size], name="radii")
            for off, size in zip(C.offsets, C.sizes)
        ]
        c_parts, p_parts = cross(
            tracker, C, P, rf, None, rf if realism else None, realism_eps, strict, 1, 1,
            device, opts,
        )  # fmt: skip
        return tracker.gather(c_parts), tracker.gather(p_parts)

    a, b = _run(client, callback, body)

    def cat(parts: list[dict], name: str) -> np.ndarray:
        return np.ascontiguousarray(np.concatenate([p[name] for p in parts], axis=0))

    merged = {name: cat(a, name) for name in a[0] if name != "n_rechecked"}
    merged |= {name: cat(b, name) for name in b[0] if name != "n_rechecked"}
    return membership_output(CrossResult.from_mapping({**merged, "n_rechecked": 0}), r, realism)
