"""Importing fastprdc: the public names, no failure without the GPU stack, every module of
the package importable first in a fresh interpreter and in any order, and an import graph
without cycles (no lazy import standing in for a cycle)."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from pathlib import Path

import pytest

import fastprdc

PACKAGE_DIR = Path(fastprdc.__file__).parent

#: Function-level imports that deliberately call up into a higher layer. Only these may close a
#: cycle: ``EvaluationResult.plot`` is a convenience that hands the result to fastprdc.plot,
#: which (through the family registry) builds on result.py itself; Dask inputs to evaluate,
#: the metric functions and the primitives go up to fastprdc.distributed (which builds on
#: them) through the one hand-over in ``_dispatch``.
UPWARD_CALLS = {
    ("fastprdc.result", "fastprdc.plot"),
    ("fastprdc._dispatch", "fastprdc.distributed"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py")) if p.name != "__main__.py"}


def _imports(name: str, path: Path, *, lazy: bool) -> set[str]:
    """The package modules ``name`` imports: at module level, plus inside functions when
    ``lazy`` (``if TYPE_CHECKING:`` blocks left out; a module's own packages left out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, (ast.Import, ast.ImportFrom)) and (lazy or not inner):
                if isinstance(child, ast.Import):
                    targets = [alias.name for alias in child.names]
                else:
                    base = child.module or ""
                    if child.level:
                        up = package.split(".")[: len(package.split(".")) - child.level + 1]
                        base = ".".join(up + ([child.module] if child.module else []))
                    targets = [base] + [f"{base}.{alias.name}" for alias in child.names]
                for target in targets:
                    if target in MODULES and target != name and not name.startswith(target + "."):
                        found.add(target)
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                dfs(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node, [])
    return cycles


def test_import_and_public_names():
    for name in (
        "precision_recall",
        "density_coverage",
        "compute_prdc",
        "evaluate",
        "show_config",
        "primitives",
        "__version__",
    ):
        assert hasattr(fastprdc, name), name
    for name in ("pairwise_distances", "knn", "kth_radii", "ball_membership"):
        assert callable(getattr(fastprdc.primitives, name)), name
    assert isinstance(fastprdc.__version__, str) and fastprdc.__version__


def test_import_in_fresh_interpreter_without_gpu_stack():
    """``import fastprdc`` never fails because CUDA or CuPy is missing (here: made
    unimportable on purpose)."""
    code = (
        "import sys\n"
        "for name in ('cupy', 'torch', 'fastprdc._cuda'):\n"
        "    sys.modules[name] = None\n"
        "import fastprdc\n"
        "cfg = fastprdc.show_config(file=open('/dev/null', 'w'))\n"
        "print(cfg['cuda']['built'], cfg['cupy']['installed'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


def test_module_level_import_graph_has_no_cycle():
    graph = {name: _imports(name, path, lazy=False) for name, path in MODULES.items()}
    assert _cycles(graph) == []


def test_no_lazy_import_hides_a_cycle():
    """With the imports inside functions counted too, the only cycles are the documented
    upward calls (a lazy import must not stand in for a cycle between layers)."""
    graph = {name: _imports(name, path, lazy=True) for name, path in MODULES.items()}
    for caller, callee in UPWARD_CALLS:
        assert callee in graph[caller], f"{caller} no longer imports {callee}: update the list"
        graph[caller].discard(callee)
    assert _cycles(graph) == []


def test_cycle_finder_sees_a_cycle():
    """The check above can fail: a lazy import closing a loop is reported."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    tables = _imports("fastprdc._tables", MODULES["fastprdc._tables"], lazy=True)
    assert tables == set(), "the table renderer imports nothing from the package"


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_every_module_imports_in_any_order(seed):
    """One fresh interpreter per order (sorted, or shuffled with ``seed``): every module of
    the package imports, none leaves a partially initialised module behind."""
    names = sorted(MODULES)
    if seed is not None:
        random.Random(seed).shuffle(names)
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"order {names}:\n{proc.stderr[-3000:]}"
