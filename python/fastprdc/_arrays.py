"""Where an input array lives, and moving it to the host when a host backend needs it.

Host data: numpy arrays and memmaps, array-likes, CPU torch tensors. Device data: anything with
``__cuda_array_interface__`` (CuPy, Numba, torch CUDA tensors) or a CUDA ``__dlpack_device__``.
Nothing here imports CuPy or torch unless the input already is one of theirs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CUDA", "HOST", "common_location", "location", "to_host"]

HOST = "host"
CUDA = "cuda"
_DLPACK_CUDA = (2, 3, 13)  # kDLCUDA, kDLCUDAHost, kDLCUDAManaged


def location(x: Any) -> str:
    """``"cuda"`` for GPU-resident arrays, else ``"host"``."""
    if isinstance(x, np.ndarray):
        return HOST
    if hasattr(x, "__cuda_array_interface__"):
        return CUDA
    dev = getattr(x, "__dlpack_device__", None)
    if callable(dev):
        try:
            kind = int(dev()[0])
        except Exception:
            return HOST
        return CUDA if kind in _DLPACK_CUDA else HOST
    return HOST


def common_location(*arrays: Any, names: tuple[str, ...] = ()) -> str:
    """The one location of all given arrays (None entries skipped); ValueError when they mix."""
    seen = [(names[i] if i < len(names) else f"argument {i}", location(a))
            for i, a in enumerate(arrays) if a is not None]  # fmt: skip
    places = {where for _, where in seen}
    if len(places) > 1:
        desc = ", ".join(f"{name} on {where}" for name, where in seen)
        raise ValueError(
            f"inputs live on different devices ({desc}); move them to one device first "
            "(e.g. cupy.asnumpy(x) / tensor.cpu(), or cupy.asarray(x) / tensor.cuda())"
        )
    return places.pop() if places else HOST


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
