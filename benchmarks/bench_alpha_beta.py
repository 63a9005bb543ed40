"""Figure 7: ``fastprdc.alpha_precision_beta_recall`` (n_alphas = 30) at N = M = 20k, d = 512
vs synthcity's ``AlphaPrecision.metrics(X, X_syn, emb_center)`` on the same float32 arrays and
the same float64 centre (the mean of real).

Goal: at least 5x faster. The baseline is synthcity 0.2.12 itself when it imports in this
environment; otherwise (the usual case: synthcity 0.2.12 installs from PyPI but its import
fails, see ``_synthcity_rendering.py``) the line-by-line numpy / scikit-learn rendering of
that method in ``_synthcity_rendering.py``. ``extra_info["baseline"]`` and the report say
which one ran. The rendering is checked (asserted) against synthcity 0.2.12's stored
outputs on the three reference cases of ``tests/data/reference`` (and against synthcity
itself when it imports).

Asserted, where the conventions coincide (Gaussian data: no ties, so the nearest fake is the
same whichever tie rule): the alpha-precision curve equals synthcity's exactly; the
beta-recall curve equals synthcity's computed from synthcity's own neighbour results with
t_i as float64 distances to the float64 fake mean (synthcity computes t_i in float32; the
curve it returns is reported next to ours); synthcity's authenticity as coded (mean over
reals of rho_1(real[g_i]) < d(r_i, g_i)) is recomputed from fastprdc's per-sample arrays.
scikit-learn's brute search returns float32-rounded distances for float32 features, so a
per-real decision (nearest fake, in-ball test, authenticity as coded) may differ from the
exact one where two distances lie within float32 rounding of each other: every differing
decision must be such a near-tie, and the beta curve and the authenticity may differ by
those rows only (none expected; the counts are recorded).

fastprdc's own Delta uses the paper's normalisation (1 - 2 sum|.| / 29) and its authenticity
the paper's per-fake rule: both are reported next to synthcity's, with synthcity's Delta
recomputed from fastprdc's curves. Also recorded: the per-phase timings and rechecks of an
untimed ``evaluate(metrics="alpha_precision_beta_recall", sample_level=True)`` run (the one
the per-sample checks use).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _synthcity_rendering import SOURCE as RENDERING_SOURCE
from _synthcity_rendering import alpha_precision_metrics, beta_curve, delta_synthcity

import fastprdc

D, N_ALPHAS = 512, 30
REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "data" / "reference"
REFERENCE_CASES = ("pub_gauss8", "pub_lattice3", "pub_modes16")
TOL32 = 2.0**-21  # relative: a few float32 rounding steps (sklearn's float32-rounded distances)


def _synthcity(tmp_path: Path) -> tuple[Any, str]:
    """(``AlphaPrecision().metrics``, description) if synthcity imports, else (None, why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import synthcity
            from synthcity.metrics.eval_statistical import AlphaPrecision
    except Exception as exc:  # not installed, or installed and broken (the usual case)
        return None, f"{type(exc).__name__}: {exc}"
    evaluator = AlphaPrecision(use_cache=False, workspace=tmp_path)
    version = getattr(synthcity, "__version__", "unknown")
    return evaluator.metrics, f"synthcity {version} AlphaPrecision.metrics (imported)"


def _same_outputs(a: tuple, b: tuple) -> bool:
    """The six outputs of ``metrics`` are identical (curves and scalars, bit for bit)."""
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a[:6], b[:6]))


def _reference_cases() -> dict[str, bool]:
    """Rendering vs the stored synthcity 0.2.12 outputs (same truncated rows and centre)."""
    out = {}
    for case in REFERENCE_CASES:
        path = REFERENCE / f"{case}.json"
        if not path.exists():
            continue
        stored = json.loads(path.read_text(encoding="utf-8"))["synthcity_alpha_precision"]
        rows = stored["rows_used"]
        X = np.load(REFERENCE / f"{case}_real.npy")[:rows]
        X_syn = np.load(REFERENCE / f"{case}_fake.npy")[:rows]
        center = np.mean(X, axis=0, dtype=np.float64)
        ours = alpha_precision_metrics(X, X_syn, center)
        want = (stored["alphas"], stored["alpha_pc"], stored["beta_cv"],
                stored["Dpa"], stored["Dcb"], stored["auten"])  # fmt: skip
        out[case] = _same_outputs(ours, want)
    return out


