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
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .io import LABEL_KEYS, load_features, load_labels

__all__ = ["load_features", "load_labels", "main"]  # the readers live in fastprdc.io

_REPORT_SUFFIXES = (".html", ".htm")


def _metric_choices() -> tuple[str, ...]:
    from fastprdc.metrics import FAMILIES

    return (*FAMILIES, "all")


class CLIError(ValueError):
    """A user error reported as one line on stderr with exit code 2."""


# --------------------------------------------------------------------------- warnings, progress


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


def _progress(args: argparse.Namespace) -> bool:
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


def _note(args: argparse.Namespace, text: str) -> None:
    """A message on stderr ("wrote ..."), silenced by --quiet."""
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


# --------------------------------------------------------------------------- inputs


def _keys(args: argparse.Namespace, real_path: str | None) -> tuple[str | None, str | None]:
    """The array names for the real and fake files: --real-key / --fake-key, else --key.

    With two files (eval), the shared --key given with a .npy file (one unnamed array) is an
    error that points to the per-file options; with one (reference), the reader says why."""
    two = hasattr(args, "fake")
    keys = []
    for which, path, own in (
        ("real", real_path, args.real_key),
        ("fake", args.fake if two else None, getattr(args, "fake_key", None)),
    ):
        if own is not None:
            keys.append(own)
            continue
        npy = path is not None and Path(path).suffix.lower() == ".npy"
        if two and args.key is not None and npy:
            raise CLIError(
                f"{path}: --key names an array inside .npz/.pt files, but a .npy file holds "
                f"one unnamed array; name the other file's array with --{_other(which)}-key"
            )
        keys.append(args.key)
    return keys[0], keys[1]


def _other(which: str) -> str:
    return "fake" if which == "real" else "real"


def _labels_wanted(args: argparse.Namespace) -> bool:
    return bool(
        args.per_class
        or args.labels_key is not None
        or args.real_labels is not None
        or getattr(args, "fake_labels", None) is not None
    )


def _real_labels(args: argparse.Namespace, features_path: str | None) -> np.ndarray | None:
    """The real labels: --real-labels FILE, else (with mode level asked for) from the real
    features file; None when ``features_path`` is None (a reference holds its own)."""
    if args.real_labels is not None:
        return load_labels(args.real_labels, "real", args.labels_key)
    if features_path is None:
        return None
    return load_labels(features_path, "real", args.labels_key, features=True)


def _fake_labels(args: argparse.Namespace) -> np.ndarray:
    if args.fake_labels is not None:
        return load_labels(args.fake_labels, "fake", args.labels_key)
    return load_labels(args.fake, "fake", args.labels_key, features=True)


def _input_paths(args: argparse.Namespace) -> list[str]:
    """The files the command reads (an output must not replace one of them)."""
    names = ("results", "samples") if args.command == "show" else _INPUT_OPTIONS
    paths: list[str] = []
    for name in names:
        value = getattr(args, name, None)
        paths += value if isinstance(value, list) else [] if value is None else [value]
    return paths


_INPUT_OPTIONS = ("real", "fake", "real_features", "real_labels", "fake_labels", "center")


