"""GPU-only behaviour of the cuda and cupy backends (their exactness runs in every test through
the fast_backend fixture): a GPU named by its index, GPU-resident inputs (CuPy arrays, torch
CUDA tensors) without a host copy, the GEMM paths, the overlap of GEMMs and kernels, the two GPU
backends agreeing bit for bit, interrupts and errors freeing device memory, out-of-memory
messages, the precision environment. Skipped, with the reason, where no GPU backend is usable."""

from __future__ import annotations

import gc
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from _helpers import assert_same, make_pair, require_backend

import fastprdc
from fastprdc import _core
from fastprdc._backends import available_backends, get_backend
from fastprdc._backends.gpu_settings import GEMM_PATHS

GPU = ["cuda", "cupy"]


@pytest.fixture(params=GPU)
def gpu(request):
    return require_backend(request.param)


def _assert_results_same(a, b, label):
    for family in b.scalars:
        for metric, per_k in b.scalars[family].items():
            for k, v in per_k.items():
                assert_same(a.scalars[family][metric][k], v, f"{label} {family}.{metric}[{k}]")
    for family, arrays in (b.samples or {}).items():
        for name, per_k in arrays.items():
            for k, v in per_k.items():
                assert_same(a.samples[family][name][k], v, f"{label} {family}.{name}[{k}]")


def _evaluate(real, fake, device, **kw):
    return fastprdc.evaluate(real, fake, metrics="all", sample_level=True, device=device, **kw)


def test_a_gpu_named_by_its_index(gpu, rng):
    """device="cuda:<i>" is the backend on GPU i (the one plain "cuda" gave on the current
    GPU: the same results); an index past the visible GPUs is an error saying how many
    there are."""
    backend = get_backend(gpu)
    here = backend.ops.device_id
    assert get_backend(f"{gpu}:{here}") is backend
    real, fake = make_pair(rng, "gauss", 300, 250, 8)
    want = _evaluate(real, fake, "cpu")
    _assert_results_same(_evaluate(real, fake, f"{gpu}:{here}"), want, f"{gpu}:{here}")
    with pytest.raises(RuntimeError, match=r"no GPU 4096: this process sees \d+ GPUs? \("):
        _evaluate(real, fake, f"{gpu}:4096")


def test_host_inputs_on_the_gpu(gpu, rng):
    real, fake = make_pair(rng, "repeats", 400, 300, 16)
    _assert_results_same(_evaluate(real, fake, gpu), _evaluate(real, fake, "cpu"), gpu)


@pytest.mark.parametrize("kind", ["cupy", "torch"])
def test_gpu_resident_inputs_stay_on_the_gpu(kind, rng, monkeypatch):
    """device='auto' follows CuPy arrays and torch CUDA tensors to a GPU backend, validates them
    there (no host copy) and gives the cpu backend's results."""
    if not any(available_backends()[name] is None for name in GPU):
        pytest.skip(f"no GPU backend is usable: {available_backends()}")
    real, fake = make_pair(rng, "offset", 300, 250, 32)
    if kind == "cupy":
        cp = pytest.importorskip("cupy")
        dr, df = cp.asarray(real), cp.asarray(fake)
    else:
        torch = pytest.importorskip("torch")
        if not torch.cuda.is_available():
            pytest.skip("torch has no CUDA device")
        dr, df = torch.from_numpy(real).cuda(), torch.from_numpy(fake).cuda()
    import fastprdc._arrays as arrays

    def no_copy(x):
        raise AssertionError("a GPU-resident input was copied to the host")

    monkeypatch.setattr(arrays, "to_host", no_copy)
    monkeypatch.setattr("fastprdc._validation.to_host", no_copy)
    res = _evaluate(dr, df, "auto")
    monkeypatch.undo()
    first = next(name for name in GPU if available_backends()[name] is None)
    assert res.info["backend"] == f"{first}:{get_backend(first).ops.device_id}"  # and its GPU
    _assert_results_same(res, _evaluate(real, fake, "cpu"), kind)


