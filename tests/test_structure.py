"""The shape of the house: no import cycles between perfxl's modules, and no module imports from
a room above it (the jobs in pipeline.py are called, never called back).

Imports are read with ast, module level and inside functions alike (an import hidden in a
function is still a dependency); those under ``if TYPE_CHECKING:`` are left out, as they never
run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "perfxl"

# the front ends, the jobs they call, and what nothing below the jobs may import
FRONTS = {"perfxl.cli", "perfxl.xl", "perfxl.__main__", "perfxl.distributed"}
JOBS = "perfxl.pipeline"


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> set[str]:
    """perfxl modules ``path`` imports (a package's submodules resolved where they exist)."""
    name = _module(path)
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
                        found.add(sub if _exists(sub) else target)
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("perfxl"))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return {m for m in found if _exists(m)}


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").is_file() or \
        (PACKAGE.parent / rel / "__init__.py").is_file()


def graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_no_import_cycles() -> None:
    g = graph()
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
    g = graph()
    assert JOBS in g, "perfxl/pipeline.py holds the whole jobs"
    up = {m for m, deps in g.items() if m not in FRONTS and m != "perfxl" and
          (JOBS in deps or deps & FRONTS)}
    assert not up, f"modules below the jobs import the jobs or a front end: {sorted(up)}"


def test_the_package_front_door_imports_no_front_end() -> None:
    assert not graph()["perfxl"] & FRONTS
