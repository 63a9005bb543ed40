"""``show_config()`` (and ``fastprdc info``) and the backend registry; importing the package
is tested in ``test_imports.py``."""

from __future__ import annotations

import io

import numpy as np
import pytest

import fastprdc
from fastprdc import _backends


def test_show_config_contents():
    buf = io.StringIO()
    cfg = fastprdc.show_config(file=buf)
    text = buf.getvalue()
    assert isinstance(cfg, dict)
    for key in ("fastprdc", "python", "numpy", "core", "cuda", "cupy", "backends"):
        assert key in cfg, key
    assert cfg["fastprdc"] == fastprdc.__version__
    core = cfg["core"]
    assert core["available"] is True, core.get("reason")
    for key in ("version", "compiler", "openmp", "omp_max_threads", "blas", "simd"):
        assert key in core, key
    assert isinstance(core["openmp"], bool)
    assert isinstance(core["omp_max_threads"], int) and core["omp_max_threads"] >= 1
    assert core["blas"]
    # every unavailable backend carries its reason
    backends = cfg["backends"]
    assert backends["numpy"] is None and backends["cpu"] is None
    for name in ("cuda", "cupy"):
        assert name in backends
        assert backends[name] is None or (isinstance(backends[name], str) and backends[name])
    if not cfg["cuda"].get("built"):
        assert cfg["cuda"]["reason"]
    for word in ("fastprdc", "blas", "openmp", "backends"):
        assert word in text.lower(), word
    # JSON-serialisable
    import json

    json.dumps(cfg)


def test_show_config_never_raises(monkeypatch):
    """Even with the native core, CUDA and CuPy all failing to import."""
    import importlib

    import fastprdc._config as config

    real_import = importlib.import_module

    def broken(name, *args, **kwargs):
        if name in ("fastprdc._core", "fastprdc._cuda", "cupy"):
            raise ImportError(f"simulated failure of {name}")
        if name == "fastprdc._backends":
            raise RuntimeError("simulated registry failure")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(config.importlib, "import_module", broken)
    buf = io.StringIO()
    cfg = fastprdc.show_config(file=buf)
    assert cfg["core"]["available"] is False
    assert "simulated failure" in cfg["core"]["reason"]
    assert "UNAVAILABLE" in buf.getvalue() or "unavailable" in buf.getvalue().lower()


def test_available_backends():
    avail = _backends.available_backends()
    assert set(avail) >= {"numpy", "cpu", "cuda", "cupy"}
    assert avail["numpy"] is None
    assert avail["cpu"] is None, avail["cpu"]
    for name, reason in avail.items():
        if reason is not None:
            assert isinstance(reason, str) and reason, name
            with pytest.raises(RuntimeError, match=name):
                _backends.get_backend(name)


def test_resolve_device():
    assert _backends.resolve_device("auto", np.zeros((3, 2))).name == "cpu"
    assert _backends.resolve_device("numpy").name == "numpy"
    assert _backends.resolve_device("cpu").name == "cpu"
    with pytest.raises(ValueError, match="nonsense"):
        _backends.get_backend("nonsense")


def test_native_build_info():
    from fastprdc import _core as core

    info = core.build_info()
    for key in ("version", "compiler", "openmp", "omp_max_threads", "blas", "blas_config",
                "simd", "cuda_sources"):  # fmt: skip
        assert key in info, key
    assert info["version"] == fastprdc.__version__ or fastprdc.__version__ == "0+unknown"
