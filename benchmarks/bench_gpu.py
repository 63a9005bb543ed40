"""GPU figures (issue 7), fastprdc and its baselines timed side by side on one GPU.

* ``gpu_evaluate_1m``: N = M = 1M, d = 2048, ``evaluate(metrics="all")``, exact, on the cuda
  backend (goal <= 90 s on an H100/H200); phase times, recheck counts, peak device memory, and
  each pass against the bare cuBLAS GEMM of its tiles (same shape and precision, timed on
  sample tiles and scaled by the tile count: goal <= 1.2x).
* ``gpu_prdc_vs_torch``: N = M = 100k, d = 2048, full PRDC (k = 5) vs a straightforward torch
  GPU implementation (row-chunked ``torch.cdist`` + ``kthvalue`` + comparisons, as prdc's GPU
  port and StyleGAN2-ADA do): goal >= 3x; the decisions where torch disagrees with the oracle
  are counted.
* ``gpu_exact_overhead``: exact=True vs exact=False at 100k (goal <= 5 %).
* ``gpu_cupy_vs_cuda``: the cupy backend vs the cuda backend at 100k (goal <= 1.3x).
* ``gpu_gemm_paths``: fp32, tf32x3, tf32, fp16 and fp16x3 at 100k (all exact; which is fastest, and
  the rechecks).
* ``gpu_kernel_profile``: where evaluate(metrics="all")'s device time goes at 100k (Gaussian):
  each GEMM and kernel timed on its own, and the passes' kernels against their GEMMs (what to
  look at first when a pass misses its 1.2x goal).
* ``gpu_tile_gates``: evaluate(metrics="all") at 100k with the tile gates and without (identical
  results; which is faster).
* ``gpu_tile_groups``: the same with the pass kernels launched once per group of tiles that
  share no row (automatic size) and once per tile.
* ``gpu_deferred_rechecks``: the same with the cross pass's undecided ball pairs rechecked in a
  parallel launch, and by the A row's thread.
* ``gpu_overlap``: the same with each group's GEMMs on one stream while the previous group's
  kernels run on another (two tile sets), and with both on one stream, the host waiting for
  each group.
* ``gpu_duplicated_rows`` (figure 17): figure 16's comparison on the GPU, 100k rows of d = 14
  drawn from 20 distinct rows vs distinct rows of the same shape (goal <= 3x; rows grouped by
  value on the device).

Two data kinds (architecture notes: "Realistic data for speed figures"): isotropic Gaussians (the
worst case for distance concentration) and structured features (a 32-dimensional latent mixture
through a fixed random 2048-wide ReLU layer). Inputs are generated on the GPU as torch tensors
and passed without a host copy. Skipped where no GPU backend or no CUDA torch is usable.
``FASTPRDC_BENCH_SCALE`` scales N and M as in every benchmark.

``FASTPRDC_BENCH_GPU_REHEARSAL=1`` runs every figure without a GPU: torch tensors on the CPU,
the ``sim`` backend in place of cuda and cupy, no device memory to sample. Its numbers mean
nothing (the figures say "rehearsal" as their device); it runs this file's code paths, so that a
lent GPU's minutes do not go to a mistake in them (tests/test_bench_gpu_rehearsal.py).
"""

from __future__ import annotations

import functools
import os
import threading
import time
import warnings

import numpy as np
import pytest
from _kernel_profile import breakdown, kernel_profile

import fastprdc
from fastprdc import _core
from fastprdc._backends import available_backends, get_backend
from fastprdc._backends.gpu_memory import packed_dtype
from fastprdc._backends.gpu_settings import GEMM_PATHS
from fastprdc._options import RunOptions

D = 2048
K = 5

torch = pytest.importorskip("torch")
REHEARSAL = os.environ.get("FASTPRDC_BENCH_GPU_REHEARSAL") == "1"
if not REHEARSAL and (not torch.cuda.is_available() or available_backends()["cuda"] is not None):
    pytest.skip(
        f"needs a usable cuda backend and CUDA torch ({available_backends()['cuda']})",
        allow_module_level=True,
    )
