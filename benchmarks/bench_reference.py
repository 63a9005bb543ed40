"""Figure 9 (issue 9): a cached reference of the real set, ``fastprdc.Reference(real)`` built
once and then ``ref.evaluate(fake)`` for 5 fake sets, vs 5 plain
``fastprdc.evaluate(real, fake)`` calls, side by side, on N = 200k real, M = 10k fake per set,
d = 256 (float32): the common setting of a large real set and smaller generated ones, where
the real self-kNN is most of the work.

Metrics: ``evaluate``'s default pair (precision_recall k = 3 and density_coverage k = 5:
real self-kNN to depth 5, fake self-kNN to depth 3, one cross pass), the same on both sides.
The cached side's time includes building the reference (validation, fingerprint, the real
self-kNN) and its 5 evaluations.

Goal: at least 3x faster in total. Beside it, the ideal ratio from the pass sizes, in distance
pairs: plain = 5 (N(N-1)/2 + M(M-1)/2 + N M) (each self-kNN visits each pair once), cached =
N(N-1)/2 + 5 (M(M-1)/2 + N M), and the speedup predicted by the phases of one plain call
(its real self-kNN once instead of 5 times; the two sides run minutes apart, so a change of
machine load shows as a gap between this and the measured ratio). Asserted: every
``ref.evaluate`` result equals the plain ``evaluate`` of the same fake set (all scalars, bit
for bit). Recorded: build and per-set evaluation times, the phases of a plain run, the load
average before and after, and (outside the timing) the time and size of ``ref.save`` and
``Reference.load(path, real=real)`` (fingerprint check included).
"""

from __future__ import annotations

import os
import tempfile
import time

from conftest import make_features

import fastprdc

D = 256
N_REAL = 200_000
M_FAKE = 10_000
FAKE_SETS = 5


def _pairs(n: int, m: int, sets: int) -> tuple[float, float]:
    """Distance pairs of the plain and the cached runs."""
    self_real, self_fake, cross = n * (n - 1) / 2, m * (m - 1) / 2, n * m
    return sets * (self_real + self_fake + cross), self_real + sets * (self_fake + cross)


def test_reference_vs_plain_evaluate(figure, scaled):
    n, m = scaled(N_REAL), scaled(M_FAKE)
    real = make_features(n, D, 90)
    fakes = [make_features(m, D, 91 + i, offset=0.1) for i in range(FAKE_SETS)]
    fig = figure(
        "reference",
        f"fastprdc.Reference(real) once + {FAKE_SETS} ref.evaluate(fake) vs "
        f"{FAKE_SETS} fastprdc.evaluate(real, fake)",
        {"N": n, "M": m, "d": D, "fake_sets": FAKE_SETS,
         "metrics": "precision_recall (k=3), density_coverage (k=5)"},
    )  # fmt: skip
    fig.info["baseline"] = f"{FAKE_SETS} plain fastprdc.evaluate calls, same metrics and data"
    load_before = os.getloadavg()
    parts: dict[str, object] = {}

    def cached():
        t0 = time.perf_counter()
        ref = fastprdc.Reference(real)
        t1 = time.perf_counter()
        results, times = [], []
        for fake in fakes:
            s = time.perf_counter()
            results.append(ref.evaluate(fake))
            times.append(time.perf_counter() - s)
        parts.update(build=t1 - t0, evaluates=times, ref=ref)
        return results

    def plain():
        return [fastprdc.evaluate(real, fake) for fake in fakes]

    cached_results = fig.run(
        "fastprdc_reference_build_and_evaluates", cached,
        {"fastprdc_plain_evaluates": plain}, main_rounds=1,
    )  # fmt: skip
    plain_results = fig.results["fastprdc_plain_evaluates"]
    load_after = os.getloadavg()
    fig.check("load_average_1_5_15min_before_after",
              {"before": [round(x, 2) for x in load_before],
               "after": [round(x, 2) for x in load_after]})  # fmt: skip

    t_cached = fig.time("fastprdc_reference_build_and_evaluates")
    t_plain = fig.time("fastprdc_plain_evaluates")
    pairs_plain, pairs_cached = _pairs(n, m, FAKE_SETS)
    fig.goal(
        "speedup", t_plain / t_cached, ">=", 3.0,
        f"{FAKE_SETS} plain evaluate calls / (Reference build + {FAKE_SETS} ref.evaluate)",
    )  # fmt: skip
    fig.ratio(
        "ideal_speedup_from_pass_sizes", pairs_plain / pairs_cached,
        "distance pairs: 5 (N^2/2 + M^2/2 + N M) / (N^2/2 + 5 (M^2/2 + N M))",
    )  # fmt: skip
    fig.ratio(
        "measured_over_ideal", (t_plain / t_cached) / (pairs_plain / pairs_cached),
        "measured speedup / ideal speedup",
    )  # fmt: skip
    fig.info["parts"] = {
        "reference_build_seconds": float(parts["build"]),
        "ref_evaluate_seconds": [float(t) for t in parts["evaluates"]],
        "plain_evaluate_mean_seconds": t_plain / FAKE_SETS,
        "pairs_plain": pairs_plain,
        "pairs_cached": pairs_cached,
    }
    # phases of a plain call (not "phases": report.py would label those as the main side's)
    fig.info["plain_phases"] = ph = {
        k: float(v) for k, v in plain_results[-1].info["timings"].items()
    }
    fig.check("plain_evaluate_phases_last_call", {k: round(v, 3) for k, v in ph.items()})
    fig.ratio(
        "speedup_from_plain_phases",
        FAKE_SETS * (ph["knn_real"] + ph["knn_fake"] + ph["cross"])
        / (ph["knn_real"] + FAKE_SETS * (ph["knn_fake"] + ph["cross"])),
        "the same comparison from the passes of one plain call (real self-kNN once vs 5 "
        "times): insensitive to a machine load that changes between the two sides",
    )  # fmt: skip
    fig.check("reference_build_seconds", round(float(parts["build"]), 3))
    fig.check("ref_evaluate_seconds", [round(float(t), 3) for t in parts["evaluates"]])
    fig.check(
        "ref_evaluate_phases",
        {k: round(float(v), 3) for k, v in cached_results[-1].info["timings"].items()},
    )

    # save / load, outside the timed comparison (the CLI's path: build, save, load, evaluate)
    ref = parts["ref"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "real.ref.npz")
        t0 = time.perf_counter()
        ref.save(path)
        t1 = time.perf_counter()
        loaded = fastprdc.Reference.load(path, real=real)
        t2 = time.perf_counter()
        size = os.path.getsize(path)
        from_file = loaded.evaluate(fakes[0])
    fig.check("save_seconds", round(t1 - t0, 3))
    fig.check("load_with_fingerprint_check_seconds", round(t2 - t1, 3))
    fig.check("file_bytes_without_features", size)

    same = [c.scalars == p.scalars for c, p in zip(cached_results, plain_results)]
    fig.check("ref_evaluate_equals_evaluate_every_set", all(same))
    fig.check("loaded_reference_equals_evaluate", from_file.scalars == plain_results[0].scalars)
    fig.check("precision_recall_density_coverage_set0", {
        name: float(v[next(iter(v))])
        for fam in plain_results[0].scalars.values() for name, v in fam.items()
    })  # fmt: skip
    fig.note(
        "the plain calls run the real self-kNN 5 times (N(N-1)/2 pairs each); the cached "
        "reference runs it once, then per fake set only the fake self-kNN and the cross pass"
    )
    assert all(same), same
    assert from_file.scalars == plain_results[0].scalars
