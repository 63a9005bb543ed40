"""Prints the short table of the device check from its stage statuses and benchmark JSON
(argv: LOGS OUT; the statuses in LOGS, the JSON in OUT)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

logs, out = Path(sys.argv[1]), Path(sys.argv[2])
print("== device check summary")
STAGES = (
    "install", "smoke_cuda", "tests_gpu", "gemm_paths", "bench", "nvrtc", "smoke_cupy",
    "bench_cupy", "sanitizer", "tests", "bench_1m",
)  # fmt: skip
for name in STAGES:
    status = logs / f"{name}.status"
    print(f"  {name:<10} {status.read_text().strip() if status.exists() else 'not run'}")
for note in ("gemm_path.txt", "next.txt"):
    if (logs / note).exists():
        print(f"  {(logs / note).read_text().strip()}")
for bench in sorted(out.glob("bench_gpu*.json")):
    try:
        data = json.loads(bench.read_text())
    except (OSError, ValueError) as exc:  # e.g. cut short by the stage's SIGKILL
        print(f"  {bench.name}: unreadable ({exc})")
        continue
    cfg = data.get("machine_info", {}).get("fastprdc", {}).get("show_config", {})
    print(f"  {bench.name}: device {cfg.get('cuda', {}).get('device')}")
    for b in data.get("benchmarks", []):
        info = b.get("extra_info", {})
        times = ", ".join(f"{k} {v:.2f}s" for k, v in info.get("times", {}).items())
        print(f"  {info.get('figure', b['name'])}: {times}")
        for r in info.get("ratios", []):
            mark = "met" if r["met"] else "MISSED"
            print(f"      {r['name']} = {r['value']:.3f} ({r['op']} {r['goal']}: {mark})")
        shown = ("n_rechecked", "peak_device_bytes", "torch_decisions_differing_from_oracle",
                 "pass_kernels_vs_gemm")  # fmt: skip
        checks = info.get("checks", {})
        for key, value in checks.items():
            if key == "kernel_share":  # the profile, largest first
                shares = ", ".join(f"{name} {share:.0%}" for name, share in value.items())
                print(f"      kernel shares: {shares}")
            elif key == "kernel_seconds_not_exact":  # what exactness adds, kernel by kernel
                exact = checks.get("kernel_seconds", {})
                added = {n: t - value.get(n, 0.0) for n, t in exact.items()}
                top = sorted(added.items(), key=lambda kv: -abs(kv[1]))[:6]
                print("      exact adds: " + ", ".join(f"{n} {t:+.3f}s" for n, t in top))
            elif key.startswith("kernel_"):
                continue  # the profile's seconds and calls: in the JSON
            elif key in shown or key.endswith(("_seconds", "_rechecks", "_identical")):
                print(f"      {key}: {value}")
