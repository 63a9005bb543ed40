"""The functions that run on the workers (numpy only; no Dask import).

Each task holds at most two row blocks and its partial outputs. The backend is resolved on the
worker, inside the task (``device="auto"`` gives ``cpu`` for host blocks). Neighbour indices
are returned as global rows (block offset added), so partial results merge without context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._backends import backend_label, resolve_device
from .._means import max_abs, mean_shift
from .._options import RunOptions
from .._validation import _as_array, _finalize, _target_dtype

__all__ = [
    "BlockError",
    "backend_name",
    "block_error",
    "block_target",
    "centre_distances",
    "cross_pair",
    "knn_pair",
    "knn_rows",
    "max_abs",
    "mean_finish",
    "mean_shift",
    "mean_step",
    "prepare_block",
    "read_npy_file",
    "read_npy_rows",
    "self_diag",
    "self_pair",
    "take_rows",
]

_ROW = re.compile(r"(first bad row: )(\d+)")


def _global_rows(exc: ValueError, offset: int) -> ValueError:
    """The same error with "first bad row: r" counted in the whole set, not the block."""
    text = _ROW.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + offset}", str(exc))
    return ValueError(text)


def backend(device: str) -> Any:
    """The backend of this worker for ``device`` (``"auto"``: host blocks -> cpu; ``"cuda"``:
    on the worker's current GPU)."""
    return resolve_device(device)


def backend_name(device: str) -> str:
    return backend_label(backend(device))


# --------------------------------------------------------------------------- inputs


def read_npy_rows(
    path: str, offset: int, shape: tuple[int, int], dtype: str, start: int, stop: int
) -> np.ndarray:
    """Rows [start, stop) of a C-ordered (n, d) array stored raw at byte ``offset`` of ``path``
    (a .npy file or the file behind a memmap), read on the worker."""
    d = shape[1]
    dt = np.dtype(dtype)
    try:
        mm = np.memmap(
            path, dtype=dt, mode="r", offset=offset + start * d * dt.itemsize,
            shape=(stop - start, d),
        )  # fmt: skip
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"a worker cannot open {path!r}: memmaps and .npy files are read on the workers, "
            "which must see the same path (pass a numpy array to have it scattered instead)"
        ) from exc
    out = np.array(mm)
    del mm
    return out


def read_npy_file(path: str, start: int, stop: int, mtime_ns: int = 0, size: int = 0) -> np.ndarray:
    """Rows [start, stop) of a .npy file, memory-mapped on the worker (``mtime_ns`` and
    ``size`` only make the task key change with the file)."""
    try:
        mm = np.load(path, mmap_mode="r")
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"a worker cannot open {path!r}: .npy inputs are read on the workers, which must "
            "see the same path"
        ) from exc
    out = np.array(mm[start:stop])
    del mm
    return out


@dataclass(frozen=True)
class BlockError:
    """A block's validation error, returned by its task rather than raised: a bad input is the
    caller's error, raised on the driver, not a failed task that each worker logs."""

    message: str


def block_target(raw: Any, name: str, offset: int) -> str | BlockError:
    """The float dtype this block needs on its own (``_validation._target_dtype``)."""
    try:
        return np.dtype(_target_dtype(_as_array(raw, name), name)).name
    except ValueError as exc:
        return BlockError(str(_global_rows(exc, offset)))


def prepare_block(raw: Any, dtype: str, name: str, offset: int) -> np.ndarray | BlockError:
    """The validated block: ``dtype``, C-contiguous, finite and within the magnitude limit
    (``_validation._finalize``; error rows counted in the whole set)."""
    try:
        return _finalize(_as_array(raw, name), np.dtype(dtype).type, name)
    except ValueError as exc:
        return BlockError(str(_global_rows(exc, offset)))


def block_error(block: Any) -> BlockError | None:
    """The error of a :func:`prepare_block` result, None for a validated block (so that the
    driver checks the blocks without gathering them)."""
    return block if isinstance(block, BlockError) else None


