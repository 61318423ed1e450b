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


# --- every import, inside functions too: the layers of docs/design.md ------------------------------
# (an import hidden in a function is still a dependency; only TYPE_CHECKING imports are left out)


# the front ends, the jobs they call, and what nothing below the jobs may import
FRONTS = {"perfxl.cli", "perfxl.xl", "perfxl.__main__", "perfxl.distributed"}
JOBS = "perfxl.pipeline"


def _mod(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _all_imports(path: Path) -> set[str]:
    """perfxl modules ``path`` imports (a package's submodules resolved where they exist)."""
    name = _mod(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.startswith("perfxl"):
                    for alias in child.names:
                        sub = f"{target}.{alias.name}"
                        found.add(sub if _is_module(sub) else target)
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("perfxl"))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return {m for m in found if _is_module(m)}


def _is_module(module: str) -> bool:
    rel = Path(*module.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").is_file() or \
        (PACKAGE.parent / rel / "__init__.py").is_file()


def all_imports() -> dict[str, set[str]]:
    return {_mod(p): _all_imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_no_cycles_even_through_imports_inside_functions() -> None:
    g = all_imports()
    g.pop("perfxl", None)  # the package's front door re-exports; it is imported by no module
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if nxt == "perfxl":
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            walk(node, [])
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_nothing_below_the_jobs_calls_up() -> None:
    g = all_imports()
    assert JOBS in g, "perfxl/pipeline.py holds the whole jobs"
    up = {m for m, deps in g.items() if m not in FRONTS and m != "perfxl" and
          (JOBS in deps or deps & FRONTS)}
    assert not up, f"modules below the jobs import the jobs or a front end: {sorted(up)}"


def test_the_package_front_door_imports_no_front_end() -> None:
    assert not all_imports()["perfxl"] & FRONTS
