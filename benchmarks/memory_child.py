"""Child process of ``bench_memory.py``: builds the data (or maps it from .npy files), runs
``fastprdc.evaluate`` with all four metrics (precision, recall, density, coverage) and prints one
JSON line with its peak resident memory and timings.

    python benchmarks/memory_child.py N M D [K] [--memmap DIR] [--max-memory BYTES]

``--memmap DIR`` maps ``DIR/real.npy`` and ``DIR/fake.npy`` (written by :func:`write_inputs`,
the same values as the in-memory data) read-only instead of generating the data in memory.
The child also samples its anonymous resident memory (``RssAnon``: heap, not the file-backed
pages of a memory map) during the call.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np


def _status_bytes(field: str) -> int | None:
    """``VmRSS`` / ``VmHWM`` of this process from /proc/self/status (Linux), in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class _AnonSampler(threading.Thread):
    """Largest ``RssAnon`` seen every 5 ms (the native engine runs without the GIL)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _status_bytes("RssAnon") or 0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _status_bytes("RssAnon") or 0)
            time.sleep(0.005)

    def stop(self) -> int:
        self.running = False
        self.join()
        return max(self.peak, _status_bytes("RssAnon") or 0)


def _generate(n: int, m: int, d: int, block: int | None = None):
    """The benchmark's data, as (rows, kind) blocks: real ~ N(0, 1), fake ~ 0.1 + N(0, 1),
    float32, from one seeded stream (blocks give the same values as whole arrays)."""
    rng = np.random.default_rng(4)
    for rows, shift in ((n, 0.0), (m, 0.1)):
        step = block or rows
        for r0 in range(0, rows, step):
            x = rng.standard_normal((min(step, rows - r0), d), dtype=np.float32)
            if shift:
                x += np.float32(shift)
            yield ("real" if shift == 0.0 else "fake"), r0, x


def write_inputs(directory: Path, n: int, m: int, d: int) -> int:
    """Writes ``real.npy`` and ``fake.npy`` (the in-memory data) in blocks; returns their bytes."""
    files = {
        name: np.lib.format.open_memmap(
            directory / f"{name}.npy", mode="w+", dtype=np.float32, shape=(rows, d)
        )
        for name, rows in (("real", n), ("fake", m))
    }
    for name, r0, x in _generate(n, m, d, block=4096):
        files[name][r0 : r0 + x.shape[0]] = x
    for mm in files.values():
        mm.flush()
    return int(sum(mm.nbytes for mm in files.values()))


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _ru_maxrss_bytes() -> int:
    # Linux keeps the pre-exec (forked parent's) high-water mark here too, so this can
    # overstate; VmHWM (per address space) is the primary figure where it exists.
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", type=int, nargs="+", help="N M D [K]")
    parser.add_argument("--memmap", type=Path, default=None)
    parser.add_argument("--max-memory", type=int, default=None)
    args = parser.parse_args(argv)
    n, m, d = args.sizes[:3]
    k = args.sizes[3] if len(args.sizes) > 3 else 5
    import fastprdc

    t0 = time.perf_counter()
    if args.memmap is None:
        data = {}
        for name, _, x in _generate(n, m, d):
            data[name] = x
        real, fake = data["real"], data["fake"]
    else:
        real = np.load(args.memmap / "real.npy", mmap_mode="r")
        fake = np.load(args.memmap / "fake.npy", mmap_mode="r")
        assert real.shape == (n, d) and fake.shape == (m, d), (real.shape, fake.shape)
    data_seconds = time.perf_counter() - t0

    rss_before = _status_bytes("VmRSS")
    anon_before = _status_bytes("RssAnon")
    hwm_before = _status_bytes("VmHWM")  # peak so far (imports, data generation)
    hwm_reset = _reset_peak()
    sampler = _AnonSampler()
    sampler.start()
    t0 = time.perf_counter()
    result = fastprdc.evaluate(
        real, fake, k=k, metrics=("precision_recall", "density_coverage"),
        max_memory=args.max_memory,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    anon_peak = sampler.stop()
    hwm_after = _status_bytes("VmHWM")
    if hwm_before is not None and hwm_after is not None:
        peak = max(hwm_before, hwm_after)  # whole life of this process (after exec)
    else:
        peak = _ru_maxrss_bytes()
    out = {
        "n": n, "m": m, "d": d, "k": k,
        "input_bytes": int(real.nbytes + fake.nbytes),
        "memmap": args.memmap is not None,
        "max_memory": args.max_memory,
        "rss_before_evaluate": rss_before,
        "peak_rss_during_evaluate": hwm_after if hwm_reset else None,
        "peak_rss_process": peak,
        "ru_maxrss": _ru_maxrss_bytes(),
        "rss_anon_before_evaluate": anon_before,
        "peak_rss_anon_during_evaluate": anon_peak if anon_before is not None else None,
        "rss_file_after_evaluate": _status_bytes("RssFile"),
        "evaluate_seconds": seconds,
        "data_seconds": data_seconds,
        "scalars": {m_: v[k] for fam in result.scalars.values() for m_, v in fam.items()},
        "n_rechecked": result.info.get("n_rechecked"),
        "timings": result.info.get("timings"),
    }  # fmt: skip
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
