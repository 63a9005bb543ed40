"""The ``cupy`` backend: the GPU pipeline (gpu_engine.py) with the same kernel sources as
``cuda`` (csrc/cuda/kernels.cuh, shipped with the package) compiled at run time by NVRTC, and the
GEMM tiles from cuBLAS through CuPy with the same explicit compute types. For installs built
without nvcc.

The kernels are compiled with our own NVRTC call and loaded as a module, not through
``cupy.RawModule``: RawModule appends ``-ftz=true`` after the caller's options, and the exactness
contract needs IEEE float32 subnormals (``-ftz=false``), like the nvcc build (CMakeLists.txt).
Compiled kernels are cached in memory per process and on disk (``FASTPRDC_KERNEL_CACHE``, default
``~/.cache/fastprdc``) under a hash of every header's text, the options and the NVRTC version.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core
from .._arrays import CUDA, DeviceMatrix, device_matrix, location
from . import gpu_env
from .gpu_engine import GpuEngine
from .gpu_ops import launch_block
from .gpu_settings import GEMM_PATHS

__all__ = ["CupyOps", "compile_kernels", "cupy_backend", "nvrtc_options"]

_ENTRY = '#include "cuda/kernel_entry.cuh"\n'


def nvrtc_options(arch: str, include: Path) -> tuple[str, ...]:
    """NVRTC options: the nvcc build's floating-point flags (no FMA contraction, IEEE division
    and square root, no flush to zero), C++17, the kernel headers; ``arch`` like "sm_90"."""
    return (
        "--std=c++17",
        "--fmad=false",
        "-ftz=false",
        "--prec-div=true",
        "--prec-sqrt=true",
        f"-arch={arch}",
        f"-I{include}",
    )


def _source_hash(include: Path, options: tuple[str, ...], version: tuple[int, int]) -> str:
    h = hashlib.sha256()
    for path in sorted(include.rglob("*")):
        if path.suffix in (".hpp", ".cuh"):
            h.update(str(path.relative_to(include)).encode())
            h.update(path.read_bytes())
    h.update(repr((options, version)).encode())
    return h.hexdigest()[:32]


def compile_kernels(arch: str, use_cache: bool = True) -> bytes:
    """The kernels of csrc/cuda/kernel_entry.cuh as a cubin for ``arch`` ("sm_90"), through NVRTC
    (needs no GPU), from the disk cache unless ``use_cache`` is False (the cached file is then
    rewritten). RuntimeError with NVRTC's log on failure."""
    from cupy_backends.cuda.libs import nvrtc

    include = gpu_env.kernel_source_dir()
    options = nvrtc_options(arch, include)
    version = tuple(nvrtc.getVersion())
    key = _source_hash(include, options, version)  # type: ignore[arg-type]
    cache = Path(os.environ.get("FASTPRDC_KERNEL_CACHE", Path.home() / ".cache" / "fastprdc"))
    cached = cache / f"kernels-{arch}-{key}.cubin"
    if use_cache and cached.is_file():
        return cached.read_bytes()
    prog = nvrtc.createProgram(_ENTRY, "fastprdc_kernels.cu", (), ())
    try:
        try:
            nvrtc.compileProgram(prog, options)
        except Exception as exc:
            log = nvrtc.getProgramLog(prog)
            raise RuntimeError(
                f"NVRTC could not compile the fastprdc kernels ({exc}):\n{log}"
            ) from exc
        cubin = bytes(nvrtc.getCUBIN(prog))
    finally:
        nvrtc.destroyProgram(prog)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(cubin)
        tmp.replace(cached)
    except OSError:
        pass  # a read-only home: compile again next time
    return cubin


