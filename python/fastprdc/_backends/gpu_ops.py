"""What the GPU pipeline (:mod:`.gpu_engine`) asks of a device, and how it talks to the kernels:
the :class:`DeviceOps` protocol that ``cuda``, ``cupy`` and ``sim`` implement, the kernel
parameter structs (:func:`params`, :func:`tile_args`: numpy structured scalars laid out as
csrc/cuda/params.hpp, from the native core's layouts), the block size of a launch, and the
order of a pass's groups of tiles on the device's streams (:class:`StreamPipeline`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from .. import _core

__all__ = [
    "DeviceOps",
    "GpuOps",
    "StreamPipeline",
    "launch_block",
    "param_dtype",
    "params",
    "tile_args",
]

_LAYOUTS = _core.kernel_param_layouts()


def launch_block(n: int, multiprocessors: int) -> int:
    """Threads per block for a launch of ``n`` threads: 128, or fewer (down to one warp) until
    the launch has at least two blocks per multiprocessor. The per-row kernels launch one
    thread per tile row of a group of tiles (8192 a tile at the default tile; a lone tile at
    the end of a class), each running a long sequential loop: 8192 threads in blocks of 128
    would occupy 64 of an H100's 132 multiprocessors."""
    block = 128
    while block > 32 and n < 2 * multiprocessors * block:
        block //= 2
    return block


def _dtype(struct: str) -> np.dtype:
    size, fields = _LAYOUTS[struct]
    return np.dtype(
        {
            "names": [f[0] for f in fields],
            "formats": [f[1] for f in fields],
            "offsets": [f[2] for f in fields],
            "itemsize": size,
        }
    )


_DTYPES = {name: _dtype(name) for name in _LAYOUTS}


def param_dtype(struct: str) -> np.dtype:
    """The numpy dtype of kernel parameter struct ``struct`` (e.g. "TileArgs")."""
    return _DTYPES[struct]


def params(struct: str, **fields: Any) -> np.ndarray:
    """A zero-filled kernel parameter struct (a 0-d numpy structured array; ``p[()]`` is the
    scalar CuPy passes by value, ``p.tobytes()`` the bytes) with ``fields`` set."""
    p = np.zeros((), dtype=_DTYPES[struct])
    for name, value in fields.items():
        p[name] = value
    return p


def tile_args(
    i0: int = 0,
    ni: int = 0,
    j0: int = 0,
    nj: int = 0,
    tile: int = 0,
    diagonal: bool = False,
    **group: int,
) -> np.ndarray:
    """One tile's arguments (``buf0``: the first row of its per-tile-row buffers), or with
    ``tiles``, ``group`` and ``stride``, a launch over a group of tiles (kernels.cuh
    launch_tile)."""
    return params(
        "TileArgs", tile=tile, i0=i0, ni=ni, j0=j0, nj=nj, diagonal=int(diagonal), **group
    )


class DeviceOps(Protocol):
    """What the pipeline needs from a device: arrays, transfers, kernel launches and GEMMs."""

    name: str
    #: (major, minor) of the device, None where there is none (sim): sets the default GEMM path
    compute_capability: tuple[int, int] | None

    def empty(self, n: int, dtype: Any) -> Any: ...
    def full(self, n: int, value: float, dtype: Any) -> Any: ...
    def upload(self, host: np.ndarray) -> Any: ...
    def download(self, arr: Any, n: int | None = None) -> np.ndarray: ...
    def ptr(self, arr: Any) -> int: ...
    def wrap(self, x: Any) -> Any:
        """A device array over an input already on this device (no copy), or None."""
        ...

    def matrix(self, arr: Any, rows: int, cols: int) -> Any:
        """A (rows, cols) input-like view of a flat device array (see ``wrap``)."""
        ...

    def launch(self, kernel: str, n: int, p: np.ndarray, t: np.ndarray) -> None: ...
    def gemm(
        self, path: str, tile: Any, a: Any, a0: int, ni: int, b: Any, b0: int, nj: int, d: int
    ) -> None:
        """tile[:ni * nj] = -2 * A[a0:a0+ni] @ B[b0:b0+nj].T (row-major float32; for the split
        paths, "tf32x3" and "fp16x3" (``_core.gemm_split``), ``a`` and ``b`` are (big, small)
        pairs; for "tf32" their values are TF32 already; for "fp16" and "fp16x3" they are
        float16 holding 2^14 times the values, the GEMM's alpha ``_core.gemm_alpha``)."""
        ...

    def synchronize(self) -> None: ...
    def stream(self) -> Any:
        """A new stream (the pipeline synchronises the device before its first use and after
        its last: it need not be ordered with the stream every other call here uses)."""
        ...

    def event(self) -> Any: ...
    def on(self, stream: Any) -> AbstractContextManager[Any]:
        """Launches and GEMMs of this thread in the block go to ``stream``."""
        ...

    def record(self, event: Any, stream: Any) -> None:
        """``event`` completes once the work queued on ``stream`` so far has run."""
        ...

    def wait(self, stream: Any, event: Any) -> None:
        """Work queued on ``stream`` from now on waits for ``event``'s last record."""
        ...

    def host_wait(self, event: Any) -> None:
        """The host waits for ``event``'s last record."""
        ...

    def free_bytes(self) -> int | None: ...
    def release(self) -> None:
        """Return cached device memory that nothing uses any more (after each public call)."""
        ...

    def current(self) -> AbstractContextManager[Any]:
        """This device made the current one for a block (each public call runs in one), the
        caller's restored after it: the kernels, module and cuBLAS handle belong to it."""
        ...


