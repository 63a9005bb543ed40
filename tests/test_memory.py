"""Peak memory: the N x M distance matrix is never allocated, the ``max_memory`` budget holds,
and massive ties (identical rows, all-zero realism radii) do not grow candidate lists as N x M
(README, "Memory, threads, progress"; docs/metrics.md section 10 for the ties).

N = M = 12000, d = 8, float32: an N x M float64 matrix would be 1.15 GB and even a
float32 one 576 MB. Each measurement runs in a fresh subprocess and reads the
process's peak resident set size before and after the calls: ``VmHWM`` of
/proc/self/status, which sees native and BLAS allocations (tracemalloc does not) and,
unlike ``ru_maxrss``, is not inherited from the parent (pytest) across fork + exec.

These probes run the cpu backend only: they measure host memory, while a GPU backend's
temporaries live in device memory (and its CUDA context alone exceeds these bounds).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _helpers import PEAK_BYTES_SRC, run_probe

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads VmHWM from /proc/self/status (Linux)"
)

N = M = 12000
D = 8
MB = 1024 * 1024
MATRIX_F32 = N * M * 4

SCRIPT = PEAK_BYTES_SRC + textwrap.dedent(
    """
    import json, sys
    import numpy as np


    N, M, D = {N}, {M}, {D}
    rng = np.random.default_rng(0)
    real = rng.standard_normal((N, D), dtype=np.float32)
    fake = (0.1 + rng.standard_normal((M, D), dtype=np.float32)).astype(np.float32)
    import fastprdc
    kw = dict(device="cpu", num_threads=2)
    # warm up: native module, BLAS and thread pools, small buffers
    fastprdc.precision_recall(real[:400], fake[:400], **kw)
    fastprdc.density_coverage(real[:400], fake[:400], **kw)
    base = peak_bytes()
    mode = sys.argv[1]
    if mode == "metrics":
        pr = fastprdc.precision_recall(real, fake, k=3, sample_level=True, **kw)
        dc = fastprdc.density_coverage(real, fake, k=5, sample_level=True, **kw)
        res = fastprdc.evaluate(real, fake, k=[3, 5], **kw)
        out = dict(precision=pr["precision"], density=dc["density"])
    elif mode == "budget":
        pr = fastprdc.precision_recall(real, fake, k=3, max_memory="32MB", **kw)
        dc = fastprdc.density_coverage(real, fake, k=5, max_memory="32MB", **kw)
        out = dict(precision=pr["precision"], density=dc["density"])
    elif mode == "control":
        # what a half-size float32 matrix costs: proves the measurement sees it
        prod = real[: N // 2] @ fake.T
        out = dict(checksum=float(prod[0, 0]))
    else:
        raise SystemExit(mode)
    out["base"] = base
    out["peak"] = peak_bytes()
    print(json.dumps(out))
    """
).format(N=N, M=M, D=D)


def test_measurement_sees_a_large_matrix():
    out = run_probe(SCRIPT, "control")
    assert out["extra"] > 0.8 * MATRIX_F32 / 2, out


def test_metrics_never_allocate_n_by_m():
    out = run_probe(SCRIPT, "metrics")
    assert out["extra"] < 250 * MB, (
        f"peak memory grew by {out['extra'] / MB:.0f} MB during the calls "
        f"(an N x M float32 matrix is {MATRIX_F32 / MB:.0f} MB)"
    )
    assert 0.0 <= out["precision"] <= 1.0


def test_max_memory_budget_respected():
    out = run_probe(SCRIPT, "budget")
    # temporaries bounded by 32 MB; outputs are O((N + M) k); 40 MB of slack for
    # allocator granularity and per-thread arenas
    assert out["extra"] < 72 * MB, f"peak grew by {out['extra'] / MB:.0f} MB with max_memory=32MB"


TIES_SCRIPT = PEAK_BYTES_SRC + textwrap.dedent(
    """
    import json, sys, time
    import numpy as np


    from fastprdc import primitives as P
    kw = dict(device="cpu", num_threads=2)
    mode, n = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    if mode == "knn":
        X = np.zeros((n, 8))
    else:
        A = rng.random((n, 8))
        B = rng.random((n, 8))
        zeros = np.zeros(n)
    # warm up: native module, thread pool, small buffers
    P.knn(np.zeros((300, 8)), k=5, **kw)
    P.ball_membership(A[:300] if mode != "knn" else np.zeros((300, 8)),
                      np.zeros((300, 8)), np.zeros(300), realism=True, **kw)
    base = peak_bytes()
    t0 = time.perf_counter()
    if mode == "knn":
        dist, idx = P.knn(X, k=5, **kw)
        ok = bool(np.array_equal(idx[:, 0], np.where(np.arange(n) == 0, 1, 0)))
        ok &= bool(np.array_equal(idx[-1], np.arange(5))) and not dist.any()
    else:
        out = P.ball_membership(A, B, zeros, realism=True, **kw)
        ok = bool((out["realism"] == 0).all() and (out["realism_centre"] == 0).all())
    print(json.dumps({"base": base, "peak": peak_bytes(), "ok": ok,
                      "seconds": time.perf_counter() - t0}))
    """
)


# --- memory-mapped inputs larger than the budget (packed panels, no full copy) -----------------

MMAP_ROWS = 1600
MMAP_D = 16384  # wide rows: 105 MB per set with few rows, so the three passes take seconds
MMAP_BUDGET = 64 * MB

MMAP_SCRIPT = PEAK_BYTES_SRC + textwrap.dedent(
    """
    import json, sys, threading, time
    import numpy as np


    def status(field):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(field)


    class AnonPeak(threading.Thread):
        # anonymous (heap) resident memory, sampled: file-backed pages of the inputs excluded
        def __init__(self):
            super().__init__(daemon=True)
            self.peak, self.running = status("RssAnon"), True

        def run(self):
            while self.running:
                self.peak = max(self.peak, status("RssAnon"))
                time.sleep(0.005)


    import fastprdc
    kw = dict(device="cpu", num_threads=2)
    rng = np.random.default_rng(0)
    small = rng.standard_normal((300, 64), dtype=np.float32)
    fastprdc.evaluate(small, small + 0.1, k=5, metrics=("precision_recall", "density_coverage"),
                      **kw)  # warm up: native module, BLAS and thread pools
    real = np.load(sys.argv[1], mmap_mode="r")
    fake = np.load(sys.argv[2], mmap_mode="r")
    base, anon_base = peak_bytes(), status("RssAnon")
    sampler = AnonPeak()
    sampler.start()
    res = fastprdc.evaluate(real, fake, k=5, metrics=("precision_recall", "density_coverage"),
                            max_memory=int(sys.argv[3]), **kw)
    sampler.running = False
    sampler.join()
    out = dict(base=base, peak=peak_bytes(), anon_base=anon_base, anon_peak=sampler.peak,
               file_peak=status("RssFile"),
               precision=res.scalars["precision_recall"]["precision"][5])
    # control: the sampler's field sees an anonymous copy of one input
    before = status("RssAnon")
    copy = np.array(real)
    out["control_copy"] = status("RssAnon") - before
    print(json.dumps(out))
    """
)


@pytest.mark.slow  # ~6 s: every identical pair goes through the exact recheck
def test_identical_rows_knn_memory_bounded():
    """20000 identical rows, k = 5: tie candidates must not grow as N^2 (was 4 GB)."""
    out = run_probe(TIES_SCRIPT, "knn", 20000, timeout=240)
    assert out["ok"], out
    assert out["extra"] < 200 * MB, (
        f"self-kNN of 20000 identical rows grew peak memory by {out['extra'] / MB:.0f} MB "
        f"in {out['seconds']:.1f} s"
    )


def test_zero_radii_realism_memory_bounded():
    """8000 x 8000 with all-zero radii: every ratio ties at 0 (was O(N M) memory: 500 MB
    here, 4 GB at 20000)."""
    out = run_probe(TIES_SCRIPT, "realism", 8000, timeout=240)
    assert out["ok"], out
    assert out["extra"] < 200 * MB, (
        f"zero-radii realism 8000 x 8000 grew peak memory by {out['extra'] / MB:.0f} MB "
        f"in {out['seconds']:.1f} s"
    )


def _write_npy(path, rng, rows, cols, shift=0.0):
    """A float32 .npy file written in blocks (the parent never holds the whole array)."""
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, cols))
    for r0 in range(0, rows, 100):
        block = rng.standard_normal((min(100, rows - r0), cols), dtype=np.float32)
        mm[r0 : r0 + block.shape[0]] = block + np.float32(shift)
    mm.flush()
    del mm


def test_validation_does_not_copy_a_memmap(tmp_path):
    from fastprdc._validation import validate_features, validate_pair

    rng = np.random.default_rng(3)
    _write_npy(tmp_path / "a.npy", rng, 50, 16)
    _write_npy(tmp_path / "b.npy", rng, 40, 16)
    a = np.load(tmp_path / "a.npy", mmap_mode="r")
    b = np.load(tmp_path / "b.npy", mmap_mode="r")
    va, vb = validate_pair(a, b)
    assert np.shares_memory(va, a) and np.shares_memory(vb, b)
    assert np.shares_memory(validate_features(a, "X"), a)


def test_memmap_inputs_larger_than_the_budget(tmp_path):
    """Two memory-mapped float32 inputs of 105 MB each (each larger than the 64 MB budget):
    anonymous memory grows by about the budget (two packed panels), not by a float32 copy of
    the inputs (210 MB); the whole process's peak stays within the inputs' resident pages (file
    backed, reclaimable) + budget + slack."""
    rng = np.random.default_rng(5)
    paths = [tmp_path / "real.npy", tmp_path / "fake.npy"]
    _write_npy(paths[0], rng, MMAP_ROWS, MMAP_D)
    _write_npy(paths[1], rng, MMAP_ROWS, MMAP_D, shift=0.05)
    input_bytes = 2 * MMAP_ROWS * MMAP_D * 4
    try:
        proc = subprocess.run(
            [sys.executable, "-c", MMAP_SCRIPT, *map(str, paths), str(MMAP_BUDGET)],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:  # pytest keeps its last temporary directories: do not leave 210 MB behind
        for path in paths:
            path.unlink()
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    anon = out["anon_peak"] - out["anon_base"]
    extra = out["peak"] - out["base"]
    assert out["control_copy"] > 0.9 * input_bytes / 2, out  # the sampler sees a copy
    # budget (tiles + two panels) + O((N + M) k) state + 40 MB for allocator arenas and outputs;
    # a full float32 copy of the inputs alone would be 210 MB
    assert anon < MMAP_BUDGET + 40 * MB, f"anonymous memory grew by {anon / MB:.0f} MB: {out}"
    assert extra < input_bytes + MMAP_BUDGET + 40 * MB, f"peak grew by {extra / MB:.0f} MB: {out}"
    assert 0.0 <= out["precision"] <= 1.0
