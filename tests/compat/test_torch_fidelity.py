"""fastprdc.compat.torch_fidelity against torch-fidelity 0.4.0 and a float64 oracle.

The side-by-side tests need torch and torch-fidelity (which imports torchvision at import
time): the ``compat`` extra. Without them they are skipped, unless the environment
variable ``FASTPRDC_COMPAT_REQUIRE`` names ``torch_fidelity`` (CI's compat run sets it), in
which case a missing or broken upstream fails the test.
"""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest
from _helpers import REFERENCE_CASES, brute_prdc_counts, gaussian, load_reference

import fastprdc.compat
from compat._upstream import import_upstream
from fastprdc.compat import torch_fidelity as tfc

UPSTREAM_CASES = ["pub_gauss8", "pub_modes16"]  # no near ties: float32 cdist decides alike


@pytest.fixture(scope="module")
def torch():
    return import_upstream("torch", "torch_fidelity")


@pytest.fixture(scope="module")
def metric_prc(torch):
    return import_upstream("torch_fidelity.metric_prc", "torch_fidelity")


@pytest.fixture
def unpatched():
    """Leave torch_fidelity unpatched after the test, whatever happened."""
    yield
    fastprdc.compat.unpatch("torch_fidelity")


def f32_share(count, n):
    return float(np.float32(count) / np.float32(n))


def oracle(features_1, features_2, k):
    """torch-fidelity 0.4.0 in exact arithmetic: features_1 generated, features_2 real."""
    c = brute_prdc_counts(features_2, features_1, k, "inclusive")  # real = f2, fake = f1
    return (
        f32_share(int(c["in_real_manifold"].sum()), c["M"]),
        f32_share(int(c["in_fake_manifold"].sum()), c["N"]),
    )


