"""The package's shape: perfxl's own modules import each other at module level without cycles
(so each can be imported alone and none needs an import inside a function to work), and the
marks of a checked book are defined once (perfxl.marks) for every writer."""

from __future__ import annotations

import ast
from pathlib import Path

import perfxl

PACKAGE = Path(perfxl.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The perfxl modules a module-level ``from … import …`` loads."""
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    if not base.startswith("perfxl"):
        return []
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def module_imports() -> dict[str, set[str]]:
    """Each perfxl module → the perfxl modules it imports when it is imported (not those imported
    inside functions or only for type checking)."""
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                found.update(_resolve(name, path.name == "__init__.py", node))
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("perfxl"))
        # a package's own __init__ has run before any of its modules: not an edge
        graph[name] = {m for m in found if m in files and m != name
                       and not name.startswith(m + ".")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_module_level_imports_have_no_cycle() -> None:
    graph = module_imports()
    assert "perfxl.marks" in graph and "perfxl.template" in graph  # the scan sees the package
    assert _cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_template_and_summary_stand_apart() -> None:
    """The 汇总 and 来源 writers take their formats from perfxl.styles, not from the template;
    the template does not need the merge to write a merged book's 来源 sheet."""
    graph = module_imports()
    assert "perfxl.template" not in graph["perfxl.summary"]
    assert "perfxl.merge" not in graph["perfxl.template"]
    source = (PACKAGE / "template.py").read_text(encoding="utf-8")
    assert "from .merge" not in source  # not even for type checking


def test_the_ribbon_has_no_openpyxl_writer() -> None:
    """A closed file is marked by the CLI's zip patcher; the openpyxl adapter is the tests'."""
    from perfxl import xl

    assert not hasattr(xl, "OpenpyxlBook")
    source = (PACKAGE / "xl.py").read_text(encoding="utf-8")
    assert "import openpyxl" not in source and "OpenpyxlBook" not in source
