"""The faster of the exact settings measured by a figure (argv: its benchmark JSON, and a
setting's flag): the one with the smallest total time over the data kinds, provided all gave
identical results. Prints, for gpu_gemm_paths, one of fastprdc's GEMM_PATHS (else
$FASTPRDC_GPU_GEMM, else the cuda backend's default for this GPU, else ``fp32``); with
``--tile-gates`` (the gpu_tile_gates figure) ``1`` (on) or ``0`` (off), else
$FASTPRDC_GPU_TILE_GATES, else ``1``; with ``--tile-group`` (gpu_tile_groups) ``0`` (automatic
groups of tiles) or ``1`` (a tile per launch), else $FASTPRDC_GPU_TILE_GROUP, else ``0``; with
``--defer-rechecks`` (gpu_deferred_rechecks) ``1`` (deferred) or ``0`` (inline), else
$FASTPRDC_GPU_DEFER_RECHECKS, else ``1``; with ``--overlap`` (gpu_overlap) ``1`` (GEMMs on one
stream, kernels on another) or ``0`` (one stream), else $FASTPRDC_GPU_OVERLAP, else ``1``. The
device check runs the later figures, and the 1M figures, with these (issue 7: defaults chosen
by measurement)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from fastprdc._backends import get_backend
from fastprdc._backends.gpu_settings import GEMM_PATHS


def faster(bench_json: Path, figure: str, options: tuple[str, ...]) -> str | None:
    """The fastest option of ``figure`` in ``bench_json`` (among those it measured); None
    without the figure."""
    if not bench_json.exists():
        return None
    for b in json.loads(bench_json.read_text()).get("benchmarks", []):
        checks = b.get("extra_info", {}).get("checks", {})
        seconds = {k[: -len("_seconds")]: v for k, v in checks.items() if k.endswith("_seconds")}
        if b.get("extra_info", {}).get("figure") != figure or not seconds:
            continue
        if not all(checks.get(f"{kind}_identical") for kind in seconds):
            return None
        measured = [p for p in options if all(p in s for s in seconds.values())]
        total = {p: sum(s[p] for s in seconds.values()) for p in measured}
        return min(total, key=total.__getitem__) if total else None
    return None


def faster_path(bench_json: Path) -> str | None:
    """The fastest path of the gpu_gemm_paths figure in ``bench_json``; None without one."""
    return faster(bench_json, "gpu_gemm_paths", GEMM_PATHS)


def device_default() -> str:
    """The GEMM path the cuda backend runs on this GPU when not told (a figure that timed out
    must not leave the later ones on the slowest path); "fp32" without a usable GPU."""
    try:
        return get_backend("cuda").gemm_path
    except (RuntimeError, ValueError):
        return "fp32"


#: flag: (figure, {figure option: value to print}, variable, default)
SETTINGS = {
    "--tile-gates": ("gpu_tile_gates", {"on": "1", "off": "0"}, "FASTPRDC_GPU_TILE_GATES", "1"),
    "--tile-group": (
        "gpu_tile_groups",
        {"grouped": "0", "single": "1"},
        "FASTPRDC_GPU_TILE_GROUP",
        "0",
    ),
    "--defer-rechecks": (
        "gpu_deferred_rechecks",
        {"deferred": "1", "inline": "0"},
        "FASTPRDC_GPU_DEFER_RECHECKS",
        "1",
    ),
    "--overlap": ("gpu_overlap", {"overlapped": "1", "serial": "0"}, "FASTPRDC_GPU_OVERLAP", "1"),
}


if __name__ == "__main__":
    path = Path(sys.argv[1])
    if sys.argv[2:]:
        figure, values, var, default = SETTINGS[sys.argv[2]]
        best = faster(path, figure, tuple(values))
        print(values.get(best or "", os.environ.get(var) or default))
    else:
        print(faster_path(path) or os.environ.get("FASTPRDC_GPU_GEMM") or device_default())
