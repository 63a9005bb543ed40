"""Results are identical for any thread count, tile size, memory budget and run
(architecture.md: counts are integers and reductions order-independent)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _helpers import assert_exact, lattice, offset_data, with_repeats

import fastprdc
from fastprdc import primitives as P

THREADS = [1, 2]
TILES = [1, 5, 64, None]


def _datasets():
    rng = np.random.default_rng(2024)
    return {
        "offset128": (offset_data(rng, 150, 128), offset_data(rng, 130, 128, offset=50.05)),
        "lattice3": (lattice(rng, 160, 3), lattice(rng, 140, 3, shift=0.5)),
        "repeats16": (
            with_repeats(rng, rng.standard_normal((140, 16)), 30),
            with_repeats(rng, 0.2 + rng.standard_normal((120, 16)), 20),
        ),
    }


DATASETS = _datasets()


def _snapshot(real, fake, **run):
    """Everything the public API computes, as a flat dict of arrays/floats."""
    res = fastprdc.evaluate(real, fake, k=[1, 3, 5], sample_level=True, **run)
    snap = {}
    for family, metrics in res.scalars.items():
        for metric, per_k in metrics.items():
            for k, v in per_k.items():
                snap[f"{family}.{metric}.{k}"] = v
    for family, names in res.samples.items():
        for name, per_k in names.items():
            for k, arr in per_k.items():
                snap[f"{family}.{name}.{k}"] = arr
    d, i = P.knn(real, k=6, **run)
    snap["knn_self.dist"], snap["knn_self.idx"] = d, i
    d, i = P.knn(real, fake, k=4, **run)
    snap["knn_cross.dist"], snap["knn_cross.idx"] = d, i
    return snap


def _assert_same(a, b, label):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert_exact(b[key], a[key], f"{label} {key}")
        else:
            assert a[key] == b[key], f"{label} {key}: {a[key]!r} != {b[key]!r}"


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_threads_and_tiles(name):
    real, fake = DATASETS[name]
    reference = _snapshot(real, fake, device="numpy")
    for threads, tile in itertools.product(THREADS, TILES):
        got = _snapshot(real, fake, device="cpu", num_threads=threads, tile_rows=tile)
        _assert_same(reference, got, f"threads={threads} tile_rows={tile}")


@pytest.mark.parametrize("budget", ["64KiB", "1MB", "8GB"])
def test_memory_budget_does_not_change_results(budget):
    real, fake = DATASETS["offset128"]
    reference = _snapshot(real, fake, device="cpu")
    _assert_same(reference, _snapshot(real, fake, device="cpu", max_memory=budget), budget)


def test_repeated_runs_identical():
    real, fake = DATASETS["repeats16"]
    first = _snapshot(real, fake, device="cpu", num_threads=2)
    for _ in range(3):
        _assert_same(first, _snapshot(real, fake, device="cpu", num_threads=2), "repeat")
