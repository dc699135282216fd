"""No import cycle among echobench's own modules, typed imports included: each layer
reads the ones below it (contract and records, model and metrics, scenarios, points,
the runner, then reports), never back up."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("echobench", "loadtests", "servers")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules a module imports, at run time or for type checking alike."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:  # `from echobench import model` imports a module
                full = f"{node.module}.{alias.name}"
                out.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
    return {m for m in out if m in modules and m != name}


def cycles(modules: dict[str, Path]) -> list[list[str]]:
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return found


def test_no_import_cycle_typed_or_not():
    assert cycles(_modules()) == []


def test_the_check_finds_a_typed_cycle(tmp_path):
    (tmp_path / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from echobench.b import X\n")  # fmt: skip
    (tmp_path / "b.py").write_text("from echobench import a\n")
    modules = {"echobench.a": tmp_path / "a.py", "echobench.b": tmp_path / "b.py"}
    assert cycles(modules) == [["echobench.a", "echobench.b"]]
