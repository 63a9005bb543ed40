"""The faster exact GEMM path measured by the gpu_gemm_paths figure (argv: its benchmark JSON):
prints ``tf32x3`` or ``fp32``, the one with the smaller total time over the data kinds, provided
both gave identical decisions; else $FASTPRDC_GPU_GEMM, else ``fp32``. The device check runs the
later figures with this path (issue 7: the default path is chosen by measurement)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def faster_path(bench_json: Path) -> str | None:
    """The faster path of the gpu_gemm_paths figure in ``bench_json``; None without one."""
    if not bench_json.exists():
        return None
    for b in json.loads(bench_json.read_text()).get("benchmarks", []):
        checks = b.get("extra_info", {}).get("checks", {})
        seconds = {k[: -len("_seconds")]: v for k, v in checks.items() if k.endswith("_seconds")}
        if b.get("extra_info", {}).get("figure") != "gpu_gemm_paths" or not seconds:
            continue
        if not all(checks.get(f"{kind}_identical") for kind in seconds):
            return None
        total = {p: sum(s[p] for s in seconds.values()) for p in ("fp32", "tf32x3")}
        return min(total, key=total.__getitem__)
    return None


if __name__ == "__main__":
    print(faster_path(Path(sys.argv[1])) or os.environ.get("FASTPRDC_GPU_GEMM") or "fp32")
