"""The commands' inputs: array names, labels, lazy stores and the Dask cluster they need."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..io import load_features, load_labels
from ._common import CLIError, note


def array_keys(args: argparse.Namespace, real_path: str | None) -> tuple[str | None, str | None]:
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


def labels_wanted(args: argparse.Namespace) -> bool:
    return bool(
        args.per_class
        or args.labels_key is not None
        or args.real_labels is not None
        or getattr(args, "fake_labels", None) is not None
    )


def read_real_labels(args: argparse.Namespace, features_path: str | None) -> np.ndarray | None:
    """The real labels: --real-labels FILE, else (with mode level asked for) from the real
    features file; None when ``features_path`` is None (a reference holds its own)."""
    if args.real_labels is not None:
        return load_labels(args.real_labels, "real", args.labels_key)
    if features_path is None:
        return None
    return load_labels(features_path, "real", args.labels_key, features=True)


def read_fake_labels(args: argparse.Namespace) -> np.ndarray:
    if args.fake_labels is not None:
        return load_labels(args.fake_labels, "fake", args.labels_key)
    return load_labels(args.fake, "fake", args.labels_key, features=True)


def is_lazy_store(path: str) -> bool:
    """A .zarr store or a directory of .npy files: read lazily by block on a Dask cluster (any
    other directory is a reading error of fastprdc.io)."""
    p = Path(path)
    if p.suffix.lower() == ".zarr":
        return True
    markers = (".zarray", ".zgroup", "zarr.json")
    return p.is_dir() and (any(p.glob("*.npy")) or any((p / m).exists() for m in markers))


def check_input(path: str) -> None:
    """REAL or FAKE exists, and a directory is one `eval` reads (before a cluster starts)."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"no such file: {path}")
    if p.is_dir() and not is_lazy_store(path):
        raise CLIError(
            f"{path}: is a directory holding no .npy files (and no .zarr store); give a .npy, "
            ".npz or .pt file, a directory of .npy files or a .zarr store"
        )


def cluster(args: argparse.Namespace, reference: bool) -> Any:
    """The Dask client of --scheduler / --workers (or a local cluster for lazy inputs), else
    None (always for a ``reference`` REAL). Needs the `distributed` extra."""
    if reference:  # evaluated here; a lazy FAKE is read whole (load_set)
        if args.scheduler is not None or args.workers is not None:
            raise CLIError(
                f"{args.real} is a reference file, which is evaluated on this machine: drop "
                "--workers / --scheduler, or give the real features to run on the cluster"
            )
        return None
    lazy = is_lazy_store(args.real) or is_lazy_store(args.fake)
    if args.scheduler is None and args.workers is None and not lazy:
        return None
    try:
        import distributed

        from fastprdc.distributed import local_cluster
    except ImportError as exc:
        raise CLIError(NEEDS_DASK.format(exc)) from None
    if args.scheduler is not None:
        return distributed.Client(args.scheduler)
    if args.workers is None:
        note(args, "lazy .zarr / directory input: starting a local Dask cluster (see --workers)")
    return local_cluster(args.workers)


NEEDS_DASK = (
    "--scheduler, --workers and .zarr / directory inputs need Dask ({}); "
    'pip install "fastprdc[distributed]"'
)


def load_set(path: str, key: str | None, client: Any) -> Any:
    """Features for `eval`: a lazy dask array of a .zarr store or a directory of .npy files
    (read by block on the cluster; without one, against a reference, read whole here), else
    the file read by fastprdc.io."""
    if not is_lazy_store(path):
        return load_features(path, key)
    try:
        from fastprdc.distributed import open_features
    except ImportError as exc:
        raise CLIError(NEEDS_DASK.format(exc)) from None
    if key is not None:
        raise CLIError(f"{path}: --key applies to .npz and .pt files only")
    x = open_features(path)
    return x if client is not None else x.compute(scheduler="threads")
