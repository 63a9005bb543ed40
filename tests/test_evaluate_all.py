"""``evaluate(metrics="all")``: every family of docs/metrics.md sections 1-7 from one set of
passes, equal to the family functions called one by one; k lists; sample-level arrays of
every family; the result object with every family."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from _helpers import ALL_FAMILIES as ALL
from _helpers import make_pair
from _oracles import assert_same

import fastprdc
from fastprdc._backends import get_backend

DEFAULT_K = {
    "precision_recall": 3,
    "density_coverage": 5,
    "realism_score": 3,
    "rarity_score": 3,
    "precision_recall_cover": 3,
    "pce_rce_re": 5,
    "alpha_precision_beta_recall": None,
}
FUNCTIONS = {name: getattr(fastprdc, name) for name in ALL}
# the per-sample arrays every family returns with sample_level=True (issue 3: membership
# flags, ball counts, realism, rarity, authenticity flags, entropy terms, nearest indices
# and distances)
SAMPLE_ARRAYS = {
    "precision_recall": {"in_real_manifold", "in_fake_manifold"},
    "density_coverage": {"n_real_balls", "covered"},
    "realism_score": {"realism", "realism_real_index"},
    "rarity_score": {"rarity"},
    "precision_recall_cover": {"fake_in_cover", "real_in_cover"},
    "pce_rce_re": {"h_fake_real_terms", "h_real_fake_terms", "h_real_terms", "h_fake_terms"},
    "alpha_precision_beta_recall": {
        "authentic", "nearest_real_index", "nearest_real_distance", "fake_center_distance",
        "fake_mean_distance", "real_center_distance", "real_radius", "nearest_fake_index",
        "nearest_fake_distance", "nearest_fake_in_ball",
    },
}  # fmt: skip
CURVES = ("alphas", "alpha_precision_curve", "beta_recall_curve")


def _quiet(fn, *args, **kwargs):
    """Run with pce_rce_re's zero-distance RuntimeWarning silenced (lattice data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _same_value(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _compare_family(res, name, single, ks, sample_level):
    """Everything the family function returned equals the evaluate result."""
    keys = ks if ks is not None else [None]
    for metric, per_k in res.scalars[name].items():
        for k in keys:
            value = single[metric][k] if ks is not None and len(ks) > 1 else single[metric]
            assert _same_value(per_k[k], value), (name, metric, k, per_k[k], value)
    for curve, per_k in res.curves.get(name, {}).items():
        assert_same(per_k[None], single[curve], f"{name} {curve}")
    if sample_level:
        assert set(res.samples[name]) == SAMPLE_ARRAYS[name], (name, sorted(res.samples[name]))
        for arr_name, per_k in res.samples[name].items():
            for k in keys:
                value = single[arr_name][k] if ks is not None and len(ks) > 1 else single[arr_name]
                assert_same(per_k[k], value, f"{name} {arr_name} k={k}")


@pytest.mark.parametrize("kind", ["gauss", "lattice"])
def test_all_equals_family_functions_defaults(backend, kind, rng):
    real, fake = make_pair(rng, kind, 130, 110, 4 if kind == "gauss" else 3)
    res = _quiet(fastprdc.evaluate, real, fake, metrics="all", sample_level=True, device=backend)
    assert tuple(res.scalars) == ALL
    for name in ALL:
        k = DEFAULT_K[name]
        assert res.info["ks"][name] == ([k] if k is not None else [None]), name
        single = _quiet(FUNCTIONS[name], real, fake, sample_level=True, device=backend)
        _compare_family(res, name, single, [k] if k is not None else None, True)
    assert set(res.curves) == {"alpha_precision_beta_recall"}
    assert set(res.curves["alpha_precision_beta_recall"]) == set(CURVES)


def test_all_k_list_and_strict(backend, rng):
    real, fake = make_pair(rng, "lattice", 140, 120, 3)
    ks = [1, 2, 4]
    res = _quiet(fastprdc.evaluate, real, fake, k=ks, metrics="all", boundary="strict",
                 sample_level=True, device=backend)  # fmt: skip
    for name in ALL:
        kwargs = {"sample_level": True, "device": backend}
        if name in ("precision_recall", "density_coverage", "rarity_score",
                    "precision_recall_cover"):  # fmt: skip
            kwargs["boundary"] = "strict"
        if DEFAULT_K[name] is None:
            single = _quiet(FUNCTIONS[name], real, fake, **kwargs)
            _compare_family(res, name, single, None, True)
        else:
            single = _quiet(FUNCTIONS[name], real, fake, k=ks, **kwargs)
            _compare_family(res, name, single, ks, True)


