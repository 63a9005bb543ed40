"""Groups of identical rows from row hashes and a comparison, for the GPU engine: the device
hashes each row and compares candidate pairs (kernels ``hash_rows`` and ``compare_rows``, over
csrc/common/row_groups.hpp); this finds the groups from those, so that ids never rest on a hash.
The ids are the CPU engine's (csrc/cpu/duplicates.hpp): per row, the position of the first row
with the same values."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["group_ids"]


Same = Callable[[np.ndarray, np.ndarray], np.ndarray]


def group_ids(hashes: np.ndarray, same: Same) -> np.ndarray:
    """Per row, the lowest row holding the same values. ``same(x, y)`` says, for index arrays x
    and y, which rows x[q] and y[q] hold the same values. Rows are sorted by (hash, index); each
    row is compared with the first of its run of equal hashes, and rows that differ from it (a
    hash collision) form the runs of the next round, so a round settles at least one row per run."""
    n = len(hashes)
    ids = np.arange(n, dtype=np.int64)
    hashes = np.asarray(hashes, dtype=np.uint64)
    values = np.sort(hashes)  # distinct hashes, the usual case: done (a tenth of the stable sort)
    if not (values[1:] == values[:-1]).any():
        return ids
    pending = np.argsort(hashes, kind="stable")  # by (hash, index)
    key = hashes[pending]
    while len(pending) > 1:
        first = np.empty(len(pending), dtype=bool)
        first[0] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        head = np.maximum.accumulate(np.where(first, np.arange(len(pending)), 0))
        others = np.flatnonzero(~first)
        if not len(others):
            break
        rows, reps = pending[others], pending[head[others]]
        equal = np.asarray(same(rows, reps), dtype=bool)
        ids[rows[equal]] = reps[equal]
        rest = others[~equal]
        pending, key = pending[rest], key[rest]
    return ids
