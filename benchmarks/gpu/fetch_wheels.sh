#!/usr/bin/env bash
# Downloads, on a machine with internet, the wheels the GPU machine lacks (Python 3.12,
# x86-64): the build's BLAS (scipy-openblas32) and the prdc package the tests compare with.
# They land in .whl/ at the repository root (ignored by git); the device tool carries that
# folder with `carry: [".whl"]` and device_check.sh installs it there.
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
ls -la .whl
