"""The GPU backends' build, without a GPU: the CUDA extension compiles and imports (CI has nvcc),
the cupy path's kernel text compiles through NVRTC, the kernels' parameter structs agree between
the host compiler and nvcc, and every unavailable backend says why.

CI sets FASTPRDC_REQUIRE_CUDA_BUILD=1 and FASTPRDC_REQUIRE_NVRTC=1 so that these checks fail
instead of skipping when a piece is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import fastprdc
from fastprdc import _core
from fastprdc._backends import available_backends, get_backend
from fastprdc._backends.gpu_ops import params, tile_args

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARCHITECTURES = ["80-real", "90-real", "90-virtual"]


def _require(env: str, reason: str) -> None:
    if os.environ.get(env) == "1":
        pytest.fail(f"{reason} ({env}=1)")
    pytest.skip(reason)


def _cuda_module():
    try:
        import fastprdc._cuda as module
    except ImportError as exc:
        _require("FASTPRDC_REQUIRE_CUDA_BUILD", f"fastprdc._cuda not built here: {exc}")
    return module


def test_cuda_extension_built_when_nvcc_exists():
    if shutil.which("nvcc") is None or os.environ.get("FASTPRDC_CUDA") == "OFF":
        _require("FASTPRDC_REQUIRE_CUDA_BUILD", "no nvcc, or FASTPRDC_CUDA=OFF")
    module = _cuda_module()
    info = module.build_info()
    assert info["architectures"], info
    if os.environ.get("FASTPRDC_REQUIRE_CUDA_BUILD") == "1":  # CI builds the default list
        assert info["architectures"] == DEFAULT_ARCHITECTURES, info
    assert _core.build_info()["cuda"].startswith("built for architectures")


def test_default_architectures_are_ampere_and_hopper_plus_ptx():
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert f'set(CMAKE_CUDA_ARCHITECTURES "{";".join(DEFAULT_ARCHITECTURES)}")' in cmake


def test_kernel_parameter_structs_agree_between_compilers():
    """The same structs, laid out by g++ (_core) and by nvcc (_cuda): equal sizes, every kernel
    known to both under the same name."""
    module = _cuda_module()
    layouts = _core.kernel_param_layouts()
    host = {name: layouts[struct][0] for name, struct in _core.kernel_names()}
    device = dict(module.build_info()["kernels"])
    assert host == device


def test_kernel_parameter_layout_is_packed_as_declared():
    """The numpy structured dtypes built from the exported layout hold every field where the
    C++ struct has it (a round trip through the bytes the launchers copy)."""
    p = params("CrossParams", n_a=7, frame_scale=0.5, coef=0.25, ta_k=3, rechecks=12345)
    raw = p.tobytes()
    size, fields = _core.kernel_param_layouts()["CrossParams"]
    assert len(raw) == size
    offsets = {name: (offset, code) for name, code, offset in fields}
    for name, value in (("n_a", 7), ("frame_scale", 0.5), ("coef", 0.25), ("ta_k", 3)):
        offset, code = offsets[name]
        got = np.frombuffer(raw, dtype=np.dtype(code), count=1, offset=offset)[0]
        assert got == value, name
    t = tile_args(1, 2, 3, 4, tile=5, diagonal=True)
    assert len(t.tobytes()) == _core.kernel_param_layouts()["TileArgs"][0]


def test_nvrtc_compiles_the_kernel_text(tmp_path, monkeypatch):
    """The cupy backend's kernels (the same headers as the nvcc build) compile through NVRTC for
    Ampere and Hopper without a GPU; the result is a cubin."""
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()  # loads libnvrtc: CuPy without the toolkit's NVRTC fails here
    except Exception as exc:
        _require("FASTPRDC_REQUIRE_NVRTC", f"CuPy's NVRTC is not usable: {exc}")
    from fastprdc._backends.cupy_backend import compile_kernels

    monkeypatch.setenv("FASTPRDC_KERNEL_CACHE", str(tmp_path))
    cubin = compile_kernels("sm_90")
    assert cubin[:4] == b"\x7fELF"
    assert list(tmp_path.glob("kernels-sm_90-*.cubin")), "compiled kernels are cached on disk"
    assert compile_kernels("sm_90") == cubin  # from the cache


def test_launch_blocks_reach_every_multiprocessor():
    from fastprdc._backends.gpu_ops import launch_block

    assert launch_block(8192, 132) == 32  # a thread per row of an 8192-row tile: 256 blocks
    assert launch_block(8192 * 2048, 132) == 128  # a thread per element
    assert launch_block(3, 132) == 32  # never below one warp
    for n in (1, 100, 8192, 20_000, 40_000, 10**6):
        block = launch_block(n, 132)
        assert block in (32, 64, 128)
        assert block == 32 or -(-n // block) >= 2 * 132  # fewer blocks only when too few


def test_a_cached_cubin_that_does_not_load_is_compiled_again(monkeypatch):
    """A cubin the driver calls invalid (damaged in the cache) is compiled afresh, once,
    instead of failing every later run; another driver error is raised as it is."""
    from types import SimpleNamespace

    from fastprdc._backends import cupy_backend

    class DriverError(Exception):
        pass

    class Module:
        def load(self, data):
            if data != b"whole cubin":
                raise DriverError("CUDA_ERROR_INVALID_IMAGE: device kernel image is invalid")
            self.data = data

    calls = []

    def compile_kernels(arch, use_cache=True):
        calls.append((arch, use_cache))
        return b"cut sh" if use_cache else b"whole cubin"

    monkeypatch.setattr(cupy_backend, "compile_kernels", compile_kernels)
    ops = cupy_backend.CupyOps.__new__(cupy_backend.CupyOps)  # no device here
    ops.arch = "sm_90"
    ops.cp = SimpleNamespace(
        cuda=SimpleNamespace(function=SimpleNamespace(Module=Module),
                             driver=SimpleNamespace(CUDADriverError=DriverError))
    )  # fmt: skip
    assert ops._load_module().data == b"whole cubin"
    assert calls == [("sm_90", True), ("sm_90", False)]

    def faulted(self, data):
        raise DriverError("CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered")

    monkeypatch.setattr(Module, "load", faulted)
    calls.clear()
    with pytest.raises(DriverError, match="ILLEGAL_ADDRESS"):
        ops._load_module()
    assert calls == [("sm_90", True)]  # no recompile


def test_nvrtc_options_match_the_nvcc_build():
    """Both builds use the same floating-point flags (CMakeLists.txt)."""
    from fastprdc._backends.cupy_backend import nvrtc_options
    from fastprdc._backends.gpu_env import kernel_source_dir

    opts = nvrtc_options("sm_90", kernel_source_dir())
    cmake = (REPO / "CMakeLists.txt").read_text()  # the installed package has no CMakeLists
    for flag in ("--fmad=false", "--prec-div=true", "--prec-sqrt=true", "-ftz=false"):
        assert flag in opts and flag in cmake, flag


def test_every_unavailable_backend_says_why():
    reasons = available_backends()
    assert set(reasons) == {"cpu", "cuda", "cupy", "sim", "numpy"}
    assert reasons["cpu"] is None and reasons["numpy"] is None and reasons["sim"] is None
    for name in ("cuda", "cupy"):
        if reasons[name] is not None:
            assert len(reasons[name]) > 10
            with pytest.raises(RuntimeError, match=name):
                get_backend(name)


def test_gpu_resident_inputs_without_gpu_backend_raise_clearly(monkeypatch):
    """device='auto' with GPU-resident inputs and no usable GPU backend: a RuntimeError naming
    the reasons (a stand-in object with __cuda_array_interface__ plays the GPU array)."""
    reasons = available_backends()
    if reasons["cuda"] is None or reasons["cupy"] is None:
        pytest.skip("a GPU backend is available here")

    class FakeGpuArray:
        __cuda_array_interface__ = {  # noqa: RUF012
            "shape": (5, 2),
            "typestr": "<f4",
            "data": (0, True),
            "version": 3,
        }

    with pytest.raises(RuntimeError, match="no GPU backend is available"):
        fastprdc.evaluate(FakeGpuArray(), FakeGpuArray())
    with pytest.raises(ValueError, match="different devices"):
        fastprdc.evaluate(FakeGpuArray(), np.zeros((5, 2)))


def test_show_config_reports_the_gpu_stack():
    import io

    buf = io.StringIO()
    cfg = fastprdc.show_config(file=buf)
    text = buf.getvalue()
    assert "fastprdc._cuda" in text and "gemm path" in text and "precision env" in text
    assert "tile gates" in text and "tile group" in text
    assert cfg["backends"] == available_backends()
    if cfg["cuda"].get("built"):
        assert cfg["cuda"]["architectures"]
        assert "cuda runtime" in text


def test_show_config_lists_every_gpu(monkeypatch):
    """With several GPUs, `fastprdc info` lists each with its index (device="cuda:<i>")."""
    import io

    _cuda = pytest.importorskip("fastprdc._cuda", reason="the CUDA extension is not built")
    gpus = [("NVIDIA H200", "9.0", 141), ("NVIDIA A100-SXM4-80GB", "8.0", 80)]

    def info(i):
        name, cc, gib = gpus[i]
        return {"name": name, "compute_capability": cc, "total_memory": gib * 2**30,
                "multiprocessors": 100, "index": i}  # fmt: skip

    monkeypatch.setattr(_cuda, "device_count", lambda: len(gpus))
    monkeypatch.setattr(_cuda, "device_info", info)
    buf = io.StringIO()
    cfg = fastprdc.show_config(file=buf)
    want = ["0: NVIDIA H200 (compute capability 9.0), 141.0 GiB",
            "1: NVIDIA A100-SXM4-80GB (compute capability 8.0), 80.0 GiB"]  # fmt: skip
    assert cfg["cuda"]["gpus"] == want
    for line in want:
        assert line in buf.getvalue()
