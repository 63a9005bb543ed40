"""Figure 8 (issue 4): 50k samples through the *patched* ``prdc`` API, in bounded memory.

A fresh subprocess (this file run as a script) patches the installed ``prdc`` package with
``fastprdc.compat.patch("prdc")`` and calls ``prdc.compute_prdc(real, fake, 5)`` on
N = M = 50k, d = 64 float32 features, reporting its peak resident memory (VmHWM) and time.

The upstream is never run at that size. Its own need is computed from the N x M arrays its
code allocates (prdc 0.2, ``prdc/prdc.py``):

- each radius set: sklearn's float32 N x N distance matrix (4 N^2 bytes) plus
  ``np.argpartition``'s int64 N x N index array (8 N^2 bytes): 12 N^2 bytes at once;
- the cross phase: the float32 N x M matrix (4 N M) plus one bool N x M temporary at a
  time (N M): 5 N M bytes;

so its peak is about max(12 N^2, 12 M^2, 5 N M) bytes plus the inputs: 30 GB (27.9 GiB)
at N = M = 50k (sklearn's threaded distance phase adds a few per-thread float64 chunk
buffers, a constant). The model is checked by running the unpatched upstream in a
subprocess at a small size (N = M = min(N, 6000)): its numpy allocations traced by
``tracemalloc`` (peak), and its RSS growth, against the model's prediction.

Goal: peak process RSS of the patched run <= input bytes + 1 GiB (as figure 4).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

GIB = 1 << 30
D, K = 64, 5
N_FULL = 50_000
N_MODEL_CHECK = 6_000
HERE = Path(__file__).resolve()


def upstream_peak_bytes(n: int, m: int) -> dict[str, int]:
    """prdc 0.2's largest simultaneous N x M allocations (bytes), by phase."""
    return {
        "real_radii": 12 * n * n,  # float32 distances + int64 argpartition indices
        "fake_radii": 12 * m * m,
        "cross": 5 * n * m,  # float32 distances + one bool comparison at a time
    }


# --------------------------------------------------------------------------- child process


def _child(mode: str, n: int, m: int, d: int, k: int) -> None:
    """Run prdc.compute_prdc once (patched or not) and print one JSON line."""
    import contextlib
    import io
    import time

    import numpy as np

    sys.path.insert(0, str(HERE.parent))
    from memory_child import _reset_peak, _ru_maxrss_bytes, _status_bytes

    rng = np.random.default_rng(8)
    real = rng.standard_normal((n, d), dtype=np.float32)
    fake = rng.standard_normal((m, d), dtype=np.float32)
    fake += np.float32(0.1)

    import prdc

    if mode == "patched":
        import fastprdc.compat

        fastprdc.compat.patch("prdc")
        import fastprdc.compat.prdc

        assert prdc.compute_prdc is fastprdc.compat.prdc.compute_prdc
        warm = rng.standard_normal((200, d), dtype=np.float32)  # load the backend, threads
        with contextlib.redirect_stdout(io.StringIO()):
            prdc.compute_prdc(warm, warm + np.float32(0.1), k)

    rss_before = _status_bytes("VmRSS")
    hwm_before = _status_bytes("VmHWM")
    hwm_reset = _reset_peak()
    printed = io.StringIO()
    traced_peak = None
    if mode == "upstream":  # numpy's allocations are visible to tracemalloc
        import tracemalloc

        tracemalloc.start()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        values = prdc.compute_prdc(real, fake, k)  # the upstream API
    seconds = time.perf_counter() - t0
    if mode == "upstream":
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    hwm_after = _status_bytes("VmHWM")
    if hwm_before is not None and hwm_after is not None:
        peak = max(hwm_before, hwm_after)
    else:
        peak = _ru_maxrss_bytes()
    out = {
        "mode": mode, "n": n, "m": m, "d": d, "k": k,
        "input_bytes": int(real.nbytes + fake.nbytes),
        "rss_before": rss_before,
        "peak_rss_during_call": hwm_after if hwm_reset else None,
        "peak_rss_process": peak,
        "seconds": seconds,
        "traced_peak": traced_peak,
        "printed": printed.getvalue().strip(),
        "types": sorted({type(v).__name__ for v in values.values()}),
        "values": {key: float(v) for key, v in values.items()},
    }  # fmt: skip
    print(json.dumps(out), flush=True)