def _compare_decisions(
    real: np.ndarray, fake: np.ndarray, samples: dict[str, np.ndarray], internals: dict
) -> dict[str, Any]:
    """fastprdc's per-real decisions (exact) vs those of synthcity's neighbour search.

    scikit-learn's brute kneighbors returns float32-rounded distances for float32 features,
    so a decision of synthcity's can differ from the exact one only where the two distances
    compared lie within float32 rounding of each other (``TOL32``, relative). Such rows are
    "float32-ambiguous"; every differing decision must be one of them.
    """
    g_fast, d_fast = samples["nearest_fake_index"], samples["nearest_fake_distance"]
    rho1 = samples["real_radius"]
    g_sk, d_sk = internals["real_to_synth_args"], internals["real_to_synth"]
    rho1_sk = internals["real_to_real"]

    # nearest fake: a different choice must be a float32 near-tie (exact distance to it)
    other = np.nonzero(g_fast != g_sk)[0]
    d_other = np.sqrt(
        np.sum((real[other].astype(np.float64) - fake[g_sk[other]].astype(np.float64)) ** 2, 1)
    )
    nn_near_tie = d_other - d_fast[other] <= TOL32 * d_fast[other]
    nn_ambiguous = bool(np.all(nn_near_tie))
    # in-ball test d(r_i, g_i) <= rho_1(r_i), and authenticity as coded rho_1(real[g_i]) < d
    ball_fast, ball_sk = d_fast <= rho1, d_sk <= rho1_sk
    ball_amb = np.abs(d_fast - rho1) <= TOL32 * rho1
    coded_fast = rho1[g_fast] < d_fast
    coded_sk = rho1_sk[g_sk] < d_sk
    coded_amb = np.abs(rho1[g_fast] - d_fast) <= TOL32 * d_fast
    nn_diff = g_fast != g_sk
    beta_diff = nn_diff | (ball_fast != ball_sk)
    auth_diff = nn_diff | (coded_fast != coded_sk)
    explained = (
        nn_ambiguous
        and bool(np.all(ball_amb[(ball_fast != ball_sk) & ~nn_diff]))
        and bool(np.all(coded_amb[(coded_fast != coded_sk) & ~nn_diff]))
    )
    rel = np.abs(rho1 - rho1_sk) / rho1
    return {
        "coded_authentic_fastprdc": coded_fast,
        "same_nearest_fake_as_sklearn": not bool(nn_diff.any()),
        "rho1_max_rel_diff_vs_sklearn": float(rel.max()),
        "float32_ambiguous_rows": int(np.count_nonzero(ball_amb | coded_amb))
        + int(np.count_nonzero(nn_near_tie)),
        "beta_decisions_differing": int(np.count_nonzero(beta_diff)),
        "authenticity_decisions_differing": int(np.count_nonzero(auth_diff)),
        "differing_decisions_all_float32_ambiguous": explained,
    }


