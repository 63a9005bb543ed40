"""The GPU benchmarks' kernel profile (benchmarks/_kernel_profile.py), run on the sim backend
(the GPU pipeline with its kernels on the CPU): every GEMM and kernel of a run is timed, the run's
results do not change, and the backend gets its own operations back; the device check's summary
prints the shares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers import load_source_module, make_pair

import fastprdc
from fastprdc._backends import get_backend

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"

pytestmark = pytest.mark.skipif(
    not (BENCH_DIR / "_kernel_profile.py").is_file(), reason="needs the source tree's benchmarks/"
)


def _module():
    return load_source_module(BENCH_DIR / "_kernel_profile.py", "kernel_profile")


def test_every_gemm_and_kernel_is_timed_and_results_unchanged(rng):
    kp = _module()
    real, fake = make_pair(rng, "gauss", 300, 280, 6)
    sim = get_backend("sim")
    plain_ops = sim.ops
    want = fastprdc.evaluate(real, fake, metrics="all", device="sim", sample_level=True)
    with kp.kernel_profile(sim) as profiled:
        got = fastprdc.evaluate(real, fake, metrics="all", device="sim", sample_level=True)
    assert sim.ops is plain_ops
    assert got.scalars == want.scalars
    parts = kp.breakdown(profiled)
    for name in ("gemm_fp32", "scan_hits", "cross_rows", "cross_cols", "pack_rows", "finalize_a"):
        assert parts[name]["calls"] > 0 and parts[name]["seconds"] >= 0, name
    assert sum(v["share"] for v in parts.values()) == pytest.approx(1.0)
    seconds = [v["seconds"] for v in parts.values()]
    assert seconds == sorted(seconds, reverse=True)


def test_ops_are_restored_after_an_error(rng):
    kp = _module()
    sim = get_backend("sim")
    plain_ops = sim.ops
    with pytest.raises(KeyboardInterrupt), kp.kernel_profile(sim):
        raise KeyboardInterrupt
    assert sim.ops is plain_ops


def test_summary_prints_the_kernel_shares(tmp_path):
    info = {
        "figure": "gpu_kernel_profile",
        "times": {"fastprdc_cuda": 2.0},
        "ratios": [],
        "checks": {
            "kernel_share": {"gemm_tf32x3": 0.75, "scan_hits": 0.25},
            "pass_kernels_vs_gemm": 0.33,
        },
    }
    (tmp_path / "bench_gpu.json").write_text(
        json.dumps({"benchmarks": [{"name": "x", "extra_info": info}]})
    )
    (tmp_path / "logs").mkdir()
    out = subprocess.run(
        [sys.executable, str(BENCH_DIR / "gpu" / "summarize.py"), str(tmp_path / "logs"),
         str(tmp_path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "kernel shares: gemm_tf32x3 75%, scan_hits 25%" in out
    assert "pass_kernels_vs_gemm: 0.33" in out
