"""fastprdc.compat.prdc against the installed prdc 0.2 (side by side) and the reference data."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from _helpers import brute_dist, brute_metrics, brute_radii

from fastprdc.compat import prdc as cp

from .conftest import gauss_pair, lattice_pair

KEYS = ["precision", "recall", "density", "coverage"]


def _assert_same_prdc(got, expected):
    assert list(got) == list(expected) == KEYS
    for key in KEYS:
        assert type(got[key]) is type(expected[key]) is np.float64, key
        assert got[key] == expected[key], f"{key}: {got[key]!r} != {expected[key]!r}"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_compute_prdc_equals_prdc_side_by_side(upstream_prdc, seed, k, capsys):
    rng = np.random.default_rng(seed)
    n, m, d = [(200, 170, 8), (120, 300, 16), (90, 90, 3), (257, 64, 32)][seed]
    real, fake = gauss_pair(rng, n, m, d, dtype=np.float32 if seed % 2 == 0 else np.float64)
    expected = upstream_prdc.compute_prdc(real, fake, k)
    upstream_out = capsys.readouterr()
    got = cp.compute_prdc(real, fake, k)
    out = capsys.readouterr()
    _assert_same_prdc(got, expected)
    assert out.out == upstream_out.out == f"Num real: {n} Num fake: {m}\n"
    assert out.err == ""


def test_compute_prdc_reference(ref_case, capsys):
    """prdc.k3 / prdc.k5 of the reference JSON (prdc 0.2 itself), and the float64 strict
    oracle (they differ only on pub_lattice3, where prdc's float32 distances flip ties)."""
    for k in (3, 5):
        got = cp.compute_prdc(ref_case.real, ref_case.fake, k)
        oracle = ref_case.ref["float64_oracle"]["prdc"][f"k{k}_lt"]
        for key in KEYS:
            assert got[key] == pytest.approx(oracle[key], rel=1e-15, abs=0), (k, key)
            if ref_case.name != "pub_lattice3":
                assert got[key] == pytest.approx(ref_case.ref["prdc"][f"k{k}"][key], rel=1e-15)
    capsys.readouterr()


def test_compute_prdc_lattice_vs_exact_oracle(upstream_prdc, capsys):
    """With exact ties the compat result is the exact strict answer."""
    rng = np.random.default_rng(7)
    real, fake = lattice_pair(rng)
    for k in (2, 3, 5):
        got = cp.compute_prdc(real, fake, k)
        exp = brute_metrics(real, fake, k, "strict")
        c = exp["_counts"]
        assert got["precision"] == c["in_real_manifold"].mean()
        assert got["recall"] == c["in_fake_manifold"].mean()
        assert got["density"] == (1.0 / float(k)) * c["n_real_balls"].mean()
        assert got["coverage"] == c["covered"].mean()
    capsys.readouterr()


def test_compute_prdc_never_builds_the_matrix(capsys):
    """numpy allocations stay far below one N x M float32 matrix."""
    rng = np.random.default_rng(3)
    n = m = 3000
    real, fake = gauss_pair(rng, n, m, 8)
    cp.compute_prdc(real[:50], fake[:50], 3)  # warm-up (lazy imports, backend load)
    tracemalloc.start()
    try:
        cp.compute_prdc(real, fake, 5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n * m * 4 / 8, f"peak {peak} bytes traced"
    capsys.readouterr()


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float32, np.float64),
                                    (np.float64, np.float64), (np.int64, np.int64)])  # fmt: skip
def test_compute_pairwise_distance_like_prdc(upstream_prdc, dtypes):
    rng = np.random.default_rng(11)
    x = (4 * rng.standard_normal((40, 6))).astype(dtypes[0])
    y = (4 * rng.standard_normal((30, 6))).astype(dtypes[1])
    for args in ((x, y), (x,), (x, None)):
        got = cp.compute_pairwise_distance(*args)
        exp = upstream_prdc.compute_pairwise_distance(*args)
        assert got.dtype == exp.dtype and got.shape == exp.shape
        np.testing.assert_allclose(got, exp, rtol=2e-6 if got.dtype == np.float32 else 1e-12,
                                   atol=1e-5 if got.dtype == np.float32 else 1e-9)  # fmt: skip
    self_d = cp.compute_pairwise_distance(x)
    assert np.all(np.diag(self_d) == 0)
    got = cp.compute_pairwise_distance(x, y)  # exact distances, in sklearn's result dtype
    np.testing.assert_array_equal(got, brute_dist(x, y).astype(got.dtype))


