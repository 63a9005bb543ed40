"""The GPU pipeline's overlap of a group's GEMMs with the previous group's kernels (two streams,
two tile sets: gpu_ops.StreamPipeline), run in the sim under the orders a GPU may choose: results
equal the cpu backend's in every order, a missing wait changes them, progress and Ctrl-C keep
working, and the memory budget counts both tile sets (tests/test_gpu_pipeline.py: with the
other budget tests; the setting with the others)."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    DATA_KINDS,
    KIND_SHAPES,
    assert_families_same,
    assert_same,
    every_family,
    make_pair,
    quiet,
)

from fastprdc import _engine
from fastprdc._backends import get_backend
from fastprdc._backends.gpu_engine import GpuEngine
from fastprdc._backends.gpu_settings import GEMM_PATHS
from fastprdc._backends.sim import STREAM_ORDERS, SimOps
from fastprdc._options import RunOptions


def _engine_on(ops, overlap: bool = True, **kwargs) -> GpuEngine:
    """A sim engine with many small groups (two tiles of at most 256 rows a group)."""
    kwargs = {"tile_max": 256, "hit_cap": 16, "tile_group": 2, **kwargs}
    return GpuEngine(ops, "sim", overlap=overlap, **kwargs)


class _StreamProbe:
    """SimOps that records, in the order the host issues them, the pipeline's stream calls,
    launches and GEMMs (with the stream they go to: 0 the default one, else its index)."""

    def __init__(self, ops, drop_wait_on: int = 0):
        self.ops, self.calls, self.drop_wait_on = ops, [], drop_wait_on

    def __getattr__(self, name):
        return getattr(self.ops, name)

    def _where(self) -> int:
        stream = self.ops._queues.stream
        return stream.index if stream is not None else 0

    def wait(self, stream, event):
        self.calls.append(("wait", stream.index))
        if stream.index != self.drop_wait_on:  # a mutation: the pipeline without this wait
            self.ops.wait(stream, event)

    def record(self, event, stream):
        self.calls.append(("record", stream.index))
        self.ops.record(event, stream)

    def launch(self, kernel, n, p, t):
        self.calls.append((kernel, self._where()))
        self.ops.launch(kernel, n, p, t)

    def gemm(self, *args):
        self.calls.append(("gemm", self._where()))
        self.ops.gemm(*args)


@pytest.mark.parametrize("path", GEMM_PATHS)
@pytest.mark.parametrize("kind", DATA_KINDS)
def test_overlap_is_exact_in_every_stream_order(kind, path, rng):
    """Every family, and the self-kNN pass, equal the cpu backend's with overlap on in each
    order the sim can run the two streams in (eager; the GEMM stream as far ahead of the
    kernels' as the waits allow; the kernels' first), also with the setup's work queued on a
    current stream that the two are not ordered with (CuPy under a caller's stream), and with
    overlap off, on every GEMM path (each packs and GEMMs its own operands); the recheck
    counts too (the same tiles in the same order of each row's updates)."""
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    requests, needs = every_family(3)
    opts = RunOptions(tile_rows=40)
    cpu = get_backend("cpu")
    want = quiet(_engine.run, real, fake, needs, True, RunOptions(), cpu)
    want_knn = cpu.knn(real, None, 4, opts)
    counts = set()
    configs = [(False, "eager", "now")] + [(True, s, "now") for s in STREAM_ORDERS]
    configs += [(True, "first", "queued"), (True, "last", "queued")]
    for overlap, streams, default in configs:
        ops = SimOps(streams=streams, order=-1, default_stream=default)
        engine = _engine_on(ops, overlap, gemm_path=path)
        label = f"{kind} {path} overlap={overlap} streams={streams} default={default}"
        got = quiet(_engine.run, real, fake, needs, True, opts, engine)
        quiet(assert_families_same, got, want, requests, label)
        knn = engine.knn(real, None, 4, opts)
        assert_same(knn.dist, want_knn.dist, f"{label} knn dist")
        assert_same(knn.idx, want_knn.idx, f"{label} knn idx")
        counts.add((got.n_rechecked, knn.n_rechecked))
        assert not engine.ops.pending, label  # nothing left queued
    assert len(counts) == 1, counts


def test_the_pipeline_queues_each_group_after_what_it_needs():
    """With overlap, each group's GEMMs go to the first stream, once the kernels of the group
    two before (the same tile set) have read it, and its kernels to the second, after its
    GEMMs; no launch or GEMM of the pass goes to the default stream. Without overlap everything
    goes to the default stream and no stream is made."""
    rng = np.random.default_rng(3)
    real, fake = make_pair(rng, "gauss", 700, 600, 8)
    for overlap in (True, False):
        probe = _StreamProbe(SimOps(streams="first"))
        engine = _engine_on(probe, overlap)
        quiet(engine.cross_pass, real, fake, None, None, False, 3, 2, RunOptions(tile_rows=64))
        pass_calls = [c for c in probe.calls if c[0] not in ("finalize_a", "finalize_b")]
        pass_calls = pass_calls[pass_calls.index(next(c for c in pass_calls if c[0] == "gemm")) :]
        if not overlap:
            assert {where for _, where in pass_calls} == {0}
            continue
        assert ("gemm", 0) not in pass_calls and all(
            where == 2 for kind, where in pass_calls if kind not in ("gemm", "wait", "record")
        )
        # per group: [wait(gemms) from the third group], gemms, record(gemms), wait(kernels),
        # kernels, record(kernels)
        groups, current = [], []
        for kind, where in pass_calls:
            current.append((kind, where))
            if (kind, where) == ("record", 2):
                groups.append(current)
                current = []
        assert len(groups) > 4 and not current
        for g, calls in enumerate(groups):
            head = calls[:1] if g >= 2 else []
            assert head == ([("wait", 1)] if g >= 2 else []), (g, calls)
            rest = calls[len(head) :]
            gemms = [c for c in rest if c == ("gemm", 1)]
            assert rest[: len(gemms) + 2] == [*gemms, ("record", 1), ("wait", 2)]
            assert gemms and ("gemm", 1) not in rest[len(gemms) :]


def test_a_missing_wait_changes_the_results(rng):
    """The sim's stream orders find a pipeline without its kernels' wait for their GEMMs: run
    first, the kernels read tiles not yet written, and some result differs from the cpu
    backend's (so the exactness test above can fail). The GEMM stream's wait for the kernels
    that last read its tile set is implied by the host's wait for the group before, queued
    first; it is kept so that the order holds without that (the structure test checks it)."""
    real, fake = make_pair(rng, "gauss", 500, 450, 8)
    requests, needs = every_family(3)
    want = quiet(_engine.run, real, fake, needs, True, RunOptions(), get_backend("cpu"))
    probe = _StreamProbe(SimOps(streams="last"), drop_wait_on=2)
    engine = _engine_on(probe)
    with np.errstate(all="ignore"):
        got = quiet(_engine.run, real, fake, needs, True, RunOptions(tile_rows=40), engine)
    with pytest.raises(AssertionError):
        quiet(assert_families_same, got, want, requests, "without the kernels' wait")


def test_progress_and_interrupt_with_overlap(rng):
    """Progress climbs to every tile of the pass, the first report after the first group; a
    callback that raises stops the run within a group or two, and nothing stays queued."""
    real, _ = make_pair(rng, "gauss", 900, 10, 6)
    ops = SimOps(streams="first")
    engine = _engine_on(ops)
    seen = []
    engine.knn(real, None, 3, RunOptions(tile_rows=64, progress=lambda d, t: seen.append((d, t))))
    total = seen[-1][1]
    assert seen[-1] == (total, total) and total == 15 * 16 // 2
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[0][0] <= 2

    def stop(done, total):
        if done >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.knn(real, None, 3, RunOptions(tile_rows=64, progress=stop))
    assert not ops.pending


def test_threads_share_a_sim_backend(rng):
    """Runs on one backend from several threads at once: each thread's streams and queued work
    are its own (the sim backend is one object per process)."""
    from concurrent.futures import ThreadPoolExecutor

    engine = _engine_on(SimOps(streams="first"))
    sets = [make_pair(rng, "gauss", 600, 10, 6)[0] for _ in range(4)]
    want = [get_backend("cpu").knn(x, None, 3, RunOptions()) for x in sets]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda x: engine.knn(x, None, 3, RunOptions(tile_rows=64)), sets))
    for g, w in zip(got, want):
        assert_same(g.dist, w.dist, "threads dist")
        assert_same(g.idx, w.idx, "threads idx")