def take_rows(block: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(block[rows])


# --------------------------------------------------------------------------- means


def mean_step(acc: np.ndarray | None, block: np.ndarray, tops: list[float], n: int) -> np.ndarray:
    """The running float64 row sum after this block, rows added in order.

    numpy's axis-0 sum of a C-contiguous (n, d >= 2) array adds the rows one after the other
    starting from the first row, so ``sum([acc; rows])`` continues the single-machine sum
    exactly (tests/test_distributed.py checks it against ``_means.float64_mean``)."""
    shift = mean_shift(max(tops), n)
    step = 4096  # rows converted to float64 at once
    for a in range(0, block.shape[0], step):
        rows = np.asarray(block[a : a + step], dtype=np.float64)
        if shift:
            rows = rows * 2.0**-shift
        if acc is not None:
            rows = np.concatenate([acc[None, :], rows], axis=0)
        acc = np.sum(rows, axis=0)
    assert acc is not None
    return acc


def mean_finish(acc: np.ndarray, tops: list[float], n: int) -> np.ndarray:
    """The mean from the full row sum, as ``np.mean`` divides (then scaled back)."""
    shift = mean_shift(max(tops), n)
    mean = acc / n
    return mean * 2.0**shift if shift else mean


def centre_distances(
    block: np.ndarray, centre: np.ndarray, device: str, opts: RunOptions
) -> np.ndarray:
    """Oracle distances from the block's rows to ``centre`` ((rows,) float64)."""
    c = np.asarray(centre, dtype=np.float64).reshape(1, -1)
    return np.ascontiguousarray(backend(device).pairwise_distances(block, c, opts)[:, 0])


# --------------------------------------------------------------------------- neighbours


def _knn_part(dist: np.ndarray, idx: np.ndarray, offset: int) -> dict:
    return {"knn_dist": np.ascontiguousarray(dist), "knn_idx": idx + np.int64(offset)}


def self_diag(block: np.ndarray, depth: int, offset: int, device: str, opts: RunOptions) -> dict:
    """Self-kNN of one block (self excluded by position) at min(depth, rows - 1)."""
    res = backend(device).knn(block, None, min(depth, block.shape[0] - 1), opts)
    return {**_knn_part(res.dist, res.idx, offset), "n_rechecked": int(res.n_rechecked)}


def self_pair(
    X: np.ndarray,
    Y: np.ndarray,
    depth: int,
    off_x: int,
    off_y: int,
    device: str,
    opts: RunOptions,
) -> tuple[dict, dict]:
    """Both directions of an off-diagonal block pair of one set from one cross sweep:
    (nearest rows of Y for X's rows, nearest rows of X for Y's rows)."""
    res = backend(device).cross_pass(
        X, Y, None, None, False, min(depth, Y.shape[0]), min(depth, X.shape[0]), opts
    )
    part_x = {**_knn_part(res.a_knn_dist, res.a_knn_idx, off_y), "n_rechecked": res.n_rechecked}
    part_y = {**_knn_part(res.b_knn_dist, res.b_knn_idx, off_x), "n_rechecked": 0}
    return part_x, part_y


def knn_pair(
    X: np.ndarray, Y: np.ndarray, depth: int, off_y: int, device: str, opts: RunOptions
) -> dict:
    """Nearest rows of block Y for every row of block X at min(depth, rows of Y)."""
    res = backend(device).knn(X, Y, min(depth, Y.shape[0]), opts)
    return {**_knn_part(res.dist, res.idx, off_y), "n_rechecked": int(res.n_rechecked)}


def knn_rows(
    queries: list[np.ndarray], Y: np.ndarray, depth: int, off_y: int, device: str, opts: RunOptions
) -> dict:
    """:func:`knn_pair` for query rows gathered from several blocks (in order)."""
    Q = queries[0] if len(queries) == 1 else np.concatenate(queries, axis=0)
    return knn_pair(np.ascontiguousarray(Q), Y, depth, off_y, device, opts)


def cross_pair(
    A: np.ndarray,
    B: np.ndarray,
    radii_a: np.ndarray | None,
    radii_b: np.ndarray | None,
    realism_radii: np.ndarray | None,
    realism_eps: float | None,
    strict: bool,
    knn_a: int,
    knn_b: int,
    off_a: int,
    off_b: int,
    device: str,
    opts: RunOptions,
) -> tuple[dict, dict]:
    """The cross pass of one (A block, B block) pair, split into its A-side and B-side partials
    (indices global; realism indices of blocks without a kept ball stay -1)."""
    extra: dict[str, Any] = {}
    if realism_radii is not None:
        extra = {"realism_radii": realism_radii, "realism_eps": realism_eps}
    res = backend(device).cross_pass(
        A, B, radii_a, radii_b, strict, min(knn_a, B.shape[0]), min(knn_b, A.shape[0]),
        replace(opts, progress=None), **extra,
    )  # fmt: skip
    a_side = {
        "a_ball_count": res.a_ball_count,
        "a_count": res.a_count,
        "a_min_radius": res.a_min_radius,
        "a_knn_dist": res.a_knn_dist,
        "a_knn_idx": res.a_knn_idx + np.int64(off_b),
        "n_rechecked": int(res.n_rechecked),
    }
    ridx = res.b_realism_idx
    b_side = {
        "b_count": res.b_count,
        "b_min_radius": res.b_min_radius,
        "b_ball_count": res.b_ball_count,
        "b_knn_dist": res.b_knn_dist,
        "b_knn_idx": res.b_knn_idx + np.int64(off_a),
        "b_realism": res.b_realism,
        "b_realism_idx": np.where(ridx >= 0, ridx + np.int64(off_a), ridx),
        "n_rechecked": 0,
    }
    return a_side, b_side
