"""fastprdc.compat.patch / unpatch / available / patched and the registry rules."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

import fastprdc
import fastprdc.compat
from fastprdc.compat import _patching
from fastprdc.compat import prdc as cp

from .conftest import gauss_pair


def test_import_is_lazy():
    """Importing fastprdc.compat (and its modules) imports no upstream and no torch."""
    code = (
        "import sys, fastprdc.compat, fastprdc.compat.prdc, fastprdc.compat.dgm_eval, "
        "fastprdc.compat.rarity, fastprdc.compat.info_theory, "
        "fastprdc.compat.improved_precision_recall, fastprdc.compat.alpha_precision\n"
        "fastprdc.compat.available()\n"
        "bad = [m for m in ('torch', 'prdc', 'sklearn', 'scipy', 'dgm_eval', 'piq', "
        "'torch_fidelity', 'synthcity', 'tensorflow') if m in sys.modules]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_submodules_load_on_attribute_access():
    assert fastprdc.compat.rarity.MANIFOLD.__module__ == "fastprdc.compat.rarity"
    assert "info_theory" in dir(fastprdc.compat)
    with pytest.raises(AttributeError):
        fastprdc.compat.no_such_module  # noqa: B018


def test_available():
    avail = fastprdc.compat.available()
    assert set(avail) == {"prdc", "torch_fidelity", "dgm_eval", "synthcity", "piq"}
    assert all(isinstance(v, bool) for v in avail.values())
    import importlib.util

    assert avail["prdc"] == (importlib.util.find_spec("prdc") is not None)
    assert fastprdc.compat.patchable() == sorted(avail)


def test_patch_prdc_routes_and_unpatch_restores(upstream_prdc, capsys):
    import prdc

    names = ["compute_prdc", "compute_pairwise_distance", "get_kth_value",
             "compute_nearest_neighbour_distances"]  # fmt: skip
    originals = {name: getattr(upstream_prdc, name) for name in names}
    package_original = prdc.compute_prdc
    rng = np.random.default_rng(0)
    real, fake = gauss_pair(rng, 120, 100, 6)
    before = prdc.compute_prdc(real, fake, 3)

    fastprdc.compat.patch("prdc")
    assert fastprdc.compat.is_patched("prdc")
    for name in names:
        assert getattr(upstream_prdc, name) is getattr(cp, name), name
    assert prdc.compute_prdc is cp.compute_prdc
    from prdc import compute_prdc  # bound after patching: fastprdc's

    assert compute_prdc is cp.compute_prdc
    got = prdc.compute_prdc(real, fake, 3)
    assert got == before and all(type(v) is np.float64 for v in got.values())
    native = fastprdc.compute_prdc(real, fake, 3)
    assert got == native

    fastprdc.compat.patch("prdc")  # idempotent: the originals stay the saved ones
    fastprdc.compat.unpatch("prdc")
    assert not fastprdc.compat.is_patched("prdc")
    for name in names:
        assert getattr(upstream_prdc, name) is originals[name], name
    assert prdc.compute_prdc is package_original
    fastprdc.compat.unpatch("prdc")  # a no-op when not patched
    assert prdc.compute_prdc is package_original
    capsys.readouterr()


def test_patched_context_manager(upstream_prdc):
    original = upstream_prdc.compute_prdc
    with fastprdc.compat.patched("prdc"):
        assert upstream_prdc.compute_prdc is cp.compute_prdc
    assert upstream_prdc.compute_prdc is original
    fastprdc.compat.patch("prdc")
    with fastprdc.compat.patched("prdc"):
        pass
    assert upstream_prdc.compute_prdc is cp.compute_prdc  # was patched before: stays
    fastprdc.compat.unpatch("prdc")
    assert upstream_prdc.compute_prdc is original


def test_bad_names():
    with pytest.raises(ValueError, match="unknown library 'sklearn'"):
        fastprdc.compat.patch("sklearn")
    for name in ("rarity", "info_theory", "improved_precision_recall", "alpha_precision"):
        with pytest.raises(ValueError, match="directly"):
            fastprdc.compat.patch(name)
    with pytest.raises(ValueError, match="patchable libraries: 'dgm_eval'"):
        fastprdc.compat.unpatch("nope")
    with pytest.raises(TypeError):
        fastprdc.compat.patch(3)


@pytest.fixture
def dummy_library():
    """A registered library 'dummy' whose upstream is a module made up for the test."""
    module = types.ModuleType("fastprdc_dummy_upstream")

    class Base:
        def method(self):
            return "base"

    class Child(Base):
        @staticmethod
        def static():
            return "static"

    def func():
        return "original"

    module.Base, module.Child, module.func = Base, Child, func
    sys.modules[module.__name__] = module

    def targets():
        return [
            (module, "func", lambda: "patched"),
            (Child, "method", lambda self: "patched"),  # inherited: not in Child.__dict__
            (Child, "static", staticmethod(lambda: "patched")),
            (module, "added", "new attribute"),
        ]

    _patching.register("dummy", module=module.__name__, pip="dummy-pkg", targets=targets,
                       aliases=("dummy-lib",))  # fmt: skip
    yield module
    fastprdc.compat.unpatch("dummy")
    _patching._REGISTRY.pop("dummy", None)
    _patching._ALIASES.pop("dummy-lib", None)
    del sys.modules[module.__name__]


def test_unpatch_restores_exactly(dummy_library):
    m = dummy_library
    raw_static = m.Child.__dict__["static"]
    original_func = m.func
    fastprdc.compat.patch("dummy-lib")
    assert m.func() == "patched" and m.Child().method() == "patched"
    assert m.Child.static() == "patched" and m.added == "new attribute"
    assert "method" in m.Child.__dict__
    fastprdc.compat.patch("dummy")  # idempotent
    fastprdc.compat.unpatch("dummy")
    assert m.func is original_func and m.func() == "original"
    assert "method" not in m.Child.__dict__ and m.Child().method() == "base"
    assert m.Child.__dict__["static"] is raw_static and m.Child.static() == "static"
    assert not hasattr(m, "added")
    assert "dummy" in fastprdc.compat.patchable()


def test_patched_blocks_overlap(dummy_library):
    """Blocks are counted: the library is restored when the last one ends, whatever the
    order they end in, and only when it was not patched before the first began."""
    m = dummy_library
    first, second = fastprdc.compat.patched("dummy"), fastprdc.compat.patched("dummy")
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # not the last: the second block still sees fastprdc
    assert m.func() == "patched" and fastprdc.compat.is_patched("dummy")
    second.__exit__(None, None, None)
    assert m.func() == "original" and not fastprdc.compat.is_patched("dummy")
    fastprdc.compat.patch("dummy")
    with fastprdc.compat.patched("dummy"), fastprdc.compat.patched("dummy"):
        pass
    assert m.func() == "patched"  # patched before the first block: stays


def test_patching_from_threads(dummy_library):
    """Threads patching, unpatching and opening blocks never lose the originals."""
    import threading

    m = dummy_library
    original = m.func
    barrier = threading.Barrier(8)
    seen = []

    def block():
        barrier.wait()
        for _ in range(200):
            with fastprdc.compat.patched("dummy"):
                seen.append(m.func())

    def toggle():
        barrier.wait()
        for _ in range(200):
            fastprdc.compat.patch("dummy")
            fastprdc.compat.unpatch("dummy")

    threads = [threading.Thread(target=block) for _ in range(6)]
    threads += [threading.Thread(target=toggle) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fastprdc.compat.unpatch("dummy")
    assert m.func is original and not hasattr(m, "added")
    assert set(seen) <= {"patched", "original"}  # an unpatch() call may end any block early


def test_not_installed_names_the_package():
    _patching.register("ghost", module="fastprdc_no_such_module_xyz", pip="ghost-metrics",
                       targets=lambda: [])  # fmt: skip
    try:
        with pytest.raises(ModuleNotFoundError, match=r"pip install ghost-metrics") as info:
            fastprdc.compat.patch("ghost")
        assert isinstance(info.value, ImportError)
        assert fastprdc.compat.available()["ghost"] is False
        fastprdc.compat.unpatch("ghost")  # nothing patched: a no-op
    finally:
        _patching._REGISTRY.pop("ghost", None)


def test_installed_but_broken_import(tmp_path, monkeypatch):
    (tmp_path / "fastprdc_broken_upstream.py").write_text("raise ImportError('needs jax')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _patching.register("broken", module="fastprdc_broken_upstream", pip="broken",
                       targets=lambda: [])  # fmt: skip
    try:
        with pytest.raises(ImportError, match="installed but failed to import: needs jax"):
            fastprdc.compat.patch("broken")
    finally:
        _patching._REGISTRY.pop("broken", None)
        sys.modules.pop("fastprdc_broken_upstream", None)


def test_missing_upstreams_raise_clearly():
    """Every patchable library that is not installed here raises a clear ImportError."""
    missing = [name for name, ok in fastprdc.compat.available().items() if not ok]
    if not missing:
        pytest.skip("every patchable upstream is installed")
    for name in missing:
        try:
            fastprdc.compat.patch(name)
        except ImportError as exc:
            assert "install" in str(exc), (name, str(exc))
        else:  # pragma: no cover
            pytest.fail(f"patch({name!r}) did not raise although it is not installed")
