"""The GPU pipeline's own paths, run on the CPU through the sim backend (its kernels are the GPU
kernels, executed thread by thread): device-resident inputs (a DeviceMatrix over memory the
pipeline does not own, as with CuPy arrays or torch CUDA tensors), the tf32x3 GEMM path's split
operands, kernel launches split into chunks, the order of a launch's threads, and the
out-of-memory message. Every result must equal the cpu backend's bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    DATA_KINDS,
    KIND_SHAPES,
    OnGpu,
    assert_families_same,
    assert_results_equal,
    assert_same,
    every_family,
    make_pair,
    quiet,
)

import fastprdc
from fastprdc import _core, _engine
from fastprdc._arrays import CUDA, DeviceMatrix, device_matrix, location
from fastprdc._backends import get_backend
from fastprdc._backends.gpu_settings import GEMM_PATHS
from fastprdc._means import float64_mean
from fastprdc._options import RunOptions
from fastprdc.metrics import FAMILIES
from fastprdc.metrics._base import run_families


def _device_view(x: np.ndarray, name: str) -> DeviceMatrix:
    x = np.ascontiguousarray(x)
    return DeviceMatrix(x.ctypes.data, x.shape, x.dtype, x, name)


def _assert_cross_same(a, b, label):
    for key in b.keys():  # noqa: SIM118 (a CrossResult, not a dict)
        if key != "n_rechecked":
            assert_same(a[key], b[key], f"{label} {key}")


@pytest.mark.parametrize("kind", ["gauss", "repeats", "lattice", "offset"])
def test_device_resident_inputs(kind, rng):
    """knn, cross pass, oracle distances, means and row gathering on inputs the pipeline only
    points to: the same values as on uploaded host arrays and as the cpu backend."""
    real, fake = make_pair(rng, kind, 300, 250, 8)
    sim, cpu = get_backend("sim"), get_backend("cpu")
    R, F = _device_view(real, "real"), _device_view(fake, "fake")
    opts = RunOptions(tile_rows=64)
    for dev, host in ((sim.knn(R, None, 4, opts), cpu.knn(real, None, 4, opts)),
                      (sim.knn(R, F, 3, opts), cpu.knn(real, fake, 3, opts))):  # fmt: skip
        assert_same(dev.dist, host.dist, f"{kind} knn dist")
        assert_same(dev.idx, host.idx, f"{kind} knn idx")
    radii = cpu.knn(real, None, 3, opts).dist[:, 2:3].copy()
    _assert_cross_same(
        sim.cross_pass(R, F, radii, None, False, 2, 2, opts),
        cpu.cross_pass(real, fake, radii, None, False, 2, 2, opts),
        kind,
    )
    assert_same(sim.pairwise_distances(R, F), cpu.pairwise_distances(real, fake), "pairwise")
    assert_same(sim.column_mean(R), float64_mean(real), "mean")
    rows = np.array([5, 0, 17, 5])
    taken = sim.take_rows(R, rows)
    assert isinstance(taken, DeviceMatrix)
    assert_same(sim.knn(taken, R, 2, opts).dist, cpu.knn(real[rows], real, 2, opts).dist, "take")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000])
def test_column_mean_is_the_sequential_sum(n, dtype, fast_backend):
    """Column means: the running sum in row order of float64_mean, bit for bit, on data whose
    sum depends on the order (large values cancelling, small ones lost or kept), and near
    overflow (scaled)."""
    rng = np.random.default_rng(n)
    big = np.array([2.0**53, 1.0, -(2.0**53), 1.0, 0.5, -0.25], dtype=np.float64)
    x = rng.choice(big, size=(n, 8)) * rng.choice([1.0, 3.0, 1e-3], size=(1, 8))
    x = x.astype(dtype)
    top = 2e307 if dtype == np.float64 else np.finfo(dtype).max / 4  # float64: scaled sums
    x[:, 7] = top * np.sign(rng.standard_normal(n))
    backend = get_backend(fast_backend)
    for X in (x, _device_view(x, "X")) if fast_backend == "sim" else (x,):
        assert_same(backend.column_mean(X), float64_mean(x), f"mean n={n}")


def test_engine_on_device_resident_inputs(rng):
    """Every family through the engine with device-resident inputs (tie completion gathers
    rows on the device): identical to the host run."""
    real, fake = make_pair(rng, "gauss", 260, 230, 6)
    fake[:20] = real[:20]  # ties for the authenticity completion, no zero k-th distances
    requests, needs = every_family(3)
    host = run_families(real, fake, requests, device="cpu", sample_level=True)
    R, F = _device_view(real, "real"), _device_view(fake, "fake")
    out = _engine.run(R, F, needs, False, RunOptions(tile_rows=50), get_backend("sim"))
    ref = _engine.run(real, fake, needs, False, RunOptions(), get_backend("cpu"))
    assert_families_same(out, ref, requests)
    assert host.scalars  # the public path ran as well


@pytest.mark.parametrize("kind", ["gauss", "repeats", "lattice"])
def test_results_do_not_depend_on_thread_order(kind, rng, monkeypatch):
    """A GPU runs a launch's threads in no set order (the scan's hit lists fill in any order,
    rows finish in any order): the sim backend run in ascending, descending and shuffled thread
    order gives the same neighbours, counts, radii, realism and recheck counts, and the same
    evaluation, bit for bit."""
    real, fake = make_pair(rng, kind, 300, 270, 8)
    sim = get_backend("sim")
    opts = RunOptions(tile_rows=96)
    radii = get_backend("cpu").knn(real, None, 3, opts).dist[:, 1:3].copy()
    radii_fake = get_backend("cpu").knn(fake, None, 3, opts).dist[:, 2:3].copy()
    requests = [(f, [2, 4]) if f.uses_k else (f, [None]) for f in FAMILIES.values()]

    def run(order: int):
        monkeypatch.setattr(sim.ops, "order", order)
        return (
            sim.knn(real, None, 4, opts),
            sim.knn(fake, real, 3, opts),
            sim.cross_pass(real, fake, radii, radii_fake, False, 5, 5, opts, radii[:, 1:]),
            quiet(run_families, real, fake, requests, device="sim", sample_level=True, tile_rows=8),
        )

    want = run(0)
    for order in (-1, 7, 20261127):
        got = run(order)
        for g, w in zip(got[:2], want[:2]):
            for field in ("dist", "idx", "n_rechecked"):
                assert_same(getattr(g, field), getattr(w, field), f"{kind} order {order} {field}")
        for key in want[2].keys():  # noqa: SIM118 (a CrossResult, not a dict)
            assert_same(got[2][key], want[2][key], f"{kind} order {order} {key}")
        assert_results_equal(got[3], want[3], f"{kind} order {order}")


def _launch_tiles(t) -> list:
    """The tiles of a sim launch's TileArgs: itself, or its group's (kernels.cuh launch_tile)."""
    import ctypes

    if not int(t["tiles"]):
        return [t]
    size = t.dtype.itemsize * int(t["tiles"])
    raw = (ctypes.c_char * size).from_address(int(t["group"]))
    return list(np.frombuffer(raw, dtype=t.dtype).copy())


def _side_rows(kernel, t) -> list[tuple[str, int, int]]:
    """(side, first buffer row, rows) of each tile a cross_rows / cross_cols launch serves
    (none for cross_cols on a diagonal tile of a self pass, which it skips)."""
    out = []
    for tile in _launch_tiles(t):
        if kernel == "cross_rows":
            out.append(("a", int(tile["buf0"]), int(tile["ni"])))
        elif not int(tile["diagonal"]):
            out.append(("b", int(tile["buf0"]), int(tile["nj"])))
    return out


class _ListProbe:
    """SimOps that records the longest hit list the scan left for a pass and counts the rows it
    marked for a full pass (their list overflowed, or their gate was still +inf), read before
    cross_rows / cross_cols take them."""

    def __init__(self, ops):
        self.ops, self.longest, self.full_passes = ops, 0, 0

    def __getattr__(self, name):
        return getattr(self.ops, name)

    def launch(self, kernel, n, p, t):
        import ctypes

        if kernel in ("cross_rows", "cross_cols"):
            for side, buf0, rows in _side_rows(kernel, t):
                at = int(p[f"hit_count_{side}"]) + 4 * buf0
                counts = (ctypes.c_int32 * rows).from_address(at)
                listed = [c for c in counts if c <= int(p["hit_cap"])]
                self.longest = max([self.longest, *listed])
                self.full_passes += rows - len(listed)
        self.ops.launch(kernel, n, p, t)


@pytest.mark.parametrize("hit_cap", [1, 4096])
def test_hit_lists_of_any_length(hit_cap, rng):
    """Every row a full pass (a one-pair list always overflows) and lists as long as the tile
    (a cap beyond the tile side: hub points inside many balls list hundreds of pairs per tile,
    sorted before the pass): every family equals the cpu backend's, in any thread order."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    real, fake = make_pair(rng, "gauss", 330, 300, 4)
    # hubs, inside most balls of the other set: points near its mean
    fake[:12] = float64_mean(real) + 0.01 * rng.standard_normal((12, 4))
    real[:6] = float64_mean(fake[12:]) + 0.01 * rng.standard_normal((6, 4))
    requests, needs = every_family(40)
    want = _engine.run(real, fake, needs, False, RunOptions(), get_backend("cpu"))
    for order in (0, -1, 11):
        probe = _ListProbe(SimOps(order=order))
        engine = GpuEngine(probe, "sim", tile_max=256, launch_chunk=700, hit_cap=hit_cap)
        got = _engine.run(real, fake, needs, False, RunOptions(tile_rows=160), engine)
        assert_families_same(got, want, requests, f"order {order}")
        assert probe.longest <= 1 if hit_cap == 1 else probe.longest > 100, probe.longest


