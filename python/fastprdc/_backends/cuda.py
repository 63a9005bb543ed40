"""The ``cuda`` backend: the GPU pipeline (gpu_engine.py) on ``fastprdc._cuda`` (kernels compiled
by nvcc, cuBLAS loaded at run time, memory through cudaMalloc; no CuPy needed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import _core
from .._arrays import CUDA, DeviceMatrix, device_matrix, location
from . import gpu_env
from .gpu_engine import GpuEngine
from .gpu_ops import launch_block
from .gpu_settings import parse_capability

__all__ = ["CudaOps", "cuda_backend"]


class _Buffer:
    """A flat typed view of device memory, owning it (DeviceBuffer) or not (an input's)."""

    def __init__(self, ptr: int, n: int, dtype: Any, owner: Any) -> None:
        self.ptr, self.n, self.dtype, self.owner = int(ptr), int(n), np.dtype(dtype), owner


class CudaOps:
    """Device operations through fastprdc._cuda (see gpu_ops.GpuOps)."""

    name = "cuda"

    def __init__(self, module: Any, device: int | None = None) -> None:
        """Operations on GPU ``device`` (None: the GPU current on this thread)."""
        self.m = module
        self._local = threading.local()  # the stream of this thread's launches and GEMMs
        self.device_id: int = self.current_device() if device is None else int(device)
        info = module.device_info(self.device_id)
        self.multiprocessors = int(info["multiprocessors"])
        self.compute_capability = parse_capability(info["compute_capability"])
        self.cublas_path = ""
        errors = []
        major = int(module.runtime_info()["runtime_version"]) // 1000
        with self.current():  # the cuBLAS handle belongs to the device current at its creation
            for path in ["", *gpu_env.cublas_candidates(major)]:
                try:
                    self.cublas_path = module.init_cublas(path)
                    break
                except RuntimeError as exc:
                    errors.append(str(exc))
            else:
                raise RuntimeError(
                    f"cuBLAS {major} not found ({errors[0]}); install the toolkit's cuBLAS or "
                    f"`pip install nvidia-cublas` (CUDA {major})"
                )

    def current_device(self) -> int:
        return int(self.m.current_device())

    def empty(self, n: int, dtype: Any) -> _Buffer:
        dtype = np.dtype(dtype)
        n = max(int(n), 1)
        buf = self.m.DeviceBuffer(n * dtype.itemsize)
        return _Buffer(buf.ptr, n, dtype, buf)

    def full(self, n: int, value: float, dtype: Any) -> _Buffer:
        arr = self.empty(n, dtype)
        self.m.fill(arr.ptr, np.array(value, dtype=arr.dtype).tobytes(), arr.n)
        return arr

    def upload(self, host: np.ndarray) -> _Buffer:
        host = np.ascontiguousarray(host)
        arr = self.empty(host.size, host.dtype)
        self.m.upload(arr.ptr, host.reshape(-1))
        return arr

    def download(self, arr: _Buffer, n: int | None = None) -> np.ndarray:
        out = np.empty(arr.n if n is None else int(n), dtype=arr.dtype)
        if out.size:
            self.m.download(out, arr.ptr)
        return out

    def ptr(self, arr: _Buffer) -> int:
        return arr.ptr

    def wrap(self, x: Any) -> _Buffer | None:
        if location(x) != CUDA:
            return None
        d = device_matrix(x, getattr(x, "name", "input"))
        return _Buffer(d.ptr, d.shape[0] * d.shape[1], d.dtype, d)

    def matrix(self, arr: _Buffer, rows: int, cols: int) -> DeviceMatrix:
        return DeviceMatrix(arr.ptr, (rows, cols), arr.dtype, arr)

    def launch(self, kernel: str, n: int, p: np.ndarray, t: np.ndarray) -> None:
        block = launch_block(int(n), self.multiprocessors)
        self.m.launch(kernel, int(n), p.tobytes(), t.tobytes(), block, self._stream())

    def gemm(
        self, path: str, tile: _Buffer, a: Any, a0: int, ni: int, b: Any, b0: int, nj: int, d: int
    ):
        (ab, as_), (bb, bs) = (a, b) if _core.gemm_split(path) else ((a, None), (b, None))
        self.m.gemm(
            path,
            tile.ptr,
            ab.ptr,
            as_.ptr if as_ else 0,
            a0,
            ni,
            bb.ptr,
            bs.ptr if bs else 0,
            b0,
            nj,
            d,
            self._stream(),
        )

    def synchronize(self) -> None:
        self.m.synchronize()

    def _stream(self) -> int:
        return getattr(self._local, "stream", 0)  # 0: the legacy default stream

    def stream(self) -> Any:
        return self.m.Stream()

    def event(self) -> Any:
        return self.m.Event()

    @contextmanager
    def on(self, stream: Any) -> Iterator[None]:
        before, self._local.stream = self._stream(), stream.handle
        try:
            yield
        finally:
            self._local.stream = before

    def record(self, event: Any, stream: Any) -> None:
        self.m.record_event(event.handle, stream.handle)

    def wait(self, stream: Any, event: Any) -> None:
        self.m.stream_wait(stream.handle, event.handle)

    def host_wait(self, event: Any) -> None:
        self.m.event_synchronize(event.handle)

    def free_bytes(self) -> int | None:
        return int(self.m.mem_info()[0])

    @contextmanager
    def current(self) -> Iterator[None]:
        before = self.current_device()
        if before != self.device_id:
            self.m.set_device(self.device_id)
        try:
            yield
        finally:
            if before != self.device_id:
                self.m.set_device(before)

    def release(self) -> None:
        pass  # every DeviceBuffer is cudaFree'd when its last reference goes


def cuda_backend(gemm_path: str | None = None, device: int | None = None) -> GpuEngine:
    """The ``cuda`` backend on GPU ``device`` (None: the GPU current on this thread);
    RuntimeError with the reason when it cannot run here."""
    import fastprdc._cuda as module

    try:
        n = module.device_count()
    except RuntimeError as exc:
        raise RuntimeError(
            f"fastprdc._cuda is built, but no CUDA device is usable ({exc})"
        ) from exc
    if n < 1:
        raise RuntimeError("fastprdc._cuda is built, but no CUDA device is visible")
    gpu_env.check_gpu_index(device, n)
    gpu_env.check_precision_environment()
    ops = CudaOps(module, device)
    with ops.current():
        module.synchronize()  # order after the producers of device-resident inputs
    return GpuEngine(ops, "cuda", gemm_path=gemm_path)


def _device_text(dev: dict[str, Any]) -> tuple[str, float]:
    """A device's name with its compute capability, and its memory in GiB."""
    name = f"{dev['name']} (compute capability {dev['compute_capability']})"
    return name, round(dev["total_memory"] / 2**30, 1)


def describe() -> dict[str, Any]:
    """What the CUDA extension was built with and what it sees (never raises)."""
    from . import _describe_error

    out: dict[str, Any] = {}
    try:
        import fastprdc._cuda as module
    except Exception as exc:
        out["built"] = False
        out["import_error"] = _describe_error(exc)
        return out
    out["built"] = True
    info = module.build_info()
    out["architectures"] = list(info["architectures"])
    out.update(module.runtime_info())
    try:
        count = module.device_count()
    except Exception as exc:
        out["devices"] = 0
        out["device_error"] = _describe_error(exc)
        return out
    out["devices"] = count
    if count:
        dev = module.device_info(0)
        out["device"], out["device_memory_gib"] = _device_text(dev)
        out["compute_capability"] = dev["compute_capability"]
    if count > 1:  # device="cuda:<i>" runs on GPU i
        try:
            texts = [_device_text(module.device_info(i)) for i in range(count)]
            out["gpus"] = [f"{i}: {name}, {gib} GiB" for i, (name, gib) in enumerate(texts)]
        except Exception as exc:
            out["gpus"] = [f"unreadable: {_describe_error(exc)}"]
    try:
        ops = CudaOps(module)
        out["cublas"] = f"{ops.cublas_path} (version {module.cublas_version()})"
    except Exception as exc:
        out["cublas"] = f"unavailable: {_describe_error(exc)}"
    return out