def test_gpu_inputs_are_checked_on_the_device(gpu, rng):
    cp = pytest.importorskip("cupy")
    real, fake = make_pair(rng, "gauss", 50, 40, 4)
    bad = real.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf \(first bad row: 7\)"):
        fastprdc.evaluate(cp.asarray(bad), cp.asarray(fake), device=gpu)
    with pytest.raises(ValueError, match="float32 or float64"):
        fastprdc.evaluate(cp.asarray(real).astype(cp.int32), cp.asarray(fake), device=gpu)
    with pytest.raises(ValueError, match="different devices"):
        fastprdc.evaluate(cp.asarray(real), fake)


@pytest.mark.filterwarnings("ignore:pce_rce_re. zero k-th neighbour distances:RuntimeWarning")
def test_cuda_and_cupy_agree_bit_for_bit(rng):  # lattice data: exact duplicates
    require_backend("cuda")
    require_backend("cupy")
    real, fake = make_pair(rng, "lattice", 500, 450, 3)
    _assert_results_same(_evaluate(real, fake, "cupy"), _evaluate(real, fake, "cuda"), "cupy")


@pytest.mark.parametrize("path", GEMM_PATHS)
def test_gemm_paths_are_exact(gpu, path, rng, monkeypatch):
    """Every GEMM path gives the oracle's decisions (only the recheck count may differ)."""
    monkeypatch.setenv("FASTPRDC_GPU_GEMM", path)
    for kind in ("gauss", "offset", "repeats"):
        real, fake = make_pair(rng, kind, 600, 500, 64)
        _assert_results_same(_evaluate(real, fake, gpu), _evaluate(real, fake, "cpu"), kind)


