"""The subcommands: ``eval``, ``reference``, ``show``, ``info`` and ``demo``."""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io import load_features
from ._common import CLIError, note, progress_wanted
from ._inputs import (
    array_keys,
    check_input,
    cluster,
    labels_wanted,
    load_set,
    read_fake_labels,
    read_real_labels,
)
from ._outputs import check_output, check_outputs, write_figures
from ._request import request


def cmd_eval(args: argparse.Namespace) -> int:
    from fastprdc.reference import is_reference_file

    check_output(None if args.json == "-" else args.json, "--json", args)
    check_output(args.samples, "--samples", args)
    check_outputs(args, ("json", "samples", "report", "plot"))
    for path in (args.real, args.fake):
        check_input(path)
    reference = is_reference_file(args.real)
    client = cluster(args, reference)
    try:
        return _eval(args, client, reference)
    finally:
        if client is not None:
            client.close()


def _eval(args: argparse.Namespace, client: Any, reference: bool) -> int:
    from fastprdc.reference import Reference, is_reference_file

    ref = real = None
    if reference:
        real_key, fake_key = array_keys(args, args.real_features)
        real_in = None
        if args.real_features is not None:
            real_in = load_features(args.real_features, real_key)
        ref = Reference.load(args.real, real=real_in)
        if not ref.has_features:
            raise CLIError(
                f"{args.real} holds no real features (saved without --include-features), and "
                "the cross pass needs them: give them with --real FILE"
            )
        if labels_wanted(args) and not ref.has_labels:
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
        real_key, fake_key = array_keys(args, args.real)
        real = load_set(args.real, real_key, client)
    if is_reference_file(args.fake):
        raise CLIError(
            f"FAKE {args.fake} is a reference file (written by `fastprdc reference`): give it "
            "as REAL, the first set (fastprdc eval REFERENCE FAKE)"
        )
    fake = load_set(args.fake, fake_key, client)
    metrics, k, params = request(args, ref)
    labels: dict[str, Any] = {}
    if labels_wanted(args):
        labels["real_labels"] = read_real_labels(args, None if ref is not None else args.real)
        labels["fake_labels"] = read_fake_labels(args)
    run: dict[str, Any] = {
        "boundary": args.boundary,
        # the report's and the plot's histograms need the per-sample arrays
        "sample_level": any(x is not None for x in (args.samples, args.report, args.plot)),
        "device": args.device,
        "max_memory": args.max_memory,
        "num_threads": args.threads,
        "progress": progress_wanted(args),
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
        note(args, f"wrote {args.json}")
    if args.samples is not None:
        result.save_samples(args.samples)
        note(args, f"wrote {args.samples}")
    title = f"fastprdc: {Path(args.fake).name} against {Path(args.real).name}"
    write_figures(result, args, title)
    return 0


def _size_text(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{nbytes} bytes"  # pragma: no cover


def cmd_reference(args: argparse.Namespace) -> int:
    from fastprdc import Reference

    check_output(args.out, "--out", args)
    real_key, _ = array_keys(args, args.real)
    real = load_features(args.real, real_key)
    metrics, k, params = request(args)
    real_labels = read_real_labels(args, args.real) if labels_wanted(args) else None
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
        progress=progress_wanted(args),
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


def cmd_show(args: argparse.Namespace) -> int:
    from fastprdc import EvaluationResult

    if args.report is not None and len(args.results) > 1:
        raise CLIError(
            f"--report describes one result, got {len(args.results)}: give one RESULT (with "
            "several, --plot draws them side by side)"
        )
    check_outputs(args)
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
        write_figures(result, args, f"fastprdc: {name}")
    elif args.plot is not None:
        from fastprdc import plot as plots

        labels = _compare_labels(args.results, names)
        fig = plots.compare(list(results.values()), labels, xlabel=args.xlabel)
        plots.save_figure(fig, args.plot, **({} if args.dpi is None else {"dpi": args.dpi}))
        note(args, f"wrote {args.plot}")
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


def cmd_info(args: argparse.Namespace) -> int:
    from fastprdc._config import show_config

    show_config()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fastprdc.demo import run_demo

    check_outputs(args)
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
        write_figures(out["result"], args, title)
    return 0
