"""The GPU test files (test_gpu*.py) rehearsed without a GPU, in a subprocess with
FASTPRDC_GPU_REHEARSAL=1 (tests/_gpu_rehearsal.py: the cuda and cupy backends on the sim engine
under their own names, CuPy arrays over host memory): every test but those that need the device
itself must pass, so that a mistake in a GPU test shows in CI, not on a lent GPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
GPU_TESTS = ["test_gpu.py", "test_gpu_build.py", "test_gpu_pipeline.py", "test_gpu_properties.py"]


def test_gpu_tests_pass_in_rehearsal():
    env = {**os.environ, "FASTPRDC_GPU_REHEARSAL": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         *(str(TESTS / f) for f in GPU_TESTS)],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    skipped = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("GPU rehearsal" in line or "torch" in line or "GPU backend is available" in line
               for line in skipped), skipped  # fmt: skip
