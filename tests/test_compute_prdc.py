"""``fastprdc.compute_prdc`` is a true drop-in for the ``prdc`` package (PyPI prdc==0.2):
same signature, strict boundary, identical values (``==``) on every test input."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import brute_prdc_counts, lattice, load_reference

import fastprdc

prdc = pytest.importorskip("prdc", reason="the reference package prdc==0.2 (test extra)")

KEYS = {"precision", "recall", "density", "coverage"}

# (N, M, d, k, dtype, kind)
RANDOM_CASES = [
    (200, 150, 8, 3, np.float32, "gauss"),
    (300, 300, 32, 5, np.float64, "gauss"),
    (150, 250, 64, 1, np.float32, "gauss"),
    (400, 350, 16, 10, np.float32, "gauss"),
    (120, 100, 2, 4, np.float64, "gauss"),
    (250, 200, 128, 7, np.float32, "gauss"),
    (160, 140, 3, 3, np.float32, "lattice"),
    (160, 140, 3, 5, np.float64, "lattice"),
]


def _make(seed, N, M, d, dtype, kind):
    rng = np.random.default_rng(seed)
    if kind == "lattice":
        return lattice(rng, N, d, dtype), lattice(rng, M, d, dtype, shift=0.5)
    real = rng.standard_normal((N, d)).astype(dtype)
    fake = (0.2 + rng.standard_normal((M, d))).astype(dtype)
    return real, fake


def _prdc(real, fake, k, capsys=None):
    out = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    if capsys is not None:
        capsys.readouterr()  # prdc prints "Num real: ..."
    return out


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    "N,M,d,k,dtype,kind",
    RANDOM_CASES,
    ids=[f"{c[0]}x{c[1]}x{c[2]}-k{c[3]}-{np.dtype(c[4]).name}-{c[5]}" for c in RANDOM_CASES],
)
def test_equals_prdc_package(seed, N, M, d, k, dtype, kind, capsys):
    real, fake = _make(1000 * seed + N + d, N, M, d, dtype, kind)
    ref = _prdc(real, fake, k, capsys)
    got = fastprdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    assert set(got) == KEYS
    for key in KEYS:
        assert type(got[key]) is float, f"{key} is {type(got[key])}, not a Python float"
        assert got[key] == ref[key], f"{key}: fastprdc {got[key]!r} != prdc {ref[key]!r}"
    # guard: on these inputs prdc's float32 distances make the exact decisions, so the
    # comparison above really is exact-vs-exact (fails here if a new sklearn changes that)
    c = brute_prdc_counts(real, fake, k, "strict")
    assert ref["precision"] == c["in_real_manifold"].mean()
    assert ref["coverage"] == c["covered"].mean()


def test_positional_call_and_fortran_input(capsys):
    real, fake = _make(5, 130, 110, 6, np.float32, "gauss")
    ref = _prdc(real, fake, 4, capsys)
    got = fastprdc.compute_prdc(np.asfortranarray(real), np.asfortranarray(fake), 4)
    assert got == {key: float(ref[key]) for key in KEYS}


def test_density_expression_is_prdcs():
    """density = (1.0 / float(k)) * counts.mean(), prdc's float expression, which
    differs in the last bit from count / (k M) on pub_lattice3 k=5."""
    real, fake, ref = load_reference("pub_lattice3")
    got = fastprdc.compute_prdc(real, fake, 5)
    assert got["density"] == 0.6040000000000001 == ref["prdc"]["k5"]["density"]
    assert ref["float64_oracle"]["prdc"]["k5_lt"]["density"] == 0.604


@pytest.mark.parametrize("case", ["pub_gauss8", "pub_lattice3", "pub_modes16"])
@pytest.mark.parametrize("k", [3, 5])
def test_reference_prdc_blocks(case, k, capsys):
    """The stored prdc==0.2 outputs, and prdc itself run here.

    pub_lattice3 has exact ties (592/695 real-ball ties at k=3/5). There our strict
    result must equal the float64_oracle ``*_lt`` numbers, and prdc's own stored numbers
    agree with them too (README "checks": precision/recall/coverage differences 0.0; the
    only difference is density at k=5, 1.1e-16, which is prdc's (1/k)*mean expression
    vs count/(kM)), because sklearn rounds the tied real-fake distance and the tied
    radius to the same float32 value. So exact ties do not separate prdc from fastprdc.
    """
    real, fake, ref = load_reference(case)
    block = ref["prdc"][f"k{k}"]
    lt = ref["float64_oracle"]["prdc"][f"k{k}_lt"]
    got = fastprdc.compute_prdc(real, fake, k)
    for key in KEYS:
        assert got[key] == block[key], (case, k, key)
    for key in ("precision", "recall", "coverage"):
        assert got[key] == lt[key], (case, k, key)
    assert abs(got["density"] - lt["density"]) <= 2.3e-16
    # the installed prdc reproduces the stored block
    live = _prdc(real, fake, k, capsys)
    for key in KEYS:
        assert live[key] == block[key], (case, k, key)
