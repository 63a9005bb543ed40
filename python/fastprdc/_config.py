"""Build and runtime configuration report (``fastprdc.show_config()`` / ``fastprdc info``).

Everything optional (the native core, the CUDA extension, CuPy, each backend) is probed
separately; a missing piece becomes a sentence saying why, never an exception.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from typing import Any, TextIO

__all__ = ["show_config"]


def _reason(exc: BaseException) -> str:
    """One-line description of an exception."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _version() -> str:
    pkg = sys.modules.get("fastprdc")
    version = getattr(pkg, "__version__", None)
    if version:
        return str(version)
    try:
        from importlib.metadata import version as _dist_version

        return _dist_version("fastprdc")
    except Exception:
        return "unknown"


def _core_info() -> dict[str, Any]:
    """``fastprdc._core.build_info()`` or the reason the native core is unusable."""
    try:
        core = importlib.import_module("fastprdc._core")
    except Exception as exc:
        return {
            "available": False,
            "reason": f"fastprdc._core cannot be imported ({_reason(exc)}); "
            "the package was probably not built with `pip install .`",
        }
    try:
        info = dict(core.build_info())
    except Exception as exc:
        return {"available": False, "reason": f"_core.build_info() failed ({_reason(exc)})"}
    # Normalise to the keys the report promises, whatever this build's _core provides.
    info.setdefault("version", str(getattr(core, "__version__", "unknown")))
    if "simd" not in info:
        blas_core = info.get("blas_core")
        info["simd"] = "chosen at run time by BLAS" + (
            f" ({blas_core} kernels)" if blas_core else ""
        )
    if "cuda_sources" not in info and isinstance(info.get("cuda"), str):
        info["cuda_sources"] = info["cuda"].startswith("built")
    info["available"] = True
    info["reason"] = None
    return info


def _registry_info() -> tuple[dict[str, str | None], dict[str, dict[str, Any]]]:
    """From the backend registry (the one place that decides availability): name -> None
    (available) or the reason; and the GPU stack's facts."""
    try:
        backends = importlib.import_module("fastprdc._backends")
        reasons = {str(k): v for k, v in backends.available_backends().items()}
        return reasons, backends.backend_details()
    except Exception as exc:
        return {"(registry)": f"fastprdc._backends unavailable ({_reason(exc)})"}, {}


def _yes_no(flag: Any) -> str:
    return "yes" if flag else "no"


def _format(cfg: dict[str, Any]) -> str:
    lines = ["fastprdc configuration", ""]

    def row(key: str, value: Any) -> None:
        lines.append(f"  {key:<18} {value}")

    lines.append("versions:")
    row("fastprdc", cfg["fastprdc"])
    row("python", f"{cfg['python']} ({cfg['platform']})")
    row("numpy", cfg["numpy"])

    core = cfg["core"]
    lines.append("native core (fastprdc._core):")
    if core.get("available"):
        row("version", core.get("version", "unknown"))
        row("compiler", core.get("compiler", "unknown"))
        if core.get("openmp"):
            row("openmp", f"yes, max threads {core.get('omp_max_threads')}")
        else:
            row("openmp", "no (kernels run on one thread)")
        row("cpu cores", cfg["cpu_count"])
        blas = str(core.get("blas", "unknown"))
        if core.get("blas_core"):
            blas += f", core {core['blas_core']}"
        row("blas", blas)
        if core.get("blas_config"):
            row("blas config", core["blas_config"])
        row("simd", core.get("simd", "unknown"))
        shown = {"available", "reason", "version", "compiler", "openmp", "omp_max_threads", "blas"}
        shown |= {"blas_core", "blas_config", "simd", "cuda", "cuda_sources"}
        for key, value in core.items():
            if key not in shown:
                row(key.replace("_", " "), value)
    else:
        row("status", f"UNAVAILABLE: {core['reason']}")

    lines.append("gpu:")
    cuda = cfg["cuda"]
    if cuda.get("built"):
        row("fastprdc._cuda", f"built for {', '.join(cuda.get('architectures', []))}")
        if cuda.get("runtime_version"):
            driver = cuda.get("driver_version") or "none"
            row("cuda runtime", f"{cuda['runtime_version']} (driver {driver})")
        if cuda.get("gpus"):
            for line in cuda["gpus"]:
                row("gpu", line)
        elif cuda.get("device"):
            row("device", f"{cuda['device']}, {cuda.get('device_memory_gib')} GiB")
        if cuda.get("cublas"):
            row("cublas", cuda["cublas"])
    else:
        row("fastprdc._cuda", cfg["core"].get("cuda") or cuda.get("import_error", "not built"))
    cupy = cfg["cupy"]
    if cupy.get("installed"):
        detail = f"{cupy['version']}, NVRTC {cupy.get('nvrtc')}"
        if cupy.get("device"):
            detail += f", {cupy['device']}"
        row("cupy", detail)
    else:
        row("cupy", 'not installed (pip install "fastprdc[cupy]")')
    gpu = cfg.get("gpu", {})
    if gpu:
        row("gemm path", gpu.get("gemm_path"))
        row("tile gates", gpu.get("tile_gates"))
        row("tile group", gpu.get("tile_group"))
        row("deferred rechecks", gpu.get("deferred_rechecks"))
        row("overlap", gpu.get("overlap"))
        env = gpu.get("precision_environment") or {}
        row("precision env", ", ".join(f"{k}={v}" for k, v in env.items()) or "none set")

    lines.append("backends:")
    for name, reason in cfg["backends"].items():
        row(name, "available" if reason is None else f"unavailable: {reason}")
    return "\n".join(lines)


def show_config(file: TextIO | None = None) -> dict[str, Any]:
    """Print the build and runtime configuration and return it as a dict.

    Reports the fastprdc, Python and numpy versions; compiler, OpenMP threads, BLAS and
    SIMD of the native core; whether the CUDA extension was built; CuPy; and for every
    backend whether it is available or the exact reason it is not. Never raises because
    an optional component is missing.

    Args:
        file: text stream to print to (default ``sys.stdout``).

    Returns:
        The same information as a JSON-serialisable dict.
    """
    import numpy as np

    core = _core_info()
    cfg: dict[str, Any] = {
        "fastprdc": _version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "core": core,
    }
    cfg["backends"], details = _registry_info()
    cfg["cuda"] = details.get("cuda", {"built": False})
    cfg["cupy"] = details.get("cupy", {"installed": False})
    for name in ("cuda", "cupy"):  # the registry's reason when the backend is unavailable
        cfg[name]["reason"] = cfg["backends"].get(name)
    cfg["gpu"] = details.get("gpu", {})
    print(_format(cfg), file=sys.stdout if file is None else file)
    return cfg
