"""fastprdc.compat.alpha_precision against the official alpha-precision code (Alaa et al.).

The official code is no installable package: the oracles are the reference outputs of
``tests/data/reference`` (``alaa_official`` and ``alaa_official_truncated``, the code run
as published) and a numpy rendering of that code with brute-force float64 neighbours (lowest
index on ties) in place of scikit-learn's, in the code's dtypes.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import REFERENCE_CASES, brute_knn, brute_radii, load_reference

import fastprdc
import fastprdc.compat
from fastprdc.compat import alpha_precision as official

from .conftest import gauss_pair, lattice_pair


def rendering(real, fake, emb_center):
    """The official compute_alpha_precision, line by line, with exact neighbours."""
    c64 = isinstance(emb_center, np.ndarray) and emb_center.dtype == np.float64
    ct = np.float64 if c64 else np.float32  # torch: float32 data - centre tensor
    c = np.asarray(emb_center, dtype=ct)
    alphas = np.linspace(0, 1, 30)
    radii = np.quantile(np.sqrt(np.sum((real.astype(np.float32).astype(ct) - c) ** 2, 1)), alphas)
    to_centre = np.sqrt(np.sum((fake.astype(np.float32).astype(ct) - c) ** 2, 1))
    r1 = brute_radii(real, 1)
    dist, idx = brute_knn(real, fake, 1)
    d, g = dist[:, 0], idx[:, 0]
    fake_mean = np.float32(np.mean(fake, axis=0))
    t = np.sqrt(np.sum((fake[g].astype(np.float32) - fake_mean) ** 2, 1))  # float32 tensor
    q = np.quantile(t, alphas)
    apc = [np.mean(np.float32(to_centre <= ct(r))) for r in radii]
    bcc = [np.mean(np.float32((d <= r1) & (t <= np.float32(r)))) for r in q]
    auth = np.mean(r1[g] < d)

    def delta(curve):
        return 1 - 2 * np.sum(np.abs(alphas - np.array(curve))) * (alphas[1] - alphas[0])

    return alphas, apc, bcc, delta(apc), delta(bcc), auth


def assert_same_tuple(got, want, name=""):
    assert isinstance(got, tuple) and len(got) == 6, name
    alphas, apc, bcc, dpa, dcb, auth = got
    assert isinstance(alphas, np.ndarray) and alphas.dtype == np.float64
    assert np.array_equal(alphas, want[0]), name
    for label, g, w in (("alpha_precision_curve", apc, want[1]), ("beta", bcc, want[2])):
        assert isinstance(g, list) and len(g) == 30, (name, label)
        assert all(type(v) is np.float32 for v in g), (name, label)  # np.mean of float32
        assert [float(v) for v in g] == [float(v) for v in w], (name, label)
    for label, g, w in (("Dpa", dpa, want[3]), ("Dcb", dcb, want[4]), ("auth", auth, want[5])):
        assert type(g) is np.float64, (name, label, type(g))
        assert float(g) == float(w), (name, label, g, w)


def reference_rows(case, block):
    real, fake, ref = load_reference(case)
    if block == "alaa_official_truncated":
        n = min(len(real), len(fake))
        real, fake = real[:n], fake[:n]
    return real, fake, ref.get(block)


@pytest.mark.parametrize("block", ["alaa_official", "alaa_official_truncated"])
@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_reference(case, block):
    real, fake, off = reference_rows(case, block)
    if off is None:
        pytest.skip(f"{case} has no {block} block")
    centre = np.asarray(off["emb_center"], dtype=np.float64)
    got = official.compute_alpha_precision(real, fake, centre)
    alphas, apc, bcc, dpa, dcb, auth = got
    assert alphas.tolist() == off["alphas"]
    assert [float(v) for v in apc] == off["alpha_pc"]  # no neighbour search: always exact
    assert float(dpa) == off["Dpa"]
    if case != "pub_lattice3":  # no ties: every number is the official code's, bit for bit
        assert [float(v) for v in bcc] == off["beta_cv"]
        assert float(dcb) == off["Dcb"]
        assert float(auth) == off["auten"]
    else:
        # 105 reals have equidistant nearest fakes; the KD tree picks another one than the
        # lowest index for 49 of them (reference README): 0.41 / 0.683377 instead of
        # 0.395 / 0.688751, and the beta curve within 0.02.
        assert float(auth) == 0.41 != off["auten"]
        assert float(dcb) == pytest.approx(0.683377, abs=5e-7)
        assert max(abs(float(v) - w) for v, w in zip(bcc, off["beta_cv"])) <= 0.02 + 1e-7
    assert_same_tuple(got, rendering(real, fake, centre), case)


@pytest.mark.parametrize("kind", ["gauss", "lattice"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_rendering(kind, dtype):
    """Every centre type the code accepts: a float64 array (float64 centre norms), a float32
    array or a list (float32 norms, as torch)."""
    rng = np.random.default_rng(7)
    real, fake = (gauss_pair if kind == "gauss" else lattice_pair)(rng, n=180, m=150, dtype=dtype)
    mean = real.astype(np.float64).mean(0)
    for centre in (mean, mean.astype(np.float32), [float(v) for v in mean]):
        want = rendering(real, fake, centre)
        assert_same_tuple(official.compute_alpha_precision(real, fake, centre), want, kind)


def test_curves_and_deltas_equal_native():
    """The curves are the native ones rounded to float32; the Delta normalisation is the
    paper's (native) one."""
    rng = np.random.default_rng(3)
    real, fake = gauss_pair(rng)
    centre = real.astype(np.float64).mean(0)
    alphas, apc, bcc, dpa, dcb, _ = official.compute_alpha_precision(real, fake, centre)
    nat = fastprdc.alpha_precision_beta_recall(real, fake, center=centre)
    assert np.array_equal(alphas, nat["alphas"])
    assert [float(v) for v in apc] == [float(np.float32(v)) for v in nat["alpha_precision_curve"]]
    assert [float(v) for v in bcc] == [float(np.float32(v)) for v in nat["beta_recall_curve"]]
    assert float(dpa) == pytest.approx(nat["delta_precision_alpha"], abs=1e-6)
    assert float(dcb) == pytest.approx(nat["delta_coverage_beta"], abs=1e-6)


