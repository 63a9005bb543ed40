"""Figure 9 (issue 8): ``fastprdc.distributed.evaluate`` on a 2-worker Dask LocalCluster (one
thread each) vs single-process ``fastprdc.evaluate`` with 1 and with 2 threads, side by side,
N = M = 50k, d = 256, ``metrics="all"``.

Goals: speed-up over the 1-thread single-process run >= 1.7 (85% of linear on 2 workers), and
distributed time / 2-thread single-process time <= 1.15 (the cost of running as Dask tasks on
the same 2 cores). The distributed run gets the numpy arrays like the others: scattering them
to the workers is part of its time; the cluster is started (and warmed up) outside the timing.

Recorded for the multi-GPU model (benchmarks/DISTRIBUTED_MODEL.md): the task stream of one
extra run (per task kind: count, mean compute seconds, block rows, GFLOP/s), the bytes the
workers moved between them, and the GFLOP/s of a plain float32 numpy product of the block
pair's shape on a worker (one BLAS thread). Asserted: the distributed result equals the
single-process one (scalars and curves, bit for bit) and every round gives the same numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from conftest import same_scalars, scalars_of

import fastprdc

pytest.importorskip("distributed", reason="needs the 'distributed' extra")
from distributed import Client, LocalCluster, get_task_stream

import fastprdc.distributed as fd

D = 256
WORKERS = 2


def _same_curves(a: Any, b: Any) -> bool:
    return all(
        np.array_equal(a.curves[f][name][k], b.curves[f][name][k])
        for f in b.curves
        for name in b.curves[f]
        for k in b.curves[f][name]
    )


def _incoming_bytes(client: Any) -> dict[str, int]:
    """Bytes each worker has received from other workers so far."""
    return client.run(
        lambda dask_worker: int(sum(e["total"] for e in dask_worker.transfer_incoming_log))
    )


def _task_profile(stream: list[dict], n_blocks: int, rows: int) -> dict[str, Any]:
    """Per task kind (key prefix): count, compute seconds (mean, total), plus the GFLOP/s of
    the block-pair GEMM tasks and the seconds spent in transfers between workers."""
    kinds: dict[str, list[float]] = defaultdict(list)
    transfer_s = 0.0
    for task in stream:
        prefix = str(task["key"]).rsplit("-", 1)[0]
        for ss in task["startstops"]:
            if ss["action"] == "compute":
                kinds[prefix].append(ss["stop"] - ss["start"])
            elif ss["action"] == "transfer":
                transfer_s += ss["stop"] - ss["start"]
    out: dict[str, Any] = {"n_blocks": n_blocks, "block_rows": rows, "transfer_s": transfer_s}
    pair_flops = 2.0 * rows * rows * D  # one (rows x rows x d) product
    for prefix, seconds in sorted(kinds.items()):
        entry = {"count": len(seconds), "mean_s": float(np.mean(seconds)),
                 "total_s": float(np.sum(seconds))}  # fmt: skip
        if prefix in ("fastprdc-cross", "fastprdc-knn-real", "fastprdc-knn-fake"):
            entry["gflops_per_s_full_pair"] = pair_flops / entry["mean_s"] / 1e9
        out[prefix] = entry
    return out


def _sgemm_gflops(rows: int, d: int) -> float:
    """GFLOP/s of one float32 (rows x d) @ (d x rows) numpy product on the calling process
    (a worker: one BLAS thread), best of 3."""
    import time

    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, d), dtype=np.float32)
    b = rng.standard_normal((rows, d), dtype=np.float32)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        _ = a @ b.T
        best = min(best, time.perf_counter() - t0)
    return 2.0 * rows * rows * d / best / 1e9


def test_distributed_vs_single_process(make_data, figure, scaled):
    n = m = scaled(50_000)
    real, fake = make_data(n, m, D, seed=9)
    fig = figure(
        "distributed",
        "fastprdc.distributed.evaluate on a 2-worker LocalCluster vs single-process evaluate",
        {"N": n, "M": m, "d": D, "workers": WORKERS, "threads_per_worker": 1},
    )  # fmt: skip
    cluster = LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    try:
        # warm-up outside the timing: workers import fastprdc and start their pools
        fd.evaluate(real[:500], fake[:500], client=client, metrics="all")

        def distributed() -> Any:
            return fd.evaluate(real, fake, client=client, metrics="all")

        def single(threads: int) -> Any:
            return lambda: fastprdc.evaluate(real, fake, metrics="all", num_threads=threads)

        result = fig.run(
            "fastprdc_distributed_2_workers", distributed,
            {"single_process_1_thread": single(1), "single_process_2_threads": single(2)},
            main_rounds=3,
        )  # fmt: skip
        before = _incoming_bytes(client)
        with get_task_stream(client) as stream:
            profiled = distributed()
        after = _incoming_bytes(client)
        info = profiled.info["distributed"]
        fig.info["tasks"] = _task_profile(stream.data, info["blocks"][0], info["block_rows"][0])
        fig.info["tasks"]["bytes_received_per_worker"] = sorted(
            after[w] - before.get(w, 0) for w in after
        )
        fig.info["tasks"]["raw_sgemm_gflops_per_s_1_thread"] = client.submit(
            _sgemm_gflops, info["block_rows"][0], D, pure=False
        ).result()
    finally:
        client.close()
        cluster.close()

    t_dist = fig.time("fastprdc_distributed_2_workers")
    fig.goal(
        "speedup_vs_1_thread", fig.time("single_process_1_thread") / t_dist, ">=", 1.7,
        "single-process 1-thread time / distributed (2 workers x 1 thread) time",
    )  # fmt: skip
    fig.goal(
        "overhead_vs_2_threads", t_dist / fig.time("single_process_2_threads"), "<=", 1.15,
        "distributed (2 workers x 1 thread) time / single-process 2-thread time",
    )  # fmt: skip
    fig.note(
        "the distributed time includes scattering the numpy inputs to the workers; the "
        "cluster is started and warmed up before timing; blocks: "
        f"{info['blocks']} of {info['block_rows']} rows, {info['tasks']} tasks per run"
    )
    fig.info["phases"] = {k: float(v) for k, v in result.info.get("timings", {}).items()}
    single_result = fig.results["single_process_1_thread"]
    same = same_scalars(scalars_of(result), scalars_of(single_result))
    same_curves = _same_curves(result, single_result)
    runs = [scalars_of(r) for r in fig.all_results["fastprdc_distributed_2_workers"]]
    deterministic = all(same_scalars(r, runs[0]) for r in [*runs, scalars_of(profiled)])
    fig.check("same_scalars_as_single_process", same)
    fig.check("same_curves_as_single_process", same_curves)
    fig.check("same_numbers_every_round", deterministic)
    fig.check("metrics", scalars_of(result))
    assert same and same_curves and deterministic
