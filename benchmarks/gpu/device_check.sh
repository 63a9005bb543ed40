#!/usr/bin/env bash
# The one prepared device check (issue 7). On a lent GPU machine (H100/H200, no internet,
# Python 3.12 with torch, CuPy, nvcc, cmake, ninja, pybind11, scikit-build-core, pytest,
# pytest-benchmark, pytest-xdist), from the repository root, with the wheels of
# benchmarks/gpu/fetch_wheels.sh carried in .whl/:
#
#   bash benchmarks/gpu/device_check.sh        (device tool: carry [".whl"], timeout_s 600)
#   FASTPRDC_GPU_GEMM=<path> bash benchmarks/gpu/device_check.sh 1m
#                                              (then, on the warm machine: the 1M figures on the
#                                               GEMM path the first run found faster)
#
# Stages (each bounded by its own timeout and by what is left of BUDGET seconds, default 560, so
# that the script ends, and its files come back, before the device tool's 600 s limit; each
# writing <stage>.log and a status line, so that a timeout keeps what came before): install
# (build the CUDA extension for this GPU's architecture), smoke (cuda/cupy/cpu agree on a small
# case), tests (GPU tests and every exactness test on the cuda and cupy backends), sanitizer
# (compute-sanitizer memcheck of a small run of every kernel), gemm_paths (fp32 vs tf32x3 at 100k;
# the faster one runs every later figure), bench (the other figures of benchmarks/bench_gpu.py),
# then, with the time left, the 1M Gaussian figure. The device tool returns at most 8 files from
# $OUT: the logs go into $OUT/logs.tar.gz (rewritten after every stage), the benchmark JSON and
# the summary table (printed last) beside it.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT="${OUT:-/tmp/fastprdc-device-check}"
LOGS="${LOGS:-/tmp/fastprdc-device-logs}"
mkdir -p "$OUT" "$LOGS"
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
BUDGET="${BUDGET:-560}"
START=$SECONDS

pack() { tar czf "$OUT/logs.tar.gz" -C "$LOGS" . 2>/dev/null || true; }

stage() {  # stage NAME TIMEOUT_SECONDS COMMAND...  (limited to the budget left, 20 s kept for the end)
  local name=$1 limit=$2
  shift 2
  local left=$((BUDGET - (SECONDS - START) - 20))
  if ((left < 30)); then
    echo "skipped: no time left" >"$LOGS/$name.status"
    echo "== $name skipped: no time left"
    return 1
  fi
  ((limit > left)) && limit=$left
  echo "== $name (limit ${limit}s, at $((SECONDS - START))s)"
  timeout "$limit" "$@" >"$LOGS/$name.log" 2>&1
  local rc=$?
  if [[ $rc -eq 0 ]]; then echo "ok ($((SECONDS - START))s)" >"$LOGS/$name.status"
  elif [[ $rc -eq 124 ]]; then echo "TIMEOUT after ${limit}s" >"$LOGS/$name.status"
  else echo "FAILED (exit $rc)" >"$LOGS/$name.status"; fi
  tail -n 25 "$LOGS/$name.log"
  cat "$LOGS/$name.status"
  pack
  return $rc
}

nvidia-smi >"$LOGS/nvidia-smi.txt" 2>&1 || true
cc=$("$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'{p.major}{p.minor}')" 2>/dev/null || echo 90)
export FASTPRDC_CUDA=ON FASTPRDC_CUDA_ARCHITECTURES="${FASTPRDC_CUDA_ARCHITECTURES:-${cc}-real}"

# Everything is installed into $SITE (on PYTHONPATH), not into the image's environment.
SITE="${SITE:-/tmp/site}"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"

install() {
  set -e
  mkdir -p "$SITE"
  if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" .whl/*.whl
  fi
  "$PY" -m pip install -v --no-index --no-deps --no-build-isolation --upgrade --target "$SITE" \
    --config-settings=build-dir=build/device .
  cd /tmp && "$PY" -c "import fastprdc; print(fastprdc.__file__); fastprdc.show_config()"
  # The cupy backend's NVRTC compile (about 45 s) once, into the disk cache, before anything
  # is timed or run in parallel (the cache key holds the installed headers' path).
  "$PY" -c "import cupy; from fastprdc._backends.cupy_backend import compile_kernels as c; \
c('sm_' + cupy.cuda.Device().compute_capability)" || echo "cupy kernels not compiled here"
}

smoke() {
  cd /tmp && "$PY" - <<'PYCODE'
import numpy as np, fastprdc
rng = np.random.default_rng(0)
real, fake = rng.standard_normal((3000, 64), np.float32), rng.standard_normal((2500, 64), np.float32) + 0.1
ref = fastprdc.evaluate(real, fake, metrics="all", device="cpu", sample_level=True)
for device in ("cuda", "cupy"):
    res = fastprdc.evaluate(real, fake, metrics="all", device=device, sample_level=True)
    assert res.scalars == ref.scalars, (device, res.scalars, ref.scalars)
    print(device, "== cpu", res.info["timings"], res.info["n_rechecked"])
PYCODE
}

tests() {
  "$PY" -m pytest -q -x -p no:cacheprovider -n 8 tests/test_gpu.py tests/test_gpu_build.py &&
    "$PY" -m pytest -q -p no:cacheprovider -n 8 -k "cuda or cupy" tests/
}

sanitizer() {
  local cs
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  [[ -n "$cs" ]] || { echo "compute-sanitizer not found"; return 1; }
  "$cs" --tool memcheck --leak-check full --error-exitcode 3 "$PY" benchmarks/gpu/sanitize_case.py
}

bench() {  # bench SELECTION JSON
  "$PY" -m pytest -p no:cacheprovider -W ignore::pytest_benchmark.logger.PytestBenchmarkWarning \
    benchmarks/bench_gpu.py --benchmark-only \
    --benchmark-json="$OUT/$2" -s -k "$1"
}

MODE="${1:-all}"
if [[ "$MODE" == "1m" ]]; then  # the million-sample figures (minutes each)
  stage install 240 bash -c "$(declare -f install); PY=$PY SITE=$SITE install" &&
    stage bench_1m 540 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench '1m' bench_gpu_1m.json"
else
  stage install 180 bash -c "$(declare -f install); PY=$PY SITE=$SITE install" && {
    stage smoke 45 bash -c "$(declare -f smoke); PY=$PY smoke"
    stage tests 150 bash -c "$(declare -f tests); PY=$PY tests"
    stage sanitizer 60 bash -c "$(declare -f sanitizer); PY=$PY sanitizer"
    # fp32 vs tf32x3 first: the later figures run on the faster path (the default is chosen by
    # measurement; FASTPRDC_GPU_GEMM set by the caller is kept when this figure is missing)
    stage gemm_paths 60 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench 'gemm_paths' bench_gpu_paths.json"
    FASTPRDC_GPU_GEMM=$("$PY" benchmarks/gpu/gemm_choice.py "$OUT/bench_gpu_paths.json")
    export FASTPRDC_GPU_GEMM
    echo "GEMM path for the figures: $FASTPRDC_GPU_GEMM" | tee "$LOGS/gemm_path.txt"
    stage bench 150 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench 'not 1m and not gemm_paths' bench_gpu.json"
    stage bench_1m 540 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench '1m and gaussian' bench_gpu_1m.json"
  }
fi
cp -f build/device/CMakeCache.txt "$LOGS/" 2>/dev/null || true
pack
"$PY" benchmarks/gpu/summarize.py "$LOGS" "$OUT" | tee "$OUT/summary.txt"
echo "total $((SECONDS - START)) s"
