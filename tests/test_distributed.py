"""fastprdc.distributed (issue 8): the same results as a single-machine run, bit for bit, on a
Dask LocalCluster of 2 worker processes (1 thread each), for every family, several chunkings,
every input kind (dask, numpy, memmap, zarr, a directory of .npy files), labels, and a worker
killed during the cross pass.

Skipped (with the reason) when dask / distributed / zarr are not installed, unless
FASTPRDC_REQUIRE_DISTRIBUTED=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from _helpers import REFERENCE_DIR, load_reference, make_pair

import fastprdc
from fastprdc import _engine
from fastprdc import primitives as P

try:
    import dask.array as da
    import distributed  # noqa: F401
    import zarr
except ImportError as exc:  # pragma: no cover - depends on the environment
    if os.environ.get("FASTPRDC_REQUIRE_DISTRIBUTED") == "1":
        raise
    pytest.skip(
        f"the 'distributed' extra is not installed ({exc}); "
        "pip install 'fastprdc[distributed]' to run these tests",
        allow_module_level=True,
    )

from fastprdc import distributed as D
from fastprdc.distributed import _merge, _tasks

pytestmark = pytest.mark.filterwarnings(
    # per-family warnings (duplicates in pce_rce_re...) are the same in both runs
    "ignore::RuntimeWarning",
)

ALL_K = [1, 3, 5]
PARAMS = {
    "realism_score": {"prune": 0.5},
    "precision_recall_cover": {"C": 2},
    "alpha_precision_beta_recall": {"n_alphas": 11},
}
_VOLATILE = {"seconds", "timings", "n_rechecked", "distributed"}


# --------------------------------------------------------------------------- helpers


def assert_same(got, exp, path="result"):
    """Identical nested results: same keys, same types, arrays with the same dtype, shape and
    bytes (NaN == NaN, -0.0 != 0.0); run-dependent info (times, recheck counts) left out."""
    if isinstance(exp, dict):
        assert isinstance(got, dict), path
        keys = set(exp) - _VOLATILE
        assert set(got) - _VOLATILE == keys, (path, set(got) ^ set(exp))
        for key in keys:
            assert_same(got[key], exp[key], f"{path}[{key!r}]")
    elif isinstance(exp, (list, tuple)):
        assert type(got) is type(exp) and len(got) == len(exp), path
        for i, (g, e) in enumerate(zip(got, exp)):
            assert_same(g, e, f"{path}[{i}]")
    elif isinstance(exp, np.ndarray):
        assert isinstance(got, np.ndarray), path
        assert got.dtype == exp.dtype and got.shape == exp.shape, (path, got.dtype, exp.dtype)
        if got.tobytes() != exp.tobytes():
            bad = np.argwhere(~((got == exp) | (np.isnan(got) & np.isnan(exp))))
            raise AssertionError(f"{path}: {len(bad)} entries differ, first at {bad[:1]}")
    elif isinstance(exp, float) and exp != exp:
        assert isinstance(got, float) and got != got, (path, got)
    else:
        assert type(got) is type(exp) and got == exp, (path, got, exp)


def assert_same_result(got, exp):
    assert_same(got.scalars, exp.scalars, "scalars")
    assert_same(got.curves, exp.curves, "curves")
    assert_same(got.samples, exp.samples, "samples")
    assert_same(got.per_class, exp.per_class, "per_class")
    assert_same(got.info, exp.info, "info")


def chunked(x, rows):
    return da.from_array(x, chunks=(rows, -1))


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 worker processes with 1 thread each (the default client)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def inproc():
    """A LocalCluster of 2 in-process workers (their log records reach this process), on a
    client that is not the default one (runs get ``client=``)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    c = Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


@contextlib.contextmanager
def dask_log(caplog):
    """caplog also records the ``distributed`` loggers (they do not propagate to the root)."""
    logger = logging.getLogger("distributed")
    logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)


