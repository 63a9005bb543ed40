"""Figure 5: cost of exactness. Full PRDC (``fastprdc.evaluate``, k = 5) with ``exact=True``
vs ``exact=False`` on N = M = 20k, d = 512 Gaussian data and on offset data 50 + N(0, 1),
d = 128 (where a naive float32 norm expansion flips decisions).

Goal: ``exact=True`` costs at most 5% over ``exact=False``. Reported: the flips of
``exact=False`` (membership decisions, kNN lists and radii that differ from the exact run)
and the number of float64 rechecks. Asserted: the exact run is deterministic and equals the
numpy float64 backend on a slice of the data.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastprdc

K = 5
DATASETS = {
    # name: (N = M at scale 1, d, common offset)
    "gaussian_d512": (20_000, 512, 0.0),
    "offset50_d128": (20_000, 128, 50.0),
}
ORACLE_ROWS = 1000  # rows of each set compared against the numpy float64 backend


def _samples(result) -> dict[str, np.ndarray]:
    return {
        f"{family}.{name}": per_k[K]
        for family, arrays in result.samples.items()
        for name, per_k in arrays.items()
    }


def _scalars(result) -> dict[str, float]:
    return {m: v[K] for family in result.scalars.values() for m, v in family.items()}


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_exact_overhead(dataset, make_data, figure, scaled):
    base_n, d, offset = DATASETS[dataset]
    n = m = scaled(base_n)
    real, fake = make_data(n, m, d, seed=5, offset=offset)
    fig = figure(
        f"exact_overhead[{dataset}]", "fastprdc.evaluate exact=True vs exact=False",
        {"N": n, "M": m, "d": d, "k": K, "offset": offset},
    )  # fmt: skip

    def run(exact):
        return lambda: fastprdc.evaluate(real, fake, k=K, sample_level=True, exact=exact)

    exact = fig.run("exact", run(True), {"inexact": run(False)}, main_rounds=3)
    inexact = fig.results["inexact"]
    overhead = fig.time("exact") / fig.time("inexact") - 1.0
    fig.goal("exact_overhead", overhead, "<=", 0.05, "exact=True time / exact=False time - 1")
    fig.note("both modes time sample_level=True (same work in both; the flips come from it)")

    # flips of exact=False: membership decisions
    a, b = _samples(exact), _samples(inexact)
    flips = {name: int(np.count_nonzero(a[name] != b[name])) for name in a}
    flips_total = sum(flips.values())
    fig.check("membership_flips_total", flips_total)
    fig.check("membership_flips", flips)
    fig.check("n_rechecked_exact", exact.info.get("n_rechecked"))
    fig.check("n_rechecked_inexact", inexact.info.get("n_rechecked"))
    fig.check("metrics_exact", _scalars(exact))
    fig.check("metrics_inexact", _scalars(inexact))

    # flips of exact=False: self-kNN lists and radii of the real set
    d_ex, i_ex = fastprdc.primitives.knn(real, k=K, exact=True)
    d_in, i_in = fastprdc.primitives.knn(real, k=K, exact=False)
    fig.check("knn_rows_with_different_neighbours", int(np.count_nonzero((i_ex != i_in).any(1))))
    fig.check("kth_radius_different_bits", int(np.count_nonzero(d_ex[:, -1] != d_in[:, -1])))
    fig.check(
        "kth_radius_max_rel_diff",
        float(np.max(np.abs(d_in[:, -1] - d_ex[:, -1]) / np.maximum(d_ex[:, -1], 1e-300))),
    )

    # correctness: deterministic, and equal to the float64 numpy backend on a slice
    runs = fig.all_results["exact"]
    same = all(
        _scalars(r) == _scalars(runs[0])
        and all(
            np.array_equal(x, y) for x, y in zip(_samples(r).values(), _samples(runs[0]).values())
        )
        for r in runs
    )
    fig.check("exact_same_every_round", same)
    rows = min(ORACLE_ROWS, n)
    sub = (np.ascontiguousarray(real[:rows]), np.ascontiguousarray(fake[:rows]))
    ours = fastprdc.evaluate(*sub, k=K, sample_level=True, exact=True)
    ref = fastprdc.evaluate(*sub, k=K, sample_level=True, device="numpy")
    oracle_equal = _scalars(ours) == _scalars(ref) and all(
        np.array_equal(x, y) for x, y in zip(_samples(ours).values(), _samples(ref).values())
    )
    fig.check(f"exact_equals_numpy_backend_on_{rows}_rows", oracle_equal)
    assert same
    assert oracle_equal