def random_pair(seed, n1, n2, d, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return gaussian(rng, n1, d, dtype, loc=0.3), gaussian(rng, n2, d, dtype)


# ---------------------------------------------------------------------------
# without torch-fidelity (numpy arrays in)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFERENCE_CASES)
@pytest.mark.parametrize("k", [1, 3, 5])
def test_matches_float64_oracle(case, k):
    real, fake, _ = load_reference(case)
    for fn in (tfc.calculate_precision_recall_full, tfc.calculate_precision_recall_part):
        got = fn(fake, real, k)
        assert isinstance(got, tuple) and len(got) == 2
        assert all(type(v) is float for v in got)
        assert got == oracle(fake, real, k)


@pytest.mark.parametrize("case", UPSTREAM_CASES)
def test_reference_kynkaat_values(case):
    """torch-fidelity's PRC (k=3, <=, generated first) is the improved-P&R metric: the
    reference's kynkaat port numbers, as float32."""
    real, fake, ref = load_reference(case)
    p, r = tfc.calculate_precision_recall_full(fake, real, 3)
    assert p == float(np.float32(ref["kynkaat_port"]["precision"]))
    assert r == float(np.float32(ref["kynkaat_port"]["recall"]))


def test_roles_and_legacy_order():
    f1, f2 = random_pair(1, 60, 45, 4)
    p, r = tfc.calculate_precision_recall_full(f1, f2, 3)
    assert (p, r) == oracle(f1, f2, 3)
    # The GitHub code before 0.4.0 had features_1 real: the two values swap places.
    assert tfc.calculate_precision_recall_full(f1, f2, 3, legacy_order=True) == (r, p)
    assert tfc.calculate_precision_recall_part(f1, f2, 3, 7, legacy_order=True) == (r, p)
    assert tfc.calculate_precision_recall_full(f2, f1, 3) == (r, p)


def test_float32_share_is_not_the_float64_one():
    """Values are float32(count / n) as torch's ``.float().mean().item()`` gives."""
    f1, f2 = random_pair(2, 37, 41, 3)
    p, _ = tfc.calculate_precision_recall_full(f1, f2, 2)
    c = brute_prdc_counts(f2, f1, 2, "inclusive")
    n_p = int(c["in_real_manifold"].sum())
    assert p == float(np.float32(n_p / 37))
    assert p != n_p / 37 or n_p in (0, 37)


def test_prc_features_to_metric(capsys):
    f1, f2 = random_pair(3, 50, 40, 5)
    out = tfc.prc_features_to_metric(f1, f2, prc_neighborhood=4)
    assert list(out) == ["precision", "recall", "f_score"]
    p, r = oracle(f1, f2, 4)
    assert (out["precision"], out["recall"]) == (p, r)
    assert out["f_score"] == 2 * p * r / max(1e-5, p + r)
    err = capsys.readouterr().err.splitlines()
    assert err == [f"Precision: {p:.7g}", f"Recall: {r:.7g}", f"F-score: {out['f_score']:.7g}"]
    tfc.prc_features_to_metric(f1, f2, verbose=False, save_cpu_ram=True)
    assert capsys.readouterr().err == ""


def test_bad_input():
    f1, f2 = random_pair(4, 10, 10, 3)
    with pytest.raises(ValueError, match="too large"):
        tfc.calculate_precision_recall_full(f1, f2, 10)
    with pytest.raises(ValueError, match="widths"):
        tfc.calculate_precision_recall_full(f1, f2[:, :2], 3)


def test_patch_without_torch_fidelity():
    if importlib.util.find_spec("torch_fidelity") is not None:
        pytest.skip("torch-fidelity is installed")
    with pytest.raises(ModuleNotFoundError, match=r"pip install torch-fidelity"):
        fastprdc.compat.patch("torch_fidelity")
    assert not fastprdc.compat.is_patched("torch-fidelity")


# ---------------------------------------------------------------------------
# side by side with torch-fidelity
# ---------------------------------------------------------------------------


def _pairs():
    for case in UPSTREAM_CASES:
        real, fake, _ = load_reference(case)
        yield case, fake, real
    for seed, (n1, n2, d) in enumerate([(200, 150, 8), (97, 131, 16), (40, 33, 2), (600, 500, 64)]):
        yield f"random{seed}", *random_pair(10 + seed, n1, n2, d)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_same_as_upstream(torch, metric_prc, k):
    for name, f1, f2 in _pairs():
        t1, t2 = torch.from_numpy(f1), torch.from_numpy(f2)
        want_full = metric_prc.calculate_precision_recall_full(t1, t2, k)
        want_part = metric_prc.calculate_precision_recall_part(t1, t2, k, 64)
        assert want_full == want_part, name
        got = tfc.calculate_precision_recall_full(t1, t2, k)
        assert got == want_full, name
        assert tfc.calculate_precision_recall_part(t1, t2, k, 64) == want_full, name
        assert got == oracle(f1, f2, k), name


def test_tensor_inputs(torch):
    f1, f2 = random_pair(5, 80, 70, 6, np.float64)
    want = oracle(f1, f2, 3)
    assert tfc.calculate_precision_recall_full(torch.from_numpy(f1), torch.from_numpy(f2)) == want
    # float16 / bfloat16 tensors are used as float32 (the float32 values of the tensor).
    h1, h2 = torch.from_numpy(f1).half(), torch.from_numpy(f2).half()
    want16 = oracle(h1.float().numpy(), h2.float().numpy(), 3)
    assert tfc.calculate_precision_recall_full(h1, h2) == want16
    g1 = torch.from_numpy(f1).float().requires_grad_(True)
    assert tfc.calculate_precision_recall_full(g1, torch.from_numpy(f2).float()) == oracle(
        f1.astype(np.float32), f2.astype(np.float32), 3
    )


def test_patch_routes_prc_features_to_metric(torch, metric_prc, unpatched, monkeypatch):
    import torch_fidelity

    f1, f2 = random_pair(6, 120, 90, 8)
    t1, t2 = torch.from_numpy(f1), torch.from_numpy(f2)
    want = metric_prc.prc_features_to_metric(t1, t2, verbose=False)
    original_full = metric_prc.calculate_precision_recall_full
    original_part = metric_prc.calculate_precision_recall_part

    calls = []

    def spy(*args, **kwargs):
        calls.append(len(args[0]))
        return tfc._precision_recall(args[0], args[1], args[2], False)

    monkeypatch.setattr(tfc, "calculate_precision_recall_full", spy)
    monkeypatch.setattr(tfc, "calculate_precision_recall_part", spy)
    fastprdc.compat.patch("torch-fidelity")  # alias
    assert fastprdc.compat.is_patched("torch_fidelity")
    assert metric_prc.calculate_precision_recall_full is spy
    got = metric_prc.prc_features_to_metric(t1, t2, verbose=False)
    got_part = metric_prc.prc_features_to_metric(t1, t2, verbose=False, save_cpu_ram=True)
    assert calls == [120, 120]
    assert got == want == got_part
    assert torch_fidelity.KEY_METRIC_PRECISION == tfc.KEY_METRIC_PRECISION

    fastprdc.compat.patch("torch_fidelity")  # idempotent: originals stay saved
    fastprdc.compat.unpatch("torch_fidelity")
    assert metric_prc.calculate_precision_recall_full is original_full
    assert metric_prc.calculate_precision_recall_part is original_part
    assert not fastprdc.compat.is_patched("torch_fidelity")
    fastprdc.compat.unpatch("torch_fidelity")  # no-op


def test_patch_installs_the_compat_functions(metric_prc, unpatched):
    fastprdc.compat.patch("torch_fidelity")
    assert metric_prc.calculate_precision_recall_full is tfc.calculate_precision_recall_full
    assert metric_prc.calculate_precision_recall_part is tfc.calculate_precision_recall_part


def test_calculate_metrics_prc_runs_on_fastprdc(torch, metric_prc, unpatched, monkeypatch):
    """``torch_fidelity.calculate_metrics(..., prc=True)`` end to end on the CPU, with a
    registered identity feature extractor (no weights to download), before and after patch."""
    import torch_fidelity
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    class Identity(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)

        @staticmethod
        def get_provided_features_list():
            return ("identity",)

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "identity"

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return None

        def forward(self, x):
            return (x.reshape(x.shape[0], -1).float(),)

    class Rows(torch.utils.data.Dataset):
        def __init__(self, x):
            self.x = torch.from_numpy(x)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i]

    name = "fastprdc-test-identity"
    if name not in FEATURE_EXTRACTORS_REGISTRY:
        torch_fidelity.register_feature_extractor(name, Identity)
    f1, f2 = random_pair(7, 150, 110, 12)
    kwargs = dict(
        input1=Rows(f1), input2=Rows(f2), prc=True, feature_extractor=name, cuda=False,
        cache=False, verbose=False, save_cpu_ram=True, batch_size=64, prc_neighborhood=3,
    )  # fmt: skip
    want = torch_fidelity.calculate_metrics(**kwargs)
    assert (want["precision"], want["recall"]) == oracle(f1, f2, 3)

    calls = []
    real_part = tfc.calculate_precision_recall_part

    def counted(*args, **kw):
        calls.append(1)
        return real_part(*args, **kw)

    monkeypatch.setattr(tfc, "calculate_precision_recall_part", counted)
    fastprdc.compat.patch("torch_fidelity")
    got = torch_fidelity.calculate_metrics(**kwargs)
    assert calls == [1]
    assert got == want
