"""The GPU tests rehearsed without a GPU (FASTPRDC_GPU_REHEARSAL=1, set by
tests/test_gpu_rehearsal.py for a subprocess): the ``cuda`` and ``cupy`` backends become the sim
engine under their own names, and ``cupy.asarray`` gives arrays whose
``__cuda_array_interface__`` points to host memory (which the sim engine reads). Every test then
runs its own code, with the seeds it has on a GPU, so that a mistake in a test (a warning turned
error, a wrong expectation) shows here instead of costing a lent GPU's minutes. Tests that need
a real device (its memory, the _cuda module's own calls) are skipped with that reason."""

from __future__ import annotations

import os
import sys
import types
from typing import Any

import numpy as np

ACTIVE = os.environ.get("FASTPRDC_GPU_REHEARSAL") == "1"

#: Tests that measure or call the device itself: nothing of theirs runs without one.
NEEDS_DEVICE = {
    "test_interrupt_frees_device_memory": "measures free device memory",
    "test_out_of_memory_is_a_clear_error": "allocates through fastprdc._cuda",
    "test_emulated_fp32_is_refused": "loads fastprdc._cuda in a subprocess",
    "test_show_config_reports_the_gpu_stack": "reports the real CUDA stack",
    "test_nvrtc_compiles_the_kernel_text": "compiles through CuPy's NVRTC (not the stand-in's)",
}


class HostBackedArray:
    """A CuPy-array stand-in over host memory (for the sim engine behind the GPU names)."""

    def __init__(self, x: Any) -> None:
        self.host = np.ascontiguousarray(x)
        self.shape, self.dtype = self.host.shape, self.host.dtype

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "typestr": self.dtype.str,
            "data": (self.host.ctypes.data, False),
            "strides": None,
            "version": 3,
        }

    def astype(self, dtype: Any) -> HostBackedArray:
        return HostBackedArray(self.host.astype(dtype))


def _one_gpu(engine: Any) -> Any:
    """The loader of a GPU backend on a machine with one GPU: ``engine`` on GPU 0, the
    registry's error for any other index."""
    from fastprdc._backends.gpu_env import check_gpu_index

    def load(index: int | None = None) -> Any:
        check_gpu_index(index, 1)
        return engine

    return load


def install() -> None:
    """The GPU names on the sim engine (one GPU, number 0), and the CuPy stand-in in
    sys.modules."""
    from fastprdc import _backends
    from fastprdc._backends.gpu_engine import GpuEngine
    from fastprdc._backends.sim import SimOps

    class OnGpu0(SimOps):
        device_id = 0

        def current_device(self) -> int:
            return 0

    for name in ("cuda", "cupy"):
        engine = GpuEngine(OnGpu0(), name, tile_max=256, launch_chunk=1000, hit_cap=16)
        _backends._reasons.pop(name, None)
        _backends._loaded[name] = _backends._loaded[f"{name}:0"] = engine
        _backends._LOADERS[name] = _one_gpu(engine)
    cupy = types.ModuleType("cupy")
    cupy.asarray = HostBackedArray  # type: ignore[attr-defined]
    cupy.ndarray = HostBackedArray  # type: ignore[attr-defined]  (dask registers the type)
    cupy.int32, cupy.float32, cupy.float64 = np.int32, np.float32, np.float64  # type: ignore[attr-defined]
    cupy.__version__ = "rehearsal"  # type: ignore[attr-defined]
    sys.modules["cupy"] = cupy
