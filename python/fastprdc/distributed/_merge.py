"""Exact merges of partial results (numpy only; no Dask import).

Every partial result of a block-pair task covers the rows of one block against the rows of
another. Merging the partials of one row block over all the other blocks gives the result of
the whole set, bit for bit, and in any order:

* neighbour lists: the k smallest (distance, global index) pairs, lexicographically (the
  single-machine rule: sorted by distance, ties broken by the lower index). The key is a total
  order (indices are unique within a row), so the merged list does not depend on how the
  candidates were split or in which order they are merged;
* counts: integer sums;
* smallest containing radius: min (+inf when no ball holds the point);
* realism: the largest value, equal values resolved to the lower global index; NaN (with
  index -1) means "no kept ball in this block" and loses to any number.

One function per rule; :func:`merge_parts` applies them by field name to dicts of arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["merge_max_argmax", "merge_parts", "merge_topk"]


def merge_topk(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest (distance, index) pairs per row of several (dist, idx) lists.

    Each part is ((n, k_i) float64, (n, k_i) int64); the lists need not be sorted and may have
    different depths. Returns ((n, min(k, sum k_i)) float64, int64), sorted by (dist, idx).
    """
    if not parts:
        raise ValueError("merge_topk needs at least one part")
    dist = np.concatenate([np.asarray(p[0], dtype=np.float64) for p in parts], axis=1)
    idx = np.concatenate([np.asarray(p[1], dtype=np.int64) for p in parts], axis=1)
    depth = min(int(k), dist.shape[1])
    if dist.shape[1] == 0 or dist.shape[0] == 0:
        return (
            np.ascontiguousarray(dist[:, :depth]),
            np.ascontiguousarray(idx[:, :depth]),
        )
    order = np.lexsort((idx, dist), axis=-1)[:, :depth]  # primary key: the last one (dist)
    return (
        np.ascontiguousarray(np.take_along_axis(dist, order, axis=1)),
        np.ascontiguousarray(np.take_along_axis(idx, order, axis=1)),
    )


def merge_max_argmax(
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Per entry the largest value and its index over several (value, index) arrays.

    Equal values keep the lower index; NaN (no candidate, index -1) loses to every number.
    """
    if not parts:
        raise ValueError("merge_max_argmax needs at least one part")
    value = np.array(parts[0][0], dtype=np.float64, copy=True)
    index = np.array(parts[0][1], dtype=np.int64, copy=True)
    for v, i in parts[1:]:
        v = np.asarray(v, dtype=np.float64)
        i = np.asarray(i, dtype=np.int64)
        take = (v > value) | ((v == value) & (i < index)) | (np.isnan(value) & ~np.isnan(v))
        value = np.where(take, v, value)
        index = np.where(take, i, index)
    return np.ascontiguousarray(value), np.ascontiguousarray(index)


#: Neighbour-list fields: (distance field, index field).
_KNN_PAIRS = {"a_knn_dist": "a_knn_idx", "b_knn_dist": "b_knn_idx", "knn_dist": "knn_idx"}
_REALISM = ("b_realism", "b_realism_idx")


def merge_parts(parts: Sequence[Mapping[str, object]], depths: Mapping[str, int]) -> dict:
    """Merge dicts of partial arrays field by field (every part has the same fields).

    ``*_count`` and ``n_rechecked`` are summed, ``*_min_radius`` take the min, the neighbour
    lists (``*knn_dist`` / ``*knn_idx``) the top-k merge at ``depths[dist field]``, the realism
    pair (``b_realism`` / ``b_realism_idx``) the max with the lower-index tie rule. Any other
    field is an error.
    """
    if len(parts) == 1:
        return dict(parts[0])
    out: dict = {}
    names = list(parts[0])
    done: set[str] = set()
    for name in names:
        if name in done:
            continue
        if name in _KNN_PAIRS:
            other = _KNN_PAIRS[name]
            out[name], out[other] = merge_topk(
                [(p[name], p[other]) for p in parts],  # type: ignore[misc]
                depths[name],
            )
            done |= {name, other}
        elif name == _REALISM[0]:
            out[name], out[_REALISM[1]] = merge_max_argmax(
                [(p[_REALISM[0]], p[_REALISM[1]]) for p in parts]  # type: ignore[misc]
            )
            done |= set(_REALISM)
        elif name == "n_rechecked":
            out[name] = sum(int(p[name]) for p in parts)  # type: ignore[call-overload]
            done.add(name)
        elif name.endswith("_count"):
            total = np.array(parts[0][name], dtype=np.int64, copy=True)
            for p in parts[1:]:
                total += np.asarray(p[name], dtype=np.int64)
            out[name] = total
            done.add(name)
        elif name.endswith("_min_radius"):
            out[name] = np.minimum.reduce([np.asarray(p[name], dtype=np.float64) for p in parts])
            done.add(name)
        elif name in _KNN_PAIRS.values() or name == _REALISM[1]:
            continue  # merged with its partner field
        else:
            raise ValueError(f"no merge rule for field {name!r}")
    return out
