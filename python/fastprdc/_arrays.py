"""Where an input array lives, and moving it to the host when a host backend needs it.

Host data: numpy arrays and memmaps, array-likes, CPU torch tensors. Device data: anything with
``__cuda_array_interface__`` (CuPy, Numba, torch CUDA tensors) or a CUDA ``__dlpack_device__``.
Nothing here imports CuPy or torch unless the input already is one of theirs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "CUDA",
    "HOST",
    "DeviceMatrix",
    "common_location",
    "device_matrix",
    "gpu_index",
    "location",
    "to_host",
]

HOST = "host"
CUDA = "cuda"
_DLPACK_CUDA = (2, 3, 13)  # kDLCUDA, kDLCUDAHost, kDLCUDAManaged


def location(x: Any) -> str:
    """``"cuda"`` for GPU-resident arrays, else ``"host"``."""
    if isinstance(x, np.ndarray):
        return HOST
    try:
        if hasattr(x, "__cuda_array_interface__"):
            return CUDA
    except Exception:  # torch raises for tensors that require grad, or of dtypes like bfloat16
        return CUDA
    return CUDA if _cuda_device_index(x) is not None else HOST


def _cuda_device_index(x: Any) -> int | None:
    """The CUDA device index of ``x`` from ``__dlpack_device__`` (CuPy, torch), else None."""
    dev = getattr(x, "__dlpack_device__", None)
    if not callable(dev):
        return None
    try:
        kind, index = dev()
    except Exception:
        return None
    return int(index) if int(kind) in _DLPACK_CUDA else None


def _named(arrays: tuple[Any, ...], names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """(name, array) of the given arrays, None entries skipped (unnamed: "argument i")."""
    return [(names[i] if i < len(names) else f"argument {i}", a)
            for i, a in enumerate(arrays) if a is not None]  # fmt: skip


def common_location(*arrays: Any, names: tuple[str, ...] = ()) -> str:
    """The one location of all given arrays (None entries skipped); ValueError when they mix."""
    seen = [(name, location(a)) for name, a in _named(arrays, names)]
    places = {where for _, where in seen}
    if len(places) > 1:
        desc = ", ".join(f"{name} on {where}" for name, where in seen)
        raise ValueError(
            f"inputs live on different devices ({desc}); move them to one device first "
            "(e.g. cupy.asnumpy(x) / tensor.cpu(), or cupy.asarray(x) / tensor.cuda())"
        )
    return places.pop() if places else HOST


def gpu_index(*arrays: Any, names: tuple[str, ...] = ()) -> int | None:
    """The one GPU that the given arrays say they are on (DLPack; host arrays say none), None
    when none says; ValueError when they name different GPUs."""
    seen = [(name, _cuda_device_index(a)) for name, a in _named(arrays, names)]
    seen = [(name, index) for name, index in seen if index is not None]
    if len({index for _, index in seen}) > 1:
        desc = ", ".join(f"{name} on GPU {index}" for name, index in seen)
        raise ValueError(
            f"inputs live on different GPUs ({desc}); move them to one GPU first "
            "(e.g. tensor.to('cuda:0'), or cupy.asarray(x) under cupy.cuda.Device(0))"
        )
    return seen[0][1] if seen else None


def to_host(x: Any) -> Any:
    """A host view or copy of a device array (CuPy, torch CUDA tensors); other inputs unchanged."""
    if location(x) != CUDA:
        return x
    get = getattr(x, "get", None)  # cupy.ndarray
    if callable(get) and type(x).__module__.startswith("cupy"):
        return get()
    cpu = getattr(x, "cpu", None)  # torch.Tensor
    if callable(cpu):
        return cpu().detach().numpy()
    return np.from_dlpack(x, device="cpu", copy=True)


class DeviceMatrix:
    """A validated GPU-resident (rows, cols) float32 or float64 C-contiguous matrix: a pointer,
    its shape and dtype, and the object that owns the memory (kept alive)."""

    def __init__(
        self,
        ptr: int,
        shape: tuple[int, int],
        dtype: Any,
        owner: Any,
        name: str = "input",
        device_id: int | None = None,
    ):
        self.ptr = int(ptr)
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.owner = owner
        self.name = name
        self.device_id = device_id  # the GPU holding it, when the owner says (DLPack)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "typestr": self.dtype.str,
            "data": (self.ptr, True),
            "strides": None,
            "version": 3,
        }


def _interface(x: Any, name: str) -> dict[str, Any] | None:
    """``x.__cuda_array_interface__`` (None without one). A torch tensor that requires grad is
    read through ``.detach()`` (the same memory, no copy); an unreadable interface is a
    ValueError naming the problem."""
    try:
        return getattr(x, "__cuda_array_interface__", None)
    except Exception as exc:
        detach = getattr(x, "detach", None)
        if callable(detach) and getattr(x, "requires_grad", False):
            return _interface(detach(), name)
        raise ValueError(
            f"{name} is GPU-resident, but its __cuda_array_interface__ cannot be read "
            f"({type(exc).__name__}: {exc}); GPU inputs must be float32 or float64 (convert on "
            "the device, e.g. tensor.float())"
        ) from exc


def device_matrix(x: Any, name: str) -> DeviceMatrix:
    """Check a GPU-resident input without touching its values (they are checked on the device:
    finite, within max_magnitude) and describe it; ValueError naming the problem."""
    if isinstance(x, DeviceMatrix):
        return x
    cai = _interface(x, name)
    if cai is None:
        raise ValueError(
            f"{name} is GPU-resident without __cuda_array_interface__; pass a CuPy array or a "
            "torch CUDA tensor"
        )
    shape = tuple(int(v) for v in cai["shape"])
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {shape}")
    dtype = np.dtype(cai["typestr"])
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"{name} is a GPU-resident array of dtype {dtype}; GPU inputs must be float32 or "
            "float64 (convert on the device, e.g. x.astype(cupy.float32) or tensor.float())"
        )
    strides = cai.get("strides")
    c_strides = (shape[1] * dtype.itemsize, dtype.itemsize)
    if strides is not None and tuple(strides) != c_strides and (shape[0] > 1 or shape[1] > 1):
        raise ValueError(
            f"{name} must be C-contiguous on the device (cupy.ascontiguousarray(x) or "
            "tensor.contiguous())"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {shape})")
    return DeviceMatrix(cai["data"][0], shape, dtype, x, name, _cuda_device_index(x))
