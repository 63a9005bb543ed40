"""Figure 4: peak memory of ``fastprdc.evaluate`` with all four metrics at N = M = 200k,
d = 256 float32, in a fresh subprocess (``memory_child.py``), also timed.

Goal: peak resident memory of the whole process (interpreter and inputs included) at most
input bytes + 1 GiB. The reference ``prdc`` package would need N x M float32 distance
matrices (160 GB each at full size, three of them): it is not run, only its size reported.

Second case, ``memory[memmap]``: the same data as two memory-mapped .npy files (read-only),
``max_memory=64 MiB``, so a float32 copy of either input (0.19 GiB each) would not fit in the
budget. The engine packs panels of rows instead of copying the inputs; the child samples its
anonymous resident memory (heap: panels, tiles, per-row state, outputs), which excludes the
file-backed pages of the maps (those count in the process RSS while resident, but the kernel
can drop and re-read them: they are not memory the run needs to own). Goal: anonymous growth
during the call below a float32 copy of the smaller input (so no input is copied whole; the
rest is max_memory and the O((N + M) k) per-row state and outputs, compared with the
in-memory case's growth beyond its copies when both run). Its metric values must equal the
in-memory case's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIB = 1 << 30
MIB = 1 << 20
D, K = 256, 5
CHILD = Path(__file__).with_name("memory_child.py")
MEMMAP_BUDGET = 64 * MIB
# per N, the in-memory case's metric values and anonymous growth beyond its float32 copies
_SCALARS: dict[int, tuple[dict[str, float], int]] = {}


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


def _child(args: list[str]) -> dict:
    cmd = [sys.executable, str(CHILD), *args]
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


def _memory_info(out: dict, n: int, m: int, goal_bytes: int) -> dict:
    reference_matrix = n * m * 4  # one N x M float32 distance matrix
    return {
        "input_bytes": out["input_bytes"],
        "peak_rss_process": out["peak_rss_process"],
        "peak_rss_during_evaluate": out["peak_rss_during_evaluate"],
        "rss_before_evaluate": out["rss_before_evaluate"],
        "peak_rss_polled": out["peak_rss_polled"],
        "ru_maxrss": out["ru_maxrss"],
        "rss_anon_before_evaluate": out["rss_anon_before_evaluate"],
        "peak_rss_anon_during_evaluate": out["peak_rss_anon_during_evaluate"],
        "rss_file_after_evaluate": out["rss_file_after_evaluate"],
        "goal_bytes": goal_bytes,
        "reference_matrix_bytes": reference_matrix,
        "reference_bytes_three_matrices": n * n * 4 + m * m * 4 + reference_matrix,
    }


def _check_values(fig, out: dict) -> None:
    fig.check("metrics", out["scalars"])
    fig.check("n_rechecked", out["n_rechecked"])
    fig.check("fastprdc_phase_seconds", out["timings"])
    values = out["scalars"]
    assert all(0.0 <= v <= 1.0 for name, v in values.items() if name != "density"), values
    assert values["density"] >= 0.0, values


def test_peak_memory(figure, scaled):
    n = m = scaled(200_000)
    fig = figure(
        "memory", "peak RSS of fastprdc.evaluate (P, R, D, C) in a subprocess",
        {"N": n, "M": m, "d": D, "k": K},
    )  # fmt: skip
    out = fig.run("fastprdc_subprocess", lambda: _child([str(n), str(m), str(D), str(K)]),
                  main_rounds=1)  # fmt: skip
    fig.info["times"]["fastprdc_evaluate"] = out["evaluate_seconds"]
    fig.info["rounds"]["fastprdc_evaluate"] = 1
    input_bytes = out["input_bytes"]
    peak = out["peak_rss_process"]
    budget = input_bytes + GIB
    fig.info["memory"] = memory = _memory_info(out, n, m, budget)
    reference_matrix = memory["reference_matrix_bytes"]
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
    _check_values(fig, out)
    anon = out["peak_rss_anon_during_evaluate"] - out["rss_anon_before_evaluate"]
    _SCALARS[n] = (out["scalars"], anon - input_bytes)  # one panel per set: copies of both


def test_peak_memory_memmap(figure, scaled):
    with tempfile.TemporaryDirectory(prefix="fastprdc-memmap-") as tmp:  # 0.38 GiB at full size
        _peak_memory_memmap(figure, scaled, Path(tmp))


def _peak_memory_memmap(figure, scaled, tmp_path: Path) -> None:
    n = m = scaled(200_000)
    fig = figure(
        "memory[memmap]",
        "peak RSS of fastprdc.evaluate (P, R, D, C) on memory-mapped inputs, max_memory=64 MiB",
        {"N": n, "M": m, "d": D, "k": K, "max_memory": MEMMAP_BUDGET},
    )
    from memory_child import write_inputs  # benchmarks/ is on sys.path (like conftest)

    file_bytes = write_inputs(tmp_path, n, m, D)
    args = [str(n), str(m), str(D), str(K), "--memmap", str(tmp_path),
            "--max-memory", str(MEMMAP_BUDGET)]  # fmt: skip
    out = fig.run("fastprdc_subprocess", lambda: _child(args), main_rounds=1)
    fig.info["times"]["fastprdc_evaluate"] = out["evaluate_seconds"]
    fig.info["rounds"]["fastprdc_evaluate"] = 1
    input_bytes = out["input_bytes"]
    assert input_bytes == file_bytes
    peak = out["peak_rss_process"]
    fig.info["memory"] = memory = _memory_info(out, n, m, input_bytes + GIB)
    anon = out["peak_rss_anon_during_evaluate"] - out["rss_anon_before_evaluate"]
    memory["anon_growth_during_evaluate"] = anon
    memory["max_memory"] = MEMMAP_BUDGET
    copy_bytes = input_bytes  # float32 inputs: a float32 copy is as large
    smaller_input = min(n, m) * D * 4
    fig.goal(
        "anon_growth_over_one_input_copy", anon / smaller_input, "<=", 1.0,
        "anonymous RSS growth during evaluate / a float32 copy of the smaller input",
    )  # fmt: skip
    fig.ratio(
        "anon_growth_minus_budget_mib", (anon - MEMMAP_BUDGET) / MIB,
        "anonymous growth beyond max_memory (per-row state, outputs), MiB",
    )  # fmt: skip
    fig.goal(
        "peak_over_budget", peak / (input_bytes + GIB), "<=", 1.0,
        "peak process RSS, mapped input pages included / (input bytes + 1 GiB)",
    )  # fmt: skip
    fig.ratio(
        "f32_copy_over_anon_growth", copy_bytes / anon,
        "a float32 copy of the inputs (what the engine used to allocate) / anonymous growth",
    )  # fmt: skip
    fig.note(
        f"memory-mapped inputs {input_bytes / GIB:.3f} GiB (float32 copy {copy_bytes / GIB:.3f} "
        f"GiB, {copy_bytes / MEMMAP_BUDGET:.1f}x the {MEMMAP_BUDGET / MIB:.0f} MiB budget): "
        f"anonymous memory grew by {anon / MIB:.0f} MiB during evaluate; peak process RSS "
        f"{peak / GIB:.3f} GiB, file-backed RSS after the call (mapped inputs, libraries) "
        f"{out['rss_file_after_evaluate'] / GIB:.3f} GiB"
    )
    _check_values(fig, out)
    if n in _SCALARS:  # same data in memory, default settings: identical metric values
        assert out["scalars"] == _SCALARS[n][0], (out["scalars"], _SCALARS[n][0])
        fig.check("metrics_equal_in_memory_case", True)
        fig.ratio(
            "state_memmap_over_in_memory", (anon - MEMMAP_BUDGET) / _SCALARS[n][1],
            "growth beyond max_memory here / the in-memory case's growth beyond its float32 "
            "copies (both: per-row state and outputs)",
        )  # fmt: skip