# --------------------------------------------------------------------------- merges (no cluster)


def test_merge_topk_equals_sort_in_any_split_and_order():
    rng = np.random.default_rng(1)
    n, total, k = 50, 40, 7
    dist = rng.integers(0, 4, size=(n, total)).astype(np.float64)  # many exact ties
    idx = np.stack([rng.permutation(total) for _ in range(n)]) + 1000
    order = np.lexsort((idx, dist), axis=-1)[:, :k]
    expected = (np.take_along_axis(dist, order, 1), np.take_along_axis(idx, order, 1))
    for trial in range(5):
        cuts = np.sort(rng.choice(np.arange(1, total), size=trial + 1, replace=False))
        parts = [(d, i) for d, i in zip(np.split(dist, cuts, 1), np.split(idx, cuts, 1))]
        parts = [_merge.merge_topk([p], k) for p in parts]  # sorted partial lists
        rng.shuffle(parts)
        got = _merge.merge_topk(parts, k)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
        # merging in a tree of pairs gives the same
        while len(parts) > 1:
            parts = [_merge.merge_topk(parts[i : i + 2], k) for i in range(0, len(parts), 2)]
        np.testing.assert_array_equal(parts[0][1], expected[1])


def test_merge_max_argmax_lower_index_and_nan():
    values = np.array([[np.nan, 2.0, 2.0, np.inf], [np.nan, np.nan, 1.0, np.inf]])
    index = np.array([[-1, 7, 3, 9], [-1, -1, 4, 2]])
    parts = [(values[:, [c]], index[:, [c]]) for c in range(4)]
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2]):
        v, i = _merge.merge_max_argmax([parts[c] for c in order])
        assert v[:, 0].tolist() == [np.inf, np.inf] and i[:, 0].tolist() == [9, 2]
    v, i = _merge.merge_max_argmax(parts[:3])
    assert v[:, 0].tolist() == [2.0, 1.0] and i[:, 0].tolist() == [3, 4]
    v, i = _merge.merge_max_argmax(parts[:1])
    assert np.isnan(v[0, 0]) and i[0, 0] == -1


def test_merge_parts_sums_and_mins():
    a = {"a_count": np.array([[1], [2]]), "a_min_radius": np.array([[np.inf], [1.0]]),
         "n_rechecked": 3}  # fmt: skip
    b = {"a_count": np.array([[4], [0]]), "a_min_radius": np.array([[2.0], [0.5]]),
         "n_rechecked": 1}  # fmt: skip
    out = _merge.merge_parts([a, b], {})
    assert out["a_count"].tolist() == [[5], [2]] and out["a_count"].dtype == np.int64
    assert out["a_min_radius"].tolist() == [[2.0], [0.5]] and out["n_rechecked"] == 4
    with pytest.raises(ValueError, match="no merge rule"):
        _merge.merge_parts([{"x": 1}, {"x": 2}], {})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [2, 3, 17])
def test_mean_chain_is_numpy_mean_bit_for_bit(dtype, d):
    """The chain of running row sums (any block sizes) equals _engine.float64_mean: numpy's
    axis-0 mean of a C-contiguous array adds the rows in order."""
    rng = np.random.default_rng(d)
    n = 5003
    X = (rng.standard_normal((n, d)) * np.exp(rng.uniform(-30, 30, (n, d)))).astype(dtype)
    X[:, 0] = -0.0  # numpy's sum keeps the sign of an all -0.0 column
    guarded = np.mean(np.asarray(X, dtype=np.float64) * 2.0**-13, axis=0) * 2.0**13
    for top, expected in ((1.0, _engine.float64_mean(X)), (1e304, guarded)):
        for rows in (1, 7, 4096, 5003):
            acc = None
            for a in range(0, n, rows):
                acc = _tasks.mean_step(acc, X[a : a + rows], [top], n)
            got = _tasks.mean_finish(acc, [top], n)
            assert got.tobytes() == expected.tobytes(), (top, rows)


