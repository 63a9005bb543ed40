"""Results are identical for any thread count, tile size (down to one row, up to far beyond the
input), memory budget and run, on every fast backend (docs/metrics.md section 10: counts are
integers and reductions order-independent)."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_exact, lattice, offset_data, run_probe, with_repeats

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
def test_threads_and_tiles(name, fast_backend):
    real, fake = DATASETS[name]
    reference = _snapshot(real, fake, device="numpy")
    for threads, tile in itertools.product(THREADS, TILES):
        got = _snapshot(real, fake, device=fast_backend, num_threads=threads, tile_rows=tile)
        _assert_same(reference, got, f"threads={threads} tile_rows={tile}")


@pytest.mark.parametrize("budget", ["64KiB", "1MB", "8GB"])
def test_memory_budget_does_not_change_results(budget, fast_backend):
    """(two threads: the budget is shared by the threads' tiles, and 64 KiB must fit them)"""
    real, fake = DATASETS["offset128"]
    reference = _snapshot(real, fake, device=fast_backend)
    got = _snapshot(real, fake, device=fast_backend, max_memory=budget, num_threads=2)
    _assert_same(reference, got, budget)


def test_repeated_runs_identical(fast_backend):
    real, fake = DATASETS["repeats16"]
    first = _snapshot(real, fake, device=fast_backend, num_threads=2)
    for _ in range(3):
        again = _snapshot(real, fake, device=fast_backend, num_threads=2)
        _assert_same(first, again, "repeat")


HUGE_TILE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[3])  # the tests folder: _helpers
    import numpy as np
    from _helpers import assert_results_equal, assert_tree_same, quiet
    import fastprdc
    from fastprdc import primitives as P

    tile, device = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(0)
    R = rng.random((50, 4)); F = rng.random((37, 4))
    R32 = R.astype(np.float32); F32 = F.astype(np.float32)
    kw = dict(device=device)
    big = dict(device=device, tile_rows=tile)
    radii = P.kth_radii(R, 3, **kw)
    for X, Y, tag in ((R, F, "f64"), (R32, F32, "f32")):
        assert_tree_same(P.knn(X, k=3, **big), P.knn(X, k=3, **kw), f"{tag} knn self")
        assert_tree_same(P.knn(Y, X, k=3, **big), P.knn(Y, X, k=3, **kw), f"{tag} knn cross")
        assert_tree_same(P.kth_radii(X, [1, 3], **big), P.kth_radii(X, [1, 3], **kw),
                         f"{tag} radii")
        for b in ("inclusive", "strict"):
            assert_tree_same(P.ball_membership(Y, X, radii, boundary=b, realism=True, **big),
                             P.ball_membership(Y, X, radii, boundary=b, realism=True, **kw),
                             f"{tag} ball {b}")
        opts = dict(k=[1, 3], metrics="all", sample_level=True)
        assert_results_equal(quiet(fastprdc.evaluate, X, Y, **opts, **big),
                             quiet(fastprdc.evaluate, X, Y, **opts, **kw), f"{tag} evaluate")
    print(json.dumps({"ok": True}))
    """
)


@pytest.mark.parametrize("tile", [300_000, 10**8])
def test_huge_tile_rows_no_crash_same_result(tile, backend):
    """tile_rows far beyond the input changes nothing. In a subprocess: the native core
    aborted once ("terminate called recursively"), which would kill the test session."""
    tests_dir = Path(__file__).parent
    assert run_probe(HUGE_TILE_SCRIPT, tile, backend, tests_dir, timeout=120)["ok"]
