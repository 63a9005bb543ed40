"""Command line interface: ``fastprdc eval | info | demo`` (also ``python -m fastprdc``).

Files are read by :mod:`fastprdc.io`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .io import LABEL_KEYS, load_features, load_labels

__all__ = ["load_features", "load_labels", "main"]  # the readers live in fastprdc.io


def _metric_choices() -> tuple[str, ...]:
    from fastprdc.metrics import FAMILIES

    return (*FAMILIES, "all")


class CLIError(ValueError):
    """A user error reported as one line on stderr with exit code 2."""


def _labels(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray] | None:
    """Both label arrays when mode level was asked for (any labels option), else None."""
    wanted = (
        args.per_class
        or args.labels_key is not None
        or args.real_labels is not None
        or args.fake_labels is not None
    )
    if not wanted:
        return None
    out = []
    for set_name, features_path, labels_path in (
        ("real", args.real, args.real_labels),
        ("fake", args.fake, args.fake_labels),
    ):
        if labels_path is not None:
            out.append(load_labels(labels_path, set_name, args.labels_key))
        else:
            out.append(load_labels(features_path, set_name, args.labels_key, features=True))
    return out[0], out[1]


def _flatten(prefix: str, value: Any, flat: dict[str, np.ndarray]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            if key is None:  # a family without k
                name = prefix
            elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
                name = f"{prefix}_k{key}"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            _flatten(name, sub, flat)
    elif value is not None:
        flat[prefix] = np.asarray(value)


def _sample_arrays(samples: Any, per_class: Any = None) -> dict[str, np.ndarray]:
    """``{family: {name: {k: array}}}`` -> ``{"family.name_k3": array}`` for ``np.savez``.

    With a mode-level result, each evaluated class adds ``per_class.<c>.real_rows`` /
    ``fake_rows`` (rows of the full sets) and ``per_class.<c>.<family>.<name>_k3``.
    """
    flat: dict[str, np.ndarray] = {}
    _flatten("", samples or {}, flat)
    if per_class:
        for c, rows in (per_class.get("indices") or {}).items():
            flat[f"per_class.{c}.real_rows"] = np.asarray(rows["real"])
            flat[f"per_class.{c}.fake_rows"] = np.asarray(rows["fake"])
        for c, per_family in (per_class.get("samples") or {}).items():
            _flatten(f"per_class.{c}", per_family or {}, flat)
    return flat


def _cmd_eval(args: argparse.Namespace) -> int:
    real = load_features(args.real, args.key)
    fake = load_features(args.fake, args.key)

    from fastprdc import evaluate

    labels = _labels(args)

    from fastprdc.metrics import FAMILIES

    metrics: Any = "all" if "all" in args.metrics else list(dict.fromkeys(args.metrics))
    names = list(FAMILIES) if metrics == "all" else metrics
    k: Any = None
    if args.k is not None:
        k = args.k[0] if len(args.k) == 1 else list(args.k)
    if args.cover_k is not None:
        if "precision_recall_cover" not in names:
            raise CLIError("--cover-k needs precision_recall_cover among --metrics")
        cover_k = args.cover_k[0] if len(args.cover_k) == 1 else list(args.cover_k)
        k = {name: k for name in names if FAMILIES[name].uses_k and k is not None}
        k["precision_recall_cover"] = cover_k
    params: dict[str, dict[str, Any]] = {}
    for option, family, name in _FAMILY_OPTIONS:
        value = getattr(args, option)
        if value is None:
            continue
        if family not in names:
            raise CLIError(f"--{option.replace('_', '-')} needs {family} among --metrics")
        params.setdefault(family, {})[name] = value
    if args.center is not None:
        if "alpha_precision_beta_recall" not in names:
            raise CLIError("--center needs alpha_precision_beta_recall among --metrics")
        center = load_features(args.center).reshape(-1)
        params.setdefault("alpha_precision_beta_recall", {})["center"] = center
    extra: dict[str, Any] = {}
    if params:
        extra["params"] = params
    if labels is not None:
        extra["real_labels"], extra["fake_labels"] = labels
    result = evaluate(
        real,
        fake,
        k=k,
        metrics=metrics,
        boundary=args.boundary,
        sample_level=args.samples is not None,
        device=args.device,
        exact=not args.no_exact,
        max_memory=args.max_memory,
        num_threads=args.threads,
        progress=not args.quiet,
        **extra,
    )
    print(repr(result))  # includes the per-class table when labels were given
    per_class = getattr(result, "per_class", None)
    if args.json is not None:
        result.to_json(args.json)
        if not args.quiet:
            print(f"wrote {args.json}", file=sys.stderr)
    if args.samples is not None:
        np.savez(args.samples, **_sample_arrays(result.samples, per_class))
        if not args.quiet:
            print(f"wrote {args.samples}", file=sys.stderr)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from fastprdc._config import show_config

    show_config()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from fastprdc.demo import run_demo

    try:
        run_demo(quick=args.quick, device=args.device)
    except ImportError as exc:
        if "fastprdc[demo]" in str(exc):
            print(f"fastprdc: {exc}", file=sys.stderr)
            return 1
        raise
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


#: (argparse dest, family, parameter name) of the family options.
_FAMILY_OPTIONS = (
    ("prune", "realism_score", "prune"),
    ("C", "precision_recall_cover", "C"),
    ("variant", "precision_recall_cover", "variant"),
    ("n_alphas", "alpha_precision_beta_recall", "n_alphas"),
)


def _k_or_auto(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``fastprdc`` argument parser."""
    from fastprdc._config import _version

    parser = argparse.ArgumentParser(
        prog="fastprdc",
        description="Exact kNN evaluation metrics for generative models.",
    )
    parser.add_argument("--version", action="version", version=f"fastprdc {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="{eval,info,demo}")
    sub.required = True

    ev = sub.add_parser(
        "eval",
        help="score a fake feature set against a real one",
        description="Score FAKE features against REAL features (.npy, .npz or .pt).",
    )
    ev.add_argument("real", metavar="REAL", help="real features, N x d (.npy, .npz, .pt)")
    ev.add_argument("fake", metavar="FAKE", help="fake features, M x d (.npy, .npz, .pt)")
    ev.add_argument(
        "--k",
        nargs="+",
        type=_positive_int,
        default=None,
        metavar="K",
        help="neighbourhood size(s) for every family that takes k; default: each family's "
        "own (5 for density_coverage and pce_rce_re, else 3)",
    )
    ev.add_argument(
        "--metrics",
        nargs="+",
        choices=_metric_choices(),
        default=["all"],
        metavar="FAMILY",
        help="metric families to compute: " + ", ".join(_metric_choices()) + " (default: all)",
    )
    ev.add_argument(
        "--boundary",
        choices=("inclusive", "strict"),
        default="inclusive",
        help="ball membership: inclusive d <= r (default) or strict d < r (prdc package)",
    )
    ev.add_argument(
        "--device",
        default="auto",
        help="backend: auto (default), cpu, numpy (reference), cuda, cupy",
    )
    ev.add_argument(
        "--cover-k",
        nargs="+",
        type=_k_or_auto,
        metavar="K",
        help="precision_recall_cover only: k value(s) or 'auto' (the authors' rule "
        "k = int(int(ln N + 7) / C + 1)); default: --k, else 3",
    )
    ev.add_argument(
        "--prune",
        type=_fraction,
        metavar="F",
        help="realism_score: share of the largest real balls left out (default 0.5 = median)",
    )
    ev.add_argument(
        "--C",
        dest="C",
        type=_positive_int,
        metavar="C",
        help="precision_recall_cover: ball size factor, k' = C * k (default 3)",
    )
    ev.add_argument(
        "--variant",
        choices=("native", "cheema2023"),
        help="precision_recall_cover: native (default; the information-theoretic paper's "
        "reading) or cheema2023 (the authors' code: precision and recall cover swapped)",
    )
    ev.add_argument(
        "--n-alphas",
        dest="n_alphas",
        type=_positive_int,
        metavar="N",
        help="alpha_precision_beta_recall: number of alpha/beta levels (default 30)",
    )
    ev.add_argument(
        "--center",
        metavar="FILE",
        help="alpha_precision_beta_recall: centre, a length-d vector (.npy/.npz/.pt; "
        "default: the mean of REAL)",
    )
    ev.add_argument("--json", metavar="OUT", help="write the result as JSON to OUT")
    ev.add_argument(
        "--samples",
        metavar="OUT.npz",
        help="write every per-sample array to OUT.npz (family.name_kK; per class too)",
    )
    ev.add_argument("--key", help="array name inside .npz/.pt files (default: auto-detect)")
    modes = ev.add_argument_group(
        "mode level",
        "per-class metrics (class c of fake against class c of real), class histograms and "
        "the classes missing from fake; any of these options turns it on",
    )
    modes.add_argument(
        "--real-labels", metavar="FILE", help="class id per real row (.npy, or .npz)"
    )
    modes.add_argument(
        "--fake-labels", metavar="FILE", help="class id per fake row (.npy, or .npz)"
    )
    modes.add_argument(
        "--labels-key",
        metavar="NAME",
        help="labels array name inside the .npz files (default: auto-detect "
        + ", ".join(LABEL_KEYS).replace("{set}", "real|fake")
        + ")",
    )
    modes.add_argument(
        "--per-class",
        action="store_true",
        help="read the labels from the REAL and FAKE .npz files (auto-detected key)",
    )
    ev.add_argument(
        "--no-exact",
        action="store_true",
        help="skip the float64 recheck of ambiguous decisions (faster, not exact)",
    )
    ev.add_argument(
        "--max-memory", metavar="SIZE", help='memory budget for temporaries, e.g. "4GB"'
    )
    ev.add_argument("--threads", type=_positive_int, metavar="N", help="number of threads")
    ev.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    ev.set_defaults(func=_cmd_eval)

    info = sub.add_parser("info", help="show build and runtime configuration")
    info.set_defaults(func=_cmd_info)

    demo = sub.add_parser("demo", help="run the metrics on scikit-learn's digits (no download)")
    demo.add_argument("--quick", action="store_true", help="smaller sets, for CI")
    demo.add_argument("--device", default="auto", help="backend (default: auto)")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastprdc`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (code 2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `fastprdc info | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"fastprdc {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastprdc: interrupted", file=sys.stderr)
        return 130
