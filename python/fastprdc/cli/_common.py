"""What every command shares: its user errors, its messages on stderr and its progress bars."""

from __future__ import annotations

import argparse
import sys


class CLIError(ValueError):
    """A user error reported as one line on stderr with exit code 2."""


def progress_wanted(args: argparse.Namespace) -> bool:
    """Progress bars: asked for with --progress, else only when stderr is a terminal (a
    redirected run gets none), never with --quiet."""
    if getattr(args, "quiet", False):
        return False
    if getattr(args, "progress", False):
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def note(args: argparse.Namespace, text: str) -> None:
    """A message on stderr ("wrote ..."), silenced by --quiet."""
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)