TORCH_DEVICE = "cpu" if REHEARSAL else "cuda"  # where the inputs are made
CUDA = "sim" if REHEARSAL else "cuda"  # the fastprdc backends the figures time
CUPY = "sim" if REHEARSAL else "cupy"


def synchronize() -> None:
    if not REHEARSAL:
        torch.cuda.synchronize()


def device_name() -> str:
    return "rehearsal (sim backend, no GPU)" if REHEARSAL else torch.cuda.get_device_name()


def free_device_bytes() -> int:
    if REHEARSAL:
        return 0
    import fastprdc._cuda as cuda

    return int(cuda.mem_info()[0])


def gaussian(n: int, d: int, seed: int, shift: float = 0.0):
    g = torch.Generator(device=TORCH_DEVICE).manual_seed(seed)
    return torch.randn(n, d, generator=g, device=TORCH_DEVICE) + shift


def structured(n: int, d: int, seed: int, shift: float = 0.0):
    """A 32-dimensional latent mixture (16 components) through a fixed ReLU layer, d wide."""
    g = torch.Generator(device=TORCH_DEVICE).manual_seed(1234)
    w = torch.randn(32, d, generator=g, device=TORCH_DEVICE) / 32**0.5
    centres = torch.randn(16, 32, generator=g, device=TORCH_DEVICE) * 3
    g.manual_seed(seed)
    z = centres[torch.randint(0, 16, (n,), generator=g, device=TORCH_DEVICE)]
    z = z + torch.randn(n, 32, generator=g, device=TORCH_DEVICE) + shift
    return torch.relu(z @ w).contiguous()


DATA = {"gaussian": gaussian, "structured": structured}


class PeakMemory:
    """Peak device memory in use during a block (cudaMemGetInfo sampled every 20 ms)."""

    def __enter__(self):
        self.free0 = self.min_free = free_device_bytes()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.stop.wait(0.02):
            self.min_free = min(self.min_free, free_device_bytes())

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def peak_bytes(self) -> int:
        return int(self.free0 - self.min_free)


def tile_gemm_seconds(backend, path: str, side: int, d: int, repeats: int = 5) -> float:
    """Time of one bare GEMM tile (side x side x d) through the backend's own GEMM call."""
    ops = backend.ops
    a, b = (
        ops.upload(
            np.random.default_rng(seed).standard_normal((side, d)).astype(packed_dtype(path))
        )
        for seed in (0, 1)
    )  # packed as the engine packs for the path
    tile = ops.empty(side * side, np.float32)
    operands_a, operands_b = ((a, a), (b, b)) if _core.gemm_split(path) else (a, b)
    ops.gemm(path, tile, operands_a, 0, side, operands_b, 0, side, d)
    ops.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        ops.gemm(path, tile, operands_a, 0, side, operands_b, 0, side, d)
    ops.synchronize()
    return (time.perf_counter() - t0) / repeats


def pass_tiles(n: int, m: int, side: int, symmetric: bool) -> float:
    """Tile-equivalents of a pass (partial edge tiles counted by their area)."""
    if symmetric:
        return (n / side) * (n / side + 1) / 2
    return (n / side) * (m / side)


