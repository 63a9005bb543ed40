"""Shared machinery of the fastprdc benchmarks (pytest-benchmark, outside the default test run).

* Files named ``bench_*.py`` in this folder are collected (the default ``pytest`` run only looks
  in ``tests/``).
* ``FASTPRDC_BENCH_SCALE`` (float, default 1.0) multiplies every sample count N, M so that a
  quick smoke run is possible (``FASTPRDC_BENCH_SCALE=0.05``); dimensions and k never change.
* ``FASTPRDC_BENCH_ROUNDS`` (int, optional) overrides the number of timed rounds everywhere.
* The saved JSON (``--benchmark-json``, ``--benchmark-autosave``) carries the machine (CPU
  model, cores, RAM, sorted thread pools, library versions) and ``fastprdc.show_config()``
  in ``machine_info["fastprdc"]`` (``_machine.py``: the same on every run on the same
  machine, so ``--benchmark-compare`` only warns when the machine or setup changed), the
  run's FASTPRDC_BENCH_* and per-run values such as the CPU clock in ``fastprdc_bench``, and
  every figure's sizes, times, ratios, goals and correctness checks in its ``extra_info``;
  ``report.py`` turns it into ``RESULTS.md``.

Timings are the minimum over rounds. fastprdc runs through ``benchmark.pedantic`` (so
``--benchmark-compare`` tracks it); the baselines run in the same test, interleaved with the
fastprdc rounds, timed with ``time.perf_counter``.
"""

from __future__ import annotations

import math
import operator
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _machine import describe_machine, machine_differences, split_volatile

GIB = 1 << 30

# --------------------------------------------------------------------------- configuration


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise pytest.UsageError(f"{name} must be a number, got {raw!r}") from exc
    if not value > 0:
        raise pytest.UsageError(f"{name} must be > 0, got {raw!r}")
    return value


SCALE = _env_float("FASTPRDC_BENCH_SCALE", 1.0)
_ROUNDS_OVERRIDE = os.environ.get("FASTPRDC_BENCH_ROUNDS", "").strip()


def scaled(n: int, minimum: int = 64) -> int:
    """Sample count ``n`` times FASTPRDC_BENCH_SCALE (at least ``minimum``)."""
    return max(minimum, round(n * SCALE))


def rounds(default: int) -> int:
    """Timed rounds: ``default`` unless FASTPRDC_BENCH_ROUNDS says otherwise."""
    return max(1, int(_ROUNDS_OVERRIDE)) if _ROUNDS_OVERRIDE else default


@pytest.fixture(scope="session", name="scaled")
def _scaled_fixture() -> Callable[..., int]:
    """``scaled(n, minimum=64)``: n times FASTPRDC_BENCH_SCALE."""
    return scaled


