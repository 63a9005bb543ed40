"""Figure 1: ``fastprdc.compute_prdc`` vs the ``prdc`` package, N = M = 10k, d = 2048, k = 5.

Goal: at least 4x faster. Both must return identical numbers (asserted).
"""

from __future__ import annotations

import contextlib
import io

import pytest

import fastprdc

prdc = pytest.importorskip("prdc")

D, K = 2048, 5
METRICS = ("precision", "recall", "density", "coverage")


def test_compute_prdc_vs_prdc(make_data, figure, scaled):
    n = m = scaled(10_000)
    real, fake = make_data(n, m, D, seed=1)
    fig = figure(
        "compute_prdc",
        "fastprdc.compute_prdc vs prdc.compute_prdc",
        {"N": n, "M": m, "d": D, "k": K},
    )

    def reference():
        with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the sample counts
            return prdc.compute_prdc(real, fake, K)

    ours = fig.run(
        "fastprdc",
        lambda: fastprdc.compute_prdc(real, fake, K),
        {"prdc": reference},
        main_rounds=3,
        baseline_rounds={"prdc": 2},
    )
    ref = fig.results["prdc"]
    fig.goal(
        "speedup_vs_prdc", fig.time("prdc") / fig.time("fastprdc"), ">=", 4.0,
        "prdc time / fastprdc time",
    )  # fmt: skip
    same = all(float(ours[name]) == float(ref[name]) for name in METRICS)
    fig.check("identical_to_prdc", same)
    fig.check("fastprdc", {name: float(ours[name]) for name in METRICS})
    fig.check("prdc", {name: float(ref[name]) for name in METRICS})
    assert same, f"fastprdc {ours} != prdc {ref}"
