"""The hash of the sources a fastprdc build is made from: printed by ``source_hash.py [ROOT]``.

``fetch_wheels.sh`` records it beside the wheel it builds for the GPU machine, and
``device_check.sh`` installs that wheel only when the tree it runs on hashes the same (else it
builds there), so a wheel built from other sources is never the one measured. The build's
inputs are the files below; byte code, compiled extensions and caches are skipped, as git
ignores them and the device tool does not carry them.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

#: What a build reads, relative to the repository root.
SOURCES = ("CMakeLists.txt", "pyproject.toml", "csrc", "python")
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".so"}


def _files(root: Path) -> list[Path]:
    out = []
    for name in SOURCES:
        top = root / name
        if top.is_file():
            out.append(top)
        elif top.is_dir():
            out += [f for f in top.rglob("*") if f.is_file() and not _skipped(f.relative_to(root))]
    return sorted(out, key=lambda f: f.relative_to(root).as_posix())


def _skipped(rel: Path) -> bool:
    hidden = any(p in _SKIP_DIRS or p.startswith(".") for p in rel.parts)
    return hidden or rel.suffix in _SKIP_SUFFIXES


def source_hash(root: Path) -> str:
    """SHA-256 over each source file's path and contents (both length-prefixed)."""
    h = hashlib.sha256()
    for f in _files(root):
        for part in (f.relative_to(root).as_posix().encode(), f.read_bytes()):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
    return h.hexdigest()


if __name__ == "__main__":
    print(source_hash(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
