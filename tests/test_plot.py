"""fastprdc.plot, checked by content on small real evaluations: axes, labels, titles and one
line / bar / patch per metric, k, class or result, the diagonal and the shaded areas of the
alpha/beta figure, dropped classes marked; the clear error when matplotlib is missing."""

from __future__ import annotations

import copy
import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

import fastprdc
from fastprdc import plot

KS = [1, 3, 5]


def _legend(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def _bars(ax):
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _notes(ax, gid):
    return [t for t in ax.texts if t.get_gid() == gid]


@pytest.fixture(scope="module")
def res_all():
    rng = np.random.default_rng(11)
    real = rng.standard_normal((200, 8))
    fake = rng.standard_normal((200, 8)) * 1.1 + 0.2
    return fastprdc.evaluate(real, fake, metrics="all", k=KS, sample_level=True)


# Classes: 0 and 1 evaluated, 2 skipped (1 fake), 3 dropped (no fake), 4 no real samples,
# 5 partial (5 samples each: k=3 computed, k=5 too large).
CLASSES = [0, 1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def res_labelled():
    rng = np.random.default_rng(12)
    real_labels = np.repeat([0, 1, 2, 3, 5], [50, 50, 50, 50, 5])
    fake_labels = np.repeat([0, 1, 2, 4, 5], [50, 50, 1, 10, 5])
    real = rng.standard_normal((real_labels.size, 6)) + real_labels[:, None]
    fake = rng.standard_normal((fake_labels.size, 6)) + fake_labels[:, None]
    return fastprdc.evaluate(
        real,
        fake,
        metrics=["precision_recall", "density_coverage", "pce_rce_re"],
        k=[3, 5],
        real_labels=real_labels,
        fake_labels=fake_labels,
    )


@pytest.fixture(scope="module")
def runs():
    """Three generators (narrow, matching, wide) against one real set, k=3."""
    rng = np.random.default_rng(13)
    real = rng.standard_normal((120, 6))
    return [
        fastprdc.evaluate(real, rng.standard_normal((120, 6)) * s, metrics="all", k=3)
        for s in (0.5, 1.0, 1.6)
    ]


# --------------------------------------------------------------------------- metrics vs k


def test_metrics_vs_k_default_one_line_per_metric_over_every_k(res_all):
    fig = plot.metrics_vs_k(res_all)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "k"
    assert ax.get_title() == "Metrics against k"
    expected = ["precision", "recall", "density", "coverage", "precision_cover", "recall_cover"]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == expected
    assert _legend(ax) == expected
    for line, metric in zip(lines, expected):
        assert list(line.get_xdata()) == KS
        assert list(line.get_ydata()) == [res_all[metric][k] for k in KS]
    assert list(ax.get_xticks()) == KS


def test_metrics_vs_k_named_metrics_and_errors(res_all):
    fig = plot.metrics_vs_k(res_all, ["pce", "realism_score.mean", "rarity_score.mean_in_ball"])
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == [
        "PCE",
        "realism mean",
        "rarity mean (in ball)",
    ]
    with pytest.raises(ValueError, match="takes no k"):
        plot.metrics_vs_k(res_all, "authenticity")
    with pytest.raises(ValueError, match="no metric 'nope'"):
        plot.metrics_vs_k(res_all, ["precision", "nope"])


def test_draws_into_a_given_axes(res_all):
    fig = Figure()
    ax = fig.subplots()
    assert plot.metrics_vs_k(res_all, ax=ax) is fig
    assert len(ax.get_lines()) == 6
    with pytest.raises(ValueError, match="3 panel"):
        plot.histograms(res_all, axes=[ax])


# --------------------------------------------------------------------------- alpha / beta


def test_alpha_beta_curves_diagonal_shaded_areas_and_deltas(res_all):
    fig = plot.alpha_beta_curves(res_all)
    (ax,) = fig.axes
    curves = res_all.curves["alpha_precision_beta_recall"]
    alphas = curves["alphas"][None]
    diagonal, precision, recall = ax.get_lines()
    assert diagonal.get_label() == "ideal (diagonal)"
    assert list(diagonal.get_xdata()) == [0, 1] and list(diagonal.get_ydata()) == [0, 1]
    np.testing.assert_array_equal(precision.get_xdata(), alphas)
    np.testing.assert_array_equal(precision.get_ydata(), curves["alpha_precision_curve"][None])
    np.testing.assert_array_equal(recall.get_ydata(), curves["beta_recall_curve"][None])
    # one shaded area per curve, between the curve and the diagonal, in the curve's colour
    fills = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(fills) == 2
    for fill, line in zip(fills, (precision, recall)):
        verts = fill.get_paths()[0].vertices
        pts = {(round(x, 12), round(y, 12)) for x, y in verts}
        assert all((round(a, 12), round(y, 12)) in pts for a, y in zip(alphas, line.get_ydata()))
        assert all((round(a, 12), round(a, 12)) in pts for a in alphas)
        assert matplotlib.colors.same_color(fill.get_facecolor()[0][:3], line.get_color())
    scal = res_all.scalars["alpha_precision_beta_recall"]
    legend = _legend(ax)
    assert legend[0] == "ideal (diagonal)"
    assert f"Δ = {scal['delta_precision_alpha'][None]:.3f}" in legend[1]
    assert legend[1].startswith("\N{GREEK SMALL LETTER ALPHA}-precision")
    assert f"Δ = {scal['delta_coverage_beta'][None]:.3f}" in legend[2]
    assert legend[2].startswith("β-recall")
    assert f"authenticity {scal['authenticity'][None]:.3f}" in ax.get_title()
    assert ax.get_xlim() == (0, 1)
    assert ax.get_ylabel() == "share of samples"


def test_alpha_beta_needs_the_family(res_labelled):
    with pytest.raises(ValueError, match="alpha_precision_beta_recall"):
        plot.alpha_beta_curves(res_labelled)


# --------------------------------------------------------------------------- PCE / RCE / RE


def test_pce_rce_re_one_bar_per_metric_and_k(res_all):
    fig = plot.pce_rce_re(res_all)
    (ax,) = fig.axes
    groups = _bars(ax)
    assert len(groups) == len(KS)
    assert _legend(ax) == [f"k={k}" for k in KS]
    scal = res_all.scalars["pce_rce_re"]
    for group, k in zip(groups, KS):
        assert len(group.patches) == 3
        heights = [bar.get_height() for bar in group.patches]
        assert heights == [scal[m][k] for m in ("pce", "rce", "re")]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["PCE ↓", "RCE ↓", "RE ↑"]
    assert ax.get_ylabel() == "nats"
    assert "PCE / RCE / RE" in ax.get_title()


def test_pce_rce_re_non_finite_value_is_a_hatched_labelled_bar(res_all):
    res = copy.deepcopy(res_all)
    res.scalars["pce_rce_re"]["pce"][3] = -math.inf
    (ax,) = plot.pce_rce_re(res).axes
    bar = _bars(ax)[1].patches[0]
    assert bar.get_height() == 0 and bar.get_hatch()
    assert "-inf" in [t.get_text() for t in ax.texts]


# --------------------------------------------------------------------------- per class


def test_per_class_one_bar_per_class_dropped_marked(res_labelled):
    pc = res_labelled.per_class
    assert pc["missing_in_fake"] == [3] and pc["missing_in_real"] == [4]
    assert list(pc["skipped"]) == [2] and list(pc["partial"]) == [5]
    fig = plot.per_class(res_labelled, metric="recall", k=3)
    (ax,) = fig.axes
    (bars,) = _bars(ax)
    assert len(bars.patches) == len(CLASSES)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(c) for c in CLASSES]
    for c, bar in zip(CLASSES, bars.patches):
        value = pc["scalars"].get(c, {}).get("precision_recall", {}).get("recall", {}).get(3)
        assert bar.get_height() == (value if c in (0, 1, 5) else 0.0), c
    # the dropped class: an annotation, a hatched red column, a legend entry
    assert [t.get_text() for t in _notes(ax, "note-dropped")] == ["dropped"]
    assert [bars.patches[i].get_gid() for i in (2, 3, 4)] == [
        "class-skipped",
        "class-dropped",
        "class-no real",
    ]
    (span,) = [p for p in ax.patches if p.get_gid() == "span-dropped"]
    assert span.get_hatch() == "//"
    assert [t.get_text() for t in _notes(ax, "note-skipped")] == ["skipped"]
    assert [t.get_text() for t in _notes(ax, "note-no real")] == ["no real"]
    legend = _legend(ax)
    assert "dropped (no fake samples)" in legend
    assert f"whole set {res_labelled['recall'][3]:.3f}" in legend
    assert f"class mean {pc['class_mean']['precision_recall']['recall'][3]:.3f}" in legend
    assert ax.get_title() == "recall per class (k=3)"
    assert ax.get_xlabel() == "class" and ax.get_ylabel() == "recall"


def test_per_class_k_a_class_was_too_small_for_is_marked(res_labelled):
    (ax,) = plot.per_class(res_labelled, metric="coverage", k=5).axes
    assert [t.get_text() for t in _notes(ax, "note-n/a")] == ["n/a"]
    assert _bars(ax)[0].patches[CLASSES.index(5)].get_gid() == "class-n/a"


def test_per_class_default_panels_and_errors(res_all, res_labelled):
    fig = plot.per_class(res_labelled)
    titles = [ax.get_title() for ax in fig.axes]
    # default: recall, coverage, precision, rce, each at its family's default k
    assert titles == [
        "recall per class (k=3)",
        "coverage per class (k=5)",
        "precision per class (k=3)",
        "RCE per class (k=5)",
    ]
    assert all(len(_bars(ax)[0].patches) == len(CLASSES) for ax in fig.axes)
    with pytest.raises(ValueError, match="real_labels"):
        plot.per_class(res_all)
    with pytest.raises(ValueError, match="no k=4"):
        plot.per_class(res_labelled, "recall", k=4)


# --------------------------------------------------------------------------- histograms


def test_histograms_realism_rarity_entropy_terms(res_all):
    fig = plot.histograms(res_all)
    realism_ax, rarity_ax, terms_ax = fig.axes
    s = res_all.samples
    assert realism_ax.get_title() == "Realism score (k=3)"
    realism = s["realism_score"]["realism"][3]
    counts = sum(p.get_height() for p in realism_ax.patches)
    assert counts == np.isfinite(realism).sum()
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in realism_ax.get_lines())
    assert rarity_ax.get_title() == "Rarity score (k=3)"
    rarity = s["rarity_score"]["rarity"][3]
    assert sum(p.get_height() for p in rarity_ax.patches) == (~np.isnan(rarity)).sum()
    n_out = res_all.scalars["rarity_score"]["n_out_of_ball"][3]
    assert f"outside every ball: {n_out} (NaN)" in _legend(rarity_ax)
    assert terms_ax.get_title() == "Entropy terms (k=5)"
    assert len(terms_ax.patches) == 4  # one step histogram per term
    legend = _legend(terms_ax)
    assert len(legend) == 4
    h = res_all.scalars["pce_rce_re"]
    assert f"(mean {h['h_fake_real'][5]:.3f})" in legend[0]
    assert f"(mean {h['h_real'][5]:.3f})" in legend[2]
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel()
    assert [ax.get_title() for ax in plot.histograms(res_all, k=1).axes] == [
        "Realism score (k=1)",
        "Rarity score (k=1)",
        "Entropy terms (k=1)",
    ]