@pytest.mark.parametrize("path", [p for p in GEMM_PATHS if p != "fp32"])
def test_tensor_core_paths_are_exact(path, rng, monkeypatch):
    """The tensor-core GEMM paths (split operands, or operands rounded to TF32 or FP16: their
    packing and their error bounds): the cpu backend's results on adversarial data."""
    monkeypatch.setenv("FASTPRDC_GPU_GEMM", path)
    for kind in ("gauss", "offset", "repeats", "lattice"):
        real, fake = make_pair(rng, kind, 200, 180, 16)
        metrics = [m for m in FAMILIES if m != "pce_rce_re" or kind in ("gauss", "offset")]
        kw = {"metrics": metrics, "sample_level": True, "k": 3}
        got = fastprdc.evaluate(real, fake, device="sim", **kw)
        want = fastprdc.evaluate(real, fake, device="cpu", **kw)
        for family, metrics in want.scalars.items():
            for metric, per_k in metrics.items():
                for k, v in per_k.items():
                    assert_same(got.scalars[family][metric][k], v, f"{kind} {metric}")


def test_unknown_gemm_path(monkeypatch, rng):
    monkeypatch.setenv("FASTPRDC_GPU_GEMM", "bf16")
    real, fake = make_pair(rng, "gauss", 20, 20, 3)
    with pytest.raises(ValueError, match="unknown GEMM path 'bf16'"):
        fastprdc.evaluate(real, fake, device="sim")


@pytest.mark.parametrize(
    ("capability", "path"),
    [((9, 0), "tf32x3"), ((8, 0), "tf32x3"), ((10, 3), "tf32x3"), ((8, 6), "fp32"),
     ((8, 9), "fp32"), ((12, 0), "fp32"), ((7, 5), "fp32"), (None, "fp32")],
)  # fmt: skip
def test_default_gemm_path_follows_the_device(capability, path, monkeypatch, rng):
    """tf32x3 where TF32 tensor cores far outrun FP32 (measured: an H200), fp32 elsewhere;
    $FASTPRDC_GPU_GEMM and the constructor's path win; results are the same either way."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.gpu_settings import default_gemm_path
    from fastprdc._backends.sim import SimOps

    monkeypatch.delenv("FASTPRDC_GPU_GEMM", raising=False)
    assert default_gemm_path(capability) == path
    ops = SimOps()
    ops.compute_capability = capability
    assert GpuEngine(ops, "sim").gemm_path == path
    assert GpuEngine(ops, "sim", gemm_path="fp32").gemm_path == "fp32"
    monkeypatch.setenv("FASTPRDC_GPU_GEMM", "fp32")
    assert GpuEngine(ops, "sim").gemm_path == "fp32"


def test_show_config_names_the_gemm_paths_source(monkeypatch):
    from fastprdc._backends import backend_details

    monkeypatch.setenv("FASTPRDC_GPU_GEMM", "tf32x3")
    assert backend_details()["gpu"]["gemm_path"] == "tf32x3 (FASTPRDC_GPU_GEMM)"
    monkeypatch.delenv("FASTPRDC_GPU_GEMM")
    assert "(default for " in backend_details()["gpu"]["gemm_path"]


class _GradTensor:
    """Like a torch CUDA tensor that requires grad: its __cuda_array_interface__ raises, and
    .detach() gives the same memory."""

    requires_grad = True

    def __init__(self, view: DeviceMatrix):
        self.view = view

    @property
    def __cuda_array_interface__(self):
        raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires grad")

    def detach(self) -> DeviceMatrix:
        return self.view


class _Bfloat16Tensor:
    @property
    def __cuda_array_interface__(self):
        raise TypeError("dtype bfloat16 has no typestr")


def test_tensor_that_requires_grad_is_read_without_a_copy(rng):
    real, fake = make_pair(rng, "gauss", 120, 100, 5)
    R, F = _GradTensor(_device_view(real, "real")), _GradTensor(_device_view(fake, "fake"))
    assert location(R) == CUDA
    assert device_matrix(R, "real").ptr == real.ctypes.data
    opts = RunOptions(tile_rows=32)
    got, want = get_backend("sim").knn(R, F, 3, opts), get_backend("cpu").knn(real, fake, 3, opts)
    assert_same(got.dist, want.dist, "knn dist")
    assert_same(got.idx, want.idx, "knn idx")


def test_unreadable_device_array_names_the_problem():
    x = _Bfloat16Tensor()
    assert location(x) == CUDA
    with pytest.raises(ValueError, match=r"fake is GPU-resident, but .*bfloat16.*float32"):
        device_matrix(x, "fake")


def test_input_on_another_gpu_is_refused(monkeypatch, rng):
    """The backend's kernels and cuBLAS handle belong to one device; an input on another GPU
    gets an error naming both (on the same GPU it runs)."""
    real, fake = make_pair(rng, "gauss", 60, 50, 4)
    sim = get_backend("sim")
    monkeypatch.setattr(sim.ops, "device_id", 0, raising=False)
    assert device_matrix(OnGpu(real, 1), "real").device_id == 1
    with pytest.raises(ValueError, match=r"X is on GPU 1, but the sim backend runs on GPU 0"):
        sim.knn(OnGpu(real, 1), None, 2, RunOptions())
    with pytest.raises(ValueError, match=r"is on GPU 3, but the sim backend runs on GPU 0"):
        sim.take_rows(OnGpu(real, 3), np.array([0, 1]))
    got = sim.knn(OnGpu(real, 0), OnGpu(fake, 0), 2, RunOptions())
    assert_same(got.dist, get_backend("cpu").knn(real, fake, 2, RunOptions()).dist, "same GPU")


def test_cached_device_memory_is_handed_back_after_every_call(monkeypatch, rng):
    """After each public call, finished or failed, the backend returns its cached memory."""
    sim = get_backend("sim")
    calls = []
    monkeypatch.setattr(sim.ops, "release", lambda: calls.append(1))
    real, _ = make_pair(rng, "gauss", 40, 30, 3)
    sim.knn(real, None, 2, RunOptions())
    assert len(calls) == 1
    with pytest.raises(ValueError):
        sim.knn(np.full_like(real, np.nan), None, 2, RunOptions())
    assert len(calls) == 2


class _CupyOutOfMemory(MemoryError):
    """What CuPy raises (cupy.cuda.memory.OutOfMemoryError is a MemoryError)."""


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("out of GPU memory allocating 123 bytes (0 of 80 bytes free)"),
        _CupyOutOfMemory("Out of memory allocating 1,024 bytes (allocated so far: 0 bytes)."),
    ],
)
def test_out_of_memory_says_what_the_run_needs(monkeypatch, rng, error):
    sim = get_backend("sim")

    def no_memory(n, dtype):
        raise error

    monkeypatch.setattr(sim.ops, "empty", no_memory)
    real, _ = make_pair(rng, "gauss", 30, 30, 4)
    with pytest.raises(MemoryError, match=r"needs about .* GiB on the GPU.*max_memory"):
        sim.knn(real, None, 2, RunOptions())


def test_out_of_memory_counts_the_packing_of_the_gemm_path():
    """What a run needs besides its per-row state: the inputs, the packed copies of the GEMM
    path (float32; float32 and its TF32 remainder for tf32x3; float16 for fp16, and its FP16
    remainder for fp16x3) and 64 bytes a row of statistics."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.gpu_memory import needed_bytes
    from fastprdc._backends.sim import SimOps

    class Shape:  # an input's shape and dtype, without its memory
        shape, dtype = (10**6, 2048), np.float32

    values, rows = 10**6 * 2048, 10**6
    for path, packed in (("fp32", 4), ("tf32", 4), ("tf32x3", 8), ("fp16", 2), ("fp16x3", 4)):
        named = {"self": GpuEngine(SimOps(), "sim", gemm_path=path), "X": Shape(), "k": 5}
        assert needed_bytes(named)[0] == values * (4 + packed) + 64 * rows, path


