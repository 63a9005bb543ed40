"""Child process of ``bench_memory.py``: builds the data, runs ``fastprdc.evaluate`` with all
four metrics (precision, recall, density, coverage) and prints one JSON line with its peak
resident memory and timings.

    python benchmarks/memory_child.py N M D [K]
"""

from __future__ import annotations

import json
import resource
import sys
import time

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
    n, m, d = (int(a) for a in argv[:3])
    k = int(argv[3]) if len(argv) > 3 else 5
    import fastprdc

    t0 = time.perf_counter()
    rng = np.random.default_rng(4)
    real = rng.standard_normal((n, d), dtype=np.float32)
    fake = rng.standard_normal((m, d), dtype=np.float32)
    fake += np.float32(0.1)
    data_seconds = time.perf_counter() - t0

    rss_before = _status_bytes("VmRSS")
    hwm_before = _status_bytes("VmHWM")  # peak so far (imports, data generation)
    hwm_reset = _reset_peak()
    t0 = time.perf_counter()
    result = fastprdc.evaluate(real, fake, k=k, metrics=("precision_recall", "density_coverage"))
    seconds = time.perf_counter() - t0
    hwm_after = _status_bytes("VmHWM")
    if hwm_before is not None and hwm_after is not None:
        peak = max(hwm_before, hwm_after)  # whole life of this process (after exec)
    else:
        peak = _ru_maxrss_bytes()
    out = {
        "n": n, "m": m, "d": d, "k": k,
        "input_bytes": int(real.nbytes + fake.nbytes),
        "rss_before_evaluate": rss_before,
        "peak_rss_during_evaluate": hwm_after if hwm_reset else None,
        "peak_rss_process": peak,
        "ru_maxrss": _ru_maxrss_bytes(),
        "evaluate_seconds": seconds,
        "data_seconds": data_seconds,
        "scalars": {m_: v[k] for fam in result.scalars.values() for m_, v in fam.items()},
        "n_rechecked": result.info.get("n_rechecked"),
        "timings": result.info.get("timings"),
    }  # fmt: skip
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
