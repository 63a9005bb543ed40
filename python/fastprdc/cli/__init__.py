"""Command line interface: ``fastprdc eval | reference | show | info | demo`` (also ``python -m
fastprdc``).

- ``fastprdc eval REAL FAKE``: the result table; ``--json`` (scalars, curves, info, the
  per-class table: no per-sample arrays), ``--samples`` (every per-sample array, alone),
  ``--report`` (one self-contained HTML file), ``--plot`` (one summary figure). REAL may be
  a reference file written by ``fastprdc reference`` (recognised by its content).
- ``fastprdc reference REAL --out FILE``: builds a :class:`fastprdc.Reference` and saves it.
- ``fastprdc show RESULT.json ...``: the tables of saved results; ``--report`` / ``--plot`` of
  one, or ``--plot`` of several side by side.
- Progress bars only when stderr is a terminal (or with ``--progress``); warnings print as
  one ``fastprdc: warning: ...`` line each, and ``--quiet`` silences both.

Files are read by :mod:`fastprdc.io`. Every user error is one line on stderr, exit code 2.
Here: :func:`main`; the parser in ``_parser``, the subcommands in ``_commands``, what they read
in ``_inputs``, write in ``_outputs`` and compute in ``_request``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from ..io import load_features, load_labels
from ._common import CLIError
from ._parser import build_parser, subcommand

# the readers live in fastprdc.io
__all__ = ["CLIError", "build_parser", "load_features", "load_labels", "main"]


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` of the command: one ``fastprdc: warning: ...`` line, without
    the source line Python prints by default."""
    stream = sys.stderr if file is None else file
    text = " ".join(str(message).split())
    with contextlib.suppress(OSError, ValueError):  # stderr closed: nowhere to warn
        print(f"fastprdc: warning: {text}", file=stream)


def _error_text(exc: BaseException) -> str:
    """One line for the user: an OSError with a file name as ``name: reason``."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastprdc`` command; returns the exit code."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.command == "show" and not any(e.startswith("-") for e in extra):
            args.results += extra  # RESULT files after the options
        elif extra:
            subcommand(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, or a usage error (code 2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        with warnings.catch_warnings():  # restores the filters and showwarning on exit
            if getattr(args, "quiet", False):
                warnings.simplefilter("ignore")
            else:
                warnings.showwarning = _show_warning
            return int(args.func(args))
    except BrokenPipeError:  # e.g. `fastprdc info | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"fastprdc {args.command}: error: {_error_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastprdc: interrupted", file=sys.stderr)
        return 130
