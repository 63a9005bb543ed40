"""Property-based tests of the GPU pipeline's settings in combination, on the sim backend (the GPU
kernels executed thread by thread on the CPU) and on the cuda and cupy backends where a GPU is
present (else skipped with the reason): drawn data (repeated rows, lattice ties, large offsets,
extreme scales, dimensions up to 130) under a drawn GEMM path, tile size, memory budget,
hit-list length, launch chunk, tile gates, tile group, deferred rechecks, overlap, and the sim's
thread and stream orders. Every result must equal the cpu backend's bit for bit.

test_gpu_pipeline.py tests each setting on its own; these tests look for the combinations that
break. FASTPRDC_PROPERTY_EXAMPLES sets how many examples each test draws (default 60), for a
longer search than CI's: ``FASTPRDC_PROPERTY_EXAMPLES=3000 pytest tests/test_gpu_properties.py``.
"""

from __future__ import annotations

import os

import pytest
from _helpers import assert_families_same, assert_same, every_family, quiet, require_backend
from _strategies import point_sets
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from fastprdc import _engine
from fastprdc._backends import get_backend
from fastprdc._backends.gpu_engine import GpuEngine
from fastprdc._backends.gpu_memory import DeviceOutOfMemory
from fastprdc._backends.gpu_settings import GEMM_PATHS
from fastprdc._backends.sim import STREAM_ORDERS, SimOps
from fastprdc._options import RunOptions

SETTINGS = settings(
    deadline=None,
    max_examples=int(os.environ.get("FASTPRDC_PROPERTY_EXAMPLES", "60")),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: The backends that run the GPU pipeline.
GPU_BACKENDS = ["sim", "cuda", "cupy"]
#: Low dimensions (lattice ties) and higher ones, where the tensor-core paths' bounds widen.
DIMS = (1, 2, 3, 5, 6, 33, 130)


@st.composite
def gpu_runs(draw, backend: str) -> tuple[GpuEngine, RunOptions, str]:
    """An engine of ``backend`` and run options with every pass setting drawn (the sim's
    thread and stream orders too), and a label naming them."""
    engine_args = {
        "gemm_path": draw(st.sampled_from(GEMM_PATHS)),
        "tile_max": draw(st.sampled_from([8, 64, 256])),
        "launch_chunk": draw(st.sampled_from([7, 64, 1 << 22])),
        "hit_cap": draw(st.sampled_from([1, 2, 16, 2048])),
        "tile_gates": draw(st.booleans()),
        "tile_group": draw(st.sampled_from([0, 1, 2, 3])),
        "defer_rechecks": draw(st.booleans()),
        "overlap": draw(st.booleans()),
    }
    ops_args = {}
    if backend == "sim":
        ops_args = {
            "order": draw(st.sampled_from([0, -1, 1, 7, 12345])),  # ascending, descending, shuffled
            "streams": draw(st.sampled_from(STREAM_ORDERS)),
            "default_stream": draw(st.sampled_from(["now", "queued"])),
        }
    opts = RunOptions(
        tile_rows=draw(st.sampled_from([None, 1, 3, 8, 17, 40])),
        max_memory=draw(st.sampled_from([None, 1 << 12, 1 << 15, 1 << 17, 1 << 20])),
    )
    ops = SimOps(**ops_args) if backend == "sim" else get_backend(backend).ops
    engine = GpuEngine(ops, backend, **engine_args)
    label = f"{engine_args} {ops_args} tile_rows={opts.tile_rows} max_memory={opts.max_memory}"
    return engine, opts, label


def _run_or_reject(fn, *args):
    """fn(*args), or the example rejected when its memory budget cannot hold the run (those
    errors are tested in test_gpu_pipeline.py)."""
    try:
        return quiet(fn, *args)
    except DeviceOutOfMemory:
        reject()
    except ValueError as exc:
        if "max_memory" not in str(exc):
            raise
        reject()


@pytest.mark.parametrize("backend", GPU_BACKENDS)
@SETTINGS
@given(sets=point_sets(min_rows=10, max_rows=70, dims=DIMS), data=st.data())
def test_every_family_under_drawn_gpu_settings(backend, sets, data):
    """Every family (all their radii, ball counts, neighbour lists and realism) equals the cpu
    backend's under every combination of GPU settings."""
    require_backend(backend)
    real, fake = sets
    engine, opts, label = data.draw(gpu_runs(backend), label="run")
    # precision/recall cover's k' = 3k must stay below N too
    k = data.draw(st.integers(1, (min(len(real), len(fake)) - 1) // 3), label="k")
    requests, needs = every_family(k)
    got = _run_or_reject(_engine.run, real, fake, needs, True, opts, engine)
    want = quiet(_engine.run, real, fake, needs, True, RunOptions(), get_backend("cpu"))
    quiet(assert_families_same, got, want, requests, f"k={k} {label}")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
@SETTINGS
@given(sets=point_sets(min_rows=2, max_rows=70, dims=DIMS), data=st.data())
def test_neighbour_lists_of_any_depth_under_drawn_gpu_settings(backend, sets, data):
    """Self lists up to k = N - 1 and cross lists up to k = M deep equal the cpu backend's
    (distances and indices) under every combination of GPU settings."""
    require_backend(backend)
    real, fake = sets
    engine, opts, label = data.draw(gpu_runs(backend), label="run")
    cpu = get_backend("cpu")
    k_self = data.draw(st.integers(1, len(real) - 1), label="k_self")
    k_cross = data.draw(st.integers(1, len(fake)), label="k_cross")
    for what, args, k in (("self", (real, None), k_self), ("cross", (real, fake), k_cross)):
        got = _run_or_reject(engine.knn, *args, k, opts)
        want = cpu.knn(*args, k, RunOptions())
        assert_same(got.dist, want.dist, f"{what} k={k} dist {label}")
        assert_same(got.idx, want.idx, f"{what} k={k} idx {label}")