def test_a_k_some_families_lack_applies_where_computed():
    """Default ks differ by family (3; 5 for density/coverage and PCE/RCE/RE): a k given to a
    figure of several families is used where a family has it, defaults elsewhere."""
    rng = np.random.default_rng(5)
    real, fake = rng.standard_normal((150, 6)), rng.standard_normal((140, 6)) + 0.2
    res = fastprdc.evaluate(real, fake, metrics="all", sample_level=True)
    titles = {k: [ax.get_title() for ax in plot.histograms(res, k=k).axes] for k in (3, 5)}
    assert titles[3] == ["Realism score (k=3)", "Rarity score (k=3)", "Entropy terms (k=5)"]
    assert titles[5] == titles[3]  # realism and rarity have no k=5: their default
    for k in (3, 5):
        assert plot.summary(res, k=k).axes
    with pytest.raises(ValueError, match=r"no metric drawn here has k=7; their ks: \[3, 5\]"):
        plot.summary(res, k=7)
    with pytest.raises(ValueError, match="no metric drawn here has k=7"):
        plot.histograms(res, k=7)
    for k in (3, 5):  # per-class bars and comparisons of metrics of both default ks
        labelled = fastprdc.evaluate(real, fake, metrics="all", real_labels=np.arange(150) % 2,
                                     fake_labels=np.arange(140) % 2)  # fmt: skip
        titles = [ax.get_title() for ax in plot.per_class(labelled, k=k).axes]
        assert "coverage per class (k=5)" in titles and "recall per class (k=3)" in titles
        assert len(plot.compare([res, res], k=k).axes) >= 4
    without_k5 = fastprdc.evaluate(real, fake, metrics=["realism_score", "density_coverage"],
                                   k={"realism_score": 3, "density_coverage": 5},
                                   sample_level=True)  # fmt: skip
    with pytest.raises(ValueError, match="has no k=5"):  # only realism is drawn: it lacks k=5
        plot.histograms(without_k5, k=5)


