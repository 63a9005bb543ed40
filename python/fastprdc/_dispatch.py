"""Whether a call goes to ``fastprdc.distributed`` (without importing Dask)."""

from __future__ import annotations

from typing import Any

__all__ = ["is_distributed_input"]


def is_distributed_input(*arrays: Any) -> bool:
    """True when any input is a Dask collection (a dask array): such inputs run on the
    current Dask client. Checked on the type, so numpy inputs never import Dask."""
    return any(hasattr(type(a), "__dask_graph__") for a in arrays if a is not None)
