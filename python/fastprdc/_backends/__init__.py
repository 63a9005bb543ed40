"""Backend registry: the one place that decides which backends exist and what ``device="auto"``
means. Each backend implements the contract of :mod:`fastprdc._backends.contract`.

``numpy`` (float64 reference) is always available. ``cpu`` needs the native extension
``fastprdc._core``; when a backend cannot load, the reason is kept and reported
(``available_backends()``, ``fastprdc.show_config()``), and ``import fastprdc`` still works.
``device="auto"`` follows the data: GPU-resident inputs go to a GPU backend, host inputs to
``cpu``; inputs on different devices raise.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .._arrays import CUDA, common_location
from .contract import Backend, CrossResult, KnnResult

__all__ = [
    "Backend",
    "CrossResult",
    "KnnResult",
    "available_backends",
    "backend_details",
    "get_backend",
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


def _load_cuda() -> Any:
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
        return cuda_backend()
    except RuntimeError:
        raise
    except Exception as exc:
        raise RuntimeError(f"no usable CUDA device ({_describe(exc)})") from exc


def _load_cupy() -> Any:
    try:
        importlib.import_module("cupy")
    except ModuleNotFoundError as exc:
        raise RuntimeError('CuPy is not installed (pip install "fastprdc[cupy]")') from exc
    except Exception as exc:
        raise RuntimeError(f"CuPy cannot be imported ({_describe(exc)})") from exc
    from .cupy_backend import cupy_backend

    try:
        return cupy_backend()
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


def _try_load(name: str) -> Any | None:
    if name in _loaded:
        return _loaded[name]
    if name in _reasons:
        return None
    try:
        backend = _LOADERS[name]()
    except Exception as exc:
        reason = str(exc) if isinstance(exc, RuntimeError) else _describe(exc)
        _reasons[name] = reason
        return None
    _loaded[name] = backend
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


def get_backend(name: str) -> Any:
    """The backend called ``name``; RuntimeError with the reason when it is unavailable."""
    key = str(name).lower()
    if key not in _NAMES:
        raise ValueError(
            f"unknown device {name!r}; choose one of 'auto', {', '.join(map(repr, _NAMES))}"
        )
    backend = _try_load(key)
    if backend is None:
        raise RuntimeError(f"backend {key!r} is unavailable: {_reasons[key]}")
    return backend


#: GPU backends in order of preference for GPU-resident data.
GPU_BACKENDS = ("cuda", "cupy")


def resolve_device(device: str, *arrays: Any, names: tuple[str, ...] = ()) -> Any:
    """The backend for ``device``: ``"auto"`` follows the data's location (GPU arrays -> the
    first available GPU backend, host arrays -> ``cpu``); any other value names a backend.

    Raises ValueError when the inputs live on different devices, RuntimeError (with the
    reasons) when the needed backend is unavailable.
    """
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, got {device!r}")
    where = common_location(*arrays, names=names)
    if device.lower() != "auto":
        return get_backend(device)
    if where == CUDA:
        for name in GPU_BACKENDS:
            backend = _try_load(name)
            if backend is not None:
                return backend
        why = "; ".join(f"{name}: {_reasons[name]}" for name in GPU_BACKENDS)
        raise RuntimeError(
            f"device='auto' got GPU-resident inputs but no GPU backend is available ({why}); "
            "move the inputs to the host or pass device='cpu'"
        )
    try:
        return get_backend("cpu")
    except RuntimeError as exc:
        raise RuntimeError(
            f"device='auto' needs the cpu backend, which is unavailable: {_reasons['cpu']} "
            "(device='numpy' runs the slow pure-numpy reference)"
        ) from exc
