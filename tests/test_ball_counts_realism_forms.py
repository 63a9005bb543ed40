"""Per-centre point counts and the squared-with-eps realism form of ``ball_membership``."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import DATA_KINDS, KIND_SHAPES, as_oracle, brute_radii, make_pair

from fastprdc.primitives import ball_membership


def _brute_d2(x, y):
    x, y = as_oracle(x), as_oracle(y)
    acc = np.zeros((x.shape[0], y.shape[0]))
    for t in range(x.shape[1]):
        diff = x[:, t][:, None] - y[:, t][None, :]
        acc += diff * diff
    return acc


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("boundary", ["inclusive", "strict"])
def test_point_count_per_centre(backend, kind, boundary, rng):
    n, m, d = KIND_SHAPES[kind]
    centres, points = make_pair(rng, kind, n, m, d)
    radii = np.stack([brute_radii(centres, 3), brute_radii(centres, 5)], axis=1)
    out = ball_membership(points, centres, radii, boundary=boundary, device=backend)
    D = np.sqrt(_brute_d2(centres, points))
    op = np.less if boundary == "strict" else np.less_equal
    hit = op(D[:, :, None], radii[:, None, :])
    np.testing.assert_array_equal(out["point_count"], hit.sum(axis=1))
    np.testing.assert_array_equal(out["any_point"], hit.any(axis=1))
    np.testing.assert_array_equal(out["count"], hit.sum(axis=0))


@pytest.mark.parametrize("kind", DATA_KINDS)
@pytest.mark.parametrize("eps", [1e-5, 0.0, 0.5])
def test_squared_eps_realism(backend, kind, eps, rng):
    n, m, d = KIND_SHAPES[kind]
    centres, points = make_pair(rng, kind, n, m, d)
    r = brute_radii(centres, 3)
    r[r > np.median(r)] = 0.0  # pruned balls as in the improved-P&R code: radius 0
    out = ball_membership(points, centres, r, realism=True, realism_eps=eps, device=backend)
    D2 = _brute_d2(centres, points)
    num = np.broadcast_to((r * r)[:, None], D2.shape)
    den = D2 + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den, np.where(num > 0, np.inf, 1.0))
    np.testing.assert_array_equal(out["realism"], ratio.max(axis=0))
    np.testing.assert_array_equal(out["realism_centre"], ratio.argmax(axis=0))


@pytest.mark.parametrize("tile_rows,num_threads", [(1, 1), (5, 2), (None, 2)])
def test_squared_eps_realism_cpu_equals_numpy(tile_rows, num_threads, rng):
    centres, points = make_pair(rng, "repeats", 110, 90, 8)
    r = brute_radii(centres, 3)
    kw = dict(realism=True, realism_eps=1e-5)
    ref = ball_membership(points, centres, r, device="numpy", **kw)
    got = ball_membership(
        points, centres, r, device="cpu", tile_rows=tile_rows, num_threads=num_threads, **kw
    )
    for key in ("realism", "realism_centre", "point_count"):
        np.testing.assert_array_equal(got[key], ref[key])


@pytest.mark.parametrize("eps", [-1.0, float("nan"), float("inf")])
def test_bad_realism_eps(eps):
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="realism_eps"):
        ball_membership(x, x, np.ones(4), realism=True, realism_eps=eps)
