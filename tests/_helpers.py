"""Data generators, a package-independent brute-force oracle and assertion helpers.

Everything in this file is written from the definitions in ``docs/metrics.md`` and the
internal contract, *not* from fastprdc's own code, so that the tests compare the
package against an independent implementation:

* distances: ``d2 = sum_t (x[t] - y[t]) ** 2`` accumulated sequentially over ``t`` in
  float64 (no norm expansion), then ``sqrt``;
* inputs: float64 stays float64, any other dtype is first cast to float32;
* kNN: sorted by (distance, index); self excluded by position;
* membership: ``dist <= r`` (inclusive) or ``dist < r`` (strict).
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

#: The fast backends (the numpy reference is the oracle they are compared with). cpu is required;
#: the GPU backends run where they are available and skip with the registry's reason elsewhere;
#: sim (the GPU pipeline with its kernels run on the CPU) runs everywhere.
FAST_BACKENDS = ["cpu", "cuda", "cupy", "sim"]
BACKENDS = ["numpy", *FAST_BACKENDS]
DTYPES = [np.float32, np.float64]
ORDERS = ["C", "F"]
BOUNDARIES = ["inclusive", "strict"]

REFERENCE_DIR = Path(__file__).parent / "data" / "reference"
REFERENCE_CASES = ["pub_gauss8", "pub_lattice3", "pub_modes16"]


def require_backend(name):
    """Skip the calling test, with the registry's reason, when backend ``name`` is unavailable.
    The cpu, sim and numpy backends are never skipped: without them their tests fail."""
    import pytest

    from fastprdc._backends import available_backends

    if name in ("cpu", "sim", "numpy"):
        return name
    reason = available_backends()[name]
    if reason is not None:
        pytest.skip(f"backend {name!r} unavailable: {reason}")
    return name


# ---------------------------------------------------------------------------
# data generators (all take a numpy Generator)
# ---------------------------------------------------------------------------


def gaussian(rng, n, d, dtype=np.float32, order="C", loc=0.0, scale=1.0):
    x = loc + scale * rng.standard_normal((n, d))
    return np.asarray(x.astype(dtype), order=order)


def lattice(rng, n, d=3, dtype=np.float32, order="C", shift=0.0):
    """Every coordinate a multiple of 0.5: exact duplicates and exact distance ties."""
    x = np.round(2 * rng.standard_normal((n, d))) / 2 + shift
    return np.asarray(x.astype(dtype), order=order)


def with_repeats(rng, x, n_repeat):
    """Overwrite ``n_repeat`` random rows of ``x`` with copies of other rows."""
    x = np.array(x, copy=True, order="K")
    n = x.shape[0]
    dst = rng.choice(n, size=min(n_repeat, n - 1), replace=False)
    src = rng.integers(0, n, size=dst.size)
    x[dst] = x[src]
    return x


def offset_data(rng, n, d=128, offset=50.0, dtype=np.float32):
    """Large common offset: a naive float32 norm expansion loses the differences."""
    return (offset + rng.standard_normal((n, d))).astype(dtype)


def make_pair(rng, kind, n, m, d, dtype=np.float32, order="C"):
    """A (real, fake) pair of one of the test data kinds."""
    if kind == "gauss":
        real = gaussian(rng, n, d, dtype, order)
        fake = gaussian(rng, m, d, dtype, order, loc=0.3, scale=1.1)
    elif kind == "lattice":
        real = lattice(rng, n, d, dtype, order)
        fake = lattice(rng, m, d, dtype, order, shift=0.5)
    elif kind == "repeats":
        real = with_repeats(rng, gaussian(rng, n, d, dtype, order), n // 5)
        fake = gaussian(rng, m, d, dtype, order, loc=0.2)
        # some fakes are exact copies of reals
        idx = rng.choice(m, size=m // 5, replace=False)
        fake[idx] = real[rng.integers(0, n, size=idx.size)]
        fake = with_repeats(rng, fake, m // 10)
    elif kind == "offset":
        real = offset_data(rng, n, d, dtype=dtype)
        fake = offset_data(rng, m, d, offset=50.05, dtype=dtype)
    else:  # pragma: no cover
        raise ValueError(kind)
    return np.asarray(real, order=order), np.asarray(fake, order=order)


DATA_KINDS = ["gauss", "lattice", "repeats", "offset"]
# (n, m, d) per data kind, small enough to keep the numpy oracle fast
KIND_SHAPES = {
    "gauss": (120, 97, 16),
    "lattice": (150, 130, 3),
    "repeats": (110, 90, 8),
    "offset": (100, 80, 128),
}


# ---------------------------------------------------------------------------
# independent brute-force oracle
# ---------------------------------------------------------------------------


def as_oracle(x):
    """The values the oracle works on: float64 stays, anything else -> float32 -> float64."""
    x = np.asarray(x)
    if x.dtype != np.float64:
        x = x.astype(np.float32)
    return x.astype(np.float64)


def common_oracle(x, y):
    """Cast a pair the way the contract does: if either is float64, both are float64
    (the float32 values converted exactly); else both are float32."""
    x, y = np.asarray(x), np.asarray(y)
    return as_oracle(x), as_oracle(y)


def pair_scales(x, y):
    """(n, m) oracle scales: s = 2^min(480 - e, 1023) with 2^(e-1) <= the pair's largest
    |x_t - y_t| < 2^e (frexp's exponent), 1 for identical rows (docs/metrics.md section 10)."""
    top = np.zeros((x.shape[0], y.shape[0]))
    for t in range(x.shape[1]):
        top = np.maximum(top, np.abs(x[:, t][:, None] - y[:, t][None, :]))
    e = np.frexp(top)[1]
    return np.where(top > 0, np.ldexp(1.0, np.minimum(480 - e, 1023)), 1.0)


def brute_dist(x, y=None):
    """Oracle distances: float64 differences scaled by the pair's power of two, squared and
    accumulated sequentially over the dimensions, scaled back (bit-identical to the plain sum
    for data in the usual range)."""
    x = as_oracle(x)
    y = x if y is None else as_oracle(y)
    s = pair_scales(x, y)
    acc = np.zeros((x.shape[0], y.shape[0]), dtype=np.float64)
    for t in range(x.shape[1]):
        diff = (x[:, t][:, None] - y[:, t][None, :]) * s
        acc += diff * diff
    return np.sqrt(acc) / s


def brute_d2(x, y):
    """Squared distances summed sequentially in float64 without the pair scale (the oracle's
    d^2 for data in the usual range, where the scale changes no bit)."""
    x, y = as_oracle(x), as_oracle(y)
    acc = np.zeros((x.shape[0], y.shape[0]))
    for t in range(x.shape[1]):
        diff = x[:, t][:, None] - y[:, t][None, :]
        acc += diff * diff
    return acc


def brute_knn_from_dist(D, k, self_exclude):
    """kNN lists sorted by (distance, index); self excluded by position."""
    D = np.array(D, dtype=np.float64, copy=True)
    if self_exclude:
        np.fill_diagonal(D, np.inf)
    order = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, order, axis=1), order.astype(np.int64)