def _gemm_operands(kind: str, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Frame values (float32, |v| <= 1) that stress a GEMM path's error model."""
    if kind == "wide":  # rows over six orders of magnitude, mixed signs
        v = rng.standard_normal((n, d)) * np.exp(rng.uniform(-7, 0, (n, 1)))
    elif kind == "positive":  # no cancellation: every rounding and truncation adds up
        v = rng.uniform(0.25, 1.0, (n, d))
    elif kind == "midpoints":  # just below TF32's and FP16's rounding midpoints, one sign
        v = np.full((n, d), 0.5 * (1 + 4095 * 2.0**-23)) * rng.choice([1.0, 0.999], (n, d))
    else:  # "tiny": frame values down to 2^-40, FP16 subnormals once shifted, beside 1s
        v = np.ldexp(rng.uniform(0.5, 1.0, (n, d)), rng.integers(-40, -20, (n, d)))
        v[:, :: d // 8] = 1.0
    v = v.astype(np.float32)
    return v / np.float32(max(1.0, float(np.abs(v).max())))


@pytest.mark.parametrize("path", GEMM_PATHS)
@pytest.mark.parametrize("backend", ["sim", *GPU])
def test_gemm_error_stays_within_the_paths_bound(backend, path, rng):
    """The error model of each GEMM path (csrc/common/error_bound.hpp) against the device's
    own tensor cores: the backend packs frame values as a run does (centre 0, scale 1) and runs
    the path's GEMM; every inner product stays within the bound the run decides with (its
    coefficient of sum |x_t y_t|, and half its absolute term, as e counts the GEMM's error
    twice), on data that stress the rounding (d = 64: the accumulation's share of the bound is
    small), the accumulation (d = 2048) and FP16's subnormals. The sim checks its emulation; a
    GPU checks the model."""
    require_backend(backend)
    engine = get_backend(backend)
    ops = engine.ops
    n = 48
    for kind, d in itertools.product(("wide", "positive", "midpoints", "tiny"), (64, 2048)):
        coef, absb = _core.error_bounds(d, 0, 0, path)
        x, y = _gemm_operands(kind, rng, n, d), _gemm_operands(kind, rng, n + 5, d)
        with ops.current():
            sets = [engine._set(v) for v in (x, y)]
            centre = ops.upload(np.zeros(d))
            for s in sets:
                engine._pack(s, centre, 1.0, path)
            a, b = (s.packed if s.small is None else (s.packed, s.small) for s in sets)
            tile = ops.empty(len(x) * len(y), np.float32)
            ops.gemm(path, tile, a, 0, len(x), b, 0, len(y), d)
            ops.synchronize()
            got = ops.download(tile, len(x) * len(y)).reshape(len(x), len(y)) / -2.0
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        err = np.abs(got - x64 @ y64.T)
        limit = coef * (np.abs(x64) @ np.abs(y64).T) + absb / 2
        worst = np.unravel_index(np.argmax(err / limit), err.shape)
        message = f"{path} {kind} d={d}: error {err[worst]:.3g} > bound {limit[worst]:.3g}"
        assert (err <= limit).all(), message


@pytest.mark.filterwarnings("ignore:pce_rce_re. zero k-th neighbour distances:RuntimeWarning")
@pytest.mark.parametrize("kind", ["gauss", "repeats"])
def test_overlap_on_the_gpu_is_exact(gpu, kind, rng, monkeypatch):
    """A group's GEMMs on one stream while the previous group's kernels run on another (many
    small groups: two tiles of 256 rows each) gives the oracle's decisions, as without."""
    real, fake = make_pair(rng, kind, 3000, 2600, 64)
    want = _evaluate(real, fake, "cpu")
    monkeypatch.setenv("FASTPRDC_GPU_TILE_GROUP", "2")
    for overlap in ("1", "0"):
        monkeypatch.setenv("FASTPRDC_GPU_OVERLAP", overlap)
        got = _evaluate(real, fake, gpu, tile_rows=256)
        _assert_results_same(got, want, f"{kind} overlap={overlap}")


def _free_bytes(name):
    return get_backend(name).ops.free_bytes()


def test_interrupt_frees_device_memory(gpu, rng):
    """A KeyboardInterrupt from the progress callback stops the run at the next tile; afterwards
    the device memory of the run is released."""
    real, fake = make_pair(rng, "gauss", 3000, 3000, 64)
    _evaluate(real[:300], fake[:300], gpu, tile_rows=256)  # loads kernels, cuBLAS, pool blocks
    gc.collect()
    before = _free_bytes(gpu)
    calls = []

    def stop(done, total):
        calls.append(done)
        if done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fastprdc.evaluate(real, fake, device=gpu, progress=stop, tile_rows=256)
    assert len(calls) <= 2
    gc.collect()
    assert _free_bytes(gpu) >= before - (1 << 20)


def test_out_of_memory_is_a_clear_error():
    require_backend("cuda")
    import fastprdc._cuda as module

    with pytest.raises(RuntimeError, match=r"out of GPU memory allocating .* bytes free"):
        module.DeviceBuffer(1 << 60)


def test_emulated_fp32_is_refused():
    require_backend("cuda")
    code = (
        "import fastprdc\n"
        "from fastprdc._backends import available_backends\n"
        "print(available_backends()['cuda'])\n"
    )
    env = dict(os.environ, CUBLAS_EMULATE_SINGLE_PRECISION="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "CUBLAS_EMULATE_SINGLE_PRECISION" in out.stdout, out.stderr


def test_mode_level_with_gpu_resident_inputs(gpu, rng, monkeypatch):
    """Per-class evaluation gathers each class on the GPU (no copy of the features to the host)
    and gives the cpu backend's per-class table."""
    cp = pytest.importorskip("cupy")
    real, fake = make_pair(rng, "gauss", 300, 280, 8)
    yr, yf = rng.integers(0, 4, 300), rng.integers(0, 5, 280)
    want = fastprdc.evaluate(real, fake, real_labels=yr, fake_labels=yf, device="cpu")

    def no_copy(x):
        raise AssertionError("a GPU-resident input was copied to the host")

    monkeypatch.setattr("fastprdc._validation.to_host", no_copy)
    got = fastprdc.evaluate(
        cp.asarray(real), cp.asarray(fake), real_labels=yr, fake_labels=yf, device=gpu
    )
    monkeypatch.undo()
    assert got.per_class["evaluated"] == want.per_class["evaluated"]
    for c, families in want.per_class["scalars"].items():
        for family, metrics in families.items():
            for metric, per_k in metrics.items():
                for k, v in per_k.items():
                    assert_same(got.per_class["scalars"][c][family][metric][k], v, f"{c} {metric}")
