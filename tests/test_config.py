"""``show_config()`` (and ``fastprdc info``) and the backend registry; importing the package
is tested in ``test_imports.py``."""

from __future__ import annotations

import io
import types

import numpy as np
import pytest
from _helpers import OnGpu

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


@pytest.mark.parametrize(
    ("text", "want"),
    [("auto", ("auto", None)), (" CPU ", ("cpu", None)), ("cuda", ("cuda", None)),
     ("cuda:0", ("cuda", 0)), ("CuPy:12", ("cupy", 12))],
)  # fmt: skip
def test_parse_device(text, want):
    assert _backends.parse_device(text) == want


@pytest.mark.parametrize(
    ("text", "match"),
    [("tpu", "unknown device 'tpu'"), ("cuda:", "GPU index"), ("cuda:-1", "GPU index"),
     ("cuda:x", "GPU index"), ("cpu:0", "only the GPU backends"), ("sim:1", "GPU index"),
     ("cuda:1:2", "GPU index")],
)  # fmt: skip
def test_bad_device_names(text, match):
    with pytest.raises(ValueError, match=match):
        _backends.parse_device(text)
    with pytest.raises(ValueError, match=match):
        fastprdc.precision_recall(np.zeros((5, 2)), np.ones((5, 2)), device=text)


class _FakeOps:
    def __init__(self, gpus, device_id):
        self.gpus, self.device_id = gpus, device_id

    def current_device(self):
        return self.gpus.current


class _FakeGpus:
    """GPU backends on fake GPUs: a loader per backend that makes one engine per GPU (or
    fails with the reason given), and the calling thread's current GPU."""

    def __init__(self, count, current=0):
        self.count, self.current, self.made = count, current, []

    def loader(self, name, broken=None):
        def load(index=None):
            if broken:
                raise RuntimeError(broken)
            index = self.current if index is None else index
            if not 0 <= index < self.count:
                raise RuntimeError(f"there is no GPU {index}")
            self.made.append((name, index))
            return types.SimpleNamespace(name=name, ops=_FakeOps(self, index))

        return load


def _on_gpu(index):
    """A small array on GPU ``index`` (as its DLPack device says)."""
    return OnGpu(np.zeros((4, 2), np.float32), index)


@pytest.fixture
def fake_gpus(monkeypatch):
    """Three fake GPUs behind the cuda and cupy backends, with an empty registry cache."""
    gpus = _FakeGpus(3)
    monkeypatch.setattr(_backends, "_loaded", {})
    monkeypatch.setattr(_backends, "_reasons", {})
    for name in ("cuda", "cupy"):
        monkeypatch.setitem(_backends._LOADERS, name, gpus.loader(name))
    return gpus


def _where(backend):
    return backend.name, backend.ops.device_id


def test_gpu_backends_follow_the_inputs_gpu(fake_gpus):
    """auto and a GPU backend without an index run on the GPU the inputs are on; with host
    inputs, on the current GPU; one backend per GPU, the same one each time."""
    resolve = _backends.resolve_device
    assert _where(resolve("auto", _on_gpu(2), _on_gpu(2))) == ("cuda", 2)
    assert _where(resolve("cuda", _on_gpu(1))) == ("cuda", 1)
    assert _where(resolve("cupy", _on_gpu(1), None)) == ("cupy", 1)
    assert _where(resolve("cuda")) == ("cuda", 0)
    assert _where(resolve("cuda", np.zeros((3, 2)))) == ("cuda", 0)
    fake_gpus.current = 2
    assert _where(resolve("cuda")) == ("cuda", 2)
    assert _where(_backends.get_backend("cuda")) == ("cuda", 2)
    assert _where(resolve("cuda:1", np.zeros((3, 2)))) == ("cuda", 1)
    assert resolve("auto", _on_gpu(1)) is resolve("cuda:1") is resolve("cuda", _on_gpu(1))
    # "cuda" first loaded on GPU 0 is also "cuda:0"; no backend made twice
    assert resolve("cuda:0") is _backends._loaded["cuda"]
    assert sorted(fake_gpus.made) == [("cuda", 0), ("cuda", 1), ("cuda", 2), ("cupy", 1)]
    assert resolve("auto", np.zeros((3, 2))).name == "cpu"


