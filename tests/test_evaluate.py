"""``fastprdc.evaluate``: every family of docs/metrics.md sections 1-7 from one set of passes,
equal to the family functions called one by one, for every k list, parameter, layout, dtype,
tiling and backend; sample-level arrays of every family; the result object (info, JSON, repr).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from _helpers import ALL_FAMILIES as ALL
from _helpers import assert_exact, assert_results_equal, assert_same, make_pair, quiet

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
# the per-sample arrays every family returns with sample_level=True (membership
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


def _record_calls(monkeypatch, describe):
    """Wrap the numpy backend's methods named in ``describe`` (method -> function of the call's
    arguments giving what to record); returns ``{method: [recorded, ...]}``."""
    backend = get_backend("numpy")
    calls = {name: [] for name in describe}
    for name, what in describe.items():
        original = getattr(backend, name)

        def wrapper(*args, _original=original, _name=name, _what=what, **kwargs):
            calls[_name].append(_what(*args, **kwargs))
            return _original(*args, **kwargs)

        monkeypatch.setattr(backend, name, wrapper)
    return calls


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
    calls = _record_calls(
        monkeypatch,
        {
            "knn": lambda X, Y, k, opts: (X.shape[0], Y is None, k),
            "cross_pass": lambda *args, **kwargs: None if args[2] is None else args[2].shape,
        },
    )
    # (metrics="all" is test_one_engine_run_for_all below)
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

    # a read-only mapping of metric names: in, iteration, dict(), keys()
    assert list(res) == res.keys() == ["precision", "recall", "density", "coverage"]
    assert "recall" in res and "realism" not in res and 0 not in res and len(res) == 4
    assert dict(res) == {m: res[m] for m in res} and dict(res)["precision"] is prec
    with pytest.raises(KeyError, match=r"no metric 'realism' in this result; it has \['prec"):
        res["realism"]


def test_float64_and_dtype_info(rng):
    real = rng.standard_normal((60, 4))
    fake = rng.standard_normal((50, 4)).astype(np.float32)
    res = fastprdc.evaluate(real, fake)
    assert res.info["dtype"] == "float64"  # one float64 input makes both float64


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
    res = quiet(fastprdc.evaluate, real, fake, metrics="all", sample_level=True, device=backend)
    assert tuple(res.scalars) == ALL
    for name in ALL:
        k = DEFAULT_K[name]
        assert res.info["ks"][name] == ([k] if k is not None else [None]), name
        single = quiet(FUNCTIONS[name], real, fake, sample_level=True, device=backend)
        _compare_family(res, name, single, [k] if k is not None else None, True)
    assert set(res.curves) == {"alpha_precision_beta_recall"}
    assert set(res.curves["alpha_precision_beta_recall"]) == set(CURVES)


def test_all_k_list_and_strict(backend, rng):
    real, fake = make_pair(rng, "lattice", 140, 120, 3)
    ks = [1, 2, 4]
    res = quiet(fastprdc.evaluate, real, fake, k=ks, metrics="all", boundary="strict",
                 sample_level=True, device=backend)  # fmt: skip
    for name in ALL:
        kwargs = {"sample_level": True, "device": backend}
        if name in ("precision_recall", "density_coverage", "rarity_score",
                    "precision_recall_cover"):  # fmt: skip
            kwargs["boundary"] = "strict"
        if DEFAULT_K[name] is None:
            single = quiet(FUNCTIONS[name], real, fake, **kwargs)
            _compare_family(res, name, single, None, True)
        else:
            single = quiet(FUNCTIONS[name], real, fake, k=ks, **kwargs)
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
    res = quiet(fastprdc.evaluate, real, fake, k=k, metrics="all", params=params,
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

    def cross_pass(A, B, radii_a, radii_b, strict, knn_a, knn_b, opts, **kwargs):
        rr = kwargs.get("realism_radii")
        shape = [None if r is None else r.shape for r in (radii_a, radii_b)]
        return (*shape, knn_a, knn_b, None if rr is None else rr.shape)

    calls = _record_calls(
        monkeypatch,
        {
            "knn": lambda X, Y, k, opts: (X.shape[0], Y is None, k),
            "cross_pass": cross_pass,
            "pairwise_distances": lambda X, Y, opts=None: (X.shape[0], Y.shape[0]),
        },
    )
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
    res = quiet(fastprdc.evaluate, real, fake, k=[1, 3], metrics="all", sample_level=True)
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


@pytest.mark.parametrize("kind", ["lattice", "offset"])
@pytest.mark.parametrize("tile_rows, num_threads", [(1, 1), (3, 2), (7, 1), (None, 2)])
def test_all_fast_backend_equals_numpy_any_tiling(kind, tile_rows, num_threads, rng, fast_backend):
    """Every family, every per-sample array: each fast backend == numpy oracle bit for bit,
    whatever the tile size and thread count (exact ties on the lattice, large common offset)."""
    n, m, d = {"lattice": (90, 80, 3), "offset": (70, 60, 64)}[kind]
    real, fake = make_pair(rng, kind, n, m, d)
    ks = [1, 3]
    kw = {"k": ks, "metrics": "all", "sample_level": True}
    ref = quiet(fastprdc.evaluate, real, fake, device="numpy", **kw)
    got = quiet(fastprdc.evaluate, real, fake, device=fast_backend, tile_rows=tile_rows,
                 num_threads=num_threads, **kw)  # fmt: skip
    assert_results_equal(got, ref, f"{kind} tiles={tile_rows} threads={num_threads}")


def test_all_input_layouts_and_mixed_dtypes(backend, rng):
    """Fortran order, non-contiguous views, and a float64 / float32 pair (both used as
    float64) give the same results as C-ordered float64 copies of the same values."""
    real64, fake64 = make_pair(rng, "repeats", 100, 90, 6, np.float64)
    base = quiet(fastprdc.evaluate, real64, fake64, metrics="all", sample_level=True,
                  device=backend)  # fmt: skip
    fortran = quiet(fastprdc.evaluate, np.asfortranarray(real64), np.asfortranarray(fake64),
                     metrics="all", sample_level=True, device=backend)  # fmt: skip
    assert_results_equal(fortran, base, "fortran")
    wide_r = np.zeros((100, 12))
    wide_r[:, ::2] = real64
    view = quiet(fastprdc.evaluate, wide_r[:, ::2], fake64, metrics="all", sample_level=True,
                  device=backend)  # fmt: skip
    assert_results_equal(view, base, "strided view")
    # float32 fake values, float64 real: both float64 (the float32 values exactly)
    fake32 = fake64.astype(np.float32)
    mixed = quiet(fastprdc.evaluate, real64, fake32, metrics="all", sample_level=True,
                   device=backend)  # fmt: skip
    as64 = quiet(fastprdc.evaluate, real64, fake32.astype(np.float64), metrics="all",
                  sample_level=True, device=backend)  # fmt: skip
    assert mixed.info["dtype"] == "float64"
    assert_results_equal(mixed, as64, "mixed dtypes")