@pytest.mark.parametrize("kind", ["gaussian", "structured"])
def test_gpu_evaluate_1m(figure, scaled, kind):
    n = m = scaled(1_000_000)
    real, fake = DATA[kind](n, D, 10), DATA[kind](m, D, 11, shift=0.05)
    synchronize()
    fig = figure(
        f"gpu_evaluate_1m_{kind}", f"evaluate(metrics='all') on the GPU, {kind} data",
        {"N": n, "M": m, "d": D, "device": device_name()},
    )  # fmt: skip
    backend = get_backend(CUDA)
    peak = {}

    def run():
        with PeakMemory() as mem:
            res = fastprdc.evaluate(real, fake, metrics="all", device=CUDA)
        peak["bytes"] = mem.peak_bytes
        return res

    res = fig.run("fastprdc_cuda", run, main_rounds=1)
    timings = res.info["timings"]
    fig.goal("seconds", fig.time("fastprdc_cuda"), "<=", 90.0, "evaluate(all) wall time, s")
    side, _ = backend.tile_plan(RunOptions(), backend.ops.free_bytes(), 1, n)  # as the run's
    gemm = tile_gemm_seconds(backend, backend.gemm_path, side, D)
    passes = {
        "knn_real": pass_tiles(n, n, side, True),
        "knn_fake": pass_tiles(m, m, side, True),
        "cross": pass_tiles(n, m, side, False),
    }
    for phase, tiles in passes.items():
        fig.goal(
            f"{phase}_vs_bare_gemm", timings[phase] / (tiles * gemm), "<=", 1.2,
            f"{phase} time / ({tiles:.0f} tiles x one bare {side}x{side}x{D} GEMM)",
        )  # fmt: skip
    fig.check("phase_seconds", timings)
    fig.check("n_rechecked", res.info["n_rechecked"])
    fig.check("peak_device_bytes", peak["bytes"])
    fig.check("gemm_path", backend.gemm_path)
    fig.check("tile_rows", side)
    fig.check("metrics", {f: {m_: dict(v) for m_, v in s.items()} for f, s in res.scalars.items()})


def torch_prdc(real, fake, k: int, chunk: int = 8192):
    """prdc's metrics in torch on the GPU, the straightforward way (float32, strict boundary):
    row-chunked cdist, kthvalue for the radii, comparisons. Returns per-sample decisions."""

    def radii(x):
        out = torch.empty(x.shape[0], device=x.device)
        for i in range(0, x.shape[0], chunk):
            d = torch.cdist(x[i : i + chunk], x)
            out[i : i + chunk] = d.kthvalue(k + 1, dim=1).values
        return out

    r_real, r_fake = radii(real), radii(fake)
    in_real_ball = torch.zeros(fake.shape[0], dtype=torch.int64, device=real.device)
    covered = torch.zeros(real.shape[0], dtype=torch.bool, device=real.device)
    in_fake = torch.zeros(real.shape[0], dtype=torch.bool, device=real.device)
    for i in range(0, real.shape[0], chunk):
        d = torch.cdist(real[i : i + chunk], fake)  # (chunk, M)
        inside = d < r_real[i : i + chunk, None]
        in_real_ball += inside.sum(dim=0)
        covered[i : i + chunk] = d.min(dim=1).values < r_real[i : i + chunk]
        in_fake[i : i + chunk] = (d < r_fake[None, :]).any(dim=1)
    synchronize()
    return {
        "precision": (in_real_ball > 0).cpu().numpy(),
        "recall": in_fake.cpu().numpy(),
        "n_real_balls": in_real_ball.cpu().numpy(),
        "coverage": covered.cpu().numpy(),
    }


def fastprdc_prdc(real, fake, device=CUDA, exact=True):
    res = fastprdc.evaluate(
        real, fake, k=K, metrics=("precision_recall", "density_coverage"), boundary="strict",
        sample_level=True, device=device, exact=exact,
    )  # fmt: skip
    s = res.samples
    return res, {
        "precision": s["precision_recall"]["in_real_manifold"][K],
        "recall": s["precision_recall"]["in_fake_manifold"][K],
        "n_real_balls": s["density_coverage"]["n_real_balls"][K],
        "coverage": s["density_coverage"]["covered"][K],
    }


@pytest.mark.parametrize("kind", ["gaussian", "structured"])
def test_gpu_prdc_vs_torch(figure, scaled, kind):
    n = m = scaled(100_000)
    real, fake = DATA[kind](n, D, 20), DATA[kind](m, D, 21, shift=0.05)
    fig = figure(
        f"gpu_prdc_vs_torch_{kind}", f"full PRDC on the GPU vs torch cdist, {kind} data",
        {"N": n, "M": m, "d": D, "k": K, "device": device_name()},
    )  # fmt: skip
    res = fig.run(
        "fastprdc_cuda", lambda: fastprdc_prdc(real, fake),
        {"torch_cdist": lambda: torch_prdc(real, fake, K)}, main_rounds=2,
    )  # fmt: skip
    fig.goal(
        "speedup_vs_torch", fig.time("torch_cdist") / fig.time("fastprdc_cuda"), ">=", 3.0,
        "torch cdist PRDC time / fastprdc time",
    )  # fmt: skip
    exact = res[1]
    theirs = fig.results["torch_cdist"]
    fig.check(
        "torch_decisions_differing_from_oracle",
        {name: int((np.asarray(theirs[name]) != np.asarray(exact[name])).sum()) for name in exact},
    )
    fig.check("n_rechecked", res[0].info["n_rechecked"])


