"""The README's code examples, for the tests that run them (tests/test_readme.py and
tests/compat/test_readme_compat.py): its fenced blocks, the small inputs their free names
stand for, and the runner of one Python block."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_HEADING = re.compile(r"^#{2,3} (.+)$", re.M)


@dataclass(frozen=True)
class Block:
    """One fenced block of the README: its language, text, the heading it sits under and the
    line of its opening fence."""

    lang: str
    code: str
    section: str
    line: int

    @property
    def id(self) -> str:
        return f"{self.section} (README.md:{self.line})"


def blocks(lang: str) -> list[Block]:
    """The README's blocks in language ``lang``, in order."""
    text = README.read_text(encoding="utf-8")
    headings = [(m.start(), m.group(1).strip()) for m in _HEADING.finditer(text)]
    out = []
    for m in _FENCE.finditer(text):
        if m.group(1) != lang:
            continue
        section = next((h for at, h in reversed(headings) if at < m.start()), "top")
        out.append(Block(lang, m.group(2), section, text.count("\n", 0, m.start()) + 1))
    return out


def inputs(rng: np.random.Generator) -> dict[str, Any]:
    """Small stand-ins for the names the examples leave to the reader: feature sets (float32,
    d = 16), class labels (fake never produces class 4), subsets for the primitives."""
    real = rng.standard_normal((400, 16), dtype=np.float32)
    fake = rng.standard_normal((350, 16), dtype=np.float32) + np.float32(0.2)
    return {
        "real": real,
        "fake": fake,
        "y_real": rng.integers(0, 5, len(real)),
        "y_fake": rng.integers(0, 4, len(fake)),
        "X": real[:150],
        "Y": fake[:120],
        "centres": real[:100],
        "points": fake[:90],
        "n": 200,
        "real_np": real,
        "fake_np": fake,
    }


def statements(block: Block) -> list[tuple[str, ast.stmt]]:
    """The block's top-level statements with their source text."""
    tree = ast.parse(block.code, filename=block.id)
    return [(ast.get_source_segment(block.code, s) or "", s) for s in tree.body]


def run(block: Block, namespace: dict[str, Any], skip: Any = None) -> list[str]:
    """Runs the block's statements in ``namespace`` (line numbers as in the README); a statement
    for which ``skip(source)`` returns a reason is left out. Returns the reasons."""
    skipped = []
    for source, stmt in statements(block):
        reason = skip(source) if skip else None
        if reason:
            skipped.append(f"{source.strip()}: {reason}")
            continue
        module = ast.Module(body=[stmt], type_ignores=[])
        ast.increment_lineno(module, block.line)
        exec(compile(module, str(README), "exec"), namespace)
    return skipped
