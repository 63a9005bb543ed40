"""The GPU pass's tile schedule (fastprdc._backends.tile_schedule): every tile once, and no two
tiles of a group share a row block, so that their threads may run in one launch."""

from __future__ import annotations

import itertools

import pytest

from fastprdc._backends.tile_schedule import tile_classes, tile_groups

SHAPES = [(1, 1), (1, 5), (5, 1), (2, 2), (3, 3), (4, 4), (7, 7), (8, 8), (3, 8), (8, 3), (13, 6)]


def _all_tiles(blocks_a: int, blocks_b: int, self_pass: bool) -> list[tuple[int, int]]:
    return [(i, j) for i in range(blocks_a) for j in range(blocks_b) if not (self_pass and j < i)]


PASSES = [(a, b, False) for a, b in SHAPES] + [(a, a, True) for a, b in SHAPES if a == b]


@pytest.mark.parametrize(("blocks_a", "blocks_b", "self_pass"), PASSES)
@pytest.mark.parametrize("size", [1, 2, 3, 1 << 30])
def test_every_tile_once_and_no_shared_block_in_a_group(blocks_a, blocks_b, self_pass, size):
    groups = tile_groups(blocks_a, blocks_b, self_pass, size)
    tiles = [t for g in groups for t in g]
    assert sorted(tiles) == _all_tiles(blocks_a, blocks_b, self_pass)
    for g in groups:
        assert 1 <= len(g) <= size
        if self_pass:  # one set: a block may not appear twice, as I or as J
            blocks = [b for i, j in g for b in {i, j}]
            assert len(blocks) == len(set(blocks)), g
        else:
            assert len({i for i, _ in g}) == len(g), g
            assert len({j for _, j in g}) == len(g), g


@pytest.mark.parametrize("blocks", [1, 2, 5, 8, 123])
def test_classes_are_as_large_as_disjointness_allows(blocks):
    """A class of a cross pass holds min(blocks_a, blocks_b) tiles (every block of the smaller
    side); one of a self pass at least half the blocks: the groups fill their launches."""
    cross = tile_classes(blocks, blocks, False)
    assert len(cross) == blocks and all(len(c) == blocks for c in cross)
    own = tile_classes(blocks, blocks, True)
    assert len(own) == blocks and all(len(c) >= blocks / 2 for c in own)
    wide = tile_classes(2, blocks + 2, False)
    assert all(len(c) <= 2 for c in wide) and max(len(c) for c in wide) == 2


def test_no_blocks_no_tiles():
    assert tile_groups(0, 4, False, 8) == [] and tile_classes(3, 0, False) == []


def test_groups_keep_the_class_order():
    """Groups are consecutive runs of one class (a row meets its tiles class by class)."""
    classes = tile_classes(6, 6, True)
    groups = tile_groups(6, 6, True, 2)
    assert [t for g in groups for t in g] == list(itertools.chain.from_iterable(classes))