def test_gpu_exact_overhead(figure, scaled):
    n = m = scaled(100_000)
    real, fake = gaussian(n, D, 30), gaussian(m, D, 31, shift=0.05)
    fig = figure(
        "gpu_exact_overhead", "exact=True vs exact=False on the GPU",
        {"N": n, "d": D, "device": device_name()},
    )  # fmt: skip
    res = fig.run(
        "exact", lambda: fastprdc_prdc(real, fake),
        {"not_exact": lambda: fastprdc_prdc(real, fake, exact=False)}, main_rounds=2,
    )  # fmt: skip
    fig.goal(
        "overhead", fig.time("exact") / fig.time("not_exact") - 1.0, "<=", 0.05,
        "exact=True time / exact=False time - 1",
    )  # fmt: skip
    flips = {k: int((fig.results["not_exact"][1][k] != v).sum()) for k, v in res[1].items()}
    fig.check("exact_false_flips", flips)


def test_gpu_cupy_vs_cuda(figure, scaled):
    if not REHEARSAL and available_backends()["cupy"] is not None:
        pytest.skip(f"cupy backend unavailable: {available_backends()['cupy']}")
    n = m = scaled(100_000)
    real, fake = gaussian(n, D, 40), gaussian(m, D, 41, shift=0.05)
    sizes = {"N": n, "d": D, "device": device_name()}
    fig = figure("gpu_cupy_vs_cuda", "cupy backend vs cuda backend", sizes)
    fastprdc_prdc(real[:1000], fake[:1000], device=CUPY)  # NVRTC compile outside the timing
    res = fig.run(
        "cuda", lambda: fastprdc_prdc(real, fake),
        {"cupy": lambda: fastprdc_prdc(real, fake, device=CUPY)}, main_rounds=2,
    )  # fmt: skip
    fig.goal("cupy_vs_cuda", fig.time("cupy") / fig.time("cuda"), "<=", 1.3, "cupy / cuda time")
    same = all(np.array_equal(fig.results["cupy"][1][k], v) for k, v in res[1].items())
    fig.check("identical_results", same)
    assert same


def _each_setting(monkeypatch, n: int, seed: int, var: str, values: tuple, run) -> dict:
    """{(data kind, value): (seconds, run's result)} of ``run(real, fake)`` at n rows of each
    data kind with $var set to each value in turn (after a small run, outside the timing)."""
    out = {}
    for kind in DATA:
        real, fake = DATA[kind](n, D, seed), DATA[kind](n, D, seed + 1, shift=0.05)
        for value in values:
            monkeypatch.setenv(var, value)
            run(real[:2000], fake[:2000])
            t0 = time.perf_counter()
            res = run(real, fake)
            out[(kind, value)] = (time.perf_counter() - t0, res)
    return out


def test_gpu_gemm_paths(figure, scaled, monkeypatch):
    n = scaled(100_000)
    runs = _each_setting(monkeypatch, n, 50, "FASTPRDC_GPU_GEMM", GEMM_PATHS, fastprdc_prdc)
    fig = figure(
        "gpu_gemm_paths",
        "GEMM paths " + ", ".join(GEMM_PATHS),
        {"N": n, "d": D, "device": device_name()},
    )
    fig.run("noop", lambda: None, main_rounds=1)
    for kind in DATA:
        mine = {path: runs[(kind, path)] for path in GEMM_PATHS}
        fig.check(f"{kind}_seconds", {path: t for path, (t, _) in mine.items()})
        fig.check(f"{kind}_rechecks", {p: r.info["n_rechecked"] for p, (_, (r, _)) in mine.items()})
        first = mine[GEMM_PATHS[0]][1][1]
        same = all(
            np.array_equal(decisions[k], v)
            for _, (_, decisions) in mine.values()
            for k, v in first.items()
        )
        fig.check(f"{kind}_identical", same)
        assert same