def test_alpha_beta_vs_synthcity(make_data, figure, scaled, tmp_path):
    n = m = scaled(20_000)
    real, fake = make_data(n, m, D, seed=7)
    center = np.mean(real, axis=0, dtype=np.float64)  # emb_center, given to both
    synthcity_metrics, synthcity_info = _synthcity(tmp_path)
    if synthcity_metrics is not None:
        baseline, baseline_desc = "synthcity", synthcity_info
    else:
        baseline, baseline_desc = "synthcity_rendering", RENDERING_SOURCE
    fig = figure(
        "alpha_beta",
        f"fastprdc.alpha_precision_beta_recall vs {baseline_desc}",
        {"N": n, "M": m, "d": D, "n_alphas": N_ALPHAS},
    )  # fmt: skip
    fig.info["baseline"] = baseline_desc
    if synthcity_metrics is None:
        fig.note(f"synthcity not importable here ({synthcity_info}); baseline = {RENDERING_SOURCE}")

    def ours():
        return fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=N_ALPHAS, center=center)

    if synthcity_metrics is not None:
        base_fn = lambda: synthcity_metrics(real, fake, center)  # noqa: E731
    else:
        base_fn = lambda: alpha_precision_metrics(real, fake, center, internals=True)  # noqa: E731

    result = fig.run("fastprdc", ours, {baseline: base_fn}, main_rounds=3,
                     baseline_rounds={baseline: 2})  # fmt: skip
    fig.goal(
        "speedup_vs_synthcity", fig.time(baseline) / fig.time("fastprdc"), ">=", 5.0,
        f"{baseline} time / fastprdc time",
    )  # fmt: skip

    # the rendering: equal to synthcity's stored outputs (and to synthcity itself if present)
    ref_cases = _reference_cases()
    fig.check("rendering_equals_stored_synthcity_0.2.12_outputs", ref_cases)
    if synthcity_metrics is not None:
        rendered = alpha_precision_metrics(real, fake, center, internals=True)
        identical = _same_outputs(rendered, fig.results[baseline])
        fig.check("rendering_identical_to_synthcity_on_this_data", identical)
        assert identical
    else:
        rendered = fig.results[baseline]
    alphas, p_curve, b_curve, dpa, dcb, auth, internals = rendered

    # fastprdc vs synthcity where the conventions coincide
    alpha_equal = np.array_equal(result["alphas"], alphas) and np.array_equal(
        result["alpha_precision_curve"], np.asarray(p_curve)
    )
    fake_mean = np.mean(fake, axis=0, dtype=np.float64)
    g = internals["real_to_synth_args"]
    t64 = np.sqrt(np.sum((fake[g].astype(np.float64) - fake_mean) ** 2, axis=1))
    beta64 = beta_curve(internals, t64, alphas)
    b_diff = np.abs(result["beta_recall_curve"] - np.asarray(b_curve))
    detail = fastprdc.evaluate(
        real, fake, metrics="alpha_precision_beta_recall", sample_level=True,
        params={"alpha_precision_beta_recall": {"n_alphas": N_ALPHAS, "center": center}},
    )  # fmt: skip
    samples = {name: v[None] for name, v in detail.samples["alpha_precision_beta_recall"].items()}
    cmp = _compare_decisions(real, fake, samples, internals)
    coded_auth = float(np.mean(cmp.pop("coded_authentic_fastprdc")))
    # a differing decision moves a curve point by at most 2 / N (its own count, and the
    # quantile of t when its nearest fake, hence its t, differs); none expected
    beta_bound = 2 * cmp["beta_decisions_differing"] / n
    beta_max_diff = float(np.max(np.abs(result["beta_recall_curve"] - beta64)))
    beta_ok = beta_max_diff <= beta_bound
    auth_ok = abs(coded_auth - float(auth)) <= cmp["authenticity_decisions_differing"] / n
    fig.check("alpha_precision_curve_equal", alpha_equal)
    fig.check("beta_recall_curve_equal_float64_t", beta_max_diff == 0.0)
    fig.check("beta_recall_curve_float64_t_max_abs_diff", beta_max_diff)
    fig.check("beta_recall_curve_vs_synthcity_float32_t_max_abs_diff", float(b_diff.max()))
    fig.check("beta_recall_curve_vs_synthcity_float32_t_points_differing",
              int(np.count_nonzero(b_diff)))  # fmt: skip
    fig.check("fastprdc_phase_seconds_sample_level_run", detail.info.get("timings"))
    fig.check("n_rechecked_sample_level_run", detail.info.get("n_rechecked"))
    for name, value in cmp.items():
        fig.check(name, value)
    fig.check("synthcity_delta_precision_alpha", float(dpa))
    fig.check("synthcity_delta_precision_alpha_from_fastprdc_curve",
              delta_synthcity(alphas, result["alpha_precision_curve"]))  # fmt: skip
    fig.check("synthcity_delta_coverage_beta", float(dcb))
    fig.check("synthcity_delta_coverage_beta_from_fastprdc_curve",
              delta_synthcity(alphas, result["beta_recall_curve"]))  # fmt: skip
    fig.check("synthcity_authenticity_as_coded", float(auth))
    fig.check("synthcity_authenticity_as_coded_from_fastprdc_samples", coded_auth)
    fig.check("fastprdc", {
        name: float(result[name])
        for name in ("delta_precision_alpha", "delta_coverage_beta", "authenticity")
    })  # fmt: skip
    fig.note(
        "fastprdc's Delta is the paper's 1 - 2 sum|alpha - curve| / (n_alphas - 1) and its "
        "authenticity the paper's rule (share of fakes f with no equally nearest real r_i such "
        "that d(f, r_i) < rho_1(r_i)); synthcity's Delta is 1 - sum|alpha - curve| / sum(alpha) "
        "and its authenticity averages rho_1(real[g_i]) < d(r_i, g_i) over the reals"
    )
    runs = fig.all_results["fastprdc"]
    deterministic = all(
        all(np.array_equal(np.asarray(r[key]), np.asarray(runs[0][key])) for key in runs[0])
        for r in runs
    )
    fig.check("same_numbers_every_round", deterministic)

    assert all(ref_cases.values()), ref_cases
    assert deterministic
    assert alpha_equal, (result["alpha_precision_curve"], p_curve)
    assert delta_synthcity(alphas, result["alpha_precision_curve"]) == float(dpa)
    assert cmp["rho1_max_rel_diff_vs_sklearn"] <= 1e-5, cmp
    assert cmp["differing_decisions_all_float32_ambiguous"], cmp
    assert beta_ok, (result["beta_recall_curve"], beta64, cmp)
    assert auth_ok, (coded_auth, auth, cmp)
