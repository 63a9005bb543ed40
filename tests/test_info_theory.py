"""PCE / RCE / RE and the four raw kNN entropies (docs/metrics.md section 6) against a brute
force (scipy's digamma / gammaln for psi and the unit-ball volume) and the Fox et al.
reference outputs (packaged ``compute_metrics`` and the notebook's k=2 / k=5 runs).

Float tolerances only where float64 sums are involved (the entropies are means of float64
terms); -inf (zero distances) must be exact, with one RuntimeWarning."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from _helpers import KIND_SHAPES, assert_same, gaussian, make_pair
from _oracles import brute_entropies, brute_entropy_terms

import fastprdc

ENTROPIES = ("h_fake_real", "h_real_fake", "h_real", "h_fake")
DIFFS = ("pce", "rce", "re")


def _floats(values):
    return np.array([float(v) for v in values], dtype=np.float64)


def _close(a, b, tol):
    a, b = float(a), float(b)
    if np.isnan(b):
        return np.isnan(a)
    if np.isinf(b):
        return a == b
    return abs(a - b) <= tol


def _check(got, real, fake, k, label, tol=1e-12):
    exp, _ = brute_entropies(real, fake, k)
    for name in ENTROPIES + DIFFS:
        assert isinstance(got[name], float), f"{label} {name}: {type(got[name])}"
        scale = max(1.0, abs(exp[name])) if np.isfinite(exp[name]) else 1.0
        assert _close(got[name], exp[name], tol * scale), (
            f"{label} {name}: {got[name]} vs {exp[name]}"
        )
    # the differences are the differences of the returned raw entropies
    with np.errstate(invalid="ignore"):
        assert _close(got["pce"], got["h_fake_real"] - got["h_real"], 0)
        assert _close(got["rce"], got["h_real_fake"] - got["h_real"], 0)
        assert _close(got["re"], got["h_fake"] - got["h_real"], 0)
    return exp


@pytest.mark.parametrize("kind", ["gauss", "offset"])
def test_entropies_vs_brute_force(backend, kind, dtype, rng):
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no zero distances here: no warning at all
        got = fastprdc.pce_rce_re(real, fake, device=backend)
    _check(got, real, fake, 5, kind)


def test_entropies_k_list(backend, rng):
    real, fake = make_pair(rng, "gauss", 100, 80, 6)
    ks = [1, 2, 5, 9]
    got = fastprdc.pce_rce_re(real, fake, k=ks, device=backend)
    for k in ks:
        single = fastprdc.pce_rce_re(real, fake, k=k, device=backend)
        for name in ENTROPIES + DIFFS:
            assert got[name][k] == single[name], (name, k)
        _check({n: got[n][k] for n in ENTROPIES + DIFFS}, real, fake, k, f"list k={k}")


def test_entropies_large_d_float64_precision(backend, rng):
    """d * ln(distance) at d = 512: float64 throughout (a float32 log would be off by
    ~1e-4 here)."""
    real = gaussian(rng, 40, 512, np.float32)
    fake = gaussian(rng, 35, 512, np.float32, loc=0.01, scale=1.2)
    got = fastprdc.pce_rce_re(real, fake, k=3, device=backend)
    _check(got, real, fake, 3, "d=512", tol=1e-12)


@pytest.mark.parametrize("kind", ["lattice", "repeats"])
def test_zero_distances_give_minus_inf_and_one_warning(backend, kind, rng):
    """Duplicates: a zero k-th distance makes its term -inf; never clipped. One
    RuntimeWarning naming the numbers of zero-distance samples (real and fake)."""
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    k = 1
    terms = brute_entropy_terms(real, fake, k)
    assert terms["_zero_real"] + terms["_zero_fake"] > 0
    with pytest.warns(RuntimeWarning) as record:
        got = fastprdc.pce_rce_re(real, fake, k=k, device=backend)
    ours = [w for w in record if issubclass(w.category, RuntimeWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert ours[0].filename == __file__  # attributed to the caller's line, not the library's
    with pytest.warns(RuntimeWarning) as via_evaluate:
        fastprdc.evaluate(real, fake, metrics="pce_rce_re", k=k, device=backend)
    assert via_evaluate[0].filename == __file__
    numbers = [int(x) for x in re.findall(r"\d+", str(ours[0].message))]
    # the counts of real and of fake samples with a zero distance in one of their terms
    assert terms["_zero_real"] in numbers and terms["_zero_fake"] in numbers, str(ours[0].message)
    exp = _check(got, real, fake, k, kind)
    assert any(np.isneginf(exp[name]) for name in ENTROPIES)


def test_minus_inf_on_one_side_only(backend, rng):
    """Only the fakes hold duplicates (k=1): H(F) = -inf, RE = -inf, the cross entropies
    and H(R) finite."""
    real = gaussian(rng, 60, 4, np.float64)
    fake = gaussian(rng, 50, 4, np.float64)
    fake[10] = fake[3]
    with pytest.warns(RuntimeWarning):
        got = fastprdc.pce_rce_re(real, fake, k=1, device=backend)
    assert got["h_fake"] == -np.inf and got["re"] == -np.inf
    for name in ("h_fake_real", "h_real_fake", "h_real", "pce", "rce"):
        assert np.isfinite(got[name]), name
    _check(got, real, fake, 1, "fake duplicates")


@pytest.mark.parametrize("kind", ["gauss", "lattice"])
def test_sample_level_terms(backend, kind, rng):
    """sample_level: the per-sample summands (``<entropy>_terms``, per fake for H(F,R) and
    H(F), per real for H(R,F) and H(R)); their means are the four entropies."""
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    k = 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # lattice: -inf terms
        got = fastprdc.pce_rce_re(real, fake, k=k, sample_level=True, device=backend)
    _, terms = brute_entropies(real, fake, k)
    sizes = {"h_fake_real": m, "h_fake": m, "h_real_fake": n, "h_real": n}
    for name in ENTROPIES:
        arr = got[name + "_terms"]
        assert arr.dtype == np.float64 and arr.shape == (sizes[name],), name
        exp = terms[name]
        assert_same(np.isneginf(arr), np.isneginf(exp), f"{name} -inf pattern")
        fin = np.isfinite(exp)
        assert np.abs(arr[fin] - exp[fin]).max() <= 1e-12 * max(1.0, np.abs(exp[fin]).max())
        with np.errstate(invalid="ignore"):
            assert _close(np.mean(arr), got[name], 1e-12 * max(1.0, abs(got[name])))


def test_one_warning_for_a_k_list(backend, rng):
    """Zero distances at several k of one call: still one warning."""
    real, fake = make_pair(rng, "lattice", 120, 100, 3)
    with pytest.warns(RuntimeWarning) as record:
        got = fastprdc.pce_rce_re(real, fake, k=[1, 2, 3], device=backend)
    assert len([w for w in record if issubclass(w.category, RuntimeWarning)]) == 1
    for k in (1, 2, 3):
        _check({n: got[n][k] for n in ENTROPIES + DIFFS}, real, fake, k, f"k={k}")


# ---------------------------------------------------------------------------
# reference data: Fox et al. (NSSAC/PrecisionRecallMetric)
# ---------------------------------------------------------------------------

# The reference ran sklearn kd_tree (float64) for gauss8 / lattice3 and brute force with
# float32-rounded distances for modes16: 1e-7 absolute covers both (README).
REF_TOL = 1e-7


def _run_ref(real, fake, k, backend):
    """Reference cases with zero distances warn (lattice3, k=2)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = fastprdc.pce_rce_re(real, fake, k=k, device=backend)
    return got, [w for w in record if issubclass(w.category, RuntimeWarning)]