# the passes' kernels besides GEMMs
PASS_KERNELS = (
    "gate_parts", "gate_merge", "scan_hits", "recheck_pairs", "cross_rows", "cross_cols",
)  # fmt: skip


def test_gpu_kernel_profile(figure, scaled):
    n = m = scaled(100_000)
    real, fake = gaussian(n, D, 60), gaussian(m, D, 61, shift=0.05)
    backend = get_backend(CUDA)
    fig = figure(
        "gpu_kernel_profile", "evaluate(metrics='all') on the GPU, each GEMM and kernel timed",
        {"N": n, "M": m, "d": D, "device": device_name()},
    )  # fmt: skip

    def run():
        return fastprdc.evaluate(real, fake, metrics="all", device=CUDA)

    want = fig.run("fastprdc_cuda", run, main_rounds=1)
    with kernel_profile(backend) as profiled:
        got = run()
    parts = breakdown(profiled)
    gemm = sum(v["seconds"] for name, v in parts.items() if name.startswith("gemm_"))
    kernels = sum(parts[name]["seconds"] for name in PASS_KERNELS if name in parts)
    for field in ("seconds", "share", "calls"):
        fig.check(f"kernel_{field}", {name: v[field] for name, v in parts.items()})
    fig.check("pass_kernels_vs_gemm", kernels / gemm)
    fig.check("profiled_total_seconds", sum(v["seconds"] for v in parts.values()))
    fig.check("same_results_profiled", got.scalars == want.scalars)
    # the same profile with exact=False: which kernels the cost of exactness (figure 13) lies in
    with kernel_profile(backend) as loose:
        fastprdc.evaluate(real, fake, metrics="all", device=CUDA, exact=False)
    fig.check("kernel_seconds_not_exact", {n: v["seconds"] for n, v in breakdown(loose).items()})
    fig.note(
        "each GEMM and kernel is synchronised before and after in the profiled run (slower than "
        "the plain run timed above); pass_kernels_vs_gemm = (the tile gates, scan_hits, "
        "recheck_pairs, cross_rows, cross_cols) / the GEMMs of the passes; "
        "kernel_seconds_not_exact: the same with exact=False"
    )
    assert got.scalars == want.scalars


def duplicated(n: int, d: int, seed: int, first: int):
    """Rows drawn from 20 distinct rows of small integers (categorical-like): rows first..first+19
    of 25 fixed ones (figure 16's data, generated on the GPU)."""
    g = torch.Generator(device=TORCH_DEVICE).manual_seed(1234)
    base = torch.randint(0, 5, (25, d), generator=g, device=TORCH_DEVICE).float()
    g.manual_seed(seed)
    rows = torch.randint(first, first + 20, (n,), generator=g, device=TORCH_DEVICE)
    return base[rows].contiguous()


def _compare_settings(figure, scaled, monkeypatch, name: str, title: str, var: str, options):
    """evaluate(metrics="all") at 100k, both data kinds, with $var at each of ``options``
    ({option name: value}): the seconds, phases and whether the results are identical."""
    n = scaled(100_000)
    run = functools.partial(fastprdc.evaluate, metrics="all", device=CUDA)
    out = _each_setting(monkeypatch, n, 80, var, tuple(options.values()), run)
    fig = figure(name, title, {"N": n, "d": D, "device": device_name()})
    fig.run("noop", lambda: None, main_rounds=1)
    for kind in DATA:
        runs = {opt: out[(kind, value)] for opt, value in options.items()}
        fig.check(f"{kind}_seconds", {opt: t for opt, (t, _) in runs.items()})
        fig.check(f"{kind}_rechecks", {opt: r.info["n_rechecked"] for opt, (_, r) in runs.items()})
        for opt, (_, res) in runs.items():
            fig.check(f"{kind}_phases_{opt}", res.info["timings"])
        first, *rest = (res.scalars for _, res in runs.values())
        same = all(r == first for r in rest)
        fig.check(f"{kind}_identical", same)
        assert same