class GpuOps(DeviceOps, Protocol):
    """DeviceOps on a real GPU (cuda, cupy): the registry keeps one backend per GPU."""

    #: The GPU these operations run on (inputs on another GPU are refused)
    device_id: int

    def current_device(self) -> int:
        """The GPU current on the calling thread (torch.cuda.set_device, cupy's Device.use)."""
        ...


class StreamPipeline:
    """The order of a pass's groups of tiles on the device. With one tile set, each group's
    GEMMs and kernels go to the default stream and the host waits for the group. With two
    (overlap), group g's GEMMs go to one stream, into set g % 2 once group g - 2's kernels have
    read it, and its kernels to another once its GEMMs are done: the GEMMs of one group run
    while the kernels of the one before do (they share no buffer: the rows' state and the
    per-row buffers are the kernels' alone, in their stream's order), and the host waits for
    group g - 1 while group g is queued."""

    def __init__(self, ops: DeviceOps, sets: int) -> None:
        self.ops, self.sets = ops, sets
        if sets > 1:
            # the pass's setup (packing, state fills, uploads) went to the current stream, which
            # the new streams need not be ordered with (CuPy's per-thread default stream, a
            # caller's stream): it is finished first
            ops.synchronize()
            self.gemm_stream, self.kernel_stream = ops.stream(), ops.stream()
            self.gemmed = ops.event()  # the last group's GEMMs
            self.read = [ops.event() for _ in range(sets)]  # the kernels of a set's last group

    def gemms(self, g: int) -> AbstractContextManager[Any]:
        """The GEMMs of group ``g`` go to the block."""
        if self.sets == 1:
            return contextlib.nullcontext()
        free = self.read[g % self.sets] if g >= self.sets else None  # its tile set read
        return self._queued(self.gemm_stream, free, self.gemmed)

    def kernels(self, g: int) -> AbstractContextManager[Any]:
        """The kernels of group ``g`` go to the block."""
        if self.sets == 1:
            return contextlib.nullcontext()
        return self._queued(self.kernel_stream, self.gemmed, self.read[g % self.sets])

    @contextlib.contextmanager
    def _queued(self, stream: Any, after: Any, then: Any) -> Iterator[None]:
        """The block's launches and GEMMs go to ``stream``, after event ``after`` (None: no
        wait); event ``then`` is recorded after them."""
        if after is not None:
            self.ops.wait(stream, after)
        with self.ops.on(stream):
            yield
        self.ops.record(then, stream)

    def finished(self, g: int) -> int:
        """Waits, once group ``g`` is queued, for the groups before it (one set: for it too);
        the number of groups finished."""
        if self.sets == 1:
            self.ops.synchronize()
            return g + 1
        if g:
            self.ops.host_wait(self.read[(g - 1) % self.sets])
        return g

    def drain(self) -> None:
        """Waits for every group (after the last, or on an error: the groups in flight read the
        tiles and write the rows' state, which the caller is about to free or read)."""
        self.ops.synchronize()
