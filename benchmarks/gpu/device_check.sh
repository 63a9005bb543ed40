#!/usr/bin/env bash
# The one prepared device check (issue 7). On a lent GPU machine (H100/H200, no internet,
# Python 3.12 with torch, CuPy, nvcc, cmake, ninja, pybind11, scikit-build-core, pytest,
# pytest-benchmark, pytest-xdist, pytest-timeout, and, by the device library's package list of
# 2026-11-17, scipy, hypothesis, matplotlib, scikit-learn, psutil), from the repository root,
# with the wheels of benchmarks/gpu/fetch_wheels.sh carried in .whl/:
#
#   bash benchmarks/gpu/device_check.sh        (device tool: carry [".whl"], timeout_s 420)
#   FASTPRDC_GPU_GEMM=<path> FASTPRDC_GPU_TILE_GATES=<0|1> FASTPRDC_GPU_TILE_GROUP=<0|1> \
#     FASTPRDC_GPU_DEFER_RECHECKS=<0|1> FASTPRDC_GPU_OVERLAP=<0|1> \
#     bash benchmarks/gpu/device_check.sh 1m    (timeout_s 360; the next call, at once while the
#                                               machine is warm: both 1M figures, with the GEMM
#                                               path, tile gates, tile groups, deferral and
#                                               overlap the first call found faster; it prints
#                                               this line)
#   BUDGET=<s> bash benchmarks/gpu/device_check.sh checks   (a rerun after a fix: smoke_cuda,
#                                              sanitizer, tests_gpu, nvrtc, tests; no figures)
#
# Stages, most needed first, each bounded by its own timeout and by what is left of BUDGET
# seconds (default 380, and 330 in the 1m mode: a task's 15 device-minutes, a machine's start
# included, hold both calls only if the second follows at once; with less left, say `status`'s
# budget_left_s, give BUDGET = that - 90 and timeout_s = BUDGET + 30), each writing <stage>.log
# and a status line
# so that a timeout keeps what came before (a stage that runs out of time gets SIGINT, so that
# pytest still reports and pytest-benchmark still writes the figures already measured):
#   install     the wheel fetch_wheels.sh built for this GPU's architecture from these very
#               sources (seconds), else a build here (its kernel shards compile in parallel);
#               then the cupy backend's NVRTC compile (a minute or two on one core) starts in
#               the background, into the kernel cache
#   smoke_cuda  the cuda backend equals cpu on a small evaluate(all): else no figure runs
#   tests_gpu   the GPU tests (test_gpu.py, test_gpu_build.py and the GPU cases of
#               test_gpu_pipeline.py; its sim cases ran in CI), one process: they measure device
#               memory
#   gemm_paths  fp32, tf32x3, tf32, fp16 and fp16x3 at 100k: the fastest runs every later figure
#   bench       the 100k figures on the cuda backend: vs torch, exact overhead, duplicated rows,
#               the kernel profile, tile gates on/off, tile groups vs a tile per launch,
#               deferred vs inline ball rechecks, GEMMs overlapping kernels vs one stream
#   nvrtc       waits for the NVRTC compile (normally over by then) and shows its log's end
#   smoke_cupy  the cupy backend equals cpu, in its own process
#   bench_cupy  the cupy vs cuda figure
#   sanitizer   compute-sanitizer memcheck and initcheck of a small run of every kernel
#   tests       every other test on the cuda and cupy backends (8 processes), with what is left
# The million-sample figures (N = M = 1M, d = 2048, evaluate(all): minutes each, more than this
# budget leaves) run in the `1m` mode, a second call. When smoke_cuda fails (cuda differs from cpu)
# the kernels are wrong: the figures are skipped and the tests run, for the diagnosis; when
# smoke_cupy fails, only the cupy figure is skipped. The device tool returns at most 8 files from $OUT: the logs go
# into $OUT/logs.tar.gz (rewritten after every stage), the benchmark JSON and the summary table
# (printed last) beside it. Back here, the JSON goes to benchmarks/gpu/results/ and
# `python benchmarks/report.py benchmarks/RESULTS.json` adds it to benchmarks/RESULTS.md
# (benchmarks/README.md, "GPU figures").
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT="${OUT:-/tmp/fastprdc-device-check}"
LOGS="${LOGS:-/tmp/fastprdc-device-logs}"
mkdir -p "$OUT" "$LOGS"
# this call's statuses, notes and logs only (a second call on a warm machine finds the first's)
rm -f "$LOGS"/*.status "$LOGS"/*.txt "$LOGS"/*.log "$LOGS"/*.rc "$LOGS"/*.part
export PYTHONUNBUFFERED=1
unset FASTPRDC_GPU_REHEARSAL FASTPRDC_BENCH_GPU_REHEARSAL  # the real GPU, never the stand-in
PY="${PYTHON:-python3}"
MODE="${1:-all}"
BUDGET="${BUDGET:-$([[ "$MODE" == 1m ]] && echo 330 || echo 380)}"
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
  # SIGINT first (pytest then reports and writes its JSON), SIGKILL 15 s later if still running
  timeout -s INT -k 15 "$limit" "$@" >"$LOGS/$name.log" 2>&1
  local rc=$?
  if [[ $rc -eq 0 ]]; then echo "ok ($((SECONDS - START))s)" >"$LOGS/$name.status"
  elif [[ $rc -eq 124 || $rc -eq 137 ]]; then echo "TIMEOUT after ${limit}s" >"$LOGS/$name.status"
  elif [[ $rc -eq 4 ]] && grep -q "unsupported here" "$LOGS/$name.log"; then
    grep -m1 -o "unsupported here.*" "$LOGS/$name.log" >"$LOGS/$name.status"
  else echo "FAILED (exit $rc)" >"$LOGS/$name.status"; fi
  tail -n 25 "$LOGS/$name.log"
  cat "$LOGS/$name.status"
  pack
  return $rc
}

timeout 60 nvidia-smi >"$LOGS/nvidia-smi.txt" 2>&1 || true
cc=$(timeout 60 "$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'{p.major}{p.minor}')" 2>/dev/null || echo 90)
export FASTPRDC_CUDA=ON FASTPRDC_CUDA_ARCHITECTURES="${FASTPRDC_CUDA_ARCHITECTURES:-${cc}-real}"

# Everything is installed into $SITE (on PYTHONPATH), not into the image's environment; the
# cupy backend's compiled kernels go to a cache that every process of the check shares.
SITE="${SITE:-/tmp/site}"
WHEELS="${WHEELS:-.whl}"  # fetch_wheels.sh's, carried; relative to the repository root
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
export FASTPRDC_KERNEL_CACHE="${FASTPRDC_KERNEL_CACHE:-/tmp/fastprdc-kernels}"

install() {
  set -e
  mkdir -p "$SITE"
  if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" "$WHEELS"/*.whl
  fi
  local how="the prebuilt wheel"
  if ! install_prebuilt; then
    how="built here"
    "$PY" -m pip install -v --no-index --no-deps --no-build-isolation --upgrade --target "$SITE" \
      --config-settings=build-dir=build/device .
  fi
  (cd /tmp && "$PY" -c "import fastprdc; print(fastprdc.__file__); fastprdc.show_config()")
  echo "fastprdc installed: $how"  # last, so that the stage's printed tail shows it
}

install_prebuilt() {  # the wheel fetch_wheels.sh built from these very sources for this architecture
  local dir="$WHEELS/prebuilt" arch source
  if ! ls "$dir"/fastprdc-*.whl >/dev/null 2>&1; then echo "no prebuilt wheel: building here"; return 1; fi
  arch=$(cat "$dir/ARCH" 2>/dev/null || true)
  if [[ "$arch" != "$FASTPRDC_CUDA_ARCHITECTURES" ]]; then
    echo "the prebuilt wheel is for ${arch:-an unknown architecture}, not $FASTPRDC_CUDA_ARCHITECTURES: building here"
    return 1
  fi
  source=$("$PY" benchmarks/gpu/source_hash.py .)
  if [[ -z "$source" || "$source" != "$(cat "$dir/SOURCE" 2>/dev/null || true)" ]]; then
    echo "the prebuilt wheel was built from other sources: building here"
    return 1
  fi
  "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" "$dir"/fastprdc-*.whl &&
    (cd /tmp && "$PY" -c "import fastprdc._cuda") || {
    echo "the prebuilt wheel does not load here: building here"
    return 1
  }
  echo "installed the prebuilt wheel ($arch)"
}

nvrtc() {  # the cupy backend's NVRTC compile, once, into the disk cache (its key holds the
  # installed headers' path), before the cupy backend is timed or run in parallel
  cd /tmp && "$PY" -c "import cupy; from fastprdc._backends.cupy_backend import compile_kernels as c; \
c('sm_' + cupy.cuda.Device().compute_capability)"
}

smoke() {  # smoke DEVICE, in its own process: a kernel fault (sticky on the context) blames it
  local device=$1
  (cd /tmp && "$PY" - "$device" <<'PYCODE'
import sys, numpy as np, fastprdc
device = sys.argv[1]
rng = np.random.default_rng(0)
real, fake = rng.standard_normal((3000, 64), np.float32), rng.standard_normal((2500, 64), np.float32) + 0.1
ref = fastprdc.evaluate(real, fake, metrics="all", device="cpu", sample_level=True)
res = fastprdc.evaluate(real, fake, metrics="all", device=device, sample_level=True)
assert res.scalars == ref.scalars, (device, res.scalars, ref.scalars)
print(device, "== cpu", res.info["timings"], res.info["n_rechecked"])
PYCODE
  )
}

wait_nvrtc() {  # the end of the background NVRTC compile: its log's end and exit status
  while [[ ! -f "$LOGS/nvrtc.rc" ]]; do sleep 1; done
  tail -n 30 "$LOGS/nvrtc.log"
  return "$(cat "$LOGS/nvrtc.rc")"
}

GPU_TESTS="tests/test_gpu.py tests/test_gpu_build.py tests/test_gpu_pipeline.py"

tests_gpu() {  # one process: some of these compare the device's free memory before and after
  # (the NVRTC compile test compiles from scratch, a minute or two: the nvrtc stage compiled the
  # same text, and CI runs that test; test_gpu_pipeline.py's sim cases, minutes on the CPU, ran
  # in CI: its GPU cases only)
  "$PY" -m pytest -q -p no:cacheprovider -p no:xdist --timeout 120 \
    --deselect tests/test_gpu_build.py::test_nvrtc_compiles_the_kernel_text \
    tests/test_gpu.py tests/test_gpu_build.py "tests/test_gpu_pipeline.py::test_column_mean_is_the_sequential_sum"
}

tests() {  # every other test, on the GPU backends (cpu, numpy and sim ran in CI)
  local skip=()
  for f in $GPU_TESTS; do skip+=(--ignore "$f"); done
  # (pytest-benchmark off: beside xdist it warns, and the tests make every warning an error)
  "$PY" -m pytest -q -p no:cacheprovider -p no:benchmark -n 8 --timeout 120 --maxfail 30 \
    -k "cuda or cupy" \
    --continue-on-collection-errors "${skip[@]}" tests/
}

sanitizer() {  # exit 4: the tool cannot run on this machine (e.g. gVisor: "Device not supported")
  local cs rc=0
  cs=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)}
  [[ -n "$cs" ]] || { echo "compute-sanitizer unsupported here: not found"; return 4; }
  for tool in memcheck initcheck; do
    echo "-- $tool"
    # every kernel instrumented: initcheck must see cuBLAS write the tiles our kernels read
    "$cs" --tool "$tool" --error-exitcode 3 "$PY" benchmarks/gpu/sanitize_case.py 2>&1 |
      tee "/tmp/$tool.log"
    local r=${PIPESTATUS[0]}
    if grep -q "Device not supported" "/tmp/$tool.log"; then
      echo "compute-sanitizer unsupported here: Device not supported"
      return 4
    fi
    ((r != 0)) && rc=$r
  done
  return $rc
}

bench() {  # bench SELECTION JSON (a library's DeprecationWarning must not stop a figure)
  "$PY" -m pytest -p no:cacheprovider -W ignore::pytest_benchmark.logger.PytestBenchmarkWarning \
    -W ignore::DeprecationWarning benchmarks/bench_gpu.py --benchmark-only \
    --benchmark-json="$OUT/$2" -s -k "$1"
}

run_tests() { stage tests "$1" bash -c "GPU_TESTS='$GPU_TESTS'; $(declare -f tests); PY=$PY tests"; }

install_stage() { stage install 240 bash -c "$(declare -f install install_prebuilt); PY=$PY SITE=$SITE WHEELS=$WHEELS install"; }
smoke_stage() { stage "smoke_$1" 45 bash -c "$(declare -f smoke); PY=$PY smoke $1"; }
tests_gpu_stage() { stage tests_gpu 60 bash -c "$(declare -f tests_gpu); PY=$PY tests_gpu"; }
nvrtc_stage() { stage nvrtc 150 bash -c "$(declare -f wait_nvrtc); LOGS=$LOGS wait_nvrtc"; }
sanitizer_stage() { stage sanitizer 100 bash -c "$(declare -f sanitizer); PY=$PY sanitizer"; }
start_nvrtc() {  # in the background, into the kernel cache; its exit status written whole
  (bash -c "$(declare -f nvrtc); PY=$PY nvrtc" >"$LOGS/nvrtc.log" 2>&1
    echo $? >"$LOGS/nvrtc.rc.part" && mv "$LOGS/nvrtc.rc.part" "$LOGS/nvrtc.rc") &
}
if [[ "$MODE" == "1m" ]]; then  # both million-sample figures (minutes each)
  install_stage &&
    stage bench_1m 540 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench '1m' bench_gpu_1m.json"
elif [[ "$MODE" == "checks" ]]; then  # the checks alone (a rerun after a fix): no figures
  install_stage && {
    start_nvrtc
    smoke_stage cuda
    sanitizer_stage
    tests_gpu_stage
    nvrtc_stage
    run_tests 240
  }
else
  install_stage && {
    start_nvrtc
    cuda_ok=1
    smoke_stage cuda || cuda_ok=0
    tests_gpu_stage
    if ((cuda_ok)); then
      # the GEMM paths first: the later figures run on the fastest (the default is chosen by
      # measurement; when this figure is missing, FASTPRDC_GPU_GEMM set by the caller is kept,
      # else the cuda backend's default for this GPU)
      stage gemm_paths 90 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench 'gemm_paths' bench_gpu_paths.json"
      FASTPRDC_GPU_GEMM=$("$PY" benchmarks/gpu/gemm_choice.py "$OUT/bench_gpu_paths.json")
      export FASTPRDC_GPU_GEMM
      echo "GEMM path for the figures: $FASTPRDC_GPU_GEMM" | tee "$LOGS/gemm_path.txt"
      stage bench 200 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench 'not 1m and not gemm_paths and not cupy' bench_gpu.json"
      # the tile gates, tile groups, deferral and overlap, as their figures found faster
      gates=$("$PY" benchmarks/gpu/gemm_choice.py "$OUT/bench_gpu.json" --tile-gates)
      group=$("$PY" benchmarks/gpu/gemm_choice.py "$OUT/bench_gpu.json" --tile-group)
      defer=$("$PY" benchmarks/gpu/gemm_choice.py "$OUT/bench_gpu.json" --defer-rechecks)
      overlap=$("$PY" benchmarks/gpu/gemm_choice.py "$OUT/bench_gpu.json" --overlap)
      echo "next call (1M figures): FASTPRDC_GPU_GEMM=$FASTPRDC_GPU_GEMM FASTPRDC_GPU_TILE_GATES=$gates FASTPRDC_GPU_TILE_GROUP=$group FASTPRDC_GPU_DEFER_RECHECKS=$defer FASTPRDC_GPU_OVERLAP=$overlap bash benchmarks/gpu/device_check.sh 1m" |
        tee "$LOGS/next.txt"
    fi
    cupy_ok=0
    nvrtc_stage && smoke_stage cupy && cupy_ok=1
    if ((cuda_ok && cupy_ok)); then
      stage bench_cupy 60 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench 'cupy' bench_gpu_cupy.json"
    fi
    sanitizer_stage
    run_tests 240
  }
fi
cp -f build/device/CMakeCache.txt "$LOGS/" 2>/dev/null || true
pack
"$PY" benchmarks/gpu/summarize.py "$LOGS" "$OUT" | tee "$OUT/summary.txt"
echo "total $((SECONDS - START)) s"
