"""Figure 6: every metric family at once, ``fastprdc.evaluate(real, fake, metrics="all")``
(each family at its default k and parameters), vs ``fastprdc.density_coverage(real, fake)``
alone (k = 5), on the same N = M = 20k, d = 2048 data, timed side by side (alternating rounds
in the same test).

Goal: "all" costs at most 1.15x density/coverage alone: every family is derived from the
same self-kNN passes and the same cross pass, so the extra families should cost little more
than deeper neighbour lists, the realism columns and the distances to the two centres.
Also timed, for information (no goal): ``fastprdc.precision_recall(real, fake)`` alone
(k = 3), which like "all" needs both self-kNN passes. Recorded: the per-phase timings of
the "all" run (``result.info["timings"]``) and its number of float64 rechecks. Asserted:
density/coverage inside "all" equal density_coverage alone, and every round gives the same
numbers.
"""

from __future__ import annotations

from typing import Any

from conftest import same_scalars, scalars_of

import fastprdc

D = 2048


def _plain(value: Any) -> Any:
    """JSON-able copy of ``info`` entries (dict keys as str)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_evaluate_all_vs_density_coverage(make_data, figure, scaled):
    n = m = scaled(20_000)
    real, fake = make_data(n, m, D, seed=6)
    fig = figure(
        "evaluate_all",
        'fastprdc.evaluate(metrics="all") vs fastprdc.density_coverage alone',
        {"N": n, "M": m, "d": D},
    )  # fmt: skip

    def evaluate_all():
        return fastprdc.evaluate(real, fake, metrics="all")

    def density_coverage():
        return fastprdc.density_coverage(real, fake)

    def precision_recall():
        return fastprdc.precision_recall(real, fake)

    result = fig.run(
        "fastprdc_evaluate_all", evaluate_all,
        {"fastprdc_density_coverage": density_coverage,
         "fastprdc_precision_recall": precision_recall},
        main_rounds=3,
    )  # fmt: skip
    fig.goal(
        "all_vs_density_coverage",
        fig.time("fastprdc_evaluate_all") / fig.time("fastprdc_density_coverage"), "<=", 1.15,
        'evaluate(metrics="all") time / density_coverage alone time',
    )  # fmt: skip
    fig.ratio(
        "all_vs_precision_recall",
        fig.time("fastprdc_evaluate_all") / fig.time("fastprdc_precision_recall"),
        'evaluate(metrics="all") time / precision_recall alone time (both self-kNN passes)',
    )  # fmt: skip
    fig.note(
        "density_coverage alone needs the self-kNN of real and the cross pass only; "
        '"all" also needs the self-kNN of fake (recall, cover, entropies), about half a '
        "cross pass more; precision_recall alone (both self-kNN passes) is timed for reference"
    )
    fig.info["phases"] = {name: float(t) for name, t in (result.info.get("timings") or {}).items()}
    fig.check("fastprdc_phase_seconds", fig.info["phases"])
    fig.check("n_rechecked", result.info.get("n_rechecked"))
    fig.check("families", list(result.scalars))
    fig.check("ks", _plain(result.info.get("ks")))
    scalars = scalars_of(result)
    fig.check("metrics", scalars)

    dc = fig.results["fastprdc_density_coverage"]
    dc_all = result.scalars["density_coverage"]
    k_dc = next(iter(dc_all["density"]))
    same_dc = all(dc_all[name][k_dc] == dc[name] for name in ("density", "coverage"))
    fig.check("density_coverage", {"k": k_dc, "density": float(dc["density"]),
                                   "coverage": float(dc["coverage"])})  # fmt: skip
    fig.check("density_coverage_equal_inside_all", same_dc)
    runs = [scalars_of(r) for r in fig.all_results["fastprdc_evaluate_all"]]
    deterministic = all(same_scalars(r, runs[0]) for r in runs)
    fig.check("same_numbers_every_round", deterministic)

    assert k_dc == 5
    assert same_dc, (dc_all, dc)
    assert deterministic, runs