def test_out_of_memory_counts_the_neighbour_lists(monkeypatch, rng):
    """At a deep k the per-row lists, not the inputs, are what does not fit (k = N - 1 at
    N = 1M: terabytes): the message says so, for the self-kNN and for the cross pass, whose
    lists and ball counts grow with every k it is given."""
    import re

    sim = get_backend("sim")

    def no_memory(n, dtype):
        raise RuntimeError("out of GPU memory allocating 8 bytes")

    monkeypatch.setattr(sim.ops, "empty", no_memory)
    real, fake = make_pair(rng, "gauss", 4000, 3000, 2)

    def parts(call):
        with pytest.raises(MemoryError) as info:
            call()
        found = re.search(
            r"([\d.]+) GiB for the inputs.*and ([\d.]+) GiB for the per-row", str(info.value)
        )
        assert found, str(info.value)
        return float(found[1]), float(found[2])

    inputs, lists = parts(lambda: sim.knn(real, None, 3999, RunOptions()))
    assert lists > 0.5 > inputs  # 4000 x 3999 x 36 bytes
    assert parts(lambda: sim.knn(real, fake, 3000, RunOptions()))[1] > 0.3
    radii = np.ones((4000, 2000))
    cross = parts(lambda: sim.cross_pass(real, fake, radii, None, False, 0, 0, RunOptions()))
    assert cross[1] > 0.5, cross
    assert parts(lambda: sim.knn(real, None, 3, RunOptions()))[1] < 0.01


class _LaunchProbe:
    """SimOps that records the thread count of every launch, by kernel."""

    def __init__(self, ops):
        self.ops, self.threads = ops, {}

    def __getattr__(self, name):
        return getattr(self.ops, name)

    def launch(self, kernel, n, p, t):
        self.threads.setdefault(kernel, []).append(n)
        self.ops.launch(kernel, n, p, t)


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize(("tile", "k"), [(64, 3), (40, 30)])
def test_finalize_launches_fill_the_memory_the_pass_held(tile, k, overlap, rng):
    """The finalize kernels run far more rows per launch than a tile side (a side's threads
    leave a GPU's multiprocessors mostly idle) in a scratch of at most the bytes the pass's
    tiles (two with overlap) and scratch held (max_memory bounds both), in as many launches as
    that takes: the results equal the cpu backend's."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    real, fake = make_pair(rng, "repeats", 1500, 1300, 4)
    requests, needs = every_family(k)
    want = _engine.run(real, fake, needs, False, RunOptions(), get_backend("cpu"))
    probe = _LaunchProbe(SimOps())
    engine = GpuEngine(
        probe, "sim", tile_max=256, launch_chunk=700, hit_cap=16, tile_group=1, overlap=overlap
    )
    got = _engine.run(real, fake, needs, False, RunOptions(tile_rows=tile), engine)
    quiet(assert_families_same, got, want, requests)
    held = 4 * (1 + overlap) * tile * tile + 40 * (2 * k + 16) * tile  # tiles, both scratches
    for kernel in ("finalize_a", "finalize_b"):
        launches = probe.threads[kernel]
        assert max(launches) > 2 * tile, (kernel, launches)
        assert 20 * (2 * k + 16) * max(launches) <= held, (kernel, launches)
        assert len(launches) > 1, (kernel, launches)


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize("hit_cap", [16, 2048])
def test_tile_side_is_the_largest_within_the_budget(hit_cap, overlap):
    """The tile (two with overlap), both sides' hit lists (at most a side long), the scratch,
    the tile gates' parts and the deferred rechecks of the largest side fit half of max_memory;
    one row more would not."""
    from fastprdc._backends.gpu_memory import tile_side
    from fastprdc._backends.gpu_settings import DEFER_CAP

    cap = 12
    segs, kmax = _core.tile_gate_shape()
    gates = 2 * 4 * segs * kmax  # per tile row: the tile gates' float32 parts, both sides
    defer = 4 + DEFER_CAP * 4  # per tile row: the count and the columns

    def need(side):
        per_row = 40 * cap + 8 + gates + defer
        tiles = 4 * (1 + overlap) * side * side
        return tiles + per_row * side + 8 * min(hit_cap, side) * side

    for budget in (1320 + 2 * (gates + defer) + 80 * cap, 10**5, 10**6, 8 * 10**6, 10**9):
        side = tile_side(budget, cap, hit_cap, 1 << 20, budget, 1 + overlap)
        assert need(side) <= budget / 2 < need(side + 1), (budget, side)


@pytest.mark.parametrize("overlap", ["0", "1"])
def test_max_memory_too_small_on_the_gpu(overlap, rng, monkeypatch):
    """Too small a max_memory is an error that says the least that would do (with overlap's
    second tile counted), and that least does."""
    import re

    monkeypatch.setenv("FASTPRDC_GPU_OVERLAP", overlap)
    real, fake = make_pair(rng, "gauss", 50, 50, 4)
    with pytest.raises(ValueError, match="too small for one tile row") as info:
        fastprdc.evaluate(real, fake, device="sim", max_memory=8)
    least = int(re.search(r"give at least (\d+) bytes", str(info.value)).group(1))
    want = fastprdc.evaluate(real, fake, device="cpu")
    got = fastprdc.evaluate(real, fake, device="sim", max_memory=least)
    assert got.scalars == want.scalars


def test_first_tile_reports_progress(monkeypatch, rng):
    """A GPU may finish a whole pass within the progress interval: the first group of tiles
    reports anyway, so that a callback that stops the run (Ctrl-C) sees it mid-way."""
    from fastprdc._backends import gpu_engine

    monkeypatch.setattr(gpu_engine, "_PROGRESS_SECONDS", 1e9)  # every tile within the interval
    real, fake = make_pair(rng, "gauss", 300, 260, 6)
    sim = get_backend("sim")
    calls = []
    sim.knn(real, None, 3, RunOptions(tile_rows=50, progress=lambda d, t: calls.append((d, t))))
    total = calls[-1][1]
    assert len(calls) == 2 and calls[1] == (total, total) and total == 21  # 6 x 7 / 2 tiles
    assert 1 <= calls[0][0] < total and calls[0][1] == total, calls

    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sim.cross_pass(real, fake, None, None, False, 2, 2, RunOptions(tile_rows=50, progress=stop))


def test_gemm_path_is_read_once_per_run(monkeypatch, rng):
    """The packing, the error bound and the tiles' GEMMs follow one reading of the path: a
    setting that changes during a run (another thread, a test) cannot mix them."""
    from fastprdc._backends.gpu_engine import GpuEngine

    reads = []

    def flipping(self):  # a different path at every reading
        reads.append(1)
        return ("fp32", "tf32x3")[len(reads) % 2]

    monkeypatch.setattr(GpuEngine, "gemm_path", property(flipping))
    real, fake = make_pair(rng, "offset", 200, 180, 8)
    sim = get_backend("sim")
    opts = RunOptions(tile_rows=64)
    for got, want in (
        (sim.knn(real, None, 4, opts), get_backend("cpu").knn(real, None, 4, opts)),
        (sim.knn(real, fake, 3, opts), get_backend("cpu").knn(real, fake, 3, opts)),
    ):
        assert_same(got.dist, want.dist, "dist")
        assert_same(got.idx, want.idx, "idx")
    assert len(reads) == 2  # one per run


def test_device_memory_is_not_held_by_the_exception(monkeypatch, rng):
    """After Ctrl-C (or any error), nothing the run allocated stays alive through the frames of
    the exception's traceback, even while the exception is kept (an interactive session keeps
    the last one): a retry must find the memory free."""
    import gc
    import weakref

    sim = get_backend("sim")
    made = []
    empty = sim.ops.empty

    def tracked(n, dtype):
        arr = empty(n, dtype)
        made.append(weakref.ref(arr))
        return arr

    monkeypatch.setattr(sim.ops, "empty", tracked)
    real, fake = make_pair(rng, "gauss", 200, 180, 6)

    def stop(done, total):
        raise KeyboardInterrupt

    opts = RunOptions(tile_rows=40, progress=stop)
    for call in (
        lambda: sim.knn(real, None, 3, opts),
        lambda: sim.cross_pass(real, fake, None, None, False, 2, 2, opts),
    ):
        made.clear()
        with pytest.raises(KeyboardInterrupt) as kept:
            call()
        gc.collect()
        assert kept.value is not None and made
        alive = [ref() for ref in made if ref() is not None]
        assert not alive, f"{len(alive)} of {len(made)} device arrays still alive"


class _PinnedOps:
    """Sim ops that fail any device work done outside ``current()``."""

    def __init__(self, ops):
        self._ops, self.inside, self.entered = ops, 0, 0

    def __getattr__(self, name):
        attr = getattr(self._ops, name)
        # release too: CuPy frees the memory pool of the current device only
        if name in ("empty", "full", "upload", "download", "launch", "gemm", "synchronize",
                    "release"):  # fmt: skip

            def checked(*args, **kwargs):
                assert self.inside, f"{name} outside the backend's device"
                return attr(*args, **kwargs)

            return checked
        return attr

    def current(self):
        import contextlib

        @contextlib.contextmanager
        def block():
            self.inside += 1
            self.entered += 1
            try:
                yield
            finally:
                self.inside -= 1

        return block()


def test_every_call_runs_on_the_backends_device(rng):
    """Each public call (and take_rows) makes the backend's device current for its work (a
    caller may have changed the current GPU since the backend was created)."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    ops = _PinnedOps(SimOps())
    engine = GpuEngine(ops, "sim", tile_max=64, launch_chunk=500, hit_cap=8)
    real, fake = make_pair(rng, "gauss", 120, 100, 5)
    opts = RunOptions()
    engine.knn(real, None, 3, opts)
    engine.knn(real, fake, 2, opts)
    engine.cross_pass(real, fake, None, None, False, 2, 1, opts)
    engine.column_mean(real)
    engine.pairwise_distances(real[:5], fake[:4])
    engine.take_rows(_device_view(real, "real"), np.array([3, 1]))
    assert ops.entered >= 6 and ops.inside == 0


