"""How GPU runs are set: the GEMM path and the pass settings (tile gates, tile groups,
deferred rechecks, overlap), each from a backend's constructor, else the environment, else a
default; and how ``show_config()`` says them. Results are the same under every setting; the
switches are there to measure each against its absence (benchmarks/bench_gpu.py)."""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "DEFER_CAP",
    "GEMM_PATHS",
    "GROUP_THREADS",
    "default_gemm_path",
    "defer_setting",
    "gemm_path_setting",
    "overlap_setting",
    "parse_capability",
    "pass_settings",
    "tile_gates_setting",
    "tile_group_setting",
]

#: GEMM paths for the inner products: "fp32" (IEEE FP32, CUBLAS_COMPUTE_32F_PEDANTIC), "tf32x3"
#: (three TF32 tensor-core GEMMs on split operands, CUBLAS_COMPUTE_32F_FAST_TF32), "tf32" (one
#: TF32 tensor-core GEMM on operands rounded to TF32: a third of tf32x3's work, a bound about
#: three times as wide) and "fp16" (one FP16 tensor-core GEMM with FP32 accumulation on operands
#: rounded to FP16, CUBLAS_COMPUTE_32F: tf32's bound at twice its rate, half its operand
#: memory) and "fp16x3" (three FP16 tensor-core GEMMs on split operands, CUBLAS_COMPUTE_32F:
#: tf32x3's bound at half its tensor-core time and half its operand memory); each has its
#: rigorous error bound in csrc/common/error_bound.hpp.
GEMM_PATHS = ("fp32", "tf32x3", "tf32", "fp16", "fp16x3")
#: Compute capabilities whose TF32 tensor cores run a dense GEMM at 7x their FP32 rate or more
#: (A100 8.0, H100/H200 9.0, B200/B300 10.x): there "tf32x3" is the default (on an H200 at
#: N = M = 100k, d = 2048 it ran the cross pass 1.3-1.5x faster than "fp32", rechecks
#: included). Elsewhere (GeForce and workstation parts: TF32 at 1-2x FP32) "fp32".
_TF32_FAST = ((8, 0), (9, 0))


def default_gemm_path(compute_capability: tuple[int, int] | None) -> str:
    """The GEMM path a device runs unless told otherwise (None: no device known: "fp32")."""
    if compute_capability is None:
        return "fp32"
    fast = compute_capability in _TF32_FAST or compute_capability[0] == 10
    return "tf32x3" if fast else "fp32"


def parse_capability(text: str | None) -> tuple[int, int] | None:
    """(major, minor) from "9.0" (None for None)."""
    if not text:
        return None
    major, minor = str(text).split(".")
    return int(major), int(minor)


def gemm_path_setting(given: str | None, compute_capability: tuple[int, int] | None) -> str:
    """The GEMM path of a run: ``given`` (a backend's constructor), else $FASTPRDC_GPU_GEMM,
    else the device's default (:func:`default_gemm_path`). ValueError for an unknown path."""
    path = given or os.environ.get("FASTPRDC_GPU_GEMM", "").strip()
    path = path or default_gemm_path(compute_capability)
    if path not in GEMM_PATHS:
        raise ValueError(
            f"unknown GEMM path {path!r} (FASTPRDC_GPU_GEMM); choose one of {GEMM_PATHS}"
        )
    return path


#: Threads per launch of the per-row pass kernels that a group of tiles aims at (8192 a tile
#: side: 16 tiles, about 31 warps per multiprocessor of an H100/H200, against 2 for one tile).
GROUP_THREADS = 1 << 17
#: Ball decisions per tile row of A and tile that wait for a parallel recheck (kernels.cuh
#: recheck_pairs) when deferral is on; the scan's thread rechecks a row's further ones itself.
DEFER_CAP = 32


def tile_gates_setting(given: bool | None = None) -> bool:
    """Whether GPU runs gate each tile's scan (``gate_merge``, ``gate_parts``): ``given`` (a
    backend's constructor), else on unless $FASTPRDC_GPU_TILE_GATES is 0 (results are the same
    either way; the switch is there to measure them against their absence)."""
    if given is not None:
        return bool(given)
    return os.environ.get("FASTPRDC_GPU_TILE_GATES", "1").strip() != "0"


def defer_setting(given: bool | None = None) -> bool:
    """Whether the cross pass's ball decisions that need the oracle wait for one parallel
    recheck per pair (``recheck_pairs``) rather than being rechecked by the scan's thread while
    its warp waits: ``given`` (a backend's constructor), else on unless
    $FASTPRDC_GPU_DEFER_RECHECKS is 0 (results and recheck counts are the same either way)."""
    if given is not None:
        return bool(given)
    return os.environ.get("FASTPRDC_GPU_DEFER_RECHECKS", "1").strip() != "0"


def overlap_setting(given: bool | None = None) -> bool:
    """Whether GPU runs queue a group of tiles' GEMMs on one stream while the previous group's
    kernels run on another (two tile sets; gpu_ops' ``StreamPipeline``): ``given`` (a backend's
    constructor), else on unless $FASTPRDC_GPU_OVERLAP is 0 (results are the same either way)."""
    if given is not None:
        return bool(given)
    return os.environ.get("FASTPRDC_GPU_OVERLAP", "1").strip() != "0"


def tile_group_setting(given: int | None = None) -> int:
    """The most tiles per launch of the pass kernels: ``given`` (a backend's constructor), else
    $FASTPRDC_GPU_TILE_GROUP, else 0 (automatic: enough tiles for :data:`GROUP_THREADS`
    threads); 1 runs one tile at a time. Within the memory budget either way, and the results
    are the same. ValueError for anything but a whole number >= 0."""
    value: Any = given
    if value is None:
        value = os.environ.get("FASTPRDC_GPU_TILE_GROUP", "").strip() or 0
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ValueError(
            "tile group must be 0 (automatic) or a number of tiles >= 1 "
            f"(FASTPRDC_GPU_TILE_GROUP), got {value!r}"
        )
    return number


def pass_settings() -> dict[str, str]:
    """The tile gates, tile groups, deferred rechecks and overlap of GPU runs, said for
    ``show_config()`` (never raises)."""
    gates = "off (FASTPRDC_GPU_TILE_GATES=0)" if not tile_gates_setting() else "on"
    defer = (
        f"on, up to {DEFER_CAP} pairs per tile row"
        if defer_setting()
        else "off (FASTPRDC_GPU_DEFER_RECHECKS=0)"
    )
    try:
        group = tile_group_setting()
    except ValueError as exc:
        group_text = f"invalid: {exc}"
    else:
        source = " (FASTPRDC_GPU_TILE_GROUP)" if os.environ.get("FASTPRDC_GPU_TILE_GROUP") else ""
        group_text = (
            f"automatic, up to {GROUP_THREADS} threads a launch{source}"
            if group == 0
            else f"at most {group} tile{'s' if group > 1 else ''} a launch{source}"
        )
    overlap = (
        "on, a group's GEMMs on one stream while the previous group's kernels run on another"
        if overlap_setting()
        else "off (FASTPRDC_GPU_OVERLAP=0)"
    )
    return {
        "tile_gates": gates,
        "tile_group": group_text,
        "deferred_rechecks": defer,
        "overlap": overlap,
    }
