"""fastprdc on a Dask cluster: the same results, bit for bit, from block-pair tasks.

Needs the ``distributed`` extra (``pip install "fastprdc[distributed]"``: dask[array],
distributed, zarr); ``import fastprdc`` never imports Dask.

Entry points (each takes ``client=``, default the current ``distributed`` client, and
``block_rows=``):

* :func:`evaluate` -- :func:`fastprdc.evaluate` on the cluster. ``fastprdc.evaluate`` itself
  sends dask-array inputs (or any input with ``client=``) here, and every metric function
  (``fastprdc.precision_recall``...) and the primitives :func:`knn`, :func:`kth_radii` and
  :func:`ball_membership` do the same for dask arrays;
* :func:`open_features` -- a lazy dask array of a ``.zarr`` store, a ``.npy`` file or a
  directory of ``.npy`` files (read by block on the workers);
* :func:`local_cluster` -- a client on a new cluster of this machine;
* :func:`get_client` -- the client a call would use.

How a run works: the same declared plan as a single-machine run (``fastprdc._engine.Plan``),
executed as tasks over row blocks: the self-kNN of each set (block pairs I <= J), then the
cross pass of every (real block, fake block) with the radii of phase 1, then the few exact
follow-ups for authenticity ties. Each task runs the local backend on its worker; partial
results merge exactly (top-k on (distance, index), sums, min, max with the lower-index tie
rule) in Dask tree reductions; the means are a chain of tasks summing rows in order. Lost
workers: Dask reruns the lost tasks; numpy inputs scattered from the driver cannot be
recomputed, so a run that loses some starts again from a fresh scatter. Only ``exact=True``
(the default) runs are bit-identical to the single-machine run. README.md, "More than one
machine", has the details.
"""

from __future__ import annotations

try:
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "fastprdc.distributed needs Dask: pip install 'fastprdc[distributed]' "
        f"(dask[array], distributed, zarr); {exc}"
    ) from exc

from ._api import (
    ball_membership,
    evaluate,
    get_client,
    knn,
    kth_radii,
    local_cluster,
    run_families,
)
from ._inputs import open_features

__all__ = [
    "ball_membership",
    "evaluate",
    "get_client",
    "knn",
    "kth_radii",
    "local_cluster",
    "open_features",
    "run_families",
]
