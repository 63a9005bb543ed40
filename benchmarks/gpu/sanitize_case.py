"""A small run of every GPU kernel, for compute-sanitizer (memcheck): self-kNN, the fused cross
pass with balls both ways, cross lists, realism, tie completion, oracle distances, on data with
ties and duplicates, with tiles small enough that edge tiles occur."""

import numpy as np

import fastprdc

rng = np.random.default_rng(0)
real = np.round(rng.standard_normal((700, 5)) * 2) / 2
fake = np.round(rng.standard_normal((500, 5)) * 2) / 2 + 0.5
fake[:50] = real[:50]
for device in ("cuda",):
    res = fastprdc.evaluate(
        real, fake, metrics="all", device=device, tile_rows=96, sample_level=True
    )
    ref = fastprdc.evaluate(real, fake, metrics="all", device="cpu", sample_level=True)
    assert res.scalars == ref.scalars, (res.scalars, ref.scalars)
    print(device, "ok", res.info["n_rechecked"])
