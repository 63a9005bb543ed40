"""The machine description saved with every benchmark run (pytest-benchmark ``machine_info``).

``pytest --benchmark-compare`` compares the baseline's ``machine_info`` with the current
one as sorted-key JSON and warns on any difference, so everything in it must come out the
same on every run on the same machine and setup:

* ``machine_info["fastprdc"]`` (:func:`describe_machine`): CPU model, cores, RAM, platform,
  library versions, native thread pools and ``fastprdc.show_config()``. Thread pools are
  sorted: threadpoolctl lists the loaded libraries in the iteration order of a ``set`` of
  paths read from ``/proc/self/maps``, which changes with every process's hash seed. No
  paths, PIDs, timings or free memory.
* pytest-benchmark's own keys, less the CPU clock (:data:`VOLATILE_CPU_KEYS`): py-cpuinfo
  reads the current frequency ("cpu MHz"), and uses it as the advertised one too when the
  brand string has none (as on AMD CPUs). :func:`split_volatile` moves those to the saved
  JSON's ``fastprdc_bench["volatile_machine_info"]``, which nothing compares.

:func:`machine_differences` names what differs between two descriptions (the benchmarks'
``conftest.py`` says it in one warning instead of pytest-benchmark's full JSON dumps).
"""

from __future__ import annotations

import io
import json
import os
import platform
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

# Kept per thread pool: what it is and how many threads it uses (no "filepath": it names
# the virtualenv, not the machine).
THREAD_POOL_KEYS = ("user_api", "internal_api", "prefix", "version", "num_threads", "architecture")

# py-cpuinfo keys of pytest-benchmark's machine_info["cpu"] that follow the current clock.
VOLATILE_CPU_KEYS = ("hz_actual", "hz_actual_friendly", "hz_advertised", "hz_advertised_friendly")

# Libraries the benchmarks time as baselines, imported before the thread pools are listed.
BENCHMARK_LIBRARIES = ("fastprdc", "prdc", "sklearn", "faiss", "psutil", "pytest_benchmark")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_bytes() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        return None


def _sort_key(pool: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple("" if pool.get(k) is None else str(pool.get(k)) for k in THREAD_POOL_KEYS)


def normalize_thread_pools(pools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``THREAD_POOL_KEYS`` of each pool, sorted: the same list whatever the input order."""
    kept = [{k: pool.get(k) for k in THREAD_POOL_KEYS} for pool in pools]
    return sorted(kept, key=_sort_key)


def thread_pools() -> list[dict[str, Any]]:
    """The native thread pools loaded in this process (threadpoolctl), sorted."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return normalize_thread_pools(threadpool_info())


def fastprdc_config() -> tuple[dict[str, Any], str]:
    """``fastprdc.show_config()`` (dict and printed text), else ``_core.build_info()``."""
    try:
        import fastprdc
    except Exception as exc:  # the benchmarks themselves will fail loudly
        return {"error": f"import fastprdc failed: {exc!r}"}, ""
    show = getattr(fastprdc, "show_config", None)
    if callable(show):
        buf = io.StringIO()
        cfg = show(file=buf)
        return json.loads(json.dumps(cfg, default=str)), buf.getvalue()
    from fastprdc import _core

    info = dict(_core.build_info())
    return {"core": info}, json.dumps(info, indent=2, default=str)


def library_versions() -> dict[str, str]:
    """Versions of python, numpy and :data:`BENCHMARK_LIBRARIES` (imported here, which also
    loads their native thread pools)."""
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in BENCHMARK_LIBRARIES:
        try:
            module = __import__(mod)
        except Exception:
            out[mod] = "not installed"
            continue
        version = getattr(module, "__version__", None)
        if version is None and mod == "prdc":
            try:
                from importlib.metadata import version as dist_version

                version = dist_version("prdc")
            except Exception:
                version = "unknown"
        out[mod] = str(version)
    try:  # metadata only: importing synthcity pulls in torch (and fails for 0.2.12, see
        # _synthcity_rendering.py); bench_alpha_beta.py says which baseline it used
        from importlib.metadata import version as dist_version

        out["synthcity"] = dist_version("synthcity")
    except Exception:
        out["synthcity"] = "not installed"
    return out


def describe_machine(
    *, threadpool_info: Iterable[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """CPU model, core counts, RAM, platform, library versions, thread pools and fastprdc's
    configuration: the same dict on every call on the same machine and setup.

    ``threadpool_info``: threadpoolctl's list to describe instead of this process's.
    """
    cfg, text = fastprdc_config()
    versions = library_versions()  # first: the thread pools are those of loaded libraries
    pools = thread_pools() if threadpool_info is None else normalize_thread_pools(threadpool_info)
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": physical_cores(),
        "ram_bytes": ram_bytes(),
        "platform": platform.platform(),
        "versions": versions,
        "thread_pools": pools,
        "show_config": cfg,
        "show_config_text": text,
    }


def split_volatile(machine_info: dict[str, Any]) -> dict[str, Any]:
    """Remove the values of pytest-benchmark's ``machine_info`` that change from run to run
    on the same machine (the CPU clock) and return them."""
    cpu = machine_info.get("cpu")
    if not isinstance(cpu, dict):
        return {}
    return {f"cpu.{key}": cpu.pop(key) for key in VOLATILE_CPU_KEYS if key in cpu}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, item in enumerate(value):  # e.g. thread_pools[2].num_threads
            out.update(_flatten(item, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


_MISSING = object()


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def machine_differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two ``machine_info`` dicts, one line per key (dotted path),
    with both values where they are short: ``["cpu.brand_raw: 'A' -> 'B'", ...]``."""
    old, new = _flatten(saved), _flatten(current)
    lines = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if _dumps(a) == _dumps(b):
            continue
        shown = ["(absent)" if v is _MISSING else repr(v) for v in (a, b)]
        if max(len(s) for s in shown) <= 60:
            lines.append(f"{key}: {shown[0]} -> {shown[1]}")
        else:
            lines.append(key)
    return lines
