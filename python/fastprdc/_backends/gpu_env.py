"""The GPU environment that decides whether results can be trusted: the environment switches that
change GEMM precision behind a library's back, and where cuBLAS and the kernel sources are; and
whether a GPU index names a visible GPU.

fastprdc calls cuBLAS with an explicit compute type (CUBLAS_COMPUTE_32F_PEDANTIC for "fp32",
CUBLAS_COMPUTE_32F_FAST_TF32 for "tf32x3" and "tf32", CUBLAS_COMPUTE_32F on FP16 operands for
"fp16" and "fp16x3", whose FP32 output leaves no reduced-precision reduction), which
``CUPY_TF32`` and ``NVIDIA_TF32_OVERRIDE`` do not change (the override can only disable TF32,
which keeps the TF32 paths' bounds valid: their operands are exact in TF32, and FP32 arithmetic
on them is within the bounds). cuBLAS's floating-point emulation replaces FP32 arithmetic
(CUBLAS_EMULATE_SINGLE_PRECISION, on GPUs that support it) with an emulation whose error is not
covered by our bounds: a GPU run refuses it.
Every such variable is recorded in ``show_config()`` and in the result's ``info``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = [
    "PRECISION_VARIABLES",
    "check_gpu_index",
    "check_precision_environment",
    "cublas_candidates",
    "kernel_source_dir",
]

#: Environment variables that can change a GEMM's precision in CUDA libraries.
PRECISION_VARIABLES = (
    "NVIDIA_TF32_OVERRIDE",
    "CUPY_TF32",
    "CUBLAS_EMULATE_SINGLE_PRECISION",
    "CUBLAS_EMULATE_DOUBLE_PRECISION",
    "CUBLAS_EMULATION_STRATEGY",
    "CUBLAS_WORKSPACE_CONFIG",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
)

_REFUSED = ("CUBLAS_EMULATE_SINGLE_PRECISION",)


def precision_environment() -> dict[str, str]:
    """The precision-related variables that are set, name -> value."""
    return {name: os.environ[name] for name in PRECISION_VARIABLES if name in os.environ}


def check_precision_environment() -> None:
    """RuntimeError when a variable replaces FP32 GEMM arithmetic by an unbounded emulation."""
    for name in _REFUSED:
        value = os.environ.get(name, "").strip()
        if value and value != "0":
            raise RuntimeError(
                f"{name}={value} makes cuBLAS emulate FP32 arithmetic, outside the error bounds "
                "that keep fastprdc exact; unset it for this process"
            )


def check_gpu_index(index: int | None, count: int) -> None:
    """RuntimeError naming the visible GPUs when GPU ``index`` is not one of the ``count`` this
    process sees (None: the current GPU, always one)."""
    if index is None or 0 <= index < count:
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    mask = f", CUDA_VISIBLE_DEVICES={visible}" if visible is not None else ""
    raise RuntimeError(
        f"there is no GPU {index}: this process sees {count} GPU{'s' if count != 1 else ''} "
        f"(numbered 0 to {count - 1}{mask})"
    )


def cublas_candidates(major: int) -> list[str]:
    """Paths to try for libcublas.so.<major> after the loader's own search: the nvidia-cublas
    wheels' folders on sys.path, then $CUDA_PATH / $CUDA_HOME / /usr/local/cuda."""
    name = f"libcublas.so.{major}"
    folders = [f"nvidia/cu{major}/lib", "nvidia/cublas/lib"]
    out = []
    for base in sys.path:
        for folder in folders:
            path = Path(base) / folder / name
            if path.is_file():
                out.append(str(path))
    for env in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(env):
            out.append(str(Path(os.environ[env]) / "lib64" / name))
    out.append(f"/usr/local/cuda/lib64/{name}")
    return out


def kernel_source_dir() -> Path:
    """The folder holding common/ and cuda/ (the kernel headers): shipped with the package, or
    the source tree's csrc/ in a development checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "csrc", here.parent.parent / "csrc"):
        if (candidate / "cuda" / "kernels.cuh").is_file():
            return candidate
    raise RuntimeError(
        f"the kernel sources (csrc/cuda/kernels.cuh) are not installed next to {here}"
    )
