"""Inputs of a distributed run: what each set is, and how its row blocks reach the workers.

* dask arrays: one block per row chunk (the feature axis is rechunked to one chunk if it is
  split; ``block_rows`` rechunks the rows); chunks of unknown size are measured first
  (``compute_chunk_sizes``, on Dask's current scheduler);
* zarr arrays and paths: ``dask.array.from_zarr``; directories of ``.npy`` files and ``.npy``
  files: :func:`open_features` (read lazily by block, on the workers);
* numpy memmaps (C order, e.g. ``np.load(path, mmap_mode="r")``): every block is read by a
  task on a worker from (file, byte offset, rows), so the data never passes through the
  driver; the workers must see the same path (a copy-on-write map, ``mmap_mode="c"``, may
  differ from its file: it is scattered like a numpy array);
* numpy arrays and other host array-likes: scattered to the workers block by block, round
  robin. Dask cannot recompute scattered data: a run that loses a worker holding some starts
  again (``_api._run``).

Nothing here reads a whole set on the driver.
"""

from __future__ import annotations

import math
import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._arrays import to_host
from .._validation import _as_array
from ..io import npy_header
from . import _tasks

__all__ = ["Source", "auto_block_rows", "check_block_rows", "open_features", "source"]

#: Largest automatic block (rows) for numpy and memmap inputs and for open_features.
MAX_AUTO_ROWS = 65536
#: Row chunks of a dask input kept as they are up to this many (and 4 times the automatic
#: block count); more are joined into automatic blocks (block_rows= sets them explicitly).
MAX_DASK_BLOCKS = 64


def check_block_rows(block_rows: Any) -> int | None:
    """``block_rows`` as given (None: automatic); ValueError unless a positive int."""
    if block_rows is None:
        return None
    is_int = isinstance(block_rows, (int, np.integer)) and not isinstance(block_rows, bool)
    if not is_int or block_rows < 1:
        raise ValueError(f"block_rows must be a positive int or None, got {block_rows!r}")
    return int(block_rows)


def auto_block_rows(n: int, threads: int) -> int:
    """Rows per block for an in-memory or memmap set of n rows on ``threads`` worker threads:
    one block per thread (at most :data:`MAX_AUTO_ROWS` rows each). Then the self-kNN of both
    sets and the cross pass each have threads^2 blocks^2 of work in equal units that the
    executor places evenly, and few blocks mean few restarts: every task builds each of its
    rows' neighbour lists from empty, so more blocks cost more exact rechecks (measured on 2
    cores, N = M = 50k, d = 256: 2 blocks per set 20.5-21.3 s, 4 blocks 22.7-23.0 s, 6 blocks
    26.1 s)."""
    blocks = max(math.ceil(n / MAX_AUTO_ROWS), threads, 1)
    blocks = min(blocks, max(n, 1))
    return max(1, math.ceil(n / blocks))


def is_dask_array(x: Any) -> bool:
    return hasattr(type(x), "__dask_graph__") and hasattr(x, "chunks") and hasattr(x, "ndim")


