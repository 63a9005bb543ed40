"""The order of a pass's tiles on the GPU: groups of tiles that share no row, so that one launch
of each per-row kernel serves a whole group (csrc/cuda/kernels.cuh ``launch_tile``).

The per-row kernels run one thread per row of a tile side, 8192 at the default tile: two warps
per multiprocessor of an H100/H200, too few to hide the latency of their dependent loads. The
threads of tiles whose rows are disjoint write disjoint state (csrc/common/cross_state.hpp: each
side writes only its own rows), so they may run in one launch, in any order; a row still sees
its tiles one at a time, and results do not depend on the order of its tiles.
"""

from __future__ import annotations

__all__ = ["tile_classes", "tile_groups"]

Tile = tuple[int, int]


def tile_classes(blocks_a: int, blocks_b: int, self_pass: bool) -> list[list[Tile]]:
    """Every tile (I, J) of a pass over ``blocks_a`` x ``blocks_b`` row blocks (I <= J for a self
    pass, one set's blocks on both sides), in classes of tiles that share no block.

    Cross pass: class s holds the tiles with (I - J) mod n == s, n = max(blocks_a, blocks_b): in
    it I fixes J and J fixes I, so no block of A and no block of B appears twice. Self pass: class
    s holds the tiles I <= J with (I + J) mod n == s, n = blocks_a: block X can only meet block
    s - X, as I or as J, so no block appears in two tiles (a diagonal tile (X, X) holds X once).
    """
    if blocks_a <= 0 or blocks_b <= 0:
        return []
    if self_pass:
        n = blocks_a
        classes: list[list[Tile]] = [[] for _ in range(n)]
        for i in range(n):
            for j in range(i, n):
                classes[(i + j) % n].append((i, j))
    else:
        n = max(blocks_a, blocks_b)
        classes = [[] for _ in range(n)]
        for i in range(blocks_a):
            for j in range(blocks_b):
                classes[(i - j) % n].append((i, j))
    return [c for c in classes if c]


def tile_groups(blocks_a: int, blocks_b: int, self_pass: bool, size: int) -> list[list[Tile]]:
    """The tiles of :func:`tile_classes`, in groups of at most ``size`` tiles of one class."""
    size = max(1, int(size))
    return [
        c[at : at + size]
        for c in tile_classes(blocks_a, blocks_b, self_pass)
        for at in range(0, len(c), size)
    ]