# --------------------------------------------------------------------------- collection


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``bench_*.py`` (pytest's default pattern is ``test_*.py``)."""
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and not parent.session.isinitpath(file_path)  # named on the command line: pytest has it
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_report_header(config: pytest.Config) -> list[str]:
    info = machine_description()
    return [
        f"fastprdc benchmarks: FASTPRDC_BENCH_SCALE={SCALE:g}"
        + (f", FASTPRDC_BENCH_ROUNDS={_ROUNDS_OVERRIDE}" if _ROUNDS_OVERRIDE else ""),
        f"machine: {info['cpu_model']}, {info['logical_cpus']} logical CPUs, "
        f"{info['ram_bytes'] / GIB:.1f} GiB RAM",
    ]


# --------------------------------------------------------------------------- machine info

_MACHINE: dict[str, Any] | None = None
_VOLATILE: dict[str, Any] = {}  # per-run values moved out of machine_info (see _machine.py)


def machine_description() -> dict[str, Any]:
    """This run's :func:`_machine.describe_machine`, taken once (at ``pytest_configure``,
    before any benchmark loads more libraries) and reused for the header, the compare
    step and the saved JSON."""
    global _MACHINE
    if _MACHINE is None:
        _MACHINE = describe_machine()
    return _MACHINE


_RUN_PARAMETER_NAMES = {"scale": "FASTPRDC_BENCH_SCALE", "rounds_override": "FASTPRDC_BENCH_ROUNDS"}


def _run_parameters() -> dict[str, Any]:
    """The FASTPRDC_BENCH_* of this run (saved in ``fastprdc_bench``, not machine_info)."""
    return {
        "scale": SCALE,
        "rounds_override": int(_ROUNDS_OVERRIDE) if _ROUNDS_OVERRIDE else None,
    }


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    machine_description()


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    _VOLATILE.update(split_volatile(machine_info))
    machine_info["fastprdc"] = machine_description()


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    output_json["fastprdc_bench"] = {
        **_run_parameters(),
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "volatile_machine_info": dict(_VOLATILE),
    }


@pytest.hookimpl(wrapper=True)
def pytest_benchmark_compare_machine_info(
    config: pytest.Config, benchmarksession: Any, machine_info: dict, compared_benchmark: dict
) -> Any:
    """Say in one warning what differs from the baseline (machine or FASTPRDC_BENCH_*).

    pytest-benchmark's own check, run inside this wrapper, warns with both descriptions in
    full (pages of JSON); with ``--benchmark-storage`` outside the current directory it
    even fails formatting that message (ValueError from ``FileStorage.location``,
    pytest-benchmark issue #217). Its warning is dropped for the one below, which stays a
    warning despite pyproject's ``filterwarnings = error`` (meant for ``tests/``) unless a
    ``-W`` option names PytestBenchmarkWarning.
    """
    differences = machine_differences(compared_benchmark.get("machine_info", {}), machine_info)
    saved_run = compared_benchmark.get("fastprdc_bench") or {}
    for key, value in _run_parameters().items():
        if key in saved_run and saved_run[key] != value:
            differences.append(f"{_RUN_PARAMETER_NAMES[key]}: {saved_run[key]!r} -> {value!r}")
    result: Any = []
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            result = yield
        except ValueError:
            if not differences:  # not issue #217 (only reached when something differs)
                raise
    if differences:
        _warn_machine_differs(config, benchmarksession, compared_benchmark, differences)
    return result


def _warn_machine_differs(
    config: pytest.Config, benchmarksession: Any, baseline: dict, differences: list[str]
) -> None:
    from pytest_benchmark.logger import PytestBenchmarkWarning

    shown = differences[:12]
    if len(differences) > 12:
        shown.append(f"... and {len(differences) - 12} more")
    commit = (baseline.get("commit_info") or {}).get("id") or "?"
    text = (
        "Benchmark machine_info is different: the baseline (saved "
        f"{baseline.get('datetime', '?')}, commit {str(commit)[:12]}) was not measured on "
        "this machine and setup. Timings are compared anyway, but a difference may come "
        "from these rather than from the code:\n  "
        + "\n  ".join(shown)
        + "\n(benchmarks/README.md, 'Tracking regressions on your machine')"
    )
    cmdline = config.getoption("pythonwarnings", None) or []
    with warnings.catch_warnings():
        if not any("PytestBenchmarkWarning" in arg for arg in cmdline):
            warnings.simplefilter("always", PytestBenchmarkWarning)
        benchmarksession.logger.warning(text)


# --------------------------------------------------------------------------- data


def scalars_of(result: Any) -> dict[str, float]:
    """``family.metric`` (plus ``@k=...`` for families with k) -> value."""
    out = {}
    for family, metrics in result.scalars.items():
        for metric, per_k in metrics.items():
            for k, value in per_k.items():
                out[f"{family}.{metric}" + ("" if k is None else f"@k={k}")] = float(value)
    return out


def same_scalars(a: dict[str, float], b: dict[str, float]) -> bool:
    """Equal keys and values (NaN equal to NaN)."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a
    )


def make_features(n: int, d: int, seed: int, *, offset: float = 0.0) -> np.ndarray:
    """Seeded standard normal float32 (n, d) features plus ``offset`` (C-contiguous)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d), dtype=np.float32)
    if offset:
        x += np.float32(offset)
    return x


@pytest.fixture(scope="session")
def make_data() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """Factory: ``make_data(n, m, d, seed=0, offset=0.0, shift=0.1)`` -> (real, fake) float32.

    real ~ offset + N(0, 1); fake ~ offset + shift + N(0, 1) (so the metrics are not trivial).
    """

    def factory(
        n: int, m: int, d: int, *, seed: int = 0, offset: float = 0.0, shift: float = 0.1
    ) -> tuple[np.ndarray, np.ndarray]:
        real = make_features(n, d, seed, offset=offset)
        fake = make_features(m, d, seed + 1, offset=offset + shift)
        return real, fake

    return factory


@pytest.fixture(scope="session", autouse=True)
def _warm_up() -> None:
    """Start thread pools and load kernels once, outside every timing."""
    import fastprdc

    real, fake = make_features(300, 32, 100), make_features(300, 32, 101)
    fastprdc.evaluate(real, fake, k=5)
    fastprdc.primitives.kth_radii(real, 5)
    _ = real @ fake.T


# --------------------------------------------------------------------------- figures

_OPS = {">=": operator.ge, "<=": operator.le}


