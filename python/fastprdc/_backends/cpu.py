"""Native CPU backend: float32 GEMM tiles (OpenBLAS) with fused reductions and float64 rechecks."""

from __future__ import annotations

import math

import numpy as np

from .. import _core
from .._options import RunOptions
from .contract import CrossResult, HostArrays, KnnResult

__all__ = ["CpuBackend"]

_TILE_MAX = int(_core.build_info()["default_tile_rows"])
_TILE_MIN = 16


def tile_rows_for(opts: RunOptions) -> int:
    """Rows per tile side: the caller's choice, else the largest tile the memory budget allows."""
    if opts.tile_rows is not None:
        return int(opts.tile_rows)
    if opts.max_memory is None:
        return _TILE_MAX
    threads = max(opts.num_threads or int(_core.build_info()["omp_max_threads"]), 1)
    # Each thread holds one float32 tile (rows x rows); leave room for BLAS packing buffers.
    need = 8 * threads * _TILE_MIN * _TILE_MIN
    if int(opts.max_memory) < need:
        raise ValueError(
            f"max_memory={int(opts.max_memory)} bytes is too small: the cpu backend needs at "
            f"least {need} bytes for one tile of {_TILE_MIN} rows per thread ({threads} "
            "threads); give a larger max_memory (e.g. '64MB') or fewer threads"
        )
    side = math.isqrt(int(opts.max_memory) // (8 * threads))
    return max(_TILE_MIN, min(_TILE_MAX, side))


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
        return KnnResult(
            *_core.knn(
                X, Y, int(k), opts.exact, tile_rows_for(opts), opts.num_threads or 0, opts.progress
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
        out = _core.cross_pass(
            A,
            B,
            radii_a,
            radii_b,
            bool(strict),
            int(knn_a),
            int(knn_b),
            opts.exact,
            tile_rows_for(opts),
            opts.num_threads or 0,
            opts.progress,
            realism_radii,
            -1.0 if realism_eps is None else float(realism_eps),
        )
        return CrossResult.from_mapping(out)