def test_all_params_and_k_mapping(backend, rng):
    real, fake = make_pair(rng, "repeats", 150, 120, 5)
    center = np.linspace(-1, 1, 5)
    params = {
        "realism_score": {"prune": 0.25},
        "precision_recall_cover": {"C": 2, "variant": "cheema2023"},
        "alpha_precision_beta_recall": {"n_alphas": 11, "center": center},
    }
    k = {"precision_recall_cover": "auto", "realism_score": [2, 6]}
    res = _quiet(fastprdc.evaluate, real, fake, k=k, metrics="all", params=params,
                 sample_level=True, device=backend)  # fmt: skip
    realism = fastprdc.realism_score(real, fake, k=[2, 6], prune=0.25, sample_level=True,
                                     device=backend)  # fmt: skip
    _compare_family(res, "realism_score", realism, [2, 6], True)
    cover = fastprdc.precision_recall_cover(real, fake, k="auto", C=2, variant="cheema2023",
                                            sample_level=True, device=backend)  # fmt: skip
    k_auto = int(int(math.log(150) + 7) / 2 + 1)
    assert res.info["ks"]["precision_recall_cover"] == [k_auto]
    _compare_family(res, "precision_recall_cover", cover, [k_auto], True)
    ab = fastprdc.alpha_precision_beta_recall(real, fake, n_alphas=11, center=center,
                                              sample_level=True, device=backend)  # fmt: skip
    _compare_family(res, "alpha_precision_beta_recall", ab, None, True)
    # families not named in k keep their defaults
    assert res.info["ks"]["precision_recall"] == [3] and res.info["ks"]["pce_rce_re"] == [5]


def test_one_engine_run_for_all(monkeypatch, rng):
    """metrics="all", default k: one self-kNN of real and one of fake (each at the deepest
    level any family needs), ONE cross pass carrying every ball column, the realism column
    and both cross neighbour lists, plus three n x 1 centre-distance calls (real and fake to
    the centre, fake to the fake mean) for alpha-precision."""
    real, fake = make_pair(rng, "gauss", 130, 110, 4)  # no ties: no follow-up searches
    be = get_backend("numpy")
    calls = {"knn": [], "cross_pass": [], "pairwise_distances": []}
    orig_knn, orig_cross, orig_pd = be.knn, be.cross_pass, be.pairwise_distances

    def knn(X, Y, k, opts):
        calls["knn"].append((X.shape[0], Y is None, k))
        return orig_knn(X, Y, k, opts)

    def cross_pass(A, B, radii_a, radii_b, strict, knn_a, knn_b, opts, **kwargs):
        rr = kwargs.get("realism_radii")
        calls["cross_pass"].append(
            (
                None if radii_a is None else radii_a.shape,
                None if radii_b is None else radii_b.shape,
                knn_a,
                knn_b,
                None if rr is None else rr.shape,
            )
        )
        return orig_cross(A, B, radii_a, radii_b, strict, knn_a, knn_b, opts, **kwargs)

    def pairwise_distances(X, Y, opts=None):
        calls["pairwise_distances"].append((X.shape[0], Y.shape[0]))
        return orig_pd(X, Y, opts)

    monkeypatch.setattr(be, "knn", knn)
    monkeypatch.setattr(be, "cross_pass", cross_pass)
    monkeypatch.setattr(be, "pairwise_distances", pairwise_distances)
    res = fastprdc.evaluate(real, fake, metrics="all", device="numpy")
    # depth 9 = C * k of the cover family (3 * 3), the deepest of all
    assert sorted(calls["knn"]) == sorted([(130, True, 9), (110, True, 9)])
    assert len(calls["cross_pass"]) == 1
    ra, rb, knn_a, knn_b, rr = calls["cross_pass"][0]
    assert ra == (130, 2)  # real balls k = 3 (precision, rarity) and k = 5 (density)
    assert rb == (110, 1)  # fake balls k = 3 (recall)
    assert knn_a >= 5 and knn_b >= 5  # pce k=5 both ways (cover k=3, alpha k=1 included)
    assert rr == (130, 1)  # one realism column
    assert sorted(calls["pairwise_distances"]) == sorted([(130, 1), (110, 1), (110, 1)])
    assert tuple(res.scalars) == ALL


@pytest.mark.parametrize("metrics", [["realism_score"], ["rarity_score", "pce_rce_re"],
                                     ["alpha_precision_beta_recall"]])  # fmt: skip
