"""Bad input for the issue-3 entry points and parameters: a ValueError naming the problem;
inputs never modified."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastprdc


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


# entry points of issue 3, each taking (real, fake, **kw)
NEW_FUNCS = {
    "realism_score": fastprdc.realism_score,
    "rarity_score": fastprdc.rarity_score,
    "precision_recall_cover": fastprdc.precision_recall_cover,
    "pce_rce_re": fastprdc.pce_rce_re,
    "alpha_precision_beta_recall": fastprdc.alpha_precision_beta_recall,
    "evaluate_all": lambda r, f, **kw: fastprdc.evaluate(r, f, metrics="all", **kw),
}


@pytest.fixture(params=sorted(NEW_FUNCS))
def new_func(request):
    return NEW_FUNCS[request.param]


# ---------------------------------------------------------------------------
# the common input rules hold for every new entry point
# ---------------------------------------------------------------------------


def test_nan_in_fake_named(new_func):
    fake = _ok(25, seed=1)
    fake[17, 2] = np.nan
    _expect_error(lambda: new_func(_ok(), fake), "fake", ("nan", "inf"), "17")


def test_width_mismatch(new_func):
    _expect_error(lambda: new_func(_ok(d=4), _ok(d=3, seed=1)), "width", "4", "3")


def test_one_dimensional(new_func):
    _expect_error(lambda: new_func(np.ones(5, np.float32), _ok()), "real", "2-d", "(5,)")


def test_inputs_not_modified(new_func):
    real, fake = _ok(40), _ok(35, seed=1)
    real[3:10] = real[2]  # duplicates (zero radii; pce warns): must not be "fixed" in place
    fake[5] = real[2]
    r0, f0 = real.copy(), fake.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        new_func(real, fake)
    assert np.array_equal(real, r0) and np.array_equal(fake, f0)


# ---------------------------------------------------------------------------
# k limits of the new families
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["realism_score", "rarity_score"])
def test_k_too_large_for_real(name):
    _expect_error(lambda: NEW_FUNCS[name](_ok(20), _ok(30, seed=1), k=20), "k=20", "20")


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
@pytest.mark.parametrize("name", sorted(set(NEW_FUNCS) - {"alpha_precision_beta_recall"}))
def test_bad_k_values(name, k):
    _expect_error(lambda: NEW_FUNCS[name](_ok(), _ok(25, seed=1), k=k), "k")


def test_alpha_precision_takes_no_k():
    with pytest.raises(TypeError):
        fastprdc.alpha_precision_beta_recall(_ok(), _ok(25, seed=1), k=3)


def test_auto_k_only_for_cover():
    got = fastprdc.precision_recall_cover(_ok(60), _ok(50, seed=1), k="auto")
    assert set(got) == {"precision_cover", "recall_cover"}
    _expect_error(lambda: fastprdc.realism_score(_ok(), _ok(25, seed=1), k="auto"), "k")
    _expect_error(lambda: fastprdc.evaluate(_ok(), _ok(25, seed=1), k="auto", metrics="all"),
                  "auto")  # fmt: skip
    _expect_error(lambda: fastprdc.precision_recall_cover(_ok(), _ok(25, seed=1), k="many"),
                  "k")  # fmt: skip


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
