"""fastprdc.compat.dgm_eval against brute-force renderings of dgm-eval's code.

dgm-eval is not on PyPI (and its pinned stack does not install here), so its functions
are rendered below from the public source (``dgm_eval/metrics/prdc.py`` and
``metrics/authpct.py``) with exact distances in place of sklearn's / torch's; the
patch-then-run entry point is tested with a stand-in ``dgm_eval`` package that has the
same layout (``metrics`` re-exports, ``__main__`` star-importing them).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_same, brute_dist

import fastprdc.compat
from fastprdc.compat import dgm_eval as cd

from .conftest import gauss_pair, lattice_pair

KEYS = ["precision", "recall", "density", "coverage"]


def render_dgm_prdc(real, fake, k, realism=False):
    """dgm-eval's compute_prdc with exact float64 distances (results cast like sklearn's)."""
    dtype = np.float32 if real.dtype == fake.dtype == np.float32 else np.float64
    d = brute_dist(real, fake)
    rr = np.sort(brute_dist(real), axis=1)[:, k]  # (k+1)-th smallest, self included
    rf = np.sort(brute_dist(fake), axis=1)[:, k]
    out = {
        "precision": (d < rr[:, None]).any(axis=0).mean(),
        "recall": (d < rf[None, :]).any(axis=1).mean(),
        "density": (1.0 / float(k)) * (d < rr[:, None]).sum(axis=0).mean(),
        "coverage": (d.min(axis=1) < rr).mean(),
    }
    if realism:
        mask = rr < np.median(rr)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["realism"] = (rr[mask][:, None] / d[mask]).max(axis=0).astype(dtype)
    return out


def render_authpct(train, gen):
    """dgm-eval's compute_authpct (torch float32 code) with exact distances."""
    t, g = np.asarray(train, np.float32), np.asarray(gen, np.float32)
    real_dists = brute_dist(t)
    np.fill_diagonal(real_dists, np.inf)
    real_min = real_dists.min(axis=0)
    gen_dists = brute_dist(t, g)
    idx, val = gen_dists.argmin(axis=0), gen_dists.min(axis=0)  # first index on ties
    authen = real_min[idx] < val
    return float(np.float32(100 * int(authen.sum())) / np.float32(len(authen)))


@pytest.mark.parametrize("kind", ["gauss", "lattice"])
@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compute_prdc_matches_rendering(kind, k, dtype, capsys):
    rng = np.random.default_rng(10 * k + (dtype == np.float64))
    real, fake = (gauss_pair if kind == "gauss" else lattice_pair)(rng, dtype=dtype)
    got = cd.compute_prdc(real, fake, k, realism=True)
    exp = render_dgm_prdc(real, fake, k, realism=True)
    assert list(got) == [*KEYS, "realism"]
    for key in KEYS:
        assert type(got[key]) is np.float64 and got[key] == exp[key], key
    assert got["realism"].dtype == exp["realism"].dtype
    assert_same(got["realism"], exp["realism"], "realism")
    captured = capsys.readouterr()
    assert captured.err == f"Num real: {len(real)} Num fake: {len(fake)}\n"
    assert captured.out == ""
    no_realism = cd.compute_prdc(real, fake, k)
    assert list(no_realism) == KEYS
    capsys.readouterr()


def test_realism_nan_inf_reference_lattice(capsys):
    """pub_lattice3, k=3: the median radius is 0.5, so only the zero radii are strictly
    below it and kept: every ratio is 0 / d = 0, except fake #146, which sits on reals of
    radius 0 (0 / 0 = nan, propagated by the max)."""
    from _helpers import load_reference

    real, fake, _ = load_reference("pub_lattice3")
    got = cd.compute_prdc(real, fake, 3, realism=True)["realism"]
    exp = render_dgm_prdc(real, fake, 3, realism=True)["realism"]
    assert_same(got, exp, "realism")
    assert np.isnan(got[146]) and np.isnan(got).sum() == 1
    assert np.all(got[~np.isnan(got)] == 0)
    capsys.readouterr()


def test_realism_empty_mask_raises(capsys):
    """No radius strictly below the median: upstream's max over an empty array raises."""
    real = np.arange(20, dtype=np.float32).reshape(-1, 1)  # every r_1 = 1
    fake = np.array([[0.5], [3.2], [7.7], [30.0]], np.float32)
    with pytest.raises(ValueError, match="zero-size"):
        cd.compute_prdc(real, fake, 1, realism=True)
    capsys.readouterr()


@pytest.mark.parametrize("kind", ["gauss", "lattice", "copies"])
def test_compute_authpct_matches_rendering(kind):
    rng = np.random.default_rng(3)
    if kind == "copies":  # generated rows copying training rows: not authentic
        train, gen = gauss_pair(rng, 100, 80, 5)
        gen[::3] = train[:27]
    else:
        train, gen = (gauss_pair if kind == "gauss" else lattice_pair)(rng)
    got = cd.compute_authpct(train, gen)
    assert type(got) is float and 0 <= got <= 100
    assert got == render_authpct(train, gen)
    assert cd.compute_authpct(train.astype(np.float64), gen.tolist()) == got  # cast to f32


