"""Backend registry: the one place that decides which backends exist and what ``device="auto"``
means. Each backend implements the contract of :mod:`fastprdc._backends.contract`.

``numpy`` (float64 reference) is always available. ``cpu`` needs the native extension
``fastprdc._core``; when a backend cannot load, the reason is kept and reported
(``available_backends()``, ``fastprdc.show_config()``), and ``import fastprdc`` still works.
``device="auto"`` follows the data: GPU-resident inputs go to a GPU backend on the GPU they
are on, host inputs to ``cpu``; inputs on different devices raise. A GPU backend runs on one
GPU: ``"cuda:1"`` names it, plain ``"cuda"`` is the GPU of the inputs, else the GPU current on
the calling thread (``torch.cuda.set_device``, ``cupy.cuda.Device(n).use()``); one backend per
GPU, made on first use.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .._arrays import CUDA, common_location, gpu_index
from .contract import Backend, CrossResult, KnnResult

__all__ = [
    "Backend",
    "CrossResult",
    "KnnResult",
    "available_backends",
    "backend_details",
    "backend_label",
    "get_backend",
    "parse_device",
    "resolve_device",
]

_NAMES = ("cpu", "cuda", "cupy", "sim", "numpy")


_loaded: dict[str, Any] = {}
_reasons: dict[str, str] = {}


def _describe_error(exc: BaseException) -> str:
    """One line: the exception type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


_describe = _describe_error


def _load_cpu() -> Any:
    try:
        importlib.import_module("fastprdc._core")
    except Exception as exc:
        raise RuntimeError(
            f"the native extension fastprdc._core cannot be imported ({_describe(exc)}); "
            "build and install the package with `pip install .`"
        ) from exc
    from .cpu import CpuBackend

    return CpuBackend()


def _load_numpy() -> Any:
    from .numpy_backend import NumpyBackend

    return NumpyBackend()


def _load_sim() -> Any:
    _load_cpu()  # the emulated kernels live in fastprdc._core
    from .sim import sim_backend

    return sim_backend()


def _cuda_build_status() -> str:
    """The build's own account of the CUDA extension (from fastprdc._core)."""
    try:
        return str(importlib.import_module("fastprdc._core").build_info()["cuda"])
    except Exception:
        return "unknown"


def _load_cuda(index: int | None = None) -> Any:
    try:
        importlib.import_module("fastprdc._cuda")
    except ModuleNotFoundError as exc:
        status = _cuda_build_status()
        if exc.name not in (None, "fastprdc._cuda") or status.startswith("built"):
            raise RuntimeError(f"fastprdc._cuda cannot be imported ({_describe(exc)})") from exc
        raise RuntimeError(
            f"fastprdc._cuda {status}"
            if status.startswith(("not built", "disabled"))
            else "fastprdc._cuda was not built: rebuild with a CUDA toolkit (nvcc) and "
            "FASTPRDC_CUDA=AUTO or ON"
        ) from exc
    from .cuda import cuda_backend

    try:
        return cuda_backend(device=index)
    except RuntimeError:
        raise
    except Exception as exc:
        raise RuntimeError(f"no usable CUDA device ({_describe(exc)})") from exc


def _load_cupy(index: int | None = None) -> Any:
    try:
        importlib.import_module("cupy")
    except ModuleNotFoundError as exc:
        raise RuntimeError('CuPy is not installed (pip install "fastprdc[cupy]")') from exc
    except Exception as exc:
        raise RuntimeError(f"CuPy cannot be imported ({_describe(exc)})") from exc
    from .cupy_backend import cupy_backend

    try:
        return cupy_backend(device=index)
    except RuntimeError:
        raise
    except Exception as exc:
        raise RuntimeError(f"no usable CUDA device through CuPy ({_describe(exc)})") from exc


_LOADERS = {
    "cpu": _load_cpu,
    "cuda": _load_cuda,
    "cupy": _load_cupy,
    "sim": _load_sim,
    "numpy": _load_numpy,
}


def _try_load(name: str, index: int | None = None) -> Any | None:
    """Backend ``name`` (a GPU backend: on GPU ``index``, None: on the GPU current at its first
    load), loaded once; None when it cannot load, the reason kept under its key in _reasons."""
    key = name if index is None else f"{name}:{index}"
    if key in _loaded:
        return _loaded[key]
    if key in _reasons:
        return None
    try:
        backend = _LOADERS[name]() if index is None else _LOADERS[name](index)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, RuntimeError) else _describe(exc)
        _reasons[key] = reason
        return None
    if index is None and name in GPU_BACKENDS:  # one backend per GPU, however it is named
        backend = _loaded.setdefault(f"{name}:{backend.ops.device_id}", backend)
    _loaded[key] = backend
    return backend


def available_backends() -> dict[str, str | None]:
    """Every backend name -> None when usable, else the reason it is not."""
    return {name: (None if _try_load(name) is not None else _reasons[name]) for name in _NAMES}