def test_failed_queued_work_abandons_the_queue():
    """Queued work that fails raises where the host waits, and what its thread had queued is
    abandoned (it may point at memory the failed run frees): later work runs normally."""
    from fastprdc._backends.gpu_ops import params, tile_args

    ops = SimOps(streams="first")
    stream, tile, x = ops.stream(), np.zeros(4, np.float32), np.ones(4, np.float32)
    with ops.on(stream):
        ops.launch("no_such_kernel", 1, params("RowsParams"), tile_args())
        ops.gemm("fp32", tile, x, 0, 2, x, 0, 2, 2)
    assert ops.pending == 2
    with pytest.raises(Exception, match="no_such_kernel"):
        ops.synchronize()
    assert ops.pending == 0 and not tile.any()  # the GEMM queued after it never ran
    ops.gemm("fp32", tile, x, 0, 2, x, 0, 2, 2)  # the default stream: at once
    assert (ops.download(tile) == -4).all()


def test_sim_refuses_unordered_default_stream_work():
    """A launch, GEMM or download on the default stream while a stream holds work that nothing
    waited for is an error in the sim (the pipeline must order it itself); an unknown stream
    order is refused."""
    ops = SimOps(streams="first")
    stream, tile = ops.stream(), np.zeros(4, np.float32)
    x = np.ones(4, np.float32)
    with ops.on(stream):
        ops.gemm("fp32", tile, x, 0, 2, x, 0, 2, 2)
    assert not tile.any()  # queued, not run
    with pytest.raises(RuntimeError, match="download on the default stream"):
        ops.download(tile)
    with pytest.raises(RuntimeError, match="GEMM on the default stream"):
        ops.gemm("fp32", tile, x, 0, 2, x, 0, 2, 2)
    ops.synchronize()
    assert (ops.download(tile) == -4).all()
    with pytest.raises(ValueError, match="streams must be one of"):
        SimOps(streams="random")
