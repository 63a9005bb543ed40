"""Where a GPU run's device time goes: each GEMM and kernel launch timed on its own.

``with kernel_profile(backend) as seconds: ...`` runs the block with the backend's device
operations wrapped so that every ``gemm`` and ``launch`` is synchronised before and after and its
wall time added to ``seconds[name]`` (``gemm_fp32``, ``gemm_tf32x3``, ``scan_hits``,
``cross_rows``, ...). The synchronisation makes the run slower than an unprofiled one; the shares
are what the breakdown is for (e.g. the passes' kernels against their GEMMs). Works on every
backend built on ``gpu_engine.GpuEngine`` (cuda, cupy, and sim for the tests).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class ProfiledOps:
    """A DeviceOps whose GEMMs and kernel launches are timed one by one."""

    def __init__(self, ops: Any) -> None:
        self.ops = ops
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ops, name)

    def _timed(self, name: str, call: Callable[..., None], *args: Any) -> None:
        self.ops.synchronize()
        t0 = time.perf_counter()
        call(*args)
        self.ops.synchronize()
        self.seconds[name] += time.perf_counter() - t0
        self.calls[name] += 1

    def launch(self, kernel: str, n: int, p: Any, t: Any) -> None:
        self._timed(kernel, self.ops.launch, kernel, n, p, t)

    def gemm(self, path: str, *args: Any) -> None:
        self._timed(f"gemm_{path}", self.ops.gemm, path, *args)


@contextmanager
def kernel_profile(backend: Any) -> Iterator[ProfiledOps]:
    """The GEMM and kernel times of the block on ``backend`` (a GpuEngine); its ops restored."""
    plain = backend.ops
    profiled = ProfiledOps(plain)
    backend.ops = profiled
    try:
        yield profiled
    finally:
        backend.ops = plain


def breakdown(profiled: ProfiledOps) -> dict[str, dict[str, float]]:
    """Seconds, share of the timed total and call count of each GEMM and kernel, largest first."""
    total = sum(profiled.seconds.values()) or 1.0
    ranked = sorted(profiled.seconds.items(), key=lambda kv: -kv[1])
    return {
        name: {"seconds": s, "share": s / total, "calls": profiled.calls[name]}
        for name, s in ranked
    }
