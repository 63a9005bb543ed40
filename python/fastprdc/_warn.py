"""Warnings attributed to the user's line: the first caller outside the fastprdc package,
whichever entry point (a metric function, evaluate, Reference, the compat layer) led there."""

from __future__ import annotations

import sys
import warnings

from ._frames import is_own


def warn(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """``warnings.warn`` with the stack level of the first frame outside fastprdc."""
    level, frame = 2, sys._getframe(1)  # level 2: the caller of warn()
    while frame is not None and is_own(frame):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
