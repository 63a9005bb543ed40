"""Benchmark regression tracking: the machine description saved by ``benchmarks/`` is the
same on every run, so ``pytest benchmarks --benchmark-autosave`` then
``--benchmark-compare`` works (benchmarks/README.md, "Tracking regressions on your machine").

The bug this guards against: threadpoolctl lists the loaded native libraries in the order of
a ``set`` of paths, which changes with each process's hash seed; the unsorted list in
``machine_info`` made every compare warn "Benchmark machine_info is different", an
INTERNALERROR under ``filterwarnings = error``. So the descriptions below come from
subprocesses with different ``PYTHONHASHSEED``.

The pytest-benchmark parts skip without it (it is in the ``test`` extra for them).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from _helpers import load_source_module

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
HASH_SEEDS = ("0", "1", "2")

pytestmark = pytest.mark.skipif(
    not (BENCHMARKS / "_machine.py").is_file(), reason="needs the source tree's benchmarks/"
)


def _load_machine_module():
    return load_source_module(BENCHMARKS / "_machine.py", "fastprdc_bench_machine")


# What benchmarks/conftest.py saves as machine_info (pytest-benchmark's keys when it is
# installed, less the volatile ones, plus machine_info["fastprdc"]), printed as JSON.
_DESCRIBE = f"""
import json, sys
sys.path.insert(0, {str(BENCHMARKS)!r})
from _machine import describe_machine, split_volatile
try:
    from pytest_benchmark.plugin import pytest_benchmark_generate_machine_info
except ImportError:
    machine_info = {{}}
else:
    machine_info = pytest_benchmark_generate_machine_info()
    split_volatile(machine_info)
machine_info["fastprdc"] = describe_machine()
print(json.dumps(machine_info))
"""


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True)  # how pytest-benchmark compares machine_info


@pytest.fixture(scope="module")
def descriptions() -> list[dict]:
    """The saved machine_info of one process per hash seed (run side by side)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _DESCRIBE],
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in HASH_SEEDS
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        out.append(json.loads(stdout))
    return out


def test_thread_pools_same_in_any_order():
    machine = _load_machine_module()
    pools = [
        {"user_api": "openmp", "internal_api": "openmp", "prefix": "libgomp", "version": None,
         "num_threads": 2, "filepath": "/venv/a/libgomp.so.1"},
        {"user_api": "blas", "internal_api": "openblas", "prefix": "libscipy_openblas",
         "version": "0.3.31", "num_threads": 2, "architecture": "Haswell", "filepath": "/x.so"},
        {"user_api": "blas", "internal_api": "openblas", "prefix": "libscipy_openblas",
         "version": "0.3.30", "num_threads": 1, "architecture": "Haswell", "filepath": "/y.so"},
        {"user_api": "openmp", "internal_api": "openmp", "prefix": "libgomp", "version": None,
         "num_threads": 2, "filepath": "/venv/b/libgomp.so.1"},
    ]  # fmt: skip
    outputs = {_canonical(machine.normalize_thread_pools(p)) for p in itertools.permutations(pools)}
    assert len(outputs) == 1
    (normalized,) = (json.loads(o) for o in outputs)
    assert len(normalized) == 4  # duplicates kept: two OpenMP runtimes are worth knowing
    assert all("filepath" not in pool for pool in normalized)
    assert [p["user_api"] for p in normalized] == ["blas", "blas", "openmp", "openmp"]


def test_machine_description_same_in_every_process(descriptions):
    first, *others = (_canonical(d) for d in descriptions)
    assert all(other == first for other in others)
    fastprdc_info = descriptions[0]["fastprdc"]
    assert fastprdc_info["logical_cpus"] == os.cpu_count()
    assert "error" not in fastprdc_info["show_config"]
    if importlib.util.find_spec("threadpoolctl") is not None:
        assert fastprdc_info["thread_pools"], "fastprdc's BLAS and OpenMP at least"
    cpu = descriptions[0].get("cpu", {})
    assert not any(key.startswith("hz_") for key in cpu)  # the clock is per run


