"""``fastprdc.evaluate``: one set of passes for every family and k, and the result object."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _helpers import assert_exact, make_pair

import fastprdc
from fastprdc._backends import get_backend


@pytest.fixture
def pair(rng):
    return make_pair(rng, "lattice", 130, 110, 3)


def test_defaults_per_family(backend, pair):
    real, fake = pair
    res = fastprdc.evaluate(real, fake, device=backend)
    assert set(res.scalars) == {"precision_recall", "density_coverage"}
    assert set(res.scalars["precision_recall"]["precision"]) == {3}
    assert set(res.scalars["density_coverage"]["density"]) == {5}
    pr = fastprdc.precision_recall(real, fake, device=backend)
    dc = fastprdc.density_coverage(real, fake, device=backend)
    assert res.scalars["precision_recall"]["precision"][3] == pr["precision"]
    assert res.scalars["precision_recall"]["recall"][3] == pr["recall"]
    assert res.scalars["density_coverage"]["density"][5] == dc["density"]
    assert res.scalars["density_coverage"]["coverage"][5] == dc["coverage"]
    assert res.samples is None


@pytest.mark.parametrize("metrics", ["all", ["precision_recall", "density_coverage"]])
def test_k_list_all_families(backend, boundary, pair, metrics):
    real, fake = pair
    ks = [1, 4, 6]
    with warnings.catch_warnings():
        # "all" includes pce_rce_re, which warns about the lattice's zero distances
        warnings.simplefilter("ignore", RuntimeWarning)
        res = fastprdc.evaluate(
            real, fake, k=ks, metrics=metrics, boundary=boundary, sample_level=True,
            device=backend,
        )  # fmt: skip
    pr = fastprdc.precision_recall(
        real, fake, k=ks, boundary=boundary, sample_level=True, device=backend
    )
    dc = fastprdc.density_coverage(
        real, fake, k=ks, boundary=boundary, sample_level=True, device=backend
    )
    for family, single in (("precision_recall", pr), ("density_coverage", dc)):
        for metric, per_k in res.scalars[family].items():
            assert per_k == single[metric], (family, metric)
        for name, per_k in res.samples[family].items():
            for k in ks:
                assert_exact(per_k[k], single[name][k], f"{family} {name} k={k}")


def test_single_family(pair):
    real, fake = pair
    res = fastprdc.evaluate(real, fake, k=2, metrics=["density_coverage"])
    assert set(res.scalars) == {"density_coverage"}
    assert set(res.scalars["density_coverage"]["coverage"]) == {2}


def test_one_set_of_passes(monkeypatch, pair):
    """One self-kNN of real, one of fake, one cross pass -- for all families and all k."""
    real, fake = pair
    be = get_backend("numpy")
    calls = {"knn": [], "cross_pass": []}
    orig_knn, orig_cross = be.knn, be.cross_pass

    def knn(X, Y, k, opts):
        calls["knn"].append((X.shape[0], Y is None, k))
        return orig_knn(X, Y, k, opts)

    def cross_pass(*args, **kwargs):
        calls["cross_pass"].append(args[2].shape if args[2] is not None else None)
        return orig_cross(*args, **kwargs)

    monkeypatch.setattr(be, "knn", knn)
    monkeypatch.setattr(be, "cross_pass", cross_pass)
    # (metrics="all" -- every family of issue 3 -- is covered by test_evaluate_all.py)
    fastprdc.evaluate(
        real, fake, k=[1, 3, 5, 7], metrics=["precision_recall", "density_coverage"],
        device="numpy",
    )  # fmt: skip
    assert sorted(calls["knn"]) == sorted([(130, True, 7), (110, True, 7)])
    assert len(calls["cross_pass"]) == 1
    assert calls["cross_pass"][0] == (130, 4)  # every k's real balls in one pass


def test_result_object(pair, tmp_path):
    real, fake = pair
    res = fastprdc.evaluate(real, fake, k=[3, 5], boundary="strict", sample_level=True)
    info = res.info
    for key in ("n_real", "n_fake", "dim", "dtype", "backend", "exact", "boundary", "ks",
                "n_rechecked", "seconds"):  # fmt: skip
        assert key in info, key
    assert (info["n_real"], info["n_fake"], info["dim"]) == (130, 110, 3)
    assert info["dtype"] == "float32" and info["backend"] == "cpu"
    assert info["boundary"] == "strict" and info["exact"] is True
    assert isinstance(info["n_rechecked"], int) and info["seconds"] >= 0

    d = res.to_dict()
    text = json.dumps(d)  # JSON-able as is
    assert "precision" in text
    path = tmp_path / "r.json"
    out = res.to_json(path)
    loaded = json.loads(path.read_text())
    assert loaded == json.loads(out)
    prec = res.scalars["precision_recall"]["precision"]
    assert loaded["scalars"]["precision_recall"]["precision"]["3"] == prec[3]
    samples = loaded["samples"]["density_coverage"]["n_real_balls"]["5"]
    assert samples == res.samples["density_coverage"]["n_real_balls"][5].tolist()

    table = repr(res)
    for metric in ("precision", "recall", "density", "coverage"):
        assert metric in table
    assert f"{prec[3]:.4f}" in table and f"{prec[5]:.4f}" in table


def test_float64_and_dtype_info(rng):
    real = rng.standard_normal((60, 4))
    fake = rng.standard_normal((50, 4)).astype(np.float32)
    res = fastprdc.evaluate(real, fake)
    assert res.info["dtype"] == "float64"  # one float64 input makes both float64
