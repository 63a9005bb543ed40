"""End-to-end demo on real data that ships with scikit-learn (``fastprdc demo``).

The real set is half of scikit-learn's bundled handwritten digits (8x8 images, 64
features, no download). The fake sets come from a generative model fitted to it, a
class-conditional Gaussian (one ``GaussianMixture`` per digit class), sampled with the class
frequencies of the real half:

* ``held-out``: the other half of the digits, the "perfect generator" baseline;
* ``model``: the fitted model;
* ``memorised``: copies of real digits plus a little pixel noise (a generator that
  memorised its training set);
* ``dropped``: the model sampling only digits 0-4 (mode dropping);
* ``shrunk``: the model with every sample pulled 60 % of the way to its class mean
  (like an over-truncated GAN: typical samples only).

Then two sweeps in the style of the information-theoretic paper (Fox et al.): dropping
0, 2, 4, 6, 8 of the 10 digit classes (recall, coverage, recall cover fall; RCE rises), and
shrinking every class toward its mean by a factor 0, 0.3, 0.6, 0.9 (precision rises, RE
falls); and a per-class table (mode level) from the digit labels.

Only the public API (``fastprdc.evaluate`` and ``fastprdc.modes.format_per_class``) is used.
"""

from __future__ import annotations

import math
import sys
import textwrap
import time
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

__all__ = ["run_demo"]

DEMO_INSTALL_HINT = (
    'the demo needs scikit-learn: pip install "fastprdc[demo]" '
    '(from a source checkout: pip install ".[demo]")'
)

_KEPT_CLASSES = (0, 1, 2, 3, 4)  # the mode-dropped model generates only these digits
_SHRINK = 0.6  # "shrunk": class mean + (1 - 0.6) * (sample - class mean)
_REG_COVAR = 0.1  # pixel values are 0..16; keeps constant border pixels non-singular
_NOISE = 0.5  # pixel noise of the memorised copies (pixels are 0..16)
_DROPS = (0, 2, 4, 6, 8)  # mode-dropping sweep: number of digit classes left out
_SHRINKS = (0.0, 0.3, 0.6, 0.9)  # shrinkage sweep: pull toward the class mean
_PC_DROPPED = (8, 9)  # per-class example: these digits are never generated ...
_PC_SHRUNK = {3: 0.8, 5: 0.5}  # ... and these are shrunk toward their class mean

#: (family, metric, label) rows of the overview table, in order.
_ROWS = (
    ("precision_recall", "precision", "precision"),
    ("precision_recall", "recall", "recall"),
    ("density_coverage", "density", "density"),
    ("density_coverage", "coverage", "coverage"),
    ("realism_score", "share_ge_1", "realism >= 1 (share)"),
    ("rarity_score", "mean_in_ball", "rarity (mean in ball)"),
    ("rarity_score", "n_out_of_ball", "rarity: out of ball"),
    ("precision_recall_cover", "precision_cover", "precision cover"),
    ("precision_recall_cover", "recall_cover", "recall cover"),
    ("pce_rce_re", "pce", "PCE (lower = better)"),
    ("pce_rce_re", "rce", "RCE (lower = better)"),
    ("pce_rce_re", "re", "RE (higher = better)"),
    ("alpha_precision_beta_recall", "delta_precision_alpha", "delta-precision alpha"),
    ("alpha_precision_beta_recall", "delta_coverage_beta", "delta-coverage beta"),
    ("alpha_precision_beta_recall", "authenticity", "authenticity"),
)
_DROP_COLS = (
    ("precision_recall", "precision", "precision"),
    ("precision_recall", "recall", "recall"),
    ("density_coverage", "coverage", "coverage"),
    ("precision_recall_cover", "recall_cover", "recall cover"),
    ("pce_rce_re", "rce", "RCE"),
)
_SHRINK_COLS = (
    ("precision_recall", "precision", "precision"),
    ("precision_recall", "recall", "recall"),
    ("density_coverage", "density", "density"),
    ("pce_rce_re", "pce", "PCE"),
    ("pce_rce_re", "re", "RE"),
)
_PC_METRICS = ("precision", "recall", "coverage", "recall_cover", "rce", "re")
_FULL_KS = (3, 5, 10)  # the ks of the full result (--report / --plot)


def _load_sklearn() -> tuple[Any, Any]:
    try:
        from sklearn.datasets import load_digits
        from sklearn.mixture import GaussianMixture
    except ImportError as exc:
        raise ImportError(DEMO_INSTALL_HINT) from exc
    return load_digits, GaussianMixture