def test_reference_fox_notebook(reference_case, backend):
    case, real, fake, ref = reference_case
    for k in (2, 5):
        got, warns = _run_ref(real, fake, k, backend)
        nb = ref["fox_notebook"][f"k{k}"]
        expected = {
            "pce": nb["PCE"], "rce": nb["RCE"], "re": nb["RE"],
            "h_fake_real": nb["H_fake_real"], "h_real_fake": nb["H_real_fake"],
            "h_real": nb["H_real"], "h_fake": nb["H_fake"],
        }  # fmt: skip
        for name, value in expected.items():
            assert _close(got[name], float(value), REF_TOL), (case, k, name, got[name], value)
        if case == "pub_lattice3" and k == 2:
            # 2nd-NN distances of 0 in real, fake and across: all raw entropies -inf, the
            # differences -inf - (-inf) = NaN
            assert all(got[n] == -np.inf for n in ENTROPIES)
            assert all(np.isnan(got[n]) for n in DIFFS)
            assert len(warns) == 1
        else:
            assert all(np.isfinite(got[n]) for n in ENTROPIES + DIFFS)
            assert warns == []
        # and the float64 re-derivation in the reference block, tighter where kd_tree
        # distances were float64 (gauss8, lattice3)
        extras = ref["float64_oracle"]["crosscheck_extras"]
        for name in ENTROPIES:
            value = float(extras[f"{name.replace('h_', 'H_')}_k{k}"])
            assert _close(got[name], value, 1e-12 * max(1.0, abs(value))), (case, k, name)


def test_reference_fox_official_raw_entropies(reference_case, backend):
    """The packaged compute_metrics(nearest_k=5) returns the RAW H(F,R), H(R,F), H(R)
    under the names precision_cross_entropy, recall_cross_entropy, recall_entropy."""
    _, real, fake, ref = reference_case
    got, _ = _run_ref(real, fake, 5, backend)
    off = ref["fox_official"]
    assert _close(got["h_fake_real"], off["precision_cross_entropy"], REF_TOL)
    assert _close(got["h_real_fake"], off["recall_cross_entropy"], REF_TOL)
    assert _close(got["h_real"], off["recall_entropy"], REF_TOL)
    # not the paper's differences
    assert abs(got["pce"] - off["precision_cross_entropy"]) > 1


@pytest.mark.parametrize("kind", ["gauss", "offset"])
def test_rce_is_wang_kulkarni_verdu(backend, kind, rng):
    """RCE = H(R,F) - H(R) = (d/N) sum ln(nu_k^F / rho_k^R) + ln(M / (N-1)), the kNN KL
    estimate (data without zero distances)."""
    n, m, d = KIND_SHAPES[kind]
    real, fake = make_pair(rng, kind, n, m, d, np.float64)
    got = fastprdc.pce_rce_re(real, fake, k=4, device=backend)
    terms = brute_entropy_terms(real, fake, 4)
    wkv = float(np.mean(terms["h_real_fake"] - terms["h_real"]))
    assert got["rce"] == pytest.approx(wkv, rel=1e-10, abs=1e-10)
