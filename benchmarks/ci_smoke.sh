#!/usr/bin/env bash
# Smoke test of the benchmark regression-tracking flow (benchmarks/README.md, "Tracking
# regressions on your machine"), as CI runs it: every benchmark at the smallest scale, once
# with --benchmark-autosave into a temporary storage, then once with --benchmark-compare
# against that run. Timings are not judged (one round at ~1/50 of the sizes is noise); what
# must hold is the flow itself and the correctness checks inside the benchmarks. Exits
# non-zero when either run fails.
#
# Needs an installed fastprdc (CI: the ".[test]" install of .ci/run). The benchmarks' extra
# requirements (pytest-benchmark, faiss-cpu, prdc, scikit-learn, psutil) are installed with
# `pip install "fastprdc[bench]==<installed version>"`, which adds the "bench" extra's
# dependencies from pyproject.toml and leaves the installed fastprdc as it is (no rebuild);
# FASTPRDC_BENCH_NO_INSTALL=1 skips that step.
#
#   FASTPRDC_BENCH_SCALE   sample-count multiplier (default 0.02 here; every benchmark's
#                          correctness checks hold at that size)
#   FASTPRDC_BENCH_ROUNDS  timed rounds (default 1 here)
#   extra arguments        passed to both pytest runs (e.g. benchmarks/bench_knn_radii.py
#                          to run one file instead of the whole folder)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export FASTPRDC_BENCH_SCALE="${FASTPRDC_BENCH_SCALE:-0.02}"
export FASTPRDC_BENCH_ROUNDS="${FASTPRDC_BENCH_ROUNDS:-1}"

version="$(python -c 'from importlib.metadata import version; print(version("fastprdc"))')" || {
  echo "ci_smoke: fastprdc is not installed in this environment (pip install \".[bench]\")" >&2
  exit 2
}
if [[ "${FASTPRDC_BENCH_NO_INSTALL:-0}" != 1 ]]; then
  echo "== benchmarks: pip install \"fastprdc[bench]==$version\" (the bench extra's requirements)"
  python -m pip install --quiet "fastprdc[bench]==$version"
fi

STORAGE="$(mktemp -d "${TMPDIR:-/tmp}/fastprdc-bench-storage.XXXXXX")"
trap 'rm -rf "$STORAGE"' EXIT

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(benchmarks)
common=(
  "${targets[@]}" --benchmark-only "--benchmark-storage=$STORAGE"
  -p no:cacheprovider -q
)

start=$SECONDS
echo "== benchmarks: baseline (FASTPRDC_BENCH_SCALE=$FASTPRDC_BENCH_SCALE," \
  "FASTPRDC_BENCH_ROUNDS=$FASTPRDC_BENCH_ROUNDS) --benchmark-autosave"
python -m pytest "${common[@]}" --benchmark-autosave

# Compare against the run just saved, on the same machine in the same job:
# * -W error::...PytestBenchmarkWarning: any "machine_info is different" warning (or none
#   found to compare against) fails the run; here it could only mean that the saved
#   machine description is not deterministic, the bug this flow once had.
# * --benchmark-compare-fail=min:30: fail when a benchmark's fastest round is 30 s slower
#   than the baseline's. No benchmark at this scale takes a second, so noise cannot trip
#   it; it checks that the flag works and that a baseline was loaded (pytest-benchmark
#   stops with a usage error when --benchmark-compare-fail has nothing to compare with).
#   Real thresholds (min:10%) are for a quiet machine at full scale (benchmarks/README.md).
echo "== benchmarks: --benchmark-compare against it"
python -m pytest "${common[@]}" --benchmark-compare --benchmark-compare-fail=min:30 \
  -W error::pytest_benchmark.logger.PytestBenchmarkWarning

echo "== benchmarks: saved runs in the temporary storage"
find "$STORAGE" -name '*.json' -printf '   %P\n'
echo "   baseline + compare took $((SECONDS - start)) s"
