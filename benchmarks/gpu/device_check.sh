#!/usr/bin/env bash
# The one prepared device check (issue 7). On a lent GPU machine (H100/H200, no internet,
# Python 3.12 with torch, CuPy, nvcc, cmake, ninja, pybind11, scikit-build-core, pytest,
# pytest-benchmark, pytest-xdist), from the repository root, with the wheels of
# benchmarks/gpu/fetch_wheels.sh carried in .whl/:
#
#   bash benchmarks/gpu/device_check.sh        (device tool: carry [".whl"], timeout 540)
#   bash benchmarks/gpu/device_check.sh 1m     (then, on the warm machine: the 1M figures)
#
# Stages (each bounded by its own timeout, each writing $OUT/<stage>.log and .status, so that a
# timeout keeps what came before): install (build the CUDA extension for this GPU's architecture),
# smoke (cuda/cupy/cpu agree on a small case), tests (GPU tests and every exactness test on the
# cuda and cupy backends), sanitizer (compute-sanitizer memcheck of a small run of every kernel),
# bench (benchmarks/bench_gpu.py, JSON in $OUT/bench_gpu.json). A short table comes last.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT="${OUT:-/tmp/fastprdc-device-check}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
START=$SECONDS

stage() {  # stage NAME TIMEOUT_SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s, at $((SECONDS - START))s)"
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  if [[ $rc -eq 0 ]]; then echo "ok ($((SECONDS - START))s)" >"$OUT/$name.status"
  elif [[ $rc -eq 124 ]]; then echo "TIMEOUT after ${limit}s" >"$OUT/$name.status"
  else echo "FAILED (exit $rc)" >"$OUT/$name.status"; fi
  tail -n 25 "$OUT/$name.log"
  cat "$OUT/$name.status"
  return $rc
}

nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
cc=$("$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'{p.major}{p.minor}')" 2>/dev/null || echo 90)
export FASTPRDC_CUDA=ON FASTPRDC_CUDA_ARCHITECTURES="${FASTPRDC_CUDA_ARCHITECTURES:-${cc}-real}"

install() {
  set -e
  if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-build-isolation .whl/*.whl
  fi
  "$PY" -m pip install -v --no-index --no-deps --no-build-isolation \
    --config-settings=build-dir=build/device .
  cd /tmp && "$PY" -c "import fastprdc; fastprdc.show_config()"
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
  "$PY" -m pytest -p no:cacheprovider benchmarks/bench_gpu.py --benchmark-only \
    --benchmark-json="$OUT/$2" -s -k "$1"
}

MODE="${1:-all}"
if [[ "$MODE" == "1m" ]]; then  # the million-sample figures (minutes each)
  stage install 240 bash -c "$(declare -f install); PY=$PY install" &&
    stage bench 540 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench '1m' bench_gpu_1m.json"
else
  stage install 180 bash -c "$(declare -f install); PY=$PY install" && {
    stage smoke 60 bash -c "$(declare -f smoke); PY=$PY smoke"
    stage tests 150 bash -c "$(declare -f tests); PY=$PY tests"
    stage sanitizer 60 bash -c "$(declare -f sanitizer); PY=$PY sanitizer"
    stage bench 150 bash -c "$(declare -f bench); PY=$PY OUT=$OUT bench 'not 1m' bench_gpu.json"
  }
fi
cp -f build/device/CMakeCache.txt "$OUT/" 2>/dev/null || true
"$PY" benchmarks/gpu/summarize.py "$OUT"
echo "total $((SECONDS - START)) s"