def brute_knn(x, y=None, k=1):
    D = brute_dist(x, y)
    return brute_knn_from_dist(D, k, self_exclude=y is None)


def brute_radii(x, k):
    """radius_k of every row (self excluded by position)."""
    D = brute_dist(x)
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, k - 1]


def inside(D, r, boundary):
    return np.less_equal(D, r) if boundary == "inclusive" else np.less(D, r)


def brute_membership(points, centres, radii, boundary):
    """All per-point / per-centre outputs of ball_membership from a full matrix."""
    D = brute_dist(points, centres)  # (P, C)
    radii = np.asarray(radii, dtype=np.float64)
    ins = inside(D, radii[None, :], boundary)
    min_radius = np.where(ins, radii[None, :], np.inf).min(axis=1)
    return {
        "count": ins.sum(axis=1).astype(np.int64),
        "any": ins.any(axis=1),
        "min_radius": min_radius,
        "nearest_centre": np.argmin(D, axis=1).astype(np.int64),
        "nearest_centre_distance": D.min(axis=1),
        "any_point": ins.any(axis=0),
        "nearest_point": np.argmin(D, axis=0).astype(np.int64),
        "nearest_point_distance": D.min(axis=0),
    }


#: Every output of a backend's cross pass that exists without realism columns.
CROSS_KEYS = (
    "b_count",
    "b_min_radius",
    "a_covered",
    "a_count",
    "a_min_radius",
    "b_covered",
    "a_knn_dist",
    "a_knn_idx",
    "b_knn_dist",
    "b_knn_idx",
)


