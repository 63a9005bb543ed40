"""Shared fixtures of the compat tests: reference cases, upstream modules, patch hygiene.

Upstreams installable from PyPI (prdc here; torch-fidelity, piq, synthcity in the
``compat`` extra) are run side by side with fastprdc.compat; a missing one skips its
tests with a reason. Upstreams that are not on PyPI are tested against the reference JSON
blocks of ``tests/data/reference`` and against brute-force numpy renderings of their code
written in the test files.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from _helpers import REFERENCE_CASES, load_reference

import fastprdc.compat


def ref_floats(values):
    """A JSON list (or scalar) of reference floats, with "Infinity"/"-Infinity"/"NaN"."""

    def one(v):
        if isinstance(v, str):
            return {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}[v]
        return float(v)

    if isinstance(values, list):
        return np.array([one(v) for v in values], dtype=np.float64)
    return one(values)


def lattice_pair(rng, n=150, m=130, d=3, dtype=np.float32):
    """Coordinates on a 0.5 grid: exact duplicates, zero radii and exact distance ties."""
    real = np.round(2 * rng.standard_normal((n, d))) / 2
    fake = np.round(2 * rng.standard_normal((m, d))) / 2 + 0.5
    return real.astype(dtype), fake.astype(dtype)


def gauss_pair(rng, n=200, m=170, d=8, dtype=np.float32):
    real = rng.standard_normal((n, d))
    fake = 0.3 + 1.1 * rng.standard_normal((m, d))
    return real.astype(dtype), fake.astype(dtype)


@pytest.fixture(params=REFERENCE_CASES)
def ref_case(request):
    """One reference case: ``.name``, ``.real``, ``.fake`` (float32) and ``.ref`` (JSON)."""
    real, fake, ref = load_reference(request.param)
    return SimpleNamespace(name=request.param, real=real, fake=fake, ref=ref)


@pytest.fixture
def upstream_prdc():
    """The installed prdc package's ``prdc.prdc`` module (skips when prdc is missing)."""
    pytest.importorskip("prdc", reason="prdc is not installed (pip install prdc==0.2)")
    import sys

    import prdc.prdc  # noqa: F401

    return sys.modules["prdc.prdc"]


@pytest.fixture(autouse=True)
def _no_patch_leaks():
    """Every test leaves every library unpatched."""
    yield
    for name in fastprdc.compat.patchable():
        if fastprdc.compat.is_patched(name):
            fastprdc.compat.unpatch(name)