def _check_output(
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
    for source in _input_paths(args) if p.exists() else []:
        if Path(source).exists() and os.path.samefile(p, source):
            raise CLIError(
                f"{option} {path}: is also an input of this command ({source}); writing it "
                "would destroy that input: give another file name"
            )


def _need_matplotlib(option: str) -> None:
    try:
        from fastprdc.plot import _mpl

        _mpl()
    except ImportError:
        raise CLIError(
            f"{option} draws figures with matplotlib, which is not installed: pip install "
            '"fastprdc[plot]"'
        ) from None


def _check_outputs(args: argparse.Namespace, outputs: Sequence[str] = ("report", "plot")) -> None:
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
    _check_output(args.report, "--report", args, _REPORT_SUFFIXES)
    from fastprdc.plot import SAVE_FORMATS

    _check_output(args.plot, "--plot", args, tuple(SAVE_FORMATS))
    if args.report is not None:
        _need_matplotlib("--report")
    elif args.plot is not None:
        _need_matplotlib("--plot")


# --------------------------------------------------------------------------- requests


def _request(
    args: argparse.Namespace, ref: Any = None
) -> tuple[Any, Any, dict[str, dict[str, Any]] | None]:
    """(metrics, k, params) from the options. Without --metrics: every family, or with a
    reference the reference's (then None, as are k and params left to the reference)."""
    from fastprdc.metrics import FAMILIES

    if args.metrics is None:
        metrics: Any = None if ref is not None else "all"
    else:
        metrics = "all" if "all" in args.metrics else list(dict.fromkeys(args.metrics))
    if metrics == "all":
        names = list(FAMILIES)
    elif metrics is None:
        names = list(ref.metrics)
    else:
        names = metrics
    k: Any = None
    if args.k is not None:
        k = args.k[0] if len(args.k) == 1 else list(args.k)
    if args.cover_k is not None:
        if "precision_recall_cover" not in names:
            raise CLIError("--cover-k needs precision_recall_cover among --metrics")
        cover_k = args.cover_k[0] if len(args.cover_k) == 1 else list(args.cover_k)
        if k is not None:
            k = {name: k for name in names if FAMILIES[name].uses_k}
        elif ref is not None:  # the other families keep the reference's k
            k = {name: ref.ks[name] for name in names if FAMILIES[name].uses_k and name in ref.ks}
        else:
            k = {}
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
        center = np.asarray(load_features(args.center))
        if center.ndim != 1 and not (center.ndim == 2 and center.shape[0] == 1):
            raise CLIError(
                f"--center {args.center}: expected one vector (shape (d,) or (1, d)), "
                f"got shape {center.shape}"
            )
        center = center.reshape(-1)
        params.setdefault("alpha_precision_beta_recall", {})["center"] = center
    if params and ref is not None:  # the parameters not given keep the reference's
        stored = ref.params
        params = {
            name: {**stored.get(name, {}), **params.get(name, {})}
            for name in names
            if name in stored or name in params
        }
    return metrics, k, params or None


# --------------------------------------------------------------------------- outputs


def _write_figures(result: Any, args: argparse.Namespace, title: str) -> None:
    """The --report and --plot files (at --dpi when given)."""
    dpi = {} if args.dpi is None else {"dpi": args.dpi}
    if args.report is not None:
        from fastprdc.report import write_report

        write_report(result, args.report, title=title, **dpi)
        _note(args, f"wrote {args.report}")
    if args.plot is not None:
        from fastprdc import plot as plots

        plots.save_summary(result, args.plot, **dpi)
        _note(args, f"wrote {args.plot}")


# --------------------------------------------------------------------------- commands


def _is_lazy_store(path: str) -> bool:
    """A .zarr store or a directory of .npy files: read lazily by block on a Dask cluster (any
    other directory is a reading error of fastprdc.io)."""
    p = Path(path)
    if p.suffix.lower() == ".zarr":
        return True
    markers = (".zarray", ".zgroup", "zarr.json")
    return p.is_dir() and (any(p.glob("*.npy")) or any((p / m).exists() for m in markers))


def _check_input(path: str) -> None:
    """REAL or FAKE exists, and a directory is one `eval` reads (before a cluster starts)."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"no such file: {path}")
    if p.is_dir() and not _is_lazy_store(path):
        raise CLIError(
            f"{path}: is a directory holding no .npy files (and no .zarr store); give a .npy, "
            ".npz or .pt file, a directory of .npy files or a .zarr store"
        )


def _cluster(args: argparse.Namespace, reference: bool) -> Any:
    """The Dask client of --scheduler / --workers (or a local cluster for lazy inputs), else
    None (always for a ``reference`` REAL). Needs the `distributed` extra."""
    if reference:  # evaluated here; a lazy FAKE is read whole (_load_set)
        if args.scheduler is not None or args.workers is not None:
            raise CLIError(
                f"{args.real} is a reference file, which is evaluated on this machine: drop "
                "--workers / --scheduler, or give the real features to run on the cluster"
            )
        return None
    lazy = _is_lazy_store(args.real) or _is_lazy_store(args.fake)
    if args.scheduler is None and args.workers is None and not lazy:
        return None
    try:
        import distributed

        from fastprdc.distributed import local_cluster
    except ImportError as exc:
        raise CLIError(_NEEDS_DASK.format(exc)) from None
    if args.scheduler is not None:
        return distributed.Client(args.scheduler)
    if args.workers is None:
        _note(args, "lazy .zarr / directory input: starting a local Dask cluster (see --workers)")
    return local_cluster(args.workers)


_NEEDS_DASK = (
    "--scheduler, --workers and .zarr / directory inputs need Dask ({}); "
    'pip install "fastprdc[distributed]"'
)


def _load_set(path: str, key: str | None, client: Any) -> Any:
    """Features for `eval`: a lazy dask array of a .zarr store or a directory of .npy files
    (read by block on the cluster; without one, against a reference, read whole here), else
    the file read by fastprdc.io."""
    if not _is_lazy_store(path):
        return load_features(path, key)
    try:
        from fastprdc.distributed import open_features
    except ImportError as exc:
        raise CLIError(_NEEDS_DASK.format(exc)) from None
    if key is not None:
        raise CLIError(f"{path}: --key applies to .npz and .pt files only")
    x = open_features(path)
    return x if client is not None else x.compute(scheduler="threads")


def _cmd_eval(args: argparse.Namespace) -> int:
    from fastprdc.reference import is_reference_file

    _check_output(None if args.json == "-" else args.json, "--json", args)
    _check_output(args.samples, "--samples", args)
    _check_outputs(args, ("json", "samples", "report", "plot"))
    for path in (args.real, args.fake):
        _check_input(path)
    reference = is_reference_file(args.real)
    client = _cluster(args, reference)
    try:
        return _eval(args, client, reference)
    finally:
        if client is not None:
            client.close()


def _eval(args: argparse.Namespace, client: Any, reference: bool) -> int:
    from fastprdc.reference import Reference, is_reference_file

    ref = real = None
    if reference:
        real_key, fake_key = _keys(args, args.real_features)
        real_in = None
        if args.real_features is not None:
            real_in = load_features(args.real_features, real_key)
        ref = Reference.load(args.real, real=real_in)
        if not ref.has_features:
            raise CLIError(
                f"{args.real} holds no real features (saved without --include-features), and "
                "the cross pass needs them: give them with --real FILE"
            )
        if _labels_wanted(args) and not ref.has_labels:
            raise CLIError(
                f"{args.real} was built without labels: build it with `fastprdc reference ... "
                "--real-labels FILE` (or --per-class) to evaluate per class"
            )
    else:
        if args.real_features is not None:
            raise CLIError(
                f"--real gives the real features of a saved reference, but {args.real} is not "
                "a reference file (written by `fastprdc reference`)"
            )
        real_key, fake_key = _keys(args, args.real)
        real = _load_set(args.real, real_key, client)
    if is_reference_file(args.fake):
        raise CLIError(
            f"FAKE {args.fake} is a reference file (written by `fastprdc reference`): give it "
            "as REAL, the first set (fastprdc eval REFERENCE FAKE)"
        )
    fake = _load_set(args.fake, fake_key, client)
    metrics, k, params = _request(args, ref)
    labels: dict[str, Any] = {}
    if _labels_wanted(args):
        labels["real_labels"] = _real_labels(args, None if ref is not None else args.real)
        labels["fake_labels"] = _fake_labels(args)
    run: dict[str, Any] = {
        "boundary": args.boundary,
        # the report's and the plot's histograms need the per-sample arrays
        "sample_level": any(x is not None for x in (args.samples, args.report, args.plot)),
        "device": args.device,
        "max_memory": args.max_memory,
        "num_threads": args.threads,
        "progress": _progress(args),
    }
    if ref is not None:
        result = ref.evaluate(
            fake,
            k=k,
            metrics=metrics,
            params=params,
            exact=False if args.no_exact else None,  # default: the reference's
            **labels,
            **run,
        )
    else:
        from fastprdc import evaluate

        result = evaluate(
            real,
            fake,
            k=k,
            metrics=metrics,
            params=params,
            exact=not args.no_exact,
            client=client,
            **labels,
            **run,
        )
    if args.json == "-":  # the JSON alone on stdout, for pipes
        print(result.to_json(samples=False))
    else:
        print(repr(result))  # includes the per-class table when labels were given
    if args.json not in (None, "-"):
        result.to_json(args.json, samples=False)  # per-sample arrays: --samples only
        _note(args, f"wrote {args.json}")
    if args.samples is not None:
        result.save_samples(args.samples)
        _note(args, f"wrote {args.samples}")
    title = f"fastprdc: {Path(args.fake).name} against {Path(args.real).name}"
    _write_figures(result, args, title)
    return 0


def _size_text(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{nbytes} bytes"  # pragma: no cover


def _cmd_reference(args: argparse.Namespace) -> int:
    from fastprdc import Reference

    _check_output(args.out, "--out", args)
    real_key, _ = _keys(args, args.real)
    real = load_features(args.real, real_key)
    metrics, k, params = _request(args)
    real_labels = _real_labels(args, args.real) if _labels_wanted(args) else None
    ref = Reference(
        real,
        k=k,
        metrics=metrics,
        params=params,
        real_labels=real_labels,
        device=args.device,
        exact=not args.no_exact,
        max_memory=args.max_memory,
        num_threads=args.threads,
        progress=_progress(args),
    )
    ref.save(args.out, include_features=args.include_features, compress=args.compress)
    families = "; ".join(
        f"{name} (k={', '.join(map(str, ks))})" if ks != [None] else f"{name} (no k)"
        for name, ks in ref.ks.items()
    )
    classes = ""
    if ref.has_labels:
        classes = f" It holds the real side of each of {len(np.unique(real_labels))} classes."
    features = (
        f"The real features are included: `fastprdc eval {args.out} FAKE` needs nothing else."
        if args.include_features
        else "The real features are not included: give them again, as in `fastprdc eval "
        f"{args.out} FAKE --real {args.real}` (checked against the fingerprint)."
    )
    text = (
        f"Wrote reference {args.out} ({_size_text(os.path.getsize(args.out))}) in "
        f"{ref.seconds:.2f} s: N={ref.n_real} real samples of d={ref.dim} ({ref.dtype}), "
        f"exact={ref.exact}; families {families}; real self-kNN depth {ref.real_depth}."
        f"{classes} Fingerprint {ref.fingerprint}. {features}"
    )
    print(textwrap.fill(text, width=88, break_long_words=False, break_on_hyphens=False))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from fastprdc import EvaluationResult

    if args.report is not None and len(args.results) > 1:
        raise CLIError(
            f"--report describes one result, got {len(args.results)}: give one RESULT (with "
            "several, --plot draws them side by side)"
        )
    _check_outputs(args)
    if args.samples is not None and len(args.results) > 1:
        raise CLIError("--samples belongs to one RESULT, got several")
    names = _short_names(args.results)
    results = {
        name: EvaluationResult.from_json(Path(p), samples=args.samples)
        for name, p in zip(names, args.results)
    }
    for i, (name, result) in enumerate(results.items()):
        if len(results) > 1:
            print(("\n" if i else "") + f"== {name} ==")
        print(repr(result))
    if len(results) == 1:
        ((name, result),) = results.items()
        _write_figures(result, args, f"fastprdc: {name}")
    elif args.plot is not None:
        from fastprdc import plot as plots

        labels = _compare_labels(args.results, names)
        fig = plots.compare(list(results.values()), labels, xlabel=args.xlabel)
        plots.save_figure(fig, args.plot, **({} if args.dpi is None else {"dpi": args.dpi}))
        _note(args, f"wrote {args.plot}")
    return 0


def _short_names(paths: Sequence[str]) -> list[str]:
    """Each file's name, with as many of its folders as tell it apart from the others
    (``runA/final.json``, ``runB/final.json``)."""
    parts = [Path(p).resolve().parts for p in paths]
    if len(set(parts)) < len(parts):
        raise CLIError("the same RESULT file is given twice")
    depth = 1
    while True:
        names = ["/".join(q[-depth:]) for q in parts]
        if len(set(names)) == len(names):
            return names
        depth += 1


def _compare_labels(paths: Sequence[str], names: list[str]) -> list[Any]:
    """Labels of a comparison: every file's stem as a number when all are distinct finite
    numbers (training steps: a line plot in step order), else the names (bars)."""
    numbers: list[Any] = []
    for p in paths:
        stem = Path(p).stem
        for kind in (int, float):
            try:
                value = kind(stem)
            except ValueError:
                continue
            if math.isfinite(value):
                numbers.append(value)
            break
    if len(numbers) == len(paths) and len(set(numbers)) == len(numbers):
        return numbers
    return names


def _cmd_info(args: argparse.Namespace) -> int:
    from fastprdc._config import show_config

    show_config()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from fastprdc.demo import run_demo

    _check_outputs(args)
    full = args.report is not None or args.plot is not None
    try:
        out = run_demo(quick=args.quick, device=args.device, full_result=full)
    except ImportError as exc:
        if "fastprdc[demo]" in str(exc):
            print(f"fastprdc: {exc}", file=sys.stderr)
            return 1
        raise
    if full:
        title = "fastprdc demo: scikit-learn digits against a class-conditional Gaussian"
        _write_figures(out["result"], args, title)
    return 0


# --------------------------------------------------------------------------- parser


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
        help="backend: auto (default), cpu, numpy (reference), cuda, cupy, sim (the GPU "
        "kernels run on the CPU, for tests)",
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
    ev.set_defaults(func=_cmd_eval)

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
    rf.set_defaults(func=_cmd_reference)

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
    sh.set_defaults(func=_cmd_show)

    info = sub.add_parser(
        "info",
        help="show build and runtime configuration",
        description="Print the versions, the native core's build (compiler, OpenMP, BLAS, "
        "SIMD), the GPU build and devices, and every backend's availability (with the reason "
        "when one is unavailable).",
    )
    info.set_defaults(func=_cmd_info)

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
    demo.set_defaults(func=_cmd_demo)
    return parser


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (its usage errors name it and its --help)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    return parser


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
            _subcommand(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
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