class CupyOps:
    """Device operations through CuPy (see gpu_ops.GpuOps)."""

    name = "cupy"

    def __init__(self, device: int | None = None) -> None:
        """Operations on GPU ``device`` (None: the GPU current on this thread)."""
        import cupy
        from cupy_backends.cuda.libs import cublas

        self.cp = cupy
        self.cublas = cublas
        device = cupy.cuda.Device(device)
        self.arch = f"sm_{device.compute_capability}"
        self.device_id: int = int(device.id)
        self.multiprocessors = int(device.attributes["MultiProcessorCount"])
        cc = device.compute_capability  # "90"
        self.compute_capability = (int(cc[:-1]), int(cc[-1]))
        self.module: Any = None  # compiled at the first launch (NVRTC, cached on disk)
        self.functions: dict[str, Any] = {}
        alphas = {_core.gemm_alpha(path) for path in GEMM_PATHS}
        self._scalars = {v: np.array(v, dtype=np.float32) for v in (*alphas, 0.0, 1.0)}

    def empty(self, n: int, dtype: Any) -> Any:
        return self.cp.empty(max(int(n), 1), dtype=dtype)

    def full(self, n: int, value: float, dtype: Any) -> Any:
        return self.cp.full(max(int(n), 1), value, dtype=dtype)

    def upload(self, host: np.ndarray) -> Any:
        # ndarray.set copies from the pageable buffer itself; cupy.asarray would first copy it
        # into a pinned buffer of the same size from CuPy's pinned pool (16 GB of locked host
        # memory for two 1M x 2048 float32 sets), which the pool then keeps
        host = np.ascontiguousarray(host).reshape(-1)
        if not host.size:
            return self.empty(1, host.dtype)
        arr = self.cp.empty(host.size, dtype=host.dtype)
        arr.set(host)
        return arr

    def download(self, arr: Any, n: int | None = None) -> np.ndarray:
        return self.cp.asnumpy(arr.reshape(-1)[:n])

    def ptr(self, arr: Any) -> int:
        return int(arr.data.ptr)

    def wrap(self, x: Any) -> Any:
        if location(x) != CUDA:
            return None
        if isinstance(x, self.cp.ndarray) and x.flags.c_contiguous:
            return x.reshape(-1)
        d = device_matrix(x, getattr(x, "name", "input"))
        mem = self.cp.cuda.UnownedMemory(d.ptr, d.nbytes, d)
        return self.cp.ndarray(
            (d.shape[0] * d.shape[1],), d.dtype, self.cp.cuda.MemoryPointer(mem, 0)
        )

    def matrix(self, arr: Any, rows: int, cols: int) -> DeviceMatrix:
        return DeviceMatrix(arr.data.ptr, (rows, cols), arr.dtype, arr)

    def launch(self, kernel: str, n: int, p: np.ndarray, t: np.ndarray) -> None:
        if n <= 0:
            return
        fn = self.functions.get(kernel)
        if fn is None:
            if self.module is None:  # set only once loaded: a failed compile is retried
                self.module = self._load_module()
            fn = self.functions[kernel] = self.module.get_function(f"fastprdc_{kernel}")
        # The 0-d struct arrays go by value through their data pointer (CuPy's CNumpyArray);
        # as numpy scalars CuPy 14.0 would copy them into a 64-byte buffer (ours are larger).
        block = launch_block(int(n), self.multiprocessors)
        fn(((int(n) + block - 1) // block,), (block,), (p, t))

    def _load_module(self) -> Any:
        """The compiled kernels loaded on this device; a cached cubin the driver calls invalid
        (damaged on disk) is compiled again, once. Other driver errors (a fault left by an
        earlier kernel, no memory) are raised as they are."""
        module = self.cp.cuda.function.Module()
        try:
            module.load(compile_kernels(self.arch))
        except self.cp.cuda.driver.CUDADriverError as exc:
            if "INVALID_IMAGE" not in str(exc):
                raise
            module.load(compile_kernels(self.arch, use_cache=False))
        return module

    def gemm(
        self, path: str, tile: Any, a: Any, a0: int, ni: int, b: Any, b0: int, nj: int, d: int
    ):
        cb = self.cublas
        compute, dtype, width = _core.gemm_types(path)  # as the _cuda runtime calls cuBLAS
        alpha = self._scalars[_core.gemm_alpha(path)].ctypes.data
        handle = self.cp.cuda.device.get_cublas_handle()  # CuPy keeps one per thread

        def call(bm: Any, am: Any, beta: float) -> None:
            cb.gemmEx(
                handle, 1, 0, nj, ni, d, alpha,
                bm.data.ptr + b0 * d * width, dtype, d,
                am.data.ptr + a0 * d * width, dtype, d,
                self._scalars[beta].ctypes.data, tile.data.ptr, 0, nj, compute, -1,
            )  # fmt: skip

        if not _core.gemm_split(path):  # fp32, and tf32 and fp16 (operands rounded when packed)
            call(b, a, 0.0)
        else:
            (ab, as_), (bb, bs) = a, b
            call(bb, ab, 0.0)
            call(bs, ab, 1.0)
            call(bb, as_, 1.0)

    def synchronize(self) -> None:
        self.cp.cuda.Device().synchronize()

    def stream(self) -> Any:
        return self.cp.cuda.Stream()

    def event(self) -> Any:
        return self.cp.cuda.Event(disable_timing=True)

    def on(self, stream: Any) -> Any:
        # a context manager making it this thread's current stream, which launches (no stream
        # given) and cuBLAS calls (CuPy sets the handle's stream before each) then use
        return stream

    def record(self, event: Any, stream: Any) -> None:
        event.record(stream)

    def wait(self, stream: Any, event: Any) -> None:
        stream.wait_event(event)

    def host_wait(self, event: Any) -> None:
        event.synchronize()

    def free_bytes(self) -> int | None:
        free, _ = self.cp.cuda.runtime.memGetInfo()
        return int(free) + int(self.cp.get_default_memory_pool().free_bytes())

    def current(self) -> Any:
        return self.cp.cuda.Device(self.device_id)  # a context manager: restores the caller's

    def current_device(self) -> int:
        return int(self.cp.cuda.runtime.getDevice())

    def release(self) -> None:
        # CuPy's pool would keep the run's tiles and scratch (gigabytes at 1M rows) cached,
        # out of reach of torch or other processes; blocks in use are not touched.
        self.cp.get_default_memory_pool().free_all_blocks()
        self.cp.get_default_pinned_memory_pool().free_all_blocks()  # if anything staged there


def cupy_backend(gemm_path: str | None = None, device: int | None = None) -> GpuEngine:
    """The ``cupy`` backend on GPU ``device`` (None: the GPU current on this thread);
    RuntimeError with the reason when it cannot run here."""
    import cupy

    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise RuntimeError(f"CuPy is installed, but no CUDA device is usable ({exc})") from exc
    if n < 1:
        raise RuntimeError("CuPy is installed, but no CUDA device is visible")
    try:
        from cupy_backends.cuda.libs import nvrtc

        version = ".".join(map(str, nvrtc.getVersion()))
        archs = tuple(int(a) for a in nvrtc.getSupportedArchs())
    except Exception as exc:
        raise RuntimeError(f"CuPy works, but its NVRTC does not load ({exc})") from exc
    gpu_env.check_gpu_index(device, n)
    cc = int(cupy.cuda.Device(device).compute_capability)
    if cc not in archs:
        raise RuntimeError(
            f"NVRTC {version} cannot compile for this GPU (compute capability {cc}; it supports "
            f"{', '.join(map(str, archs))})"
        )
    gpu_env.check_precision_environment()
    return GpuEngine(CupyOps(device), "cupy", gemm_path=gemm_path)


def describe() -> dict[str, Any]:
    """CuPy's version, its device and NVRTC (never raises)."""
    from . import _describe_error

    out: dict[str, Any] = {}
    try:
        import cupy
    except Exception as exc:
        out["installed"] = False
        out["import_error"] = _describe_error(exc)
        return out
    out["installed"] = True
    out["version"] = str(cupy.__version__)
    try:
        from cupy_backends.cuda.libs import nvrtc

        out["nvrtc"] = ".".join(map(str, nvrtc.getVersion()))
    except Exception as exc:
        out["nvrtc"] = f"unavailable: {_describe_error(exc)}"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:
        out["devices"] = 0
        out["device_error"] = _describe_error(exc)
        return out
    out["devices"] = count
    if count:
        try:
            props = cupy.cuda.runtime.getDeviceProperties(0)
        except Exception as exc:
            out["device_error"] = _describe_error(exc)
            return out
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        out["compute_capability"] = f"{props['major']}.{props['minor']}"
        out["device"] = f"{name} (compute capability {out['compute_capability']})"
    return out