class _ClassConditionalGMM:
    """One GaussianMixture per class; samples a chosen subset of classes."""

    def __init__(self, X: np.ndarray, y: np.ndarray, gmm_cls: Any, n_components: int) -> None:
        self.classes = np.unique(y)
        self.priors = np.array([np.mean(y == c) for c in self.classes])
        self.means = {int(c): X[y == c].mean(axis=0) for c in self.classes}
        self.models = {
            int(c): gmm_cls(
                n_components=n_components,
                covariance_type="full",
                reg_covar=_REG_COVAR,
                random_state=int(c),
            ).fit(X[y == c])
            for c in self.classes
        }
        self._chol = {
            c: np.linalg.cholesky(gmm.covariances_) for c, gmm in self.models.items()
        }  # (n_components, d, d) per class

    def sample(
        self,
        n: int,
        seed: int,
        classes: Sequence[int] | None = None,
        shrink: float | dict[int, float] = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """n samples and their class labels; ``shrink`` pulls each sample toward its class
        mean by that factor (0 = none, 1 = the mean itself), one factor or one per class."""
        rng = np.random.default_rng(seed)
        keep = self.classes if classes is None else np.asarray(classes)
        p = np.array([self.priors[np.searchsorted(self.classes, c)] for c in keep])
        counts = rng.multinomial(n, p / p.sum())
        parts, labels = [], []
        for c, m in zip(keep.tolist(), counts.tolist()):
            if m == 0:
                continue
            factor = shrink.get(c, 0.0) if isinstance(shrink, dict) else shrink
            z = self._draw(c, m, rng)
            parts.append(self.means[c] + (1.0 - factor) * (z - self.means[c]))
            labels.append(np.full(m, c, dtype=np.int64))
        order = rng.permutation(n)
        # Pixels of the digits lie in [0, 16]: keep samples in the data's range.
        out = np.clip(np.concatenate(parts)[order], 0.0, 16.0).astype(np.float32)
        return out, np.concatenate(labels)[order]

    def _draw(self, c: int, m: int, rng: np.random.Generator) -> np.ndarray:
        """m samples of class c, drawn with ``rng`` (reproducible, no global state)."""
        gmm = self.models[c]
        comp = rng.choice(len(gmm.weights_), size=m, p=gmm.weights_)
        z = rng.standard_normal((m, gmm.means_.shape[1]))
        return gmm.means_[comp] + np.einsum("nij,nj->ni", self._chol[c][comp], z)


class _Data:
    """The real half, its labels, the fitted model and the overview's fake sets."""

    def __init__(self, quick: bool) -> None:
        load_digits, gmm_cls = _load_sklearn()
        X, y = load_digits(return_X_y=True)
        X = X.astype(np.float64)
        perm = np.random.default_rng(0).permutation(len(X))
        half = 600 if quick else len(X) // 2
        real_idx, held_idx = perm[:half], perm[half : 2 * half]
        real, self.real_labels = X[real_idx], y[real_idx].astype(np.int64)
        self.n_fake = len(held_idx)
        self.model = _ClassConditionalGMM(real, self.real_labels, gmm_cls, n_components=1)
        self.real = real.astype(np.float32)
        rng = np.random.default_rng(4)
        copies = real[rng.integers(0, len(real), self.n_fake)]
        copies = copies + _NOISE * rng.standard_normal(copies.shape)
        self.fakes = {
            "held-out": X[held_idx].astype(np.float32),
            "model": self.model.sample(self.n_fake, seed=1)[0],
            "memorised": np.clip(copies, 0.0, 16.0).astype(np.float32),
            "dropped": self.model.sample(self.n_fake, seed=2, classes=_KEPT_CLASSES)[0],
            "shrunk": self.model.sample(self.n_fake, seed=3, shrink=_SHRINK)[0],
        }


def _families(wanted: Sequence[tuple[str, str, str]]) -> list[str]:
    """The registered families among those a table needs (in registry order)."""
    from fastprdc.metrics import FAMILIES

    names = {family for family, _, _ in wanted}
    return [name for name in FAMILIES if name in names]


def _value(res: Any, family: str, metric: str) -> Any:
    """The value of one metric at the family's single k (or its no-k value), or None."""
    per_k = res.scalars.get(family, {}).get(metric)
    if not per_k:
        return None
    return next(iter(per_k.values()))


def _value_of(scalars: dict[str, Any], family: str, metric: str) -> float | None:
    """One metric of a ``scalars`` mapping at its single k, as a float, or None."""
    per_k = scalars.get(family, {}).get(metric)
    return float(next(iter(per_k.values()))) if per_k else None


def _k_of(res: Any, family: str) -> Any:
    ks = res.info.get("ks", {}).get(family) or [None]
    return ks[0]


def _fmt(value: Any, width: int) -> str:
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):>{width}d}"  # counts
    value = float(value)
    if math.isinf(value) or math.isnan(value):
        return f"{value!s:>{width}}"
    return f"{value:>{width}.3f}"


def _table(
    out: TextIO,
    first: str,
    keys: Sequence[Any],
    results: dict[Any, Any],
    cols: Sequence[tuple[str, str, str]],
    width: int = 13,
) -> None:
    """One row per key of ``results``, one column per (family, metric)."""
    cols = [c for c in cols if any(_value(r, c[0], c[1]) is not None for r in results.values())]
    header = f"{first:<14}" + "".join(f"{label:>{width}}" for _, _, label in cols)
    print(header, file=out)
    print("-" * len(header), file=out)
    for key in keys:
        res = results[key]
        cells = "".join(_fmt(_value(res, fam, met), width) for fam, met, _ in cols)
        print(f"{key!s:<14}{cells}", file=out)


def _bullets(out: TextIO, items: Sequence[str]) -> None:
    for text in items:
        print(textwrap.fill(text, width=88, initial_indent="- ", subsequent_indent="  "), file=out)


def _change(before: Any, after: Any) -> str:
    if before is None or after is None:
        return "n/a"
    return f"{float(before):.2f} -> {float(after):.2f}"


def run_demo(
    quick: bool = False,
    device: str = "auto",
    file: TextIO | None = None,
    *,
    full_result: bool = False,
) -> dict:
    """Run the digits demo: every metric family, the two sweeps and the per-class table.

    Args:
        quick: use 600 real digits and 600 samples per fake set instead of 898.
        device: backend passed to ``fastprdc.evaluate``.
        file: text stream for the report (default ``sys.stdout``).
        full_result: also evaluate the mode-level fake set of part 4 with every family at
            k = 3, 5, 10, sample-level arrays and the labels: the result that
            ``fastprdc demo --report`` / ``--plot`` draw, returned under ``"result"``.

    Returns:
        ``{"scores": {fake set: result.scalars}, "mode_dropping": {n dropped: scalars},
        "shrinkage": {factor: scalars}, "per_class": result.per_class}``, plus
        ``"result"`` (an EvaluationResult) with ``full_result=True``.

    Raises:
        ImportError: scikit-learn is not installed (message says how to install it).
    """
    from fastprdc import evaluate
    from fastprdc.modes import format_per_class

    out = sys.stdout if file is None else file
    t0 = time.perf_counter()
    data = _Data(quick)
    real, model, n_fake = data.real, data.model, data.n_fake
    t_data = time.perf_counter() - t0
    n_runs = 0

    def run(fake: np.ndarray, metrics: Any, **kwargs: Any) -> Any:
        nonlocal n_runs
        n_runs += 1
        return evaluate(real, fake, metrics=metrics, device=device, **kwargs)

    t1 = time.perf_counter()
    overview = {name: run(fake, "all") for name, fake in data.fakes.items()}
    # mode dropping: the last n digit classes are never generated (nested sets)
    drop_fams = _families(_DROP_COLS)
    dropping = {
        n: run(model.sample(n_fake, seed=10 + n, classes=tuple(range(10 - n)))[0], drop_fams)
        for n in _DROPS
    }
    shrink_fams = _families(_SHRINK_COLS)
    shrinking = {f: run(model.sample(n_fake, seed=20, shrink=f)[0], shrink_fams) for f in _SHRINKS}
    kept = tuple(c for c in range(10) if c not in _PC_DROPPED)
    pc_fake, pc_labels = model.sample(n_fake, seed=30, classes=kept, shrink=dict(_PC_SHRUNK))
    pc_res = run(
        pc_fake,
        _families([(f, "", "") for f, _, _ in _DROP_COLS + _SHRINK_COLS]),
        real_labels=data.real_labels,
        fake_labels=pc_labels,
    )
    full = None
    if full_result:
        full = run(
            pc_fake,
            "all",
            k=list(_FULL_KS),
            sample_level=True,
            real_labels=data.real_labels,
            fake_labels=pc_labels,
        )
    t_eval = time.perf_counter() - t1

    any_res = next(iter(overview.values()))
    print(
        f"fastprdc demo: scikit-learn digits, real = {len(real)} x {real.shape[1]} "
        f"(float32), each fake set = {n_fake} samples, backend = {any_res.info.get('backend')}",
        file=out,
    )

    # ------------------------------------------------------------------ overview
    print("\n1. Every metric family, each at its default k, on five fake sets:", file=out)
    legend = [
        "held-out = the other half of the digits (a perfect generator)",
        "model = class-conditional Gaussian fitted to the real half",
        f"memorised = real digits copied with pixel noise (std {_NOISE})",
        "dropped = the model generating digits "
        + ", ".join(str(c) for c in _KEPT_CLASSES)
        + " only",
        f"shrunk = the model with samples pulled {int(_SHRINK * 100)} % toward the class mean",
    ]
    for line in legend:
        print(f"   {line}", file=out)
    print(file=out)
    names = list(overview)
    width = max(12, *(len(n) + 2 for n in names))
    rows = [r for r in _ROWS if _value(any_res, r[0], r[1]) is not None]
    labels = []
    for family, _, label in rows:
        k = _k_of(any_res, family)
        labels.append(label if k is None else f"{label} k={k}")
    lw = max(len(lab) for lab in labels) + 2
    header = f"{'metric':<{lw}}" + "".join(f"{n:>{width}}" for n in names)
    print(header, file=out)
    print("-" * len(header), file=out)
    for (family, metric, _), label in zip(rows, labels):
        cells = "".join(_fmt(_value(overview[n], family, metric), width) for n in names)
        print(f"{label:<{lw}}{cells}", file=out)

    def change(before: str, after: str, family: str, metric: str) -> str:
        return _change(
            _value(overview[before], family, metric), _value(overview[after], family, metric)
        )

    pr, it, ab = "precision_recall", "pce_rce_re", "alpha_precision_beta_recall"
    kept_txt = ", ".join(str(c) for c in _KEPT_CLASSES)
    bullets = [
        "held-out real digits score high on precision, recall, density and coverage and "
        "have PCE, RCE, RE near 0 (on the scale of the other sets): the baseline a perfect "
        "generator reaches at this sample size.",
        "memorised copies look perfect to precision and recall, but authenticity exposes "
        f"them ({change('held-out', 'memorised', ab, 'authenticity')}, held-out -> memorised).",
        f"mode dropping (only digits {kept_txt}) keeps precision "
        f"({change('model', 'dropped', pr, 'precision')}) but cuts recall "
        f"({change('model', 'dropped', pr, 'recall')}) and raises RCE "
        f"({change('model', 'dropped', it, 'rce')}).",
        f"shrinking every sample {int(_SHRINK * 100)} % toward its class mean raises "
        f"precision ({change('model', 'shrunk', pr, 'precision')}) and lowers RE "
        f"({change('model', 'shrunk', it, 're')}): typical samples only, too little diversity.",
    ]
    print("\nWhat it shows:", file=out)
    _bullets(out, bullets)

    # ------------------------------------------------------------------ sweeps
    print(
        "\n2. Mode dropping: the fake set leaves out the last n digit classes "
        f"(same size, {n_fake} samples)\n",
        file=out,
    )
    _table(out, "dropped", _DROPS, dropping, _DROP_COLS)
    print(
        "   recall, coverage and recall cover fall and RCE rises with every dropped pair; "
        "precision stays roughly level.",
        file=out,
    )
    print("\n3. Mode shrinkage: every sample pulled toward its class mean by a factor\n", file=out)
    _table(out, "factor", _SHRINKS, shrinking, _SHRINK_COLS)
    print("   precision and density rise, recall and RE fall as the factor grows.", file=out)

    # ------------------------------------------------------------------ per class
    dropped_txt = " and ".join(str(c) for c in _PC_DROPPED)
    shrunk_txt = ", ".join(f"{c} by {f}" for c, f in _PC_SHRUNK.items())
    print(
        f"\n4. Mode level: digits {dropped_txt} never generated, digits {shrunk_txt} "
        "shrunk toward\n   their mean; each class of the fake set against the same class "
        "of the real set\n",
        file=out,
    )
    per_class = getattr(pc_res, "per_class", None)
    if per_class:
        print(format_per_class(per_class, metrics=_PC_METRICS), file=out)
        shrunk = [c for c in _PC_SHRUNK if c in per_class["scalars"]]

        def per(metric_family: str, metric: str) -> str:
            vals = [_value_of(per_class["scalars"][c], metric_family, metric) for c in shrunk]
            return ", ".join("-" if v is None else f"{v:.2f}" for v in vals)

        missing = ", ".join(str(c) for c in per_class["missing_in_fake"]) or "none"
        print(file=out)
        _bullets(
            out,
            [
                f"dropped modes are listed as missing from fake ({missing}); the shrunk "
                f"digits ({', '.join(map(str, shrunk))}) keep their precision "
                f"({per('precision_recall', 'precision')}) but lose recall "
                f"({per('precision_recall', 'recall')}) and have the lowest RE "
                f"({per('pce_rce_re', 're')}).",
            ],
        )
    if full is not None:
        print(
            "\n5. For the report and the figure: the fake set of 4, every family at k = "
            + ", ".join(map(str, _FULL_KS))
            + ",\n   with sample-level arrays and the digit labels",
            file=out,
        )
    print(
        f"\n(data and models: {t_data:.2f} s; {n_runs} evaluations: {t_eval:.2f} s)",
        file=out,
    )
    summary: dict[str, Any] = {
        "scores": {name: res.scalars for name, res in overview.items()},
        "mode_dropping": {n: res.scalars for n, res in dropping.items()},
        "shrinkage": {f: res.scalars for f, res in shrinking.items()},
        "per_class": per_class,
    }
    if full is not None:
        summary["result"] = full
    return summary
