"""What to compute, from the options: metric families, k and the families' parameters."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..io import load_features
from ._common import CLIError

#: (argparse dest, family, parameter name) of the family options.
FAMILY_OPTIONS = (
    ("prune", "realism_score", "prune"),
    ("C", "precision_recall_cover", "C"),
    ("variant", "precision_recall_cover", "variant"),
    ("n_alphas", "alpha_precision_beta_recall", "n_alphas"),
)


def request(
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
    for option, family, name in FAMILY_OPTIONS:
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
