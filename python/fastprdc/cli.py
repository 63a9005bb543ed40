"""Command line interface: ``fastprdc eval | info | demo`` (also ``python -m fastprdc``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_features", "main"]

#: Keys tried, in this order, when an .npz (or a saved dict) holds several arrays.
FEATURE_KEYS = ("feats", "reps", "feature", "features", "arr_0")
METRIC_CHOICES = ("precision_recall", "density_coverage", "all")


class CLIError(ValueError):
    """A user error reported as one line on stderr with exit code 2."""


def _check_array(arr: Any, where: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.hasobject:
        raise CLIError(f"{where}: refusing to load pickled data (object array)")
    if arr.dtype.kind not in "biuf":
        raise CLIError(f"{where}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def _pick_key(keys: Sequence[str], key: str | None, path: Path) -> str:
    listed = ", ".join(keys) if keys else "(none)"
    if key is not None:
        if key not in keys:
            raise CLIError(f"{path}: no array named {key!r}; keys: {listed}")
        return key
    if len(keys) == 1:
        return keys[0]
    found = [k for k in FEATURE_KEYS if k in keys]
    if len(found) == 1:
        return found[0]
    why = "several feature keys" if found else "no known feature key"
    raise CLIError(
        f"{path}: {why} ({', '.join(found) or ', '.join(FEATURE_KEYS)}) among {listed}; "
        "choose one with --key"
    )


def _load_npz(path: Path, key: str | None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as npz:
            name = _pick_key(list(npz.files), key, path)
            try:
                arr = npz[name]
            except ValueError as exc:
                if "pickle" in str(exc).lower():
                    raise CLIError(
                        f"{path}[{name}]: refusing to load pickled data (object array)"
                    ) from None
                raise
    except CLIError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CLIError(f"{path}: not a readable .npz file ({exc})") from None
    return _check_array(arr, f"{path}[{name}]")


def _load_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(fh)
            else:
                header = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CLIError(f"{path}: not a readable .npy file ({exc})") from None
    if np.dtype(header[2]).hasobject:
        raise CLIError(f"{path}: refusing to load pickled data (object array)")
    try:
        # Memory-mapped: a large float32 file is not copied before validation.
        arr = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as exc:
        raise CLIError(f"{path}: not a readable .npy file ({exc})") from None
    return _check_array(arr, str(path))


def _load_torch(path: Path, key: str | None) -> np.ndarray:
    try:
        import torch
    except ImportError:
        raise CLIError(f"{path}: reading .pt/.pth needs PyTorch (pip install torch)") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CLIError(f"{path}: cannot load safely with weights_only=True ({exc})") from None
    if isinstance(obj, dict):
        keys = [k for k in obj if isinstance(k, str)]
        obj = obj[_pick_key(keys, key, path)]
    if not isinstance(obj, torch.Tensor):
        raise CLIError(f"{path}: expected a tensor, got {type(obj).__name__}")
    return _check_array(obj.detach().cpu().numpy(), str(path))


def load_features(path: str | Path, key: str | None = None) -> np.ndarray:
    """Load a feature matrix from .npy, .npz (key auto-detected or ``key``) or .pt/.pth.

    Pickled (object) arrays are refused. Raises ``FileNotFoundError`` for a missing file
    and ``ValueError`` (``CLIError``) for anything unreadable or ambiguous.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path, key)
    if suffix == ".npy":
        if key is not None:
            raise CLIError(f"{path}: --key applies to .npz and .pt files only")
        return _load_npy(path)
    if suffix in (".pt", ".pth"):
        return _load_torch(path, key)
    raise CLIError(f"{path}: unsupported file type {suffix or '(none)'}; use .npy, .npz or .pt")


def _sample_arrays(samples: Any) -> dict[str, np.ndarray]:
    """``{family: {name: {k: array}}}`` -> ``{"family.name_k3": array}`` for ``np.savez``."""
    flat: dict[str, np.ndarray] = {}
    for family, per_name in (samples or {}).items():
        for name, per_k in per_name.items():
            if isinstance(per_k, dict):
                for k, arr in per_k.items():
                    flat[f"{family}.{name}_k{k}"] = np.asarray(arr)
            else:
                flat[f"{family}.{name}"] = np.asarray(per_k)
    return flat


def _cmd_eval(args: argparse.Namespace) -> int:
    real = load_features(args.real, args.key)
    fake = load_features(args.fake, args.key)

    from fastprdc import evaluate

    metrics: Any = "all" if "all" in args.metrics else list(dict.fromkeys(args.metrics))
    k: Any = None
    if args.k is not None:
        k = args.k[0] if len(args.k) == 1 else list(args.k)
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
    )
    print(repr(result))
    if args.json is not None:
        result.to_json(args.json)
        if not args.quiet:
            print(f"wrote {args.json}", file=sys.stderr)
    if args.samples is not None:
        np.savez(args.samples, **_sample_arrays(result.samples))
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
        help="neighbourhood size(s); default: 3 for precision/recall, 5 for density/coverage",
    )
    ev.add_argument(
        "--metrics",
        nargs="+",
        choices=METRIC_CHOICES,
        default=["all"],
        help="metric families to compute (default: all)",
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
    ev.add_argument("--json", metavar="OUT", help="write the result as JSON to OUT")
    ev.add_argument("--samples", metavar="OUT.npz", help="write per-sample arrays to OUT.npz")
    ev.add_argument("--key", help="array name inside .npz/.pt files (default: auto-detect)")
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
