"""The commands' outputs: checked before any work (writable, not an input, one file each,
matplotlib for figures), and the --report and --plot files written."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._common import CLIError, note

REPORT_SUFFIXES = (".html", ".htm")


INPUT_OPTIONS = ("real", "fake", "real_features", "real_labels", "fake_labels", "center")


def input_paths(args: argparse.Namespace) -> list[str]:
    """The files the command reads (an output must not replace one of them)."""
    names = ("results", "samples") if args.command == "show" else INPUT_OPTIONS
    paths: list[str] = []
    for name in names:
        value = getattr(args, name, None)
        paths += value if isinstance(value, list) else [] if value is None else [value]
    return paths


def check_output(
    path: str | None, option: str, args: argparse.Namespace, suffixes: Sequence[str] = ()
) -> None:
    """Fail before any work when an output cannot be written where it was asked, or would
    replace one of the command's inputs."""
    if path is None:
        return
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise CLIError(
            f"{option} {path}: expected a {' or '.join(suffixes)} file "
            f"(got suffix {p.suffix or 'none'!r})"
        )
    if p.is_dir():
        raise CLIError(f"{option} {path}: is a directory; give a file name")
    if not p.parent.is_dir():
        raise CLIError(f"{option} {path}: no such directory: {p.parent}")
    for source in input_paths(args) if p.exists() else []:
        if Path(source).exists() and os.path.samefile(p, source):
            raise CLIError(
                f"{option} {path}: is also an input of this command ({source}); writing it "
                "would destroy that input: give another file name"
            )


def need_matplotlib(option: str) -> None:
    try:
        from fastprdc.plot import _mpl

        _mpl()
    except ImportError:
        raise CLIError(
            f"{option} draws figures with matplotlib, which is not installed: pip install "
            '"fastprdc[plot]"'
        ) from None


def check_outputs(args: argparse.Namespace, outputs: Sequence[str] = ("report", "plot")) -> None:
    """Fail before any work when two of the command's ``outputs`` (option names) name one file
    (the second would replace the first) or a figure output cannot be written (--report,
    --plot; their suffix, matplotlib)."""
    seen: dict[Path, str] = {}
    for option in outputs:
        path = getattr(args, option, None)
        if path is None or path == "-":
            continue
        where = Path(path).resolve()
        if where in seen:
            raise CLIError(
                f"--{option} {path}: also the file of --{seen[where]}; each output needs its "
                "own file name"
            )
        seen[where] = option
    check_output(args.report, "--report", args, REPORT_SUFFIXES)
    from fastprdc.plot import SAVE_FORMATS

    check_output(args.plot, "--plot", args, tuple(SAVE_FORMATS))
    if args.report is not None:
        need_matplotlib("--report")
    elif args.plot is not None:
        need_matplotlib("--plot")


def write_figures(result: Any, args: argparse.Namespace, title: str) -> None:
    """The --report and --plot files (at --dpi when given)."""
    dpi = {} if args.dpi is None else {"dpi": args.dpi}
    if args.report is not None:
        from fastprdc.report import write_report

        write_report(result, args.report, title=title, **dpi)
        note(args, f"wrote {args.report}")
    if args.plot is not None:
        from fastprdc import plot as plots

        plots.save_summary(result, args.plot, **dpi)
        note(args, f"wrote {args.plot}")