class _OrderOps:
    """Sim ops recording whether the device was synchronised before the first kernel that
    reads an input (its producer may have written it on another stream)."""

    def __init__(self, ops):
        self._ops, self.synced, self.unsynced_reads = ops, False, []

    def __getattr__(self, name):
        return getattr(self._ops, name)

    def synchronize(self):
        self.synced = True
        self._ops.synchronize()

    def launch(self, kernel, n, p, t):
        if not self.synced:
            self.unsynced_reads.append(kernel)
        self._ops.launch(kernel, n, p, t)


def test_device_inputs_are_read_after_their_producers(rng):
    """Before its first kernel, every entry that wraps a GPU-resident input synchronises
    (take_rows included: a per-class run's first device work on its inputs)."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    real, fake = make_pair(rng, "gauss", 90, 70, 4)
    r, f, opts = _device_view(real, "real"), _device_view(fake, "fake"), RunOptions()
    calls = {
        "knn": lambda e: e.knn(r, None, 3, opts),
        "cross_pass": lambda e: e.cross_pass(r, f, None, None, False, 2, 1, opts),
        "column_mean": lambda e: e.column_mean(r),
        "take_rows": lambda e: e.take_rows(r, np.array([3, 1])),
    }
    for name, call in calls.items():
        ops = _OrderOps(SimOps())
        call(GpuEngine(ops, "sim", tile_max=64, launch_chunk=500, hit_cap=8))
        assert not ops.unsynced_reads, (name, ops.unsynced_reads)


def test_the_callers_frames_keep_their_locals(rng):
    """Only fastprdc's own frames are cleared: a progress callback's locals stay for a
    debugger (pdb.pm, %debug)."""
    real, _ = make_pair(rng, "gauss", 200, 10, 6)

    def stop(done, total):
        mine = ["still here"]  # noqa: F841 (read back through the traceback)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as kept:
        get_backend("sim").knn(real, None, 3, RunOptions(tile_rows=40, progress=stop))
    tb = kept.value.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_name == "stop"
    assert tb.tb_frame.f_locals["mine"] == ["still here"]


def test_per_class_rows_gathered_on_the_device_are_not_held_by_the_exception(monkeypatch, rng):
    """Per-class runs on a GPU gather each class's rows there; after Ctrl-C, those copies do
    not stay alive through the frames of the kept exception."""
    import gc
    import weakref

    from fastprdc import modes

    sim = get_backend("sim")
    made = []

    def take_rows(X, rows):
        arr = np.ascontiguousarray(np.asarray(X)[rows])
        made.append(weakref.ref(arr))
        return arr

    monkeypatch.setattr(sim, "location", "cuda")  # the per-class gather of a GPU backend
    monkeypatch.setattr(sim, "take_rows", take_rows)
    real, fake = make_pair(rng, "gauss", 300, 280, 6)
    labels_r, labels_f = np.arange(300) % 2, np.arange(280) % 2

    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as kept:
        modes.per_class(real, fake, labels_r, labels_f, [(FAMILIES["precision_recall"], [3])],
                        device="sim", progress=stop, tile_rows=40)  # fmt: skip
    gc.collect()
    assert kept.value is not None and len(made) == 2
    assert all(ref() is None for ref in made), "a class's gathered rows are still alive"


def _packed_both_ways(rng, path):
    """(fp32 packing, its norms, the set packed for ``path``) of rows over six orders of
    magnitude, in one frame."""
    sim = get_backend("sim")
    X = rng.standard_normal((64, 9)) * np.exp(rng.uniform(-3, 3, (64, 1)))
    s = sim._set(X)
    centre, _, scale, _ = sim._frame([s])
    sim._pack(s, centre, scale, "fp32")
    plain, norm = s.packed.copy(), s.norm.copy()
    sim._pack(s, centre, scale, path)
    return plain, norm, s


def test_tf32x3_split_parts_are_exact_in_tf32(rng):
    """The tf32x3 packing: the big part keeps 10 mantissa bits (its 13 low bits cleared: exact
    in TF32, which the tensor cores would otherwise round) and big + small is the float32 value
    that the fp32 path packs, checked bit by bit (the sim's GEMM test is below)."""
    plain, _, s = _packed_both_ways(rng, "tf32x3")
    big, small = s.packed, s.small
    assert not (big.view(np.uint32) & 0x1FFF).any()
    assert np.array_equal(big + small, plain)
    assert (np.abs(small) <= np.abs(plain) * 2.0**-10).all()


def test_sim_tf32x3_gemm_reads_tf32_within_the_bound(rng):
    """The sim's tf32x3 GEMM cuts every operand to TF32, as the tensor cores read them: on
    split operands each product stays within the path's bound of sum |x_t y_t|; operands
    that are not split (the whole float32 value as the big part) lose their low bits and
    leave it, which a plain float32 GEMM would not show."""
    from fastprdc import _core
    from fastprdc._backends.sim import SimOps, _tf32

    d, ni, nj = 16, 40, 30
    x = (rng.standard_normal((ni, d)) * np.exp(rng.uniform(-2, 2, (ni, 1)))).astype(np.float32)
    y = (rng.standard_normal((nj, d)) * np.exp(rng.uniform(-2, 2, (nj, 1)))).astype(np.float32)
    coef = _core.error_bounds(d, 0, 0, "tf32x3")[0]
    exact = x.astype(np.float64) @ y.T.astype(np.float64)
    limit = coef * (np.abs(x).astype(np.float64) @ np.abs(y).T.astype(np.float64))

    def split(v):
        big = _tf32(v)
        return big.ravel(), (v - big).ravel()

    def product(a, b):
        tile = np.empty(ni * nj, np.float32)
        SimOps().gemm("tf32x3", tile, a, 0, ni, b, 0, nj, d)
        return tile.reshape(ni, nj).astype(np.float64) / -2.0

    assert (np.abs(product(split(x), split(y)) - exact) <= limit).all()
    unsplit = ((x.ravel(), np.zeros(x.size, np.float32)), (y.ravel(), np.zeros(y.size, np.float32)))
    assert (np.abs(product(*unsplit) - exact) > limit).any()


def test_tf32_packing_rounds_to_the_nearest_tf32(rng):
    """The tf32 packing: every value rounded to the nearest TF32 value (13 low mantissa bits
    cleared after adding half of them: within 2^-11 of the fp32 path's value, closer than a cut
    for values past the midpoint) and the same norms as the fp32 packing (the bound counts the
    rounding against them)."""
    plain, norm, s = _packed_both_ways(rng, "tf32")
    rounded = s.packed
    assert s.small is None and np.array_equal(s.norm, norm)
    assert not (rounded.view(np.uint32) & 0x1FFF).any()
    assert (np.abs(rounded - plain) <= np.abs(plain) * 2.0**-11).all()
    past_midpoint = (plain.view(np.uint32) & 0x1FFF) > 0x1000
    assert past_midpoint.sum() > 100
    assert (np.abs(rounded[past_midpoint]) > np.abs(plain[past_midpoint])).all()


def test_tf32_bound_covers_aligned_rounding():
    """The tf32 path's bound holds the largest error its rounding can make: values just below
    a TF32 midpoint (1 + 4095 * 2^-23, rounded down to 1 by about 2^-11) in every coordinate
    of both rows move each product, and so the dot product, by almost 2^-10 of sum |x_t y_t|,
    all in one direction; the bound (2^-10 + 2^-22 for the rounding, and the accumulation) holds
    it, which a bound of 2^-11 per product would not. Operands the packing did not round (the
    same values cut to TF32 by the sim's tensor cores: 1 + 8191 * 2^-23 loses about 2^-10)
    leave it."""
    from fastprdc import _core
    from fastprdc._backends.sim import SimOps

    d = 64
    coef = _core.error_bounds(d, 0, 0, "tf32")[0]

    def product(x, y, rounded):
        tile = np.empty(1, np.float32)
        a, b = (_round_tf32(x), _round_tf32(y)) if rounded else (x, y)
        SimOps().gemm("tf32", tile, a, 0, 1, b, 0, 1, d)
        exact = float(x.astype(np.float64) @ y.astype(np.float64))
        return abs(float(tile[0]) / -2.0 - exact) / float(np.abs(x) @ np.abs(y))

    below = np.full(d, 1 + 4095 * 2.0**-23, np.float32)
    err = product(below, below, rounded=True)
    assert 0.99 * 2.0**-10 < err <= coef
    cut = np.full(d, 1 + 8191 * 2.0**-23, np.float32)
    assert product(cut, cut, rounded=False) > coef


def test_fp16_packing_rounds_to_the_nearest_fp16():
    """The fp16 packing (kernels.cuh pack_rows, fp.hpp f16_bits) rounds 2^14 times each value
    to the nearest FP16 value, ties to even, bit for bit as numpy does: random values over FP16's
    whole range, ties between normal and between subnormal values, the edges of the subnormal
    range (2^-25 rounds to 0, just above it to 2^-24) and the largest finite values; packed
    from a frame of centre 0 and scale 1, so that the value packed is the value given."""
    rng = np.random.default_rng(5)
    n = 4096
    mant = rng.integers(0, 1 << 23, n).astype(np.uint32)
    exps = rng.integers(-40, 16, n)
    signs = rng.choice([-1.0, 1.0], n)
    random = signs * np.ldexp(1.0 + mant / 2.0**23, exps)
    ties = np.ldexp(1.0 + ((mant >> 13 << 13) | 0x1000) / 2.0**23, exps.clip(-14, 14))
    sub_ties = (np.arange(1024) + 0.5) * 2.0**-24
    edges = [2.0**-14, np.nextafter(np.float32(2.0**-14), 0), 2.0**-25, 2.0**-25 * (1 + 2.0**-23),
             2.0**-24, 65504.0, 65519.0, 0.0, -3 * 2.0**-25]  # fmt: skip
    w = np.concatenate([edges, sub_ties, ties, -ties, random]).astype(np.float32)
    w = w[np.abs(w) < 65520]  # FP16's finite range (65519 rounds down to 65504)
    w = w[: len(w) // 16 * 16]
    assert np.isin(np.float32(edges), w).all()
    sim = get_backend("sim")
    s = sim._set((w / np.float32(2.0**14)).reshape(-1, 16))
    sim._pack(s, sim.ops.upload(np.zeros(16)), 1.0, "fp16")
    assert s.packed.dtype == np.float16
    assert np.array_equal(s.packed.view(np.uint16), w.astype(np.float16).view(np.uint16))


def test_fp16_packing_keeps_the_fp32_norms(rng):
    """The fp16 path packs 2^14 times the fp32 path's values, rounded to FP16, and keeps its
    norms (the bound counts the rounding against them)."""
    plain, norm, s = _packed_both_ways(rng, "fp16")
    assert np.array_equal(s.norm, norm)
    assert np.array_equal(s.packed, (plain * np.float32(2.0**14)).astype(np.float16))


def test_fp16x3_packing_splits_each_value_into_two_fp16_parts(rng):
    """The fp16x3 packing (kernels.cuh pack_rows): X = 2^14 v rounded to the nearest FP16
    value, and the FP16 value nearest its remainder X - big (exact in float32), bit for bit as
    numpy rounds; together within 2^-22 |X| of X where both parts are normal, within 2^-25 (half
    FP16's subnormal step) where not. Frame values from 2^-45 to 1 (centre 0, scale 1: the
    values packed are the values given), so both parts meet FP16's subnormals."""
    n = 4096
    v = rng.choice([-1.0, 1.0], n) * np.ldexp(rng.uniform(0.5, 1.0, n), rng.integers(-44, 1, n))
    v = v.astype(np.float32)
    sim = get_backend("sim")
    s = sim._set(v.reshape(-1, 16))
    sim._pack(s, sim.ops.upload(np.zeros(16)), 1.0, "fp16x3")
    X = v * np.float32(2.0**14)
    big = X.astype(np.float16)
    small = (X - big.astype(np.float32)).astype(np.float16)
    assert s.packed.dtype == s.small.dtype == np.float16
    assert np.array_equal(s.packed.view(np.uint16), big.view(np.uint16))
    assert np.array_equal(s.small.view(np.uint16), small.view(np.uint16))
    rest = np.abs(X.astype(np.float64) - big.astype(np.float64) - small.astype(np.float64))
    assert (rest <= np.maximum(2.0**-22 * np.abs(X), 2.0**-25)).all()
    assert (small != 0).sum() > n // 2 and (np.abs(big) < 2.0**-14).sum() > n // 4


def test_fp16x3_packing_keeps_the_fp32_norms(rng):
    """The fp16x3 path's big parts are the fp16 path's packing, and its norms the fp32 path's."""
    plain, norm, s = _packed_both_ways(rng, "fp16x3")
    assert np.array_equal(s.norm, norm)
    assert np.array_equal(s.packed, (plain * np.float32(2.0**14)).astype(np.float16))


def test_fp16_bound_covers_subnormal_rounding():
    """The fp16 path's absolute term: frame values so small that 2^14 times them is subnormal in
    FP16 (here 1.5 (1 - 2^-10) 2^-38, rounded down to 2^-38, a third off) make an error no
    relative bound holds; the absolute term of the bound (d 2^-24 in e) holds it, and holds
    tensor cores that would flush such values to zero (the largest of them, 2^-28 - 2^-38 in the
    frame, lost whole). With values just below a midpoint of the normal range the relative
    term is needed as for tf32."""
    from fastprdc import _core
    from fastprdc._backends.sim import SimOps

    d = 64
    coef, absb = _core.error_bounds(d, 0, 0, "fp16")
    shift = np.float32(2.0**14)

    def error(x, y, flush=False):
        tile = np.empty(1, np.float32)
        a, b = ((v * shift).astype(np.float16) for v in (x, y))
        if flush:
            a[np.abs(a) < 2.0**-14] = 0
        SimOps().gemm("fp16", tile, a, 0, 1, b, 0, 1, d)
        exact = float(x.astype(np.float64) @ y.astype(np.float64))
        return abs(float(tile[0]) / -2.0 - exact), float(np.abs(x) @ np.abs(y))

    tiny = np.full(d, 1.5 * (1 - 2.0**-10) * 2.0**-38, np.float32)
    err, total = error(tiny, np.ones(d, np.float32))
    assert coef * total < err <= coef * total + absb / 2
    largest = np.full(d, 2.0**-28 - 2.0**-38, np.float32)  # 2^14 x: FP16's largest subnormal
    err, total = error(largest, np.ones(d, np.float32), flush=True)
    assert err == total and coef * total < err <= coef * total + absb / 2
    below = np.full(d, 1 + 4095 * 2.0**-23, np.float32) / shift
    err, total = error(below, below)
    assert 0.99 * 2.0**-10 * total < err <= coef * total


def _round_tf32(v):
    """float32 values rounded to the nearest TF32 value (ties away from zero), in numpy."""
    bits = np.ascontiguousarray(v, np.float32).view(np.uint32)
    return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


def test_frame_scale_covers_negative_deviations():
    """The frame's scale follows the largest |x - centre| (centred_max), the CPU engine's frame:
    here the largest deviation is negative (rows 0, 0, 0, -8: centre -2, deviations 2 and -6),
    and every packed value stays within [-1, 1]."""
    from fastprdc import _core

    sim = get_backend("sim")
    X = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [-8.0, 1.0]])
    s = sim._set(X)
    centre, exp, scale, _ = sim._frame([s])
    c = sim.ops.download(centre, 2)
    assert c.tolist() == [-2.0, 1.0]
    assert exp == int(_core.frame_exponent(6.0)) and scale == 2.0**exp
    sim._pack(s, centre, scale, "fp32")
    assert np.abs(s.packed[: X.size]).max() <= 1.0