# --------------------------------------------------------------------------- equality


@pytest.mark.parametrize("case", ["pub_gauss8", "pub_lattice3"])
def test_reference_cases_all_families(client, case):
    real, fake, _ = load_reference(case)
    exp = fastprdc.evaluate(real, fake, metrics="all", k=ALL_K, sample_level=True)
    # pub_gauss8: uneven blocks, the last one short; pub_lattice3: one block per set
    rows = (70, 90) if case == "pub_gauss8" else (real.shape[0], fake.shape[0])
    got = fastprdc.evaluate(
        chunked(real, rows[0]), chunked(fake, rows[1]), metrics="all", k=ALL_K, sample_level=True
    )
    assert_same_result(got, exp)
    assert got.info["distributed"]["n_workers"] == 2


def test_reference_modes16_labels_params_strict(client):
    real, fake, _ = load_reference("pub_modes16")
    rl = np.load(REFERENCE_DIR / "pub_modes16_real_labels.npy")
    fl = np.load(REFERENCE_DIR / "pub_modes16_fake_labels.npy")
    kwargs = {"metrics": "all", "k": [2, 4], "params": PARAMS, "boundary": "strict",
              "sample_level": True, "real_labels": rl, "fake_labels": fl}  # fmt: skip
    exp = fastprdc.evaluate(real, fake, **kwargs)
    got = D.evaluate(real, fake, client=client, block_rows=150, **kwargs)  # numpy: scattered
    assert got.info["distributed"]["blocks"] == [4, 3]
    assert_same_result(got, exp)
    assert got.per_class["evaluated"] == [0, 1, 2, 3]


ADVERSARIAL = [  # kind, dtype, boundary, (real rows, fake rows) per block
    ("gauss", np.float32, "inclusive", (7, 13)),
    ("lattice", np.float64, "strict", (7, 13)),
    ("repeats", np.float32, "strict", (16, 11)),
    ("offset", np.float64, "inclusive", (45, 13)),
]


@pytest.mark.parametrize(("kind", "dtype", "boundary", "rows"), ADVERSARIAL)
def test_adversarial_all_families(client, kind, dtype, boundary, rows):
    rng = np.random.default_rng(len(kind))
    real, fake = make_pair(rng, kind, 45, 38, 5 if kind != "offset" else 64, dtype)
    kwargs = {"metrics": "all", "k": [1, 4], "boundary": boundary, "params": PARAMS,
              "sample_level": True}  # fmt: skip
    exp = fastprdc.evaluate(real, fake, **kwargs)
    got = fastprdc.evaluate(chunked(real, rows[0]), chunked(fake, rows[1]), **kwargs)
    assert_same_result(got, exp)


def test_one_row_blocks_and_authenticity_ties(client):
    """Every block a single row; a cube whose centre (a fake) has 8 exactly tied nearest reals,
    the first 4 of them duplicated (radius 0: their balls cannot hold it), so the cross pass's
    4-deep lists do not decide authenticity and the deeper follow-up tasks run."""
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], np.float32)
    real = np.concatenate([corners[:4], corners[:4], corners[4:]])
    fake = np.concatenate([np.full((1, 3), 0.5), corners[::2] + 0.25, corners[:2] - 1])
    fake = fake.astype(np.float32)
    kwargs = {"metrics": "all", "k": [1, 2], "sample_level": True}
    exp = fastprdc.evaluate(real, fake, **kwargs)
    # not authentic: a tied nearest real past the 4 duplicates holds the centre in its ball
    assert not exp.samples["alpha_precision_beta_recall"]["authentic"][None][0]
    got = fastprdc.evaluate(chunked(real, 1), chunked(fake, 1), **kwargs)
    assert_same_result(got, exp)