def test_machine_differences_names_what_changed(descriptions):
    machine = _load_machine_module()
    saved = json.loads(json.dumps(descriptions[0]))
    assert machine.machine_differences(saved, descriptions[1]) == []
    saved["fastprdc"]["cpu_model"] = "Other CPU"
    saved["fastprdc"]["thread_pools"].append({"prefix": "libmkl_rt", "num_threads": 64})
    saved["fastprdc"]["versions"].pop("numpy")
    lines = machine.machine_differences(saved, descriptions[1])
    current_cpu = descriptions[1]["fastprdc"]["cpu_model"]
    assert f"fastprdc.cpu_model: 'Other CPU' -> {current_cpu!r}" in lines
    n_pools = len(descriptions[1]["fastprdc"]["thread_pools"])
    assert f"fastprdc.thread_pools[{n_pools}].prefix: 'libmkl_rt' -> (absent)" in lines
    assert any(line.startswith("fastprdc.versions.numpy: (absent) -> ") for line in lines)


def test_saved_machine_info_round_trip_compares_clean(descriptions, tmp_path, monkeypatch):
    """Saved by pytest-benchmark's file storage in one process, loaded and compared by its
    own check with another process's description: no warning (warnings are errors here)."""
    pytest.importorskip("pytest_benchmark")
    from pytest_benchmark.logger import Logger, PytestBenchmarkWarning
    from pytest_benchmark.plugin import pytest_benchmark_compare_machine_info
    from pytest_benchmark.storage.file import FileStorage

    monkeypatch.chdir(tmp_path)  # FileStorage.location wants the storage under the cwd
    logger = Logger()
    storage = FileStorage(tmp_path / "storage", logger=logger, default_machine_id="machine")
    saved, current = descriptions[0], descriptions[1]
    storage.save({"machine_info": saved, "commit_info": {}, "benchmarks": []}, "baseline")
    ((path, loaded),) = storage.load()
    assert path.name == "0001_baseline.json"
    session = SimpleNamespace(logger=logger, storage=storage)
    pytest_benchmark_compare_machine_info(
        config=None, benchmarksession=session, machine_info=current, compared_benchmark=loaded
    )  # raises under filterwarnings = error if anything differs

    loaded["machine_info"]["fastprdc"]["cpu_model"] = "Other CPU"  # the check is not vacuous
    with pytest.warns(PytestBenchmarkWarning, match="machine_info is different"):
        pytest_benchmark_compare_machine_info(
            config=None, benchmarksession=session, machine_info=current, compared_benchmark=loaded
        )  # fmt: skip


def _bench_pytest(*args: str, seed: str) -> subprocess.CompletedProcess:
    # Not the xdist worker's variables: pytest-benchmark would take the child for a worker.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env.update(PYTHONHASHSEED=seed, FASTPRDC_BENCH_SCALE="0.01", FASTPRDC_BENCH_ROUNDS="1")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/bench_full_prdc.py", "--benchmark-only",
         "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_autosave_then_compare_flow(tmp_path):
    """The documented flow with pyproject's filterwarnings = error, storage outside the cwd
    (pytest-benchmark issue #217): autosave, compare (warnings of pytest-benchmark turned
    into errors: the same machine must compare clean), then a baseline from "another
    machine": a clear warning, not an INTERNALERROR."""
    pytest.importorskip("pytest_benchmark")
    storage = f"--benchmark-storage={tmp_path / 'storage'}"
    saved = _bench_pytest("--benchmark-autosave", storage, seed="1")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    (baseline,) = (tmp_path / "storage").rglob("0001_*.json")

    strict = "-W", "error::pytest_benchmark.logger.PytestBenchmarkWarning"
    compared = _bench_pytest("--benchmark-compare", storage, *strict, seed="2")
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "Comparing against benchmarks from" in compared.stdout + compared.stderr

    data = json.loads(baseline.read_text())
    data["machine_info"]["fastprdc"]["cpu_model"] = "Other CPU"
    data["fastprdc_bench"]["scale"] = 1.0
    baseline.write_text(json.dumps(data))
    other = _bench_pytest("--benchmark-compare", storage, seed="3")
    output = other.stdout + other.stderr
    assert other.returncode == 0, output
    assert "INTERNALERROR" not in output
    assert "Benchmark machine_info is different" in output
    assert "fastprdc.cpu_model: 'Other CPU' ->" in output
    assert "FASTPRDC_BENCH_SCALE: 1.0 -> 0.01" in output