def test_histograms_need_sample_level(res_labelled, runs):
    with pytest.raises(ValueError, match=r"sample_level=True"):
        plot.histograms(runs[0])
    with pytest.raises(ValueError, match="sample_level=True"):
        plot.histograms(res_labelled)


# --------------------------------------------------------------------------- compare


def test_compare_bars_one_panel_per_metric_one_bar_per_result(runs):
    labels = ["narrow", "same", "wide"]
    fig = plot.compare(runs, labels)
    metrics = [
        "precision",
        "recall",
        "density",
        "coverage",
        "precision_cover",
        "recall_cover",
        "pce",
        "rce",
        "re",
        "delta_precision_alpha",
        "delta_coverage_beta",
        "authenticity",
    ]
    assert len(fig.axes) == len(metrics)
    for ax, metric in zip(fig.axes, metrics):
        (bars,) = _bars(ax)
        assert [b.get_height() for b in bars.patches] == [
            next(iter(r[metric].values())) for r in runs
        ]
        assert [t.get_text() for t in ax.get_xticklabels()] == labels
        assert ax.get_ylabel()
    assert fig.axes[0].get_title() == "precision (k=3)"
    assert fig.axes[-1].get_title() == "authenticity"


def test_compare_steps_as_a_mapping_draws_lines(runs):
    steps = {1000: runs[0], 2000: runs[1], 4000: runs[2]}
    fig = plot.compare(steps, metrics=["recall", "rce"])
    assert [ax.get_title() for ax in fig.axes] == ["recall (k=3)", "RCE (k=3)"]
    for ax, metric in zip(fig.axes, ["recall", "rce"]):
        (line,) = ax.get_lines()
        assert list(line.get_xdata()) == [1000.0, 2000.0, 4000.0]
        assert list(line.get_ydata()) == [r[metric][3] for r in runs]
        assert ax.get_xlabel() == "step"
    shuffled = plot.compare({4000: runs[2], 1000: runs[0], 2000: runs[1]}, metrics=["recall"])
    (line,) = shuffled.axes[0].get_lines()  # drawn in step order, whatever the order given
    assert list(line.get_xdata()) == [1000.0, 2000.0, 4000.0]
    assert list(line.get_ydata()) == [r["recall"][3] for r in runs]
    with pytest.raises(ValueError, match="numeric labels"):
        plot.compare(runs, ["a", "b", "c"], kind="line")
    with pytest.raises(ValueError, match="3 results"):
        plot.compare(runs, ["a", "b"])