class _GemmProbe:
    """SimOps that records the GEMM paths of a run and the bound coefficient of its scans."""

    def __init__(self, ops):
        self.ops, self.paths, self.coefs = ops, set(), set()

    def __getattr__(self, name):
        return getattr(self.ops, name)

    def gemm(self, path, *args):
        self.paths.add(path)
        self.ops.gemm(path, *args)

    def launch(self, kernel, n, p, t):
        if kernel == "scan_hits":
            self.coefs.add(float(p["coef"]))
        self.ops.launch(kernel, n, p, t)


@pytest.mark.parametrize("path", GEMM_PATHS)
def test_gemm_path_sets_the_gemms_and_the_bound(path, rng):
    """A run on a GEMM path packs for it, runs its GEMMs and decides with its error bound (the
    paths' bounds differ: a run that packed for one path but used another's bound would still
    pass the sim's float32 GEMM on most data)."""
    from fastprdc import _core
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    real, fake = make_pair(rng, "gauss", 150, 120, 12)
    probe = _GemmProbe(SimOps())
    engine = GpuEngine(probe, "sim", gemm_path=path, tile_max=256, hit_cap=16)
    opts = RunOptions(tile_rows=64)
    engine.knn(real, None, 3, opts)
    engine.cross_pass(real, fake, None, None, False, 2, 2, opts)
    assert probe.paths == {path}
    assert probe.coefs == {float(np.float32(_core.error_bounds(12, 0, 0, path)[0]))}


