"""Generate the notebook students start from, out of an assignment's reference package.

Why generated: the stub must never drift from the reference the grader's expected outputs come
from. Each exercise's function is read from the reference module; its one
``### START CODE HERE ###`` ... ``### END CODE HERE ###`` region is replaced by placeholders that
keep the variable names and the loop structure (``a_next = None``, ``for t in range(None):``),
while its signature (without annotations), docstring and the code around the region stay as
written. ``render_pair`` also returns the same notebook with the reference lines kept: a
realistic correct submission for tests, never committed.

The engine names no exercise and holds no course text. An assignment's words come from the
reference package's optional ``notebook`` module (``reference.notebook``); every name in it is
optional:

``INTRO: str``
    the first markdown cell (title and introduction);
``SETUP: str``
    the first code cell (imports), tagged ``{"grader": {"role": "setup"}}``;
``BEFORE: dict[exercise, str]``
    the markdown cell before an exercise's function;
``HINTS: dict[exercise, dict[key, str]]``
    comments written above groups of statements in a blanked region; ``key`` is the source of a
    statement's first target (``"a_next"``, ``"a[:, :, t]"``), ``"for"`` for a loop, or the called
    function of an expression statement (``"caches.append"``); each comment appears once, above
    its first match, with the group's size (``# Compute the state (≈2 lines)``);
``AFTER: dict[exercise, str]``
    the code of the self-check cell run after an exercise's function;
``OUTRO: str``
    the last markdown cell.

Without it (or for a name it leaves out) the notebook is plain but usable: the assignment's title,
a setup cell importing numpy and the spec's ``helper_import``, and per exercise a heading
``### Exercise N - name`` before the function cell. Each function cell is tagged
``{"grader": {"exercise": name, "role": "implementation"}}`` and a self-check cell
``{"grader": {"exercise": name, "role": "self-check"}}``.

Output is deterministic (stable cell ids, no outputs, no execution counts), so a test fails when a
committed stub drifts from its reference: rebuild it with ``grade build DIR`` or
``grade stub build``.
"""

from __future__ import annotations

import ast
import copy
import inspect
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
from nbformat import NotebookNode

from grader.assignment.spec import Assignment
from grader.authoring.source import Source, load_reference, load_source, shipped_source
from grader.core.errors import GraderError

START = "### START CODE HERE ###"
END = "### END CODE HERE ###"


class StubError(GraderError):
    """The reference does not have the shape the generator needs (named in one line)."""


# ---------------------------------------------------------------------------------------------
# Reading the reference


def reference_function(reference: ModuleType, name: str) -> tuple[str, ast.FunctionDef]:
    """(source text, parsed definition) of the reference's function ``name``."""
    fn = getattr(reference, name, None)
    if not inspect.isfunction(fn):
        raise StubError(f"the reference does not define a function {name}")
    try:
        text = textwrap.dedent(inspect.getsource(inspect.unwrap(fn)))
    except (OSError, TypeError) as err:
        raise StubError(f"cannot read the source of the reference's {name} ({err})") from None
    node = ast.parse(text).body[0]
    if not isinstance(node, ast.FunctionDef) or node.name != name:
        raise StubError(f"the reference's {name} is not a plain `def {name}(...)`")
    return text, node


# ---------------------------------------------------------------------------------------------
# Turning one reference function into a notebook cell


@dataclass(frozen=True)
class _Text:
    text: str
    lines: list[str]

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ""

    def stmt_lines(self, node: ast.stmt) -> list[str]:
        assert node.end_lineno is not None
        return self.lines[node.lineno - 1 : node.end_lineno]


def _key(src: _Text, node: ast.stmt) -> str:
    if isinstance(node, ast.For):
        return "for"
    if isinstance(node, ast.Assign):
        return src.segment(node.targets[0])
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return src.segment(node.target)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return src.segment(node.value.func)
    return ""


def _placeholder(src: _Text, node: ast.stmt) -> str:
    """One line that keeps the statement's shape but computes nothing (``x = None``)."""
    if isinstance(node, ast.Assign):
        targets = " = ".join(src.segment(t) for t in node.targets)
        return f"{targets} = None"
    if isinstance(node, ast.AugAssign) and type(node.op) in _AUG_OPS:
        return f"{src.segment(node.target)} {_AUG_OPS[type(node.op)]}= None"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return f"{src.segment(node.value.func)}({', '.join('None' for _ in node.value.args)})"
    raise StubError(f"line {node.lineno}: no placeholder for a {type(node).__name__} statement")