def test_compare_marks_a_metric_one_result_lacks(runs, res_labelled):
    fig = plot.compare([runs[0], res_labelled], ["all", "three families"], metrics=["authenticity"])
    (ax,) = fig.axes
    (bars,) = _bars(ax)
    assert [b.get_height() for b in bars.patches] == [runs[0]["authenticity"][None], 0.0]
    assert [t.get_text() for t in ax.texts] == ["n/a"]


# --------------------------------------------------------------------------- summary


def test_summary_panels_follow_what_the_result_has(res_all, res_labelled, runs):
    titles = [ax.get_title() for ax in plot.summary(res_all).axes]
    assert titles[0] == "Metrics against k"
    assert titles[1].startswith("\N{GREEK SMALL LETTER ALPHA}-precision and β-recall")
    assert titles[2].startswith("PCE / RCE / RE")
    assert titles[3:] == ["Realism score (k=3)", "Rarity score (k=3)"]
    titles = [ax.get_title() for ax in plot.summary(res_labelled).axes]
    assert titles == ["Metrics against k", titles[1], "recall per class (k=3)"]
    assert titles[1].startswith("PCE / RCE / RE")
    # one k per family: the scores at that k instead of lines against k
    fig = plot.summary(runs[0])
    assert fig.axes[0].get_title() == "Scores"
    (bars,) = _bars(fig.axes[0])
    assert len(bars.patches) == 10  # 6 shares, realism >= 1, two Deltas, authenticity
    assert len(fig.axes) == 3
    # none of those panels (rarity alone): its scalars as bars
    rng = np.random.default_rng(14)
    rarity = fastprdc.evaluate(
        rng.standard_normal((50, 3)), rng.standard_normal((50, 3)), metrics="rarity_score"
    )
    (ax,) = plot.summary(rarity).axes
    assert ax.get_title() == "Scores"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "rarity: fakes out of ball (k=3)",
        "rarity mean (in ball) (k=3)",
    ]


