"""Behaviour on real data: scikit-learn's digits (1797 x 64) as the real set, a Gaussian
fitted per class (sklearn GaussianMixture, fixed seeds) as the generator.

Checked (the numbers move the way the definitions say they should):
* dropping classes lowers recall, coverage and recall cover and raises RCE;
* shrinking each class toward its mean (a truncation-like sweep) raises precision and
  lowers RE;
* copies of real samples are flagged unauthentic;
* a fake duplicating a far outlier of the real set gets a higher rarity than fakes
  duplicating typical reals (true by construction, see the test).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastprdc

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

M = 900  # fake samples per generated set


class Generator:
    """One full-covariance Gaussian per digit class, fitted on the real digits."""

    def __init__(self):
        X, y = load_digits(return_X_y=True)
        self.X = X.astype(np.float32)
        self.y = y
        self.means = {c: self.X[y == c].mean(axis=0).astype(np.float64) for c in range(10)}
        self.models = {
            c: GaussianMixture(
                n_components=1, covariance_type="full", reg_covar=0.1, random_state=c
            ).fit(self.X[y == c])
            for c in range(10)
        }

    def sample(self, classes, m=M, seed=0, shrink=1.0):
        """m samples spread evenly over ``classes``; ``shrink`` < 1 pulls every sample
        toward its class mean: mean + shrink * (x - mean)."""
        rng = np.random.default_rng(seed)
        per = np.full(len(classes), m // len(classes))
        per[: m - per.sum()] += 1
        parts, labels = [], []
        for c, n_c in zip(classes, per):
            gm = self.models[c]
            gm.random_state = int(rng.integers(2**31 - 1))
            with warnings.catch_warnings():
                # numpy's multivariate_normal may flag the float64 covariance as not
                # exactly symmetric PSD (last-bit asymmetry); harmless here
                warnings.simplefilter("ignore", RuntimeWarning)
                x, _ = gm.sample(int(n_c))
            parts.append(self.means[c] + shrink * (x - self.means[c]))
            labels.append(np.full(int(n_c), c))
        return np.concatenate(parts).astype(np.float32), np.concatenate(labels)


@pytest.fixture(scope="module")
def gen():
    return Generator()


def _all(real, fake, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no duplicates expected; be safe
        return fastprdc.evaluate(real, fake, metrics="all", **kw).scalars


def test_dropping_classes(gen):
    """Fewer classes in the fake set (same size): recall, coverage and recall cover fall,
    RCE (the kNN estimate of KL(real || fake)) rises, strictly at each step."""
    rows = []
    for n_dropped in (0, 3, 6):
        fake, _ = gen.sample(list(range(10 - n_dropped)), seed=1)
        s = _all(gen.X, fake)
        rows.append(
            (
                s["precision_recall"]["recall"][3],
                s["density_coverage"]["coverage"][5],
                s["precision_recall_cover"]["recall_cover"][3],
                s["pce_rce_re"]["rce"][5],
            )
        )
    recall, coverage, recall_cover, rce = map(np.array, zip(*rows))
    assert (np.diff(recall) < 0).all(), recall
    assert (np.diff(coverage) < 0).all(), coverage
    assert (np.diff(recall_cover) < 0).all(), recall_cover
    assert (np.diff(rce) > 0).all(), rce


def test_shrinking_toward_class_means(gen):
    """Truncation-like sweep: samples pulled toward their class mean. Precision rises
    and RE (H(fake) - H(real), intra-class diversity) falls, strictly at each step."""
    rows = []
    for shrink in (1.0, 0.8, 0.6, 0.4):
        fake, _ = gen.sample(list(range(10)), seed=2, shrink=shrink)
        s = _all(gen.X, fake)
        rows.append((s["precision_recall"]["precision"][3], s["pce_rce_re"]["re"][5]))
    precision, re = map(np.array, zip(*rows))
    assert (np.diff(precision) > 0).all(), precision
    assert (np.diff(re) < 0).all(), re


def test_copies_of_reals_unauthentic(gen):
    """Exact copies of real digits (which have no duplicates among the reals, so every
    rho_1 > 0) are unauthentic: d = 0 < rho_1. Adding them lowers the authenticity."""
    rng = np.random.default_rng(3)
    fake, _ = gen.sample(list(range(10)), m=800, seed=3)
    copies = rng.choice(gen.X.shape[0], 100, replace=False)
    with_copies = np.concatenate([fake, gen.X[copies]])
    base = fastprdc.alpha_precision_beta_recall(gen.X, fake, sample_level=True)
    got = fastprdc.alpha_precision_beta_recall(gen.X, with_copies, sample_level=True)
    assert got["real_radius"].min() > 0  # no duplicate digits
    assert not got["authentic"][800:].any()
    # each copy's nearest real is its original
    assert np.array_equal(got["nearest_real_index"][800:], copies)
    # the generated fakes keep their own flags (authenticity depends on the reals only)
    assert np.array_equal(got["authentic"][:800], base["authentic"])
    assert got["authenticity"] == int(base["authentic"].sum()) / 900 < base["authenticity"]


def test_duplicating_a_far_outlier_raises_its_rarity(gen):
    """By construction. Let r_o be the real with the largest nearest-neighbour distance
    D* = rho_1(r_o) (the farthest outlier). A fake placed on r_o (a duplicate of it) lies
    only in balls whose radius is at least D*: any other real ball containing it is centred
    at distance >= D* from r_o, so its radius is >= D*, and r_o's own ball has radius
    rho_k(r_o) >= rho_1(r_o) = D*. Hence rarity(copy of r_o) >= D*. A fake duplicating a
    typical real t lies in t's own ball (d = 0 <= rho_k(t)), so its rarity is
    <= rho_k(t). For every t with rho_k(t) < D* the outlier's copy is strictly rarer."""
    k = 3
    rho1 = fastprdc.primitives.kth_radii(gen.X, 1)
    rhok = fastprdc.primitives.kth_radii(gen.X, k)
    o = int(np.argmax(rho1))
    d_star = rho1[o]
    typical = np.flatnonzero(rhok < d_star)
    assert typical.size > 1000  # most digits are typical
    rng = np.random.default_rng(4)
    picked = rng.choice(typical, 200, replace=False)
    generated, _ = gen.sample(list(range(10)), m=300, seed=4)
    fake = np.concatenate([generated, gen.X[picked], gen.X[[o]]])
    rar = fastprdc.rarity_score(gen.X, fake, k=k)["rarity"]
    outlier, copies = rar[-1], rar[300:-1]
    assert outlier >= d_star
    assert np.isfinite(copies).all() and (copies <= rhok[picked]).all()
    assert outlier > copies.max()
    # and for the same fake row: a typical duplicate there, then the outlier's duplicate
    before = fastprdc.rarity_score(gen.X, fake[:-1], k=k)["rarity"][-1]
    assert outlier > before