def test_recheck_count_includes_the_passes_evaluations(rng):
    """n_rechecked counts every float64 evaluation: those of the pass's list compactions (one
    diagonal tile: cross_rows alone) as well as the final lists'. With 59 near-copies per row
    (distinct rows, closer than the float32 bound can tell apart; exact copies are decided by
    their groups without the oracle), every row compacts its candidates many times, more than
    finalisation alone evaluates."""
    from fastprdc import _core

    X = np.repeat(rng.standard_normal((4, 3)), 60, axis=0) + 1e-12 * rng.standard_normal((240, 3))
    k = 2
    res = get_backend("sim").knn(X, None, k, RunOptions(tile_rows=256))
    assert res.n_rechecked > X.shape[0] * int(_core.topk_capacity(k)), res.n_rechecked


class _SortedListProbe(_ListProbe):
    """SimOps that checks, after each cross_rows / cross_cols launch, that every hit list the
    pass took (not overflowed) was sorted in place into ascending order; counts them per side."""

    def __init__(self, ops):
        super().__init__(ops)
        self.checked = {"cross_rows": 0, "cross_cols": 0}

    def launch(self, kernel, n, p, t):
        import ctypes

        if kernel not in ("cross_rows", "cross_cols"):
            return self.ops.launch(kernel, n, p, t)
        cap = int(p["hit_cap"])
        served = _side_rows(kernel, t)
        taken = []
        for side, buf0, rows in served:
            counts = (ctypes.c_int32 * rows).from_address(int(p[f"hit_count_{side}"]) + 4 * buf0)
            taken.append(np.array(counts[:], dtype=np.int64))
        self.ops.launch(kernel, n, p, t)
        for (side, buf0, rows), took in zip(served, taken):
            at = int(p[f"hits_{side}"]) + 4 * buf0 * cap
            hits = (ctypes.c_int32 * (rows * cap)).from_address(at)
            lists = np.frombuffer(hits, dtype=np.int32).reshape(rows, cap)
            for r in np.nonzero((took > 1) & (took <= cap))[0]:
                assert (np.diff(lists[r, : took[r]]) > 0).all(), (kernel, r, lists[r, : took[r]])
                self.checked[kernel] += 1
        return None


@pytest.mark.parametrize("order", [-1, 11])
def test_hit_lists_are_passed_in_ascending_order(order, rng):
    """The scan fills a row's hit list in the order its threads run; the pass sorts it (heapsort
    in place) and takes the pairs by ascending column, as a full pass would. Both sides list
    their pairs once their gates are known (each pass leaves its row's tightened gate for the
    next tile's scan): rows of A and of B are not all full passes."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    real, fake = make_pair(rng, "gauss", 300, 280, 4)
    opts = RunOptions(tile_rows=100)
    radii = get_backend("cpu").knn(real, None, 3, opts).dist[:, 2:3].copy()
    for run in (
        lambda engine: engine.cross_pass(real, fake, radii, None, False, 4, 4, opts),
        lambda engine: engine.knn(real, None, 5, opts),
    ):
        probe = _SortedListProbe(SimOps(order=order))
        run(GpuEngine(probe, "sim", tile_max=256, hit_cap=64))
        assert min(probe.checked.values()) > 50, probe.checked


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_rows_gathered_on_the_device_keep_their_values(dtype, rng):
    """take_rows (the few rows needing deeper lists, gathered on the device): the rows asked
    for, in their order, repeats included, bit for bit in the input's dtype."""
    X = rng.standard_normal((40, 7)).astype(dtype)
    sim = get_backend("sim")
    rows = np.array([39, 0, 17, 17, 5])
    taken = sim.take_rows(_device_view(X, "X"), rows)
    assert isinstance(taken, DeviceMatrix) and taken.shape == (5, 7) and taken.dtype == dtype
    assert np.array_equal(sim.ops.wrap(taken).reshape(5, 7), X[rows])