def test_gpu_tile_gates(figure, scaled, monkeypatch):
    """The tile gates (each row's gate capped before the scan by its k-th smallest upper bound
    in the tile) against their absence."""
    _compare_settings(
        figure, scaled, monkeypatch, "gpu_tile_gates", "tile gates on vs off",
        "FASTPRDC_GPU_TILE_GATES", {"on": "1", "off": "0"},
    )  # fmt: skip


def test_gpu_tile_groups(figure, scaled, monkeypatch):
    """Groups of tiles that share no row, each pass kernel launched once per group (automatic:
    about 2^17 threads a launch, 16 tiles of 8192 rows), against a launch per tile (8192
    threads: two warps per multiprocessor)."""
    _compare_settings(
        figure, scaled, monkeypatch, "gpu_tile_groups", "tile groups vs a tile per launch",
        "FASTPRDC_GPU_TILE_GROUP", {"grouped": "0", "single": "1"},
    )  # fmt: skip


def test_gpu_deferred_rechecks(figure, scaled, monkeypatch):
    """The cross pass's ball decisions that need the oracle: one parallel recheck per pair
    (recheck_pairs), against the scan's thread rechecking them inline while its warp waits."""
    _compare_settings(
        figure, scaled, monkeypatch, "gpu_deferred_rechecks", "deferred vs inline ball rechecks",
        "FASTPRDC_GPU_DEFER_RECHECKS", {"deferred": "1", "inline": "0"},
    )  # fmt: skip


def test_gpu_overlap(figure, scaled, monkeypatch):
    """A group's GEMMs queued on one stream while the previous group's kernels run on another
    (the kernels' long per-row loops leave multiprocessors idle that the GEMM's blocks can
    take), against one stream with the host waiting for each group."""
    _compare_settings(
        figure, scaled, monkeypatch, "gpu_overlap", "GEMMs overlapping kernels vs one stream",
        "FASTPRDC_GPU_OVERLAP", {"overlapped": "1", "serial": "0"},
    )  # fmt: skip


def test_gpu_duplicated_rows(figure, scaled):
    """Figure 17, figure 16's comparison on the GPU: rows grouped by value on the device (a hash
    per row, then a comparison), so that copies are decided without the float64 oracle; goal <=
    3x the time on distinct rows of the same shape (d = 14, as figure 16)."""
    n = m = scaled(100_000)
    d = 14
    real, fake = duplicated(n, d, 70, 0), duplicated(m, d, 71, 5)
    real_u, fake_u = gaussian(n, d, 72), gaussian(m, d, 73, shift=0.05)
    fig = figure(
        "gpu_duplicated_rows", "evaluate(metrics='all') on the GPU, duplicated vs distinct rows",
        {"N": n, "M": m, "d": d, "distinct_rows": 20, "device": device_name()},
    )  # fmt: skip

    def run(a, b):
        with warnings.catch_warnings():  # pce_rce_re: zero k-th distances on exact duplicates
            warnings.filterwarnings("ignore", "pce_rce_re: zero k-th", RuntimeWarning)
            return fastprdc.evaluate(a, b, metrics="all", device=CUDA)

    res = fig.run(
        "fastprdc_cuda_duplicated", lambda: run(real, fake),
        {"fastprdc_cuda_distinct": lambda: run(real_u, fake_u)}, main_rounds=1,
    )  # fmt: skip
    fig.goal(
        "duplicated_vs_distinct",
        fig.time("fastprdc_cuda_duplicated") / fig.time("fastprdc_cuda_distinct"), "<=", 3.0,
        "evaluate(all) time on duplicated rows / on distinct rows of the same shape",
    )  # fmt: skip
    fig.check("n_rechecked_duplicated", res.info["n_rechecked"])
    fig.check("n_rechecked_distinct", fig.results["fastprdc_cuda_distinct"].info["n_rechecked"])
    fig.check("phase_seconds", res.info["timings"])
