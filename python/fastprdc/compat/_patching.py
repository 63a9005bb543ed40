"""Patch registry: swap an installed upstream library's functions for fastprdc's, and back.

How a compat module makes its upstream patchable (the only API a provider needs)::

    from ._patching import register

    def _targets():
        # Called by patch(), after the upstream module imported. Returns what to replace:
        # (owner, attribute, replacement) triples. owner is a module or a class object.
        import prdc, prdc.prdc
        return [
            (prdc.prdc, "compute_prdc", compute_prdc),
            (prdc, "compute_prdc", compute_prdc),
        ]

    register(
        "prdc",                        # canonical name, as given to patch()/unpatch()
        module="prdc",                 # import name of the upstream (checked, then imported)
        pip="prdc",                    # what to pip install (used in the error message)
        targets=_targets,
        aliases=(),                    # other accepted spellings, e.g. ("torch-fidelity",)
        install_hint=None,             # replaces "pip install <pip>" when that is wrong
    )

The provider module is found through :data:`_PROVIDERS` (canonical name -> compat module):
``patch(name)`` imports it, which runs its ``register(...)`` call. Compat modules must not
import torch or the upstream at module import time (do it inside ``_targets`` and inside
the functions), so that importing them stays cheap.

Rules the registry enforces:

- ``patch(name)`` on a library that is not installed raises :class:`ModuleNotFoundError`
  (an :class:`ImportError`) naming the pip package; one that is installed but fails to
  import raises :class:`ImportError` chaining the original error.
- ``patch`` is idempotent: originals are saved the first time only, so a second call never
  saves a replacement as an "original". A target that appears later (for instance a module
  loaded since the first call) is saved and replaced on the next call.
- ``unpatch(name)`` restores every saved attribute exactly (the raw object from the
  owner's ``__dict__``, so staticmethod/classmethod wrappers survive; an attribute that the
  owner did not define itself, e.g. inherited by a class, is deleted again rather than
  left behind). It is a no-op when the library is not patched.
- A name bound with ``from X import f`` *before* ``patch()`` keeps the original function:
  patch first, or call through the module (``X.f``).
- ``patch``, ``unpatch`` and the ``patched`` blocks hold one lock, so threads never leave a
  half-patched library or lose its originals; ``patched`` blocks are counted per library
  (they may overlap in any order, across threads): the library is restored when the last one
  ends, unless it was patched before the first began.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["available", "is_patched", "patch", "patchable", "patched", "register", "unpatch"]

Target = tuple[Any, str, Any]

# canonical name -> the compat module that registers it (imported on demand by patch).
_PROVIDERS: dict[str, str] = {
    "prdc": "fastprdc.compat.prdc",
    "torch_fidelity": "fastprdc.compat.torch_fidelity",
    "dgm_eval": "fastprdc.compat.dgm_eval",
    "synthcity": "fastprdc.compat.synthcity",
    "piq": "fastprdc.compat.piq",
}
# canonical name -> upstream import name, so that available() imports no provider.
_UPSTREAM_MODULES: dict[str, str] = {
    "prdc": "prdc",
    "torch_fidelity": "torch_fidelity",
    "dgm_eval": "dgm_eval",
    "synthcity": "synthcity",
    "piq": "piq",
}
_ALIASES: dict[str, str] = {"torch-fidelity": "torch_fidelity", "dgm-eval": "dgm_eval"}
# compat modules whose upstream is no installable package: nothing to patch.
_NOT_PATCHABLE = ("improved_precision_recall", "rarity", "info_theory", "alpha_precision")

_MISSING = object()


@dataclass
class _Library:
    name: str
    module: str
    pip: str
    targets: Callable[[], Iterable[Target]]
    install_hint: str | None = None
    # (id(owner), attribute) -> (owner, attribute, original raw value or _MISSING)
    saved: dict[tuple[int, str], tuple[Any, str, Any]] = field(default_factory=dict)
    blocks: int = 0  # patched() blocks open
    restore: bool = False  # unpatch when the last block ends (not patched before the first)


_REGISTRY: dict[str, _Library] = {}
_LOCK = threading.RLock()  # patch, unpatch and patched() blocks, all libraries


def register(
    name: str,
    *,
    module: str,
    pip: str,
    targets: Callable[[], Iterable[Target]],
    aliases: Iterable[str] = (),
    install_hint: str | None = None,
) -> None:
    """Make ``name`` patchable (see the module docstring for the contract).

    Args:
        name: canonical library name accepted by :func:`patch` / :func:`unpatch`.
        module: the upstream's import name (``importlib.util.find_spec`` decides whether
            it is installed; it is imported before ``targets`` is called).
        pip: the package name to ``pip install``.
        targets: zero-argument callable returning ``(owner, attribute, replacement)``
            triples; called on every :func:`patch` call, never at registration.
        aliases: other spellings accepted for ``name``.
        install_hint: full install instruction, used instead of ``pip install <pip>``.

    Re-registering a name keeps whatever is currently patched for it.
    """
    old = _REGISTRY.get(name)
    lib = _Library(name, module, pip, targets, install_hint)
    if old is not None:
        lib.saved, lib.blocks, lib.restore = old.saved, old.blocks, old.restore
    _REGISTRY[name] = lib
    for alias in aliases:
        _ALIASES[alias] = name


def _canonical(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"library name must be a str, got {type(name).__name__}")
    key = _ALIASES.get(name, name)
    if key in _PROVIDERS or key in _REGISTRY:
        return key
    names = ", ".join(repr(n) for n in patchable())
    if key in _NOT_PATCHABLE:
        raise ValueError(
            f"{name!r} has no installable package to patch: call fastprdc.compat.{key} "
            f"directly. Patchable libraries: {names}"
        )
    raise ValueError(f"unknown library {name!r}; patchable libraries: {names}")


def _library(name: str) -> _Library:
    key = _canonical(name)
    if key not in _REGISTRY:
        importlib.import_module(_PROVIDERS[key])  # runs the provider's register(...)
    if key not in _REGISTRY:  # pragma: no cover - a provider that forgot to register
        raise RuntimeError(f"{_PROVIDERS[key]} did not register {key!r}")
    return _REGISTRY[key]


def _installed(module: str) -> bool:
    if sys.modules.get(module) is not None:  # already imported (or injected)
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def patchable() -> list[str]:
    """Canonical names accepted by :func:`patch`."""
    return sorted(set(_PROVIDERS) | set(_REGISTRY))


def available() -> dict[str, bool]:
    """``{library: installed}`` for every patchable library; imports no upstream."""
    out = {}
    for name in patchable():
        lib = _REGISTRY.get(name)
        out[name] = _installed(lib.module if lib is not None else _UPSTREAM_MODULES[name])
    return out


def is_patched(name: str) -> bool:
    """Whether ``patch(name)`` is in effect."""
    key = _canonical(name)
    lib = _REGISTRY.get(key)
    return bool(lib is not None and lib.saved)


def patch(name: str) -> None:
    """Route the installed library ``name`` through fastprdc (idempotent).

    Raises:
        ValueError: ``name`` is not a patchable library.
        ModuleNotFoundError: the library is not installed (the message says what to install).
        ImportError: it is installed but its import fails (the original error is chained).
    """
    with _LOCK:
        _patch(_library(name))


def _patch(lib: _Library) -> None:
    if not _installed(lib.module):
        how = lib.install_hint or f"pip install {lib.pip}"
        raise ModuleNotFoundError(
            f"fastprdc.compat.patch({lib.name!r}): {lib.pip} is not installed ({how})",
            name=lib.module,
        )
    try:
        importlib.import_module(lib.module)
    except ImportError as exc:
        raise ImportError(
            f"fastprdc.compat.patch({lib.name!r}): {lib.module} is installed but failed to "
            f"import: {exc}"
        ) from exc
    triples = list(lib.targets())
    for owner, attr, _ in triples:  # save everything first: all-or-nothing on bad targets
        key = (id(owner), attr)
        if key not in lib.saved:
            lib.saved[key] = (owner, attr, vars(owner).get(attr, _MISSING))
    for owner, attr, replacement in triples:
        setattr(owner, attr, replacement)


def unpatch(name: str) -> None:
    """Restore the originals saved by :func:`patch`; a no-op when ``name`` is not patched."""
    key = _canonical(name)
    with _LOCK:
        lib = _REGISTRY.get(key)
        if lib is not None:
            _unpatch(lib)


def _unpatch(lib: _Library) -> None:
    for owner, attr, original in reversed(list(lib.saved.values())):
        if original is _MISSING:
            with contextlib.suppress(AttributeError):
                delattr(owner, attr)
        else:
            setattr(owner, attr, original)
    lib.saved.clear()


@contextlib.contextmanager
def patched(name: str) -> Iterator[None]:
    """``with patched("prdc"): ...`` patches for the block and restores afterwards.

    A library that was already patched before the block stays patched after it. Blocks may
    overlap, in one thread or several: the library is restored when the last one ends.
    """
    with _LOCK:
        lib = _library(name)
        if lib.blocks == 0:
            lib.restore = not lib.saved
        _patch(lib)
        lib.blocks += 1
    try:
        yield
    finally:
        with _LOCK:
            lib = _library(name)  # the registered one (a provider may have re-registered)
            lib.blocks -= 1
            if lib.blocks == 0 and lib.restore:
                _unpatch(lib)
