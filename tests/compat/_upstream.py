"""Import an upstream library for the side-by-side compat tests, or skip with the reason.

``FASTPRDC_COMPAT_REQUIRE`` (comma-separated names, set by CI) turns such a skip into a failure.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def required(name: str) -> bool:
    """Whether FASTPRDC_COMPAT_REQUIRE names the upstream ``name``."""
    return name in os.environ.get("FASTPRDC_COMPAT_REQUIRE", "").replace(" ", "").split(",")


def import_upstream(module: str, what: str, hint: str = "install the compat extra") -> ModuleType:
    """Import ``module`` (part of upstream ``what``), or skip (fail when it is required)."""
    try:
        return importlib.import_module(module)
    except Exception as exc:  # torchvision beside a CPU torch fails with RuntimeError
        msg = f"{module} not importable ({type(exc).__name__}: {exc})" + (
            f"; {hint}" if hint else ""
        )
        if required(what):
            pytest.fail(f"FASTPRDC_COMPAT_REQUIRE names {what}: {msg}")
        pytest.skip(msg)
