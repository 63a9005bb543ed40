"""fastprdc.compat.piq against piq 0.8.0's ``PR`` and a float64 oracle of its formulas.

The side-by-side tests need torch and piq (which imports torchvision at import time): the
``compat`` extra. Without them they are skipped, unless ``FASTPRDC_COMPAT_REQUIRE`` names
``piq`` (CI's compat run sets it), in which case a missing or broken upstream fails.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys

import numpy as np
import pytest
from _helpers import (
    REFERENCE_CASES,
    brute_dist,
    brute_radii,
    common_oracle,
    gaussian,
    load_reference,
)

import fastprdc.compat
from compat._upstream import import_upstream
from fastprdc.compat import piq as cpiq

UPSTREAM_CASES = ["pub_gauss8", "pub_modes16"]  # no near ties / band edges


@pytest.fixture(scope="module")
def torch():
    return import_upstream("torch", "piq")


@pytest.fixture(scope="module")
def piq(torch):
    return import_upstream("piq", "piq")


@pytest.fixture
def unpatched():
    yield
    fastprdc.compat.unpatch("piq")


def oracle_counts(real, fake, k, variant="isclose"):
    """piq's formulas on exact float64 distances (full matrices; small data only)."""
    real, fake = common_oracle(real, fake)
    dist = brute_dist(real, fake)  # (N, M)
    rr = brute_radii(real, k)[:, None]
    rf = brute_radii(fake, k)[None, :]
    if variant == "strict":
        precise = (dist < rr).any(axis=0)
        recalled = (dist < rf).any(axis=1)
    else:
        band = np.abs(dist - rr) <= 1e-8 + 1e-5 * rr  # torch.isclose(D, r_real)
        precise = ((dist < rr) | band).any(axis=0)
        recalled = ((dist < rf) | band).any(axis=1)  # upstream: the real radius here too
    return {
        "n_precise": int(precise.sum()),
        "n_fake": fake.shape[0],
        "n_recalled": int(recalled.sum()),
        "n_real": real.shape[0],
    }


def f32(count, n):
    return np.float32(count) / np.float32(n)


def shell_case(dtype=np.float32):
    """Reals on a line 10 apart (k=1 radius 10); fake clusters (radius 0.001) at distance
    10 (in the isclose band), 10.00005 (band, above r), 9.9997 (strictly inside) and
    10.0003 (outside) from reals 0, 2, 3 and 5."""
    real = np.array([[10.0 * t, 0.0] for t in range(6)])
    fake = []
    for x, y in [(0.0, 10.0), (20.0, 10.00005), (30.0, 9.9997), (50.0, 10.0003)]:
        fake += [[x, y], [x + 0.001, y], [x - 0.001, y]]
    return real.astype(dtype), np.array(fake, dtype=dtype)


def random_pair(seed, n, m, d, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return gaussian(rng, n, d, dtype), gaussian(rng, m, d, dtype, loc=0.25)


# ---------------------------------------------------------------------------
# without piq
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFERENCE_CASES)
@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("variant", ["isclose", "strict"])
def test_counts_match_oracle(case, k, variant):
    real, fake, _ = load_reference(case)
    got = cpiq.precision_recall_counts(real, fake, k, variant=variant)
    assert got == oracle_counts(real, fake, k, variant)


