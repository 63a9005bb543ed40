"""The README's examples run as written: every Python block (on small stand-ins for the names it
leaves to the reader, in a scratch directory), the `evaluate` signature it prints against the
code's, and every `fastprdc` command line of its shell blocks on small files. The compat blocks
run in tests/compat/test_readme_compat.py, beside the upstream libraries. What needs a GPU or a
running cluster skips with the reason."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import require_backend
from _readme import Block, blocks, inputs, run

import fastprdc
from fastprdc._backends import get_backend
from fastprdc.cli import main

SIGNATURE = "evaluate"  # the section that prints evaluate's signature
GPU = "GPU"
CLUSTER = "More than one machine"
COMPAT = "Use fastprdc from your library"  # tests/compat/test_readme_compat.py
PYTHON = blocks("python")
PLAIN = [b for b in PYTHON if b.section.strip("`") not in (SIGNATURE, GPU, CLUSTER, COMPAT)]


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def test_every_python_block_is_run_by_a_test():
    kinds = {b.section.strip("`") for b in PYTHON} - {b.section for b in PLAIN}
    assert kinds == {SIGNATURE, GPU, CLUSTER, COMPAT}, kinds
    assert len(PLAIN) >= 4


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A scratch directory as the working directory, with the files the examples load."""
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "readme", "np": np, "fastprdc": fastprdc, **inputs(np.random.default_rng(7))}
    np.save("real_feats.npy", ns["real"])
    np.save("fake_feats.npy", ns["fake"])
    return ns


@pytest.mark.parametrize("block", PLAIN, ids=[b.id for b in PLAIN])
def test_python_block_runs(block: Block, scratch):
    if "plot" in block.code:
        matplotlib = pytest.importorskip("matplotlib", reason="the plot example needs matplotlib")
        matplotlib.use("Agg")
        small = {"metrics": ["precision_recall", "density_coverage"], "k": [3, 5]}
        real, fake = scratch["real"], scratch["fake"]
        scratch.update(
            res_a=fastprdc.evaluate(real, fake, **small),
            res_b=fastprdc.evaluate(real, fake + np.float32(0.3), **small),
            **{f"r{i}": fastprdc.evaluate(real[: 100 * i], fake, **small) for i in (1, 2, 3)},
        )
    try:
        run(block, scratch)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def test_evaluate_signature_is_the_codes():
    (block,) = [b for b in PYTHON if b.section.strip("`") == SIGNATURE]
    # the printed signature parses as a function definition's parameter list
    text = block.code.strip()
    assert text.startswith("fastprdc.evaluate(") and text.endswith(")"), text
    text = text.removeprefix("fastprdc.evaluate(")[:-1]
    args = ast.parse(f"def f({text}): pass").body[0].args
    readme = [(a.arg, "positional") for a in args.args]
    readme += [(a.arg, "keyword") for a in args.kwonlyargs]
    defaults = {a.arg: ast.literal_eval(d) for a, d in zip(args.kwonlyargs, args.kw_defaults)}
    params = inspect.signature(fastprdc.evaluate).parameters.values()
    code = [
        (p.name, "keyword" if p.kind is p.KEYWORD_ONLY else "positional")
        for p in params
        if p.kind is not p.VAR_KEYWORD
    ]
    assert readme == code
    for p in params:
        if p.default is not p.empty:
            assert defaults[p.name] == p.default, p.name


def test_gpu_block_runs_on_cuda_with_cupy_arrays(scratch):
    require_backend("cupy")  # the example makes CuPy arrays
    require_backend("cuda")  # and asks for device="cuda"
    (block,) = [b for b in PYTHON if b.section == GPU]
    run(block, scratch)
    assert scratch["res"].info["backend"] == f"cuda:{get_backend('cuda').ops.device_id}"


def test_cluster_block_runs_as_a_script(tmp_path):
    if not (_has("dask") and _has("distributed")):
        if os.environ.get("FASTPRDC_REQUIRE_DISTRIBUTED") == "1":
            pytest.fail("FASTPRDC_REQUIRE_DISTRIBUTED=1 but dask/distributed are not installed")
        pytest.skip("the 'distributed' extra is not installed")
    (block,) = [b for b in PYTHON if b.section == CLUSTER]
    script = tmp_path / "cluster_example.py"  # worker processes import the main module
    script.write_text(block.code)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "'n_workers': 2" in proc.stdout


# ---------------------------------------------------------------------------------------------
# command lines


def _command_lines() -> list[tuple[str, str]]:
    out = []
    for b in blocks("bash"):
        for line in b.code.splitlines():
            if line.startswith("fastprdc "):
                out.append((b.section, line))
    return out


LINES = _command_lines()


def _skip_reason(argv: list[str]) -> str | None:
    if any(a.startswith("[") or a == "..." or a.isupper() for a in argv):
        return "a usage line (placeholders)"
    if "--scheduler" in argv:
        return "needs a running Dask scheduler"
    if "--workers" in argv and not (_has("dask") and _has("distributed")):
        return "needs the 'distributed' extra"
    if any(a.endswith(".pt") for a in argv) and not _has("torch"):
        return "reading .pt files needs PyTorch"
    if {"--report", "--plot"} & set(argv) and not _has("matplotlib"):
        return "--report and --plot need matplotlib"
    return None


def _files(tmp: Path) -> None:
    """The inputs the README's command lines name, small."""
    ns = inputs(np.random.default_rng(11))
    real, fake = ns["real"], ns["fake"]
    for name, x in {"real": real, "fake": fake, "fake_a": fake, "fake_b": fake[::-1] + 1}.items():
        np.save(tmp / f"{name}.npy", x)
    np.save(tmp / "yr.npy", ns["y_real"])
    np.save(tmp / "yf.npy", ns["y_fake"])
    np.savez(tmp / "real.npz", feats=real, labels=ns["y_real"])
    np.savez(tmp / "fake.npz", feats=fake, labels=ns["y_fake"])
    if _has("torch"):
        import torch

        torch.save({"images": torch.from_numpy(fake)}, tmp / "fake.pt")
    for i, step in enumerate((1000, 2000, 4000)):
        res = fastprdc.evaluate(real, fake + np.float32(0.1 * i), k=3)
        res.to_json(tmp / f"{step}.json")


def test_command_lines_are_found():
    sections = {s for s, _ in LINES}
    assert {"Reusing a real set", "Command line"} <= sections, sections
    assert len(LINES) >= 12


def test_command_lines_run(tmp_path, monkeypatch, capsys):
    """Every command line in README order (later lines read what earlier ones wrote)."""
    monkeypatch.chdir(tmp_path)
    _files(tmp_path)
    if _has("matplotlib"):
        import matplotlib

        matplotlib.use("Agg")
    ran, skipped = [], []
    for section, line in LINES:
        argv = shlex.split(line, comments=True)[1:]
        reason = _skip_reason(argv)
        if reason:
            skipped.append((line, reason))
            continue
        code = main(argv + (["--quiet"] if argv[0] in ("eval", "reference") else []))
        _out, err = capsys.readouterr()
        assert code == 0, f"{section}: {line}\n{err}"
        for opt in ("--json", "--samples", "--report", "--plot", "--out"):
            if opt in argv:
                assert (tmp_path / argv[argv.index(opt) + 1]).is_file(), (line, opt)
        ran.append(line)
    assert len(ran) >= 10, (ran, skipped)
