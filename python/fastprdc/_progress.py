"""Progress reporting: a tqdm bar on stderr behind the ``progress(done, total)`` callback.

A run has phases (self-kNN of real, self-kNN of fake, cross pass); each phase reports
its own tiles done / total. ``progress=True`` shows one bar per phase; a user callable
receives ``(done, total)`` of the running phase (``done`` restarts at 0 in each phase), and
one that takes a ``phase`` argument (or ``**kwargs``) also the phase's name as ``phase=``:
``"kNN real"``, ``"kNN fake"``, ``"cross pass"``, ``"kNN"``, ``"ball membership"``, or
``"dask tasks"`` on a cluster.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

__all__ = ["ProgressBar", "named", "phase"]


class ProgressBar:
    """``progress(done, total)`` callable drawing a tqdm bar (tiles done/total, rate, ETA)."""

    def __init__(self, description: str = "fastprdc") -> None:
        self.description = description
        self._bar: Any = None

    def start(self, description: str) -> None:
        """Close the current bar; the next call opens a new one named ``description``."""
        self.close()
        self.description = description

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=self.description,
                unit="tile",
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.2,
                smoothing=0.1,
            )
        bar = self._bar
        if total != bar.total:
            bar.total = total
        if done != bar.n:
            bar.update(done - bar.n)

    def close(self) -> None:
        """Close the bar if one is open."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _takes_phase(callback: Callable[..., None]) -> bool:
    """Whether ``callback(done, total, phase=...)`` is a valid call: a ``phase`` parameter
    after the two positional ones, or ``**kwargs``. The signature read is the callable's own
    (not that of a function it wraps with functools.wraps, which may not pass phase on)."""
    try:
        params = list(inspect.signature(callback, follow_wrapped=False).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: (done, total) only
        return False
    P = inspect.Parameter
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    for p in params:
        if p.kind == P.VAR_KEYWORD:
            return True
        if p.name == "phase" and p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY):
            return p not in positional[:2]  # (phase, done, total) would get phase twice
    return False


def named(progress: Callable[..., None] | None, name: str) -> Callable[[int, int], None] | None:
    """``progress`` as a ``(done, total)`` callable, told ``phase=name`` when it takes it."""
    if progress is None or not _takes_phase(progress):
        return progress
    return functools.partial(progress, phase=name)


@contextmanager
def phase(
    progress: Callable[[int, int], None] | None, description: str
) -> Iterator[Callable[[int, int], None] | None]:
    """Run one phase with ``progress``: a fresh bar for a :class:`ProgressBar`, else the
    callable (told the phase's name when it takes one)."""
    if not isinstance(progress, ProgressBar):
        yield named(progress, description)
        return
    progress.start(f"fastprdc {description}")
    try:
        yield progress
    finally:
        progress.close()
