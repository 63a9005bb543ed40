"""Hypothesis strategies shared by the property tests: small point sets built to make exact
decisions hard (repeated rows within and across the sets, lattice ties, large common offsets,
extreme scales)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

#: Dimensions drawn by default: low ones (many exact ties on a lattice).
LOW_DIMS = (1, 2, 3, 4, 5, 6)


@st.composite
def point_sets(draw, min_rows=2, max_rows=40, dims=LOW_DIMS):
    """(real, fake) with small coordinates, many repeated rows and exact ties; ``dims``: the
    dimensions to draw from."""
    n = draw(st.integers(min_rows, max_rows))
    m = draw(st.integers(min_rows, max_rows))
    d = draw(st.sampled_from(dims))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    grid = draw(st.sampled_from([None, 1.0, 0.5]))  # None: continuous values
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n + m, d)) * draw(st.sampled_from([1.0, 3.0, 1e3]))
    base += draw(st.sampled_from([0.0, 50.0, -1e4]))
    if grid is not None:
        base = np.round(base / grid) * grid
    x = base.astype(dtype)
    # repeated rows, within a set and across the two sets
    n_rep = draw(st.integers(0, (n + m) // 2))
    if n_rep:
        dst = rng.integers(0, n + m, size=n_rep)
        src = rng.integers(0, n + m, size=n_rep)
        x[dst] = x[src]
    return x[:n], x[n:]
