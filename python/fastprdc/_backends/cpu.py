"""Native CPU backend: float32 GEMM tiles (OpenBLAS) with fused reductions and float64 rechecks."""

from __future__ import annotations

import math
import os

import numpy as np

from .. import _core
from .._options import RunOptions
from .contract import CrossResult, HostArrays, KnnResult

__all__ = ["CpuBackend"]

_TILE_MAX = int(_core.build_info()["default_tile_rows"])
_TILE_MIN = 16
_F32 = 4  # bytes per packed value

#: Testing only: rows per packed panel, overriding ``max_memory`` (tests/test_panels.py uses it to
#: force panels of 1, 7 or 64 rows, smaller than any budget would give). Not a public setting.
PANEL_ROWS_ENV = "FASTPRDC_PANEL_ROWS"


def _threads(opts: RunOptions) -> int:
    return max(int(opts.num_threads or _core.build_info()["omp_max_threads"]), 1)


def _tile_bytes(tile: int, threads: int) -> int:
    # one float32 tile (tile x tile) per thread, doubled for BLAS packing buffers
    return 2 * _F32 * threads * tile * tile


def tiling_for(opts: RunOptions, cols: int) -> tuple[int, int]:
    """Rows per tile side and rows per packed panel (0: the native default) for sets of width
    ``cols``.

    ``max_memory`` bounds the engine's temporaries: the per-thread tiles and the two packed
    float32 panels (one of each set, ``panel rows x cols``), never a full copy of an input. The
    tiles take at most half the budget (capped at the default tile size), the panels the rest.
    Neither the inputs nor the O((N + M) k) per-row state count against it. A budget too small
    for panels of one tile row (16 rows) is exceeded by that much. Without ``max_memory`` the
    native defaults apply (512-row tiles; sets up to 256 MiB as float32 in one panel).
    """
    env = os.environ.get(PANEL_ROWS_ENV)
    panel = int(env) if env else 0
    if opts.max_memory is None:
        return (int(opts.tile_rows) if opts.tile_rows is not None else _TILE_MAX), panel
    threads = _threads(opts)
    budget = int(opts.max_memory)
    need = _tile_bytes(_TILE_MIN, threads)
    if budget < need:
        raise ValueError(
            f"max_memory={budget} bytes is too small: the cpu backend needs at least {need} "
            f"bytes for one tile of {_TILE_MIN} rows per thread ({threads} threads); give a "
            "larger max_memory (e.g. '64MB') or fewer threads"
        )
    cols = max(int(cols), 1)
    if opts.tile_rows is not None:
        tile = int(opts.tile_rows)
    else:
        tile = max(_TILE_MIN, min(_TILE_MAX, math.isqrt(budget // (2 * _tile_bytes(1, threads)))))
        # the largest tile t with tiles + two panels of t rows within the budget
        a, b = 2 * _F32 * threads, 2 * _F32 * cols  # tiles: a t^2, panels: b t
        fit = (math.isqrt(b * b + 4 * a * budget) - b) // (2 * a)
        tile = max(_TILE_MIN, min(tile, fit))
    if not panel:
        panel = max(tile, (budget - _tile_bytes(tile, threads)) // (2 * _F32 * cols))
    return tile, panel


class CpuBackend(HostArrays):
    """The three primitives on the CPU, exact by default (see csrc/common/error_bound.hpp)."""

    name = "cpu"
    location = "host"

    def pairwise_distances(
        self, X: np.ndarray, Y: np.ndarray, opts: RunOptions | None = None
    ) -> np.ndarray:
        threads = (opts.num_threads if opts else None) or 0
        return _core.pairwise_distances(X, Y, threads)

    def knn(self, X: np.ndarray, Y: np.ndarray | None, k: int, opts: RunOptions) -> KnnResult:
        tile, panel = tiling_for(opts, X.shape[1])
        return KnnResult(
            *_core.knn(
                X,
                Y,
                int(k),
                opts.exact,
                tile,
                opts.num_threads or 0,
                opts.progress,
                panel_rows=panel,
            )
        )

    def cross_pass(
        self,
        A: np.ndarray,
        B: np.ndarray,
        radii_a: np.ndarray | None,
        radii_b: np.ndarray | None,
        strict: bool,
        knn_a: int,
        knn_b: int,
        opts: RunOptions,
        realism_radii: np.ndarray | None = None,
        realism_eps: float | None = None,
    ) -> CrossResult:
        tile, panel = tiling_for(opts, A.shape[1])
        out = _core.cross_pass(
            A,
            B,
            radii_a,
            radii_b,
            bool(strict),
            int(knn_a),
            int(knn_b),
            opts.exact,
            tile,
            opts.num_threads or 0,
            opts.progress,
            realism_radii,
            -1.0 if realism_eps is None else float(realism_eps),
            panel_rows=panel,
        )
        return CrossResult.from_mapping(out)
