"""Figure 4: peak memory of ``fastprdc.evaluate`` with all four metrics at N = M = 200k,
d = 256 float32, in a fresh subprocess (``memory_child.py``), also timed.

Goal: peak resident memory of the whole process (interpreter and inputs included) at most
input bytes + 1 GiB. The reference ``prdc`` package would need N x M float32 distance
matrices (160 GB each at full size, three of them): it is not run, only its size reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIB = 1 << 30
D, K = 256, 5
CHILD = Path(__file__).with_name("memory_child.py")


def _poll_peak_rss(proc: subprocess.Popen, interval: float = 0.05) -> int | None:
    """Wait for ``proc``, polling its RSS with psutil (a cross-check of the child's VmHWM)."""
    try:
        import psutil
    except ImportError:
        proc.wait()
        return None
    try:
        handle = psutil.Process(proc.pid)
    except psutil.Error:
        proc.wait()
        return None
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, handle.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(interval)
    proc.wait()
    return peak


def test_peak_memory(figure, scaled):
    n = m = scaled(200_000)
    fig = figure(
        "memory", "peak RSS of fastprdc.evaluate (P, R, D, C) in a subprocess",
        {"N": n, "M": m, "d": D, "k": K},
    )  # fmt: skip

    def child():
        cmd = [sys.executable, str(CHILD), str(n), str(m), str(D), str(K)]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
            polled = _poll_peak_rss(proc)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        assert proc.returncode == 0, f"memory child failed:\n{stdout}\n{stderr}"
        result = json.loads(stdout.strip().splitlines()[-1])
        result["peak_rss_polled"] = polled
        return result

    out = fig.run("fastprdc_subprocess", child, main_rounds=1)
    fig.info["times"]["fastprdc_evaluate"] = out["evaluate_seconds"]
    fig.info["rounds"]["fastprdc_evaluate"] = 1
    input_bytes = out["input_bytes"]
    peak = out["peak_rss_process"]
    budget = input_bytes + GIB
    reference_matrix = n * m * 4  # one N x M float32 distance matrix
    fig.info["memory"] = {
        "input_bytes": input_bytes,
        "peak_rss_process": peak,
        "peak_rss_during_evaluate": out["peak_rss_during_evaluate"],
        "rss_before_evaluate": out["rss_before_evaluate"],
        "peak_rss_polled": out["peak_rss_polled"],
        "ru_maxrss": out["ru_maxrss"],
        "goal_bytes": budget,
        "reference_matrix_bytes": reference_matrix,
        "reference_bytes_three_matrices": n * n * 4 + m * m * 4 + reference_matrix,
    }
    fig.goal(
        "peak_over_budget", peak / budget, "<=", 1.0,
        "peak process RSS / (input bytes + 1 GiB)",
    )  # fmt: skip
    fig.ratio(
        "reference_matrix_over_peak", reference_matrix / peak,
        "one N x M float32 matrix (prdc needs three) / fastprdc peak RSS",
    )  # fmt: skip
    fig.note(
        f"input {input_bytes / GIB:.3f} GiB, peak RSS {peak / GIB:.3f} GiB "
        f"(goal <= {budget / GIB:.3f} GiB); prdc would need 3 matrices of "
        f"{reference_matrix / 1e9:.1f} GB"
    )
    fig.check("metrics", out["scalars"])
    fig.check("n_rechecked", out["n_rechecked"])
    fig.check("fastprdc_phase_seconds", out["timings"])
    values = out["scalars"]
    assert all(0.0 <= v <= 1.0 for name, v in values.items() if name != "density"), values
    assert values["density"] >= 0.0, values