def test_save_summary_png_pdf_and_bad_suffix(res_labelled, tmp_path):
    png = plot.save_summary(res_labelled, tmp_path / "out.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = plot.save_summary(res_labelled, str(tmp_path / "out.PDF"))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    svg = plot.save_summary(res_labelled, tmp_path / "out.svg")
    assert b"<svg" in svg.read_bytes()[:2000]
    with pytest.raises(ValueError, match=r"\.png, \.pdf, \.svg files.*'\.jpg'"):
        plot.save_summary(res_labelled, tmp_path / "out.jpg")
    assert not (tmp_path / "out.jpg").exists()


def test_result_plot_dispatches_by_kind(res_all):
    assert [ax.get_title() for ax in res_all.plot().axes] == [
        ax.get_title() for ax in plot.summary(res_all).axes
    ]
    fig = res_all.plot("metrics_vs_k", metrics="recall")
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["recall"]
    assert len(res_all.plot("histograms", k=5).axes) == 3
    with pytest.raises(ValueError, match=r"unknown plot kind 'pie'.*summary.*histograms"):
        res_all.plot("pie")


def test_figures_of_the_report(res_all, res_labelled):
    assert list(plot.figures(res_all)) == [
        "Metrics against k",
        "\N{GREEK SMALL LETTER ALPHA}-precision and β-recall curves",
        "PCE / RCE / RE",
        "Sample-level histograms",
    ]
    assert list(plot.figures(res_labelled)) == ["Metrics against k", "PCE / RCE / RE", "Per class"]


# --------------------------------------------------------------------------- no matplotlib


def test_missing_matplotlib_names_the_extra(res_all, no_matplotlib):
    calls = [plot.summary, plot.metrics_vs_k, plot.histograms, lambda r: r.plot("pce_rce_re")]
    for call in calls:
        with pytest.raises(ImportError, match=r'pip install "fastprdc\[plot\]"'):
            call(res_all)


def test_import_fastprdc_does_not_import_matplotlib():
    code = (
        "import sys, fastprdc, fastprdc.plot, fastprdc.report; print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- legends


def _covered(ax) -> list[str]:
    """What of the drawn data the legend box covers: bar tops and line points (a horizontal
    reference line: anywhere along it)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    box = ax.get_legend().get_window_extent()
    hits = []
    for bar in [p for c in _bars(ax) for p in c.patches if isinstance(p, Rectangle)]:
        x0, _, x1, y1 = bar.get_window_extent().extents
        if bar.get_height() > 0 and box.x0 < x1 and x0 < box.x1 and box.y0 < y1 < box.y1:
            hits.append(f"bar {bar.get_x():.1f}")
    for line in [a for a in ax.get_children() if isinstance(a, Line2D)]:
        xy = line.get_transform().transform(line.get_xydata())
        if len(xy) == 2 and xy[0, 1] == xy[1, 1]:  # axhline
            if box.y0 < xy[0, 1] < box.y1:
                hits.append(f"line {line.get_label()}")
        elif any(box.contains(x, y) for x, y in xy):
            hits.append(f"points {line.get_label()}")
    return hits


def test_legends_in_a_corner_never_cover_the_data():
    """The demo's mode-level result, whose recall bars reached the per-class legend in the
    summary: the per-class and metrics-against-k legends sit above the data (the y range
    raised), alone and in the summary."""
    pytest.importorskip("sklearn")
    from fastprdc.demo import run_demo

    res = run_demo(quick=True, full_result=True, device="cpu")["result"]
    for fig in (plot.summary(res, k=3), plot.per_class(res), plot.metrics_vs_k(res)):
        fig.canvas.draw()
        for ax in fig.axes:
            title = ax.get_title()
            if ax.get_legend() is not None and ("per class" in title or "against k" in title):
                assert _covered(ax) == [], (title, _covered(ax))


def test_draws_into_the_axes_of_a_subfigure(res_all, res_labelled):
    """Panels with a legend kept clear of the data draw into a caller's SubFigure axes (the
    layout pass runs on the root figure)."""
    fig = Figure(layout="constrained")
    left, right = fig.subfigures(1, 2)
    assert plot.metrics_vs_k(res_all, ax=left.subplots()) is left
    assert plot.per_class(res_labelled, "recall", k=3, axes=right.subplots()) is right
    fig.canvas.draw()
