"""The architecture as tested facts: layers import only downwards.

The layers, top to bottom, are listed once, in ``pyproject.toml``
(``[tool.importlinter]``); ``lint-imports`` checks them. The tests here
check what import-linter does not: no import cycle at all (between modules,
not only layers), no import of a dbdicom module inside a function (the way
cycles used to be hidden), imports across packages only of public names
through the package itself, and no module over 600 lines.

Imports under ``if TYPE_CHECKING:`` are for type checkers only and never run;
they are left out of the cycle check (a type hint may name a class of a layer
above, as ``Record`` is named in the modules it hands itself to).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

import dbdicom

PACKAGE = Path(dbdicom.__file__).parent
ROOT = PACKAGE.parent
MAX_LINES = 600


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of the module an ``ImportFrom`` imports from."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _package(module: str) -> str:
    """The layer a module belongs to: ``dbdicom._index._scan`` -> ``dbdicom._index``."""
    return ".".join(module.split(".")[:2])


def test_lint_imports_passes() -> None:
    """The layers contract of pyproject.toml holds (import-linter)."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run(
        [exe, "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 1 kept, 0 broken" in done.stdout, done.stdout


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("dbdicom", exclude_type_checking_imports=True)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def _function_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner


@pytest.mark.parametrize(("module", "path"), list(_modules()), ids=lambda x: str(x))
def test_no_dbdicom_import_inside_a_function(module: str, path: Path) -> None:
    """Only third-party modules are imported inside functions (optional extras,
    and xarray/dask/zarr where a light module needs them once)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = []
    for node in _function_imports(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, path, node)
        else:
            target = node.names[0].name
        if target == "dbdicom" or target.startswith("dbdicom."):
            inside.append(f"line {node.lineno}: {target}")
    assert inside == []


@pytest.mark.parametrize(("module", "path"), list(_modules()), ids=lambda x: str(x))
def test_imports_across_packages_are_public(module: str, path: Path) -> None:
    """Another package is imported through its ``__init__``, and only its public names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        target = _resolve(module, path, node)
        if not target.startswith("dbdicom") or _package(target) == _package(module):
            continue
        if target.count(".") > 1:
            wrong.append(f"line {node.lineno}: from {target} (past the package's __init__)")
        for alias in node.names:
            if alias.name.startswith("_") and target != "dbdicom":
                wrong.append(f"line {node.lineno}: {alias.name} from {target} (private)")
    assert wrong == []


@pytest.mark.parametrize(("module", "path"), list(_modules()), ids=lambda x: str(x))
def test_no_module_over_600_lines(module: str, path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines"
