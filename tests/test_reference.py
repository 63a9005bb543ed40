"""``fastprdc.Reference`` (issue 9): the real side computed once, ``ref.evaluate(fake, ...)``
identical to ``fastprdc.evaluate(real, fake, ...)`` for every family, parameter, boundary,
dtype and labels; the real passes really skipped; save / load of one .npz (no pickle) with the
fingerprint of the real features, and every way a file or a real set can be wrong."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import stat
import warnings
import zipfile

import numpy as np
import pytest
from _helpers import assert_same, make_pair

import fastprdc
from fastprdc import Reference
from fastprdc import reference as reference_module
from fastprdc._backends import get_backend

# info entries that legitimately differ between two runs (times, the reference's own entry;
# rechecks: a stored self-kNN deeper than a request needs counts its own)
_VOLATILE_INFO = {"seconds", "timings", "reference", "n_rechecked"}


def _quiet(fn, *args, **kwargs):
    """pce_rce_re warns on exact duplicates (lattice / repeats data): same for both sides."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _same_tree(got, exp, where="result"):
    """Equal nested dicts / lists, arrays bit for bit, floats with NaN == NaN."""
    if isinstance(exp, dict):
        assert isinstance(got, dict) and list(got) == list(exp), (where, list(got), list(exp))
        for key in exp:
            _same_tree(got[key], exp[key], f"{where}[{key!r}]")
    elif isinstance(exp, (list, tuple)):
        assert len(got) == len(exp), where
        for i, (g, e) in enumerate(zip(got, exp)):
            _same_tree(g, e, f"{where}[{i}]")
    elif isinstance(exp, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert got.dtype == exp.dtype, (where, got.dtype, exp.dtype)
        assert_same(got, exp, where)
    elif isinstance(exp, float) and math.isnan(exp):
        assert isinstance(got, float) and math.isnan(got), (where, got)
    else:
        assert type(got) is type(exp) and got == exp, (where, got, exp)


def _info(info):
    return {k: v for k, v in info.items() if k not in _VOLATILE_INFO}


def assert_identical(got, exp):
    """Everything ``evaluate`` returns, except times and the reference's own info entry."""
    _same_tree(got.scalars, exp.scalars, "scalars")
    _same_tree(got.curves, exp.curves, "curves")
    _same_tree(got.samples, exp.samples, "samples")
    _same_tree(_info(got.info), _info(exp.info), "info")
    if exp.per_class is None:
        assert got.per_class is None
        return
    pc_got = {k: v for k, v in got.per_class.items() if k != "info"}
    pc_exp = {k: v for k, v in exp.per_class.items() if k != "info"}
    _same_tree(pc_got, pc_exp, "per_class")
    assert list(got.per_class["info"]) == list(exp.per_class["info"])
    for c, info in exp.per_class["info"].items():
        _same_tree(_info(got.per_class["info"][c]), _info(info), f"per_class info {c!r}")
    assert got.info["reference"]["fingerprint"].startswith("sha256:")


# --------------------------------------------------------------------------- identity


CENTER = np.linspace(-0.5, 0.5, 5)
CONFIGS = {
    "all_defaults": ("all", None, None),
    "all_k_list_params": (
        "all",
        [1, 3],
        {
            "realism_score": {"prune": 0.5},
            "precision_recall_cover": {"C": 2, "variant": "cheema2023"},
            "alpha_precision_beta_recall": {"n_alphas": 11, "center": CENTER},
        },
    ),
    "pair_k5": (["precision_recall", "density_coverage"], 5, None),
    "k_mapping_auto": (
        ["precision_recall_cover", "pce_rce_re", "rarity_score"],
        {"precision_recall_cover": "auto", "pce_rce_re": [2, 4]},
        {"precision_recall_cover": {"C": 1}},
    ),
    "realism_prune0": (["realism_score", "alpha_precision_beta_recall"], 2,
                       {"realism_score": {"prune": 0.0}}),
}  # fmt: skip


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("kind", ["repeats", "lattice"])
def test_identical_to_evaluate(backend, config, kind, boundary, rng):
    """Reference(real, same args).evaluate(fake) == evaluate(real, fake, same args): scalars,
    curves, every per-sample array and info, for each family, k and parameter set."""
    metrics, k, params = CONFIGS[config]
    real, fake = make_pair(rng, kind, 90, 70, 5)
    kw = {"metrics": metrics, "k": k, "params": params, "device": backend}
    ref = Reference(real, **kw)
    got = _quiet(ref.evaluate, fake, boundary=boundary, sample_level=True, device=backend)
    exp = _quiet(fastprdc.evaluate, real, fake, boundary=boundary, sample_level=True, **kw)
    assert_identical(got, exp)
    # the same arguments given again explicitly
    again = _quiet(ref.evaluate, fake, boundary=boundary, sample_level=True, **kw)
    assert_identical(again, exp)


def test_one_reference_serves_smaller_requests(backend, rng):
    """A reference built for "all" at k = [1, 3, 5] serves any subset, smaller k, other realism
    prune, cover variant and n_alphas, either boundary, with and without sample level."""
    real, fake = make_pair(rng, "repeats", 100, 80, 6)
    ref = Reference(real, metrics="all", k=[1, 3, 5], device=backend)
    assert ref.real_depth == 15  # cover: C * k = 3 * 5
    requests = [
        {},
        {"metrics": ["precision_recall"]},
        {"metrics": ["density_coverage", "rarity_score"], "k": 2},
        {"metrics": "all", "k": [4], "boundary": "strict"},
        {"metrics": ["realism_score"], "k": [1, 5], "params": {"realism_score": {"prune": 0.1}}},
        {"metrics": ["precision_recall_cover"], "k": 5,
         "params": {"precision_recall_cover": {"variant": "cheema2023"}}},
        {"metrics": ["alpha_precision_beta_recall", "pce_rce_re"],
         "params": {"alpha_precision_beta_recall": {"n_alphas": 7}}},
        {"k": {"precision_recall": [2, 3]}, "sample_level": True},
    ]  # fmt: skip
    for request in requests:
        got = _quiet(ref.evaluate, fake, device=backend, **request)
        args = dict(request)
        args.setdefault("metrics", "all")
        if "k" not in request:  # the reference's k for the families it was built with
            names = ref.metrics if args["metrics"] == "all" else args["metrics"]
            args["k"] = {n: [1, 3, 5] for n in names if n != "alpha_precision_beta_recall"}
        exp = _quiet(fastprdc.evaluate, real, fake, device=backend, **args)
        assert_identical(got, exp)


def test_defaults_are_the_references(rng):
    """metrics / k / params left out keep the reference's (for the families it was built
    with); families it was not built with get evaluate's defaults."""
    real, fake = make_pair(rng, "gauss", 80, 60, 4)
    params = {"realism_score": {"prune": 0.25}}
    ref = Reference(real, metrics=["precision_recall", "realism_score"], k=[1, 4], params=params)
    assert ref.metrics == ["precision_recall", "realism_score"]
    assert ref.ks == {"precision_recall": [1, 4], "realism_score": [1, 4]}
    assert ref.params == {"precision_recall": {}, "realism_score": {"prune": 0.25}}
    assert_identical(
        ref.evaluate(fake),
        fastprdc.evaluate(real, fake, metrics=ref.metrics, k=[1, 4], params=params),
    )
    assert_identical(
        ref.evaluate(fake, metrics=["realism_score"]),
        fastprdc.evaluate(real, fake, metrics=["realism_score"], k=[1, 4], params=params),
    )
    # density_coverage was not built for: its default k = 5 > depth 4 -> clear error
    with pytest.raises(
        ValueError,
        match=r"density_coverage k=\[5\] needs the real self-kNN to "
        r"depth 5 \(the reference holds 4\)",
    ):
        ref.evaluate(fake, metrics=["density_coverage"])
    assert_identical(
        ref.evaluate(fake, metrics=["density_coverage"], k=3),
        fastprdc.evaluate(real, fake, metrics=["density_coverage"], k=3),
    )
    # params given replace the reference's (prune 0.5 for realism)
    assert_identical(ref.evaluate(fake, params={"realism_score": {"prune": 0.5}}),
                     fastprdc.evaluate(real, fake, metrics=ref.metrics, k=[1, 4],
                                       params={"realism_score": {"prune": 0.5}}))  # fmt: skip


def test_dtypes_and_layouts(backend, rng):
    """The reference's dtype is fixed at construction; a float64 fake against a float32
    reference equals evaluate (both used as float64): the float32 -> float64 conversion is
    exact, so the stored self-kNN, mean and centre distances are those of the float64 run.
    Also float64 references, integer and Fortran-ordered real sets."""
    real64, fake64 = make_pair(rng, "repeats", 90, 70, 5, np.float64)
    real32, fake32 = real64.astype(np.float32), fake64.astype(np.float32)
    kw = {"metrics": "all", "sample_level": True, "device": backend}
    ref32 = Reference(real32, metrics="all", device=backend)
    ref64 = Reference(real64, metrics="all", device=backend)
    assert ref32.dtype == "float32" and ref64.dtype == "float64"
    for ref, real in ((ref32, real32), (ref64, real64)):
        for fake in (fake32, fake64):
            got = _quiet(ref.evaluate, fake, **kw)
            exp = _quiet(fastprdc.evaluate, real, fake, **kw)
            assert_identical(got, exp)
            assert got.info["dtype"] == ("float32" if real is real32 and fake is fake32
                                         else "float64")  # fmt: skip
    # the claim itself: the real side of float32 values equals that of their float64 copies
    side32, side64 = ref32.real_side, Reference(real32.astype(np.float64), metrics="all").real_side
    assert_same(side32.knn[0], side64.knn[0]) and assert_same(side32.knn[1], side64.knn[1])
    assert_same(side32.mean, side64.mean)
    for centre, dist in side32.centre_distances.items():
        assert_same(dist, side64.centre_distances[centre])
    # integers (-> float32) and Fortran order: validated as in evaluate
    ints = np.round(real64 * 4).astype(np.int16)
    ref_int = Reference(ints, metrics="all", device=backend)
    assert ref_int.dtype == "float32"
    assert_identical(_quiet(ref_int.evaluate, fake32, **kw),
                     _quiet(fastprdc.evaluate, ints, fake32, **kw))  # fmt: skip
    ref_f = Reference(np.asfortranarray(real32), metrics="all", device=backend)
    assert ref_f.fingerprint == ref32.fingerprint
    assert_identical(_quiet(ref_f.evaluate, fake64, **kw), _quiet(fastprdc.evaluate, real32,
                                                                  fake64, **kw))  # fmt: skip


def test_other_backend_than_the_reference(rng):
    """A real side built on one backend serves runs on another (exact: same values)."""
    real, fake = make_pair(rng, "lattice", 80, 70, 3)
    ref = Reference(real, metrics="all", device="numpy")
    got = _quiet(ref.evaluate, fake, sample_level=True, device="cpu", tile_rows=7)
    assert_identical(got, _quiet(fastprdc.evaluate, real, fake, metrics="all",
                                 sample_level=True))  # fmt: skip


def test_exact_false(rng):
    """exact=False (float32-accurate, tiling-dependent): identical to evaluate(exact=False)
    with the same backend and run options, mixed dtypes included; a mismatch of exact, backend
    or tiling is an error rather than a silent difference."""
    real, fake = make_pair(rng, "offset", 90, 80, 16)
    kw = {"metrics": "all", "sample_level": True, "exact": False}
    ref = Reference(real, metrics="all", exact=False)
    assert ref.exact is False
    for f in (fake, fake.astype(np.float64)):
        assert_identical(_quiet(ref.evaluate, f, sample_level=True),
                         _quiet(fastprdc.evaluate, real, f, **kw))  # fmt: skip
    ref7 = Reference(real, metrics="all", exact=False, tile_rows=7)
    assert_identical(_quiet(ref7.evaluate, fake, sample_level=True, tile_rows=7),
                     _quiet(fastprdc.evaluate, real, fake, tile_rows=7, **kw))  # fmt: skip
    with pytest.raises(ValueError, match="depend on the backend and tiling"):
        ref7.evaluate(fake)
    with pytest.raises(ValueError, match="depend on the backend and tiling"):
        ref.evaluate(fake, device="numpy")
    with pytest.raises(ValueError, match="built with exact=False"):
        ref.evaluate(fake, exact=True)
    with pytest.raises(ValueError, match="built with exact=True"):
        Reference(real).evaluate(fake, exact=False)


# --------------------------------------------------------------------------- labels


def _labelled(rng, n=120, m=100, d=4):
    real, fake = make_pair(rng, "repeats", n, m, d)
    # classes: 0 and 1 large, 2 small (4 reals: k=5 does not fit), 3 a single real (skipped),
    # 4 real only (dropped mode), 5 fake only
    rl = np.repeat([0, 1, 2, 3, 4], [50, 45, 4, 1, 20])
    fl = np.repeat([0, 1, 2, 3, 5], [40, 40, 8, 2, 10])
    return real, fake, rng.permutation(rl), rng.permutation(fl)


@pytest.mark.parametrize("metrics", ["all", ["precision_recall", "density_coverage"]])
def test_labels_identical_to_evaluate(backend, metrics, rng):
    """Per-class results (skipped, partial, missing classes, per-class samples and indices)
    equal evaluate(..., real_labels, fake_labels)."""
    real, fake, rl, fl = _labelled(rng)
    ref = Reference(real, metrics=metrics, real_labels=rl, device=backend)
    assert ref.has_labels
    for boundary in ("inclusive", "strict"):
        kw = {"boundary": boundary, "sample_level": True, "device": backend}
        got = _quiet(ref.evaluate, fake, fake_labels=fl, **kw)
        exp = _quiet(fastprdc.evaluate, real, fake, metrics=metrics, real_labels=rl,
                     fake_labels=fl, **kw)  # fmt: skip
        assert_identical(got, exp)
    pc = got.per_class
    assert pc["missing_in_fake"] == [4] and pc["missing_in_real"] == [5]
    assert 3 in pc["skipped"] and 2 in pc["partial"]
    # the stored labels may be given again; other labels are an error
    same = _quiet(ref.evaluate, fake, real_labels=rl, fake_labels=fl, device=backend)
    assert_identical(same, _quiet(fastprdc.evaluate, real, fake, metrics=metrics,
                                  real_labels=rl, fake_labels=fl, device=backend))  # fmt: skip
    with pytest.raises(ValueError, match="real_labels differ"):
        ref.evaluate(fake, real_labels=np.roll(rl, 1), fake_labels=fl)
    with pytest.raises(ValueError, match="given together"):
        ref.evaluate(fake, real_labels=rl)
    with pytest.raises(ValueError, match="fake_labels has 99 entries but fake has 100 rows"):
        ref.evaluate(fake, fake_labels=fl[:-1])
    # without fake_labels: the whole-set result only
    assert_identical(
        ref.evaluate(fake, device=backend),
        fastprdc.evaluate(real, fake, metrics=metrics, device=backend),
    )


def test_labels_strings_and_save(tmp_path, rng):
    real, fake, rl, fl = _labelled(rng)
    names = np.array(["cat", "dog", "eel", "fox", "gnu", "hen"])
    rl_s, fl_s = names[rl], names[fl]
    ref = Reference(real, metrics="all", real_labels=rl_s)
    exp = _quiet(fastprdc.evaluate, real, fake, metrics="all", real_labels=rl_s, fake_labels=fl_s)
    assert_identical(_quiet(ref.evaluate, fake, fake_labels=fl_s), exp)
    ref.save(tmp_path / "labelled.npz")
    loaded = Reference.load(tmp_path / "labelled.npz", real=real)
    assert loaded.has_labels
    assert_identical(_quiet(loaded.evaluate, fake, fake_labels=fl_s), exp)
    # object labels of one type are saved as that type; mixed ones cannot be (no pickle)
    obj = Reference(real, real_labels=np.array(rl.tolist(), dtype=object))
    obj.save(tmp_path / "obj.npz")
    assert Reference.load(tmp_path / "obj.npz", real=real).has_labels
    mixed = np.array([1 if i % 2 else "a" for i in range(len(rl))], dtype=object)
    with pytest.raises(ValueError, match="mixed types"):
        Reference(real, real_labels=mixed).save(tmp_path / "mixed.npz")


@pytest.mark.parametrize("metrics", [["precision_recall"], "all"])
def test_class_too_small_for_the_reference_k_serves_a_smaller_one(metrics, rng):
    """Class 2 has 4 reals: too few for the reference's k = 5, enough for k = 3. Its stored
    self-kNN goes as deep as it can (3), so a k = 3 request equals evaluate's."""
    real, fake, rl, fl = _labelled(rng)
    assert (rl == 2).sum() == 4
    ref = Reference(real, k=5, metrics=metrics, real_labels=rl)
    for k in (3, [1, 3]):
        got = _quiet(ref.evaluate, fake, fake_labels=fl, k=k)
        exp = _quiet(
            fastprdc.evaluate, real, fake, metrics=metrics, k=k, real_labels=rl, fake_labels=fl
        )
        assert 2 in got.per_class["evaluated"]
        assert_identical(got, exp)


def test_labels_errors(rng):
    real, fake, rl, fl = _labelled(rng)
    with pytest.raises(ValueError, match="built without real_labels"):
        Reference(real).evaluate(fake, fake_labels=fl)
    with pytest.raises(ValueError, match="real_labels has 3 entries but real has 120 rows"):
        Reference(real, real_labels=rl[:3])


# --------------------------------------------------------------------------- passes skipped


def _count_calls(monkeypatch, be):
    calls = {"knn": [], "cross_pass": 0, "pairwise_distances": []}
    orig_knn, orig_cross, orig_pd = be.knn, be.cross_pass, be.pairwise_distances

    def knn(X, Y, k, opts):
        calls["knn"].append((X.shape[0], Y is None, k))
        return orig_knn(X, Y, k, opts)

    def cross_pass(*args, **kwargs):
        calls["cross_pass"] += 1
        return orig_cross(*args, **kwargs)

    def pairwise_distances(X, Y, opts=None):
        calls["pairwise_distances"].append((X.shape[0], Y.shape[0]))
        return orig_pd(X, Y, opts)

    monkeypatch.setattr(be, "knn", knn)
    monkeypatch.setattr(be, "cross_pass", cross_pass)
    monkeypatch.setattr(be, "pairwise_distances", pairwise_distances)
    return calls


def test_evaluate_skips_the_real_passes(monkeypatch, rng):
    """ref.evaluate runs the fake self-kNN, the fake centre distances and one cross pass; the
    real self-kNN and the real centre distances ran once, at construction."""
    real, fake = make_pair(rng, "gauss", 130, 110, 4)  # no ties: no follow-up searches
    calls = _count_calls(monkeypatch, get_backend("numpy"))
    ref = Reference(real, metrics="all", device="numpy")
    assert calls == {"knn": [(130, True, 9)], "cross_pass": 0, "pairwise_distances": [(130, 1)]}
    for _ in range(3):
        for key in ("knn", "pairwise_distances"):
            calls[key].clear()
        calls["cross_pass"] = 0
        ref.evaluate(fake, device="numpy")
        assert calls["knn"] == [(110, True, 9)]
        assert calls["cross_pass"] == 1
        # fake to the centre (the real mean) and to the fake mean; nothing on real
        assert calls["pairwise_distances"] == [(110, 1), (110, 1)]
    assert "knn_real" not in ref.evaluate(fake, device="numpy").info["timings"]


def test_per_class_skips_the_real_passes(monkeypatch, rng):
    real, fake, rl, fl = _labelled(rng)
    calls = _count_calls(monkeypatch, get_backend("numpy"))
    ref = Reference(real, metrics=["precision_recall", "density_coverage"], real_labels=rl,
                    device="numpy")  # fmt: skip
    # whole set and every class large enough for one request (0, 1, 4 at depth 5, 2 at depth
    # 3; class 4, real only, too: the fake labels are not known yet)
    assert calls["knn"] == [(120, True, 5), (50, True, 5), (45, True, 5), (4, True, 3),
                            (20, True, 5)]  # fmt: skip
    calls["knn"].clear()
    ref.evaluate(fake, fake_labels=fl, device="numpy")
    # only fake self-kNN passes: the whole fake set and classes 0, 1, 2 (40, 40, 8 fakes)
    assert calls["knn"] == [(100, True, 3), (40, True, 3), (40, True, 3), (8, True, 3)]


def test_memory_no_copy_and_sizes(rng):
    """The reference keeps the caller's real array (no copy) and O(N k) arrays."""
    real, _ = make_pair(rng, "gauss", 200, 10, 8)
    ref = Reference(real, metrics="all")
    assert ref._real is real
    dist, idx = ref.real_side.knn
    assert dist.shape == idx.shape == (200, 9)
    assert dist.dtype == np.float64 and idx.dtype == np.int64
    assert not np.shares_memory(Reference(real.astype(np.float64))._real, real)


# --------------------------------------------------------------------------- errors


def test_missing_parts_are_named(rng):
    real, fake = make_pair(rng, "gauss", 80, 60, 5)
    ref = Reference(real, metrics=["precision_recall"], k=3)
    with pytest.raises(
        ValueError,
        match=r"alpha_precision_beta_recall needs the real mean and "
        r"the real rows' distances to the real mean",
    ):
        ref.evaluate(fake, metrics=["alpha_precision_beta_recall"])
    with pytest.raises(
        ValueError,
        match=r"precision_recall k=\[3, 7\] needs the real self-kNN "
        r"to depth 7 \(the reference holds 3\)",
    ):
        ref.evaluate(fake, k=[3, 7])
    with pytest.raises(
        ValueError,
        match=r"Reference\(real, metrics=\['precision_recall'\], "
        r"k=\{'precision_recall': \[3, 7\]\}\)",
    ):
        ref.evaluate(fake, k=[3, 7])
    alpha = Reference(real, metrics=["alpha_precision_beta_recall"])
    with pytest.raises(ValueError, match="distances to a given center"):
        alpha.evaluate(fake, params={"alpha_precision_beta_recall": {"center": np.zeros(5)}})
    centred = Reference(
        real,
        metrics=["alpha_precision_beta_recall"],
        params={"alpha_precision_beta_recall": {"center": np.zeros(5)}},
    )
    with pytest.raises(ValueError, match="needs the real mean"):
        centred.evaluate(fake, params={"alpha_precision_beta_recall": {"center": None}})
    assert_identical(  # the same center given as another array object: served
        centred.evaluate(fake, params={"alpha_precision_beta_recall": {"center": [0.0] * 5}}),
        fastprdc.evaluate(real, fake, metrics=["alpha_precision_beta_recall"],
                          params={"alpha_precision_beta_recall": {"center": np.zeros(5)}}),
    )  # fmt: skip


@pytest.mark.parametrize("compress", [False, True])
def test_damaged_file_is_a_value_error_naming_it(tmp_path, compress, rng):
    """A flipped byte anywhere (a bad CRC, a broken deflate stream, a damaged header or
    directory): a ValueError naming the file, never a zip or zlib error."""
    real, _ = make_pair(rng, "gauss", 60, 50, 4)
    good = tmp_path / "good.npz"
    Reference(real, metrics="all").save(good, include_features=True, compress=compress)
    data = good.read_bytes()
    refused = 0
    for at in range(0, len(data), max(1, len(data) // 97)):
        bad = bytearray(data)
        bad[at] ^= 0xFF
        path = tmp_path / f"bad{at}.npz"
        path.write_bytes(bytes(bad))
        try:
            Reference.load(path)
        except ValueError as exc:
            assert str(path) in str(exc), exc
            refused += 1
        path.unlink()
    assert refused > 50


def test_saved_file_mode_follows_the_umask_or_the_file_it_replaces(tmp_path, rng):
    real, _ = make_pair(rng, "gauss", 30, 20, 3)
    ref = Reference(real, k=3)
    old = os.umask(0o022)
    try:
        ref.save(tmp_path / "r.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.npz").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.npz"]  # no temporary file left
    (tmp_path / "r.npz").chmod(0o600)  # a file the user made private stays private
    ref.save(tmp_path / "r.npz")
    assert stat.S_IMODE((tmp_path / "r.npz").stat().st_mode) == 0o600
    with pytest.raises(OSError, match=r"cannot write .*missing/r\.npz"):
        ref.save(tmp_path / "missing" / "r.npz")


def test_construction_errors_as_evaluate(rng):
    real, _ = make_pair(rng, "gauss", 10, 10, 3)
    with pytest.raises(ValueError, match=r"k=10 is too large: needs k < N=10"):
        Reference(real, k=10)
    with pytest.raises(ValueError, match="k=4 is too large for precision_recall_cover with C=3"):
        Reference(real, metrics=["precision_recall_cover"], k=4)
    # no fake set yet: the message speaks of N alone
    with pytest.raises(ValueError, match=r"k' = C\*k = 12 smaller than N=10, the number of real"):
        Reference(real, metrics=["precision_recall_cover"], k=4)
    with pytest.raises(ValueError, match="center has width 2 but the features have width 3"):
        Reference(
            real,
            metrics=["alpha_precision_beta_recall"],
            params={"alpha_precision_beta_recall": {"center": [0.0, 1.0]}},
        )
    with pytest.raises(ValueError, match="unknown metric family"):
        Reference(real, metrics=["nope"])
    with pytest.raises(ValueError, match="real contains NaN or inf"):
        Reference(np.full((5, 2), np.nan))
    # size errors about fake are evaluate's own
    ref = Reference(real, k=3)
    with pytest.raises(ValueError, match=r"k=3 is too large: needs k < M=3"):
        ref.evaluate(real[:3])
    with pytest.raises(ValueError, match="different widths"):
        ref.evaluate(np.zeros((5, 4)))


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_encoding(tmp_path):
    """The documented encoding: header lines, then little-endian values row by row."""
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    h = hashlib.sha256(b'fastprdc.features.v1\n{"dtype":"float32","shape":[4,3]}\n')
    h.update(a.astype("<f4").tobytes())
    expected = "sha256:" + h.hexdigest()
    assert fastprdc.reference.fingerprint(a) == expected
    assert fastprdc.reference.fingerprint(np.asfortranarray(a)) == expected
    assert fastprdc.reference.fingerprint(a.astype(">f4")) == expected
    assert fastprdc.reference.fingerprint(a.astype(np.int8)) == expected  # validated: float32
    assert fastprdc.reference.fingerprint(a.astype(np.float64)) != expected
    assert fastprdc.reference.fingerprint(a.reshape(6, 2)) != expected
    np.save(tmp_path / "a.npy", a)
    assert fastprdc.reference.fingerprint(np.load(tmp_path / "a.npy", mmap_mode="r")) == expected
    assert Reference(a, k=1).fingerprint == expected


def test_fingerprint_streamed_in_chunks(monkeypatch, rng):
    real = rng.standard_normal((1000, 7))
    whole = fastprdc.reference.fingerprint(real)
    monkeypatch.setattr(reference_module, "_HASH_CHUNK", 3 * 7 * 8)  # 3 rows per chunk
    assert fastprdc.reference.fingerprint(real) == whole
    monkeypatch.setattr(reference_module, "_HASH_CHUNK", 1)  # 1 row per chunk
    assert fastprdc.reference.fingerprint(real) == whole


# --------------------------------------------------------------------------- save / load


@pytest.mark.parametrize("include_features", [False, True])
@pytest.mark.parametrize("compress", [False, True])
def test_save_load_round_trip(tmp_path, include_features, compress, rng):
    real, fake = make_pair(rng, "repeats", 90, 70, 5)
    params = {"alpha_precision_beta_recall": {"center": CENTER, "n_alphas": 9},
              "realism_score": {"prune": 0.3}}  # fmt: skip
    ref = Reference(real, metrics="all", k=[2, 3], params=params)
    path = tmp_path / "real.ref"  # the name is kept as given (no .npz appended)
    ref.save(path, include_features=include_features, compress=compress)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real.ref"]
    with np.load(path, allow_pickle=False) as npz:  # plain arrays and a JSON string
        meta = json.loads(str(npz["meta"][()]))
        assert ("features" in npz.files) is include_features
    assert meta["format"] == "fastprdc.reference" and meta["format_version"] == 1
    assert meta["library_version"] == fastprdc.__version__
    assert meta["fingerprint"] == ref.fingerprint
    assert (meta["n_real"], meta["dim"], meta["dtype"]) == (90, 5, "float32")
    assert meta["ks"]["precision_recall"] == [2, 3] and meta["features"] is include_features

    exp = _quiet(fastprdc.evaluate, real, fake, metrics="all", k=[2, 3], params=params,
                 sample_level=True)  # fmt: skip
    loaded = Reference.load(path, real=None if include_features else real)
    assert loaded.has_features and loaded.fingerprint == ref.fingerprint
    assert loaded.ks == ref.ks and loaded.library_version == fastprdc.__version__
    assert loaded.real_depth == ref.real_depth
    assert_identical(_quiet(loaded.evaluate, fake, sample_level=True), exp)
    _same_tree(loaded.params, ref.params)
    # reused for other requests too
    assert_identical(
        loaded.evaluate(fake, metrics=["density_coverage"], k=1),
        fastprdc.evaluate(real, fake, metrics=["density_coverage"], k=1),
    )
    if include_features:  # real given anyway: checked, then used
        assert Reference.load(path, real=real)._real is not None


def test_load_without_features_needs_real(tmp_path, rng):
    real, fake = make_pair(rng, "gauss", 60, 50, 4)
    Reference(real).save(tmp_path / "r.npz")
    loaded = Reference.load(tmp_path / "r.npz")
    assert not loaded.has_features
    with pytest.raises(
        ValueError,
        match=r"saved without the real features.*Reference.load\(path,"
        r" real=\.\.\.\) or ref.attach\(real\)",
    ):
        loaded.evaluate(fake)
    assert "not attached" in repr(loaded)
    assert_identical(loaded.attach(real).evaluate(fake), fastprdc.evaluate(real, fake))
    with pytest.raises(ValueError, match="include_features=True but the real features are not"):
        Reference.load(tmp_path / "r.npz").save(tmp_path / "x.npz", include_features=True)


def test_wrong_real_set(tmp_path, rng):
    """A different real set, shape or dtype: an error naming both fingerprints and shapes."""
    real, _ = make_pair(rng, "gauss", 60, 50, 4)
    ref = Reference(real)
    ref.save(tmp_path / "r.npz")
    other = real.copy()
    other[17, 2] += np.float32(1e-3)
    cases = {
        "one value changed": other,
        "fewer rows": real[:-1],
        "float64 copy": real.astype(np.float64),
        "other width": np.zeros((60, 5), np.float32),
    }
    for label, wrong in cases.items():
        with pytest.raises(ValueError) as info:
            Reference.load(tmp_path / "r.npz", real=wrong)
        text = str(info.value)
        assert "real does not match this reference" in text, label
        assert ref.fingerprint in text and fastprdc.reference.fingerprint(wrong) in text, label
        assert "shape (60, 4) and dtype float32" in text, label
    with pytest.raises(ValueError, match="real does not match"):
        Reference.load(tmp_path / "r.npz").attach(other)


def _tamper(src, dst, *, meta=None, drop=(), replace=None):
    """Copy a reference file, changing its metadata or arrays."""
    with np.load(src, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if name not in drop}
    if meta is not None:
        m = json.loads(str(arrays["meta"][()]))
        meta(m)
        arrays["meta"] = np.array(json.dumps(m))
    arrays.update(replace or {})
    with open(dst, "wb") as fh:
        np.savez(fh, **arrays)
    return dst


def test_bad_files(tmp_path, rng):
    real, fake = make_pair(rng, "gauss", 60, 50, 4)
    good = tmp_path / "good.npz"
    Reference(real, metrics="all").save(good, include_features=True)
    Reference.load(good)  # sanity

    def fails(path, pattern, **kwargs):
        with pytest.raises(ValueError, match=pattern):
            Reference.load(path, **kwargs)

    (tmp_path / "text.npz").write_text("not an archive")
    fails(tmp_path / "text.npz", "not an .npz \\(zip\\) archive")
    with open(tmp_path / "pickle.npz", "wb") as fh:  # never unpickled: refused by its first bytes
        pickle.dump({"format": "fastprdc.reference"}, fh)
    fails(tmp_path / "pickle.npz", "not an .npz \\(zip\\) archive")
    with pytest.raises(FileNotFoundError):
        Reference.load(tmp_path / "missing.npz")
    np.save(tmp_path / "one.npy", real)
    fails(tmp_path / "one.npy", "holds a single array")
    np.savez(tmp_path / "other.npz", a=real, b=fake)
    fails(tmp_path / "other.npz", r"no 'meta' entry \(it holds \['a', 'b'\]\)")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:2000])
    fails(truncated, "is not a fastprdc reference file")
    # pickled object arrays are never loaded
    with open(tmp_path / "pickled.npz", "wb") as fh:
        np.savez(fh, meta=np.array([{"format": "fastprdc.reference"}], dtype=object))
    fails(tmp_path / "pickled.npz", "is not a fastprdc reference file")

    def meta_set(key, value):
        return lambda m: m.__setitem__(key, value)

    fails(_tamper(good, tmp_path / "fmt.npz", meta=meta_set("format", "something.else")),
          "format is not 'fastprdc.reference'")  # fmt: skip
    newer = _tamper(good, tmp_path / "v2.npz", meta=meta_set("format_version", 2))
    fails(
        newer,
        r"reference format version 2; this fastprdc \(.*\) reads format version 1 and "
        r"below: upgrade fastprdc or rebuild the reference",
    )
    fails(_tamper(good, tmp_path / "v0.npz", meta=meta_set("format_version", "1")),
          "bad reference format version '1'")  # fmt: skip
    fails(_tamper(good, tmp_path / "nometa.npz", meta=lambda m: m.pop("ks")),
          "incomplete metadata")  # fmt: skip
    fails(_tamper(good, tmp_path / "noknn.npz", drop=("side/knn_idx",)),
          "the array 'side/knn_idx' is missing")  # fmt: skip
    fails(_tamper(good, tmp_path / "short.npz", replace={"side/knn_dist": np.zeros((60, 3))}),
          r"'side/knn_dist' has shape \(60, 3\)")  # fmt: skip
    bad_idx = np.full((60, 9), 60, dtype=np.int64)
    fails(_tamper(good, tmp_path / "idx.npz", replace={"side/knn_idx": bad_idx}),
          r"rows outside \[0, 60\)")  # fmt: skip
    changed = real.copy()
    changed[0, 0] = 5.0
    fails(_tamper(good, tmp_path / "feat.npz", replace={"features": changed}),
          "stored features do not match the stored fingerprint")  # fmt: skip
    fails(_tamper(good, tmp_path / "fam.npz", meta=meta_set("metrics", ["nope"])),
          "bad requests")  # fmt: skip
    fails(_tamper(good, tmp_path / "par.npz", meta=meta_set("params", {"realism_score": 5})),
          "the parameters of 'realism_score' are 5, not a mapping")  # fmt: skip
    # an older library version is fine (the real side is defined by the oracle); recorded
    old = _tamper(good, tmp_path / "old.npz", meta=meta_set("library_version", "0.0.1"))
    assert Reference.load(old).library_version == "0.0.1"
    with zipfile.ZipFile(good) as zf:  # one archive, arrays and the JSON metadata only
        assert all(name.endswith(".npy") for name in zf.namelist())