def _is_zarr(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "zarr"


def _memmap_location(x: Any) -> tuple[str, int] | None:
    """(file, byte offset of the first element) of a C-contiguous numpy memmap (also a row
    slice of one), or None when it cannot be told."""
    if not isinstance(x, np.memmap) or not x.flags.c_contiguous or x.ndim != 2:
        return None
    if getattr(x, "mode", None) == "c":  # copy-on-write: changes live in this process only
        return None
    raw = getattr(x, "_mmap", None)
    path = getattr(x, "filename", None)
    if raw is None or path is None or not os.path.isfile(path):
        return None
    try:
        start = np.frombuffer(raw, dtype=np.uint8).__array_interface__["data"][0]
    except (TypeError, ValueError):
        return None
    mapped_from = int(x.offset) - int(x.offset) % mmap.ALLOCATIONGRANULARITY
    offset = x.__array_interface__["data"][0] - start + mapped_from
    return str(path), int(offset)


@dataclass
class Source:
    """One input set before any task ran: its shape and dtype, and what it is."""

    name: str
    shape: tuple[int, int]
    dtype: np.dtype
    kind: str  # "dask", "memmap" or "numpy"
    obj: Any  # the dask array, (path, offset) or the numpy array
    info: dict[str, Any] = field(default_factory=dict)


def source(x: Any, name: str) -> Source:
    """Describe an input (see the module doc); ValueError for a non-2-D or non-real input."""
    if isinstance(x, (str, os.PathLike)):
        x = open_features(x)
    elif _is_zarr(x):
        import dask.array as da

        x = da.from_zarr(x)
    if is_dask_array(x):
        if x.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array, got shape {tuple(x.shape)}")
        if any(math.isnan(c) for c in x.chunks[0]):
            x = x.compute_chunk_sizes()  # the plan needs N; computed with dask's scheduler
        shape = (int(x.shape[0]), int(x.shape[1]))
        kind, obj = "dask", x
    else:
        where = _memmap_location(x)
        if where is not None:
            shape, kind, obj = (x.shape[0], x.shape[1]), "memmap", where
        else:
            try:
                x = np.asarray(to_host(x))
            except Exception as exc:
                raise ValueError(f"{name} could not be converted to a numpy array: {exc}") from exc
            if x.ndim != 2:
                raise ValueError(f"{name} must be a 2-D array, got shape {x.shape}")
            shape, kind, obj = (x.shape[0], x.shape[1]), "numpy", x
    dtype = np.dtype(x.dtype)
    # the dtype rules of _validation (real numbers only), on an empty array of this dtype
    _as_array(np.empty((0, 0 if math.isnan(shape[1]) else shape[1]), dtype=dtype), name)
    return Source(name, shape, dtype, kind, obj)


def _cuts(n: int, rows: int) -> list[tuple[int, int]]:
    return [(a, min(a + rows, n)) for a in range(0, n, rows)]


def raw_blocks(
    src: Source, client: Any, tracker: Any, block_rows: int | None, workers: list[str]
) -> tuple[list, list]:
    """(futures of the raw row blocks, their row counts), empty blocks left out; numpy block i
    is scattered to ``workers[i % len(workers)]``.

    Scattered numpy blocks are the run's own (``tracker.scattered``: dropped with the run, a
    lost one restarts the run; data, not tasks, so progress does not count them)."""
    n = src.shape[0]
    auto = auto_block_rows(n, sum(client.nthreads().values()))
    if src.kind == "dask":
        x = src.obj
        if x.numblocks[1] > 1:
            x = x.rechunk({1: -1})
        if block_rows is not None:
            x = x.rechunk({0: block_rows})
        elif x.numblocks[0] > max(MAX_DASK_BLOCKS, 4 * math.ceil(n / auto)):
            # tiny row chunks (one per sample, from da.stack): the passes' tasks grow with
            # the square of the blocks, so they are joined into the automatic size
            x = x.rechunk({0: auto})
        sizes = [int(c) for c in x.chunks[0]]
        delayed = list(x.to_delayed().ravel())
        futures = client.compute(delayed)
        kept = [(f, s) for f, s in zip(futures, sizes) if s > 0]
        return [f for f, _ in kept], [s for _, s in kept]
    rows = block_rows or auto
    cuts = _cuts(n, rows)
    if src.kind == "memmap":
        path, offset = src.obj
        futures = [
            tracker.submit(
                _tasks.read_npy_rows,
                path,
                offset,
                src.shape,
                src.dtype.str,
                a,
                b,
                name="read",
                where=workers[i % len(workers)] if workers else None,
            )
            for i, (a, b) in enumerate(cuts)
        ]
        return futures, [b - a for a, b in cuts]
    x = src.obj
    futures = []
    for i, (a, b) in enumerate(cuts):
        where = [workers[i % len(workers)]] if workers else None
        futures.append(client.scatter(x[a:b], workers=where, hash=False))
        tracker.scattered.append(futures[-1])  # dropped with the run, even half-way
    return futures, [b - a for a, b in cuts]


# --------------------------------------------------------------------------- open_features


def _has_zarr_metadata(path: Path) -> bool:
    return path.is_dir() and any((path / m).exists() for m in ("zarr.json", ".zarray"))


def open_features(path: str | os.PathLike, *, block_rows: int | None = None) -> Any:
    """A lazy (N, d) dask array of the features stored at ``path``.

    * ``*.zarr`` (or a directory holding zarr metadata): ``dask.array.from_zarr``, chunked as
      stored (``block_rows`` rechunks the rows);
    * a ``.npy`` file: row blocks read on the workers (memory-mapped);
    * a directory of ``.npy`` files: the files' rows one after the other, in sorted file-name
      order (zero-pad numbered names: ``part-0002.npy`` sorts before ``part-0010.npy``); all
      files need the same width and dtype.

    Blocks: each .npy file is cut into blocks of ``block_rows`` rows (default: at most 65536
    rows, and at least 4 blocks for a single file). Nothing is read until the array is
    computed; the workers must see the same path.

    Raises FileNotFoundError for a missing path, ValueError for anything else it cannot open
    (a directory without .npy files or zarr metadata, a file of another kind).
    """
    import dask
    import dask.array as da

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file or directory: {p}")
    if p.suffix == ".zarr" or _has_zarr_metadata(p):
        if not _has_zarr_metadata(p):
            raise ValueError(f"{str(p)!r} holds no zarr array (no zarr.json or .zarray in it)")
        x = da.from_zarr(str(p))
        return x.rechunk({0: block_rows}) if block_rows else x
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix == ".npy" and f.is_file())
        if not files:
            raise ValueError(f"{str(p)!r} holds no .npy files (and is not a zarr store)")
    elif p.suffix == ".npy" and p.is_file():
        files = [p]
    else:
        raise ValueError(
            f"cannot open {str(p)!r}: expected a .zarr store, a .npy file or a directory of "
            ".npy files"
        )
    headers = [npy_header(f) for f in files]
    widths = {h[0][1] if len(h[0]) == 2 else None for h in headers}
    dtypes = {h[1] for h in headers}
    bad = [f.name for f, h in zip(files, headers) if len(h[0]) != 2]
    if bad:
        raise ValueError(f"{bad[0]} does not hold a 2-D array")
    if len(widths) > 1 or len(dtypes) > 1:
        raise ValueError(
            f"the .npy files of {str(p)!r} differ in width or dtype "
            f"(widths {sorted(widths)}, dtypes {sorted(map(str, dtypes))})"
        )
    d, dtype = headers[0][0][1], headers[0][1]
    parts = []
    for f, (shape, _) in zip(files, headers):
        n = shape[0]
        if n == 0:
            continue
        rows = block_rows or min(MAX_AUTO_ROWS, max(1, math.ceil(n / 4)) if len(files) == 1
                                 else MAX_AUTO_ROWS)  # fmt: skip
        stat = f.stat()
        for a, b in _cuts(n, rows):
            part = dask.delayed(_tasks.read_npy_file, pure=True)(
                str(f.resolve()), a, b, stat.st_mtime_ns, stat.st_size
            )
            parts.append(da.from_delayed(part, shape=(b - a, d), dtype=dtype))
    if not parts:
        raise ValueError(f"{str(p)!r} holds no rows")
    return parts[0] if len(parts) == 1 else da.concatenate(parts, axis=0)
