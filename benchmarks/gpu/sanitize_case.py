"""A small run of every GPU kernel, for compute-sanitizer (memcheck): self-kNN, the fused cross
pass with balls both ways, cross lists, realism, tie completion, oracle distances, on data with
ties and duplicates (rows grouped, lists preset, realism centres of radius 0), with tiles small
enough that edge tiles occur; then full PRDC on every GEMM path."""

import json
import os
import sys
import warnings

import numpy as np

import fastprdc
from fastprdc._backends.gpu_settings import GEMM_PATHS

warnings.simplefilter("ignore", RuntimeWarning)  # pce_rce_re: zero k-th distances of the copies

rng = np.random.default_rng(0)
real = np.round(rng.standard_normal((700, 5)) * 2) / 2
fake = np.round(rng.standard_normal((500, 5)) * 2) / 2 + 0.5
fake[:50] = real[:50]
real[600:] = real[0]  # 100 copies of one row: preset lists, zero radii (row groups' kernels)
fake[450:] = real[0]
for device in sys.argv[1:] or ["cuda"]:  # tests/test_device_check.py runs it on "sim"
    res = fastprdc.evaluate(
        real, fake, metrics="all", device=device, tile_rows=96, sample_level=True
    )
    ref = fastprdc.evaluate(real, fake, metrics="all", device="cpu", sample_level=True)
    same = json.dumps(res.scalars, sort_keys=True) == json.dumps(ref.scalars, sort_keys=True)
    assert same, (res.scalars, ref.scalars)  # as JSON: NaN equals NaN
    print(device, "ok", res.info["n_rechecked"])
    # the other GEMM paths' packings (pack_rows) and GEMMs, on a smaller call each
    want = fastprdc.compute_prdc(real, fake, nearest_k=3, device="cpu")
    chosen = os.environ.get("FASTPRDC_GPU_GEMM")
    try:
        for path in GEMM_PATHS:
            os.environ["FASTPRDC_GPU_GEMM"] = path
            got = fastprdc.compute_prdc(real, fake, nearest_k=3, device=device)
            assert got == want, (path, got, want)
            print(device, path, "ok")
    finally:
        os.environ.pop("FASTPRDC_GPU_GEMM")
        if chosen is not None:
            os.environ["FASTPRDC_GPU_GEMM"] = chosen