def test_strict_variant_is_prdc():
    """The pre-#285 piq code is prdc's strict precision and recall."""
    real, fake, ref = load_reference("pub_lattice3")
    c = cpiq.precision_recall_counts(real, fake, 5, variant="strict")
    assert c["n_precise"] / c["n_fake"] == ref["prdc"]["k5"]["precision"]
    assert c["n_recalled"] / c["n_real"] == ref["prdc"]["k5"]["recall"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_isclose_band_and_recall_quirk(dtype):
    real, fake = shell_case(dtype)
    c = cpiq.precision_recall_counts(real, fake, 1)
    assert c == oracle_counts(real, fake, 1)
    # precision: clusters at 10, 10.00005 (band) and 9.9997 (inside); not 10.0003
    assert c["n_precise"] == 9
    # recall: reals 0 and 2 only through the shell around their *own* radius
    assert c["n_recalled"] == 2
    s = cpiq.precision_recall_counts(real, fake, 1, variant="strict")
    assert (s["n_precise"], s["n_recalled"]) == (3, 0)


def test_random_data_match_oracle():
    for seed, (n, m, d, k) in enumerate([(50, 70, 3, 2), (120, 90, 10, 5), (31, 29, 1, 4)]):
        real, fake = random_pair(seed, n, m, d)
        assert cpiq.precision_recall_counts(real, fake, k) == oracle_counts(real, fake, k)


def test_numpy_result_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    real, fake = random_pair(20, 40, 30, 4)
    p, r = cpiq.PR(nearest_k=3).compute_metric(real, fake)
    c = oracle_counts(real, fake, 3)
    assert isinstance(p, np.ndarray) and p.dtype == np.float32 and p.shape == ()
    assert p == f32(c["n_precise"], c["n_fake"]) and r == f32(c["n_recalled"], c["n_real"])


def test_errors():
    real, fake = random_pair(21, 6, 8, 3)
    with pytest.raises(ValueError, match="too large"):
        cpiq.PR(nearest_k=6).compute_metric(real, fake)
    with pytest.raises(ValueError, match="widths"):
        cpiq.PR().compute_metric(real[:, :2], fake)
    with pytest.raises(ValueError, match="variant"):
        cpiq.PR(variant="loose")
    assert repr(cpiq.PR(3)) == "PR(nearest_k=3, variant='isclose')"


def test_patch_without_piq():
    if importlib.util.find_spec("piq") is not None:
        pytest.skip("piq is installed")
    with pytest.raises(ModuleNotFoundError, match=r"pip install piq"):
        fastprdc.compat.patch("piq")
    assert not fastprdc.compat.is_patched("piq")


# ---------------------------------------------------------------------------
# side by side with piq
# ---------------------------------------------------------------------------


def test_installed_piq_has_the_isclose_code(piq):
    assert "isclose" in inspect.getsource(piq.pr.PR.compute_metric)


def _pairs():
    for case in UPSTREAM_CASES:
        real, fake, _ = load_reference(case)
        yield case, real, fake
    for seed, (n, m, d) in enumerate([(200, 150, 8), (97, 131, 16), (40, 33, 2), (600, 500, 64)]):
        yield f"random{seed}", *random_pair(30 + seed, n, m, d)
    yield "shell", *shell_case()


@pytest.mark.parametrize("k", [1, 3, 5])
def test_same_as_upstream(torch, piq, k):
    for name, real, fake in _pairs():
        if k >= min(len(real), len(fake)):
            continue
        rt, ft = torch.from_numpy(real), torch.from_numpy(fake)
        want = piq.PR(nearest_k=k)(rt, ft)
        got = cpiq.PR(nearest_k=k)(rt, ft)
        assert isinstance(got, tuple) and len(got) == 2, name
        for g, w in zip(got, want):
            assert isinstance(g, torch.Tensor) and g.dtype == w.dtype == torch.float32, name
            assert g.shape == w.shape == torch.Size([]), name
            assert g.device == w.device, name
            assert g.item() == w.item(), (name, k, got, want)
        c = oracle_counts(real, fake, k)
        assert got[0].item() == f32(c["n_precise"], c["n_fake"]), name
        assert got[1].item() == f32(c["n_recalled"], c["n_real"]), name


def test_shell_case_upstream_values(torch, piq):
    real, fake = shell_case()
    p, r = piq.PR(nearest_k=1)(torch.from_numpy(real), torch.from_numpy(fake))
    assert (p.item(), r.item()) == (f32(9, 12), f32(2, 6))


def test_float64_tensors(torch, piq):
    real, fake = random_pair(40, 90, 80, 5, np.float64)
    rt, ft = torch.from_numpy(real), torch.from_numpy(fake)
    want = piq.PR(nearest_k=4).compute_metric(rt, ft)
    got = cpiq.PR(nearest_k=4).compute_metric(rt, ft)
    assert [g.item() for g in got] == [w.item() for w in want]
    assert all(g.dtype == torch.float32 for g in got)


def test_patch(torch, piq, unpatched, monkeypatch):
    real, fake = random_pair(41, 150, 120, 8)
    rt, ft = torch.from_numpy(real), torch.from_numpy(fake)
    metric = piq.PR(nearest_k=3)
    want = metric(rt, ft)
    original = piq.pr.PR.__dict__["compute_metric"]

    calls = []
    counts = cpiq.precision_recall_counts

    def spy(*args, **kwargs):
        calls.append(args[2])
        return counts(*args, **kwargs)

    monkeypatch.setattr(cpiq, "precision_recall_counts", spy)
    fastprdc.compat.patch("piq")
    fastprdc.compat.patch("piq")  # idempotent
    assert piq.PR is piq.pr.PR
    got = metric(rt, ft)  # the instance made before patch() goes through fastprdc too
    got2 = piq.PR(nearest_k=3).compute_metric(rt, ft)
    assert calls == [3, 3]
    assert [g.item() for g in got] == [w.item() for w in want] == [g.item() for g in got2]
    assert all(g.dtype == torch.float32 and g.shape == torch.Size([]) for g in got)
    # piq's own input checks are kept
    with pytest.raises(AssertionError):
        metric(rt[:, :4], ft)
    with pytest.raises(AssertionError):
        metric(real, ft)

    fastprdc.compat.unpatch("piq")
    assert piq.pr.PR.__dict__["compute_metric"] is original
    assert not fastprdc.compat.is_patched("piq")
    assert [g.item() for g in metric(rt, ft)] == [w.item() for w in want]