def backend_details() -> dict[str, dict[str, Any]]:
    """Facts about the GPU stack for ``show_config()``: the CUDA extension's build (architectures),
    the CUDA runtime and driver versions, devices, cuBLAS, CuPy and NVRTC; the precision-related
    environment variables that are set; the GEMM path, tile gates, tile groups, deferred
    rechecks and overlap of GPU runs.
    Never raises."""
    from . import cuda, cupy_backend, gpu_env
    from .gpu_settings import default_gemm_path, parse_capability, pass_settings

    described = {"cuda": cuda.describe(), "cupy": cupy_backend.describe()}
    path = os.environ.get("FASTPRDC_GPU_GEMM", "").strip()
    if path:
        path += " (FASTPRDC_GPU_GEMM)"
    else:
        cc = described["cuda"].get("compute_capability") or described["cupy"].get(
            "compute_capability"
        )
        where = f"compute capability {cc}" if cc else "no GPU seen"
        path = f"{default_gemm_path(parse_capability(cc))} (default for {where})"
    return {
        **described,
        "gpu": {
            "gemm_path": path,
            "precision_environment": gpu_env.precision_environment(),
            **pass_settings(),
        },
    }


#: GPU backends in order of preference for GPU-resident data.
GPU_BACKENDS = ("cuda", "cupy")


def parse_device(device: str) -> tuple[str, int | None]:
    """(backend name, GPU index or None) of a device string: ``"auto"``, a backend name, or a
    GPU backend with its GPU (``"cuda:1"``, ``"cupy:0"``); case and spaces around it do not
    matter. TypeError / ValueError naming the problem."""
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, got {device!r}")
    name, colon, index = device.strip().lower().partition(":")
    if name not in ("auto", *_NAMES):
        raise ValueError(
            f"unknown device {device!r}; choose one of 'auto', {', '.join(map(repr, _NAMES))}, "
            "or a GPU backend on one GPU ('cuda:1', 'cupy:0')"
        )
    if not colon:
        return name, None
    if name not in GPU_BACKENDS or not (index.isascii() and index.isdigit()):
        raise ValueError(
            f"device {device!r}: only the GPU backends take a GPU index, a whole number >= 0 "
            "after a colon ('cuda:1', 'cupy:0')"
        )
    return name, int(index)


def _load_gpu(name: str, index: int | None) -> tuple[Any | None, str]:
    """(GPU backend ``name`` on GPU ``index``, "") or (None, why it is unavailable there);
    index None: the GPU current on the calling thread. Nothing is made on another GPU."""
    if index is None:
        first = _try_load(name)  # on the GPU current at its first load
        if first is None:
            return None, _reasons[name]
        index = first.ops.current_device()
    backend = _try_load(name, index)
    return backend, "" if backend is not None else _reasons[f"{name}:{index}"]


def _gpu_backend(name: str, index: int | None) -> Any:
    """GPU backend ``name`` on GPU ``index`` (None: the current GPU); RuntimeError with the
    reason when it is unavailable there."""
    backend, why = _load_gpu(name, index)
    if backend is None:
        label = name if index is None else f"{name}:{index}"
        raise RuntimeError(f"backend {label!r} is unavailable: {why}")
    return backend


def backend_label(backend: Any) -> str:
    """How a result names the backend that computed it: its name, and a GPU backend's GPU
    (``"cuda:1"``)."""
    name = str(backend.name)
    ops = getattr(backend, "ops", None)
    device = getattr(ops, "device_id", None) if name in GPU_BACKENDS else None
    return name if device is None else f"{name}:{device}"


def get_backend(name: str) -> Any:
    """The backend called ``name`` (``"cuda:1"``: the cuda backend on GPU 1; ``"cuda"``: on the
    GPU current on the calling thread); RuntimeError with the reason when it is unavailable."""
    key, index = parse_device(name)
    if key == "auto":
        raise ValueError(f"get_backend needs a backend name, not {name!r} (see resolve_device)")
    if key in GPU_BACKENDS:
        return _gpu_backend(key, index)
    backend = _try_load(key)
    if backend is None:
        raise RuntimeError(f"backend {key!r} is unavailable: {_reasons[key]}")
    return backend


def resolve_device(device: str, *arrays: Any, names: tuple[str, ...] = ()) -> Any:
    """The backend for ``device``: ``"auto"`` follows the data (GPU arrays -> the first
    available GPU backend, on the GPU they are on; host arrays -> ``cpu``); a GPU backend
    without an index (``"cuda"``) runs on the GPU of GPU-resident inputs, else on the calling
    thread's current GPU; any other value names a backend (``"cuda:1"``: on GPU 1).

    Raises ValueError when the inputs live on different devices or GPUs, RuntimeError (with the
    reasons) when the needed backend is unavailable.
    """
    name, index = parse_device(device)
    where = common_location(*arrays, names=names)
    on = gpu_index(*arrays, names=names)  # None for host inputs
    if name in GPU_BACKENDS:
        return _gpu_backend(name, on if index is None else index)
    if name != "auto":
        return get_backend(name)
    if where == CUDA:
        why = []
        for gpu in GPU_BACKENDS:
            backend, reason = _load_gpu(gpu, on)
            if backend is not None:
                return backend
            why.append(f"{gpu}: {reason}")
        raise RuntimeError(
            f"device='auto' got GPU-resident inputs but no GPU backend is available "
            f"({'; '.join(why)}); move the inputs to the host or pass device='cpu'"
        )
    try:
        return get_backend("cpu")
    except RuntimeError as exc:
        raise RuntimeError(
            f"device='auto' needs the cpu backend, which is unavailable: {_reasons['cpu']} "
            "(device='numpy' runs the slow pure-numpy reference)"
        ) from exc
