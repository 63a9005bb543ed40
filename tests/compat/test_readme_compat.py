"""The README's compat examples ("Use fastprdc from your library") run as written, beside the
upstream libraries: prdc patched, then every compat module's call on small inputs (torch tensors
where the example passes them). A `patch(...)` of a library not installed here is left out (the
error it raises then is tested in test_patching.py); the rest of the block runs."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _readme import blocks, inputs, run

import fastprdc
import fastprdc.compat
from compat._upstream import import_upstream

SECTION = "Use fastprdc from your library"
BLOCKS = [b for b in blocks("python") if b.section == SECTION]
_PATCH = re.compile(r"""fastprdc\.compat\.patch\(["'](\w+)["']\)""")


def _not_installed(source: str) -> str | None:
    m = _PATCH.search(source)
    if m and not fastprdc.compat.available()[m.group(1)]:
        return f"{m.group(1)} is not installed"
    return None


def test_the_section_has_the_examples():
    assert len(BLOCKS) == 2, [b.id for b in BLOCKS]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_compat_block_runs(block, upstream_prdc):
    ns = {"__name__": "readme", "np": np, "fastprdc": fastprdc, **inputs(np.random.default_rng(3))}
    if "real_t" in block.code:
        torch = import_upstream("torch", "piq")
        ns["real_t"], ns["fake_t"] = torch.from_numpy(ns["real"]), torch.from_numpy(ns["fake"])
    skipped = run(block, ns, skip=_not_installed)
    assert len(skipped) <= 3, skipped  # at most the three patch lines
    if "prdc.compute_prdc" in block.code:
        assert set(ns["prdc"].compute_prdc(ns["real"], ns["fake"], nearest_k=5)) == {
            "precision", "recall", "density", "coverage",
        }  # fmt: skip