@pytest.mark.parametrize("shape,axis", [((50,), -1), ((7, 50), -1), ((3, 4, 30), -1),
                                        ((7, 50), 1), ((1, 9), -1)])  # fmt: skip
def test_get_kth_value_like_prdc(upstream_prdc, shape, axis):
    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64, np.int32):
        a = (10 * rng.standard_normal(shape)).astype(dtype)
        n = shape[axis]
        for k in sorted({1, 2, n // 2, n - 1} - {0}):
            got = cp.get_kth_value(a, k, axis=axis)
            exp = upstream_prdc.get_kth_value(a, k, axis=axis)
            assert got.dtype == exp.dtype
            np.testing.assert_array_equal(got, exp)
            np.testing.assert_array_equal(got, np.sort(a, axis=axis).take(k - 1, axis=axis))
        for k in (n, n + 3):  # numpy's argpartition limit, same error
            with pytest.raises(ValueError):
                upstream_prdc.get_kth_value(a, k, axis=axis)
            with pytest.raises(ValueError):
                cp.get_kth_value(a, k, axis=axis)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compute_nearest_neighbour_distances_like_prdc(upstream_prdc, dtype):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((60, 5)).astype(dtype)
    for k in (0, 1, 3, 58):
        got = cp.compute_nearest_neighbour_distances(x, k)
        exp = upstream_prdc.compute_nearest_neighbour_distances(x, k)
        assert got.dtype == exp.dtype and got.shape == (60,)
        np.testing.assert_allclose(got, exp, rtol=2e-6 if dtype == np.float32 else 1e-12)
        if k:
            np.testing.assert_array_equal(got, brute_radii(x, k).astype(dtype))
    for k in (59, 60):  # prdc needs nearest_k <= N - 2
        with pytest.raises(ValueError):
            upstream_prdc.compute_nearest_neighbour_distances(x, k)
        with pytest.raises(ValueError, match="out of bounds"):
            cp.compute_nearest_neighbour_distances(x, k)


def test_compute_prdc_limits_like_prdc(upstream_prdc, capsys):
    rng = np.random.default_rng(1)
    real, fake = gauss_pair(rng, 10, 20, 4)
    for k in (8,):  # nearest_k = N - 2 is prdc's largest
        _assert_same_prdc(cp.compute_prdc(real, fake, k), upstream_prdc.compute_prdc(real, fake, k))
    for k in (9, 10):
        with pytest.raises(ValueError):
            upstream_prdc.compute_prdc(real, fake, k)
        with pytest.raises(ValueError, match="out of bounds"):
            cp.compute_prdc(real, fake, k)
    for k in (np.array(3), np.int32(3), np.True_):  # int-likes work as upstream
        _assert_same_prdc(cp.compute_prdc(real, fake, k), upstream_prdc.compute_prdc(real, fake, k))
    for k in (3.0, np.float64(3), np.array(3.0)):  # numpy's partition index must be an integer
        with pytest.raises(TypeError):
            upstream_prdc.compute_prdc(real, fake, k)
        with pytest.raises(TypeError, match="nearest_k must be an integer"):
            cp.compute_prdc(real, fake, k)
        with pytest.raises(TypeError, match="nearest_k must be an integer"):
            cp.compute_nearest_neighbour_distances(real, k)
    capsys.readouterr()


def test_density_and_coverage_helpers(capsys):
    rng = np.random.default_rng(4)
    real, fake = lattice_pair(rng)
    for k in (1, 3, 5):
        full = cp.compute_prdc(real, fake, k)
        capsys.readouterr()
        dens, cov = cp.compute_density(real, fake, k), cp.compute_coverage(real, fake, k)
        assert type(dens) is np.float64 and type(cov) is np.float64
        assert dens == full["density"] and cov == full["coverage"]
        assert capsys.readouterr().out == ""


def test_compute_prdc_torch_variant(capsys):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rng = np.random.default_rng(2)
    real, fake = gauss_pair(rng, 80, 70, 6)
    got = cp.compute_prdc_torch(torch.from_numpy(real), torch.from_numpy(fake), 3)
    exp = cp.compute_prdc(real, fake, 3)
    assert all(type(v) is float for v in got.values())
    assert got == {k: float(v) for k, v in exp.items()}
    capsys.readouterr()