def test_more_fakes_than_reals():
    """The authenticity indexes the real radii with fake indices: fine while every nearest
    fake is a real index, torch's IndexError otherwise."""
    rng = np.random.default_rng(5)
    real = rng.standard_normal((60, 4)).astype(np.float32)
    far = rng.standard_normal((40, 4)).astype(np.float32) + 100  # nobody's nearest fake
    fake = np.concatenate([real + 0.01, far])  # nearest fake of real i: fake i
    got = official.compute_alpha_precision(real, fake, real.astype(np.float64).mean(0))
    assert_same_tuple(got, rendering(real, fake, real.astype(np.float64).mean(0)))
    fake = np.concatenate([far, real + 0.01])  # nearest fake of real i: fake 40 + i
    with pytest.raises(IndexError, match="out of bounds for dimension 0 with size 60"):
        official.compute_alpha_precision(real, fake, real.astype(np.float64).mean(0))


def test_inputs_unchanged_and_torch():
    rng = np.random.default_rng(2)
    real, fake = gauss_pair(rng, n=80, m=70)
    centre = real.astype(np.float64).mean(0)
    copies = real.copy(), fake.copy(), centre.copy()
    want = official.compute_alpha_precision(real, fake, centre)
    for a, b in zip((real, fake, centre), copies):
        assert np.array_equal(a, b)
    torch = pytest.importorskip("torch", reason="torch is not installed")
    got = official.compute_alpha_precision(
        torch.from_numpy(real), torch.from_numpy(fake), torch.from_numpy(centre)
    )
    assert_same_tuple(got, want, "torch")


def test_not_patchable():
    with pytest.raises(ValueError, match="no installable package"):
        fastprdc.compat.patch("alpha_precision")
    assert "alpha_precision" in dir(fastprdc.compat)