def test_width_one_and_huge_values(client):
    """Width 1 (numpy sums one column pairwise: the mean is taken on the driver) and values
    so large that float64_mean scales the rows before summing."""
    rng = np.random.default_rng(5)
    for real, fake in (
        (rng.standard_normal((40, 1)), rng.standard_normal((30, 1)) + 0.2),
        (rng.standard_normal((40, 3)) * 1e306, rng.standard_normal((30, 3)) * 1e306),
    ):
        kwargs = {"metrics": ["alpha_precision_beta_recall", "precision_recall"],
                  "sample_level": True}  # fmt: skip
        exp = fastprdc.evaluate(real, fake, **kwargs)
        assert_same_result(fastprdc.evaluate(chunked(real, 9), chunked(fake, 8), **kwargs), exp)


def test_integers_decide_the_dtype_per_block(client):
    """int64 inputs: float32 when every value fits 2^24, float64 as soon as one value of any
    block does not (decided from per-block facts, as _validation decides on the whole set)."""
    rng = np.random.default_rng(6)
    real = rng.integers(-5, 5, size=(30, 4))
    fake = rng.integers(-5, 5, size=(25, 4))
    fake[24, 2] = 2**25 + 1  # only the last block of fake holds it
    for f in (fake[:24], fake):
        exp = fastprdc.evaluate(real, f, k=2, sample_level=True)
        got = fastprdc.evaluate(chunked(real, 8), chunked(f, 6), k=2, sample_level=True)
        assert got.info["dtype"] == exp.info["dtype"]
        assert_same_result(got, exp)


def test_metric_functions_and_primitives(client):
    rng = np.random.default_rng(7)
    real, fake = make_pair(rng, "repeats", 50, 41, 6)
    dr, dfk = chunked(real, 12), chunked(fake, 9)
    assert_same(fastprdc.precision_recall(dr, dfk, k=[2, 3], sample_level=True),
                fastprdc.precision_recall(real, fake, k=[2, 3], sample_level=True))  # fmt: skip
    assert_same(  # k="auto" reads only the row count of a dask array
        fastprdc.precision_recall_cover(dr, dfk, k="auto", sample_level=True),
        fastprdc.precision_recall_cover(real, fake, k="auto", sample_level=True),
    )
    assert_same(P.knn(dr, k=4), P.knn(real, k=4))
    assert_same(P.knn(dr, dfk, k=5), P.knn(real, fake, k=5))
    assert_same(P.kth_radii(dr, [1, 3]), P.kth_radii(real, [1, 3]))
    radii = np.stack([P.kth_radii(real, 2), np.zeros(50)], axis=1)
    for kw in ({"boundary": "strict", "realism": True}, {"realism": True, "realism_eps": 0.0}):
        assert_same(P.ball_membership(dfk, dr, radii, **kw),
                    P.ball_membership(fake, real, radii, **kw))  # fmt: skip


# --------------------------------------------------------------------------- inputs


