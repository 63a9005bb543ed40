"""fastprdc.compat.info_theory.compute_metrics against the reference data (the packaged
NSSAC code run on the reference cases) and a brute-force rendering of that code."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from _helpers import brute_dist
from scipy.linalg import sqrtm
from scipy.special import digamma, loggamma

from fastprdc.compat import info_theory

from .conftest import gauss_pair, lattice_pair, ref_floats

KEYS = [
    "precision",
    "recall",
    "density",
    "coverage",
    "frechet_distance",
    "precision_cross_entropy",
    "recall_cross_entropy",
    "recall_entropy",
]
COUNT_KEYS = KEYS[:4]
ENTROPY_KEYS = KEYS[5:]


def raw_entropies(n, m, d, k, nu_fake, nu_real, r_real):
    """The code's H(F,R), H(R,F) and H(R), in its expression order."""
    log_v = (d / 2) * np.log(np.pi) - loggamma((d / 2) + 1)
    with np.errstate(divide="ignore"):
        pce = (1 / m) * np.sum(np.log(n) - digamma(k) + log_v + d * np.log(nu_fake))
        rce = (1 / n) * np.sum(np.log(m) - digamma(k) + log_v + d * np.log(nu_real))
        re = (1 / n) * np.sum(np.log(n - 1) - digamma(k) + log_v + d * np.log(r_real))
    return pce, rce, re


def render_compute_metrics(real, fake, k=5):
    """The packaged compute_metrics with exact distances in place of sklearn's."""
    n, d = real.shape
    m = fake.shape[0]
    d_rr, d_ff, d_rf = brute_dist(real), brute_dist(fake), brute_dist(real, fake)
    r_real = np.sort(d_rr, axis=1)[:, k]  # kneighbors(R, k+1), self included
    r_fake = np.sort(d_ff, axis=1)[:, k]
    nu_real = np.sort(d_rf, axis=1)[:, k - 1]  # k-th nearest fake of each real
    nu_fake = np.sort(d_rf.T, axis=1)[:, k - 1]
    g_in = d_rf <= r_real[:, None]
    pce, rce, re = raw_entropies(n, m, d, k, nu_fake, nu_real, r_real)
    mu1, s1 = np.mean(real, axis=0), np.cov(real, rowvar=False)
    mu2, s2 = np.mean(fake, axis=0), np.cov(fake, rowvar=False)
    covmean = sqrtm(s1.dot(s2))
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    diff = mu1 - mu2
    return {
        "precision": np.sum(np.any(g_in, axis=0)) / m,
        "recall": np.sum(np.any(np.less_equal(d_rf.T, r_fake[:, None]), axis=0)) / n,
        "density": np.sum(g_in) / (k * m),
        "coverage": np.mean(np.any(g_in, axis=1)),
        "frechet_distance": np.dot(diff, diff)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * np.trace(covmean),
        "precision_cross_entropy": pce,
        "recall_cross_entropy": rce,
        "recall_entropy": re,
    }


def _check_types(got):
    assert list(got) == KEYS
    for key in KEYS:
        assert isinstance(got[key], np.float64), (key, type(got[key]))


@pytest.mark.parametrize("emulate", [False, True])
def test_compute_metrics_reference(ref_case, emulate):
    fox = ref_case.ref["fox_official"]
    got = info_theory.compute_metrics(ref_case.real, ref_case.fake, nearest_k=5,
                                      emulate_float32_distances=emulate)  # fmt: skip
    _check_types(got)
    if emulate or ref_case.name != "pub_lattice3":
        for key in COUNT_KEYS:
            assert got[key] == fox[key], key
    else:  # exact ties: the exact <= answer (upstream loses 108 ties to float32 rounding)
        exact = ref_case.ref["float64_oracle"]["prdc"]["k5_le"]
        for key in COUNT_KEYS:
            assert got[key] == pytest.approx(exact[key], rel=1e-15), key
        assert got["density"] != fox["density"]
    for key in ENTROPY_KEYS:
        assert got[key] == pytest.approx(fox[key], rel=0, abs=1e-7), key
    assert got["frechet_distance"] == pytest.approx(fox["frechet_distance"], rel=2e-7)


