"""Run options shared by every entry point and passed down to the backends."""

from __future__ import annotations

import numbers
import os
import re
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

__all__ = ["MemoryLike", "ProgressLike", "RunOptions", "make_options", "parse_memory"]

ProgressCallback = Callable[[int, int], None]
ProgressLike = Union[bool, ProgressCallback, None]
MemoryLike = Union[int, str, None]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3, "kb": 10**3, "ki": 2**10, "kib": 2**10,
    "m": 10**6, "mb": 10**6, "mi": 2**20, "mib": 2**20,
    "g": 10**9, "gb": 10**9, "gi": 2**30, "gib": 2**30,
    "t": 10**12, "tb": 10**12, "ti": 2**40, "tib": 2**40,
}  # fmt: skip
# Upper limits of the run options: beyond them a value is a mistake, not a setting (libgomp
# aborts the process when it cannot create the threads; native code takes 63-bit sizes).
MAX_THREADS = max(1024, 4 * (os.cpu_count() or 1))
MAX_TILE_ROWS = 2**31 - 1
MAX_MEMORY = 2**62
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RunOptions:
    """How a run is executed (never what it computes).

    Attributes:
        exact: recheck ambiguous decisions in float64 (results equal the oracle).
        tile_rows: rows per tile, or None to derive it from ``max_memory``.
        num_threads: CPU threads, or None for the library default.
        max_memory: budget in bytes for temporaries, or None for the default.
        progress: ``progress(done, total)`` called during a phase, or None.
        description: name of the running phase (for progress displays).
    """

    exact: bool = True
    tile_rows: int | None = None
    num_threads: int | None = None
    max_memory: int | None = None
    progress: ProgressCallback | None = None
    description: str = ""


def parse_memory(value: MemoryLike) -> int | None:
    """Parse a memory budget: an int number of bytes or a string like ``"8GB"``, ``"512MiB"``.

    Decimal units (``KB``, ``MB``, ``GB``, ``TB``, or ``K``/``M``/``G``/``T``) are powers of
    1000; binary units (``KiB``, ``MiB``, ``GiB``, ``TiB``) powers of 1024. None stays None.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"max_memory must be an int number of bytes or a string, got {value!r}")
    if isinstance(value, numbers.Integral):
        nbytes = int(value)
    elif isinstance(value, str):
        match = _MEMORY_RE.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise ValueError(
                f"cannot parse max_memory={value!r}: expected a number of bytes or a size "
                "like '8GB', '512MiB', '2G'"
            )
        nbytes = int(float(match.group(1)) * _UNITS[unit])
    else:
        raise TypeError(
            f"max_memory must be an int number of bytes or a string, got {type(value).__name__}"
        )
    if nbytes <= 0:
        raise ValueError(f"max_memory must be positive, got {value!r}")
    if nbytes > MAX_MEMORY:
        raise ValueError(
            f"max_memory={value!r} is more than 2^62 bytes; leave it None for no set budget"
        )
    return nbytes


def _positive_int_or_none(value: object, name: str, most: int, why: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int or None, got {value!r}")
    if int(value) < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    if int(value) > most:
        raise ValueError(f"{name}={int(value)} is too large: at most {most} ({why})")
    return int(value)


def make_options(
    *,
    exact: bool = True,
    max_memory: MemoryLike = None,
    num_threads: int | None = None,
    progress: ProgressLike = False,
    tile_rows: int | None = None,
) -> RunOptions:
    """Check the public run keyword arguments and bundle them into a :class:`RunOptions`.

    ``progress=True`` becomes a tqdm progress bar on stderr; a callable is used as is.
    """
    from ._progress import ProgressBar

    if not isinstance(exact, (bool, np.bool_, numbers.Integral)):
        raise TypeError(f"exact must be a bool, got {exact!r}")
    if progress is True:
        callback: ProgressCallback | None = ProgressBar()
    elif progress is False or progress is None:
        callback = None
    elif callable(progress):
        callback = progress
    else:
        raise TypeError(f"progress must be a bool or a callable(done, total), got {progress!r}")
    return RunOptions(
        exact=bool(exact),
        tile_rows=_positive_int_or_none(tile_rows, "tile_rows", MAX_TILE_ROWS, "2^31 - 1"),
        num_threads=_positive_int_or_none(
            num_threads, "num_threads", MAX_THREADS, "the larger of 1024 and 4 per core here"
        ),
        max_memory=parse_memory(max_memory),
        progress=callback,
    )
