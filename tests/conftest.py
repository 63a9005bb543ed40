"""Shared pytest fixtures (data generators and the oracle live in ``_helpers.py``)."""

from __future__ import annotations

import builtins
import contextlib
import sys
import warnings
import zlib

import _gpu_rehearsal
import numpy as np
import pytest
from _helpers import (
    BACKENDS,
    BOUNDARIES,
    DTYPES,
    FAST_BACKENDS,
    ORDERS,
    REFERENCE_CASES,
    load_reference,
    require_backend,
)

# When a hypothesis test fails, hypothesis's pytest plugin imports
# hypothesis.extra._patching (to suggest an @example patch), which imports libcst when it
# is installed; libcst's import raises a DeprecationWarning (mypy_extensions.TypedDict),
# and with `filterwarnings = error` that becomes an INTERNALERROR that aborts the whole
# session instead of reporting the failure. Import it once here, warnings silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    with contextlib.suppress(ImportError):  # no libcst: hypothesis skips the patch
        import hypothesis.extra._patching  # noqa: F401

if _gpu_rehearsal.ACTIVE:  # FASTPRDC_GPU_REHEARSAL=1: the GPU tests on the sim engine
    _gpu_rehearsal.install()


def pytest_collection_modifyitems(config, items):
    if _gpu_rehearsal.ACTIVE:
        for item in items:
            why = _gpu_rehearsal.NEEDS_DEVICE.get(item.originalname)
            if why:
                item.add_marker(pytest.mark.skip(reason=f"GPU rehearsal: the test {why}"))


# ---------------------------------------------------------------------------
# parametrised fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Every backend name, the numpy reference included. The cpu backend is *required*: if the
    native module is missing the cpu-parametrised tests fail (they are not skipped); the GPU
    backends skip with the registry's reason where they are unavailable."""
    return require_backend(request.param)


@pytest.fixture(params=FAST_BACKENDS)
def fast_backend(request):
    """Every fast backend (compared with the numpy oracle): cpu always, GPU backends where
    available (else skipped with the reason)."""
    return require_backend(request.param)


@pytest.fixture(params=DTYPES, ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture(params=ORDERS)
def order(request):
    return request.param


@pytest.fixture(params=BOUNDARIES)
def boundary(request):
    return request.param


@pytest.fixture
def rng(request):
    """A seeded Generator; the seed depends on the test id so that every
    parametrisation gets different (but reproducible) data."""
    # module + test name (not the nodeid, which depends on the invocation directory)
    seed = zlib.crc32(f"{request.node.module.__name__}::{request.node.name}".encode())
    return np.random.default_rng(seed)


@pytest.fixture(params=REFERENCE_CASES)
def reference_case(request):
    return (request.param, *load_reference(request.param))


@pytest.fixture
def no_matplotlib(monkeypatch):
    """Make ``import matplotlib...`` fail as when it is not installed (for this test)."""
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
