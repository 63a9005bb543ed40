"""fastprdc.compat.synthcity against synthcity 0.2.12's metrics.

synthcity 0.2.12 installs from PyPI but does not import in a fresh environment (it pins
torch<2.3 while opacus 1.5.4 needs torch.nn.RMSNorm), so the oracles here are the
reference outputs of ``tests/data/reference`` (``synthcity_alpha_precision`` blocks, run
with synthcity in its own environment), the numpy/scikit-learn rendering of
``AlphaPrecision.metrics`` in ``benchmarks/_synthcity_rendering.py`` and the installed
``prdc`` package (``PRDCScore._compute_prdc`` is prdc's code). Patching is tested on a
stand-in package with synthcity's module layout; the tests against synthcity itself run
where it imports (skipped otherwise, failed when ``FASTPRDC_COMPAT_REQUIRE`` names it).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _helpers import REFERENCE_CASES, brute_knn, brute_radii, load_reference

import fastprdc.compat
from compat._upstream import import_upstream
from fastprdc.compat import synthcity as csc

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rendering():
    """benchmarks/_synthcity_rendering.py: synthcity 0.2.12's metrics() line by line."""
    pytest.importorskip("sklearn", reason="the synthcity rendering needs scikit-learn")
    path = ROOT / "benchmarks" / "_synthcity_rendering.py"
    if not path.exists():
        pytest.skip(f"{path} not found")
    spec = importlib.util.spec_from_file_location("_synthcity_rendering_for_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def truncated(case):
    """The rows synthcity saw in the reference run: the first min(N, M) of each set."""
    real, fake, ref = load_reference(case)
    n = min(len(real), len(fake))
    return real[:n], fake[:n], ref


def assert_same_tuple(got, want, name=""):
    assert isinstance(got, tuple) and len(got) == 6, name
    alphas, apc, bcc, dpa, dcb, auth = got
    assert isinstance(alphas, np.ndarray) and alphas.dtype == np.float64
    assert np.array_equal(alphas, want[0]), name
    for label, g, w in (
        ("alpha_precision_curve", apc, want[1]),
        ("beta_coverage_curve", bcc, want[2]),
    ):
        assert isinstance(g, list) and len(g) == 30, (name, label)
        assert all(type(v) is np.float64 for v in g), (name, label)
        assert [float(v) for v in g] == [float(v) for v in w], (name, label)
    for label, g, w in (
        ("Delta_precision_alpha", dpa, want[3]),
        ("Delta_coverage_beta", dcb, want[4]),
        ("authenticity", auth, want[5]),
    ):
        assert type(g) is np.float64, (name, label, type(g))
        assert float(g) == float(w), (name, label, g, w)


def lowest_index_oracle(X, X_syn, emb_center):
    """synthcity's formulas with exact float64 neighbours, lowest index on ties."""
    alphas = np.linspace(0, 1, 30)
    radii = np.quantile(np.sqrt(np.sum((X - emb_center) ** 2, axis=1)), alphas)
    synth_to_center = np.sqrt(np.sum((X_syn - emb_center) ** 2, axis=1))
    r1 = brute_radii(X, 1)
    dist, idx = brute_knn(X, X_syn, 1)
    d, g = dist[:, 0], idx[:, 0]
    t = np.sqrt(np.sum((X_syn[g] - np.mean(X_syn, axis=0)) ** 2, axis=1))
    q = np.quantile(t, alphas)
    apc = [np.mean(synth_to_center <= radii[i]) for i in range(30)]
    bcc = [np.mean((d <= r1) * (t <= q[i])) for i in range(30)]
    auth = np.mean(r1[g] < d)

    def delta(c):
        return 1 - np.sum(np.abs(alphas - np.array(c))) / np.sum(alphas)

    return alphas, apc, bcc, delta(apc), delta(bcc), auth


# ---------------------------------------------------------------------------
# AlphaPrecision.metrics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["pub_gauss8", "pub_lattice3"])
def test_alpha_precision_reference(case):
    X, X_syn, ref = truncated(case)
    block = ref["synthcity_alpha_precision"]
    assert block["rows_used"] == len(X)
    center = np.asarray(block["emb_center"], dtype=np.float64)
    assert np.array_equal(center, X.astype(np.float64).mean(0))
    alphas, apc, bcc, dpa, dcb, auth = csc.alpha_precision_metrics(X, X_syn, center)
    assert alphas.tolist() == block["alphas"]
    assert [float(v) for v in apc] == block["alpha_pc"]  # no neighbour search: always exact
    assert float(dpa) == block["Dpa"]
    if case == "pub_gauss8":  # no ties: every number is synthcity's, bit for bit
        assert [float(v) for v in bcc] == block["beta_cv"]
        assert float(dcb) == block["Dcb"]
        assert float(auth) == block["auten"]
    else:
        # 105 of 200 reals have equidistant nearest fakes; synthcity takes the KD tree's,
        # fastprdc the lowest index (reference README: authenticity 0.41 instead of 0.395,
        # Dcb 0.693931 instead of 0.699126).
        assert float(auth) == 0.41
        assert float(dcb) == pytest.approx(0.693931, abs=5e-7)
        assert_same_tuple(
            (alphas, apc, bcc, dpa, dcb, auth), lowest_index_oracle(X, X_syn, center), case
        )


@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_alpha_precision_lowest_index_oracle(case):
    X, X_syn, _ = truncated(case)
    for center in (None, X.astype(np.float64).mean(0), np.zeros(X.shape[1], np.float32)):
        got = csc.alpha_precision_metrics(X, X_syn, center)
        want = lowest_index_oracle(X, X_syn, np.mean(X, axis=0) if center is None else center)
        assert_same_tuple(got, want, case)


@pytest.mark.parametrize("case", ["pub_gauss8", "pub_modes16"])
def test_alpha_precision_rendering_reference_cases(rendering, case):
    X, X_syn, _ = truncated(case)
    for center in (None, X.astype(np.float64).mean(0)):
        assert_same_tuple(
            csc.alpha_precision_metrics(X, X_syn, center),
            rendering.alpha_precision_metrics(X, X_syn, center),
            case,
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d", [(50, 2), (200, 8), (333, 24)])
def test_alpha_precision_rendering_random(rendering, dtype, n, d):
    rng = np.random.default_rng(n * d)
    X = rng.normal(size=(n, d)).astype(dtype)
    X_syn = (rng.normal(size=(n, d)) * 1.2 + 0.3).astype(dtype)
    # None: the float mean of X; a float32 centre as the OneClass path passes it
    for center in (None, np.full(d, 0.1, dtype=np.float32)):
        assert_same_tuple(
            csc.alpha_precision_metrics(X, X_syn, center),
            rendering.alpha_precision_metrics(X, X_syn, center),
            f"{dtype.__name__} n={n} d={d}",
        )


def test_equal_length_rule():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(
        RuntimeError, match=r"^The real and synthetic data must have the same length$"
    ):
        csc.alpha_precision_metrics(X, X[:19])


def test_negative_delta_raises(monkeypatch):
    """synthcity raises on a negative Delta (precision checked first). The curves are
    monotone in alpha, so the raise needs a doctored Delta."""
    X = np.random.default_rng(1).normal(size=(30, 3))
    calls = []

    def negative_second(alphas, curve):
        calls.append(1)
        return np.float64(0.5 if len(calls) == 1 else -1e-3)

    monkeypatch.setattr(csc, "_delta", negative_second)
    with pytest.raises(RuntimeError, match=r"^negative value detected for Delta_coverage_beta$"):
        csc.alpha_precision_metrics(X, X[::-1] + 0.1)
    monkeypatch.setattr(csc, "_delta", lambda alphas, curve: np.float64(-1e-3))
    with pytest.raises(RuntimeError, match=r"^negative value detected for Delta_precision_alpha$"):
        csc.alpha_precision_metrics(X, X + 0.1)


def test_authenticity_as_coded():
    """authenticity indexes the real radii with the nearest *synthetic* index."""
    X = np.array([[0.0], [1.0], [10.0], [30.0]])  # r_1 = [1, 1, 9, 20]
    X_syn = np.array([[26.0], [0.2], [9.0], [50.0]])
    # nearest synthetic g = [1, 1, 2, 0] at d = [0.2, 0.8, 1, 4]
    # as coded: r_1[g] = [1, 1, 9, 1] < d -> real 3 only: 0.25
    # (r_1[i] < d_i, the paper's rule, would give 0)
    auth = csc.alpha_precision_metrics(X, X_syn)[5]
    assert auth == 0.25


def test_tensor_inputs():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    X, X_syn, _ = truncated("pub_gauss8")
    got = csc.alpha_precision_metrics(torch.from_numpy(X), torch.from_numpy(X_syn))
    assert_same_tuple(got, csc.alpha_precision_metrics(X, X_syn), "tensors")


# ---------------------------------------------------------------------------
# PRDCScore._compute_prdc
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFERENCE_CASES)
@pytest.mark.parametrize("k", [3, 5])
def test_prdc_score_reference(case, k):
    real, fake, ref = load_reference(case)
    got = csc.prdc_score(real, fake, k)
    assert list(got) == ["precision", "recall", "density", "coverage"]
    assert all(type(v) is np.float64 for v in got.values())
    want = ref["prdc"][f"k{k}"]
    assert {name: float(v) for name, v in got.items()} == want


@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_prdc_score_same_as_prdc_package(case, capsys):
    prdc = pytest.importorskip("prdc", reason="prdc is not installed (test extra)")
    real, fake, _ = load_reference(case)
    for k in (1, 4):
        want = prdc.compute_prdc(real, fake, k)
        got = csc.prdc_score(real, fake, k)
        assert {n: float(v) for n, v in got.items()} == {n: float(v) for n, v in want.items()}
    out = capsys.readouterr().out
    assert out.count("Num real") == 2  # prdc prints; synthcity's copy and compat do not


def test_prdc_score_k_limit():
    """synthcity's argpartition at nearest_k + 1 needs nearest_k + 1 < n in both sets (real
    first), like prdc's; nearest_k = n - 2 is the largest that runs."""
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((7, 3)), rng.standard_normal((9, 3))
    csc.prdc_score(real, fake, 5)
    for k, n in ((6, 7), (8, 7)):
        with pytest.raises(ValueError, match=rf"kth\(={k + 1}\) out of bounds \({n}\)"):
            csc.prdc_score(real, fake, k)
    with pytest.raises(ValueError, match=r"kth\(=9\) out of bounds \(9\)"):
        csc.prdc_score(fake, real, 8)  # the larger real set passes, the fake set does not
    # numpy's argpartition takes any int-like nearest_k + 1, and no float
    assert csc.prdc_score(real, fake, np.array(3)) == csc.prdc_score(real, fake, 3)
    assert csc.prdc_score(real, fake, np.True_) == csc.prdc_score(real, fake, 1)
    with pytest.raises(TypeError, match="nearest_k must be an integer"):
        csc.prdc_score(real, fake, 3.0)


def test_prdc_score_prints_nothing(capsys):
    real, fake, _ = load_reference("pub_gauss8")
    csc.prdc_score(real, fake)
    assert capsys.readouterr() == ("", "")


def test_prdc_distance_matrix_never_built(monkeypatch):
    import fastprdc.primitives

    def forbidden(*args, **kwargs):
        raise AssertionError("pairwise_distances called")

    monkeypatch.setattr(fastprdc.primitives, "pairwise_distances", forbidden)
    real, fake, _ = load_reference("pub_modes16")
    csc.prdc_score(real, fake, 5)
    csc.alpha_precision_metrics(*truncated("pub_modes16")[:2])


# ---------------------------------------------------------------------------
# patching (a stand-in package with synthcity's layout; synthcity itself where it imports)
# ---------------------------------------------------------------------------

STAND_IN = '''
"""Stand-in for synthcity.metrics.eval_statistical: the two classes and how evaluate()
reaches the patched methods."""
import numpy as np

class MetricEvaluator:
    def __init__(self, **kwargs):
        self.kwargs = kwargs

class PRDCScore(MetricEvaluator):
    def __init__(self, nearest_k=5, **kwargs):
        super().__init__(**kwargs)
        self.nearest_k = nearest_k

    def _compute_prdc(self, real_features, fake_features):
        return "original prdc"

    def evaluate(self, X, X_syn):
        X_ = np.asarray(X).reshape(len(X), -1)
        return self._compute_prdc(X_, np.asarray(X_syn).reshape(len(X_syn), -1))

class AlphaPrecision(MetricEvaluator):
    def metrics(self, X, X_syn, emb_center=None):
        return "original metrics"

    def evaluate(self, X, X_syn):
        out = self.metrics(np.asarray(X), np.asarray(X_syn), emb_center=None)
        return {"delta_precision_alpha_naive": out[3], "delta_coverage_beta_naive": out[4],
                "authenticity_naive": out[5]}

standard_metrics = [PRDCScore, AlphaPrecision]
'''


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """A package named synthcity on sys.path (removed again afterwards)."""

    def make(body):
        pkg = tmp_path / "synthcity"
        (pkg / "metrics").mkdir(parents=True, exist_ok=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "metrics" / "__init__.py").write_text("")
        (pkg / "metrics" / "eval_statistical.py").write_text(textwrap.dedent(body))
        return pkg

    saved = {n: m for n, m in sys.modules.items() if n == "synthcity" or n.startswith("synthcity.")}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield make
    fastprdc.compat.unpatch("synthcity")
    for name in [n for n in sys.modules if n == "synthcity" or n.startswith("synthcity.")]:
        del sys.modules[name]


def test_patch_stand_in(stand_in):
    stand_in(STAND_IN)
    from synthcity.metrics import eval_statistical as es

    X, X_syn, _ = truncated("pub_gauss8")
    assert es.PRDCScore(nearest_k=3).evaluate(X, X_syn) == "original prdc"
    fastprdc.compat.patch("synthcity")
    fastprdc.compat.patch("synthcity")  # idempotent
    assert fastprdc.compat.is_patched("synthcity")

    got = es.standard_metrics[0](nearest_k=3).evaluate(X, X_syn)  # through the class list
    assert got == csc.prdc_score(X, X_syn, 3)
    out = es.AlphaPrecision().evaluate(X, X_syn)
    want = csc.alpha_precision_metrics(X, X_syn)
    assert out == {
        "delta_precision_alpha_naive": want[3],
        "delta_coverage_beta_naive": want[4],
        "authenticity_naive": want[5],
    }
    # keyword call as pydantic-decorated synthcity allows
    assert_same_tuple(es.AlphaPrecision().metrics(X=X, X_syn=X_syn, emb_center=None), want)

    fastprdc.compat.unpatch("synthcity")
    assert es.PRDCScore().evaluate(X, X_syn) == "original prdc"
    assert es.AlphaPrecision().metrics(X, X_syn) == "original metrics"
    assert not fastprdc.compat.is_patched("synthcity")


def test_patch_broken_synthcity_raises_import_error(stand_in):
    stand_in("raise AttributeError(\"module 'torch.nn' has no attribute 'RMSNorm'\")\n")
    with pytest.raises(ImportError, match="RMSNorm"):
        fastprdc.compat.patch("synthcity")
    assert not fastprdc.compat.is_patched("synthcity")


def test_patch_missing_synthcity(monkeypatch):
    if importlib.util.find_spec("synthcity") is not None:
        pytest.skip("synthcity is installed")
    with pytest.raises(ModuleNotFoundError, match="pip install synthcity"):
        fastprdc.compat.patch("synthcity")


@pytest.fixture(scope="module")
def eval_statistical():
    # synthcity 0.2.12 + opacus 1.5.4 fails to import (AttributeError): skipped with the reason.
    return import_upstream("synthcity.metrics.eval_statistical", "synthcity", hint="")


def test_same_as_synthcity(eval_statistical, tmp_path):
    for case in ("pub_gauss8", "pub_modes16"):
        X, X_syn, _ = truncated(case)
        center = X.astype(np.float64).mean(0)
        metric = eval_statistical.AlphaPrecision(use_cache=False, workspace=tmp_path)
        assert_same_tuple(
            csc.alpha_precision_metrics(X, X_syn, center), metric.metrics(X, X_syn, center), case
        )
        for k in (3, 5):
            want = eval_statistical.PRDCScore(nearest_k=k, use_cache=False, workspace=tmp_path)
            want = want._compute_prdc(X, X_syn)
            assert csc.prdc_score(X, X_syn, k) == want


def test_patch_synthcity(eval_statistical, tmp_path):
    X, X_syn, _ = truncated("pub_gauss8")
    metric = eval_statistical.AlphaPrecision(use_cache=False, workspace=tmp_path)
    want = metric.metrics(X, X_syn)
    try:
        fastprdc.compat.patch("synthcity")
        assert_same_tuple(metric.metrics(X, X_syn), want)
        prdc = eval_statistical.PRDCScore(nearest_k=5, use_cache=False, workspace=tmp_path)
        assert prdc._compute_prdc(X, X_syn) == csc.prdc_score(X, X_syn, 5)
    finally:
        fastprdc.compat.unpatch("synthcity")