def brute_prdc_counts(real, fake, k, boundary):
    """Integer counts behind precision/recall/density/coverage (docs/metrics.md 1-2)."""
    real, fake = common_oracle(real, fake)
    D = brute_dist(real, fake)  # (N, M)
    rr = brute_radii(real, k)
    in_real_ball = inside(D, rr[:, None], boundary)  # fake j in real ball i
    if k < fake.shape[0]:
        rf = brute_radii(fake, k)
        in_fake_manifold = inside(D, rf[None, :], boundary).any(axis=1)  # real i in a fake ball
    else:  # no fake radii (density/coverage only need the real ones)
        rf = in_fake_manifold = None
    return {
        "N": real.shape[0],
        "M": fake.shape[0],
        "k": k,
        "in_real_manifold": in_real_ball.any(axis=0),
        "in_fake_manifold": in_fake_manifold,
        "n_real_balls": in_real_ball.sum(axis=0).astype(np.int64),
        "covered": inside(D.min(axis=1), rr, boundary),
        "real_radii": rr,
        "fake_radii": rf,
    }


def brute_metrics(real, fake, k, boundary):
    c = brute_prdc_counts(real, fake, k, boundary)
    N, M = c["N"], c["M"]
    return {
        "precision": int(c["in_real_manifold"].sum()) / M,
        "recall": int(c["in_fake_manifold"].sum()) / N,
        "density": int(c["n_real_balls"].sum()) / (k * M),
        "coverage": int(c["covered"].sum()) / N,
        "_counts": c,
    }


# ---------------------------------------------------------------------------
# reference data
# ---------------------------------------------------------------------------


def load_reference(case):
    """(real, fake, json dict) of one reference case."""
    real = np.load(REFERENCE_DIR / f"{case}_real.npy")
    fake = np.load(REFERENCE_DIR / f"{case}_fake.npy")
    with open(REFERENCE_DIR / f"{case}.json") as fh:
        ref = json.load(fh)
    return real, fake, ref


# ---------------------------------------------------------------------------
# assertion helpers
# ---------------------------------------------------------------------------


def assert_exact(actual, expected, name=""):
    """Bit-identical arrays (same shape, same values; NaN never expected)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    if not np.array_equal(actual, expected):
        bad = np.argwhere(actual != expected)
        first = tuple(bad[0])
        raise AssertionError(
            f"{name}: {len(bad)} of {actual.size} entries differ; first at {first}: "
            f"got {actual[first]!r}, expected {expected[first]!r}"
        )


def assert_same(actual, expected, name=""):
    """Same shape, same dtype kind and the same values bit for bit (NaN == NaN)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind == "f" or expected.dtype.kind == "f":
        a = actual.astype(np.float64)
        e = expected.astype(np.float64)
        same = (a == e) | (np.isnan(a) & np.isnan(e))
    else:
        same = actual == expected
    if not np.all(same):
        bad = np.argwhere(~same)
        first = tuple(bad[0])
        raise AssertionError(
            f"{name}: {len(bad)} of {actual.size} entries differ; first at {first}: "
            f"got {actual[first]!r}, expected {expected[first]!r}"
        )


