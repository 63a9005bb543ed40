"""The N x M distance matrix is never allocated (architecture.md, Memory).

N = M = 12000, d = 8, float32: an N x M float64 matrix would be 1.15 GB and even a
float32 one 576 MB. Each measurement runs in a fresh subprocess and reads the
process's peak resident set size before and after the calls: ``VmHWM`` of
/proc/self/status, which sees native and BLAS allocations (tracemalloc does not) and,
unlike ``ru_maxrss``, is not inherited from the parent (pytest) across fork + exec.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from _helpers import PEAK_BYTES_SRC

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


def _measure(mode):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["extra"] = out["peak"] - out["base"]
    return out


def test_measurement_sees_a_large_matrix():
    out = _measure("control")
    assert out["extra"] > 0.8 * MATRIX_F32 / 2, out


def test_metrics_never_allocate_n_by_m():
    out = _measure("metrics")
    assert out["extra"] < 250 * MB, (
        f"peak memory grew by {out['extra'] / MB:.0f} MB during the calls "
        f"(an N x M float32 matrix is {MATRIX_F32 / MB:.0f} MB)"
    )
    assert 0.0 <= out["precision"] <= 1.0


def test_max_memory_budget_respected():
    out = _measure("budget")
    # temporaries bounded by 32 MB; outputs are O((N + M) k); 40 MB of slack for
    # allocator granularity and per-thread arenas
    assert out["extra"] < 72 * MB, f"peak grew by {out['extra'] / MB:.0f} MB with max_memory=32MB"
