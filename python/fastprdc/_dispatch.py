"""Whether a call goes to ``fastprdc.distributed`` (without importing Dask), and the one
upward call that hands it there."""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["distributed", "is_distributed_input"]


def is_distributed_input(*arrays: Any) -> bool:
    """True when any input is a Dask collection (a dask array): such inputs run on the
    current Dask client. Checked on the type, so numpy inputs never import Dask."""
    return any(hasattr(type(a), "__dask_graph__") for a in arrays if a is not None)


def distributed() -> ModuleType:
    """``fastprdc.distributed``, imported on first use. It builds on the single-machine
    layers (evaluate, metrics, primitives), which hand Dask inputs up to it through here:
    the one deliberate upward import of those layers."""
    from . import distributed as module

    return module