_AUG_OPS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class _BlankRange(ast.NodeTransformer):
    """``range(T_x)`` -> ``range(None)``: the loop stays visible but raises if left as is."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "range":
            node.args = [ast.Constant(None)]
        return node


def _region(src: _Text, body: list[ast.stmt], hints: dict[str, str], indent: str,
            solved: bool) -> Iterator[str]:  # fmt: skip
    """The code region's lines; ``hints`` is consumed: each comment appears once, first use."""
    groups: list[tuple[str | None, list[ast.stmt]]] = []
    for node in body:
        hint = hints.pop(_key(src, node), None)
        if not groups or hint:
            groups.append((hint, []))
        groups[-1][1].append(node)
    for i, (hint, group) in enumerate(groups):
        if hint:
            if i:
                yield ""
            n = len(group)
            size = "" if isinstance(group[0], ast.For) else f" (≈{n} line{'s' if n > 1 else ''})"
            yield f"{indent}# {hint[0].upper()}{hint[1:]}{size}"
        for node in group:
            if isinstance(node, ast.For):
                if solved:
                    header = src.lines[node.lineno - 1 : node.body[0].lineno - 1]
                    yield from header
                else:
                    blank_iter = ast.unparse(_BlankRange().visit(copy.deepcopy(node.iter)))
                    yield f"{indent}for {src.segment(node.target)} in {blank_iter}:"
                yield from _region(src, node.body, hints, indent + "    ", solved)
            elif solved:
                yield from src.stmt_lines(node)
            else:
                yield indent + _placeholder(src, node)


def _signature(node: ast.FunctionDef) -> str:
    """``def name(params):`` without annotations: they name types a notebook does not define."""
    args = copy.deepcopy(node.args)
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            arg.annotation = None
    return f"def {node.name}({ast.unparse(args)}):"


def function_cell(
    src_text: str, node: ast.FunctionDef, solved: bool, hints: Mapping[str, str] | None = None
) -> str:
    """The notebook source of one exercise: plain signature, docstring, code region.

    ``src_text`` is the text ``node`` was parsed from; ``hints`` are the region's comments (see the
    module docstring). ``solved`` keeps the reference lines instead of placeholders.
    """
    src = _Text(src_text, src_text.splitlines())
    out = [_signature(node)]
    first = node.body[0].lineno
    assert node.end_lineno is not None
    lines = src.lines[first - 1 : node.end_lineno]
    starts = [i for i, line in enumerate(lines) if line.strip() == START]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or starts[0] > ends[0]:
        raise StubError(f"{node.name}: expected one {START} ... {END} region")
    start_line, end_line = first + starts[0], first + ends[0]
    inside = [n for n in node.body if start_line < n.lineno < end_line]
    indent = lines[starts[0]][: len(lines[starts[0]]) - len(lines[starts[0]].lstrip())]

    out += lines[: starts[0] + 1]
    out += _region(src, inside, dict(hints or {}), indent, solved)
    out += lines[ends[0] :]
    # `# fmt: skip` steers our formatter; it means nothing to a student.
    return "\n".join(line.removesuffix("  # fmt: skip") for line in out)


# ---------------------------------------------------------------------------------------------
# The notebook's text: the reference's ``notebook`` module, or a plain default


@dataclass(frozen=True)
class CourseText:
    """Everything a notebook says besides the functions (see the module docstring)."""

    intro: str
    setup: str
    before: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    after: Mapping[str, str] = field(default_factory=dict)
    outro: str = ""

    def heading(self, number: int, name: str) -> str:
        return self.before.get(name, f"### Exercise {number} - {name}")


def plain_text(assignment: Assignment) -> CourseText:
    """The notebook's text when the reference brings none."""
    intro = (
        f"# {assignment.title}\n\nWrite your code between `{START}` and `{END}`, replacing each "
        "`None`."
    )
    setup = "\n".join(line for line in ("import numpy as np", assignment.helper_import) if line)
    return CourseText(intro=intro, setup=setup)


