"""Device memory of a GPU run, counted in one place: the bytes of each buffer the pipeline
(:mod:`.gpu_engine`) allocates, the tile side and tile slots that half of the budget holds,
what a run needs besides its tiles when the device runs out (said in the error), and the guard
that hands a run's memory back however it ends.

Memory on the device: the inputs, one packed copy of each (its GEMM path's:
:func:`packed_bytes`), a group's tiles (two sets with overlap) with their per-thread scratch,
hit lists and deferred rechecks (:func:`slot_bytes`; within half of ``max_memory``, else of the
free memory), and O((N + M) k) per-row state (:func:`list_bytes`); never an N x M array.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from .. import _core
from .._frames import clear_own_frames
from . import gpu_settings

__all__ = [
    "DEFER_BYTES",
    "GATE_KMAX",
    "GATE_SEGS",
    "SCRATCH_BYTES",
    "DeviceOutOfMemory",
    "group_slots",
    "guard_memory",
    "held_bytes",
    "needed_bytes",
    "packed_dtype",
    "tile_side",
]

#: Device bytes of one scratch slot (a thread's candidate): its float64 key and aux, int32 index.
SCRATCH_BYTES = 8 + 8 + 4
#: The tile gates (csrc/cuda/kernels.cuh gate_parts): threads per row, deepest list served.
GATE_SEGS, GATE_KMAX = _core.tile_gate_shape()
#: Device bytes of the tile gates' parts per tile row (float32, both sides).
GATE_BYTES = 2 * 4 * GATE_SEGS * GATE_KMAX
#: Device bytes per tile row of the deferred rechecks: their count and tile columns.
DEFER_BYTES = 4 + gpu_settings.DEFER_CAP * 4


class DeviceOutOfMemory(MemoryError):
    """The GPU ran out of memory (the message says what the run needs)."""


def _out_of_memory(exc: Exception, sets: int, state: int) -> MemoryError:
    """The device ran out of memory: say how much the run needs and what would fit."""
    return DeviceOutOfMemory(
        f"{exc}. This run needs about {_gib(sets + state)} on the GPU besides the tile and "
        f"scratch that max_memory bounds: {_gib(sets)} for the inputs and their packed "
        f"copies, and {_gib(state)} for the per-row state (neighbour lists and ball counts, "
        "which grow with k: about 36 bytes per row and neighbour). Free GPU memory, pass a "
        "smaller max_memory or k, or run on the CPU (device='cpu')"
    )


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:,.2f} GiB"


def _is_out_of_memory(exc: BaseException) -> bool:
    """The device's own out-of-memory error (ours / cudaMalloc: RuntimeError; CuPy's: a
    MemoryError), not yet said in terms of the run (DeviceOutOfMemory)."""
    if not isinstance(exc, (RuntimeError, MemoryError)) or isinstance(exc, DeviceOutOfMemory):
        return False
    text = str(exc).lower()
    return "out of memory" in text or "out of gpu memory" in text


def _largest_root(a: float, b: float, c: float) -> int:
    """The largest integer s with a s^2 + b s <= c (a, b, c > 0)."""
    return int((-b + math.sqrt(b * b + 4 * a * c)) / (2 * a))


def _slot_row_bytes(cap: int) -> int:
    """Device bytes per tile row of a tile slot besides its hit lists: the scratch (a slot per
    candidate, counted for both sides' threads), both sides' hit counts (8), the tile gates'
    parts and the deferred rechecks."""
    return 2 * SCRATCH_BYTES * cap + 8 + GATE_BYTES + DEFER_BYTES


def slot_bytes(side: int, cap: int, hit_cap: int, sets: int = 1) -> int:
    """Device bytes of one tile slot of a group: its ``sets`` tiles (4 side^2 each) and per tile
    row :func:`_slot_row_bytes` and the hit lists (8 bytes per pair, min(hit_cap, side) pairs:
    a list holds at most a side)."""
    tiles = 4 * sets * side * side
    return tiles + side * (_slot_row_bytes(cap) + 8 * min(hit_cap, side))


def tile_side(
    budget: int | None, cap: int, hit_cap: int, tile_max: int, max_memory: int | None, sets: int = 1
) -> int:
    """Rows per tile side: at most ``tile_max``, and as many as half the memory ``budget`` allows
    for one tile slot of ``sets`` tiles (:func:`slot_bytes`). ValueError when not one row fits
    (``max_memory``: the budget the caller gave, named in the message)."""
    side = tile_max
    fixed = _slot_row_bytes(cap)
    tiles = 4 * sets
    if budget:
        side = _largest_root(tiles, fixed + 8 * hit_cap, budget / 2)
        if side < hit_cap:  # lists as long as the side
            side = _largest_root(tiles + 8, fixed, budget / 2)
    if side < 1:
        raise ValueError(
            f"max_memory={max_memory} is too small for one tile row on the GPU; "
            f"give at least {2 * (tiles + fixed + 8)} bytes"
        )
    return max(1, min(tile_max, side))


def group_slots(
    tile_group: int,
    budget: int | None,
    side: int,
    cap: int,
    hit_cap: int,
    largest: int,
    sets: int = 1,
) -> int:
    """Tile slots of a run: ``tile_group`` (0: automatic, ``gpu_settings.GROUP_THREADS``
    threads a launch), at most ``largest`` (the most tiles a group of the pass can hold) and as
    many as half the memory budget holds (slots of ``sets`` tiles), one at least."""
    want = tile_group or max(1, gpu_settings.GROUP_THREADS // max(side, 1))
    slots = min(want, max(largest, 1))
    if budget:
        slots = min(slots, int(budget / 2) // slot_bytes(side, cap, hit_cap, sets))
    return max(1, slots)


def held_bytes(slots: int, side: int, scap: int, sets: int = 1) -> int:
    """Device bytes of a pass's tiles and scratch (as :func:`slot_bytes` counts them) that its
    finalisation may reuse: ``slots`` slots of ``side`` rows a side, ``sets`` tiles each."""
    return slots * (4 * sets * side * side + 2 * SCRATCH_BYTES * scap * side)


def list_bytes(rows: int, k: int) -> int:
    """Device bytes of ``rows`` neighbour lists of depth k (csrc/common/topk_row.hpp: the heap,
    2k + 16 candidates, the row's counters and bars) and of their exact output (16 k)."""
    return rows * (36 * k + 160) if k else 0


def packed_dtype(path: str) -> Any:
    """The dtype of a set's packed copy for GEMM path ``path`` (kernels.cuh pack_rows), from the
    width of the operands cuBLAS is given (``_core.gemm_types``)."""
    return np.float16 if _core.gemm_types(path)[2] == 2 else np.float32


def packed_bytes(path: str) -> int:
    """Device bytes per value of a set's packed copies for GEMM path ``path``: one packed value,
    and for the split paths (tf32x3, fp16x3) its remainder too."""
    return np.dtype(packed_dtype(path)).itemsize * (2 if _core.gemm_split(path) else 1)


def needed_bytes(named: dict[str, Any]) -> tuple[int, int]:
    """(inputs with their packed copies and row statistics, per-row state) in device bytes, of
    the call whose arguments are ``named`` (``self`` the engine: its GEMM path sets the packing),
    besides its tile and scratch."""
    sets = [named[n] for n in ("X", "Y", "A_in", "B_in") if hasattr(named.get(n), "shape")]
    rows = [int(a.shape[0]) for a in sets]
    try:
        packed = packed_bytes(named["self"].gemm_path)
    except ValueError:  # an unknown path: the run failed before packing
        packed = 0
    data = sum(
        r * int(a.shape[1]) * (np.dtype(a.dtype).itemsize + packed) + 64 * r
        for r, a in zip(rows, sets)
    )
    if "k" in named:  # knn: the lists of X's rows
        return data, list_bytes(rows[0], int(named["k"])) if rows else 0
    if "knn_a" not in named or len(rows) != 2:
        return data, 0
    n, m = rows

    def width(name: str) -> int:
        radii = named.get(name)
        return int(np.shape(radii)[1]) if radii is not None and np.ndim(radii) == 2 else 0

    kr = width("realism_radii")
    balls = 40 * (n + m) * (width("radii_a") + width("radii_b"))  # radii, thresholds, counts
    lists = list_bytes(n, int(named["knn_a"])) + list_bytes(m, int(named["knn_b"]))
    realism = list_bytes(m * kr, 1 if kr else 0) + 32 * n * kr
    return data, balls + lists + realism


def guard_memory(method: Any) -> Any:
    """Runs a public method of an engine on its device (``self.ops``); turns the device's
    out-of-memory errors into a MemoryError saying what the run needs (:func:`needed_bytes`);
    and hands the run's device memory back however the call ends, on the backend's device. On
    an error or Ctrl-C, fastprdc's frames in the exception's traceback are cleared and the
    call's arguments dropped first: their locals (inputs on the device, packed copies, tile,
    scratch: tens of GiB at 1M rows) would stay allocated as long as the exception is kept (an
    interactive session keeps the last one), and a retry would run out of memory."""

    signature = inspect.signature(method)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.ops.current():
            try:
                return method(self, *args, **kwargs)
            except BaseException as exc:  # an error, or Ctrl-C from a progress callback
                clear_own_frames(exc.__traceback__)
                needed = (0, 0)
                if _is_out_of_memory(exc):
                    needed = needed_bytes(signature.bind(self, *args, **kwargs).arguments)
                args = kwargs = None  # type: ignore[assignment]  # e.g. a class's gathered rows
                if any(needed):
                    raise _out_of_memory(exc, *needed) from exc
                raise
            finally:
                self.ops.release()

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper
