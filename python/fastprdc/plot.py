"""Figures of an :class:`~fastprdc.EvaluationResult` (matplotlib: ``pip install "fastprdc[plot]"``).

Every figure function returns a :class:`matplotlib.figure.Figure` built without pyplot (no
global state, no GUI backend; ``fig.savefig(path)`` writes it; a notebook with an active
inline backend displays it); ``save_figure`` and ``save_summary`` return the path written.
Functions with one panel take ``ax=``, those with several take ``axes=`` (a sequence with one
Axes per panel) to draw into an existing figure; ``summary`` makes a figure of its own. matplotlib
is imported on first use, so ``import fastprdc`` never needs it.

- :func:`metrics_vs_k`: metrics against k (one line per metric);
- :func:`alpha_beta_curves`: the alpha-precision and beta-recall curves, the diagonal and
  the shaded areas between them (Delta = 1 - 2 sum|alpha - curve| / (n_alphas - 1), about
  1 - 2 x area);
- :func:`pce_rce_re`: PCE, RCE and RE bars, one per k;
- :func:`per_class`: one bar per class (mode level), dropped classes marked;
- :func:`histograms`: realism, rarity and per-sample entropy terms (``sample_level=True``);
- :func:`compare`: several results side by side (generators, or training steps);
- :func:`summary`, :func:`save_summary`: one figure with every panel the result has;
- :func:`figures`: every single figure that applies to a result (the HTML report's);
- :func:`draw`: by name, what :meth:`EvaluationResult.plot` calls.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Union

import numpy as np

from .metrics import FAMILIES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .result import EvaluationResult

__all__ = [
    "KINDS",
    "alpha_beta_curves",
    "compare",
    "draw",
    "figures",
    "histograms",
    "metrics_vs_k",
    "pce_rce_re",
    "per_class",
    "save_figure",
    "save_summary",
    "summary",
]

Panel = Callable[["Axes"], None]
AxesLike = Union["Axes", Sequence["Axes"], None]

_ALPHA = "alpha_precision_beta_recall"
_PCE = "pce_rce_re"
#: Metrics drawn against k by default: shares (and density) that fit one axis.
_VS_K = ("precision", "recall", "density", "coverage", "precision_cover", "recall_cover")
#: ... and, when the result has none of those, PCE, RCE and RE.
_VS_K_PCE = ("pce", "rce", "re")
#: Metrics of the per-class bars by default (those that show a dropped or shrunk mode).
_PER_CLASS = ("recall", "coverage", "precision", "rce")
#: Metrics compared across results by default.
_COMPARE = (
    *_VS_K,
    "pce",
    "rce",
    "re",
    "delta_precision_alpha",
    "delta_coverage_beta",
    "authenticity",
)
_A = "\N{GREEK SMALL LETTER ALPHA}"  # spelled out: ruff flags a literal alpha as ambiguous
#: Readable names of metrics whose name says little alone.
_LABELS = {
    ("realism_score", "mean"): "realism mean",
    ("realism_score", "share_ge_1"): "realism ≥ 1 share",
    ("realism_score", "n_kept_balls"): "realism kept balls",
    ("rarity_score", "n_out_of_ball"): "rarity: fakes out of ball",
    ("rarity_score", "mean_in_ball"): "rarity mean (in ball)",
    (_PCE, "pce"): "PCE",
    (_PCE, "rce"): "RCE",
    (_PCE, "re"): "RE",
    (_ALPHA, "delta_precision_alpha"): f"Δ-precision {_A}",
    (_ALPHA, "delta_coverage_beta"): "Δ-coverage β",
}
_DROPPED_HATCH = "//"
_MISSING_HATCH = ".."


# --------------------------------------------------------------------------- helpers


def _mpl() -> type[Figure]:
    """The Figure class, importing matplotlib on first use (ImportError naming the extra)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            'fastprdc.plot needs matplotlib, which is not installed: pip install "fastprdc[plot]"'
        ) from exc
    return Figure


def _layout(
    panels: Sequence[Panel],
    axes: AxesLike,
    *,
    ncols: int = 1,
    size: tuple[float, float] = (5.2, 3.8),
    title: str | None = None,
) -> Figure:
    """Draw ``panels`` into ``axes`` (one each) or into a new figure laid out in a grid."""
    figure_cls = _mpl()
    if axes is not None:
        ax_list = [axes] if not isinstance(axes, (Sequence, np.ndarray)) else list(np.ravel(axes))
        if len(ax_list) != len(panels):
            raise ValueError(
                f"this figure has {len(panels)} panel(s) but {len(ax_list)} axes given"
            )
        fig = ax_list[0].figure
    else:
        ncols = max(1, min(ncols, len(panels)))
        nrows = math.ceil(len(panels) / ncols)
        fig = figure_cls(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
        grid = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for extra in grid[len(panels) :]:
            fig.delaxes(extra)
        ax_list = list(grid[: len(panels)])
    for panel, ax in zip(panels, ax_list):
        panel(ax)
    if title is not None and axes is None:
        fig.suptitle(title)
    _clear_legends(fig, ax_list)
    return fig


#: Set on an axes whose legend sits in an upper corner over data that may reach it.
_LEGEND_ON_TOP = "_fastprdc_legend_on_top"


def _legend_on_top(ax: Axes, *args: Any) -> None:
    """The panel's legend in its upper right corner, kept clear of the data by
    :func:`_clear_legends` (bars and lines can fill every corner, where matplotlib's "best"
    place still covers some)."""
    ax.legend(*args, loc="upper right", fontsize="small")
    setattr(ax, _LEGEND_ON_TOP, True)


def _clear_legends(fig: Figure, axes: Sequence[Axes]) -> None:
    """Raise the top of the y range of the axes of :func:`_legend_on_top` until their data
    (bar tops, line points, reference lines) lies below the legend, measured in the final
    layout."""
    marked = [
        ax
        for ax in axes
        if getattr(ax, _LEGEND_ON_TOP, False) and ax.get_legend() and ax.get_yscale() == "linear"
    ]
    if not marked:
        return
    fig.figure.draw_without_rendering()  # the root figure's layout (fig may be a SubFigure)
    for ax in marked:
        legend, box = ax.get_legend().get_window_extent(), ax.get_window_extent()
        free = (legend.y0 - box.y0) / box.height - 0.03  # share of the height below it
        lo, hi = ax.get_ylim()
        top = float(ax.dataLim.y1)
        if free > 0.25 and math.isfinite(top) and top > lo + free * (hi - lo):
            ax.set_ylim(lo, lo + (top - lo) / free)


def _label(family: str, metric: str) -> str:
    return _LABELS.get((family, metric), metric)


def _fmt(value: Any) -> str:
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.3f}" if abs(v) < 1e4 else f"{v:.3g}"


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _resolve(scalars: Mapping[str, Mapping[str, Any]], name: str) -> tuple[str, str]:
    """(family, metric) of ``"metric"`` (first family that has it) or ``"family.metric"``."""
    if "." in name:
        family, metric = name.split(".", 1)
        if metric in scalars.get(family, {}):
            return family, metric
    else:
        for family, metrics in scalars.items():
            if name in metrics:
                return family, name
    known = [f"{f}.{m}" for f, ms in scalars.items() for m in ms]
    raise ValueError(f"no metric {name!r} in this result; it has {', '.join(known) or 'none'}")


def _names(metrics: str | Sequence[str]) -> list[str]:
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names:
        raise ValueError("metrics is empty")
    return names


#: A figure's k: one for every panel, or one per family (:func:`_k_where_drawn`).
KChoice = Union[int, Mapping[str, Union[int, None]], None]


def _pick_k(available: Iterable[Any], k: KChoice, family: str, what: str) -> Any:
    """``k`` when ``what`` has it; by default the family's default k when available, else the
    smallest (None for a family without k)."""
    if isinstance(k, Mapping):
        k = k.get(family)
    ks = sorted(v for v in available if v is not None)
    if not ks:
        return None
    if k is None:
        default = FAMILIES[family].default_k if family in FAMILIES else None
        return default if default in ks else ks[0]
    if k not in ks:
        raise ValueError(f"{what} has no k={k}; its ks: {', '.join(map(str, ks))}")
    return k


def _k_where_drawn(k: int | None, drawn: Mapping[str, Iterable[Any]]) -> KChoice:
    """The k of a figure drawing several families (``drawn``: family -> its ks): ``k`` for
    every family that has it, each other family's default; ValueError when none has it. With
    one family, ``k`` as given (a k it lacks is an error there)."""
    if k is None or len(drawn) <= 1:
        return k
    having = {family for family, ks in drawn.items() if k in ks}
    if not having:
        known = sorted({v for ks in drawn.values() for v in ks if v is not None})
        raise ValueError(f"no metric drawn here has k={k}; their ks: {known}")
    return {family: k if family in having else None for family in drawn}


def _drawn(chosen: Iterable[tuple[str, str]], known: Mapping[str, Mapping[str, Any]]) -> dict:
    """family -> ks of the (family, metric) pairs a figure draws."""
    out: dict[str, set[Any]] = {}
    for family, name in chosen:
        out.setdefault(family, set()).update(known[family][name])
    return out


# --------------------------------------------------------------------------- panels


def _vs_k_panel(result: EvaluationResult, metrics: str | Sequence[str] | None) -> Panel:
    scal = result.scalars
    if metrics is None:
        chosen = [(f, m) for f in scal for m in scal[f] if m in _VS_K and None not in scal[f][m]]
        if not chosen:
            chosen = [(f, m) for f in scal for m in scal[f] if f == _PCE and m in _VS_K_PCE]
        if not chosen:
            raise ValueError(
                "metrics_vs_k: the result has none of the default metrics "
                f"({', '.join(_VS_K + _VS_K_PCE)}); name some with metrics=[...]"
            )
    else:
        chosen = [_resolve(scal, name) for name in _names(metrics)]
    for family, metric in chosen:
        if None in scal[family][metric]:
            raise ValueError(f"{metric} ({family}) takes no k: it cannot be drawn against k")

    def panel(ax: Axes) -> None:
        all_ks = sorted({k for f, m in chosen for k in scal[f][m]})
        for family, metric in chosen:
            ks = sorted(scal[family][metric])
            ys = [float(scal[family][metric][k]) for k in ks]
            ys = [y if math.isfinite(y) else math.nan for y in ys]
            ax.plot(ks, ys, marker="o", label=_label(family, metric))
        ax.set_xticks(all_ks)
        ax.set_xlabel("k")
        ax.set_ylabel("value")
        ax.set_title("Metrics against k")
        ax.grid(alpha=0.3)
        _legend_on_top(ax)

    return panel


def _alpha_beta_panel(result: EvaluationResult) -> Panel:
    curves = result.curves.get(_ALPHA)
    if not curves:
        raise ValueError(
            "this result has no alpha-precision / beta-recall curves: evaluate with "
            "metrics='all' or a list including 'alpha_precision_beta_recall'"
        )
    alphas = np.asarray(curves["alphas"][None], dtype=np.float64)
    scal = result.scalars.get(_ALPHA, {})
    rows = [
        (f"{_A}-precision", curves["alpha_precision_curve"][None], "delta_precision_alpha"),
        ("β-recall", curves["beta_recall_curve"][None], "delta_coverage_beta"),
    ]

    def panel(ax: Axes) -> None:
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.45", label="ideal (diagonal)")
        for name, curve, delta in rows:
            curve = np.asarray(curve, dtype=np.float64)
            d = scal.get(delta, {}).get(None)
            label = name + (f" (Δ = {_fmt(d)})" if d is not None else "")
            (line,) = ax.plot(alphas, curve, marker=".", label=label)
            ax.fill_between(alphas, curve, alphas, color=line.get_color(), alpha=0.2)
        title = f"{_A}-precision and β-recall"
        auth = scal.get("authenticity", {}).get(None)
        if auth is not None:
            title += f" (authenticity {_fmt(auth)})"
        ax.set_title(title)
        ax.set_xlabel(f"{_A} (precision), β (recall)")
        ax.set_ylabel("share of samples")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="upper left")

    return panel


def _pce_panel(result: EvaluationResult) -> Panel:
    scal = result.scalars.get(_PCE)
    if not scal:
        raise ValueError(
            "this result has no PCE / RCE / RE: evaluate with metrics='all' or a list "
            "including 'pce_rce_re'"
        )
    names = (("pce", "PCE ↓"), ("rce", "RCE ↓"), ("re", "RE ↑"))
    ks = sorted(scal["pce"])

    def panel(ax: Axes) -> None:
        x = np.arange(len(names), dtype=np.float64)
        width = 0.8 / len(ks)
        for i, k in enumerate(ks):
            values = [scal[m][k] for m, _ in names]
            heights = [float(v) if _finite(v) else 0.0 for v in values]
            bars = ax.bar(x + (i - (len(ks) - 1) / 2) * width, heights, width, label=f"k={k}")
            for bar, v in zip(bars, values):
                if not _finite(v):
                    bar.set_hatch(_MISSING_HATCH)
            ax.bar_label(bars, labels=[_fmt(v) for v in values], fontsize="x-small", padding=2)
        if not any(_finite(scal[m][k]) for m, _ in names for k in ks):
            ax.set_ylim(-1.0, 1.0)  # nothing to scale to: only the value labels at 0
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xticks(x)
        ax.set_xticklabels([label for _, label in names])
        ax.set_ylabel("nats")
        ax.set_title("PCE / RCE / RE (↓ lower, ↑ higher is better)")
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="small")

    return panel


def _class_status(pc: Mapping[str, Any], c: Any) -> str | None:
    if c in pc["missing_in_fake"]:
        return "dropped"
    if c in pc["missing_in_real"]:
        return "no real"
    if c in pc["skipped"]:
        return "skipped"
    return None


def _per_class_panels(
    result: EvaluationResult, metric: str | Sequence[str] | None, k: KChoice
) -> list[Panel]:
    pc = result.per_class
    if pc is None:
        raise ValueError(
            "this result has no per-class table: evaluate with real_labels= and fake_labels="
        )
    known: dict[str, dict[str, set[Any]]] = {}
    for source in [result.scalars, *pc["scalars"].values()]:
        for family, metrics in source.items():
            for name, per_k in metrics.items():
                known.setdefault(family, {}).setdefault(name, set()).update(per_k)
    if metric is None:
        chosen = [(f, m) for f in known for m in known[f] if m in _PER_CLASS]
        chosen.sort(key=lambda fm: _PER_CLASS.index(fm[1]))
        if not chosen:
            chosen = [(f, m) for f in known for m in known[f]][:1]
        if not chosen:
            raise ValueError("the per-class table has no metrics (no class was evaluated)")
    else:
        chosen = [_resolve(known, name) for name in _names(metric)]
    k = _k_where_drawn(k, _drawn(chosen, known))
    classes = list(pc["classes"])
    names = {c: str(c) for c in classes}
    if len(set(names.values())) < len(names):  # e.g. 1 and "1"
        names = {c: repr(c) for c in classes}

    def make(family: str, name: str) -> Panel:
        kk = _pick_k(known[family][name], k, family, f"{family}.{name}")

        def panel(ax: Axes) -> None:
            values, status = [], []
            for c in classes:
                why = _class_status(pc, c)
                v = pc["scalars"].get(c, {}).get(family, {}).get(name, {}).get(kk)
                if why is None and v is None:
                    why = "n/a"  # too small for this (family, k): see pc["partial"]
                status.append(why)
                values.append(v)
            x = np.arange(len(classes))
            heights = [
                float(v) if why is None and _finite(v) else 0.0 for v, why in zip(values, status)
            ]
            bars = ax.bar(x, heights, color="C0", label=_label(family, name))
            for i, (bar, v, why) in enumerate(zip(bars, values, status)):
                note = why if why is not None else (None if _finite(v) else _fmt(v))
                if note is None:
                    continue
                colour = "C3" if why == "dropped" else "0.45"
                bar.set_gid(f"class-{why or 'nonfinite'}")
                ax.axvspan(  # a hatched column: the class has no bar, and says why
                    i - 0.4,
                    i + 0.4,
                    facecolor="none",
                    edgecolor=colour,
                    hatch=_DROPPED_HATCH if why == "dropped" else _MISSING_HATCH,
                    linewidth=0.0,
                    alpha=0.6,
                    gid=f"span-{why or 'nonfinite'}",
                )
                ax.annotate(
                    note,
                    (i, 0),
                    xytext=(0, 3),
                    textcoords="offset points",
                    rotation=90,
                    ha="center",
                    va="bottom",
                    fontsize="small",
                    color=colour,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
                    gid=f"note-{why or 'nonfinite'}",
                )
            whole = result.scalars.get(family, {}).get(name, {}).get(kk)
            if whole is not None and _finite(whole):
                ax.axhline(
                    float(whole), color="C1", linestyle="--", label=f"whole set {_fmt(whole)}"
                )
            mean = pc["class_mean"].get(family, {}).get(name, {}).get(kk)
            if mean is not None and _finite(mean):
                ax.axhline(float(mean), color="C2", linestyle=":", label=f"class mean {_fmt(mean)}")
            if any(s == "dropped" for s in status):
                from matplotlib.patches import Patch

                handles, labels = ax.get_legend_handles_labels()
                handles.append(Patch(facecolor="none", edgecolor="C3", hatch=_DROPPED_HATCH))
                labels.append("dropped (no fake samples)")
                _legend_on_top(ax, handles, labels)
            else:
                _legend_on_top(ax)
            ax.set_xticks(x)
            if len(classes) <= 60:
                ax.set_xticklabels(
                    [names[c] for c in classes], rotation=90 if len(classes) > 12 else 0
                )
            else:
                ax.set_xticklabels([])
            ax.set_xlabel("class")
            ax.set_ylabel(_label(family, name))
            where = f" (k={kk})" if kk is not None else ""
            ax.set_title(f"{_label(family, name)} per class{where}")
            ax.margins(y=0.1)
            ax.grid(axis="y", alpha=0.3)

        return panel

    return [make(f, m) for f, m in chosen]


def _histogram_arrays(result: EvaluationResult) -> dict[str, Any]:
    """family -> {k: array} of the per-sample arrays the histograms draw (empty when absent;
    for PCE/RCE/RE the first of its entropy terms)."""
    samples = result.samples or {}
    return {
        "realism_score": samples.get("realism_score", {}).get("realism") or {},
        "rarity_score": samples.get("rarity_score", {}).get("rarity") or {},
        _PCE: samples.get(_PCE, {}).get("h_fake_real_terms") or {},
    }


def _histogram_panels(result: EvaluationResult, k: KChoice, bins: int) -> dict[str, Panel]:
    """Panels by name (``"realism"``, ``"rarity"``, ``"entropy_terms"``) that the result has."""
    samples = result.samples
    if samples is None:
        raise ValueError("histograms need per-sample arrays: evaluate with sample_level=True")
    panels: dict[str, Panel] = {}
    arrays = _histogram_arrays(result)
    realism = arrays["realism_score"]
    if realism:
        kk = _pick_k(realism, k, "realism_score", "realism_score")
        panels["realism"] = _realism_hist(np.asarray(realism[kk], dtype=np.float64), kk, bins)
    rarity = arrays["rarity_score"]
    if rarity:
        kk = _pick_k(rarity, k, "rarity_score", "rarity_score")
        panels["rarity"] = _rarity_hist(np.asarray(rarity[kk], dtype=np.float64), kk, bins)
    if arrays[_PCE]:
        terms = samples[_PCE]
        kk = _pick_k(arrays[_PCE], k, _PCE, _PCE)
        chosen = {name: terms[name][kk] for name in _TERMS if name in terms}
        panels["entropy_terms"] = _terms_hist(chosen, kk, bins)
    if not panels:
        raise ValueError(
            "histograms need the sample-level arrays of realism_score, rarity_score or "
            f"pce_rce_re; this result has {', '.join(samples) or 'none'}"
        )
    return panels


_TERMS = {
    "h_fake_real_terms": "H(F,R): fakes to reals",
    "h_real_fake_terms": "H(R,F): reals to fakes",
    "h_real_terms": "H(R): reals",
    "h_fake_terms": "H(F): fakes",
}


def _realism_hist(score: np.ndarray, k: Any, bins: int) -> Panel:
    def panel(ax: Axes) -> None:
        finite = score[np.isfinite(score)]
        n_inf = score.size - finite.size
        label = f"fakes (M={score.size})" + (f"; {n_inf} at +inf not shown" if n_inf else "")
        ax.hist(finite, bins=bins, color="C0", alpha=0.8, label=label)
        ax.axvline(1.0, color="black", linestyle="--", label="1: inside a kept real ball")
        ax.set_xlabel("realism score")
        ax.set_ylabel("fakes")
        ax.set_title(f"Realism score (k={k})")
        ax.legend(fontsize="small")

    return panel


def _rarity_hist(rarity: np.ndarray, k: Any, bins: int) -> Panel:
    def panel(ax: Axes) -> None:
        inside = rarity[~np.isnan(rarity)]
        n_out = rarity.size - inside.size
        ax.hist(inside, bins=bins, color="C1", alpha=0.8, label=f"in a real ball ({inside.size})")
        ax.plot([], [], " ", label=f"outside every ball: {n_out} (NaN)")
        ax.set_xlabel("rarity score (smallest real radius)")
        ax.set_ylabel("fakes")
        ax.set_title(f"Rarity score (k={k})")
        ax.legend(fontsize="small")

    return panel


def _terms_hist(terms: Mapping[str, np.ndarray], k: Any, bins: int) -> Panel:
    def panel(ax: Axes) -> None:
        arrays = {name: np.asarray(t, dtype=np.float64) for name, t in terms.items()}
        finite = {name: t[np.isfinite(t)] for name, t in arrays.items()}
        pooled = np.concatenate([t for t in finite.values()]) if finite else np.empty(0)
        edges = np.histogram_bin_edges(pooled, bins=bins) if pooled.size else bins
        for i, (name, t) in enumerate(finite.items()):
            dropped = arrays[name].size - t.size
            mean = float(np.mean(arrays[name])) if arrays[name].size else math.nan
            label = f"{_TERMS[name]} (mean {_fmt(mean)})"
            if dropped:
                label += f"; {dropped} at -inf not shown"
            ax.hist(t, bins=edges, histtype="step", linewidth=1.5, color=f"C{i}", label=label)
        ax.set_xlabel("per-sample entropy term (nats)")
        ax.set_ylabel("samples")
        ax.set_title(f"Entropy terms (k={k})")
        ax.legend(fontsize="x-small")

    return panel


_SCORES = (*_VS_K, "share_ge_1", "delta_precision_alpha", "delta_coverage_beta", "authenticity")


def _scores_panel(
    result: EvaluationResult, k: KChoice, wanted: Sequence[str] | None = _SCORES
) -> Panel:
    """Horizontal bars of the ``wanted`` metrics (None: every one) at one k each."""
    rows: list[tuple[str, float, Any]] = []
    for family, metrics in result.scalars.items():
        for name in metrics:
            if wanted is None or name in wanted:
                kk = _pick_k(metrics[name], k, family, f"{family}.{name}")
                rows.append((_label(family, name), float(metrics[name][kk]), kk))
    if not rows:
        raise ValueError("this result has no metric to draw")

    def panel(ax: Axes) -> None:
        y = np.arange(len(rows))[::-1]
        values = [v for _, v, _ in rows]
        bars = ax.barh(y, [v if math.isfinite(v) else 0.0 for v in values], color="C0")
        ax.bar_label(bars, labels=[_fmt(v) for v in values], fontsize="x-small", padding=2)
        ax.set_yticks(y)
        ax.set_yticklabels([f"{n}" + (f" (k={kk})" if kk is not None else "") for n, _, kk in rows])
        ax.axvline(1.0, color="0.5", linewidth=0.8, linestyle=":")
        ax.set_xlabel("value")
        ax.set_title("Scores")
        ax.margins(x=0.15)
        ax.grid(axis="x", alpha=0.3)

    return panel


# --------------------------------------------------------------------------- public


def metrics_vs_k(
    result: EvaluationResult,
    metrics: str | Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
) -> Figure:
    """Metrics against k, one line per metric (x = every k of the result).

    ``metrics``: names (``"recall"``) or ``"family.metric"``; default: precision, recall,
    density, coverage, precision cover and recall cover that the result has (else PCE,
    RCE, RE). A metric without k (alpha-precision's) raises ValueError.
    """
    return _layout([_vs_k_panel(result, metrics)], ax)


def alpha_beta_curves(result: EvaluationResult, *, ax: Axes | None = None) -> Figure:
    """alpha-precision and beta-recall curves against alpha / beta, the diagonal (ideal),
    the area between each curve and the diagonal shaded (Delta =
    1 - 2 sum|alpha - curve| / (n_alphas - 1), about 1 - 2 x that area), the Delta values in
    the legend, authenticity in the title."""
    return _layout([_alpha_beta_panel(result)], ax)


def pce_rce_re(result: EvaluationResult, *, ax: Axes | None = None) -> Figure:
    """PCE, RCE and RE (nats) as grouped bars, one bar per k; a non-finite value (from
    duplicates) is an empty bar at 0 labelled with its value."""
    return _layout([_pce_panel(result)], ax)


def per_class(
    result: EvaluationResult,
    metric: str | Sequence[str] | None = None,
    *,
    k: int | None = None,
    axes: AxesLike = None,
) -> Figure:
    """One bar per class of the mode-level table, one panel per metric.

    Dropped classes (no fake samples) get a red hatched column and the note ``dropped``;
    classes without real samples (``no real``), skipped ones (``skipped``) and (family, k)
    pairs a class was too small for (``n/a``) a grey one. Dashed line: the whole-set value;
    dotted: the unweighted mean over the classes. ``metric``: one or several names
    (default: those of recall, coverage, precision, RCE that the result has); ``k``: for every
    metric computed at it (ValueError when none is), the others at their family's default k
    when computed, else their smallest.
    """
    return _layout(_per_class_panels(result, metric, k), axes, size=(7.0, 3.8))


def histograms(
    result: EvaluationResult,
    *,
    k: int | None = None,
    bins: int = 30,
    axes: AxesLike = None,
) -> Figure:
    """Histograms of the per-sample realism scores, rarity scores and entropy terms (one
    panel each that the result has; needs ``sample_level=True``). ``k``: for every family
    drawn that has it (ValueError when none has), each other at its default k when computed,
    else its smallest. Infinite realism, NaN rarity (outside every ball) and -inf
    entropy terms are counted in the legend, not drawn."""
    drawn = {family: ks for family, ks in _histogram_arrays(result).items() if ks}
    panels = list(_histogram_panels(result, _k_where_drawn(k, drawn), bins).values())
    return _layout(panels, axes, ncols=len(panels))


def compare(
    results: Sequence[EvaluationResult] | Mapping[Any, EvaluationResult],
    labels: Sequence[Any] | None = None,
    *,
    metrics: str | Sequence[str] | None = None,
    k: int | None = None,
    kind: str | None = None,
    xlabel: str | None = None,
    axes: AxesLike = None,
) -> Figure:
    """Several results side by side: one panel per metric, one bar or point per result.

    ``results``: a sequence (``labels`` default ``"1"``, ``"2"``...) or a mapping
    label -> result. ``kind``: ``"bar"`` (generators) or ``"line"`` (e.g. training steps;
    drawn in x order); default ``"line"`` when every label is a number (then x is the number
    itself) else ``"bar"``. ``metrics``: names; default the usual ones any result has.
    ``k``: for every metric computed at it (ValueError when none is), the others at their
    family's default k (else its smallest) in the first result that has the metric. A result
    lacking a metric gets no point, or a zero bar marked ``n/a``.
    """
    if isinstance(results, Mapping):
        if labels is not None:
            raise ValueError("labels are the mapping's keys: pass one or the other")
        labels, items = list(results), list(results.values())
    else:
        items = list(results)
        labels = list(labels) if labels is not None else [str(i + 1) for i in range(len(items))]
    if not items:
        raise ValueError("compare needs at least one result")
    if len(labels) != len(items):
        raise ValueError(f"{len(labels)} labels for {len(items)} results")
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in labels)
    kind = kind or ("line" if numeric else "bar")
    if kind not in ("bar", "line"):
        raise ValueError(f"kind must be 'bar' or 'line', got {kind!r}")
    if kind == "line" and not numeric:
        raise ValueError("kind='line' needs numeric labels (e.g. training steps)")
    known: dict[str, dict[str, set[Any]]] = {}
    for res in items:
        for family, per_metric in res.scalars.items():
            for name, per_k in per_metric.items():
                known.setdefault(family, {}).setdefault(name, set()).update(per_k)
    if metrics is None:
        chosen = [(f, m) for f in known for m in known[f] if m in _COMPARE]
        if not chosen:
            raise ValueError(f"none of the results has any of {', '.join(_COMPARE)}")
    else:
        chosen = [_resolve(known, name) for name in _names(metrics)]
    kk_all = _k_where_drawn(k, _drawn(chosen, known))

    def make(family: str, name: str) -> Panel:
        first = next(r for r in items if name in r.scalars.get(family, {}))
        kk = _pick_k(first.scalars[family][name], kk_all, family, f"{family}.{name}")
        raw = [res.scalars.get(family, {}).get(name, {}).get(kk) for res in items]
        ys = [float(v) if _finite(v) else math.nan for v in raw]

        def panel(ax: Axes) -> None:
            if kind == "line":  # in x order, whatever the order the results came in
                xy = sorted(zip((float(v) for v in labels), ys), key=lambda p: p[0])
                ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o", color="C0")
                ax.set_xlabel(xlabel if xlabel is not None else "step")
            else:
                x = np.arange(len(items))
                heights = [0.0 if math.isnan(y) else y for y in ys]
                ax.bar(x, heights, color=[f"C{i % 10}" for i in x])
                for i, v in enumerate(raw):
                    if not _finite(v):  # missing from that result, or non-finite
                        note = "n/a" if v is None else _fmt(v)
                        ax.annotate(
                            note,
                            (i, 0),
                            xytext=(0, 3),
                            textcoords="offset points",
                            ha="center",
                            va="bottom",
                            fontsize="small",
                            color="0.3",
                        )
                ax.set_xticks(x)
                ax.set_xticklabels([str(v) for v in labels], rotation=90 if len(items) > 8 else 0)
                if xlabel:
                    ax.set_xlabel(xlabel)
            ax.set_ylabel(_label(family, name))
            ax.set_title(_label(family, name) + (f" (k={kk})" if kk is not None else ""))
            ax.grid(axis="y", alpha=0.3)

        return panel

    panels = [make(f, m) for f, m in chosen]
    return _layout(panels, axes, ncols=4, size=(3.6, 3.0))


def summary(result: EvaluationResult, *, k: int | None = None) -> Figure:
    """One figure with the panels the result has: metrics against k (or the scores at one
    k when every family has a single k), alpha/beta curves, PCE/RCE/RE, recall per class
    (dropped classes marked) and the realism / rarity histograms; for a result with none of
    these, its scalars as bars. ``k``: for every family computed at it (ValueError when none
    is), each other family at its default k."""
    panels = _summary_panels(result, _k_where_drawn(k, result.info.get("ks", {})))
    if not panels:
        raise ValueError("this result has nothing to draw")
    ncols = 3 if len(panels) > 4 else 2
    return _layout(panels, None, ncols=ncols, size=(5.2, 4.2), title=_title(result))


SAVE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}  # file suffix -> matplotlib format


