"""The ``sim`` backend: the GPU pipeline (gpu_engine.py) with its kernels run on the CPU.

Every kernel launch runs the same per-thread bodies as the GPU (csrc/cuda/kernels.cuh, compiled
into ``fastprdc._core``) thread by thread, over numpy arrays standing in for device memory; the
GEMM tiles come from numpy's float32 matmul; work queued on streams runs in one of the orders a GPU
could choose, picked to expose a missing wait (:data:`STREAM_ORDERS`). It is slower than ``cpu`` and
exists to test the GPU backends' logic on machines without a GPU: its results must equal every
other backend's.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import _core
from .._arrays import CUDA, DeviceMatrix, device_matrix, location
from .gpu_engine import GpuEngine

__all__ = ["SimOps", "sim_backend"]


class _Stream:
    """A sim stream: its queue of operations, run in order."""

    def __init__(self, index: int) -> None:
        self.index, self.queue = index, deque()


def _ready(stream: _Stream) -> bool:
    """Whether the first operation queued on ``stream`` can run (a wait: once its record has)."""
    _, (kind, *rest) = stream.queue[0]
    return kind != "wait" or rest[0].done >= rest[1]


class _Event:
    """A sim event: how many records were queued, and how many have run."""

    def __init__(self) -> None:
        self.queued = self.done = 0


#: When the sim runs the work queued on streams: "eager" at once, in the order it was queued;
#: "first" when the host needs it, the earliest created stream running as far ahead as its
#: waits allow; "last" the same, the latest created stream first. Each is an order a GPU may
#: choose; results must not depend on it, and a missing wait changes them under one of the two
#: lazy orders.
STREAM_ORDERS = ("eager", "first", "last")
#: Which ready stream runs next, by STREAM_ORDERS: the smallest key.
_ORDER_KEYS = {
    "eager": lambda s: s.queue[0][0],  # its first operation's place in the queuing order
    "first": lambda s: s.index,
    "last": lambda s: -s.index,
}
#: Index of a thread's current stream when its work is queued (``default_stream="queued"``):
#: after every other stream in the "first" order, before them in the "last".
_CURRENT = 1 << 30


class _Queues:
    """One thread's streams: how many it made, its operations queued so far (for the eager
    order), its streams with queued work and the stream of its launches and GEMMs."""

    def __init__(self) -> None:
        self.made = self.seq = 0
        self.pending: list[_Stream] = []
        self.stream: _Stream | None = None
        self.current = _Stream(_CURRENT)
        self.held: list[Any] = []  # arrays that queued work may still use


class SimOps:
    """Device operations over host memory (see gpu_ops.DeviceOps). ``order`` is the order in
    which a launch's threads run: 0 ascending, -1 descending, a positive seed shuffled (a GPU
    keeps no order; tests check that results do not depend on it); ``streams`` when work queued
    on streams runs (:data:`STREAM_ORDERS`); ``default_stream`` what happens to the work of
    the calls outside a stream (launches, GEMMs, fills, uploads): "now" runs it at once, and a
    launch, GEMM or download while streams hold work that nothing waited for raises
    RuntimeError (the pipeline must order them itself); "queued" queues it on a stream of its
    own that no other is ordered with, which a download waits for (CuPy under a caller's
    stream or its per-thread default stream: ``cupy.asnumpy`` waits for the current stream
    alone; the arrays it allocates or wraps are kept until the end of the public call, after
    its queued work, as CuPy's stream-ordered memory pool keeps memory from reuse until the work
    queued before its release has run). Streams and their queues belong to the thread
    that made them (one backend serves every thread); an operation that raises abandons what its
    thread had queued, as a device error would."""

    name = "sim"
    compute_capability = None  # no device: the "fp32" GEMM path unless told otherwise

    def __init__(
        self,
        num_threads: int = 0,
        order: int = 0,
        streams: str = "eager",
        default_stream: str = "now",
    ) -> None:
        if streams not in STREAM_ORDERS:
            raise ValueError(f"streams must be one of {STREAM_ORDERS}, got {streams!r}")
        if default_stream not in ("now", "queued"):
            raise ValueError(f"default_stream must be 'now' or 'queued', got {default_stream!r}")
        self.num_threads = num_threads
        self.order = order
        self.streams = streams
        self.default_stream = default_stream
        self._local = threading.local()

    # ------------------------------------------------------------------ streams

    @property
    def _queues(self) -> _Queues:
        queues = getattr(self._local, "queues", None)
        if queues is None:
            queues = self._local.queues = _Queues()
        return queues

    @property
    def pending(self) -> int:
        """Operations this thread has queued that have not run."""
        return sum(len(s.queue) for s in self._queues.pending)

    def stream(self) -> _Stream:
        self._queues.made += 1
        return _Stream(self._queues.made)

    def event(self) -> _Event:
        return _Event()

    @contextlib.contextmanager
    def on(self, stream: _Stream) -> Iterator[None]:
        queues = self._queues
        before, queues.stream = queues.stream, stream
        try:
            yield
        finally:
            queues.stream = before

    def record(self, event: _Event, stream: _Stream) -> None:
        event.queued += 1
        self._queue(stream, ("record", event, event.queued))

    def wait(self, stream: _Stream, event: _Event) -> None:
        self._queue(stream, ("wait", event, event.queued))

    def host_wait(self, event: _Event) -> None:
        target = event.queued
        self._run(lambda: event.done >= target)

    def synchronize(self) -> None:
        queues = self._queues
        self._run(lambda: not queues.pending)

    def _queue(self, stream: _Stream, op: tuple) -> None:
        queues = self._queues
        queues.seq += 1
        stream.queue.append((queues.seq, op))
        if stream not in queues.pending:
            queues.pending.append(stream)
        if self.streams == "eager":
            self._run(lambda: False, until_blocked=True)

    def _run(self, until: Callable[[], bool], until_blocked: bool = False) -> None:
        """Runs this thread's queued operations in the order :attr:`streams` says until
        ``until()`` holds (or, with ``until_blocked``, until none can run)."""
        pending = self._queues.pending
        order = _ORDER_KEYS[self.streams]
        try:
            while not until():
                ready = [s for s in pending if _ready(s)]
                if not ready:
                    if until_blocked:
                        return
                    raise RuntimeError("sim: the host waits for work that waits for nothing")
                stream = min(ready, key=order)
                _, (kind, *rest) = stream.queue.popleft()
                if not stream.queue:
                    pending.remove(stream)
                if kind == "record":
                    rest[0].done = max(rest[0].done, rest[1])
                elif kind == "run":
                    rest[0]()
        except BaseException:
            for s in pending:  # what waited for the failed work never runs
                s.queue.clear()
            pending.clear()
            raise

    def _submit(self, what: str, work: Callable[[], None]) -> None:
        """Queues ``work`` on this thread's stream, else (:attr:`default_stream`) runs it now or
        queues it on the thread's current stream."""
        queues = self._queues
        stream = queues.stream or (queues.current if self.default_stream == "queued" else None)
        if stream is not None:
            self._queue(stream, ("run", work))
            return
        self._check_idle(what)
        work()

    def _check_idle(self, what: str) -> None:
        """Raises when work is queued that the call would run beside, unordered
        (``default_stream`` "now"), else waits for the thread's current stream ("queued")."""
        queues = self._queues
        if self.default_stream == "queued":
            self._run(lambda: queues.current not in queues.pending)
        elif queues.pending:
            raise RuntimeError(
                f"sim: {what} on the default stream while streams hold work nothing waited for"
            )

    def _held(self, arr: Any) -> Any:
        """``arr``, kept while queued work may use its memory (``default_stream`` "queued")."""
        if self.default_stream == "queued":
            self._queues.held.append(arr)
        return arr

    def empty(self, n: int, dtype: Any) -> np.ndarray:
        return self._held(np.empty(max(int(n), 1), dtype=dtype))

    def full(self, n: int, value: float, dtype: Any) -> np.ndarray:
        arr = self.empty(n, dtype)
        self._submit("a fill", lambda: arr.fill(value))
        return arr

    def upload(self, host: np.ndarray) -> np.ndarray:
        staged = np.array(host, copy=True, order="C")  # the host buffer may change after
        arr = self._held(np.empty_like(staged))
        self._submit("an upload", lambda: np.copyto(arr, staged))
        return arr

    def download(self, arr: np.ndarray, n: int | None = None) -> np.ndarray:
        self._check_idle("a download")
        return np.array(arr.reshape(-1)[:n], copy=True)

    def ptr(self, arr: np.ndarray) -> int:
        return int(arr.__array_interface__["data"][0])

    def wrap(self, x: Any) -> np.ndarray | None:
        """Host arrays as they are; objects with __cuda_array_interface__ (a DeviceMatrix) as
        views of the memory they point to, so that the pipeline's device-resident path runs
        here too (tests pass DeviceMatrix views of host memory)."""
        if isinstance(x, np.ndarray):
            return self._held(x) if x.flags.c_contiguous else None
        if location(x) != CUDA:
            return None
        d = self._held(device_matrix(x, getattr(x, "name", "input")))
        n = d.shape[0] * d.shape[1]
        buf = (ctypes.c_char * (n * d.dtype.itemsize)).from_address(d.ptr)
        return np.frombuffer(buf, dtype=d.dtype, count=n)

    def matrix(self, arr: np.ndarray, rows: int, cols: int) -> DeviceMatrix:
        return DeviceMatrix(self.ptr(arr), (rows, cols), arr.dtype, arr)

    def launch(self, kernel: str, n: int, p: np.ndarray, t: np.ndarray) -> None:
        if n > 0:
            args = (kernel, int(n), p.tobytes(), t.tobytes(), self.num_threads, self.order)
            self._submit(f"a launch of {kernel}", lambda: _core.sim_launch(*args))

    def gemm(
        self,
        path: str,
        tile: np.ndarray,
        a: Any,
        a0: int,
        ni: int,
        b: Any,
        b0: int,
        nj: int,
        d: int,
    ) -> None:
        self._submit("a GEMM", lambda: _gemm(path, tile, a, a0, ni, b, b0, nj, d))

    def free_bytes(self) -> int | None:
        return None

    def current(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()  # the host: nothing to select

    def release(self) -> None:
        """After each public call: its queued work done, the arrays kept for it go (host memory,
        freed as the last reference goes)."""
        if self.default_stream == "queued":
            self.synchronize()
            self._queues.held.clear()


def _gemm(
    path: str, tile: np.ndarray, a: Any, a0: int, ni: int, b: Any, b0: int, nj: int, d: int
) -> None:
    """SimOps.gemm's work: the tile from numpy's float32 matmul, as the GEMM path reads it."""
    out = tile[: ni * nj].reshape(ni, nj)

    def rows(x: np.ndarray, r0: int, n: int) -> np.ndarray:
        return (
            x[: x.size // d * d].reshape(-1, d)[r0 : r0 + n] if d else np.zeros((n, 0), np.float32)
        )

    # the TF32 paths' tensor cores read TF32: every operand loses its 13 low mantissa bits (cut,
    # the worse of the conversions the bound allows; a no-op on operands packed in TF32, and on
    # tf32x3's big parts); fp32, and FP16 operands, whose products are exact in float32, as given
    def read(x: np.ndarray, r0: int, n: int) -> np.ndarray:
        v = rows(x, r0, n)
        return _tf32(v) if path.startswith("tf32") else v.astype(np.float32, copy=False)

    if _core.gemm_split(path):
        (ab, as_), (bb, bs) = a, b
        A, B = read(ab, a0, ni), read(bb, b0, nj)
        np.matmul(A, B.T, out=out)
        out += read(as_, a0, ni) @ B.T
        out += A @ read(bs, b0, nj).T
    else:
        np.matmul(read(a, a0, ni), read(b, b0, nj).T, out=out)
    out *= np.float32(_core.gemm_alpha(path))


def _tf32(x: np.ndarray) -> np.ndarray:
    """float32 values cut to TF32 (10 mantissa bits)."""
    return (np.ascontiguousarray(x).view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)


def sim_backend(gemm_path: str | None = None) -> GpuEngine:
    """The ``sim`` backend (tiles of at most 256 rows, launches of at most 1000 threads and hit
    lists of 16 pairs, so that tests see many tiles, launches and overflowing lists; the GEMM
    stream running ahead of the kernels' as far as the pipeline's waits allow)."""
    return GpuEngine(
        SimOps(streams="first"),
        "sim",
        gemm_path=gemm_path,
        tile_max=256,
        launch_chunk=1000,
        hit_cap=16,
    )