def test_raw_entropies_reference_notebook(ref_case):
    """The raw entropies at k = 2 and 5 (notebook blocks), -inf included."""
    for k in (2, 5):
        nb = ref_case.ref["fox_notebook"][f"k{k}"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = info_theory.compute_metrics(ref_case.real, ref_case.fake, nearest_k=k)
        expected = {
            "precision_cross_entropy": ref_floats(nb["H_fake_real"]),
            "recall_cross_entropy": ref_floats(nb["H_real_fake"]),
            "recall_entropy": ref_floats(nb["H_real"]),
        }
        for key, value in expected.items():
            if np.isinf(value):
                assert got[key] == value, key
            else:
                assert got[key] == pytest.approx(value, rel=0, abs=1e-7), key
        infinite = any(np.isinf(v) for v in expected.values())
        assert len(caught) == int(infinite)
        if infinite:
            assert caught[0].category is RuntimeWarning
            assert "-inf" in str(caught[0].message)


@pytest.mark.parametrize("kind", ["gauss", "lattice"])
@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compute_metrics_matches_rendering(kind, k, dtype):
    rng = np.random.default_rng(k)
    real, fake = (gauss_pair if kind == "gauss" else lattice_pair)(rng, dtype=dtype)
    exp = render_compute_metrics(real, fake, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # -inf entropies on the lattice
        got = info_theory.compute_metrics(real, fake, k)
    _check_types(got)
    for key in COUNT_KEYS:
        assert got[key] == exp[key], key
    assert got["frechet_distance"] == exp["frechet_distance"]
    for key in ENTROPY_KEYS:
        if np.isinf(exp[key]):
            assert got[key] == exp[key], key
        else:
            assert got[key] == pytest.approx(exp[key], rel=1e-13), key


def test_without_scipy(monkeypatch):
    """Without scipy: psi / lnGamma from math, tr sqrtm from eigendecompositions."""
    rng = np.random.default_rng(4)
    real, fake = gauss_pair(rng, 300, 250, 6)
    with_scipy = info_theory.compute_metrics(real, fake)
    monkeypatch.setitem(sys.modules, "scipy.linalg", None)
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    without = info_theory.compute_metrics(real, fake)
    for key in COUNT_KEYS:
        assert without[key] == with_scipy[key]
    for key in ENTROPY_KEYS:
        assert without[key] == pytest.approx(with_scipy[key], rel=1e-13)
    assert without["frechet_distance"] == pytest.approx(with_scipy["frechet_distance"], rel=1e-9)


def test_limits():
    rng = np.random.default_rng(0)
    real, fake = gauss_pair(rng, 10, 6, 3)
    info_theory.compute_metrics(real, fake, nearest_k=5)  # k + 1 <= min(N, M)
    with pytest.raises(ValueError, match="n_neighbors"):
        info_theory.compute_metrics(real, fake, nearest_k=6)
    with pytest.raises(ValueError):
        info_theory.compute_metrics(real, fake, nearest_k=0)


def sklearn_rendering(real, fake, k):
    """The packaged compute_metrics's neighbour and distance calls as written (scikit-learn's
    NearestNeighbors(algorithm="auto") and pairwise_distances), counts and raw entropies."""
    neighbors = pytest.importorskip("sklearn.neighbors", reason="needs scikit-learn")
    from sklearn.metrics import pairwise_distances

    n, d = real.shape
    m = fake.shape[0]
    nn_r = neighbors.NearestNeighbors(n_neighbors=k + 1, algorithm="auto").fit(real)
    nn_f = neighbors.NearestNeighbors(n_neighbors=k + 1, algorithm="auto").fit(fake)
    r_real = nn_r.kneighbors(real, k + 1)[0][:, k]
    r_fake = nn_f.kneighbors(fake, k + 1)[0][:, k]
    d_rf, d_fr = pairwise_distances(real, fake), pairwise_distances(fake, real)
    nu_real = nn_f.kneighbors(real, k + 1)[0][:, k - 1]
    nu_fake = nn_r.kneighbors(fake, k + 1)[0][:, k - 1]
    g_in = d_rf <= r_real[:, None]
    pce, rce, re = raw_entropies(n, m, d, k, nu_fake, nu_real, r_real)
    methods = (nn_r._fit_method, nn_f._fit_method)
    return methods, {
        "precision": np.sum(np.any(g_in, axis=0)) / m,
        "recall": np.sum(np.any(d_fr <= r_fake[:, None], axis=0)) / n,
        "density": np.sum(g_in) / (k * m),
        "coverage": np.mean(np.any(g_in, axis=1)),
        "precision_cross_entropy": pce,
        "recall_cross_entropy": rce,
        "recall_entropy": re,
    }


@pytest.mark.parametrize(
    ("d", "n", "m", "k", "methods"),
    [
        (4, 300, 250, 3, ("kd_tree", "kd_tree")),
        (16, 300, 250, 5, ("brute", "brute")),
        (40, 200, 180, 3, ("brute", "brute")),
        (4, 7, 40, 3, ("brute", "kd_tree")),  # k + 1 >= n // 2: brute for the small set
        (4, 40, 7, 3, ("kd_tree", "brute")),
    ],
)
def test_emulate_float32_distances_matches_sklearn(d, n, m, k, methods):
    """emulate_float32_distances=True decides and reads distances as scikit-learn does on
    float32 input, KD-tree and brute searches alike (duplicates make the rounding matter)."""
    got_methods, want = None, None
    for seed in range(3):
        rng = np.random.default_rng(seed)
        real = rng.normal(size=(n, d))
        fake = rng.normal(size=(m, d)) + 0.2
        real = np.vstack([real, real[: max(n // 10, 1)]]).astype(np.float32)
        fake = np.vstack([fake, real[: max(m // 20, 1)]]).astype(np.float32)
        got_methods, want = sklearn_rendering(real, fake, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # -inf entropies: duplicates
            got = info_theory.compute_metrics(real, fake, k, emulate_float32_distances=True)
        for key, value in want.items():
            assert got[key] == value, (seed, key)
    assert got_methods == methods  # the cases cover both of scikit-learn's searches


def test_float32_distance_is_sklearns():
    from fastprdc.compat._common import float32_distance, float32_distance_limit

    pytest.importorskip("sklearn", reason="needs scikit-learn")
    from sklearn.metrics import pairwise_distances

    rng = np.random.default_rng(1)
    x = (rng.normal(size=(200, 30)) * 3 + 10).astype(np.float32)
    exact = brute_dist(x)
    np.fill_diagonal(exact, 0.0)
    assert np.array_equal(float32_distance(exact), pairwise_distances(x).astype(np.float64))
    t = np.concatenate([rng.random(5000) * 10, np.exp(rng.uniform(-80, 80, 5000)), [0.0, 3e38]])
    limit = float32_distance_limit(t)
    assert np.all(float32_distance(limit) <= t)  # the limit passes ...
    assert np.all(float32_distance(np.nextafter(limit, np.inf)) > t)  # ... and is the largest
    # a radius whose float32 square overflows (brute search: +inf): every finite d passes
    r = np.array([1e19, 2e19, 1e30])
    assert np.isfinite(float32_distance(r)[0]) and np.all(np.isinf(float32_distance(r)[1:]))
    assert np.all(float32_distance_limit(float32_distance(r))[1:] == np.finfo(np.float64).max)


def test_emulate_float32_distances_at_large_scale():
    """Data at 1e19 (float32): scikit-learn's brute radii overflow to +inf; every ball holds
    every point, and the emulation says so."""
    rng = np.random.default_rng(0)
    real = (rng.standard_normal((60, 16)) * 1e19).astype(np.float32)
    fake = (rng.standard_normal((50, 16)) * 1e19).astype(np.float32)
    got = info_theory.compute_metrics(real, fake, 3, emulate_float32_distances=True)
    assert got["precision"] == got["recall"] == got["coverage"] == 1.0