def _save_format(path: Path) -> str:
    """The matplotlib format of ``path`` by its suffix; ValueError for any but SAVE_FORMATS."""
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"figures are written as {', '.join(SAVE_FORMATS)} files, got {path.name!r} "
            f"(suffix {path.suffix or 'none'!r})"
        )
    return fmt


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path``: PNG, PDF or SVG by its suffix (ValueError otherwise), at
    ``dpi``. Returns the path."""
    path = Path(path)
    fig.savefig(path, format=_save_format(path), dpi=dpi)
    return path


def save_summary(
    result: EvaluationResult, path: str | Path, *, dpi: int = 150, **kwargs: Any
) -> Path:
    """Write :func:`summary` to ``path`` with :func:`save_figure` (PNG, PDF or SVG by its
    suffix, at ``dpi``). Other keyword arguments go to :func:`summary`. Returns the path."""
    _save_format(Path(path))  # a bad suffix before any drawing
    return save_figure(summary(result, **kwargs), path, dpi=dpi)


def figures(result: EvaluationResult) -> dict[str, Figure]:
    """Every single figure that applies to ``result``, by caption (used by the HTML report):
    metrics against k, alpha/beta curves, PCE/RCE/RE, per-class bars, histograms."""
    out: dict[str, Figure] = {}
    if _has_vs_k(result):
        out["Metrics against k"] = metrics_vs_k(result)
    if result.curves.get(_ALPHA):
        out[f"{_A}-precision and β-recall curves"] = alpha_beta_curves(result)
    if result.scalars.get(_PCE):
        out["PCE / RCE / RE"] = pce_rce_re(result)
    if result.per_class is not None and result.per_class["evaluated"]:
        out["Per class"] = per_class(result)
    if _has_histograms(result):
        out["Sample-level histograms"] = histograms(result)
    return out


#: What :func:`draw` (and :meth:`EvaluationResult.plot`) accepts as ``kind``.
KINDS: dict[str, Callable[..., Figure]] = {
    "summary": summary,
    "metrics_vs_k": metrics_vs_k,
    "alpha_beta_curves": alpha_beta_curves,
    "pce_rce_re": pce_rce_re,
    "per_class": per_class,
    "histograms": histograms,
}


def draw(result: EvaluationResult, kind: str = "summary", **kwargs: Any) -> Figure:
    """The figure of one of :data:`KINDS` (keyword arguments go to that function)."""
    try:
        fn = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown plot kind {kind!r}; choose from {', '.join(KINDS)}") from None
    return fn(result, **kwargs)


# --------------------------------------------------------------------------- summary


def _has_vs_k(result: EvaluationResult) -> bool:
    return any(
        m in _VS_K or (f == _PCE and m in _VS_K_PCE)
        for f, ms in result.scalars.items()
        for m in ms
        if None not in ms[m]
    )


def _summary_panels(result: EvaluationResult, k: KChoice) -> list[Panel]:
    panels: list[Panel] = []
    many_k = any(len(ms[m]) > 1 for ms in result.scalars.values() for m in ms if m in _VS_K)
    if many_k:
        panels.append(_vs_k_panel(result, None))
    elif any(m in _SCORES for ms in result.scalars.values() for m in ms):
        panels.append(_scores_panel(result, k))
    if result.curves.get(_ALPHA):
        panels.append(_alpha_beta_panel(result))
    if result.scalars.get(_PCE):
        panels.append(_pce_panel(result))
    pc = result.per_class
    if pc is not None and pc["evaluated"]:
        panels.extend(_per_class_panels(result, _first_per_class(result), k))
    if result.samples is not None and _has_histograms(result):
        hist = _histogram_panels(result, k, 30)
        # realism and rarity; the entropy terms have their own figure (histograms())
        panels.extend(p for name, p in hist.items() if name != "entropy_terms")
    if not panels and result.scalars:  # e.g. rarity alone: its scalars, whatever their scale
        panels.append(_scores_panel(result, k, None))
    return panels


def _has_histograms(result: EvaluationResult) -> bool:
    samples = result.samples or {}
    return bool(
        samples.get("realism_score", {}).get("realism")
        or samples.get("rarity_score", {}).get("rarity")
        or samples.get(_PCE, {}).get("h_fake_real_terms")
    )


def _first_per_class(result: EvaluationResult) -> str | None:
    for name in _PER_CLASS:
        if any(name in ms for ms in result.scalars.values()):
            return name
    return None


def _title(result: EvaluationResult) -> str:
    info = result.info
    parts = [f"{key}={info[key]}" for key in ("n_real", "n_fake", "dim") if key in info]
    return "fastprdc: " + ", ".join(parts) if parts else "fastprdc"