def test_memmap_zarr_and_npy_directory_inputs(client, tmp_path):
    rng = np.random.default_rng(8)
    real, fake = make_pair(rng, "lattice", 60, 47, 4)
    exp = fastprdc.evaluate(real, fake, metrics="all", k=3, sample_level=True)
    kwargs = {"metrics": "all", "k": 3, "sample_level": True}

    # memmaps: read by block on the workers (also a row slice of one)
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake_padded.npy", np.concatenate([fake[:5], fake, fake[:3]]))
    mm_real = np.load(tmp_path / "real.npy", mmap_mode="r")
    mm_fake = np.load(tmp_path / "fake_padded.npy", mmap_mode="r")[5:-3]
    got = D.evaluate(mm_real, mm_fake, block_rows=16, **kwargs)
    assert_same_result(got, exp)
    assert got.info["distributed"]["blocks"] == [4, 3]

    # zarr: a path and an array, chunked along both axes (the features are rechunked)
    zr = zarr.open_array(str(tmp_path / "real.zarr"), mode="w", shape=real.shape,
                         chunks=(17, 2), dtype=real.dtype)  # fmt: skip
    zr[:] = real
    zf = zarr.open_array(str(tmp_path / "fake.zarr"), mode="w", shape=fake.shape,
                         chunks=(20, 4), dtype=fake.dtype)  # fmt: skip
    zf[:] = fake
    got = D.evaluate(str(tmp_path / "real.zarr"), zf, block_rows=25, **kwargs)
    assert got.info["distributed"]["blocks"] == [3, 2]
    assert_same_result(got, exp)
    opened = D.open_features(tmp_path / "real.zarr")
    assert opened.chunks[0] == (17, 17, 17, 9)

    # a directory of .npy files, in sorted file-name order
    parts = tmp_path / "fake_parts"
    parts.mkdir()
    for i, (a, b) in enumerate(((0, 10), (10, 11), (11, 47))):
        np.save(parts / f"part-{i:03d}.npy", fake[a:b])
    opened = D.open_features(parts)
    assert opened.chunks[0] == (10, 1, 36)
    got = fastprdc.evaluate(D.open_features(tmp_path / "real.npy"), opened, **kwargs)
    assert_same_result(got, exp)

    # chunks of unknown size (a dask boolean mask) are measured first
    keep = np.arange(fake.shape[0]) % 5 != 2
    masked = chunked(fake, 10)[da.from_array(keep, chunks=10)]
    assert np.isnan(masked.chunks[0][0])
    assert_same_result(
        fastprdc.evaluate(real, masked, client=client, **kwargs),
        fastprdc.evaluate(real, fake[keep], **kwargs),
    )