def _str_table(value: Any, where: str, names: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise StubError(f"{where}: expected a dict keyed by exercise, got {type(value).__name__}")
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise StubError(f"{where}: {', '.join(map(str, unknown))} is not an exercise")
    return dict(value)


def course_text(assignment: Assignment, reference: ModuleType) -> CourseText:
    """The reference's ``notebook`` text, each missing name falling back to the plain one."""
    plain = plain_text(assignment)
    module = getattr(reference, "notebook", None)
    if module is None:
        return plain
    if not isinstance(module, ModuleType):
        raise StubError("the reference's `notebook` must be a module (the stub's course text)")
    where = str(getattr(module, "__file__", None) or "notebook")
    for key in ("INTRO", "SETUP", "OUTRO"):
        if not isinstance(getattr(module, key, ""), str):
            raise StubError(f"{where}: {key} must be a string")
    names = assignment.names
    before = _str_table(getattr(module, "BEFORE", {}), f"{where}: BEFORE", names)
    after = _str_table(getattr(module, "AFTER", {}), f"{where}: AFTER", names)
    hints = _str_table(getattr(module, "HINTS", {}), f"{where}: HINTS", names)
    for table, values in (("BEFORE", before.values()), ("AFTER", after.values())):
        if not all(isinstance(v, str) for v in values):
            raise StubError(f"{where}: every {table} entry must be a string")
    for name, table in hints.items():
        if not isinstance(table, Mapping) or not all(isinstance(v, str) for v in table.values()):
            raise StubError(f"{where}: HINTS[{name!r}] must map statement keys to comments")
    return CourseText(
        intro=getattr(module, "INTRO", plain.intro),
        setup=getattr(module, "SETUP", plain.setup),
        before=before,
        hints=hints,
        after=after,
        outro=getattr(module, "OUTRO", ""),
    )


# ---------------------------------------------------------------------------------------------
# The notebook


def _cells(assignment: Assignment, reference: ModuleType, solved: bool) -> list[NotebookNode]:
    text = course_text(assignment, reference)
    cells: list[NotebookNode] = [
        nbformat.v4.new_markdown_cell(text.intro),
        nbformat.v4.new_code_cell(text.setup, metadata={"grader": {"role": "setup"}}),
    ]
    for number, name in enumerate(assignment.names, start=1):
        cells.append(nbformat.v4.new_markdown_cell(text.heading(number, name)))
        source, node = reference_function(reference, name)
        code = function_cell(source, node, solved, text.hints.get(name))
        role = {"exercise": name, "role": "implementation"}
        cells.append(nbformat.v4.new_code_cell(code, metadata={"grader": role}))
        if name in text.after:
            check = {"exercise": name, "role": "self-check"}
            cells.append(nbformat.v4.new_code_cell(text.after[name], metadata={"grader": check}))
    if text.outro:
        cells.append(nbformat.v4.new_markdown_cell(text.outro))
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: a re-run is byte-identical
    return cells


def render(assignment: Assignment, reference: ModuleType, *, solved: bool) -> NotebookNode:
    """One notebook of ``assignment`` from its loaded reference package."""
    nb = nbformat.v4.new_notebook(
        cells=_cells(assignment, reference, solved),
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def render_pair(source: Source, reference: ModuleType) -> tuple[NotebookNode, NotebookNode]:
    """(stub, solved): the notebook students start from and the same one solved by the reference."""
    assignment = source.assignment
    return render(assignment, reference, solved=False), render(assignment, reference, solved=True)


def _load(folder: Path | None) -> tuple[Source, ModuleType]:
    source = load_source(folder or shipped_source())
    return source, load_reference(source)


def render_stub(folder: Path | None = None) -> NotebookNode:
    """The stub of the assignment in ``folder`` (default: the shipped one; needs a checkout)."""
    source, reference = _load(folder)
    return render(source.assignment, reference, solved=False)


def render_solved(folder: Path | None = None) -> NotebookNode:
    """The same notebook with the reference lines in place: a correct submission (tests only)."""
    source, reference = _load(folder)
    return render(source.assignment, reference, solved=True)


def dumps(nb: NotebookNode) -> str:
    """The exact text written to disk (``nbformat.write`` adds the final newline the same way)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write_stub(source: Source, nb: NotebookNode, out: Path | None = None) -> Path:
    """Write ``nb`` as ``source``'s stub notebook (into ``out`` if given); returns its path."""
    target = (out or source.folder) / source.assignment.notebook
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps(nb), encoding="utf-8", newline="\n")
    return target


def build_stub(folder: Path | None = None, out: Path | None = None) -> Path:
    """``grade stub build``: rewrite the stub of the assignment in ``folder`` (default: shipped)."""
    source, reference = _load(folder)
    return write_stub(source, render(source.assignment, reference, solved=False), out)
