"""Figure 16: heavily duplicated data. Tabular data with categorical columns and collapsed
generators repeat rows exactly; no float32 bound tells a distance of 0 from a tiny one, so
every decision between copies is a tie that the float64 oracle must settle. The engines
group identical rows once per pass (a hash of each row, then a value-by-value comparison) and
decide those decisions from the groups; balls of radius 0 (every ball here: each row has
hundreds of copies) hold exactly their centre's copies and are counted from the group sizes,
without a pair. Timed side by side on N = M = 20k rows of d = 14 drawn from 20 distinct rows
(1000 copies each; the fake rows from 15 of them and 5 others):
``fastprdc.evaluate(metrics="all")``; the same call on rows of the same shape without a single
copy; ``fastprdc.compute_prdc`` and the ``prdc`` package (N x N distance matrices) on the
duplicated rows.

Goal: duplicated data cost at most 3x distinct data of the same shape (without the groups:
13 s, 18x, every copy's decisions rechecked; with the groups but each identical pair's ball
memberships counted in the sweep: 2.4x). Recorded: the float64 rechecks of both runs, the
speed-up over prdc. Asserted: compute_prdc equals prdc, and evaluate equals the numpy float64
backend on a slice of the duplicated data.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest

import fastprdc

prdc = pytest.importorskip("prdc")

D, K, DISTINCT = 14, 5, 20
METRICS = ("precision", "recall", "density", "coverage")
ORACLE_ROWS = 1500  # rows of each set compared against the numpy float64 backend


def _duplicated(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Real and fake rows drawn from DISTINCT rows of small integers each (categorical-like,
    float32); the fake set reproduces 15 of the real rows and invents 5 others."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 5, (DISTINCT + 5, D)).astype(np.float32)
    real = base[rng.integers(0, DISTINCT, n)]
    fake = base[rng.integers(5, DISTINCT + 5, m)]
    return real, fake


def _all(real: np.ndarray, fake: np.ndarray) -> fastprdc.EvaluationResult:
    with warnings.catch_warnings():  # pce_rce_re: zero k-th distances on exact duplicates
        warnings.simplefilter("ignore", RuntimeWarning)
        return fastprdc.evaluate(real, fake, metrics="all")


def test_duplicated_rows(make_data, figure, scaled):
    n = m = scaled(20_000)
    real, fake = _duplicated(n, m, 21)
    real_u, fake_u = make_data(n, m, D, seed=23)
    fig = figure(
        "duplicated_rows",
        'fastprdc.evaluate(metrics="all") on duplicated rows vs distinct rows, and prdc',
        {"N": n, "M": m, "d": D, "k": K, "distinct_rows": DISTINCT},
    )  # fmt: skip

    def reference():
        with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the sample counts
            return prdc.compute_prdc(real, fake, K)

    result = fig.run(
        "fastprdc_all_duplicated", lambda: _all(real, fake),
        {"fastprdc_all_distinct": lambda: _all(real_u, fake_u),
         "fastprdc_compute_prdc_duplicated": lambda: fastprdc.compute_prdc(real, fake, K),
         "prdc_duplicated": reference},
        main_rounds=3, baseline_rounds={"prdc_duplicated": 1},
    )  # fmt: skip
    fig.goal(
        "duplicated_vs_distinct",
        fig.time("fastprdc_all_duplicated") / fig.time("fastprdc_all_distinct"), "<=", 3.0,
        "evaluate(all) time on duplicated rows / on distinct rows of the same shape",
    )  # fmt: skip
    fig.ratio(
        "compute_prdc_speedup_vs_prdc",
        fig.time("prdc_duplicated") / fig.time("fastprdc_compute_prdc_duplicated"),
        "prdc time / fastprdc.compute_prdc time, both on the duplicated rows",
    )  # fmt: skip
    fig.check("n_rechecked_duplicated", result.info.get("n_rechecked"))
    fig.check("n_rechecked_distinct", fig.results["fastprdc_all_distinct"].info.get("n_rechecked"))

    ours, ref = fig.results["fastprdc_compute_prdc_duplicated"], fig.results["prdc_duplicated"]
    same = all(float(ours[name]) == float(ref[name]) for name in METRICS)
    fig.check("compute_prdc_identical_to_prdc", same)
    fig.check("prdc", {name: float(ref[name]) for name in METRICS})

    rows = min(ORACLE_ROWS, n)
    sub = (np.ascontiguousarray(real[:rows]), np.ascontiguousarray(fake[:rows]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mine = fastprdc.evaluate(*sub, metrics="all", sample_level=True)
        oracle = fastprdc.evaluate(*sub, metrics="all", sample_level=True, device="numpy")
    equal = all(
        np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
        for a, b in zip(_leaves(mine), _leaves(oracle))
    )
    fig.check(f"equals_numpy_backend_on_{rows}_rows", equal)
    assert same, f"fastprdc {ours} != prdc {ref}"
    assert equal


def _leaves(result: fastprdc.EvaluationResult) -> list:
    """Every scalar and per-sample array of a result, in a fixed order."""
    out = []
    for part in (result.scalars, result.samples):
        for family in sorted(part):
            for name in sorted(part[family]):
                per_k = part[family][name]
                out.extend(per_k[k] for k in sorted(per_k, key=str))
    return out
