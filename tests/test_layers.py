"""The package's architecture, enforced (docs/architecture.md).

Every ``grader`` module belongs to a layer; a module may import its own subpackage and lower
layers, never a higher one, never a sibling subpackage of its own layer, and no two modules may
import each other through any chain (imports inside functions count: a cycle dodged by a local
import is still a cycle). The judge runner, which runs beside student code, imports only the
wire format. No private name crosses a module boundary, ``except ImportError`` guards only optional
third-party imports, and the engine names none of the shipped assignment's exercises.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shipped import ASSIGNMENT

PKG = Path(__file__).resolve().parents[1] / "grader"

#: lowest first; a module may import only from its own layer's package or lower layers
LAYERS: tuple[tuple[str, ...], ...] = (
    ("grader.core", "grader.wire"),
    ("grader.assignment",),
    ("grader.sandbox",),
    ("grader.stages",),
    ("grader.judge",),
    ("grader.render",),
    ("grader.pipeline",),
    ("grader.batch", "grader.student", "grader.authoring"),
    ("grader.cli", "grader"),
    ("grader.__main__",),
)
#: the optional dependencies an ``except ImportError`` may guard
OPTIONAL = {
    "rich",
    "dask",
    "distributed",
    "tomli",
    "IPython",
    "resource",
    "fcntl",
    "_posixsubprocess",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py")) if "_data" not in p.parts}


def _unit(module: str) -> str:
    """The architectural unit a module belongs to: its subpackage, or itself at top level."""
    for layer in LAYERS:
        for unit in sorted(layer, key=len, reverse=True):
            if unit != "grader" and (module == unit or module.startswith(unit + ".")):
                return unit
    return "grader"


def _layer(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _imports(path: Path) -> Iterator[tuple[str, ast.AST]]:
    """Every grader module a file imports (anywhere in it), with the node."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "grader":
                    yield alias.name, node
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "grader":
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield (full if full in MODULES else node.module), node


def _graph() -> dict[str, set[str]]:
    return {
        mod: {target for target, _ in _imports(path) if target in MODULES and target != mod}
        for mod, path in MODULES.items()
    }


def test_every_module_has_a_layer() -> None:
    assert len(MODULES) > 40
    for mod in MODULES:
        assert _unit(mod) in {u for layer in LAYERS for u in layer}, mod


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_or_sideways_import(module: str) -> None:
    here = _unit(module)
    for target, node in _imports(MODULES[module]):
        there = _unit(target)
        if there == here or target == "grader":
            continue  # own subpackage; the lazy facade's own name
        line = getattr(node, "lineno", "?")
        assert _layer(there) < _layer(here), (
            f"{module} (line {line}) imports {target}: {there} is not below {here}"
        )


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for mod in sorted(graph):
        if mod not in state:
            visit(mod)


def test_the_runner_imports_only_the_wire_format() -> None:
    """It runs next to student code: the rest of the grader must not be importable from it."""
    runner = MODULES["grader.judge.runner"]
    grader_imports = {target for target, _ in _imports(runner)}
    assert grader_imports, "test bug: the runner imports the wire format"
    assert all(t.startswith("grader.wire") for t in grader_imports), grader_imports


def test_the_runner_loads_nothing_else_of_the_grader() -> None:
    """What the sandboxed runner process really imports (not only what its source says)."""
    import subprocess

    code = (
        "import sys, grader.judge.runner\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'grader')))"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        cwd=PKG.parent,
        check=True,
    )
    loaded = set(proc.stdout.split())
    assert "grader.judge.runner" in loaded
    allowed = {"grader", "grader.judge", "grader.judge.runner"}
    assert {m for m in loaded if not m.startswith("grader.wire")} <= allowed, loaded


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_a_module(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{module} line {node.lineno} imports {private} from {node.module}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_import_error_guards_only_optional_dependencies(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        catches = any(
            (isinstance(h.type, ast.Name) and h.type.id in {"ImportError", "ModuleNotFoundError"})
            or (
                isinstance(h.type, ast.Tuple)
                and any(isinstance(e, ast.Name) and e.id == "ImportError" for e in h.type.elts)
            )
            for h in node.handlers
        )
        if not catches:
            continue
        for stmt in node.body:
            for sub in ast.walk(stmt):
                names = (
                    [a.name for a in sub.names]
                    if isinstance(sub, ast.Import)
                    else [sub.module or ""]
                    if isinstance(sub, ast.ImportFrom)
                    else []
                )
                for name in names:
                    assert name.split(".")[0] in OPTIONAL, (
                        f"{module} line {node.lineno}: 'except ImportError' around {name}, "
                        "which always exists: a real error would be hidden"
                    )


def test_the_engine_names_no_exercise_of_the_shipped_assignment() -> None:
    """An assignment is data: its exercises are named only in its own folders."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, ASSIGNMENT.names)) + r")\b")
    found = [
        f"{path.relative_to(PKG.parent)}:{i}: {line.strip()}"
        for path in MODULES.values()
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_code_points_only_at_docs_inside_the_repository() -> None:
    root = PKG.parent
    for path in MODULES.values():
        for ref in re.findall(r"\b(docs/[\w./-]+\.md)", path.read_text(encoding="utf-8")):
            assert (root / ref).is_file(), f"{path.relative_to(root)} cites {ref}, which is absent"
        assert "design.md" not in path.read_text(encoding="utf-8"), path