def test_downloads_read_only_memory_the_kernels_wrote(monkeypatch, rng):
    """Device memory comes back poisoned (as compute-sanitizer's initcheck sees it): a download
    of a placeholder or of an element no kernel wrote fails (the tie follow-up's cross pass
    without realism downloaded its one-element placeholder lists)."""
    from fastprdc._backends.sim import SimOps

    poison = 0xA5
    empty, download = SimOps.empty, SimOps.download

    def poisoned(self, n, dtype):
        arr = empty(self, n, dtype)
        arr.view(np.uint8).fill(poison)
        return arr

    def checked(self, arr, n=None):
        out = download(self, arr, n)
        if out.dtype.itemsize >= 4 and out.size:
            unwritten = (out.view(np.uint8).reshape(out.size, -1) == poison).all(axis=1)
            assert not unwritten.any(), f"{unwritten.sum()} unwritten {out.dtype} elements read"
        return out

    monkeypatch.setattr(SimOps, "empty", poisoned)
    monkeypatch.setattr(SimOps, "download", checked)
    real = np.round(rng.standard_normal((300, 5)) * 2) / 2
    fake = np.round(rng.standard_normal((200, 5)) * 2) / 2 + 0.5
    fake[:20] = real[:20]
    real[250:] = real[0]  # copies of one row: grouped rows, preset lists, ties at depth
    fake[180:] = real[0]
    res = quiet(fastprdc.evaluate, real, fake, metrics="all", device="sim", tile_rows=64)
    ref = quiet(fastprdc.evaluate, real, fake, metrics="all", device="cpu")
    assert_results_equal(res, ref)


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("k", [1, 3, 10])
def test_tile_gates_change_no_result(kind, k, rng):
    """The tile gates (each row's k-th smallest upper bound in a tile caps the gate the scan
    lists with; every row's gate from its state before its first tile) only narrow the lists:
    every family equals the cpu backend's with and without them, on adversarial data."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    requests, needs = every_family(k)
    want = quiet(_engine.run, real, fake, needs, True, RunOptions(), get_backend("cpu"))
    for gates in (True, False):
        engine = GpuEngine(SimOps(order=7), "sim", tile_max=256, hit_cap=64, tile_gates=gates)
        got = quiet(_engine.run, real, fake, needs, True, RunOptions(tile_rows=40), engine)
        quiet(assert_families_same, got, want, requests, f"{kind} k={k} gates={gates}")


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("k", [1, 31, 32, 33, "n-1"])
def test_tile_gated_neighbour_lists(kind, k, rng):
    """Self and cross neighbour lists through the gates: up to their deepest list (32), just
    beyond it (no parts: the gate from the row's state only) and k near N."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    engine = GpuEngine(SimOps(order=-1), "sim", tile_max=256, hit_cap=64, tile_gates=True)
    _knn_both_ways_like_cpu(engine, kind, k, 40, rng)


def _knn_both_ways_like_cpu(engine, kind: str, k, tile_rows: int, rng) -> None:
    """Self and cross neighbour lists (k, or "n-1") of ``kind`` data on ``engine`` with tiles of
    ``tile_rows`` equal the cpu backend's."""
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    k = min(n, m) - 1 if k == "n-1" else k
    cpu = get_backend("cpu")
    opts = RunOptions(tile_rows=tile_rows)
    for label, x, y in (("self", real, None), ("cross", fake, real)):
        got, want = engine.knn(x, y, k, opts), cpu.knn(x, y, k, RunOptions())
        assert_same(got.dist, want.dist, f"{kind} {label} k={k} dist")
        assert_same(got.idx, want.idx, f"{kind} {label} k={k} idx")


def test_tile_gates_leave_no_full_pass(rng, monkeypatch):
    """Without the gates every row's first tile is a full pass (its gate is still +inf); with
    them no row needs one when the lists are long enough (realism collectors included), and the
    results are the same."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    monkeypatch.delenv("FASTPRDC_GPU_TILE_GATES", raising=False)
    # whole tiles: an edge tile narrower than k bounds no gate (a row that meets it first gets
    # a full pass of its few pairs)
    real, fake = make_pair(rng, "gauss", 320, 256, 64)
    # every family, realism too (its collectors capped by their best key bound in the tile)
    requests, needs = every_family(5)
    full, out = {}, {}
    for gates in (True, False):
        probe = _ListProbe(SimOps())
        engine = GpuEngine(probe, "sim", tile_max=256, hit_cap=4096, tile_gates=gates)
        out[gates] = _engine.run(real, fake, needs, True, RunOptions(tile_rows=64), engine)
        full[gates] = probe.full_passes
    assert full[True] == 0 and full[False] >= 320 + 256, full
    assert_families_same(out[True], out[False], requests)


class _GateProbe:
    """SimOps that reads, around each gate_merge launch, the neighbour lists' thresholds of the
    rows it serves (before) and the gates it stores (after), per side: rows whose list had a
    threshold, how many of them got a gate below it, and rows without one that got a bound."""

    def __init__(self, ops):
        self.ops = ops
        self.bounded = self.capped = self.first = self.first_gated = 0

    def __getattr__(self, name):
        return getattr(self.ops, name)

    def launch(self, kernel, n, p, t):
        import ctypes

        if kernel != "gate_merge":
            return self.ops.launch(kernel, n, p, t)

        def floats(field, count):
            return np.array((ctypes.c_float * count).from_address(int(p[field])))

        sides = []
        for tile in _launch_tiles(t):
            sides.append(("a", int(tile["i0"]), int(tile["ni"])))
            if not (int(p["self_pass"]) and int(tile["diagonal"])):
                sides.append(("b", int(tile["j0"]), int(tile["nj"])))
        sides = [s for s in sides if 0 < int(p[f"t{s[0]}_k"]) <= _core.tile_gate_shape()[1]]
        self.ops.synchronize()  # the state the kernel reads: every earlier launch done
        before = [floats(f"t{s}_threshold", int(p[f"n_{s}"]))[r0 : r0 + n] for s, r0, n in sides]
        self.ops.launch(kernel, n, p, t)
        self.ops.synchronize()
        for (side, r0, rows), threshold in zip(sides, before):
            gate = floats(f"gate_{side}", int(p[f"n_{side}"]))[r0 : r0 + rows]
            listed = np.isfinite(threshold)
            self.bounded += int(listed.sum())
            self.capped += int((gate[listed] < threshold[listed]).sum())
            self.first += int((threshold == np.inf).sum())
            self.first_gated += int((gate[threshold == np.inf] < np.inf).sum())
        return None


def test_tile_gates_read_tiles_only_for_rows_without_a_threshold(rng):
    """A row's tile gate is capped by its pairs in the tile (gate_parts reads the tile) only
    while its list has no threshold: from its second tile on, its gate is its list's threshold
    (a tile holding k pairs below it is ever rarer, and a read of every tile costs as much
    memory traffic as the scan). Results as the cpu backend's."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    real, fake = make_pair(rng, "gauss", 320, 256, 32)
    requests, needs = every_family(5)
    probe = _GateProbe(SimOps())
    engine = GpuEngine(probe, "sim", tile_max=256, hit_cap=4096, tile_gates=True)
    got = _engine.run(real, fake, needs, True, RunOptions(tile_rows=64), engine)
    want = quiet(_engine.run, real, fake, needs, True, RunOptions(), get_backend("cpu"))
    assert_families_same(got, want, requests)
    assert probe.bounded > 2 * probe.first and probe.capped == 0, vars(probe)
    assert probe.first_gated == probe.first, vars(probe)


class _GroupProbe:
    """SimOps that records, per launch of a pass kernel, the tiles it served and their rows of
    A and of B (a self pass: one set), and checks that no row of a side is served twice."""

    def __init__(self, ops):
        self.ops, self.tiles, self.launches = ops, [], 0

    def __getattr__(self, name):
        return getattr(self.ops, name)

    def launch(self, kernel, n, p, t):
        if kernel == "cross_rows":
            tiles = _launch_tiles(t)
            self.launches += 1
            self.tiles.append(len(tiles))
            # rows served so far per side (a self pass: one set, so all on side a)
            seen = {"a": set(), "b": set()}
            self_pass = bool(int(p["self_pass"]))
            for tile in tiles:
                a = set(range(int(tile["i0"]), int(tile["i0"]) + int(tile["ni"])))
                b = set(range(int(tile["j0"]), int(tile["j0"]) + int(tile["nj"])))
                mine = {"a": a | b, "b": set()} if self_pass else {"a": a, "b": b}
                for side, rows in mine.items():
                    assert not (rows & seen[side]), "a row in two tiles of a launch"
                    seen[side] |= rows
        self.ops.launch(kernel, n, p, t)


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("k", [1, 5, 12])
def test_tile_groups_change_no_result(kind, k, rng):
    """Groups of tiles that share no row, one launch of each pass kernel per group (thread
    orders that run a group's tiles interleaved, backwards, shuffled): every family equals the
    cpu backend's for one tile per launch, two, three and all a class holds, on adversarial data."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    requests, needs = every_family(k)
    want = quiet(_engine.run, real, fake, needs, True, RunOptions(), get_backend("cpu"))
    for group, order in ((1, 0), (2, -1), (3, 5), (0, 13)):
        probe = _GroupProbe(SimOps(order=order))
        engine = GpuEngine(probe, "sim", tile_max=256, hit_cap=64, tile_group=group)
        got = quiet(_engine.run, real, fake, needs, True, RunOptions(tile_rows=30), engine)
        quiet(assert_families_same, got, want, requests, f"{kind} k={k} group={group}")
        # tiles of 30 rows: 3 or 4 blocks a set, so a cross pass's classes hold 3 tiles or more
        assert max(probe.tiles) == group if group else max(probe.tiles) >= 3, probe.tiles


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_tile_grouped_neighbour_lists_k_near_n(kind, rng):
    """Self and cross neighbour lists k = N - 1 deep, grouped tiles in a shuffled thread order."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    engine = GpuEngine(SimOps(order=3), "sim", tile_max=256, hit_cap=64, tile_group=0)
    _knn_both_ways_like_cpu(engine, kind, "n-1", 25, rng)


def test_tile_groups_fill_the_launches(rng, monkeypatch):
    """Automatic groups: as many tiles per launch as a class holds, up to GROUP_THREADS threads
    of a tile side; 1 (or FASTPRDC_GPU_TILE_GROUP=1) launches tile by tile; the neighbour lists
    are the same."""
    from fastprdc._backends import gpu_settings
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    monkeypatch.delenv("FASTPRDC_GPU_TILE_GROUP", raising=False)
    X = rng.standard_normal((700, 8))
    opts = RunOptions(tile_rows=50)  # 14 blocks: self-pass classes of 7 or 8 tiles
    monkeypatch.setattr(gpu_settings, "GROUP_THREADS", 200)  # 4 tiles of 50 rows
    runs = {}
    for group in (None, "1", "0"):
        if group is not None:
            monkeypatch.setenv("FASTPRDC_GPU_TILE_GROUP", group)
        probe = _GroupProbe(SimOps())
        res = GpuEngine(probe, "sim", tile_max=256).knn(X, None, 4, opts)
        runs[group] = (res, probe)
    assert max(runs[None][1].tiles) == 4 and sum(runs[None][1].tiles) == 14 * 15 // 2
    assert runs["1"][1].tiles == [1] * (14 * 15 // 2)
    assert max(runs["0"][1].tiles) == 4
    for res, _ in runs.values():
        assert_same(res.dist, runs["1"][0].dist, "dist")
        assert_same(res.idx, runs["1"][0].idx, "idx")


def test_tile_group_setting(monkeypatch):
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    monkeypatch.delenv("FASTPRDC_GPU_TILE_GROUP", raising=False)
    assert GpuEngine(SimOps(), "sim").tile_group == 0
    assert GpuEngine(SimOps(), "sim", tile_group=3).tile_group == 3
    monkeypatch.setenv("FASTPRDC_GPU_TILE_GROUP", "5")
    assert GpuEngine(SimOps(), "sim").tile_group == 5
    assert GpuEngine(SimOps(), "sim", tile_group=2).tile_group == 2
    for bad in ("many", "-2"):
        monkeypatch.setenv("FASTPRDC_GPU_TILE_GROUP", bad)
        with pytest.raises(ValueError, match="FASTPRDC_GPU_TILE_GROUP"):
            _ = GpuEngine(SimOps(), "sim").tile_group


def test_pass_settings_say_the_tile_gates_and_groups(monkeypatch):
    """show_config's tile gates and tile group lines follow the environment; a bad value is
    said, not raised."""
    from fastprdc._backends import backend_details

    monkeypatch.delenv("FASTPRDC_GPU_TILE_GATES", raising=False)
    monkeypatch.delenv("FASTPRDC_GPU_TILE_GROUP", raising=False)
    gpu = backend_details()["gpu"]
    assert gpu["tile_gates"] == "on" and gpu["tile_group"].startswith("automatic, up to 131072")
    monkeypatch.setenv("FASTPRDC_GPU_TILE_GATES", "0")
    monkeypatch.setenv("FASTPRDC_GPU_TILE_GROUP", "1")
    gpu = backend_details()["gpu"]
    assert gpu["tile_gates"] == "off (FASTPRDC_GPU_TILE_GATES=0)"
    assert gpu["tile_group"] == "at most 1 tile a launch (FASTPRDC_GPU_TILE_GROUP)"
    monkeypatch.setenv("FASTPRDC_GPU_TILE_GROUP", "lots")
    assert backend_details()["gpu"]["tile_group"].startswith("invalid: tile group must be")


@pytest.mark.parametrize("sets", [1, 2])
@pytest.mark.parametrize("budget", [10**6, 10**7, 10**8])
def test_tile_group_within_the_budget(budget, sets):
    """A group's tile slots (tiles, two each with overlap, hit lists, scratch, gate parts) fit
    half of max_memory with the largest side; at least one slot."""
    from fastprdc._backends.gpu_memory import group_slots, slot_bytes, tile_side
    from fastprdc._backends.gpu_settings import GROUP_THREADS

    cap, hit_cap = 12, 64
    side = tile_side(budget, cap, hit_cap, 1024, budget, sets)
    slots = group_slots(0, budget, side, cap, hit_cap, 10**6, sets)  # 0: automatic
    assert slots >= 1
    assert slots == 1 or slots * slot_bytes(side, cap, hit_cap, sets) <= budget / 2
    assert slots * side <= max(side, GROUP_THREADS)
    assert group_slots(0, budget, side, cap, hit_cap, 2, sets) <= 2


def _realism_radii(A: np.ndarray, rng) -> np.ndarray:
    """Realism radius columns of A (negative: pruned): k = 3 radii pruned above the median, every
    k = 1 radius (zeros of copies included), a mix of zeros, radii and pruned, all pruned."""
    cpu = get_backend("cpu")
    r = cpu.knn(A, None, 3, RunOptions()).dist
    r3, r1 = r[:, 2], r[:, 0]
    mix = np.where(rng.random(len(A)) < 0.3, 0.0, r3)
    mix = np.where(rng.random(len(A)) < 0.3, -1.0, mix)
    cols = [np.where(r3 <= np.median(r3), r3, -1.0), r1, mix, np.full(len(A), -1.0)]
    return np.ascontiguousarray(np.stack(cols, axis=1))


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("eps", [None, 0.0, 1e-2])
def test_realism_tile_gates_change_no_result(kind, eps, rng):
    """The realism collectors' tile gates (each unbounded collector capped by its smallest key
    upper bound over the tile's kept centres, in the parts' slots after B's kNN ones): the cpu
    backend's results in both ratio forms, with pruned and zero radii, fakes on reals, kNN lists
    beside them (and too deep for both to fit the parts: no realism gates), gates on and off."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    n, m, d = KIND_SHAPES[kind]
    A, B = make_pair(rng, kind, n, m, d)
    B[:5] = A[rng.choice(n, 5, replace=False)]  # d = 0: ratio +inf, or 1 for a radius of 0
    R = _realism_radii(A, rng)
    cpu = get_backend("cpu")
    for knn_b in (0, 5, 30):  # 30 + 4 columns > 32 parts: the kNN gates alone
        args = (A, B, None, None, False, 2, knn_b)
        want = cpu.cross_pass(*args, RunOptions(), realism_radii=R, realism_eps=eps)
        for gates, tile_rows in ((True, 7), (True, 40), (False, 40)):
            engine = GpuEngine(SimOps(order=-1), "sim", tile_max=256, hit_cap=64, tile_gates=gates)
            opts = RunOptions(tile_rows=tile_rows)
            got = engine.cross_pass(*args, opts, realism_radii=R, realism_eps=eps)
            _assert_cross_same(got, want, f"{kind} eps={eps} knn_b={knn_b} gates={gates}")


@pytest.mark.parametrize("seed", [0, 2])
def test_realism_tile_gates_with_wide_bounds(seed):
    """Two tight clusters far apart (the GEMM's error bound is wide next to the distances inside
    a cluster) and balls of one radius (realism: the nearest kept centre decides): a collector's
    tile cap must come from its centres' key upper bounds; one from their lower bounds would
    gate out the true best centre."""
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    rng = np.random.default_rng(seed)
    centres = np.zeros((2, 64))
    centres[:, 0] = (1e3, -1e3)
    A = centres[rng.integers(0, 2, 150)] + 0.3 * rng.standard_normal((150, 64))
    B = centres[rng.integers(0, 2, 120)] + 0.3 * rng.standard_normal((120, 64))
    cpu = get_backend("cpu")
    r = cpu.knn(A, None, 3, RunOptions()).dist[:, 2]
    R = np.ascontiguousarray(np.stack([np.full(150, np.median(r)), r], axis=1))
    want = cpu.cross_pass(A, B, None, None, False, 0, 0, RunOptions(), realism_radii=R)
    engine = GpuEngine(SimOps(), "sim", tile_max=256, hit_cap=64, tile_gates=True)
    got = engine.cross_pass(
        A, B, None, None, False, 0, 0, RunOptions(tile_rows=40), realism_radii=R
    )
    _assert_cross_same(got, want, f"seed {seed}")


class _DeferProbe:
    """SimOps that counts, after each scan_hits launch, the pairs its rows deferred to
    recheck_pairs (kernels.cuh deferred_pairs: the count goes on past the cap) and the rows
    that offered more than the cap (the scan rechecked the rest itself)."""

    def __init__(self, ops):
        self.ops, self.deferred, self.full_rows = ops, 0, 0

    def __getattr__(self, name):
        return getattr(self.ops, name)

    def launch(self, kernel, n, p, t):
        import ctypes

        self.ops.launch(kernel, n, p, t)
        cap = int(p["defer_cap"]) if kernel == "scan_hits" else 0
        if not cap:
            return
        for _, buf0, rows in _side_rows("cross_rows", t):
            counts = list((ctypes.c_int32 * rows).from_address(int(p["defer_count"]) + 4 * buf0))
            self.deferred += sum(min(c, cap) for c in counts)
            self.full_rows += sum(c > cap for c in counts)


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_deferred_ball_rechecks_are_exact(kind, rng, monkeypatch):
    """The ball decisions that need the oracle wait for one parallel recheck per pair (the scan
    lists them per row of A, recheck_pairs evaluates and decides them for both sides; past the
    cap the scan's thread rechecks for itself): every family equals the cpu backend's and the
    run without deferral's, in any thread order, with a cap of 32 pairs per row and tile or of
    one (pairs past it on every kind but the Gaussian). On the tf32 path (the widest bound)
    every data kind defers pairs. Each pair's balls are decided once for both sides
    (cross_state.hpp), so each undecided pair is rechecked once, deferred or not: the same
    recheck counts."""
    from fastprdc._backends import gpu_settings
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    requests, needs = every_family(3)
    want = quiet(_engine.run, real, fake, needs, True, RunOptions(), get_backend("cpu"))

    def run(defer: bool, order: int = 0):
        probe = _DeferProbe(SimOps(order=order))
        engine = GpuEngine(
            probe, "sim", gemm_path="tf32", tile_max=256, hit_cap=64, defer_rechecks=defer
        )
        got = quiet(_engine.run, real, fake, needs, True, RunOptions(tile_rows=40), engine)
        label = f"{kind} defer={defer} cap={gpu_settings.DEFER_CAP} order={order}"
        quiet(assert_families_same, got, want, requests, label)
        return got.n_rechecked, probe

    plain, _ = run(False)
    rechecks = {}
    for cap in (32, 1):
        monkeypatch.setattr(gpu_settings, "DEFER_CAP", cap)
        for order in (0, -1, 5):
            rechecks[cap], probe = run(True, order)
        assert probe.deferred > 0
        if cap == 32:
            assert probe.full_rows == 0
        elif kind != "gauss":  # Gaussian data: a few undecided pairs, never two in a row and tile
            assert probe.full_rows > 0
    assert rechecks[32] == rechecks[1] == plain


@pytest.mark.parametrize(
    ("variable", "argument", "key", "on"),
    [("FASTPRDC_GPU_DEFER_RECHECKS", "defer_rechecks", "deferred_rechecks", "on, up to 32 pairs"),
     ("FASTPRDC_GPU_OVERLAP", "overlap", "overlap", "on, a group's GEMMs on one stream"),
     ("FASTPRDC_GPU_TILE_GATES", "tile_gates", "tile_gates", "on")],
)  # fmt: skip
def test_on_off_settings(variable, argument, key, on, monkeypatch):
    """Deferral, overlap and the tile gates are on unless their variable is 0; a constructor's
    choice wins; show_config says which."""
    from fastprdc._backends import backend_details
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    monkeypatch.delenv(variable, raising=False)
    assert getattr(GpuEngine(SimOps(), "sim"), argument)
    assert not getattr(GpuEngine(SimOps(), "sim", **{argument: False}), argument)
    assert backend_details()["gpu"][key].startswith(on)
    monkeypatch.setenv(variable, "0")
    assert not getattr(GpuEngine(SimOps(), "sim"), argument)
    assert getattr(GpuEngine(SimOps(), "sim", **{argument: True}), argument)
    assert f"{variable}=0" in backend_details()["gpu"][key]
