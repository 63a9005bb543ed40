"""Figure 3: self-kNN radii (``fastprdc.primitives.kth_radii``), N = 20k, d = 512, k = 5, vs
scikit-learn ``NearestNeighbors(algorithm="brute").kneighbors`` and ``faiss.knn(X, X, k + 1)``.

Goals: at least 3x faster than scikit-learn and 1.5x faster than faiss-cpu (symmetry halves
our work). Correctness (asserted): fastprdc's exact radii match a float64 brute force on
sampled rows, and the float32 baselines within 1e-3 relative.
"""

from __future__ import annotations

import numpy as np

import fastprdc

D, K = 512, 5


def _kth_excluding_self(dist: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """k-th neighbour distance from a (n, k + 1) self-inclusive list, self excluded by position."""
    rows = np.arange(dist.shape[0])[:, None]
    self_listed = (idx == rows).any(axis=1)
    return np.where(self_listed, dist[:, k], dist[:, k - 1]).astype(np.float64)


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)))


def test_knn_radii_vs_sklearn_faiss(make_data, figure, scaled):
    from sklearn.neighbors import NearestNeighbors

    n = scaled(20_000)
    X, _ = make_data(n, 2, D, seed=3)
    fig = figure(
        "knn_radii", "self-kNN radii: fastprdc.primitives.kth_radii vs sklearn brute / faiss.knn",
        {"N": n, "d": D, "k": K},
    )  # fmt: skip

    def sklearn_radii():
        nn = NearestNeighbors(n_neighbors=K + 1, algorithm="brute").fit(X)
        dist, idx = nn.kneighbors(X, K + 1)
        return _kth_excluding_self(dist, idx, K)

    baselines = {"sklearn_brute": sklearn_radii}
    try:
        import faiss
    except ImportError:
        faiss = None
        fig.note("faiss-cpu not installed: faiss baseline skipped")
    if faiss is not None:

        def faiss_radii():
            d2, idx = faiss.knn(X, X, K + 1)
            return np.sqrt(_kth_excluding_self(np.maximum(d2, 0), idx, K))

        baselines["faiss_knn"] = faiss_radii

    radii = fig.run(
        "fastprdc", lambda: fastprdc.primitives.kth_radii(X, K), baselines, main_rounds=3
    )
    fig.goal(
        "speedup_vs_sklearn", fig.time("sklearn_brute") / fig.time("fastprdc"), ">=", 3.0,
        "sklearn brute kneighbors time / fastprdc time",
    )  # fmt: skip
    if faiss is not None:
        fig.goal(
            "speedup_vs_faiss", fig.time("faiss_knn") / fig.time("fastprdc"), ">=", 1.5,
            "faiss.knn time / fastprdc time",
        )  # fmt: skip

    # correctness: exact radii against float64 brute force on sampled rows
    rng = np.random.default_rng(0)
    sample = rng.choice(n, size=min(n, 64), replace=False)
    X64 = X.astype(np.float64)
    oracle = []
    for i in sample:
        d = np.sqrt(((X64 - X64[i]) ** 2).sum(axis=1))
        d[i] = np.inf
        oracle.append(np.partition(d, K - 1)[K - 1])
    rel_oracle = _max_rel(radii[sample], np.asarray(oracle))
    fig.check("max_rel_diff_vs_float64_bruteforce_sample", rel_oracle)
    runs = fig.all_results["fastprdc"]
    deterministic = all(np.array_equal(r, runs[0]) for r in runs)
    fig.check("same_radii_every_round", deterministic)
    rel = {name: _max_rel(fig.results[name], radii) for name in baselines}
    for name, value in rel.items():
        fig.check(f"max_rel_diff_vs_{name}", value)
    assert deterministic
    assert rel_oracle <= 1e-12
    for name, value in rel.items():
        assert value <= 1e-3, f"{name} radii differ from fastprdc's by {value:.3g} (relative)"
