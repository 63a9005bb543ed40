"""The device check's own logic (benchmarks/gpu/, run on a lent GPU): which GEMM path the later
figures use (the faster of the measured two, only when both gave identical decisions) and the
summary table it prints last."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers import load_source_module

GPU_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu"

pytestmark = pytest.mark.skipif(
    not (GPU_DIR / "gemm_choice.py").is_file(), reason="needs the source tree's benchmarks/gpu/"
)


def _paths_json(
    tmp_path: Path,
    fp32: float,
    tf32x3: float,
    identical: bool = True,
    gates_off: float = 2.0,
    single: float = 2.0,
    tf32: float | None = None,
    inline: float = 0.5,
    serial: float = 2.0,
) -> Path:
    """Benchmark JSON with the gpu_gemm_paths figure (tf32 measured when given), the
    gpu_tile_gates figure (tile gates on: 1.0 s per data kind, off: ``gates_off``), the
    gpu_tile_groups figure (grouped: 1.0 s, a tile per launch: ``single``) and the
    gpu_deferred_rechecks figure (deferred: 1.0 s, inline: ``inline``) and the gpu_overlap
    figure (overlapped: 1.0 s, one stream: ``serial``)."""
    benchmarks = []
    for figure, times in (
        (
            "gpu_gemm_paths",
            {"fp32": fp32, "tf32x3": tf32x3, **({} if tf32 is None else {"tf32": tf32})},
        ),
        ("gpu_tile_gates", {"on": 1.0, "off": gates_off}),
        ("gpu_tile_groups", {"grouped": 1.0, "single": single}),
        ("gpu_deferred_rechecks", {"deferred": 1.0, "inline": inline}),
        ("gpu_overlap", {"overlapped": 1.0, "serial": serial}),
    ):
        checks = {}
        for kind in ("gaussian", "structured"):
            checks[f"{kind}_seconds"] = times
            checks[f"{kind}_rechecks"] = dict.fromkeys(times, 10)
            checks[f"{kind}_identical"] = identical
        info = {"figure": figure, "times": {"noop": 0.0}, "ratios": [], "checks": checks}
        benchmarks.append({"name": figure, "extra_info": info})
    path = tmp_path / "bench_gpu_paths.json"
    path.write_text(json.dumps({"benchmarks": benchmarks}))
    return path


def _choice(path: Path, env: dict[str, str] | None = None, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(GPU_DIR / "gemm_choice.py"), str(path), *args],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return out.stdout.strip()


def test_the_faster_path_is_chosen(tmp_path):
    assert _choice(_paths_json(tmp_path, fp32=3.0, tf32x3=1.5)) == "tf32x3"
    assert _choice(_paths_json(tmp_path, fp32=1.0, tf32x3=1.5)) == "fp32"
    assert _choice(_paths_json(tmp_path, fp32=3.0, tf32x3=1.5, tf32=0.9)) == "tf32"
    assert _choice(_paths_json(tmp_path, fp32=3.0, tf32x3=1.5, tf32=1.6)) == "tf32x3"


@pytest.mark.parametrize(
    ("flag", "slower", "variable", "default", "other"),
    [("--tile-gates", "gates_off", "FASTPRDC_GPU_TILE_GATES", "1", "0"),
     ("--tile-group", "single", "FASTPRDC_GPU_TILE_GROUP", "0", "1"),
     ("--defer-rechecks", "inline", "FASTPRDC_GPU_DEFER_RECHECKS", "1", "0"),
     ("--overlap", "serial", "FASTPRDC_GPU_OVERLAP", "1", "0")],
)  # fmt: skip
def test_the_faster_setting_is_chosen(tmp_path, flag, slower, variable, default, other):
    """A setting's figure picks the faster of its two options (the default's at 1.0 s against
    the other's), only when their results were identical; else the variable, else the
    default."""
    assert _choice(_paths_json(tmp_path, 3.0, 1.5, **{slower: 2.0}), None, flag) == default
    assert _choice(_paths_json(tmp_path, 3.0, 1.5, **{slower: 0.5}), None, flag) == other
    not_same = _paths_json(tmp_path, 3.0, 1.5, identical=False, **{slower: 0.5})
    assert _choice(not_same, {}, flag) == default
    missing = tmp_path / "missing.json"
    assert _choice(missing, {variable: other}, flag) == other
    assert _choice(missing, {}, flag) == default


def test_no_choice_without_identical_decisions_or_figure(tmp_path):
    module = load_source_module(GPU_DIR / "gemm_choice.py", "gemm_choice")
    assert module.faster_path(_paths_json(tmp_path, 3.0, 1.5, identical=False)) is None
    assert module.faster_path(tmp_path / "missing.json") is None
    assert _choice(tmp_path / "missing.json", env={"FASTPRDC_GPU_GEMM": "tf32x3"}) == "tf32x3"
    env = {k: v for k, v in os.environ.items() if k != "FASTPRDC_GPU_GEMM"}
    assert _choice(tmp_path / "missing.json", env=env) == module.device_default()


def test_without_the_figure_the_device_default_path(monkeypatch):
    """A gemm_paths figure that timed out leaves the later figures on the cuda backend's own
    default for the GPU (tf32x3 on an H200), not on the slowest path; fp32 without a GPU."""
    module = load_source_module(GPU_DIR / "gemm_choice.py", "gemm_choice")

    class Backend:
        gemm_path = "tf32x3"

    monkeypatch.setattr(module, "get_backend", lambda name: Backend())
    assert module.device_default() == "tf32x3"

    def unavailable(name):
        raise RuntimeError("backend 'cuda' is unavailable: no CUDA device")

    monkeypatch.setattr(module, "get_backend", unavailable)
    assert module.device_default() == "fp32"


def _summary(logs: Path, out: Path) -> str:
    return subprocess.run(
        [sys.executable, str(GPU_DIR / "summarize.py"), str(logs), str(out)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_summary_lists_stages_choice_and_figures(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "install.status").write_text("ok (90s)\n")
    (logs / "bench.status").write_text("TIMEOUT after 150s\n")
    (logs / "gemm_path.txt").write_text("GEMM path for the figures: tf32x3\n")
    _paths_json(tmp_path, fp32=3.0, tf32x3=1.5)
    out = _summary(logs, tmp_path)
    assert "install    ok (90s)" in out
    assert "bench      TIMEOUT after 150s" in out
    assert "sanitizer  not run" in out and "tests_gpu  not run" in out
    assert "smoke_cupy not run" in out and "bench_cupy not run" in out
    assert "GEMM path for the figures: tf32x3" in out
    assert "gaussian_seconds: {'fp32': 3.0, 'tf32x3': 1.5}" in out


def test_summary_says_what_exactness_adds_per_kernel(tmp_path):
    checks = {
        "kernel_share": {"gemm_tf32x3": 0.5, "cross_cols": 0.3, "cross_rows": 0.2},
        "kernel_seconds": {"gemm_tf32x3": 1.0, "cross_cols": 0.6, "cross_rows": 0.4},
        "kernel_seconds_not_exact": {"gemm_tf32x3": 1.0, "cross_cols": 0.2, "cross_rows": 0.3},
    }
    info = {"figure": "gpu_kernel_profile", "times": {"fastprdc_cuda": 2.0}, "checks": checks}
    (tmp_path / "bench_gpu.json").write_text(
        json.dumps({"benchmarks": [{"name": "x", "extra_info": info}]})
    )
    out = _summary(tmp_path, tmp_path)
    assert "kernel shares: gemm_tf32x3 50%, cross_cols 30%, cross_rows 20%" in out
    assert "exact adds: cross_cols +0.400s, cross_rows +0.100s, gemm_tf32x3 +0.000s" in out


# ---------------------------------------------------------------------------
# device_check.sh's control flow, with a stand-in python and compute-sanitizer
# ---------------------------------------------------------------------------

_STUB = r"""#!/usr/bin/env bash
# Stands in for the GPU machine's python3: logs each call, fakes install / smoke / pytest.
echo "$*" >>"$STUB_LOG"
case "$1" in
  -m)
    if [[ "$2" == pytest ]]; then
      for a in "$@"; do
        if [[ "$a" == --benchmark-json=* ]]; then cp "$STUB_PATHS_JSON" "${a#--benchmark-json=}"; fi
      done
      [[ " $* " == *" $STUB_FAIL_PYTEST "* ]] && exit 1
    fi
    exit 0 ;;
  -c) [[ "$2" == *get_device_properties* ]] && echo 90
      [[ "$2" == "import fastprdc._cuda" && -n "${STUB_NO_CUDA:-}" ]] && exit 1
      exit 0 ;;
  -)  cat >/dev/null
      if [[ "$STUB_HANG" == smoke ]]; then
        trap 'echo interrupted >>"$STUB_LOG"; exit 130' INT
        sleep 100 & wait
      fi
      [[ "$2" == "${STUB_SMOKE_FAIL:-none}" ]] && exit 1
      exit "${STUB_SMOKE_RC:-0}" ;;
  benchmarks/gpu/*.py|*/benchmarks/gpu/*.py) exec "$REAL_PYTHON" "$@" ;;
  *) exit 0 ;;
esac
"""


def _device_check(tmp_path: Path, budget: int = 400, **env_extra: str):
    stub = tmp_path / "python3"
    stub.write_text(_STUB)
    stub.chmod(0o755)
    sanitizer = tmp_path / "compute-sanitizer"
    sanitizer.write_text('#!/usr/bin/env bash\necho "Device not supported"\nexit 1\n')
    sanitizer.chmod(0o755)
    log = tmp_path / "calls.log"
    paths = _paths_json(tmp_path, fp32=3.0, tf32x3=1.5)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHON": str(stub),
        "REAL_PYTHON": sys.executable,
        "COMPUTE_SANITIZER": str(sanitizer),
        "OUT": str(tmp_path / "out"),
        "LOGS": str(tmp_path / "logs"),
        "SITE": str(tmp_path / "site"),
        "WHEELS": str(tmp_path / "no-wheels"),  # not the checkout's .whl/, whatever it holds
        "BUDGET": str(budget),
        "STUB_LOG": str(log),
        "STUB_PATHS_JSON": str(paths),
        "STUB_FAIL_PYTEST": "no-such-argument",
        "STUB_HANG": "",
        **env_extra,
    }
    mode = [env.pop("MODE")] if "MODE" in env else []
    proc = subprocess.run(
        ["bash", str(GPU_DIR / "device_check.sh"), *mode], capture_output=True, text=True,
        env=env, timeout=300,
    )  # fmt: skip
    statuses = {p.stem: p.read_text().strip() for p in (tmp_path / "logs").glob("*.status")}
    return proc, statuses, log.read_text().splitlines()


def _pytest_selection(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("-m pytest")]


def test_device_check_runs_every_stage_in_order(tmp_path):
    proc, status, calls = _device_check(tmp_path)
    assert proc.returncode == 0, proc.stderr
    stages = ("install", "smoke_cuda", "tests_gpu", "gemm_paths", "bench", "nvrtc", "smoke_cupy",
              "bench_cupy", "tests")  # fmt: skip
    for stage in stages:
        assert status[stage].startswith("ok"), (stage, status)
    assert status["sanitizer"].startswith("unsupported here"), status  # not FAILED
    assert "bench_1m" not in status  # the 1M figures: the `1m` mode, a second call
    smokes = [c for c in calls if c.startswith("- ")]
    assert smokes == ["- cuda", "- cupy"]  # one process per backend
    nvrtc = [i for i, c in enumerate(calls) if "compile_kernels" in c]
    assert len(nvrtc) == 1 and nvrtc[0] < calls.index("- cupy")  # compiled before cupy runs
    runs = _pytest_selection(calls)
    marks = ("not 1m", "gemm_paths", "1m and gaussian", "cuda or cupy", "test_gpu.py", "-k cupy")
    order = [next(m for m in marks if m in c) for c in runs]
    # the GPU tests, the cuda figures, then the cupy figure and every other test
    assert order == ["test_gpu.py", "gemm_paths", "not 1m", "-k cupy", "cuda or cupy"]
    assert "not cupy" in runs[2]  # the cupy figure waits for the NVRTC compile
    tests_gpu = runs[0]
    assert "-p no:xdist" in tests_gpu and "-n 8" in runs[-1]
    assert "--deselect tests/test_gpu_build.py::test_nvrtc_compiles_the_kernel_text" in tests_gpu
    # test_gpu_pipeline.py's sim cases (minutes on the CPU) ran in CI: its GPU cases only
    assert "tests/test_gpu_pipeline.py::test_column_mean_is_the_sequential_sum" in tests_gpu
    assert "tests/test_gpu_pipeline.py " not in tests_gpu + " "
    assert "--ignore tests/test_gpu.py" in runs[-1]  # not run twice
    assert "--continue-on-collection-errors" in runs[-1]
    assert "-p no:benchmark" in runs[-1]  # beside xdist, pytest-benchmark warns: an error here
    assert (tmp_path / "logs" / "gemm_path.txt").read_text().strip().endswith("tf32x3")
    assert "GEMM path for the figures: tf32x3" in proc.stdout
    next_call = (
        "FASTPRDC_GPU_GEMM=tf32x3 FASTPRDC_GPU_TILE_GATES=1 FASTPRDC_GPU_TILE_GROUP=0 "
        "FASTPRDC_GPU_DEFER_RECHECKS=0 FASTPRDC_GPU_OVERLAP=1 "
        "bash benchmarks/gpu/device_check.sh 1m"
    )
    assert next_call in proc.stdout.split("== device check summary")[1]  # in the summary
    assert (tmp_path / "out" / "logs.tar.gz").is_file()


@pytest.mark.parametrize("after_a_first_call", [False, True])
def test_device_check_1m_mode_runs_the_million_sample_figures(tmp_path, after_a_first_call):
    """The second call's summary shows its own stages only (its machine, still warm, holds the
    first call's logs)."""
    if after_a_first_call:
        _device_check(tmp_path)
        (tmp_path / "calls.log").unlink()
    proc, status, calls = _device_check(tmp_path, MODE="1m")
    assert proc.returncode == 0, proc.stderr
    assert set(status) == {"install", "bench_1m"} and status["bench_1m"].startswith("ok")
    (run,) = _pytest_selection(calls)
    assert "-k 1m" in run and "bench_gpu_1m.json" in run
    summary = proc.stdout.split("== device check summary")[1]
    assert "next call" not in summary and "GEMM path for the figures" not in summary
    assert "smoke_cuda not run" in summary


def test_device_check_checks_mode_reruns_the_checks_without_figures(tmp_path):
    proc, status, calls = _device_check(tmp_path, MODE="checks")
    assert proc.returncode == 0, proc.stderr
    assert set(status) == {"install", "smoke_cuda", "sanitizer", "nvrtc", "tests_gpu", "tests"}
    assert not any("--benchmark-json" in c for c in calls)
    runs = _pytest_selection(calls)
    assert "test_gpu.py" in runs[0] and "cuda or cupy" in runs[-1]
    nvrtc = [i for i, c in enumerate(calls) if "compile_kernels" in c]
    assert len(nvrtc) == 1


def test_device_check_skips_the_figures_when_the_kernels_are_wrong(tmp_path):
    proc, status, calls = _device_check(tmp_path, STUB_SMOKE_RC="1")
    assert status["smoke_cuda"].startswith("FAILED") and status["smoke_cupy"].startswith("FAILED")
    assert not {"gemm_paths", "bench", "bench_cupy", "bench_1m"} & set(status)
    assert status["tests"].startswith("ok")  # the full run, for the diagnosis
    assert not any("--benchmark-json" in c for c in calls)
    assert "gemm_paths   not run" not in proc.stdout  # the summary names stages as they are
    assert "gemm_paths not run" in proc.stdout


def test_device_check_runs_the_cuda_figures_when_only_cupy_is_wrong(tmp_path):
    """A cupy backend that differs from cpu (or whose NVRTC compile failed) costs the cupy
    figure only."""
    proc, status, _ = _device_check(tmp_path, STUB_SMOKE_FAIL="cupy")
    assert status["smoke_cuda"].startswith("ok") and status["smoke_cupy"].startswith("FAILED")
    assert status["gemm_paths"].startswith("ok") and status["bench"].startswith("ok")
    assert "bench_cupy" not in status and status["tests"].startswith("ok")
    assert "bench_cupy not run" in proc.stdout


def _source_hash():
    return load_source_module(GPU_DIR / "source_hash.py", "source_hash").source_hash


def _prebuilt(tmp_path: Path, arch: str = "90-real", source: str | None = None) -> Path:
    """A wheels folder as fetch_wheels.sh leaves it: a BLAS wheel and, in prebuilt/, a fastprdc
    wheel with the architecture and the hash of the sources it was built from."""
    wheels = tmp_path / "whl"
    (wheels / "prebuilt").mkdir(parents=True)
    (wheels / "blas-1-py3-none-any.whl").write_bytes(b"")
    (wheels / "prebuilt" / "fastprdc-0.1.0-cp312-cp312-linux_x86_64.whl").write_bytes(b"")
    (wheels / "prebuilt" / "ARCH").write_text(arch + "\n")
    if source is None:
        source = _source_hash()(GPU_DIR.parents[1])
    (wheels / "prebuilt" / "SOURCE").write_text(source + "\n")
    return wheels


def _install(tmp_path: Path, **env: str) -> tuple[list[str], str]:
    """The pip calls of the install stage, and its log."""
    _, status, calls = _device_check(tmp_path, MODE="checks", **env)
    assert status["install"].startswith("ok"), status
    log = (tmp_path / "logs" / "install.log").read_text()
    return [c for c in calls if c.startswith("-m pip")], log


def test_device_check_installs_the_wheel_prebuilt_from_these_sources(tmp_path):
    """fetch_wheels.sh's wheel, built here from the same sources for this GPU's architecture,
    is installed instead of compiling on the GPU machine."""
    pips, log = _install(tmp_path, WHEELS=str(_prebuilt(tmp_path)))
    assert len(pips) == 2, pips
    assert pips[0].endswith("blas-1-py3-none-any.whl")
    assert pips[1].endswith("prebuilt/fastprdc-0.1.0-cp312-cp312-linux_x86_64.whl")
    assert "installed the prebuilt wheel (90-real)" in log
    assert log.rstrip().endswith("fastprdc installed: the prebuilt wheel")


@pytest.mark.parametrize(
    "case, expected",
    [
        ("other sources", "the prebuilt wheel was built from other sources"),
        ("other architecture", "the prebuilt wheel is for 80-real, not 90-real"),
        ("does not load", "the prebuilt wheel does not load here"),
        ("none", "no prebuilt wheel"),
    ],
)
def test_device_check_builds_unless_the_prebuilt_wheel_fits(tmp_path, case, expected):
    """A wheel from other sources (a change after fetch_wheels.sh ran), for another GPU, or
    one that does not load is never the one measured: the check builds from the tree."""
    source = "0" * 64 if case == "other sources" else None
    arch = "80-real" if case == "other architecture" else "90-real"
    env = {"WHEELS": str(_prebuilt(tmp_path, arch, source))}
    if case == "does not load":
        env["STUB_NO_CUDA"] = "1"
    if case == "none":
        env.pop("WHEELS")
    pips, log = _install(tmp_path, **env)
    assert expected in log
    assert "--no-build-isolation" in pips[-1] and pips[-1].endswith(" .")
    assert "installed the prebuilt wheel" not in log
    assert log.rstrip().endswith("fastprdc installed: built here")


def test_source_hash_follows_the_build_inputs_only(tmp_path):
    """A copy of the sources as the device tool carries it (no byte code) hashes the same as
    the checkout; a changed byte in a source file changes it."""
    source_hash = _source_hash()
    root = GPU_DIR.parents[1]
    copy = tmp_path / "tree"
    carried = shutil.ignore_patterns("__pycache__", "*.so")  # what git ignores stays behind
    for name in ("csrc", "python"):
        shutil.copytree(root / name, copy / name, ignore=carried)
    for name in ("CMakeLists.txt", "pyproject.toml"):
        shutil.copy(root / name, copy / name)
    (copy / "python" / "fastprdc" / "__pycache__").mkdir(exist_ok=True)
    (copy / "python" / "fastprdc" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"byte code")
    assert source_hash(copy) == source_hash(root)
    header = copy / "csrc" / "common" / "error_bound.hpp"
    header.write_bytes(header.read_bytes().replace(b"(", b" (", 1))
    assert source_hash(copy) != source_hash(root)


def test_device_check_interrupts_a_stage_that_runs_out_of_time(tmp_path):
    """A stage past its limit gets SIGINT (pytest then reports and writes its JSON), is marked
    TIMEOUT, and the stages after it that no longer fit are skipped, not started."""
    proc, status, calls = _device_check(tmp_path, budget=52, STUB_HANG="smoke")
    assert re.fullmatch(r"TIMEOUT after 3\d+s", status["smoke_cuda"]), status["smoke_cuda"]
    assert calls.count("interrupted") == 1  # the signal reached python; cupy's not started
    assert status["tests_gpu"] == "skipped: no time left"
    assert "== device check summary" in proc.stdout


# ---------------------------------------------------------------------------
# the GPU figures in benchmarks/RESULTS.md (benchmarks/report.py --gpu)
# ---------------------------------------------------------------------------


def _ratio(name: str, value: float, goal: float, met: bool) -> dict:
    return {"name": name, "value": value, "op": "<=", "goal": goal, "met": met, "description": name}


def _gpu_json(path: Path, card: str) -> Path:
    bench = {
        "name": "test_gpu_evaluate_1m[gaussian]",
        "extra_info": {
            "figure": "gpu_evaluate_1m_gaussian",
            "title": "evaluate(metrics='all') on the GPU, gaussian data",
            "sizes": {"N": 1000000, "M": 1000000, "d": 2048, "device": card},
            "main": "fastprdc_cuda",
            "times": {"fastprdc_cuda": 71.5},
            "rounds": {"fastprdc_cuda": 1},
            "ratios": [
                _ratio("seconds", 71.5, 90.0, met=True),
                _ratio("cross_vs_bare_gemm", 1.31, 1.2, met=False),
            ],
            "checks": {"gemm_path": "tf32x3", "n_rechecked": 123},
        },
    }
    data = {"benchmarks": [bench], "datetime": "2026-12-01T10:00:00", "machine_info": {}}
    path.write_text(json.dumps(data))
    return path


def test_report_adds_the_gpu_figures_with_their_card(tmp_path):
    report = load_source_module(GPU_DIR.parent / "report.py", "report")
    cpu = GPU_DIR.parent / "RESULTS.json"
    out = tmp_path / "RESULTS.md"
    gpu = _gpu_json(tmp_path / "bench_gpu_1m.json", "NVIDIA H100 80GB HBM3")
    assert report.main([str(cpu), "--out", str(out), "--gpu", str(gpu)]) == 0
    text = out.read_text()
    section = text[text.index("## GPU figures (issue 7)") :]
    row = "| gpu_evaluate_1m_gaussian | seconds | NVIDIA H100 80GB HBM3 | 71.5 | <= 90 | met |"
    assert row in section
    assert "| cross_vs_bare_gemm | NVIDIA H100 80GB HBM3 | 1.31 | <= 1.2 | **missed** |" in section
    assert "Card: NVIDIA H100 80GB HBM3 (`bench_gpu_1m.json`, 2026-12-01T10:00:00)." in section
    assert "#### gpu_evaluate_1m_gaussian:" in section  # one level below the GPU headings
    assert section.count("Not measured yet.") == len(report.GPU_FIGURES) - 1
    assert "### GPU machine of `bench_gpu_1m.json`" in section
    # the CPU part is the one the CPU run alone gives
    assert report.main([str(cpu), "--out", str(tmp_path / "cpu.md"), "--gpu"]) == 0
    cpu_only = (tmp_path / "cpu.md").read_text()
    assert "Not measured yet: no GPU has been lent" in cpu_only
    head = cpu_only[: cpu_only.index("## GPU figures")]
    assert text.startswith(head)


def test_sanitizer_case_runs_every_kernel(monkeypatch):
    """compute-sanitizer checks every kernel: its case (run on the sim backend here) launches
    each one, the row groups' kernels included, and agrees with the cpu backend."""
    import runpy

    from fastprdc import _core
    from fastprdc._backends import get_backend

    ops = get_backend("sim").ops
    seen: set[str] = set()
    launch = ops.launch

    def recording(kernel, n, p, t):
        seen.add(kernel)
        return launch(kernel, n, p, t)

    monkeypatch.setattr(ops, "launch", recording)
    monkeypatch.setattr(sys, "argv", ["sanitize_case.py", "sim"])
    runpy.run_path(str(GPU_DIR / "sanitize_case.py"), run_name="__main__")
    assert seen == {name for name, _ in _core.kernel_names()}