def test_open_features_names_a_bad_file_of_a_directory(tmp_path):
    """A damaged or pickled .npy among a directory's files: the error names that file (read
    from its header, before any task runs)."""
    parts = tmp_path / "parts"
    parts.mkdir()
    np.save(parts / "part-0.npy", np.zeros((4, 3), np.float32))
    (parts / "part-1.npy").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"part-1\.npy: not a readable \.npy file"):
        D.open_features(parts)
    np.save(parts / "part-1.npy", np.array([[object()]] * 4, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"part-1\.npy: refusing to load pickled data"):
        D.open_features(parts)


def test_open_features_missing_path_and_empty_directories(tmp_path, monkeypatch):
    """A missing path is a FileNotFoundError naming it (whatever its suffix); an empty
    directory holds no .npy files; an empty .zarr directory holds no zarr array."""
    monkeypatch.chdir(tmp_path)
    for name in ("nope.npy", "nope.zarr", "nope"):
        with pytest.raises(FileNotFoundError, match=rf"^no such file or directory: {name}$"):
            D.open_features(name)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no arrays here")
    with pytest.raises(ValueError, match=r"^'empty' holds no \.npy files"):
        D.open_features("empty")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(ValueError, match=r"^'empty\.zarr' holds no zarr array"):
        D.open_features("empty.zarr")


def test_validation_errors_name_the_global_row(client):
    rng = np.random.default_rng(9)
    real = rng.standard_normal((30, 3))
    bad = real.copy()
    bad[23, 1] = np.nan
    with pytest.raises(ValueError) as single:
        fastprdc.evaluate(bad, real)
    with pytest.raises(ValueError) as dist:
        fastprdc.evaluate(chunked(bad, 7), chunked(real, 7))
    assert str(dist.value) == str(single.value) == "real contains NaN or inf (first bad row: 23)"
    with pytest.raises(ValueError, match="different widths"):
        fastprdc.evaluate(chunked(real, 7), chunked(real[:, :2], 7))
    with pytest.raises(ValueError, match="k=30 is too large"):
        fastprdc.evaluate(chunked(real, 7), chunked(real, 7), k=30)
    assert _no_keys_left(client)


def test_the_first_bad_row_is_the_single_machine_ones_whichever_block_fails_first(client):
    rng = np.random.default_rng(10)
    real, fake = rng.standard_normal((40, 3)), rng.standard_normal((30, 3))
    real[[5, 33]] = np.nan
    with pytest.raises(ValueError) as single:
        fastprdc.evaluate(real, fake)
    for _ in range(4):  # the blocks finish in any order
        with pytest.raises(ValueError) as dist:
            fastprdc.evaluate(chunked(real, 9), fake)
        assert str(dist.value) == str(single.value) == "real contains NaN or inf (first bad row: 5)"


def test_a_bad_block_is_a_value_error_on_the_driver_not_a_failed_task(inproc, caplog):
    """NaN in a block (prepare_block) or integers float64 cannot hold (block_target): the
    driver raises the single-machine ValueError, and no worker logs a failed task."""
    rng = np.random.default_rng(16)
    real = rng.standard_normal((30, 3))
    nan = real.copy()
    nan[17, 1] = np.nan
    big = rng.integers(-5, 5, size=(30, 3))
    big[22, 0] = 2**60 + 1
    with dask_log(caplog):
        for bad, row in ((nan, 17), (big, 22)):
            with pytest.raises(ValueError) as single:
                fastprdc.evaluate(real, bad)
            with pytest.raises(ValueError) as dist:
                fastprdc.evaluate(chunked(real, 10), chunked(bad, 10), client=inproc)
            assert str(dist.value) == str(single.value)
            assert str(dist.value).startswith("fake ") and f"(first bad row: {row})" in str(
                dist.value
            )
    failed = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failed, failed
    assert _no_keys_left(inproc)


def test_bad_block_rows_and_client_are_named(client):
    rng = np.random.default_rng(11)
    real, fake = rng.standard_normal((40, 3)), rng.standard_normal((30, 3))
    for bad in (0, -1, 2.5, "10", True):
        for r, f in ((real, fake), (chunked(real, 7), chunked(fake, 7))):
            with pytest.raises(ValueError, match="block_rows must be a positive int or None"):
                D.evaluate(r, f, block_rows=bad)
    bad_client = r"client must be a distributed.Client, got str .*Client\(address\)"
    with pytest.raises(ValueError, match=bad_client):
        fastprdc.evaluate(real, fake, client=client.scheduler.address)
    assert _no_keys_left(client)


def test_tiny_row_chunks_are_joined(client):
    """One row per chunk (da.stack of per-sample features): the passes' tasks would grow with
    the square of the chunks; they are joined into automatic blocks, with the same result."""
    rng = np.random.default_rng(12)
    real, fake = rng.standard_normal((150, 4)), rng.standard_normal((130, 4)) + 0.1
    got = fastprdc.evaluate(chunked(real, 1), chunked(fake, 1), metrics="all", sample_level=True)
    assert got.info["distributed"]["blocks"] == [2, 2]  # one per worker thread
    assert_same_result(got, fastprdc.evaluate(real, fake, metrics="all", sample_level=True))
    kept = fastprdc.evaluate(chunked(real, 50), chunked(fake, 50))
    assert kept.info["distributed"]["blocks"] == [3, 3]  # a few chunks: kept as they are


def test_a_copy_on_write_memmap_is_read_as_the_caller_sees_it(client, tmp_path):
    """mmap_mode="c": changes live in the caller's process only, so the workers must not read
    the file (they would see the old values)."""
    rng = np.random.default_rng(13)
    np.save(tmp_path / "real.npy", rng.standard_normal((60, 4)).astype(np.float32))
    fake = rng.standard_normal((50, 4)).astype(np.float32)
    real = np.load(tmp_path / "real.npy", mmap_mode="c")
    real *= 3.0
    got = fastprdc.evaluate(real, fake, client=client, sample_level=True)
    assert_same_result(got, fastprdc.evaluate(np.array(real), fake, sample_level=True))


def test_a_reference_with_a_dask_fake_set_is_refused(client, tmp_path):
    """A Reference evaluates on this machine (the distributed path would recompute the real
    side it stores): a dask fake set, or --workers with a reference file, is refused; a
    directory of .npy files as FAKE is read whole here."""
    rng = np.random.default_rng(14)
    real, fake = make_pair(rng, "gauss", 80, 60, 4)
    ref = fastprdc.Reference(real, metrics=["precision_recall"], k=3)
    with pytest.raises(ValueError, match="a Reference evaluates on this machine"):
        ref.evaluate(chunked(fake, 20))
    ref.save(tmp_path / "ref.npz", include_features=True)
    proc = subprocess.run(
        [sys.executable, "-m", "fastprdc", "eval", str(tmp_path / "ref.npz"),
         str(tmp_path / "ref.npz"), "--workers", "2", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "drop --workers / --scheduler" in proc.stderr, proc.stderr
    parts = tmp_path / "fake_parts"
    parts.mkdir()
    np.save(parts / "a.npy", fake[:25])
    np.save(parts / "b.npy", fake[25:])
    _cli("eval", tmp_path / "ref.npz", parts, "--quiet", "--json", tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert "distributed" not in data["info"]
    assert data["scalars"] == json.loads(ref.evaluate(fake).to_json())["scalars"]


def test_import_fastprdc_does_not_import_dask_and_no_client_is_a_clear_error():
    """... and a client= that is not the default client (none here) runs on that client, with
    and without a progress callback."""
    code = """
import sys, numpy as np, fastprdc
exp = fastprdc.evaluate(np.eye(5, 3), np.eye(6, 3) + 1, k=1)
assert not [m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")]
import dask.array as da
try:
    fastprdc.evaluate(da.eye(5, chunks=2), da.eye(5, chunks=2), k=1)
except ValueError as exc:
    assert "needs a Dask distributed client" in str(exc), exc
else:
    raise AssertionError("no error without a client")
from distributed import Client, LocalCluster
with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
    with Client(cluster, set_as_default=False) as client:
        for progress in (False, lambda done, total: None):
            got = fastprdc.evaluate(da.eye(5, 2, M=3), da.eye(6, 2, M=3) + 1, k=1,
                                    client=client, progress=progress)
            assert got.scalars == exp.scalars, (got.scalars, exp.scalars)
"""
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- progress, faults


def _no_keys_left(client, timeout=10.0):
    """Whether the cluster drops every task of fastprdc (cancelled or released) in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        keys = [k for ks in client.processing().values() for k in ks]
        keys += [k for ks in client.has_what().values() for k in ks]
        if not [k for k in keys if str(k).startswith("fastprdc-")]:
            return True
        time.sleep(0.05)
    return False


def test_progress_counts_tasks_and_interrupt_cancels(client):
    rng = np.random.default_rng(10)
    real, fake = rng.standard_normal((60, 8)), rng.standard_normal((50, 8))
    calls = []
    res = D.evaluate(
        real, fake, block_rows=10, progress=lambda done, total: calls.append((done, total))
    )
    # every task done at the end; the same count as info (the 11 scattered blocks are no tasks)
    assert calls and calls[-1][0] == calls[-1][1] == res.info["distributed"]["tasks"] > 20
    assert all(d <= t for d, t in calls)
    phases = []
    D.evaluate(real, fake, block_rows=10, progress=lambda d, t, phase: phases.append(phase))
    assert phases and set(phases) == {"dask tasks"}

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        D.evaluate(real, fake, block_rows=10, progress=interrupt)
    assert _no_keys_left(client)


@pytest.fixture(scope="module")
def kill_case():
    rng = np.random.default_rng(11)
    real, fake = make_pair(rng, "repeats", 1600, 1400, 768)
    kwargs = {"metrics": "all", "k": [3, 5], "sample_level": True}
    return real, fake, kwargs, fastprdc.evaluate(real, fake, **kwargs)


@pytest.mark.parametrize("inputs", ["memmap", "numpy"])
def test_killed_worker_during_cross_pass_gives_the_same_result(
    client, kill_case, inputs, tmp_path, caplog
):
    """SIGKILL one worker process while it runs a cross-pass task; the nanny restarts it and
    the result is the same, counts included (a count merged twice would change precision and
    density). Inputs read from files: Dask reruns the lost tasks only. Numpy inputs: when
    scattered blocks were on the dead worker (and nowhere else) the run starts again."""
    real, fake, kwargs, exp = kill_case
    if inputs == "memmap":
        np.save(tmp_path / "real.npy", real)
        np.save(tmp_path / "fake.npy", fake)
        real = np.load(tmp_path / "real.npy", mmap_mode="r")
        fake = np.load(tmp_path / "fake.npy", mmap_mode="r")
    pids = client.run(os.getpid)
    killed = []

    def killer():
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for worker, keys in client.processing().items():
                if any(str(k).startswith("fastprdc-cross") for k in keys) and worker in pids:
                    os.kill(pids[worker], signal.SIGKILL)
                    killed.append(worker)
                    return
            time.sleep(0.005)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    with caplog.at_level("WARNING", logger="fastprdc.distributed"):
        got = D.evaluate(real, fake, client=client, block_rows=400, **kwargs)
    thread.join()
    assert killed, "no cross-pass task was seen running"
    assert_same_result(got, exp)
    if inputs == "memmap":  # nothing scattered: Dask reran the lost tasks, no restart
        assert "restarting the run" not in caplog.text
    client.wait_for_workers(2, timeout=60)


# --------------------------------------------------------------------------- command line


def _cli(*args, timeout=300):
    proc = subprocess.run(
        [sys.executable, "-m", "fastprdc", *map(str, args)],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _scalars(path):
    import json

    return json.loads(path.read_text())["scalars"]


def test_cli_workers_scheduler_zarr_and_npy_directory(client, tmp_path):
    """`fastprdc eval` on a local cluster (--workers 2), on a running scheduler (--scheduler),
    and with a .zarr store and a directory of .npy files read lazily by block: the scalars of a
    plain single-machine run."""
    rng = np.random.default_rng(31)
    real, fake = make_pair(rng, "repeats", 90, 70, 5)
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake)
    common = ("--metrics", "all", "--k", "3", "--quiet")
    _cli(
        "eval", tmp_path / "real.npy", tmp_path / "fake.npy", *common, "--json", tmp_path / "a.json"
    )
    want = _scalars(tmp_path / "a.json")

    _cli("eval", tmp_path / "real.npy", tmp_path / "fake.npy", *common, "--workers", 2,
         "--json", tmp_path / "b.json")  # fmt: skip
    assert _scalars(tmp_path / "b.json") == want

    zr = zarr.open_array(str(tmp_path / "real.zarr"), mode="w", shape=real.shape,
                         chunks=(30, 5), dtype=real.dtype)  # fmt: skip
    zr[:] = real
    parts = tmp_path / "fake_parts"
    parts.mkdir()
    for i, (a, b) in enumerate(((0, 25), (25, 70))):
        np.save(parts / f"part-{i}.npy", fake[a:b])
    address = client.scheduler.address
    _cli("eval", tmp_path / "real.zarr", parts, *common, "--scheduler", address,
         "--json", tmp_path / "c.json")  # fmt: skip
    assert _scalars(tmp_path / "c.json") == want


def test_local_cluster_starts_beside_a_cluster_on_dasks_default_port():
    """Port 8787 taken (another cluster's dashboard): local_cluster still starts, without the
    warning (an error under this suite's filterwarnings) Dask gives when it moves the port."""
    import contextlib
    import socket

    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # already taken by something else: as good
            taken.bind(("0.0.0.0", 8787))
            taken.listen()
        with D.local_cluster(1, processes=False) as client:
            assert client.submit(sum, [1, 2]).result() == 3