def _run_child(mode: str, n: int, m: int) -> dict:
    cmd = [sys.executable, str(HERE), mode, str(n), str(m), str(D), str(K)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run(cmd, stdout=out, stderr=err, text=True)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    assert proc.returncode == 0, f"{mode} child failed:\n{stdout}\n{stderr}"
    return json.loads(stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the figure


def test_compat_prdc_50k(figure, scaled):
    import pytest

    pytest.importorskip("prdc", reason="the prdc package is needed (pip install prdc==0.2)")
    n = m = scaled(N_FULL)
    fig = figure(
        "compat_prdc_50k",
        "patched prdc.compute_prdc (fastprdc.compat) in a subprocess: peak RSS vs prdc's need",
        {"N": n, "M": m, "d": D, "k": K},
    )  # fmt: skip
    out = fig.run("patched_prdc_subprocess", lambda: _run_child("patched", n, m), main_rounds=1)
    fig.info["times"]["patched_prdc_compute_prdc"] = out["seconds"]
    fig.info["rounds"]["patched_prdc_compute_prdc"] = 1

    # the upstream's own need: its N x M allocations, and a small measured check of the model
    need = upstream_peak_bytes(n, m)
    upstream_bytes = max(need.values()) + out["input_bytes"]
    n_check = min(n, N_MODEL_CHECK)
    small = _run_child("upstream", n_check, n_check)
    measured_growth = (small["peak_rss_during_call"] or small["peak_rss_process"]) - small[
        "rss_before"
    ]
    predicted_growth = max(upstream_peak_bytes(n_check, n_check).values())
    patched_small = _run_child("patched", n_check, n_check)

    peak = out["peak_rss_process"]
    budget = out["input_bytes"] + GIB
    fig.info["compat_memory"] = {
        "input_bytes": out["input_bytes"],
        "peak_rss_process": peak,
        "peak_rss_during_call": out["peak_rss_during_call"],
        "rss_before_call": out["rss_before"],
        "goal_bytes": budget,
        "upstream_bytes_by_phase": need,
        "upstream_peak_bytes": upstream_bytes,
        "model_check": {
            "n": n_check,
            "upstream_measured_growth": measured_growth,
            "upstream_traced_peak": small["traced_peak"],
            "model_prediction": predicted_growth,
            "upstream_seconds": small["seconds"],
            "patched_seconds": patched_small["seconds"],
        },
    }
    fig.goal(
        "peak_over_budget", peak / budget, "<=", 1.0,
        "peak process RSS of the patched run / (input bytes + 1 GiB)",
    )  # fmt: skip
    fig.ratio(
        "upstream_need_over_peak", upstream_bytes / peak,
        "prdc's own peak need at this size (computed) / patched peak RSS",
    )  # fmt: skip
    fig.ratio(
        "model_traced_over_predicted", small["traced_peak"] / predicted_growth,
        f"unpatched prdc at N = M = {n_check}: its traced numpy peak / the model's bytes",
    )  # fmt: skip
    fig.ratio(
        "model_rss_over_predicted", measured_growth / predicted_growth,
        f"unpatched prdc at N = M = {n_check}: its RSS growth / the model's bytes",
    )  # fmt: skip
    fig.note(
        f"patched prdc.compute_prdc: peak RSS {peak / GIB:.3f} GiB for "
        f"{out['input_bytes'] / GIB:.3f} GiB of input; prdc itself would need "
        f"{upstream_bytes / 1e9:.1f} GB ({upstream_bytes / GIB:.1f} GiB) at N = M = {n}"
    )
    fig.check("values", out["values"])
    fig.check("value_types", out["types"])
    fig.check("printed", out["printed"])
    assert out["types"] == ["float64"]
    assert out["printed"] == f"Num real: {n} Num fake: {m}"
    # same numbers as the upstream at the model-check size (no near ties in this data)
    assert patched_small["values"] == small["values"], (patched_small["values"], small["values"])
    fig.check("same_as_upstream_at_model_check_size", True)
    values = out["values"]
    assert all(0.0 <= v <= 1.0 for key, v in values.items() if key != "density"), values


if __name__ == "__main__":
    _mode, *_sizes = sys.argv[1:]
    _child(_mode, *(int(a) for a in _sizes))
