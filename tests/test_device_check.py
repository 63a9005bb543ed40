"""The device check's own logic (benchmarks/gpu/, run on a lent GPU): which GEMM path the later
figures use (the faster of the measured two, only when both gave identical decisions) and the
summary table it prints last."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

GPU_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu"

pytestmark = pytest.mark.skipif(
    not (GPU_DIR / "gemm_choice.py").is_file(), reason="needs the source tree's benchmarks/gpu/"
)


def _paths_json(tmp_path: Path, fp32: float, tf32x3: float, identical: bool = True) -> Path:
    checks = {}
    for kind in ("gaussian", "structured"):
        checks[f"{kind}_seconds"] = {"fp32": fp32, "tf32x3": tf32x3}
        checks[f"{kind}_rechecks"] = {"fp32": 10, "tf32x3": 40}
        checks[f"{kind}_identical"] = identical
    info = {"figure": "gpu_gemm_paths", "times": {"noop": 0.0}, "ratios": [], "checks": checks}
    path = tmp_path / "bench_gpu_paths.json"
    path.write_text(json.dumps({"benchmarks": [{"name": "x", "extra_info": info}]}))
    return path


def _choice(path: Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, str(GPU_DIR / "gemm_choice.py"), str(path)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return out.stdout.strip()


def test_the_faster_path_is_chosen(tmp_path):
    assert _choice(_paths_json(tmp_path, fp32=3.0, tf32x3=1.5)) == "tf32x3"
    assert _choice(_paths_json(tmp_path, fp32=1.0, tf32x3=1.5)) == "fp32"


def test_no_choice_without_identical_decisions_or_figure(tmp_path):
    spec = importlib.util.spec_from_file_location("gemm_choice", GPU_DIR / "gemm_choice.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.faster_path(_paths_json(tmp_path, 3.0, 1.5, identical=False)) is None
    assert module.faster_path(tmp_path / "missing.json") is None
    assert _choice(tmp_path / "missing.json", env={"FASTPRDC_GPU_GEMM": "tf32x3"}) == "tf32x3"
    assert _choice(tmp_path / "missing.json", env={}) == "fp32"


def test_summary_lists_stages_choice_and_figures(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "install.status").write_text("ok (90s)\n")
    (logs / "bench.status").write_text("TIMEOUT after 150s\n")
    (logs / "gemm_path.txt").write_text("GEMM path for the figures: tf32x3\n")
    _paths_json(tmp_path, fp32=3.0, tf32x3=1.5)
    out = subprocess.run(
        [sys.executable, str(GPU_DIR / "summarize.py"), str(logs), str(tmp_path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "install    ok (90s)" in out
    assert "bench      TIMEOUT after 150s" in out
    assert "sanitizer  not run" in out
    assert "GEMM path for the figures: tf32x3" in out
    assert "gaussian_seconds: {'fp32': 3.0, 'tf32x3': 1.5}" in out
