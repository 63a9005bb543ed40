"""Which stack frames run fastprdc's own code, for the two places that need to know: warnings
attributed to the user's line (``_warn``) and what a failed run leaves allocated (below)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import FrameType, TracebackType

_PACKAGE = str(Path(__file__).resolve().parent) + os.sep


def is_own(frame: FrameType) -> bool:
    """True for a frame of a module of the fastprdc package."""
    return str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE)


def clear_own_frames(tb: TracebackType | None) -> None:
    """Clear the finished fastprdc frames of a traceback: their locals (device copies, tiles,
    scratch: tens of GiB on a GPU at 1M rows) would otherwise live as long as the exception is
    kept, e.g. by an interactive session. The caller's frames keep their locals (a debugger
    still shows them); a frame still running is left alone."""
    while tb is not None:
        if is_own(tb.tb_frame):
            with contextlib.suppress(RuntimeError):  # still executing: the handler's own frame
                tb.tb_frame.clear()
        tb = tb.tb_next
