"""Packed panels (csrc/cpu/tile_engine.hpp): the CPU engine converts rows to centred float32 one
panel at a time instead of copying each input whole. Results are bit-identical to the float64
oracle (the numpy backend) and to the one-panel run, for any panel size.

Panels of 1, 7 and 64 rows are forced with the testing-only environment variable
``FASTPRDC_PANEL_ROWS`` (fastprdc/_backends/cpu.py); ``max_memory`` forces them through the
public API where a small budget is enough.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import lattice, offset_data, with_repeats

import fastprdc
from fastprdc import primitives as P
from fastprdc._backends import cpu as cpu_backend
from fastprdc._options import make_options

PANELS = [1, 7, 64]

# duplicates make entropies -inf, by design (the same warning for every backend)
pytestmark = pytest.mark.filterwarnings("ignore:pce_rce_re. zero k-th:RuntimeWarning")


def _datasets():
    rng = np.random.default_rng(808)
    return {
        # odd sizes, a large common offset (the frame's centring matters), float32
        "offset33": (offset_data(rng, 101, 33), offset_data(rng, 87, 33, offset=50.05)),
        # exact duplicates and distance ties
        "lattice3": (lattice(rng, 97, 3), lattice(rng, 83, 3, shift=0.5)),
        # float64 with repeated rows
        "repeats9_f64": (
            with_repeats(rng, rng.standard_normal((89, 9)), 15),
            with_repeats(rng, 0.3 + rng.standard_normal((79, 9)), 11),
        ),
    }


DATASETS = _datasets()


def _snapshot(real, fake, **run):
    """Every output of the public API that goes through the tile engine, flattened."""
    res = fastprdc.evaluate(real, fake, k=[1, 3, 5], metrics="all", sample_level=True, **run)
    snap = {}
    for family, metrics in res.scalars.items():
        for metric, per_k in metrics.items():
            for k, v in per_k.items():
                snap[f"{family}.{metric}.{k}"] = v
    for family, names in res.samples.items():
        for name, per_k in names.items():
            for k, arr in per_k.items():
                snap[f"{family}.{name}.{k}"] = arr
    snap["knn_self"] = P.knn(real, k=6, **run)
    snap["knn_cross"] = P.knn(real, fake, k=4, **run)
    snap["kth_radii"] = P.kth_radii(fake, k=[2, 5], **run)
    radii = P.kth_radii(real, k=[1, 4], device="numpy")
    r2 = np.stack([radii[1], radii[4]], axis=1)
    for boundary in ("inclusive", "strict"):
        balls = P.ball_membership(fake, real, r2, boundary=boundary, realism=True, **run)
        for name, arr in balls.items():
            snap[f"balls.{boundary}.{name}"] = arr
    return snap


def _same(a, b, label):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), label
        for key in a:
            _same(a[key], b[key], f"{label}.{key}")
    elif isinstance(a, tuple):
        assert len(a) == len(b), label
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{label}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape and a.dtype == b.dtype, label
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (
            f"{label}: {int(np.sum(a != b))} of {a.size} entries differ"
        )
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), f"{label}: {b!r} is not NaN"
    else:
        assert a == b, f"{label}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def references():
    """Per data set: the numpy oracle's snapshot and the default (one-panel) CPU snapshot."""
    out = {}
    for name, (real, fake) in DATASETS.items():
        oracle = _snapshot(real, fake, device="numpy")
        one_panel = _snapshot(real, fake, device="cpu")
        _same(oracle, one_panel, f"{name} one panel vs numpy")
        out[name] = oracle
    return out


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("panel", PANELS)
def test_panel_sizes_are_exact(references, monkeypatch, name, panel):
    monkeypatch.setenv(cpu_backend.PANEL_ROWS_ENV, str(panel))
    real, fake = DATASETS[name]
    got = _snapshot(real, fake, device="cpu", num_threads=2)
    _same(references[name], got, f"{name} panel_rows={panel}")


@pytest.mark.parametrize(("panel", "tile"), [(64, 16), (7, 3), (20, 7)])
def test_several_tiles_per_panel(references, monkeypatch, panel, tile):
    """Panels holding several tiles (panel rows rounded down to a multiple of the tile rows)."""
    monkeypatch.setenv(cpu_backend.PANEL_ROWS_ENV, str(panel))
    real, fake = DATASETS["offset33"]
    got = _snapshot(real, fake, device="cpu", num_threads=2, tile_rows=tile)
    _same(references["offset33"], got, f"panel_rows={panel} tile_rows={tile}")


def test_max_memory_forces_panels(references):
    """Through the public API only: a 24 KiB budget gives panels of a few dozen rows."""
    real, fake = DATASETS["offset33"]
    opts = make_options(max_memory="24KiB", num_threads=2)
    tile, panel = cpu_backend.tiling_for(opts, real.shape[1])
    assert 0 < panel < fake.shape[0] < real.shape[0], (tile, panel)
    got = _snapshot(real, fake, device="cpu", num_threads=2, max_memory="24KiB")
    _same(references["offset33"], got, "max_memory=24KiB")


def test_tiling_budget_split():
    """Tiles + two panels fit the budget when it allows one tile row; the default is one panel."""
    for budget, cols in [(64 << 20, 256), (64 << 20, 32768), (1 << 20, 128), (8 << 30, 2048)]:
        opts = make_options(max_memory=budget, num_threads=2)
        tile, panel = cpu_backend.tiling_for(opts, cols)
        assert 16 <= tile <= 512 and panel >= tile
        assert 2 * 4 * 2 * tile * tile + 2 * 4 * panel * cols <= budget, (budget, cols, tile, panel)
    assert cpu_backend.tiling_for(make_options(), 256) == (512, 0)


def test_progress_counts_every_panel_tile(monkeypatch):
    """With many panels the progress total covers every tile of every panel pair."""
    monkeypatch.setenv(cpu_backend.PANEL_ROWS_ENV, "10")
    real, _ = DATASETS["offset33"]
    calls = []
    P.knn(real, k=3, device="cpu", tile_rows=5, progress=lambda d, t: calls.append((d, t)))
    blocks = -(-real.shape[0] // 5)  # 21 blocks of 5 rows; panels of 10 rows hold 2 blocks
    assert calls[-1] == (blocks * (blocks + 1) // 2,) * 2
    assert all(d <= t for d, t in calls)