def test_subsets_of_families(metrics, rng):
    real, fake = make_pair(rng, "gauss", 80, 70, 3)
    res = fastprdc.evaluate(real, fake, metrics=metrics)
    assert list(res.scalars) == metrics


def test_result_object_with_every_family(rng, tmp_path):
    """repr prints every family and metric; to_dict / to_json are strict JSON even with
    +inf (realism mean), -inf (entropies) and NaN (entropy differences)."""
    real, fake = make_pair(rng, "lattice", 120, 100, 3)
    res = _quiet(fastprdc.evaluate, real, fake, k=[1, 3], metrics="all", sample_level=True)
    text = repr(res)
    for name in ALL:
        assert name in text, name
        for metric in res.scalars[name]:
            assert metric in text, metric
    for curve in CURVES:
        assert curve in text
    out = res.to_json(tmp_path / "all.json")
    data = json.loads((tmp_path / "all.json").read_text())
    assert data == json.loads(out)
    json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert set(data["scalars"]) == set(ALL)
    assert set(data["samples"]) == set(ALL)
    assert len(data["curves"]["alpha_precision_beta_recall"]["alpha_precision_curve"]) == 1
    # every per-sample array, every k, is in the JSON
    for name in ALL:
        assert set(data["samples"][name]) == SAMPLE_ARRAYS[name]
    assert res.scalars["pce_rce_re"]["h_real"][1] == -math.inf
    assert math.isnan(res.scalars["pce_rce_re"]["pce"][1])


def _assert_results_equal(a, b, label):
    for name in ALL:
        for metric, per_k in b.scalars[name].items():
            for k, value in per_k.items():
                assert _same_value(a.scalars[name][metric][k], value), (label, name, metric, k)
        for arr_name, per_k in b.samples[name].items():
            for k, arr in per_k.items():
                assert_same(a.samples[name][arr_name][k], arr, f"{label} {name} {arr_name} {k}")
    for name, per_curve in b.curves.items():
        for curve, per_k in per_curve.items():
            assert_same(a.curves[name][curve][None], per_k[None], f"{label} {curve}")


@pytest.mark.parametrize("kind", ["lattice", "offset"])
@pytest.mark.parametrize("tile_rows, num_threads", [(1, 1), (3, 2), (7, 1), (None, 2)])
def test_all_cpu_equals_numpy_any_tiling(kind, tile_rows, num_threads, rng):
    """Every family, every per-sample array: cpu == numpy oracle bit for bit, whatever the
    tile size and thread count (exact ties on the lattice, large common offset)."""
    n, m, d = {"lattice": (90, 80, 3), "offset": (70, 60, 64)}[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    ks = [1, 3]
    kw = {"k": ks, "metrics": "all", "sample_level": True}
    ref = _quiet(fastprdc.evaluate, real, fake, device="numpy", **kw)
    got = _quiet(fastprdc.evaluate, real, fake, device="cpu", tile_rows=tile_rows,
                 num_threads=num_threads, **kw)  # fmt: skip
    _assert_results_equal(got, ref, f"{kind} tiles={tile_rows} threads={num_threads}")


def test_all_input_layouts_and_mixed_dtypes(backend, rng):
    """Fortran order, non-contiguous views, and a float64 / float32 pair (both used as
    float64) give the same results as C-ordered float64 copies of the same values."""
    real64, fake64 = make_pair(rng, "repeats", 100, 90, 6, np.float64)
    base = _quiet(fastprdc.evaluate, real64, fake64, metrics="all", sample_level=True,
                  device=backend)  # fmt: skip
    fortran = _quiet(fastprdc.evaluate, np.asfortranarray(real64), np.asfortranarray(fake64),
                     metrics="all", sample_level=True, device=backend)  # fmt: skip
    _assert_results_equal(fortran, base, "fortran")
    wide_r = np.zeros((100, 12))
    wide_r[:, ::2] = real64
    view = _quiet(fastprdc.evaluate, wide_r[:, ::2], fake64, metrics="all", sample_level=True,
                  device=backend)  # fmt: skip
    _assert_results_equal(view, base, "strided view")
    # float32 fake values, float64 real: both float64 (the float32 values exactly)
    fake32 = fake64.astype(np.float32)
    mixed = _quiet(fastprdc.evaluate, real64, fake32, metrics="all", sample_level=True,
                   device=backend)  # fmt: skip
    as64 = _quiet(fastprdc.evaluate, real64, fake32.astype(np.float64), metrics="all",
                  sample_level=True, device=backend)  # fmt: skip
    assert mixed.info["dtype"] == "float64"
    _assert_results_equal(mixed, as64, "mixed dtypes")