class Figure:
    """One benchmark figure: fastprdc and its baselines timed in the same test.

    ``run`` times fastprdc through ``benchmark.pedantic`` and runs the baselines from the
    pedantic ``setup`` hook, so baseline and fastprdc rounds alternate. Times are the
    minimum over rounds. ``goal`` records a ratio, its goal and whether it is met (never
    asserts: speed goals are reported, not enforced). Everything lands in
    ``benchmark.extra_info``, which ``report.py`` reads.
    """

    def __init__(self, benchmark: Any, figure: str, title: str, sizes: dict[str, Any]) -> None:
        self.benchmark = benchmark
        benchmark.group = figure
        self.info = benchmark.extra_info
        self.info.update(
            figure=figure, title=title, sizes=dict(sizes), scale=SCALE,
            times={}, rounds={}, ratios=[], checks={}, notes=[],
        )  # fmt: skip
        self.results: dict[str, Any] = {}  # last result of each timed function
        self.all_results: dict[str, list[Any]] = {}  # every round's result of the main one

    # timing -------------------------------------------------------------
    def _timed(self, name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        times = self.info["times"]
        times[name] = dt if name not in times else min(times[name], dt)
        self.info["rounds"][name] = self.info["rounds"].get(name, 0) + 1
        self.results[name] = out
        if name == self.info.get("main"):
            self.all_results.setdefault(name, []).append(out)
        return out

    def run(
        self,
        main_name: str,
        main: Callable[[], Any],
        baselines: dict[str, Callable[[], Any]] | None = None,
        *,
        main_rounds: int = 3,
        baseline_rounds: dict[str, int] | None = None,
    ) -> Any:
        """Time ``main`` (pedantic, ``main_rounds``) and each baseline (its own round count,
        default ``main_rounds``), alternating. Returns ``main``'s last result."""
        baselines = baselines or {}
        main_rounds = rounds(main_rounds)
        wanted = {
            name: rounds((baseline_rounds or {}).get(name, main_rounds)) for name in baselines
        }
        self.info["main"] = main_name
        done = dict.fromkeys(baselines, 0)
        state = {"round": 0}

        def setup() -> None:
            # spread each baseline's rounds over the main rounds (all done by the last one)
            state["round"] += 1
            for name, fn in baselines.items():
                due = -(-wanted[name] * state["round"] // main_rounds)  # ceil
                while done[name] < min(due, wanted[name]):
                    self._timed(name, fn)
                    done[name] += 1

        self.benchmark.pedantic(
            lambda: self._timed(main_name, main),
            setup=setup, rounds=main_rounds, iterations=1, warmup_rounds=0,
        )  # fmt: skip
        for name, fn in baselines.items():  # pedantic may run fewer rounds (--benchmark-disable)
            while done[name] < wanted[name]:
                self._timed(name, fn)
                done[name] += 1
        return self.results[main_name]

    # reporting ----------------------------------------------------------
    def time(self, name: str) -> float:
        return float(self.info["times"][name])

    def goal(self, name: str, value: float, op: str, target: float, description: str) -> bool:
        """Record ratio ``name`` = ``value`` against the goal ``value op target``."""
        met = bool(_OPS[op](value, target))
        self.info["ratios"].append(
            {"name": name, "value": float(value), "op": op, "goal": float(target),
             "met": met, "description": description}
        )  # fmt: skip
        return met

    def ratio(self, name: str, value: float, description: str) -> None:
        """Record a ratio reported for information only (no goal)."""
        self.info["ratios"].append(
            {"name": name, "value": float(value), "op": None, "goal": None,
             "met": None, "description": description}
        )  # fmt: skip

    def check(self, name: str, value: Any) -> None:
        """Record a correctness observation (asserted by the test itself)."""
        self.info["checks"][name] = value

    def note(self, text: str) -> None:
        self.info["notes"].append(text)

    def print_summary(self) -> None:
        info = self.info
        sizes = ", ".join(f"{k}={v}" for k, v in info["sizes"].items())
        lines = [f"\n== {info['figure']}: {info['title']} ({sizes}; scale {SCALE:g})"]
        for name, t in info["times"].items():
            lines.append(f"   {name:<28} {t:10.3f} s  (min of {info['rounds'][name]})")
        for r in info["ratios"]:
            if r["op"] is None:
                goal = "(no goal)"
            else:
                goal = f"goal {r['op']} {r['goal']:g}: {'met' if r['met'] else 'MISSED'}"
            lines.append(f"   {r['name']:<28} {r['value']:10.3f}    {goal}  ({r['description']})")
        for name, value in info["checks"].items():
            lines.append(f"   check {name}: {value}")
        for text in info["notes"]:
            lines.append(f"   note: {text}")
        print("\n".join(lines), flush=True)


@pytest.fixture
def figure(benchmark: Any) -> Callable[..., Figure]:
    """Factory: ``figure(name, title, sizes)`` -> :class:`Figure` bound to this test."""
    made: list[Figure] = []

    def factory(name: str, title: str, sizes: dict[str, Any]) -> Figure:
        fig = Figure(benchmark, name, title, sizes)
        made.append(fig)
        return fig

    yield factory
    for fig in made:
        fig.print_summary()
