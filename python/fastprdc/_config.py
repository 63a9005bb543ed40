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


def _cuda_info(core: dict[str, Any]) -> dict[str, Any]:
    """Whether the ``fastprdc._cuda`` extension was built and what it sees."""
    try:
        cuda = importlib.import_module("fastprdc._cuda")
    except ModuleNotFoundError as exc:
        if exc.name not in (None, "fastprdc._cuda"):
            reason = f"fastprdc._cuda cannot be imported ({_reason(exc)})"
        elif isinstance(core.get("cuda"), str) and core["cuda"].startswith(
            ("not built", "disabled")
        ):
            reason = core["cuda"]  # the build's own account, e.g. "not built: no nvcc found"
        elif core.get("cuda_sources") is False:
            reason = "not built: no CUDA compiler (nvcc) at build time, or FASTPRDC_CUDA=OFF"
        else:
            reason = (
                "not built (no fastprdc._cuda module): rebuild with a CUDA toolkit "
                "and FASTPRDC_CUDA=AUTO or ON"
            )
        return {"built": False, "reason": reason}
    except Exception as exc:
        return {"built": True, "usable": False, "reason": f"import failed ({_reason(exc)})"}
    out: dict[str, Any] = {"built": True, "usable": True, "reason": None}
    for attr in ("build_info", "runtime_info"):
        fn = getattr(cuda, attr, None)
        if callable(fn):
            try:
                out.update(dict(fn()))
            except Exception as exc:
                out["usable"] = False
                out["reason"] = f"_cuda.{attr}() failed ({_reason(exc)})"
    fn = getattr(cuda, "device_count", None)
    if callable(fn):
        try:
            out["devices"] = int(fn())
        except Exception as exc:
            out["devices"] = 0
            out["usable"] = False
            out["reason"] = f"no usable CUDA device ({_reason(exc)})"
        else:
            if out["devices"] == 0 and out["reason"] is None:
                out["usable"] = False
                out["reason"] = "built, but no CUDA device is visible"
    return out


def _cupy_info() -> dict[str, Any]:
    """CuPy version and device count, or why it is unusable."""
    try:
        cupy = importlib.import_module("cupy")
    except ModuleNotFoundError:
        return {"available": False, "reason": 'not installed (pip install "fastprdc[cupy]")'}
    except Exception as exc:
        return {"available": False, "reason": f"import failed ({_reason(exc)})"}
    out: dict[str, Any] = {"version": str(getattr(cupy, "__version__", "unknown"))}
    try:
        n = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:
        out.update(available=False, devices=0, reason=f"no usable CUDA device ({_reason(exc)})")
        return out
    out["devices"] = n
    if n == 0:
        out.update(available=False, reason="installed, but no CUDA device is visible")
    else:
        out.update(available=True, reason=None)
    return out


def _backends_info() -> dict[str, str | None]:
    """``fastprdc._backends.available_backends()``: name -> None (available) or reason."""
    try:
        backends = importlib.import_module("fastprdc._backends")
        return {str(k): v for k, v in backends.available_backends().items()}
    except Exception as exc:
        return {"(registry)": f"fastprdc._backends unavailable ({_reason(exc)})"}


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

    cuda = cfg["cuda"]
    lines.append("gpu:")
    if cuda.get("built") and cuda.get("usable", True) and cuda.get("reason") is None:
        extra = {k: v for k, v in cuda.items() if k not in ("built", "usable", "reason")}
        detail = ", ".join(f"{k}={v}" for k, v in extra.items())
        row("fastprdc._cuda", "built" + (f" ({detail})" if detail else ""))
    else:
        row("fastprdc._cuda", cuda["reason"])
    cupy = cfg["cupy"]
    if cupy.get("available"):
        row("cupy", f"{cupy['version']}, {cupy['devices']} device(s)")
    else:
        ver = f"{cupy['version']}: " if cupy.get("version") else ""
        row("cupy", f"{ver}{cupy['reason']}")

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
        "cuda": _cuda_info(core),
        "cupy": _cupy_info(),
        "backends": _backends_info(),
    }
    print(_format(cfg), file=sys.stdout if file is None else file)
    return cfg
