"""The ``fastprdc`` argument parser: its subcommands, their options and the options' types."""

from __future__ import annotations

import argparse
from typing import Any

from ..io import LABEL_KEYS
from ._commands import cmd_demo, cmd_eval, cmd_info, cmd_reference, cmd_show


def _metric_choices() -> tuple[str, ...]:
    from fastprdc.metrics import FAMILIES

    return (*FAMILIES, "all")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _k(text: str) -> int:
    """A --k value: a positive int (``auto`` is --cover-k's)."""
    if text == "auto":
        raise argparse.ArgumentTypeError("auto applies to --cover-k only; give a positive integer")
    return _positive_int(text)


def _k_or_auto(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _add_request_options(p: argparse.ArgumentParser, for_reference: bool) -> None:
    """--k, --metrics and the family options (eval and reference)."""
    default = "every family" if for_reference else "every family; with a reference, the reference's"
    p.add_argument(
        "--k",
        nargs="+",
        type=_k,
        default=None,
        metavar="K",
        help="neighbourhood size(s) for every family that takes k; default: each family's "
        "own (5 for density_coverage and pce_rce_re, else 3)"
        + ("" if for_reference else "; with a reference, the reference's"),
    )
    p.add_argument(
        "--metrics",
        nargs="+",
        choices=_metric_choices(),
        default=None,
        metavar="FAMILY",
        help="metric families to compute: " + ", ".join(_metric_choices()) + f" (default: "
        f"{default})",
    )
    p.add_argument(
        "--cover-k",
        nargs="+",
        type=_k_or_auto,
        metavar="K",
        help="precision_recall_cover only: k value(s) or 'auto' (the authors' rule "
        "k = int(int(ln N + 7) / C + 1)); default: --k, else 3",
    )
    p.add_argument(
        "--prune",
        type=_fraction,
        metavar="F",
        help="realism_score: share of the largest real balls left out (default 0.5 = median)",
    )
    p.add_argument(
        "--C",
        dest="C",
        type=_positive_int,
        metavar="C",
        help="precision_recall_cover: ball size factor, k' = C * k (default 3)",
    )
    p.add_argument(
        "--variant",
        choices=("native", "cheema2023"),
        help="precision_recall_cover: native (default; the information-theoretic paper's "
        "reading) or cheema2023 (the authors' code: precision and recall cover swapped)",
    )
    p.add_argument(
        "--n-alphas",
        dest="n_alphas",
        type=_positive_int,
        metavar="N",
        help="alpha_precision_beta_recall: number of alpha/beta levels (default 30)",
    )
    p.add_argument(
        "--center",
        metavar="FILE",
        help="alpha_precision_beta_recall: centre, a length-d vector (.npy/.npz/.pt; "
        "default: the mean of REAL)",
    )


def _add_key_options(p: argparse.ArgumentParser, fake: bool) -> None:
    p.add_argument(
        "--key",
        metavar="NAME",
        help="array name inside .npz/.pt files"
        + (" (both REAL and FAKE)" if fake else "")
        + "; default: auto-detect",
    )
    p.add_argument(
        "--real-key",
        metavar="NAME",
        help="array name inside the real features file only"
        + (" (REAL, or --real FILE)" if fake else ""),
    )
    if fake:
        p.add_argument("--fake-key", metavar="NAME", help="array name inside FAKE only")


def _add_label_options(p: argparse.ArgumentParser, fake: bool) -> None:
    if fake:
        modes = p.add_argument_group(
            "mode level",
            "per-class metrics (class c of fake against class c of real), class histograms and "
            "the classes missing from fake; any of these options turns it on (with a "
            "reference, its stored real labels are used)",
        )
    else:
        modes = p.add_argument_group(
            "mode level",
            "also store the real side of every class (for `fastprdc eval OUT FAKE "
            "--fake-labels FILE`); any of these options turns it on",
        )
    modes.add_argument(
        "--real-labels", metavar="FILE", help="class id per real row (.npy, or .npz)"
    )
    if fake:
        modes.add_argument(
            "--fake-labels", metavar="FILE", help="class id per fake row (.npy, or .npz)"
        )
    sets = "real|fake" if fake else "real"
    modes.add_argument(
        "--labels-key",
        metavar="NAME",
        help="labels array name inside the .npz files (default: auto-detect "
        + ", ".join(LABEL_KEYS).replace("{set}", sets)
        + ")",
    )
    modes.add_argument(
        "--per-class",
        action="store_true",
        help="read the labels from the REAL and FAKE .npz files (auto-detected key)"
        if fake
        else "read the labels from the REAL .npz file (auto-detected key)",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        default="auto",
        help="backend: auto (default), cpu, numpy (reference), cuda, cupy (on one GPU: "
        "cuda:1, cupy:0; without an index, the current GPU), sim (the GPU kernels run on the "
        "CPU, for tests)",
    )
    p.add_argument(
        "--no-exact",
        action="store_true",
        help="skip the float64 recheck of ambiguous decisions (faster, not exact)",
    )
    p.add_argument(
        "--max-memory",
        metavar="SIZE",
        help='memory budget for temporaries, e.g. "4GB" (too small to run: an error)',
    )
    p.add_argument("--threads", type=_positive_int, metavar="N", help="number of threads")
    talk = p.add_mutually_exclusive_group()
    talk.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar, no warnings, no messages on stderr (errors still print)",
    )
    talk.add_argument(
        "--progress",
        action="store_true",
        help="show progress bars even when stderr is not a terminal (default: only on one)",
    )


