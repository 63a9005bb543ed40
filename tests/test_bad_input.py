"""Bad input (docs/metrics.md section 9): a ValueError whose message names the problem, from
every public entry point (the metric functions, ``evaluate``, ``compute_prdc``, the primitives)
and for every parameter (k, boundary, prune, C, variant, n_alphas, center, labels, options);
inputs are never modified."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastprdc
from fastprdc import primitives as P


def _expect_error(fn, *fragments):
    """fn() raises ValueError; every fragment (a str, or a tuple of alternatives)
    appears in the message, case-insensitively."""
    with pytest.raises(ValueError) as info:
        fn()
    msg = str(info.value).lower()
    for frag in fragments:
        alts = frag if isinstance(frag, tuple) else (frag,)
        assert any(a.lower() in msg for a in alts), f"{alts} not in message: {info.value!s}"
    return str(info.value)


def _ok(n=30, d=4, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


# entry points taking (real, fake, k)
PAIR_FUNCS = {
    "precision_recall": lambda r, f, k=3, **kw: fastprdc.precision_recall(r, f, k=k, **kw),
    "density_coverage": lambda r, f, k=3, **kw: fastprdc.density_coverage(r, f, k=k, **kw),
    "evaluate": lambda r, f, k=3, **kw: fastprdc.evaluate(r, f, k=k, **kw),
    "compute_prdc": lambda r, f, k=3, **kw: fastprdc.compute_prdc(r, f, k),
}


# the other families' entry points, each taking (real, fake, **kw)
FAMILY_FUNCS = {
    "realism_score": fastprdc.realism_score,
    "rarity_score": fastprdc.rarity_score,
    "precision_recall_cover": fastprdc.precision_recall_cover,
    "pce_rce_re": fastprdc.pce_rce_re,
    "alpha_precision_beta_recall": fastprdc.alpha_precision_beta_recall,
    "evaluate_all": lambda r, f, **kw: fastprdc.evaluate(r, f, metrics="all", **kw),
}
ENTRY_POINTS = {**PAIR_FUNCS, **FAMILY_FUNCS}


@pytest.fixture(params=sorted(PAIR_FUNCS))
def pair_func(request):
    return PAIR_FUNCS[request.param]


@pytest.fixture(params=sorted(FAMILY_FUNCS))
def family_func(request):
    return FAMILY_FUNCS[request.param]


@pytest.fixture(params=sorted(ENTRY_POINTS))
def entry_point(request):
    return ENTRY_POINTS[request.param]


# ---------------------------------------------------------------------------
# shapes and sizes
# ---------------------------------------------------------------------------


def test_one_dimensional_real(entry_point):
    _expect_error(lambda: entry_point(np.ones(5, np.float32), _ok()), "real", "2-d", "(5,)")


def test_three_dimensional_fake(pair_func):
    _expect_error(lambda: pair_func(_ok(), np.ones((4, 3, 2))), "fake", "2-d", "(4, 3, 2)")


def test_scalar_input(pair_func):
    _expect_error(lambda: pair_func(np.float32(3.0), _ok()), "real", "2-d")


@pytest.mark.parametrize("which", ["real", "fake"])
def test_empty_set(pair_func, which):
    empty = np.zeros((0, 4), np.float32)
    args = (empty, _ok()) if which == "real" else (_ok(), empty)
    _expect_error(lambda: pair_func(*args), which, ("empty", "at least 2"))


@pytest.mark.parametrize("which", ["real", "fake"])
def test_single_sample(pair_func, which):
    one = np.zeros((1, 4), np.float32)
    args = (one, _ok()) if which == "real" else (_ok(), one)
    _expect_error(lambda: pair_func(*args), which, "at least 2")


def test_zero_width(pair_func):
    _expect_error(
        lambda: pair_func(np.zeros((5, 0)), np.zeros((5, 0))), ("width", "empty", "d >= 1")
    )


def test_width_mismatch(entry_point):
    _expect_error(lambda: entry_point(_ok(40, 64), _ok(30, 32)), ("width", "dimension"), "64", "32")
    _expect_error(lambda: entry_point(_ok(d=4), _ok(d=3, seed=1)), "width", "4", "3")


# ---------------------------------------------------------------------------
# non-finite values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_fake(entry_point, bad, dtype):
    fake = _ok(30, 4, 1, dtype)
    fake[17, 2] = bad
    fake[21, 0] = bad
    msg = _expect_error(lambda: entry_point(_ok(), fake), "fake", ("nan", "inf"), "17")
    assert "21" not in msg, "the *first* bad row is 17"


def test_non_finite_real_fortran(pair_func):
    real = np.asfortranarray(_ok(30, 4, 2, np.float64))
    real[3, 1] = np.inf
    _expect_error(lambda: pair_func(real, _ok()), "real", ("nan", "inf"), "3")


def test_float16_overflow_is_inf():
    # float16 max is 65504: 1e5 is inf in float16 and must be reported as such
    real = _ok(30, 4).astype(np.float16)
    real[9, 0] = np.float16(np.inf)
    _expect_error(lambda: fastprdc.precision_recall(real, _ok()), "real", "9")


# ---------------------------------------------------------------------------
# k
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, -1])
def test_k_not_positive(pair_func, k):
    _expect_error(lambda: pair_func(_ok(), _ok(), k), "k", str(k))


def test_k_too_large_for_real():
    # k < N is needed for the real radii
    for fn in (fastprdc.precision_recall, fastprdc.density_coverage):
        _expect_error(lambda fn=fn: fn(_ok(30), _ok(60), k=30), "k", "30", ("real", "N"))
    _expect_error(lambda: fastprdc.compute_prdc(_ok(30), _ok(60), 30), "k", "30")
    _expect_error(lambda: fastprdc.evaluate(_ok(30), _ok(60), k=45), "k", "45")


def test_k_too_large_for_fake_radii():
    # recall needs fake radii: k < M
    _expect_error(
        lambda: fastprdc.precision_recall(_ok(60), _ok(20), k=20), "k", "20", ("fake", "M")
    )


@pytest.mark.parametrize("k", [2.5, 3.0, "3", [3, 0], [], [2, "x"]])
def test_k_not_an_integer(k):
    with pytest.raises((ValueError, TypeError)) as info:
        fastprdc.precision_recall(_ok(), _ok(), k=k)
    assert isinstance(info.value, ValueError), f"expected ValueError, got {info.value!r}"
    assert "k" in str(info.value)


def test_numpy_integer_k_accepted():
    a = fastprdc.precision_recall(_ok(), _ok(seed=1), k=np.int64(3))
    b = fastprdc.precision_recall(_ok(), _ok(seed=1), k=3)
    assert a == b


def test_primitives_k_rules():
    x = _ok(20)
    _expect_error(lambda: P.knn(x, k=20), "k", "20")  # self: k < n
    _expect_error(lambda: P.knn(x, k=0), "k")
    _expect_error(lambda: P.kth_radii(x, 20), "k", "20")
    _expect_error(lambda: P.kth_radii(x, [3, 25]), "k", "25")


# ---------------------------------------------------------------------------
# k limits of the other families
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["realism_score", "rarity_score"])
def test_k_too_large_for_real_score_families(name):
    _expect_error(lambda: FAMILY_FUNCS[name](_ok(20), _ok(30, seed=1), k=20), "k=20", "20")


def test_pce_k_too_large_for_fake():
    # H(F) needs rho_k^F: k < M
    _expect_error(lambda: fastprdc.pce_rce_re(_ok(40), _ok(10, seed=1), k=10), "k=10", "10")


def test_cover_k_prime_too_large():
    """k' = C * k must be < N and < M: the message names k' and C."""
    msg = _expect_error(
        lambda: fastprdc.precision_recall_cover(_ok(40), _ok(30, seed=1), k=4, C=8), "k=4"
    )
    assert "32" in msg and "C" in msg


@pytest.mark.parametrize("k", [0, -1, 2.5, "three", [3, 0]])
@pytest.mark.parametrize("name", sorted(set(FAMILY_FUNCS) - {"alpha_precision_beta_recall"}))
def test_bad_k_values(name, k):
    _expect_error(lambda: FAMILY_FUNCS[name](_ok(), _ok(25, seed=1), k=k), "k")


def test_alpha_precision_takes_no_k():
    with pytest.raises(TypeError):
        fastprdc.alpha_precision_beta_recall(_ok(), _ok(25, seed=1), k=3)
    alpha = ["alpha_precision_beta_recall"]  # a k that no requested family takes: not ignored
    _expect_error(lambda: fastprdc.evaluate(_ok(), _ok(25, seed=1), metrics=alpha, k=3),
                  "k=3 given, but no requested family takes k")  # fmt: skip
    _expect_error(lambda: fastprdc.Reference(_ok(), metrics=alpha, k=[3]), "takes no")


def test_compute_prdc_takes_one_int_k():
    for bad in (3.0, [3, 5], "3", None):
        _expect_error(lambda b=bad: fastprdc.compute_prdc(_ok(), _ok(25, seed=1), nearest_k=b),
                      f"nearest_k must be a positive int, got {bad!r}")  # fmt: skip
    _expect_error(lambda: fastprdc.compute_prdc(_ok(), _ok(25, seed=1), nearest_k=0), ">= 1")


def test_auto_k_only_for_cover():
    got = fastprdc.precision_recall_cover(_ok(60), _ok(50, seed=1), k="auto")
    assert set(got) == {"precision_cover", "recall_cover"}
    _expect_error(lambda: fastprdc.realism_score(_ok(), _ok(25, seed=1), k="auto"), "k")
    _expect_error(lambda: fastprdc.evaluate(_ok(), _ok(25, seed=1), k="auto", metrics="all"),
                  "k='auto' applies to precision_recall_cover only, and the metrics also hold "
                  "precision_recall, density_coverage")  # fmt: skip
    # cover the only family with k (alpha-precision takes none): "auto" is unambiguous
    only = ["precision_recall_cover", "alpha_precision_beta_recall"]
    res = fastprdc.evaluate(_ok(60), _ok(50, seed=1), k="auto", metrics=only)
    assert res.scalars["precision_recall_cover"] == {
        name: {res.info["ks"]["precision_recall_cover"][0]: value} for name, value in got.items()
    }
    ref = fastprdc.Reference(_ok(60), k=["auto"], metrics=only[:1])
    assert ref.evaluate(_ok(50, seed=1)).scalars == {"precision_recall_cover": res.scalars[only[0]]}
    _expect_error(lambda: fastprdc.precision_recall_cover(_ok(), _ok(25, seed=1), k="many"),
                  "k")  # fmt: skip


# ---------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["closed", "<=", "", None])
def test_bad_boundary(bad):
    for fn in (fastprdc.precision_recall, fastprdc.density_coverage):
        _expect_error(lambda fn=fn: fn(_ok(), _ok(), boundary=bad), "boundary")
    _expect_error(lambda: fastprdc.evaluate(_ok(), _ok(), boundary=bad), "boundary")
    radii = np.ones(30)
    _expect_error(lambda: P.ball_membership(_ok(), _ok(), radii, boundary=bad), "boundary")


def test_bad_metrics_name():
    _expect_error(
        lambda: fastprdc.evaluate(_ok(), _ok(), metrics=["precision_recall", "nonsense"]),
        "nonsense",
    )
    _expect_error(lambda: fastprdc.evaluate(_ok(), _ok(), metrics="nonsense"), "nonsense")


def test_bad_device():
    with pytest.raises((ValueError, RuntimeError)) as info:
        fastprdc.precision_recall(_ok(), _ok(), device="tpu")
    assert "tpu" in str(info.value)


@pytest.mark.parametrize("bad", ["lots", "-5GB", -1, 0])
def test_bad_max_memory(bad):
    _expect_error(lambda: fastprdc.precision_recall(_ok(), _ok(), max_memory=bad), "max_memory")


@pytest.mark.parametrize("good", ["8GB", "512MiB", 10**9])
def test_max_memory_accepted(good):
    ref = fastprdc.precision_recall(_ok(), _ok(seed=1))
    assert fastprdc.precision_recall(_ok(), _ok(seed=1), max_memory=good) == ref


def test_ball_membership_radii_shape():
    _expect_error(lambda: P.ball_membership(_ok(), _ok(20), np.ones(19)), "radii")
    radii = np.ones(20)
    radii[4] = np.nan
    _expect_error(lambda: P.ball_membership(_ok(), _ok(20), radii), "radii")


# ---------------------------------------------------------------------------
# parameters: prune, C, variant, n_alphas, center
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("prune", [-0.1, 1.0, 1.5, float("nan"), "half", None, True])
def test_prune_out_of_range(prune):
    _expect_error(lambda: fastprdc.realism_score(_ok(), _ok(25, seed=1), prune=prune), "prune")


@pytest.mark.parametrize("C", [0, -1, 1.5, "3", None, True])
def test_C_below_one_or_not_int(C):
    _expect_error(lambda: fastprdc.precision_recall_cover(_ok(), _ok(25, seed=1), C=C), "C")


def test_unknown_variant():
    _expect_error(
        lambda: fastprdc.precision_recall_cover(_ok(), _ok(25, seed=1), variant="fox2025"),
        "variant", "cheema2023",
    )  # fmt: skip


@pytest.mark.parametrize("n_alphas", [1, 0, -3, 2.5, "30", None, True])
def test_n_alphas_below_two(n_alphas):
    _expect_error(
        lambda: fastprdc.alpha_precision_beta_recall(_ok(), _ok(25, seed=1), n_alphas=n_alphas),
        "n_alphas",
    )  # fmt: skip


@pytest.mark.parametrize(
    "center, fragment",
    [
        (np.zeros(3), "width"),
        (np.zeros((1, 4)), "center"),
        (np.array([0.0, np.nan, 0.0, 0.0]), "center"),
        (np.array([0.0, np.inf, 0.0, 0.0]), "center"),
        ("middle", "center"),
    ],
)
def test_bad_center(center, fragment):
    _expect_error(
        lambda: fastprdc.alpha_precision_beta_recall(_ok(), _ok(25, seed=1), center=center),
        fragment,
    )  # fmt: skip


def test_center_not_modified_and_float32_ok():
    center = np.zeros(4, np.float32)
    c0 = center.copy()
    got = fastprdc.alpha_precision_beta_recall(_ok(), _ok(25, seed=1), center=center)
    ref = fastprdc.alpha_precision_beta_recall(_ok(), _ok(25, seed=1), center=np.zeros(4))
    assert np.array_equal(center, c0)
    assert got["authenticity"] == ref["authenticity"]
    assert np.array_equal(got["alpha_precision_curve"], ref["alpha_precision_curve"])


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"realism_score": {"prune": 2.0}}, "prune"),
        ({"precision_recall_cover": {"C": 0}}, "C"),
        ({"alpha_precision_beta_recall": {"n_alphas": 1}}, "n_alphas"),
        ({"realism_score": {"pruning": 0.5}}, "pruning"),
        ({"no_such_family": {}}, "no_such_family"),
    ],
)
def test_evaluate_bad_params(params, fragment):
    _expect_error(
        lambda: fastprdc.evaluate(_ok(), _ok(25, seed=1), metrics="all", params=params),
        fragment,
    )  # fmt: skip


def test_evaluate_unknown_family():
    _expect_error(lambda: fastprdc.evaluate(_ok(), _ok(25, seed=1), metrics=["realism"]),
                  "realism", "realism_score")  # fmt: skip


# ---------------------------------------------------------------------------
# labels (mode level)
# ---------------------------------------------------------------------------


def _labels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 2, n)


@pytest.mark.parametrize("which", ["real", "fake"])
def test_labels_length_mismatch(which):
    real, fake = _ok(30), _ok(25, seed=1)
    rl, fl = _labels(30), _labels(25)
    if which == "real":
        rl = rl[:-1]
    else:
        fl = np.concatenate([fl, [0]])
    n_given, n_rows = (29, 30) if which == "real" else (26, 25)
    _expect_error(
        lambda: fastprdc.evaluate(real, fake, real_labels=rl, fake_labels=fl),
        f"{which}_labels", str(n_given), str(n_rows),
    )  # fmt: skip


def test_labels_mixing_strings_and_numbers_are_refused():
    """numpy reads [1, "1", 2] as text: the ids 1 and "1" would silently become one class."""
    mixed = [1, "1", 2] * 10
    labels = {"real_labels": mixed, "fake_labels": _labels(25)}
    _expect_error(lambda: fastprdc.evaluate(_ok(30), _ok(25, seed=1), **labels),
                  "real_labels mixes strings with other ids (e.g. 1)")  # fmt: skip
    text = np.array(["a", "b", "c"] * 10)  # text ids, as a list or an array, stay accepted
    for real_labels in (text, text.tolist()):
        res = fastprdc.evaluate(_ok(30), _ok(30, seed=1), real_labels=real_labels,
                                fake_labels=text)  # fmt: skip
        assert set(res.per_class["real_counts"]) == {"a", "b", "c"}


def test_labels_given_alone():
    _expect_error(lambda: fastprdc.evaluate(_ok(30), _ok(25, seed=1), real_labels=_labels(30)),
                  "fake_labels")  # fmt: skip
    _expect_error(lambda: fastprdc.evaluate(_ok(30), _ok(25, seed=1), fake_labels=_labels(25)),
                  "real_labels")  # fmt: skip


def test_labels_bad_shape_or_values():
    real, fake = _ok(30), _ok(25, seed=1)
    _expect_error(
        lambda: fastprdc.evaluate(real, fake, real_labels=np.zeros((30, 2)),
                                  fake_labels=_labels(25)),
        "real_labels", "1-d",
    )  # fmt: skip
    bad = _labels(25).astype(float)
    bad[7] = np.nan
    _expect_error(lambda: fastprdc.evaluate(real, fake, real_labels=_labels(30), fake_labels=bad),
                  "fake_labels", "nan")  # fmt: skip


# ---------------------------------------------------------------------------
# inputs are never modified
# ---------------------------------------------------------------------------


def _input_variants():
    rng = np.random.default_rng(11)
    base = rng.standard_normal((40, 6)) * 3
    ro = base.astype(np.float32)
    ro.setflags(write=False)
    return {
        "f32_C": base.astype(np.float32),
        "f64_F": np.asfortranarray(base),
        "f16": base.astype(np.float16),
        "int32": np.round(base).astype(np.int32),
        "int64_F": np.asfortranarray(np.round(base).astype(np.int64)),
        "uint8": np.abs(np.round(base)).astype(np.uint8),
        "view": np.asarray(rng.standard_normal((80, 12)))[::2, ::2],
        "readonly": ro,
    }


def _flags(a):
    return (
        a.dtype,
        a.shape,
        a.strides,
        a.flags.c_contiguous,
        a.flags.f_contiguous,
        a.flags.writeable,
        a.flags.owndata,
    )


@pytest.mark.parametrize("variant", sorted(_input_variants()))
def test_inputs_never_modified(variant, backend):
    real = _input_variants()[variant]
    fake = _input_variants()["f64_F"][::-1]  # negative strides too
    copies = (real.copy(), fake.copy())
    flags = (_flags(real), _flags(fake))

    r1 = fastprdc.precision_recall(real, fake, k=[1, 3], sample_level=True, device=backend)
    fastprdc.density_coverage(real, fake, k=5, sample_level=True, device=backend)
    fastprdc.evaluate(real, fake, device=backend)
    fastprdc.compute_prdc(real, fake, 3)
    P.knn(real, fake, k=2, device=backend)
    P.knn(real, k=2, device=backend)
    radii = P.kth_radii(real, 3, device=backend)
    radii_copy = radii.copy()
    P.ball_membership(fake, real, radii, device=backend)
    P.pairwise_distances(real, fake, device=backend)

    np.testing.assert_array_equal(real, copies[0])
    np.testing.assert_array_equal(fake, copies[1])
    np.testing.assert_array_equal(radii, radii_copy)
    assert _flags(real) == flags[0]
    assert _flags(fake) == flags[1]
    # same numbers as for an explicit float32/float64 copy
    cast = real if real.dtype == np.float64 else real.astype(np.float32)
    r2 = fastprdc.precision_recall(
        np.ascontiguousarray(cast),
        np.ascontiguousarray(fake),
        k=[1, 3],
        sample_level=True,
        device=backend,
    )
    assert r1["precision"] == r2["precision"] and r1["recall"] == r2["recall"]


def test_inputs_with_duplicates_not_modified(family_func):
    real, fake = _ok(40), _ok(35, seed=1)
    real[3:10] = real[2]  # duplicates (zero radii; pce warns): must not be "fixed" in place
    fake[5] = real[2]
    r0, f0 = real.copy(), fake.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        family_func(real, fake)
    assert np.array_equal(real, r0) and np.array_equal(fake, f0)


def test_errors_do_not_modify_inputs():
    real = _ok(30, 4)
    fake = _ok(30, 4, 1)
    fake[5, 0] = np.nan
    rc, fc = real.copy(), fake.copy()
    with pytest.raises(ValueError):
        fastprdc.precision_recall(real, fake)
    np.testing.assert_array_equal(real, rc)
    np.testing.assert_array_equal(fake, fc)  # NaN positions compare equal here


# ---------------------------------------------------------------------------
# values that would be rounded or dropped, options beyond any machine, loose types
# ---------------------------------------------------------------------------


def test_object_arrays_that_float64_would_round_are_refused():
    from fractions import Fraction

    real = np.array([[2**53 + 1, 0], [0, 0], [1, 1]], dtype=object)
    fake = np.array([[2**53, 0], [1, 0], [0, 1]], dtype=object)
    _expect_error(lambda: P.knn(real, fake, 1), "cannot represent exactly", "rounds")
    _expect_error(lambda: P.knn([[2**80], [0]], [[2**80 + 1], [1]], 1), "exactly")
    thirds = np.array([[Fraction(1, 3), 0], [0, 0], [1, 1]], dtype=object)
    _expect_error(lambda: P.knn(thirds, None, 1), "exactly")
    exact = np.array([[1, 2.5], [3, 4], [5, Fraction(7, 2)]], dtype=object)
    got = P.knn(exact, None, 1)
    want = P.knn(exact.astype(np.float64), None, 1)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_masked_entries_are_refused_not_dropped():
    real = np.ma.masked_array(_ok(), mask=np.zeros((30, 4), bool))
    real.mask[3, 1] = True
    _expect_error(lambda: fastprdc.precision_recall(real, _ok(25, seed=1)), "real", "masked")
    unmasked = np.ma.masked_array(_ok())  # nothing masked: its values, as a plain array
    assert fastprdc.precision_recall(unmasked, _ok(25, seed=1)) == fastprdc.precision_recall(
        _ok(), _ok(25, seed=1)
    )


@pytest.mark.parametrize(
    "option, value, fragment",
    [
        ("num_threads", 10**5, "num_threads=100000 is too large"),
        ("num_threads", 2**31, "num_threads"),
        ("tile_rows", 2**63, "tile_rows"),
        ("max_memory", 2**70, "2^62"),
    ],
)
def test_options_beyond_any_machine(backend, option, value, fragment):
    """Refused before any work (libgomp would abort the process on 10^5 threads; native code
    takes 63-bit sizes), on every backend alike."""
    kwargs = {"device": backend, option: value}
    _expect_error(lambda: fastprdc.precision_recall(_ok(), _ok(25, seed=1), **kwargs), fragment)


def test_loose_types_get_clear_errors():
    real, fake = _ok(), _ok(25, seed=1)
    with pytest.raises(TypeError, match="sample_level must be True or False, got 'no'"):
        fastprdc.evaluate(real, fake, sample_level="no")
    with pytest.raises(TypeError, match="metrics must be a family name"):
        fastprdc.evaluate(real, fake, metrics=None)
    with pytest.raises(TypeError, match=r"params\['realism_score'\] must map parameter names"):
        fastprdc.evaluate(real, fake, metrics="all", params={"realism_score": 0.5})
    _expect_error(
        lambda: fastprdc.evaluate(real, fake, metrics="all", k={"alpha_precision_beta_recall": 3}),
        "alpha_precision_beta_recall", "takes no k",
    )  # fmt: skip
    _expect_error(lambda: fastprdc.evaluate(real, fake, k="3"), "positive int", "'3'")
    zero_d = fastprdc.evaluate(real, fake, k=np.array(3))
    assert zero_d.scalars == fastprdc.evaluate(real, fake, k=3).scalars


def test_center_too_large_for_finite_distances(backend):
    """Named and refused on every backend alike (not inf distances on one, an error naming an
    internal array on another)."""
    _expect_error(
        lambda: fastprdc.alpha_precision_beta_recall(
            _ok(d=3), _ok(25, d=3, seed=1), center=np.full(3, 1.5e308), device=backend
        ),
        "center has values too large",
    )  # fmt: skip


def test_torch_cpu_tensor_in_an_autograd_graph_is_read():
    torch = pytest.importorskip("torch")
    real = torch.tensor(_ok(), requires_grad=True)
    fake = torch.tensor(_ok(25, seed=1))
    got = fastprdc.precision_recall(real, fake, k=3)
    assert got == fastprdc.precision_recall(_ok(), _ok(25, seed=1), k=3)
    assert real.grad is None


def test_torch_bfloat16_tensor_is_read_as_float32():
    """bfloat16 features (mixed-precision extractors) widen exactly, as from a .pt file."""
    torch = pytest.importorskip("torch")
    real = torch.tensor(_ok()).to(torch.bfloat16)
    fake = torch.tensor(_ok(25, seed=1)).to(torch.bfloat16)
    got = fastprdc.precision_recall(real, fake, k=3)
    assert got == fastprdc.precision_recall(real.float().numpy(), fake.float().numpy(), k=3)
    assert real.dtype == torch.bfloat16  # the input is not modified