def test_one_backend_per_gpu_however_named(fake_gpus):
    """A GPU named by its index first is the same backend as the current GPU's later; asking
    for GPU 2 makes nothing on the current GPU (no stray CUDA context on GPU 0)."""
    on_2 = _backends.get_backend("cupy:2")
    assert fake_gpus.made == [("cupy", 2)]
    fake_gpus.current = 2
    assert _backends.get_backend("cupy") is on_2 is _backends.resolve_device("cupy", _on_gpu(2))


def test_results_name_the_gpu_that_ran(fake_gpus):
    """result.info["backend"] is the backend's name, with its GPU for a GPU backend."""
    assert _backends.backend_label(_backends.get_backend("cuda:2")) == "cuda:2"
    assert _backends.backend_label(_backends.get_backend("cupy")) == "cupy:0"
    assert _backends.backend_label(_backends.get_backend("cpu")) == "cpu"
    assert _backends.backend_label(_backends.get_backend("sim")) == "sim"  # no GPU: its name


def test_inputs_on_two_gpus_are_refused(fake_gpus):
    with pytest.raises(ValueError, match=r"different GPUs \(real on GPU 0, fake on GPU 1\)"):
        _backends.resolve_device("auto", _on_gpu(0), _on_gpu(1), names=("real", "fake"))
    with pytest.raises(ValueError, match=r"different GPUs"):
        _backends.resolve_device("cuda", _on_gpu(2), _on_gpu(0))


def test_gpu_index_past_the_visible_gpus(fake_gpus):
    with pytest.raises(RuntimeError, match=r"backend 'cuda:3' is unavailable: there is no GPU 3"):
        _backends.get_backend("cuda:3")
    with pytest.raises(RuntimeError, match=r"'cupy:7' is unavailable: there is no GPU 7"):
        _backends.resolve_device("cupy:7", np.zeros((3, 2)))
    assert _where(_backends.get_backend("cuda:2")) == ("cuda", 2)  # the others still load


def test_auto_falls_back_to_cupy_on_the_inputs_gpu(fake_gpus, monkeypatch):
    monkeypatch.setitem(_backends._LOADERS, "cuda", fake_gpus.loader("cuda", "not built"))
    assert _where(_backends.resolve_device("auto", _on_gpu(1))) == ("cupy", 1)
    monkeypatch.setitem(_backends._LOADERS, "cupy", fake_gpus.loader("cupy", "no CuPy"))
    monkeypatch.setattr(_backends, "_loaded", {})
    monkeypatch.setattr(_backends, "_reasons", {})
    with pytest.raises(RuntimeError, match=r"no GPU backend is available \(cuda: not built; "
                       r"cupy: no CuPy\)"):  # fmt: skip
        _backends.resolve_device("auto", _on_gpu(1))


def test_gpu_index_check_names_the_visible_gpus(monkeypatch):
    from fastprdc._backends.gpu_env import check_gpu_index

    check_gpu_index(None, 1)
    check_gpu_index(1, 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
    with pytest.raises(RuntimeError, match=r"no GPU 2: this process sees 2 GPUs \(numbered 0 to "
                       r"1, CUDA_VISIBLE_DEVICES=4,5\)"):  # fmt: skip
        check_gpu_index(2, 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    with pytest.raises(RuntimeError, match=r"sees 1 GPU \(numbered 0 to 0\)"):
        check_gpu_index(-1, 1)


def test_native_build_info():
    from fastprdc import _core as core

    info = core.build_info()
    for key in ("version", "compiler", "openmp", "omp_max_threads", "blas", "blas_config",
                "simd", "cuda_sources"):  # fmt: skip
        assert key in info, key
    assert info["version"] == fastprdc.__version__ or fastprdc.__version__ == "0+unknown"