def _add_figure_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--report",
        metavar="FILE.html",
        help=f"write {what} as one self-contained HTML file (table, figures inline, "
        "per-class table, the run's facts; needs matplotlib: fastprdc[plot])",
    )
    p.add_argument(
        "--plot",
        metavar="FILE.png|pdf|svg",
        help=f"write one summary figure of {what} (.png, .pdf or .svg; needs matplotlib)",
    )
    p.add_argument(
        "--dpi",
        type=_positive_int,
        metavar="N",
        help="resolution of the figures (default: 150 for --plot, 100 in --report)",
    )


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2), like
    every other error of the command; ``--help`` prints the usage."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``fastprdc`` argument parser."""
    from fastprdc._config import _version

    parser = _Parser(
        prog="fastprdc",
        description="Exact kNN evaluation metrics for generative models.",
    )
    parser.add_argument("--version", action="version", version=f"fastprdc {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="{eval,reference,show,info,demo}")
    sub.required = True

    ev = sub.add_parser(
        "eval",
        help="score a fake feature set against a real one (or a saved reference)",
        description="Score FAKE features against REAL features (.npy, .npz or .pt), or "
        "against a reference file written by `fastprdc reference` (then only the fake side "
        "and the real x fake pass run).",
    )
    ev.add_argument(
        "real",
        metavar="REAL",
        help="real features, N x d (.npy, .npz, .pt; .zarr or a directory of .npy files: read "
        "by block on a Dask cluster), or a reference file",
    )
    ev.add_argument(
        "fake",
        metavar="FAKE",
        help="fake features, M x d (.npy, .npz, .pt; .zarr or a directory of .npy files: read "
        "by block on a Dask cluster)",
    )
    ev.add_argument(
        "--real",
        dest="real_features",
        metavar="FILE",
        help="the real features of a reference file saved without them (checked against "
        "its fingerprint)",
    )
    _add_request_options(ev, for_reference=False)
    ev.add_argument(
        "--boundary",
        choices=("inclusive", "strict"),
        default="inclusive",
        help="ball membership: inclusive d <= r (default) or strict d < r (prdc package)",
    )
    ev.add_argument(
        "--json",
        metavar="OUT",
        help="write scalars, curves, info and the per-class table as JSON (no per-sample "
        "arrays: see --samples); '-' prints the JSON alone on stdout instead of the table",
    )
    ev.add_argument(
        "--samples",
        metavar="OUT.npz",
        help="write every per-sample array to OUT.npz (family.name_kK; per class too)",
    )
    _add_figure_options(ev, "the result")
    _add_key_options(ev, fake=True)
    _add_label_options(ev, fake=True)
    _add_run_options(ev)
    dask = ev.add_argument_group(
        'more than one machine (Dask; pip install "fastprdc[distributed]")',
        "run the passes as Dask tasks (results identical to a single-machine run); .zarr "
        "stores and directories of .npy files are read lazily by block on the workers, on a "
        "local cluster unless --scheduler is given",
    )
    where = dask.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler")
    where.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="start a local Dask cluster of N single-threaded worker processes",
    )
    ev.set_defaults(func=cmd_eval)

    rf = sub.add_parser(
        "reference",
        help="compute a real set's passes once and save them, for many `eval`s",
        description="Build a reference from REAL (the real self-kNN at the depth every "
        "requested family needs, the real mean, alpha-precision's centre distances; per class "
        "with labels) and save it to one .npz file (no pickle). `fastprdc eval OUT FAKE` then "
        "runs only the fake side and the real x fake pass, with identical results.",
    )
    rf.add_argument("real", metavar="REAL", help="real features, N x d (.npy, .npz, .pt)")
    rf.add_argument(
        "--out", required=True, metavar="FILE", help="the reference file to write (.npz)"
    )
    _add_request_options(rf, for_reference=True)
    rf.add_argument(
        "--include-features",
        action="store_true",
        help="also store the real features (else `eval` needs them again: --real FILE)",
    )
    rf.add_argument("--compress", action="store_true", help="deflate the arrays")
    _add_key_options(rf, fake=False)
    _add_label_options(rf, fake=False)
    _add_run_options(rf)
    rf.set_defaults(func=cmd_reference)

    sh = sub.add_parser(
        "show",
        help="print, plot or report results saved by `eval --json`",
        description="Read results written by `fastprdc eval --json` (or "
        "EvaluationResult.to_json) and print their tables; with one RESULT, --report and "
        "--plot as in `eval`; with several, --plot draws them side by side (one panel per "
        "metric; a line in number order when every file name is a number, e.g. 1000.json "
        "2000.json for training steps, else one bar per file, named by the file and as many "
        "of its folders as tell it apart).",
    )
    sh.add_argument("results", nargs="+", metavar="RESULT", help="a result .json file")
    sh.add_argument(
        "--samples",
        metavar="FILE.npz",
        help="the per-sample arrays of the same run (`eval --samples`), for the histograms of "
        "--report and --plot (one RESULT)",
    )
    _add_figure_options(sh, "the result")
    sh.add_argument(
        "--xlabel", metavar="TEXT", help="x axis label of a comparison (default: step for a line)"
    )
    sh.add_argument("--quiet", action="store_true", help="no messages on stderr")
    sh.set_defaults(func=cmd_show)

    info = sub.add_parser(
        "info",
        help="show build and runtime configuration",
        description="Print the versions, the native core's build (compiler, OpenMP, BLAS, "
        "SIMD), the GPU build and devices, and every backend's availability (with the reason "
        "when one is unavailable).",
    )
    info.set_defaults(func=cmd_info)

    demo = sub.add_parser(
        "demo",
        help="run the metrics on scikit-learn's digits (no download)",
        description="Score fake sets drawn from a class-conditional Gaussian model of "
        "scikit-learn's digits (bundled, no download) against the real digits: every family, "
        "mode dropping, per-class (mode-level) recall; prints the tables (needs "
        'pip install "fastprdc[demo]").',
    )
    demo.add_argument("--quick", action="store_true", help="smaller sets, for CI")
    demo.add_argument("--device", default="auto", help="backend, as for eval (default: auto)")
    demo.add_argument("--quiet", action="store_true", help="no warnings and no messages on stderr")
    _add_figure_options(demo, "the mode-level run (every family, k = 3, 5, 10)")
    demo.set_defaults(func=cmd_demo)
    return parser


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (its usage errors name it and its --help)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    return parser