def test_compute_authpct_tie_is_not_authentic():
    """d(g, x_i*) == r_1(i*) counts as not authentic (upstream's strict <)."""
    train = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [12.0, 0.0]], np.float32)
    gen = np.array([[0.0, 1.0], [0.0, 1.5], [10.0, -2.0], [10.0, -1.0]], np.float32)
    # nearest train rows: 0 (d=1 == r_1=1: tie), 0 (1.5 > 1), 2 (2 == 2: tie), 2 (1 < 2)
    assert cd.compute_authpct(train, gen) == 25.0 == render_authpct(train, gen)


# ---------------------------------------------------------------------------
# patching and the entry point, with a stand-in dgm_eval package
# ---------------------------------------------------------------------------

_STANDIN = {
    "dgm_eval/metrics/__init__.py": """
        from .authpct import compute_authpct
        from .prdc import compute_prdc
    """,
    "dgm_eval/metrics/prdc.py": """
        def compute_prdc(real_features, fake_features, nearest_k, realism=False):
            raise RuntimeError("the stand-in's own compute_prdc ran")
    """,
    "dgm_eval/metrics/authpct.py": """
        def compute_authpct(train_feat, gen_feat):
            raise RuntimeError("the stand-in's own compute_authpct ran")
    """,
    "dgm_eval/__main__.py": """
        import json
        import sys

        import numpy as np

        from .metrics import *


        def main():
            real, fake = np.load(sys.argv[1]), np.load(sys.argv[2])
            scores = compute_prdc(real, fake, nearest_k=int(sys.argv[3]), realism=True)
            scores["authpct"] = compute_authpct(real, fake)
            print(json.dumps({
                "argv0": sys.argv[0],
                "module": compute_prdc.__module__,
                "scores": {k: float(v) for k, v in scores.items() if k != "realism"},
                "realism": [float(v) for v in scores["realism"]],
            }))


        if __name__ == "__main__":
            main()
    """,
}


@pytest.fixture
def standin_dgm_eval(tmp_path, monkeypatch):
    """A dgm_eval namespace package (no __init__.py, as upstream) on sys.path."""
    if importlib.util.find_spec("dgm_eval") is not None:
        pytest.skip("a real dgm_eval is installed")
    for rel, text in _STANDIN.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in [m for m in sys.modules if m == "dgm_eval" or m.startswith("dgm_eval.")]:
        del sys.modules[name]


def test_patch_standin(standin_dgm_eval, capsys):
    import dgm_eval.metrics
    import dgm_eval.metrics.authpct
    import dgm_eval.metrics.prdc

    originals = (dgm_eval.metrics.prdc.compute_prdc, dgm_eval.metrics.compute_authpct)
    fastprdc.compat.patch("dgm-eval")
    assert fastprdc.compat.is_patched("dgm_eval")
    assert dgm_eval.metrics.compute_prdc is cd.compute_prdc
    assert dgm_eval.metrics.prdc.compute_prdc is cd.compute_prdc
    assert dgm_eval.metrics.authpct.compute_authpct is cd.compute_authpct
    rng = np.random.default_rng(0)
    real, fake = gauss_pair(rng, 40, 30, 4)
    assert dgm_eval.metrics.compute_prdc(real, fake, 3) == cd.compute_prdc(real, fake, 3)
    fastprdc.compat.unpatch("dgm_eval")
    assert (dgm_eval.metrics.prdc.compute_prdc, dgm_eval.metrics.compute_authpct) == originals
    assert dgm_eval.metrics.compute_prdc is originals[0]
    capsys.readouterr()


def _run_entry(args, pythonpath, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(pythonpath), env.get("PYTHONPATH")] if p)
    return subprocess.run(
        [sys.executable, "-m", "fastprdc.compat.dgm_eval", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip


def test_entry_point_patches_then_runs(standin_dgm_eval, tmp_path):
    rng = np.random.default_rng(1)
    real, fake = lattice_pair(rng, 90, 70)
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake)
    proc = _run_entry(["real.npy", "fake.npy", "3"], standin_dgm_eval, tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["module"] == "fastprdc.compat.dgm_eval"
    assert result["argv0"].endswith(str(Path("dgm_eval") / "__main__.py"))
    exp = render_dgm_prdc(real, fake, 3, realism=True)
    for key in KEYS:
        assert result["scores"][key] == float(exp[key])
    assert result["scores"]["authpct"] == render_authpct(real, fake)
    assert_same(np.array(result["realism"]), exp["realism"].astype(np.float64), "realism")
    assert "Num real: 90 Num fake: 70" in proc.stderr


def test_not_installed(tmp_path):
    if importlib.util.find_spec("dgm_eval") is not None:
        pytest.skip("dgm_eval is installed")
    with pytest.raises(ModuleNotFoundError, match="pip install -e"):
        fastprdc.compat.patch("dgm_eval")
    proc = _run_entry(["--help"], tmp_path, tmp_path)
    assert proc.returncode != 0
    assert "not on PyPI" in proc.stderr and "pip install -e ." in proc.stderr
