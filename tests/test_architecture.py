"""The layout's rules that import-linter's contracts do not state: no import cycles anywhere, and no
project import hidden inside a function without a comment that says why."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

from tests.shared_data import REPO

PACKAGES = ("trading", "mlfilter", "options", "mia_site", "bench")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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


def test_there_is_no_import_cycle():
    assert _cycles(grimp.build_graph(*PACKAGES)) == []


def test_imports_inside_functions_say_why():
    """A project import inside a function hides a dependency; where one is needed, a comment says why."""
    unexplained = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(lines))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").split(".")[0] in PACKAGES:
                        before = "\n".join(lines[max(0, inner.lineno - 4):inner.lineno])
                        if "#" not in before and "Django and project imports" not in _module_doc(path):
                            unexplained.append(f"{Path(path).relative_to(REPO)}:{inner.lineno}")
    assert unexplained == []


def _module_doc(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text())) or ""