def assert_tree_same(a, b, path=""):
    """Nested dicts / lists / tuples of arrays and scalars equal bit for bit (NaN == NaN)."""
    if isinstance(a, dict):
        assert isinstance(b, dict), f"{path}: dict vs {type(b).__name__}"
        assert set(a) == set(b), f"{path}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"
        for key in a:
            assert_tree_same(a[key], b[key], f"{path}/{key}")
    elif a is None or b is None:
        assert a is b, f"{path}: {a!r} != {b!r}"
    elif isinstance(a, (list, tuple)) and a and isinstance(a[0], (dict, list, tuple, np.ndarray)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_tree_same(x, y, f"{path}[{i}]")
    else:
        assert_same(a, b, path)


def assert_results_equal(got, expected, label=""):
    """Every scalar, curve and per-sample array of two EvaluationResults, bit for bit."""
    for part in ("scalars", "curves", "samples"):
        assert_tree_same(getattr(got, part), getattr(expected, part), f"{label}:{part}")


def quiet(fn, *args, **kwargs):
    """Call ``fn`` with pce_rce_re's zero-distance RuntimeWarning silenced (data with
    duplicates)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def assert_fraction(value, count, total, name=""):
    """A metric that is count / total: a Python float equal to count / total."""
    assert isinstance(value, float), f"{name}: expected a Python float, got {type(value)}"
    assert value == count / total, f"{name}: {value!r} != {count}/{total} = {count / total!r}"


def assert_density(value, count_sum, k, M, name="density"):
    """density = count_sum / (k M), correctly rounded (one float division of two exact
    integers) -- the expression the reference float64 blocks use, bit for bit."""
    assert isinstance(value, float), f"{name}: expected a Python float, got {type(value)}"
    expected = count_sum / (k * M)
    assert value == expected, f"{name}: {value!r} != {count_sum}/({k}*{M}) = {expected!r}"


def assert_k_list_matches_single_k(fn, real, fake, ks, names, **kwargs):
    """``fn(real, fake, k=ks)`` gives ``{name: {k: value}}`` for every name, each value equal
    to that of ``fn(real, fake, k=k)``; returns the k-list result."""
    got = fn(real, fake, k=ks, **kwargs)
    for name in names:
        assert isinstance(got[name], dict) and sorted(got[name]) == sorted(ks), name
    for k in ks:
        single = fn(real, fake, k=k, **kwargs)
        for name in names:
            assert got[name][k] == single[name], (name, k, got[name][k], single[name])
    return got


def is_int_dtype(a):
    return np.issubdtype(np.asarray(a).dtype, np.integer)


# Every metric family of evaluate(metrics="all"), spelled out independently of the registry.
ALL_FAMILIES = (
    "precision_recall",
    "density_coverage",
    "realism_score",
    "rarity_score",
    "precision_recall_cover",
    "pce_rce_re",
    "alpha_precision_beta_recall",
)


def run_probe(script, *args, timeout=300):
    """Run ``script`` (Python source) in a fresh interpreter with ``args``; its last stdout line
    is a JSON object, returned as a dict. With "base" and "peak" keys (see PEAK_BYTES_SRC),
    "extra" = peak - base is added."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-4000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "peak" in out:
        out["extra"] = out["peak"] - out["base"]
    return out


# Source of peak_bytes() for the subprocess memory probes: the process's peak RSS (VmHWM).
PEAK_BYTES_SRC = """
def peak_bytes():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
"""


def load_source_module(path: Path, name: str) -> ModuleType:
    """A module of the source tree that is not a package (benchmarks' helpers and scripts)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def every_family(k: int) -> tuple[list, Any]:
    """Every family at k (or without one) and what the engine must compute for them."""
    from fastprdc import _engine
    from fastprdc.metrics import FAMILIES

    requests = [(f, [k]) if f.uses_k else (f, [None]) for f in FAMILIES.values()]
    needs = _engine.Needs()
    for family, ks in requests:
        needs = needs | family.needs(ks)
    return requests, needs


def assert_families_same(out, ref, requests, label: str = "") -> None:
    """Every scalar, per-sample array and curve derived from two engine outputs is the same."""
    for family, ks in requests:
        got, want = family.derive(out, ks, True), family.derive(ref, ks, True)
        for part in ("scalars", "samples", "curves"):
            for name, per_k in getattr(want, part).items():
                for k, v in per_k.items():
                    assert_same(getattr(got, part)[name][k], v, f"{family.name}.{name} {label}")


class OnGpu:
    """A GPU-resident array stand-in over host memory ``x``, on GPU ``index`` (as its
    __dlpack_device__ says); the sim backend reads it."""

    def __init__(self, x: np.ndarray, index: int):
        from fastprdc._arrays import DeviceMatrix

        x = np.ascontiguousarray(x)
        self.view, self.index = DeviceMatrix(x.ctypes.data, x.shape, x.dtype, x, "x"), index

    @property
    def __cuda_array_interface__(self):
        return self.view.__cuda_array_interface__

    def __dlpack_device__(self):
        return (2, self.index)  # kDLCUDA
