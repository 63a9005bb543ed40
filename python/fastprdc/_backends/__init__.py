"""Backend registry: one object per backend, each implementing the three primitives.

``numpy`` (float64 reference) is always available. ``cpu`` needs the native extension
``fastprdc._core``; when it cannot be imported the reason is kept and reported, and
``import fastprdc`` still works. ``cuda`` and ``cupy`` are not implemented in this version.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import numpy as np

from .._options import RunOptions

__all__ = ["Backend", "available_backends", "get_backend", "resolve_device"]

_NOT_IMPLEMENTED = "not implemented in this version"
_NAMES = ("cpu", "cuda", "cupy", "numpy")


class Backend(Protocol):
    """What every backend provides (inputs already validated, see ``_validation``)."""

    name: str

    def pairwise_distances(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Oracle distances (n, m) float64; X and Y may mix float32 and float64."""
        ...

    def knn(
        self, X: np.ndarray, Y: np.ndarray | None, k: int, opts: RunOptions
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def cross_pass(
        self,
        A: np.ndarray,
        B: np.ndarray,
        radii_a: np.ndarray | None,
        radii_b: np.ndarray | None,
        strict: bool,
        knn_a: int,
        knn_b: int,
        opts: RunOptions,
        realism_radii: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """Fused cross pass; ``realism_radii`` (N, KR), negative = pruned, adds
        ``b_realism`` / ``b_realism_idx`` (M, KR)."""
        ...


_loaded: dict[str, Any] = {}
_reasons: dict[str, str] = {}


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _load_cpu() -> Any:
    try:
        importlib.import_module("fastprdc._core")
    except Exception as exc:
        raise RuntimeError(
            f"the native extension fastprdc._core cannot be imported ({_describe(exc)}); "
            "build and install the package with `pip install .`"
        ) from exc
    module = importlib.import_module(".cpu", __name__)
    for attr in ("CpuBackend", "Backend"):
        cls = getattr(module, attr, None)
        if isinstance(cls, type):
            return cls()
    return module  # module-level functions and `name`


def _load_numpy() -> Any:
    from .numpy_backend import NumpyBackend

    return NumpyBackend()


_LOADERS = {"cpu": _load_cpu, "numpy": _load_numpy}


def _try_load(name: str) -> Any | None:
    if name in _loaded:
        return _loaded[name]
    if name in _reasons:
        return None
    loader = _LOADERS.get(name)
    if loader is None:
        _reasons[name] = _NOT_IMPLEMENTED
        return None
    try:
        backend = loader()
    except Exception as exc:
        reason = str(exc) if isinstance(exc, RuntimeError) else _describe(exc)
        _reasons[name] = reason
        return None
    _loaded[name] = backend
    return backend


def available_backends() -> dict[str, str | None]:
    """Every backend name -> None when usable, else the reason it is not."""
    return {name: (None if _try_load(name) is not None else _reasons[name]) for name in _NAMES}


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


def resolve_device(device: str, *arrays: Any) -> Any:
    """Pick the backend for ``device``: ``"auto"`` -> cpu (GPU-resident input: later), else by name.

    ``arrays`` are the inputs (for ``"auto"`` to follow their location once GPU backends exist).
    """
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, got {device!r}")
    if device.lower() != "auto":
        return get_backend(device)
    try:
        return get_backend("cpu")
    except RuntimeError as exc:
        raise RuntimeError(
            f"device='auto' needs the cpu backend, which is unavailable: {_reasons['cpu']} "
            "(device='numpy' runs the slow pure-numpy reference)"
        ) from exc
