"""The GPU pipeline, written once over a small set of device operations.

``cuda`` (kernels compiled by nvcc into ``fastprdc._cuda``, cuBLAS), ``cupy`` (the same kernel
sources compiled at run time through NVRTC, cuBLAS through CuPy) and ``sim`` (the same kernels
run thread by thread on the CPU through ``fastprdc._core``, for testing the pipeline without a
GPU) differ only in their :class:`.gpu_ops.DeviceOps`. The kernels are csrc/cuda/kernels.cuh.

A pass (self-kNN of a set, or the fused cross pass of two sets):

1. per set: ``row_stats`` (row exponents for the oracle; finiteness and magnitude checks of
   device-resident inputs), the frame (centre from ``column_sums``, scale from ``centred_max``,
   the CPU engine's arithmetic), ``pack_rows`` (centred, scaled float32 rows and their norms);
2. per tile: one GEMM T = -2 A~_I B~_J^T, then ``scan_hits`` (in parallel over the tile's
   elements: every ball decision, counted for both sides, and each row's list of the pairs its
   list or realism may need), ``recheck_pairs`` (the ball decisions that waited for the oracle,
   a thread per pair), ``cross_rows`` (a thread per row of A: its neighbour list) and
   ``cross_cols`` (a thread per row of B: its neighbour list and realism) update the state; the
   tiles go in groups that share no row (:mod:`.tile_schedule`), each kernel launched once per
   group, a group's GEMMs on one stream while the previous group's kernels run on another
   (overlap: :class:`StreamPipeline`);
3. ``finalize_*``: exact neighbour lists and realism from the surviving candidates.

Memory on the device (counted in :mod:`.gpu_memory`): the inputs, one packed copy of each, a
group's tiles with their scratch, hit lists and deferred rechecks (within half of
``max_memory``, else of the free memory), and O((N + M) k) per-row state; never an N x M array.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _core
from .._arrays import CUDA, DeviceMatrix, device_matrix, location
from .._options import RunOptions
from .._validation import max_magnitude
from . import gpu_settings
from .contract import CrossResult, KnnResult
from .gpu_memory import (
    GATE_KMAX,
    GATE_SEGS,
    SCRATCH_BYTES,
    group_slots,
    guard_memory,
    held_bytes,
    packed_dtype,
    tile_side,
)
from .gpu_ops import DeviceOps, StreamPipeline, param_dtype, params, tile_args
from .gpu_settings import (
    defer_setting,
    gemm_path_setting,
    overlap_setting,
    tile_gates_setting,
    tile_group_setting,
)
from .row_groups import group_ids
from .tile_schedule import tile_classes, tile_groups

__all__ = ["GpuEngine"]

_CHUNK_ROWS = int(_core.frame_chunk_rows())
_PROGRESS_SECONDS = 0.1
#: Rows per launch of a finalize kernel at most (one thread each, which reads its row's
#: candidates in float64): a tile side, 8192, is two warps per SM on an H100/H200, too few to
#: hide the loads' latency; 2^18 fills every SM (132 x 2048 threads).
_FINALIZE_THREADS = 1 << 18


@dataclass
class _Set:
    """One input set on the device: its values, row maxima and packed frame copy."""

    data: Any
    rows: int
    dim: int
    f64: bool
    rowmax: np.ndarray  # host, per row: largest |value|
    packed: Any = None
    small: Any = None  # the split paths' small parts
    norm: Any = None
    path: str = ""  # the GEMM path it was packed for


class _Topk:
    """Device storage of one set of top-k rows (csrc/common/topk_row.hpp)."""

    def __init__(self, ops: DeviceOps, rows: int, k: int) -> None:
        self.rows, self.k = rows, k
        self.cap = int(_core.topk_capacity(k)) if k else 0
        n, cap = max(rows, 1), max(self.cap, 1)
        self.heap = ops.empty(n * max(k, 1), np.float32)
        self.heap_size = ops.full(n, 0, np.int32)
        self.threshold = ops.full(n, np.inf, np.float32)
        self.cand_lo = ops.empty(n * cap, np.float32)
        self.cand_j = ops.empty(n * cap, np.int32)
        self.count = ops.full(n, 0, np.int32)
        self.bar_group: Any = None
        self.bar_idx: Any = None

    def use_groups(self, ops: DeviceOps) -> None:
        """Turns on the bars of copies (TopkStore::bar_idx; the candidates' groups come from the
        pass's group ids)."""
        if self.k:
            self.bar_group = ops.full(max(self.rows, 1), -1, np.int64)
            self.bar_idx = ops.full(max(self.rows, 1), -1, np.int32)

    def fields(self, ops: DeviceOps, prefix: str) -> dict[str, int]:
        if not self.k:
            return {f"{prefix}k": 0, f"{prefix}cap": 0}
        names = ("heap", "heap_size", "threshold", "cand_lo", "cand_j", "count")
        if self.bar_idx is not None:
            names += ("bar_group", "bar_idx")
        out = {f"{prefix}{n}": ops.ptr(getattr(self, n)) for n in names}
        out.update({f"{prefix}k": self.k, f"{prefix}cap": self.cap})
        return out


@dataclass
class _Presets:
    """What identical rows settle before a pass's sweep: (side, rows, js) of copy_presets per
    side (0: the lists of A, 1: of B), and zero_radius_centres' pairs (or None)."""

    lists: list[tuple[int, np.ndarray, np.ndarray]]
    zeros: np.ndarray | None = None


def _tile_arguments(
    groups: list[list[tuple[int, int]]],
    tr: int,
    rows: tuple[int, int],
    self_pass: bool,
    tiles: list[list[int]],
) -> np.ndarray:
    """Every tile's TileArgs, group after group: blocks (I, J) of ``tr`` rows of sets of ``rows``
    rows, each with its slot's tile (a device address; group g uses tile set g % len(tiles))
    and per-tile-row buffers from row slot * tr."""
    host = np.zeros(sum(len(g) for g in groups), dtype=param_dtype("TileArgs"))
    at = 0
    for g, group in enumerate(groups):
        tile_set = tiles[g % len(tiles)]
        for slot, (bi, bj) in enumerate(group):
            i0, j0 = bi * tr, bj * tr
            ni, nj = min(tr, rows[0] - i0), min(tr, rows[1] - j0)
            diagonal = self_pass and bi == bj
            host[at] = tile_args(i0, ni, j0, nj, tile_set[slot], diagonal, buf0=slot * tr)[()]
            at += 1
    return host


class GpuEngine:
    """The backend contract (:mod:`fastprdc._backends.contract`) on a device."""

    def __init__(
        self,
        ops: DeviceOps,
        name: str,
        gemm_path: str | None = None,
        tile_max: int = 8192,
        launch_chunk: int = 1 << 22,
        hit_cap: int = 2048,
        tile_gates: bool | None = None,
        tile_group: int | None = None,
        defer_rechecks: bool | None = None,
        overlap: bool | None = None,
    ):
        self.ops = ops
        self.name = name
        self._gemm_path = gemm_path
        self.tile_max = tile_max
        self.launch_chunk = launch_chunk
        # Pairs listed per row and tile by the scan; a row with more gets a full pass by its one
        # thread, which the whole tile then waits for. Hub rows of a cross pass (points inside
        # many balls) need hundreds of pairs per 8192-wide tile, more as N grows (in the sim on
        # Gaussian data, d = 2048: up to 642 at N = M = 16384, 839 at 32768): 2048 keeps them
        # listed, at 16 KiB per tile row (sorting a longer list costs about a full pass).
        self.hit_cap = max(1, hit_cap)
        self._tile_gates = tile_gates
        self._tile_group = tile_group
        self._defer = defer_rechecks
        self._overlap = overlap
        self.location = "host" if name == "sim" else "cuda"

    @property
    def gemm_path(self) -> str:
        """The GEMM path of the next run (:func:`gemm_path_setting`)."""
        return gemm_path_setting(self._gemm_path, self.ops.compute_capability)

    @property
    def tile_gates(self) -> bool:
        """Whether the next run gates each tile's scan (:func:`tile_gates_setting`)."""
        return tile_gates_setting(self._tile_gates)

    @property
    def defer_rechecks(self) -> bool:
        """Whether the next run defers its ball rechecks (:func:`defer_setting`)."""
        return defer_setting(self._defer)

    @property
    def overlap(self) -> bool:
        """Whether the next run overlaps a group's GEMMs with the previous group's kernels
        (:func:`overlap_setting`)."""
        return overlap_setting(self._overlap)

    @property
    def tile_group(self) -> int:
        """The most tiles per launch of the pass kernels in the next run
        (:func:`tile_group_setting`)."""
        return tile_group_setting(self._tile_group)

    # ------------------------------------------------------------------ sets and frames

    def _launch_rows(self, kernel: str, n: int, p: np.ndarray) -> None:
        """Threads 0..n-1 of a per-row kernel, in launches of at most ``launch_chunk`` threads
        (each kernel adds the launch's first index i0 to its thread index)."""
        chunk = self.launch_chunk
        for i0 in range(0, n, chunk):
            ni = min(chunk, n - i0)
            self.ops.launch(kernel, ni, p, tile_args(i0=i0, ni=ni))

    def _rows_params(self, s: _Set, **fields: Any) -> np.ndarray:
        return params(
            "RowsParams",
            data=self.ops.ptr(s.data),
            rows=s.rows,
            dim=s.dim,
            f64=int(s.f64),
            **fields,
        )

    def _device_input(self, X: Any, name: str) -> Any:
        """X as a DeviceMatrix when it is GPU-resident (shape and dtype from its interface, no
        copy; its name as validation gave it), else X. ValueError when it lives on another GPU
        than the backend's (its kernels, module and cuBLAS handle belong to one device)."""
        if location(X) != CUDA:
            return X
        X = device_matrix(X, name)
        here, there = getattr(self.ops, "device_id", None), X.device_id
        if here is not None and there is not None and here != there:
            raise ValueError(
                f"{X.name} is on GPU {there}, but the {self.name} backend runs on GPU {here}; "
                f"pass device='{self.name}:{there}' (or 'auto', which follows the data), or move "
                f"it there, e.g. tensor.to('cuda:{here}') or cupy.asarray(x) under "
                f"cupy.cuda.Device({here})"
            )
        return X

    def _wrapped(self, X: Any) -> Any:
        """The device array over a GPU-resident X, no copy (None for host data), read after
        whatever produced it, on any stream (a torch side stream, a non-blocking CuPy one)."""
        data = self.ops.wrap(X)
        if data is not None:
            self.ops.synchronize()
        return data

    def _set(self, X: Any, name: str = "input") -> _Set:
        """The device set of X (uploaded, or wrapped without a copy), with its row statistics;
        ValueError for NaN, infinities or magnitudes beyond max_magnitude(d)."""
        ops = self.ops
        X = self._device_input(X, name)
        name = X.name if isinstance(X, DeviceMatrix) else name
        data = self._wrapped(X)
        if data is None:
            data = ops.upload(np.ascontiguousarray(X))
        rows, dim = int(X.shape[0]), int(X.shape[1])
        f64 = np.dtype(X.dtype) == np.float64
        rowmax_dev = ops.empty(rows, np.float64)
        s = _Set(data, rows, dim, f64, np.empty(0))
        p = self._rows_params(s, rowmax=ops.ptr(rowmax_dev))
        self._launch_rows("row_stats", rows, p)
        s.rowmax = ops.download(rowmax_dev, rows)
        bad = np.isnan(s.rowmax)
        if bad.any():
            raise ValueError(f"{name} contains NaN or inf (first bad row: {int(np.argmax(bad))})")
        limit = max_magnitude(dim)
        if rows and s.rowmax.max() > limit:
            row = int(np.argmax(s.rowmax > limit))
            raise ValueError(
                f"{name} has values too large for finite distances (first bad row: {row}, "
                f"|value| > {limit:.4g} for width {dim}): distances would exceed float64's range; "
                "rescale the features"
            )
        return s

    def _frame(self, sets: list[_Set]) -> tuple[Any, int, float, int]:
        """(centre on the device, frame exponent, scale, e_max) over the union of ``sets``:
        the CPU engine's frame, bit for bit (csrc/cpu/prepare.cpp make_frame)."""
        ops = self.ops
        top = max(float(s.rowmax.max()) if s.rows else 0.0 for s in sets)
        e_max = int(_core.binary_exponent(top))
        shrink = float(_core.frame_shrink(e_max))
        partials = []
        for s in sets:
            chunks = -(-s.rows // _CHUNK_ROWS)
            out = ops.empty(chunks * s.dim, np.float64)
            p = self._rows_params(s, shrink=shrink, chunk_rows=_CHUNK_ROWS, partial=ops.ptr(out))
            self._launch_rows("column_sums", chunks * s.dim, p)
            partials.append(ops.download(out, chunks * s.dim).reshape(chunks, s.dim))
        total = sum(s.rows for s in sets)
        centre = _core.frame_centre(np.concatenate(partials), total, shrink)[0]
        centre_dev = ops.upload(np.ascontiguousarray(centre))
        maxabs = 0.0
        for s in sets:
            out = ops.empty(s.rows, np.float64)
            p = self._rows_params(s, centre=ops.ptr(centre_dev), rowmax=ops.ptr(out))
            self._launch_rows("centred_max", s.rows, p)
            maxabs = max(maxabs, float(ops.download(out, s.rows).max()))
        exp = int(_core.frame_exponent(maxabs))
        return centre_dev, exp, math.ldexp(1.0, exp), e_max

    def _pack(self, s: _Set, centre: Any, scale: float, path: str) -> None:
        """Packed rows for GEMM path ``path`` (kernels.cuh pack_rows): float32, with their TF32
        remainders for "tf32x3", rounded to TF32 for "tf32"; float16 for "fp16", with their
        FP16 remainders for "fp16x3"."""
        ops = self.ops
        split = bool(_core.gemm_split(path))
        s.path = path
        s.packed = ops.empty(s.rows * s.dim, packed_dtype(path))
        s.small = ops.empty(s.rows * s.dim, packed_dtype(path)) if split else None
        s.norm = ops.empty(s.rows, np.float32)
        p = self._rows_params(
            s,
            centre=ops.ptr(centre),
            scale=scale,
            gemm_path=int(_core.gemm_path_code(path)),
            packed=ops.ptr(s.packed),
            packed_small=ops.ptr(s.small) if split else 0,
            norm=ops.ptr(s.norm),
        )
        self._launch_rows("pack_rows", s.rows, p)

    # ------------------------------------------------------------------ the pass

    def tile_plan(
        self, opts: RunOptions, budget: int | None, cap: int, rows: int
    ) -> tuple[int, int]:
        """(rows per tile side, tiles per slot) of a pass over sets of at most ``rows`` rows:
        the caller's tile_rows, else as many rows as half the memory ``budget`` holds
        (:func:`.gpu_memory.tile_side`); two tiles per slot with overlap (read once per run: the
        budget and the allocation follow from it), one for a pass of one tile (nothing to
        overlap; more than one tile makes more than one group, as groups share no row)."""
        sets = 2 if self.overlap else 1
        side = opts.tile_rows
        if side is None:
            side = tile_side(budget, cap, self.hit_cap, self.tile_max, opts.max_memory, sets)
        tr = max(1, min(int(side), rows))
        return tr, 1 if tr >= rows else sets

    def _run(
        self,
        A: _Set,
        B: _Set,
        self_pass: bool,
        fields: dict[str, Any],
        cap: int,
        opts: RunOptions,
        presets: _Presets | None = None,
    ) -> tuple[np.ndarray, Any, int, int]:
        """Every tile of A x B (I <= J for a self pass) through the cross kernels, after the
        presets of identical rows, in groups of tiles that share no row (one launch of each
        kernel per group); the parameters, the recheck counter, the scratch's thread count and
        the device bytes the tiles and scratch held."""
        ops = self.ops
        budget = opts.max_memory or ops.free_bytes()
        tr, sets = self.tile_plan(opts, budget, cap, max(A.rows, B.rows))
        blocks_a, blocks_b = -(-A.rows // tr), -(-B.rows // tr)
        largest = max(len(c) for c in tile_classes(blocks_a, blocks_b, self_pass))
        slots = group_slots(self.tile_group, budget, tr, cap, self.hit_cap, largest, sets)
        groups = tile_groups(blocks_a, blocks_b, self_pass, slots)
        threads = slots * tr  # scratch and per-row buffers: tr rows per slot
        scap = max(cap, 1)
        sk, sa, si = self._scratch(threads * scap)
        rechecks = ops.full(1, 0, np.uint64)
        tiles = [[ops.empty(tr * tr, np.float32) for _ in range(slots)] for _ in range(sets)]
        # the scan's per-row hit lists and the gates the rows had after their last tile
        hit_cap = min(self.hit_cap, tr)  # a list holds at most a tile side
        hits_a = ops.empty(threads * hit_cap, np.int32)
        hits_b = ops.empty(threads * hit_cap, np.int32)
        count_a, count_b = ops.full(threads, 0, np.int32), ops.full(threads, 0, np.int32)
        gate_a = ops.full(A.rows, np.inf, np.float32)
        gate_b = gate_a if self_pass else ops.full(B.rows, np.inf, np.float32)
        # the tile gates: every row's gate from its state before each scan, capped by its parts
        # (kernels.cuh gate_parts: kNN lists at most GATE_KMAX deep, realism collectors), which
        # a pass of balls alone does not need
        tile_gates = self.tile_gates
        with_parts = tile_gates and any(fields.get(f, 0) for f in ("ta_k", "tb_k", "kr"))
        parts = ops.empty(2 * threads * GATE_SEGS * GATE_KMAX if with_parts else 1, np.float32)
        # the deferred ball rechecks (kernels.cuh recheck_pairs), for passes with balls
        balls = fields.get("exact") and (fields.get("ka", 0) or fields.get("kb", 0))
        defer = gpu_settings.DEFER_CAP if balls and self.defer_rechecks else 0
        waiting = ops.full(threads if defer else 1, 0, np.int32)
        waiting_j = ops.empty(threads * defer or 1, np.int32)
        p = params(
            "CrossParams",
            scratch_key=ops.ptr(sk),
            scratch_aux=ops.ptr(sa),
            scratch_idx=ops.ptr(si),
            scratch_cap=scap,
            rechecks=ops.ptr(rechecks),
            self_pass=int(self_pass),
            gate_a=ops.ptr(gate_a),
            gate_b=ops.ptr(gate_b),
            hits_a=ops.ptr(hits_a),
            hits_b=ops.ptr(hits_b),
            hit_count_a=ops.ptr(count_a),
            hit_count_b=ops.ptr(count_b),
            hit_cap=hit_cap,
            gate_parts=ops.ptr(parts),
            tile_gates=int(tile_gates),
            defer_cap=defer,
            defer_count=ops.ptr(waiting),
            defer_j=ops.ptr(waiting_j),
            **fields,
        )
        if presets is not None:
            self._preset(p, threads, presets)
        host = _tile_arguments(
            groups, tr, (A.rows, B.rows), self_pass, [[ops.ptr(t) for t in s] for s in tiles]
        )
        args = ops.upload(host.view(np.uint8)) if len(host) else None  # a group's: a run of them
        path = A.path  # as _prepare packed the sets
        operands_a = (A.packed, A.small) if A.small is not None else A.packed
        operands_b = (B.packed, B.small) if B.small is not None else B.packed
        starts = np.cumsum([0] + [len(g) for g in groups])  # each group's first tile
        pipe = StreamPipeline(ops, sets)
        last, shown = time.perf_counter(), 0
        try:
            for g, group in enumerate(groups):
                n_tiles, first = len(group), int(starts[g])
                mine = host[first : first + n_tiles]
                with pipe.gemms(g):
                    for slot, t in enumerate(mine):
                        i0, ni, j0, nj = (int(t[f]) for f in ("i0", "ni", "j0", "nj"))
                        tile = tiles[g % sets][slot]
                        ops.gemm(path, tile, operands_a, i0, ni, operands_b, j0, nj, A.dim)
                ni, nj = int(mine["ni"].max()), int(mine["nj"].max())
                base = ops.ptr(args) + first * host.itemsize
                strides = {
                    "gate_parts": (ni + nj) * GATE_SEGS if with_parts else 0,
                    "gate_merge": ni + nj if tile_gates else 0,
                    "scan_hits": ni * ((nj + 3) // 4),
                    "recheck_pairs": ni * defer,
                    "cross_rows": ni,
                    "cross_cols": 0 if all(self_pass and bi == bj for bi, bj in group) else nj,
                }
                with pipe.kernels(g):
                    for kernel, stride in strides.items():  # in this order; 0: not this group
                        if stride:
                            t = tile_args(tiles=n_tiles, group=base, stride=stride)
                            ops.launch(kernel, n_tiles * stride, p, t)
                done = int(starts[pipe.finished(g)])  # progress and Ctrl-C within a group or two
                now = time.perf_counter()
                # the first group done, then every _PROGRESS_SECONDS: a GPU may finish a whole
                # pass within the interval, and a callback that stops the run must see it
                if (
                    opts.progress is not None
                    and done
                    and (not shown or now - last > _PROGRESS_SECONDS)
                ):
                    last, shown = now, done
                    opts.progress(done, len(host))
        except BaseException:
            with contextlib.suppress(Exception):  # a device error would be raised again here
                pipe.drain()
            raise
        pipe.drain()
        if opts.progress is not None and (shown < len(host) or not groups):
            opts.progress(len(host), len(host))  # the last: every tile done
        return p, rechecks, threads, held_bytes(slots, tr, scap, sets)

    def _scratch(self, slots: int) -> tuple[Any, Any, Any]:
        """The scratch of ``slots`` candidates (:data:`SCRATCH_BYTES` each): keys, aux, indices."""
        ops = self.ops
        return (
            ops.empty(slots, np.float64),
            ops.empty(slots, np.float64),
            ops.empty(slots, np.int32),
        )

    def _chunked(self, kernel: str, p: np.ndarray, rows: int, threads: int) -> None:
        """Threads for rows 0..rows-1 of a kernel that uses the pass's scratch, ``threads`` (its
        thread count) at a time."""
        chunk = max(1, min(rows, threads))
        for i0 in range(0, rows, chunk):
            ni = min(chunk, rows - i0)
            self.ops.launch(kernel, ni, p, tile_args(i0=i0, ni=ni))

    def _finalize(
        self,
        kernel: str,
        p: np.ndarray,
        rows: int,
        k: int,
        dist: Any,
        idx: Any,
        threads: int,
        held: int,
    ) -> None:
        """Final exact lists (or realism) of ``rows`` collector rows, in launches whose scratch
        fits the ``held`` bytes of the pass's tiles and scratch (``threads`` of it; freed by
        now), so that max_memory bounds this one too, and of at most :data:`_FINALIZE_THREADS`
        rows."""
        ops = self.ops
        scap = int(p["scratch_cap"])
        fits = held // (SCRATCH_BYTES * scap)
        chunk = max(1, min(rows, max(threads, min(_FINALIZE_THREADS, fits))))
        sk, sa, si = self._scratch(chunk * scap)
        q = p.copy()
        q["scratch_key"], q["scratch_aux"], q["scratch_idx"] = ops.ptr(sk), ops.ptr(sa), ops.ptr(si)
        q["out_dist"], q["out_idx"], q["out_k"] = ops.ptr(dist), ops.ptr(idx), k
        self._chunked(kernel, q, rows, chunk)

    # ------------------------------------------------------------------ identical rows

    def _groups(self, sets: list[_Set]) -> np.ndarray | None:
        """Per row of ``sets`` (concatenated), the position of the first row with the same values
        (the CPU engine's group ids, csrc/cpu/duplicates.hpp), or None when no two rows are
        identical: the device hashes every row and compares the rows of equal hashes."""
        ops = self.ops
        hashes = []
        for s in sets:
            out = ops.empty(max(s.rows, 1), np.uint64)
            self._launch_rows("hash_rows", s.rows, self._rows_params(s, out=ops.ptr(out)))
            hashes.append(ops.download(out, s.rows)[: s.rows])
        first, last = sets[0], sets[-1]

        def same(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            pairs = ops.upload(np.stack([x, y], axis=1).astype(np.int64).ravel())
            out = ops.empty(len(x), np.int32)
            p = self._rows_params(
                first,
                other=ops.ptr(last.data),
                other_rows=last.rows,
                other_f64=int(last.f64),
                pairs=ops.ptr(pairs),
                out=ops.ptr(out),
            )
            self._launch_rows("compare_rows", len(x), p)
            return ops.download(out, len(x))[: len(x)] != 0

        ids = group_ids(np.concatenate(hashes), same)
        return ids if (ids != np.arange(len(ids))).any() else None

    def _preset(self, p: np.ndarray, threads: int, presets: _Presets) -> None:
        """Before the sweep: the neighbour lists that copies fill, and the realism collectors'
        centres of radius 0 (csrc/cpu/duplicates.hpp)."""
        ops = self.ops
        keep = []
        for side, rows, js in presets.lists:
            if not len(rows):
                continue
            keep += [ops.upload(np.ascontiguousarray(rows, np.int64)), ops.upload(js.ravel())]
            q = p.copy()
            q["preset_rows"], q["preset_js"] = ops.ptr(keep[-2]), ops.ptr(keep[-1])
            q["preset_side"] = side
            self._launch_rows("preset_lists", len(rows), q)
        if presets.zeros is not None:
            q = p.copy()
            keep.append(ops.upload(presets.zeros.ravel()))
            q["preset_js"] = ops.ptr(keep[-1])
            self._chunked("preset_realism", q, len(presets.zeros), threads)
        ops.synchronize()  # before the uploads are freed

    def _prepare(self, sets: list[_Set], opts: RunOptions) -> tuple[float, float, float]:
        """Frame and pack ``sets``; (frame scale, coef, absb) of the error bound. The GEMM path
        is read here, once per run: the packing and the bound follow from it, and ``_run``
        from the packing."""
        path = self.gemm_path
        centre, exp, scale, e_max = self._frame(sets)
        for s in sets:
            self._pack(s, centre, scale, path)
        coef, absb = _core.error_bounds(sets[0].dim, exp, e_max, path)
        if not opts.exact:
            coef, absb = 0.0, 0.0
        return scale, coef, absb

    def _base_fields(self, A: _Set, B: _Set, scale: float, coef: float, absb: float, exact: bool):
        ops = self.ops
        return {
            "a_data": ops.ptr(A.data),
            "b_data": ops.ptr(B.data),
            "a_norm": ops.ptr(A.norm),
            "b_norm": ops.ptr(B.norm),
            "n_a": A.rows,
            "n_b": B.rows,
            "dim": A.dim,
            "a_f64": int(A.f64),
            "b_f64": int(B.f64),
            "exact": int(exact),
            "coef": coef,
            "absb": absb,
            "frame_scale": scale,
        }

    # ------------------------------------------------------------------ the contract

    @guard_memory
    def knn(self, X: Any, Y: Any | None, k: int, opts: RunOptions) -> KnnResult:
        if Y is not None:
            res = self.cross_pass(X, Y, None, None, False, k, 0, opts)
            return KnnResult(res.a_knn_dist, res.a_knn_idx, res.n_rechecked)
        ops = self.ops
        A = self._set(X, "X")
        scale, coef, absb = self._prepare([A], opts)
        top = _Topk(ops, A.rows, k)
        fields = self._base_fields(A, A, scale, coef, absb, opts.exact)
        ids = self._groups([A]) if opts.exact else None
        presets = None
        if ids is not None:
            groups = ops.upload(ids)
            fields["a_group"] = fields["b_group"] = ops.ptr(groups)
            top.use_groups(ops)
            presets = _Presets([(0, *_core.copy_presets(ids, ids, k, True))])
        fields.update(top.fields(ops, "ta_"))
        fields.update(top.fields(ops, "tb_"))
        p, rechecks, threads, held = self._run(A, A, True, fields, top.cap, opts, presets)
        dist = ops.empty(A.rows * k, np.float64)
        idx = ops.empty(A.rows * k, np.int64)
        self._finalize("finalize_a", p, A.rows, k, dist, idx, threads, held)
        ops.synchronize()
        return KnnResult(
            ops.download(dist, A.rows * k).reshape(A.rows, k),
            ops.download(idx, A.rows * k).reshape(A.rows, k),
            int(ops.download(rechecks, 1)[0]),
        )

    @guard_memory
    def cross_pass(
        self,
        A_in: Any,
        B_in: Any,
        radii_a: np.ndarray | None,
        radii_b: np.ndarray | None,
        strict: bool,
        knn_a: int,
        knn_b: int,
        opts: RunOptions,
        realism_radii: np.ndarray | None = None,
        realism_eps: float | None = None,
    ) -> CrossResult:
        ops = self.ops
        A, B = self._set(A_in, "A"), self._set(B_in, "B")
        scale, coef, absb = self._prepare([A, B], opts)
        n, m = A.rows, B.rows
        fields = self._base_fields(A, B, scale, coef, absb, opts.exact)
        fields["strict"] = int(strict)
        keep: list[Any] = []  # device arrays referenced by the params

        def dev(host: np.ndarray) -> Any:
            arr = ops.upload(np.ascontiguousarray(host))
            keep.append(arr)
            return ops.ptr(arr)

        out: dict[str, Any] = {}

        def state(name: str, rows: int, k: int, value: float, dtype: Any, init: Any = None) -> None:
            """Per-row state (rows x k) filled with value, or a copy of ``init``."""
            if init is None or not init.size:
                arr = ops.full(max(rows * k, 1), value, dtype)
            else:
                arr = ops.upload(np.ascontiguousarray(init, dtype).ravel())
            out[name] = (arr, rows, k)
            fields[name] = ops.ptr(arr)

        ra = np.zeros((n, 0)) if radii_a is None else np.asarray(radii_a, np.float64)
        rb = np.zeros((m, 0)) if radii_b is None else np.asarray(radii_b, np.float64)
        rr = np.zeros((n, 0)) if realism_radii is None else np.asarray(realism_radii, np.float64)
        for name, radii, rows in (("radii_a", ra, n), ("radii_b", rb, m), ("realism_radii", rr, n)):
            if radii.ndim != 2 or radii.shape[0] != rows:
                raise ValueError(f"{name} must have shape (rows, k) matching its centres")
        ka, kb, kr = ra.shape[1], rb.shape[1], rr.shape[1]
        ids = self._groups([A, B]) if opts.exact else None
        zeros_counted = ids is not None  # csrc/cpu/duplicates.hpp count_zero_radius_balls
        for tag, radii, k in (("a", ra, ka), ("b", rb, kb)):
            fields[f"k{tag}"] = k
            if k:
                th_in, th_out, reach = _core.ball_thresholds(
                    radii, scale, opts.exact, strict, zeros_counted
                )
                fields[f"radii_{tag}"] = dev(radii)
                fields[f"th_in_{tag}"] = dev(th_in)
                fields[f"th_out_{tag}"] = dev(th_out)
                fields[f"reach_{tag}"] = dev(reach)
        # the memberships of balls of radius 0, counted from the groups
        ca = cb = (None, None, None)
        if zeros_counted:
            ca = _core.zero_radius_ball_counts(ra, ids[:n], ids[n:], strict)
            cb = _core.zero_radius_ball_counts(rb, ids[n:], ids[:n], strict)
        state("b_count", m, ka, 0, np.int64, ca[1])
        state("b_min_radius", m, ka, np.inf, np.float64, ca[2])
        state("a_ball_count", n, ka, 0, np.int64, ca[0])
        state("a_count", n, kb, 0, np.int64, cb[1])
        state("a_min_radius", n, kb, np.inf, np.float64, cb[2])
        state("b_ball_count", m, kb, 0, np.int64, cb[0])
        top_a, top_b = _Topk(ops, n, knn_a), _Topk(ops, m, knn_b)
        top_r = _Topk(ops, m * kr, 1 if kr else 0)
        presets = None
        if ids is not None:
            fields["a_group"] = dev(ids)
            fields["b_group"] = fields["a_group"] + 8 * n
            top_a.use_groups(ops)
            top_b.use_groups(ops)
            presets = _Presets(
                [
                    (0, *_core.copy_presets(ids[:n], ids[n:], knn_a, False)),
                    (1, *_core.copy_presets(ids[n:], ids[:n], knn_b, False)),
                ]
            )
            if kr:
                presets.zeros = _core.zero_radius_centres(rr, ids[:n], ids[n:])
        fields.update(top_a.fields(ops, "ta_"))
        fields.update(top_b.fields(ops, "tb_"))
        fields.update(top_r.fields(ops, "tr_"))
        fields["kr"] = kr
        if kr:
            eps = -1.0 if realism_eps is None else float(realism_eps)
            zeros_preset = ids is not None  # zero_radius_centres, above
            frame, rmax, eps_frame = _core.realism_frame(rr, scale, eps, opts.exact, zeros_preset)
            fields["realism_radii"] = dev(rr)
            fields["realism_frame"] = dev(frame)
            fields["realism_rmax"] = dev(rmax)
            fields["realism_eps"] = eps
            fields["realism_eps_frame"] = eps_frame
        cap = max(top_a.cap, top_b.cap, top_r.cap)
        if n and m and (ka or kb or knn_a or knn_b or kr):
            p, rechecks, threads, held = self._run(A, B, False, fields, cap, opts, presets)
        else:
            p = params("CrossParams", scratch_cap=max(cap, 1), **fields)
            rechecks, threads = ops.full(1, 0, np.uint64), 1 << 10
            held = held_bytes(1, threads, max(cap, 1))
            p["rechecks"] = ops.ptr(rechecks)
            if opts.progress is not None:
                opts.progress(0, 0)
        lists = {}
        for kernel, rows, k, prefix in (
            ("finalize_a", n, knn_a, "a_knn"),
            ("finalize_b", m, knn_b, "b_knn"),
            ("finalize_realism", m * kr, 1 if kr else 0, "b_realism"),
        ):
            dist = ops.empty(max(rows * k, 1), np.float64)
            idx = ops.empty(max(rows * k, 1), np.int64)
            if rows and k:
                self._finalize(kernel, p, rows, k, dist, idx, threads, held)
            lists[prefix] = (dist, idx, rows * k)
        ops.synchronize()

        def host(name: str, dtype: Any) -> np.ndarray:
            arr, rows, k = out[name]
            return ops.download(arr, rows * k).reshape(rows, k).astype(dtype)

        def listed(prefix: str, rows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
            dist, idx, size = lists[prefix]
            # exactly `size` elements: a placeholder (size 0) is never written, never read
            d = ops.download(dist, size).reshape(rows, k)
            i = ops.download(idx, size).reshape(rows, k)
            return d, i

        a_knn = listed("a_knn", n, knn_a)
        b_knn = listed("b_knn", m, knn_b)
        real = listed("b_realism", m, kr)
        return CrossResult(
            b_count=host("b_count", np.int64),
            b_min_radius=host("b_min_radius", np.float64),
            a_ball_count=host("a_ball_count", np.int64),
            a_count=host("a_count", np.int64),
            a_min_radius=host("a_min_radius", np.float64),
            b_ball_count=host("b_ball_count", np.int64),
            a_knn_dist=a_knn[0],
            a_knn_idx=a_knn[1],
            b_knn_dist=b_knn[0],
            b_knn_idx=b_knn[1],
            b_realism=real[0],
            b_realism_idx=real[1],
            n_rechecked=int(ops.download(rechecks, 1)[0]),
        )

    @guard_memory
    def pairwise_distances(self, X: Any, Y: Any, opts: RunOptions | None = None) -> np.ndarray:
        """Oracle distances (n, m) float64, row block by row block."""
        ops = self.ops
        A, B = self._set(X, "X"), self._set(Y, "Y")
        n, m = A.rows, B.rows
        out = np.empty((n, m), dtype=np.float64)
        step = max(1, (1 << 24) // max(m, 1))
        buf = ops.empty(max(min(step, n) * m, 1), np.float64)
        for i0 in range(0, n, step):
            ni = min(step, n - i0)
            itemsize = 8 if A.f64 else 4
            p = params(
                "RowsParams",
                data=ops.ptr(A.data) + i0 * A.dim * itemsize,
                rows=ni,
                dim=A.dim,
                f64=int(A.f64),
                other=ops.ptr(B.data),
                other_rows=m,
                other_f64=int(B.f64),
                out=ops.ptr(buf),
            )
            self._launch_rows("pairwise", ni * m, p)
            out[i0 : i0 + ni] = ops.download(buf, ni * m).reshape(ni, m)
        return out

    @guard_memory
    def column_mean(self, X: Any) -> np.ndarray:
        """The float64 mean of the rows with the semantics of ``_means.float64_mean`` (a
        sequential sum over the rows in order, / n; pre-scaled when the sum could overflow)."""
        ops = self.ops
        s = self._set(X, "X")
        n = s.rows
        top = float(s.rowmax.max()) if n else 0.0
        scaled = top * n >= 2.0**1020
        shift = n.bit_length() if scaled else 0
        out = ops.empty(s.dim, np.float64)
        p = self._rows_params(s, shrink=2.0**-shift, chunk_rows=max(n, 1), partial=ops.ptr(out))
        self._launch_rows("column_sums", s.dim, p)
        total = ops.download(out, s.dim)
        mean = total / n
        return mean * 2.0**shift if scaled else mean

    def take_rows(self, X: Any, rows: np.ndarray) -> Any:
        """Rows ``rows`` of X as a new device array (for the few deeper neighbour lists)."""
        with self.ops.current():
            return self._take_rows(X, rows)

    def _take_rows(self, X: Any, rows: np.ndarray) -> Any:
        ops = self.ops
        X = self._device_input(X, "input")
        data = self._wrapped(X)
        if data is None:
            return np.ascontiguousarray(np.asarray(X)[rows])
        idx = ops.upload(np.ascontiguousarray(rows, dtype=np.int64))
        f64 = np.dtype(X.dtype) == np.float64
        out = ops.empty(len(rows) * X.shape[1], np.float64 if f64 else np.float32)
        p = params(
            "RowsParams",
            data=ops.ptr(data),
            dim=X.shape[1],
            f64=int(f64),
            other=ops.ptr(idx),
            out=ops.ptr(out),
        )
        self._launch_rows("gather_rows", len(rows), p)
        return ops.matrix(out, len(rows), X.shape[1])
