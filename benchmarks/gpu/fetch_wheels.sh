#!/usr/bin/env bash
# Downloads, on a machine with internet, the wheels the GPU machine lacks (Python 3.12,
# x86-64): the build's BLAS (scipy-openblas32) and the prdc package the tests compare with.
# They land in .whl/ at the repository root (ignored by git); the device tool carries that
# folder with `carry: [".whl"]` and device_check.sh installs it there.
#
# Then fastprdc itself, built here for that machine (Python 3.12, FASTPRDC_CUDA_ARCHITECTURES,
# default 90-real: H100 and H200) into .whl/prebuilt/ with the hash of the sources it was built
# from (source_hash.py), so that the device check installs it in seconds instead of compiling
# there. The device check builds anyway when the architecture or the sources differ (commit
# first, or run this again after a change) or the wheel does not load. Needs a Python 3.12 here
# (PY312, else python3.12 on PATH, else pyenv's); without one the device check builds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
mkdir -p .whl
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
platforms=()
for n in 28 27 17; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64)
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d .whl "scipy-openblas32>=0.3.27"
python3 -m pip download --no-deps --only-binary=:all: -d .whl "prdc==0.2"

is312() { [[ -n "$1" ]] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }
PY312="${PY312:-}"
if ! is312 "$PY312"; then
  PY312=""
  for cand in python3.12 $(command -v pyenv >/dev/null && ls -d "$(pyenv root)"/versions/3.12*/bin/python3.12); do
    if is312 "$cand"; then PY312="$cand"; fi
  done
fi
arch="${FASTPRDC_CUDA_ARCHITECTURES:-90-real}"
rm -rf .whl/prebuilt
prebuild() {  # in a Python 3.12 venv holding the BLAS wheel just downloaded (the one installed there)
  local venv=build/prebuild-venv
  "$PY312" -m venv "$venv" &&
    "$venv/bin/python" -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.12" .whl/scipy_openblas32-*.whl &&
    FASTPRDC_CUDA=ON FASTPRDC_CUDA_ARCHITECTURES="$arch" "$venv/bin/python" -m pip wheel -q --no-deps \
      --no-build-isolation -w .whl/prebuilt . &&
    echo "$arch" >.whl/prebuilt/ARCH &&
    "$PY312" benchmarks/gpu/source_hash.py >.whl/prebuilt/SOURCE
}
if [[ -z "$PY312" ]]; then
  echo "no Python 3.12 here (set PY312): the device check will build fastprdc on the GPU machine"
elif ! prebuild; then
  rm -rf .whl/prebuilt
  echo "building the fastprdc wheel failed: the device check will build it on the GPU machine"
fi
ls -la .whl .whl/prebuilt 2>/dev/null || true
