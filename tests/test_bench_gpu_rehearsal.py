"""The GPU benchmarks (benchmarks/bench_gpu.py) rehearsed without a GPU: every figure runs with
FASTPRDC_BENCH_GPU_REHEARSAL=1 (torch tensors on the CPU, the sim backend for cuda and cupy), at
the smallest scale, and its JSON goes through the device check's summary and GEMM-path choice.
The numbers mean nothing; a mistake in the file's code paths would otherwise cost a lent GPU's
minutes. Needs torch (CI's compat stage installs it) and the source tree's benchmarks/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastprdc._backends.gpu_settings import GEMM_PATHS

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"

pytestmark = pytest.mark.skipif(
    not (BENCH / "bench_gpu.py").is_file(), reason="needs the source tree's benchmarks/"
)

FIGURES = {
    "gpu_evaluate_1m_gaussian", "gpu_evaluate_1m_structured", "gpu_prdc_vs_torch_gaussian",
    "gpu_prdc_vs_torch_structured", "gpu_exact_overhead", "gpu_cupy_vs_cuda", "gpu_gemm_paths",
    "gpu_kernel_profile", "gpu_duplicated_rows", "gpu_tile_gates", "gpu_tile_groups",
    "gpu_deferred_rechecks", "gpu_overlap",
}  # fmt: skip


def test_every_gpu_figure_runs_in_rehearsal(tmp_path):
    pytest.importorskip("torch", reason="the GPU benchmarks make their inputs with torch")
    pytest.importorskip("pytest_benchmark", reason="the benchmarks run under pytest-benchmark")
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        "FASTPRDC_BENCH_GPU_REHEARSAL": "1",
        "FASTPRDC_BENCH_SCALE": "0.0001",
        "FASTPRDC_BENCH_ROUNDS": "1",
    }
    saved = f"--benchmark-json={out / 'bench_gpu.json'}"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         str(BENCH / "bench_gpu.py"), "--benchmark-only", saved,
         "-W", "ignore::pytest_benchmark.logger.PytestBenchmarkWarning"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    data = json.loads((out / "bench_gpu.json").read_text())
    figures = {b["extra_info"]["figure"] for b in data["benchmarks"]}
    assert figures == FIGURES
    for b in data["benchmarks"]:  # every figure says so, and report.py refuses them
        assert b["extra_info"]["sizes"]["device"].startswith("rehearsal"), b["name"]
    refused = subprocess.run(
        [sys.executable, str(BENCH / "report.py"), str(BENCH / "RESULTS.json"), "--out",
         str(tmp_path / "R.md"), "--gpu", str(out / "bench_gpu.json")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "a rehearsal without a GPU" in refused.stderr
    assert not (tmp_path / "R.md").exists()

    summary = subprocess.run(
        [sys.executable, str(BENCH / "gpu" / "summarize.py"), str(tmp_path / "logs"), str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert summary.returncode == 0, summary.stderr
    for figure in FIGURES:
        assert f"  {figure}: " in summary.stdout, figure
    choice = subprocess.run(
        [sys.executable, str(BENCH / "gpu" / "gemm_choice.py"), str(out / "bench_gpu.json")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert choice.stdout.strip() in GEMM_PATHS, choice.stdout + choice.stderr
