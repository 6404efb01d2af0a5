"""Extract stage: the minimal program that defines each exercise function, read statically.

The judge never calls functions inside the student's kernel: a top-level cell that patches numpy or
builtins would fool every exercise. Instead, for each exercise we take the LAST top-level binding of
its name plus the statements it depends on (helpers, imports, constants, star imports) and hand
them to the judge, which runs them in a fresh sandboxed process per exercise. Statements the
function does not need (prints, tests, plots, ``np.random.seed``, ``np.tanh = ...``) never run.

Pure AST and ``symtable``: nothing here executes student code, and nothing here raises — whatever
goes wrong with a cell becomes a ``problems`` entry. Cell numbers in messages are 1-based (as the
runner's ``<cell N>`` file names); ``Chunk.cell`` is the 0-based index into ``nb.cells``.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import functools
import importlib.util
import re
import symtable
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = [
    "Chunk",
    "Extracted",
    "GlobalRead",
    "definition",
    "extract",
    "extract_sources",
    "global_reads",
]


@dataclass(frozen=True)
class Chunk:
    """One top-level statement of a notebook cell, ready for ``exec``.

    Contract with the judge: run ``compile("\\n" * (line - 1) + code, f"<cell {cell + 1}>",
    "exec")`` in the exercise's one shared namespace, chunks in order, each inside its own
    try/except — a failing chunk (say an import of a missing module) is recorded and the next
    chunks still run. That is why every statement is its own chunk. ``code`` is the student's text with IPython syntax
    transformed and magics/shell escapes replaced by ``pass`` (line numbers preserved).
    """

    cell: int  #: notebook cell index (0-based, all cell types counted)
    line: int  #: 1-based line in that cell where ``code`` starts
    code: str


@dataclass(frozen=True)
class Extracted:
    """What the judge needs for one exercise; ``chunks`` is empty when it is not defined."""

    name: str
    chunks: tuple[Chunk, ...]
    cell: int | None  #: cell of the final (last) binding of ``name``
    line: int | None
    problems: tuple[str, ...] = ()
    #: later definitions that do not parse, so an earlier one is graded (also in ``problems``)
    shadowed: tuple[str, ...] = ()

    @property
    def missing(self) -> bool:
        return not self.chunks


# --------------------------------------------------------------------------- cell → statements

#: cell magics whose body is Python run in the user namespace (``%%timeit`` runs it in a function)
_PY_CELL_MAGICS = frozenset({"time", "capture", "prun"})
_COMPREHENSIONS = frozenset({"listcomp", "setcomp", "dictcomp", "genexpr"})
#: bodies are attached to these, never top-level statements of their own
_CONTINUATION = re.compile(r"(?:else|elif|except|finally)\b|[)\]}]")
_MAX_MERGE = 40  # salvage: how many following pieces a broken piece may absorb (docstrings)
_UNFINISHED = re.compile(r"never closed|unterminated triple|EOF|expected an indented block")
#: IPython re-tokenizes a whole cell once per magic: past this many, blank them out cheaply
_MAX_MAGICS = 32
_MAGIC_LINE = re.compile(r"^([ \t]*)(?:[!%].*|[\w.]+\?\??[ \t]*)$", re.M)
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)
_KNOWN = frozenset(dir(builtins)) | {
    "__name__", "__doc__", "__file__", "__builtins__", "__spec__", "__loader__", "__package__",
    "display",  # a builtin in Jupyter and Colab; the judge's runner provides it too
}  # fmt: skip


@dataclass
class _Stmt:
    cell: int
    line: int
    code: str
    binds: frozenset[str]  # names the statement binds (defs, imports, assignments, `global` writes)
    imported: frozenset[str]  # the subset bound by import: never "mutated" (np.random.seed(1))
    star: bool
    mutates: frozenset[str]  # `x[k] = v`, `x.a = v`, `x.append(v)`, `del x[k]` on these names
    now: frozenset[str]  # globals read while the statement runs (defaults, decorators, values)
    later: frozenset[str]  # globals read by the functions it defines, when they are called
    #: globals its functions assign (``global x; x = …``): bound only once they are called, so
    #: they are needs (``x += 1`` reads the module-level ``x = 0``), not bindings that hide it
    deferred: frozenset[str] = frozenset()
    #: an ``if``/``for``/``try``/… : what it binds, it may not bind (``if False: def f(): …``)
    compound: bool = False
    #: passed to a notebook function by a call statement (``setup(ACT)``): maybe filled there
    passes: frozenset[str] = frozenset()
    #: a ``def``/``class``: passing what it binds to a call (``test(f)``) changes nothing
    defines: bool = False


@dataclass
class _Broken:
    cell: int
    line: int
    message: str
    text: str


@dataclass
class _Cells:
    stmts: list[_Stmt]
    broken: list[_Broken]
    ipython: dict[str, tuple[int, int]]  # names bound only through IPython syntax (`x = !ls`)


class _LineShift(Exception):
    """IPython's transform changed the line count (cell magic, continued magic line)."""


def _where(cell: int, line: int) -> str:
    return f"cell {cell + 1}, line {line}"


def _clean(text: str) -> str:
    # Messages end up in JSON/HTML: lone surrogates and NULs must not travel with them.
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


#: serialises what touches process-wide state: warning filters, IPython's transformer
_LOCK = threading.RLock()


def _standalone_transformer_module() -> ModuleType:
    """IPython's ``inputtransformer2`` loaded on its own, without the ``IPython`` package.

    The module needs only the standard library, while ``import IPython`` runs the package's
    ``__init__`` (the terminal shell, prompt_toolkit, jedi): 20 MB and 0.15 s in every grading
    process, for nothing extraction uses. Raises when a future IPython changes that.
    """
    spec = importlib.util.find_spec("IPython")  # a top-level name: nothing is executed
    if spec is None or spec.origin is None:
        raise ImportError("IPython is not installed")
    path = Path(spec.origin).parent / "core" / "inputtransformer2.py"
    name = "_rnn_grader_inputtransformer2"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # what dataclasses and pickling look a module up by
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@functools.cache
def _transformer() -> Callable[[str], str] | None:
    try:
        module = _standalone_transformer_module()
    except Exception:  # the module grew package imports: the ordinary (heavier) import
        limit = sys.getrecursionlimit()
        try:
            from IPython.core import inputtransformer2 as module
        except Exception:  # IPython missing or broken: magics then show up as syntax errors
            return None
        finally:
            sys.setrecursionlimit(limit)  # importing IPython pulls in jedi, which raises it
    return module.TransformerManager().transform_cell


def _transform(text: str) -> str:
    """IPython syntax → Python (``!ls`` → ``get_ipython().system('ls')``); as is on failure."""
    transform = _transformer()
    # Fast path: without these characters/indentation IPython would not change anything.
    if transform is None or not (set("!%?") & set(text) or text[:1].isspace() or text[:3] == ">>>"):
        return text if text.endswith("\n") else text + "\n"
    try:
        return transform(text)
    except Exception:
        return text if text.endswith("\n") else text + "\n"


def _is_ipython_call(node: ast.AST) -> bool:
    """``get_ipython().anything(...)`` — what every magic and shell escape becomes."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Name)
        and node.func.value.func.id == "get_ipython"
    )


def _neutralize(code: str, tree: ast.Module) -> tuple[str, ast.Module]:
    """Replace magic/shell-escape statements (at any depth) by ``pass``, keeping line numbers."""
    lines = code.split("\n")
    changed = False
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Expr) and _is_ipython_call(node.value)):
            continue
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        prefix = lines[first].encode()[: node.col_offset].decode("utf-8", "replace")
        rest = lines[last].encode()[node.end_col_offset or 0 :].decode("utf-8", "replace").strip()
        if prefix.strip() or (rest and not rest.startswith("#")):
            continue  # shares its line with other code: leave it (it then binds nothing useful)
        lines[first] = prefix + "pass"
        for i in range(first + 1, last + 1):
            lines[i] = ""
        changed = True
    if not changed:
        return code, tree
    new = "\n".join(lines)
    try:
        return new, ast.parse(new)
    except _PARSE_ERRORS:
        return code, tree


def _parse(text: str, *, exact: bool) -> tuple[str, ast.Module]:
    """Transform + parse one piece of a cell; ``exact``: refuse a changed line count."""
    code = _transform(text)
    want = text.count("\n") + (not text.endswith("\n"))
    have = code.count("\n")
    if have != want and exact:
        raise _LineShift
    if have < want:  # a continued magic line inside one statement: pad its end
        code += "\n" * (want - have)
    return _neutralize(code, ast.parse(code))


def _broken(cell: int, exc: BaseException, text: str, offset: int) -> _Broken:
    """The problem of a piece of ``cell`` whose first line is cell line ``offset + 1``:
    "cell 8: syntax error at line 3: invalid syntax"."""
    line, kind, detail = offset + 1, "cannot parse", str(exc)
    if isinstance(exc, SyntaxError):
        kind = "indentation error" if isinstance(exc, IndentationError) else "syntax error"
        line, detail = offset + (exc.lineno or 1), str(exc.msg)
    elif "\x00" in text:
        line, detail = offset + text[: text.index("\x00")].count("\n") + 1, "null byte in source"
    elif isinstance(exc, UnicodeError):
        detail = "characters that are not valid UTF-8"
    elif isinstance(exc, (RecursionError, MemoryError)):
        detail = "code too deeply nested to analyse"
    return _Broken(cell, line, _clean(f"cell {cell + 1}: {kind} at line {line}: {detail}"), text)


def _boundaries(lines: list[str]) -> list[int]:
    """Line indices where a new top-level statement may start (column 0, not a continuation)."""
    starts = [0]
    prev = ""
    for i, line in enumerate(lines):
        if i and line[:1] not in ("", " ", "\t", "#") and not _CONTINUATION.match(line):
            decorated = prev.startswith("@") and re.match(r"(async\s+)?(def|class)\b|@", line)
            if not decorated and not prev.rstrip().endswith("\\"):
                starts.append(i)
        if line.strip() and not line.lstrip().startswith("#"):
            prev = line
    return starts


def _pieces(
    cell: int, text: str, offset: int, broken: list[_Broken]
) -> list[tuple[int, str, ast.Module]]:
    """Parse ``text`` (cell lines from ``offset + 1``): whole if possible, else statement by
    statement so that a syntax error costs only what the broken part defines."""
    try:
        code, tree = _parse(text, exact=True)
        return [(offset, code, tree)]
    except (_LineShift, *_PARSE_ERRORS):
        pass
    lines = text.split("\n")
    starts = [*_boundaries(lines), len(lines)]
    budget = 10 * len(lines) + 1000  # lines re-parsed while merging: keeps hostile cells linear
    out: list[tuple[int, str, ast.Module]] = []
    i = 0
    while i < len(starts) - 1:
        error: BaseException | None = None
        j = i + 1
        while True:
            try:
                code, tree = _parse("\n".join(lines[starts[i] : starts[j]]), exact=False)
            except _PARSE_ERRORS as exc:
                error = error or exc
                budget -= starts[j] - starts[i]
                # Only an unfinished piece (a docstring or a call with column-0 lines) can be
                # completed by the following ones.
                unfinished = _UNFINISHED.search(str(getattr(error, "msg", "")))
                if unfinished and j < len(starts) - 1 and j - i < _MAX_MERGE and budget > 0:
                    j += 1
                    continue
                piece = "\n".join(lines[starts[i] : starts[i + 1]])
                broken.append(_broken(cell, error, piece, offset + starts[i]))
                i += 1
                break
            out.append((offset + starts[i], code, tree))
            i = j
            break
    return out


def _segment(lines: list[str], node: ast.stmt) -> tuple[int, str]:
    """(first line, verbatim source) of a top-level statement, decorators included."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
    last = node.end_lineno or node.lineno
    if hasattr(node, "body") or first != node.lineno:
        # Compound statements own their lines: nothing can follow them on their last line.
        return first, "\n".join(lines[first - 1 : last])
    # Simple statements may share a line (`x = 1; y = 2`): cut by (byte) columns.
    raw = "\n".join(lines[first - 1 : last]).encode()
    end = len(raw) - len(lines[last - 1].encode()) + (node.end_col_offset or 0)
    return first, raw[node.col_offset : end].decode("utf-8", "replace")


def _root(node: ast.expr) -> str | None:
    """``params`` for ``params["W"].T``, ``d.get(k).append`` …"""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


#: compound statements whose bodies run at once (not ``def``/``class``, which only define)
_COMPOUND: tuple[type[ast.stmt], ...] = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith, ast.Match,
)  # fmt: skip
if sys.version_info >= (3, 11):
    _COMPOUND = (*_COMPOUND, ast.TryStar)


def _simple(node: ast.stmt) -> Iterable[ast.stmt]:
    """``node`` or, for a compound statement, the statements nested in it (not in defs)."""
    if not isinstance(node, _COMPOUND):
        yield node
        return
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, ()):
            if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                for inner in child.body:
                    yield from _simple(inner)
            elif isinstance(child, ast.stmt):
                yield from _simple(child)


def _exec_literal(node: ast.stmt) -> str | None:
    """The code of ``exec("...")`` (a top-level call on one string literal), else None."""
    call = node.value if isinstance(node, ast.Expr) else None
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "exec"
        and len(call.args) == 1
        and not call.keywords
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    ):
        return call.args[0].value
    return None


def _passed(node: ast.stmt) -> set[str]:
    """Names handed to a notebook-level function by a call statement (``setup(ACT)``), which
    may fill them; builtins (``print(x)``) and methods (``np.save(f, x)``) do not count."""
    names: set[str] = set()
    for stmt in _simple(node):
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            continue
        if call.func.id in _KNOWN:
            continue
        args = [*call.args, *(k.value for k in call.keywords)]
        names.update(a.id for a in args if isinstance(a, ast.Name))
    return names


def _mutated(node: ast.stmt) -> set[str]:
    """Names whose object the statement changes in place (at any depth of an ``if``/``for``…)."""
    names: set[str] = set()
    for stmt in _simple(node):
        names |= _mutated_here(stmt)
    return names


def _mutated_here(node: ast.stmt) -> set[str]:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target] if node.value is not None else []
    elif isinstance(node, ast.Delete):
        targets = node.targets
    elif (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
    ):
        targets = [node.value.func]  # method call: lst.append(x)
    names = {_root(t) for t in targets if isinstance(t, (ast.Attribute, ast.Subscript))}
    return {n for n in names if n}


def _scopes(
    table: symtable.SymbolTable,
) -> tuple[set[str], set[str], set[str], set[str], set[str]]:
    """(binds, imported, now, later, deferred) of one statement's symbol table.

    Class bodies and comprehensions run when their parent runs; function and lambda bodies only
    when called, so what they read is resolved against the notebook's final state, and what they
    declare ``global`` and assign is *deferred*: read (``n += 1``) or bound only at call time."""
    binds: set[str] = set()
    imported: set[str] = set()
    now: set[str] = set()
    later: set[str] = set()
    deferred: set[str] = set()
    for sym in table.get_symbols():
        if sym.is_referenced():
            now.add(sym.get_name())
        if sym.is_assigned() or sym.is_imported():
            binds.add(sym.get_name())
        if sym.is_imported():
            imported.add(sym.get_name())
    stack = [(child, True) for child in table.get_children()]
    while stack:
        tab, at_once = stack.pop()
        kind = str(tab.get_type())
        at_once = at_once and (kind == "class" or tab.get_name() in _COMPREHENSIONS)
        for sym in tab.get_symbols():
            if sym.is_global() and sym.is_referenced():
                (now if at_once else later).add(sym.get_name())
            if sym.is_declared_global() and sym.is_assigned():
                # a walrus in a comprehension binds at once; `global x; x = …` in a function
                # only when it is called
                (binds if at_once else deferred).add(sym.get_name())
        stack.extend((child, at_once) for child in tab.get_children())
    return binds, imported, now, later, deferred - binds


def _statements(cell: int, offset: int, code: str, tree: ast.Module, out: _Cells) -> None:
    lines = code.split("\n")
    for node in tree.body:
        first, text = _segment(lines, node)
        line = offset + first
        star = any(
            isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
            for n in ast.walk(node)
        )
        mutates = _mutated(node)
        passes = _passed(node)
        try:
            binds, imported, now, later, deferred = _scopes(
                symtable.symtable(text, "<cell>", "exec")
            )
        except _PARSE_ERRORS as exc:  # e.g. `nonlocal` at top level: parses, compiles nowhere
            out.broken.append(_broken(cell, exc, text, line - 1))
            continue
        literal = _exec_literal(node)
        if literal is not None:  # `exec("def f(x): ...")`: runs as is; binds what its text binds
            try:
                inner = _scopes(symtable.symtable(literal, "<exec>", "exec"))
            except _PARSE_ERRORS:
                pass
            else:
                binds, imported, now, later, deferred = (
                    a | b
                    for a, b in zip((binds, imported, now, later, deferred), inner, strict=True)
                )
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            now.add(node.target.id)  # `n += 1` reads n, though symtable does not say so
        if "get_ipython" in now:  # `x = !ls`, `y = %pwd`: cannot run while grading
            for name in binds:
                out.ipython[name] = (cell, line)
            continue
        if binds or mutates or star or deferred or passes:  # anything else is never needed
            out.stmts.append(
                _Stmt(
                    cell,
                    line,
                    text,
                    frozenset(binds),
                    frozenset(imported),
                    star,
                    frozenset(mutates),
                    frozenset(now),
                    frozenset(later | deferred),
                    frozenset(deferred),
                    compound=isinstance(node, _COMPOUND),
                    passes=frozenset(passes - binds),
                    defines=isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)),
                )
            )


def _cell(cell: int, source: str, out: _Cells) -> None:
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    offset = 0
    while True:  # leading blank lines, then Python-bodied cell magics (`%%time`), possibly nested
        while offset < len(lines) and not lines[offset].strip():
            offset += 1
        if offset == len(lines):
            return
        head = lines[offset].lstrip()
        if not head.startswith("%%"):
            break
        magic = re.match(r"%%(\w*)", head)
        if not magic or magic.group(1) not in _PY_CELL_MAGICS:
            return  # %%bash, %%writefile, %%html …: not Python, defines nothing
        offset += 1
    text = "\n".join(lines[offset:])
    if (
        sum(1 for _ in zip(range(_MAX_MAGICS + 1), _MAGIC_LINE.finditer(text), strict=False))
        > _MAX_MAGICS
    ):
        text = _MAGIC_LINE.sub(r"\1pass", text)  # what _neutralize would make of them anyway
    for start, code, tree in _pieces(cell, text, offset, out.broken):
        _statements(cell, start, code, tree, out)


def _scan(sources: Iterable[tuple[int, str]]) -> _Cells:
    out = _Cells([], [], {})
    for cell, source in sources:
        for attempt in (1, 2):
            part = _Cells([], [], {})
            try:
                _cell(cell, source, part)
            except Exception as exc:  # a bug of ours (or RecursionError) costs one cell, not all
                if attempt == 1:
                    continue  # a passing failure of the grader's (memory): never the student's
                # With the cell's text, the exercises it defines say why they are missing.
                out.broken.append(_broken(cell, exc, source, 0))
            else:
                out.stmts.extend(part.stmts)
                out.broken.extend(part.broken)
                out.ipython.update(part.ipython)
            break
    return out


# --------------------------------------------------------------------------- closure

_MAX_PROBLEMS = 10


def _summary(problems: list[str]) -> tuple[str, ...]:
    """Distinct problems, at most ``_MAX_PROBLEMS`` of them (a hostile cell can break thousands)."""
    unique = list(dict.fromkeys(problems))
    if len(unique) <= _MAX_PROBLEMS:
        return tuple(unique)
    return (*unique[: _MAX_PROBLEMS - 1], f"... and {len(unique) - _MAX_PROBLEMS + 1} more")


class _Index:
    def __init__(self, cells: _Cells) -> None:
        self.cells = cells
        self.stmts = cells.stmts
        self.binders: dict[str, list[int]] = {}
        #: statements whose functions assign the name through `global`, when called
        self.deferred: dict[str, list[int]] = {}
        self.mutators: dict[str, list[int]] = {}
        #: call statements that pass the name to a notebook function (may fill it)
        self.passers: dict[str, list[int]] = {}
        self.stars: list[int] = []
        for pos, s in enumerate(self.stmts):
            for name in s.binds:
                self.binders.setdefault(name, []).append(pos)
            for name in s.deferred:
                self.deferred.setdefault(name, []).append(pos)
            for name in s.mutates:
                self.mutators.setdefault(name, []).append(pos)
            for name in s.passes:
                self.passers.setdefault(name, []).append(pos)
            if s.star:
                self.stars.append(pos)

    def defining(self, name: str, after: tuple[int, int] = (-1, 0)) -> list[_Broken]:
        """Broken pieces (after cell/line ``after``) that look like they bind ``name``."""
        n = re.escape(name)
        pattern = re.compile(
            rf"^[ \t]*(?:(?:async[ \t]+)?(?:def|class)[ \t]+{n}\b|{n}[ \t]*(?::[^=\n]*)?=(?!=)"
            rf"|(?:from[ \t].*)?import[ \t].*\b{n}\b)",
            re.M,
        )
        return [b for b in self.cells.broken if (b.cell, b.line) > after and pattern.search(b.text)]

    def closure(self, name: str) -> Extracted:
        if name not in self.binders:
            problems = [b.message for b in self.defining(name)]
            if name in self.cells.ipython:
                where = _where(*self.cells.ipython[name])
                problems.append(
                    f"{name} is only bound by IPython syntax ({where}), "
                    "which does not run while grading"
                )
            return Extracted(name, (), None, None, _summary(problems))
        final = self.binders[name][-1]
        s = self.stmts[final]
        # A broken redefinition after the graded one: the kernel kept the old one, and so do we.
        shadowed = [
            f"{b.message} (the definition in {_where(s.cell, s.line)} is graded instead)"
            for b in self.defining(name, after=(s.cell, s.line))
        ]
        problems = list(shadowed)
        included: set[int] = set()
        # unresolved name → (position that needs it (None: at call time), who needs it)
        unresolved: dict[str, tuple[int | None, int]] = {}
        queue = self._binding(name, len(self.binders[name]))
        while queue:
            while queue:
                pos = queue.pop()
                if pos not in included:
                    included.add(pos)
                    queue.extend(self._needs(pos, unresolved))
            # Star imports before anything included: we cannot know what they bind.
            last = max(included)
            queue = [p for p in self.stars if p < last and p not in included]
        for missing, (before, pos) in sorted(unresolved.items()):
            # A star import before the use may well provide it (softmax from rnn_utils).
            if not (self.stars and self.stars[0] < (max(included) if before is None else before)):
                problems.extend(self._unresolved(missing, before, pos, name))
        chunks = tuple(
            Chunk(self.stmts[p].cell, self.stmts[p].line, self.stmts[p].code)
            for p in sorted(included)
        )
        return Extracted(name, chunks, s.cell, s.line, _summary(problems), _summary(shadowed))

    def _needs(self, pos: int, unresolved: dict[str, tuple[int | None, int]]) -> list[int]:
        s = self.stmts[pos]
        found: list[int] = []
        demands = [(n, None) for n in s.later] + [(n, pos) for n in s.now]
        for n, before in demands:
            positions = self.binders.get(n, [])
            # Functions look globals up when called (the notebook's last binding); module-level
            # code when it runs (the last binding before it).
            k = len(positions) if before is None else bisect.bisect_left(positions, before)
            if k:
                found.extend(self._binding(n, k))
            elif before is None and n in self.deferred:
                # only ever bound by a function's `global` assignment (an `init()` the code
                # calls, or the function itself): include those functions, nothing to report
                found.extend(self.deferred[n])
            elif not (n in _KNOWN or (before is not None and n in s.binds)):
                unresolved.setdefault(n, (before, pos))
        for n in s.binds - s.imported:  # `params["W"] = …` after `params = {}`, up to a rebinding
            positions = self.binders[n]
            nxt = bisect.bisect_right(positions, pos)
            end = positions[nxt] if nxt < len(positions) else len(self.stmts)
            found.extend(m for m in self.mutators.get(n, []) if pos < m < end)
            if not s.defines:  # `ACT = {}` then `setup(ACT)`; never `test(my_function)`
                found.extend(m for m in self.passers.get(n, []) if pos < m < end)
        return found

    def _binding(self, name: str, k: int) -> list[int]:
        """The statements that make ``name`` what it is after its first ``k`` bindings: the
        ``k``-th, and, while that one is an ``if``/``try``/``for``… that may not bind it
        (``if False: def f(): …``), the ones before it, back to one that surely does."""
        positions = self.binders[name]
        out = [positions[k - 1]]
        while k > 1 and self.stmts[positions[k - 1]].compound:
            k -= 1
            out.append(positions[k - 1])
        return out

    def _unresolved(self, n: str, before: int | None, pos: int, name: str) -> list[str]:
        s = self.stmts[pos]
        who = name if name in s.binds else (min(s.binds) if s.binds else _where(s.cell, s.line))
        if n == "get_ipython":
            return [f"{who} uses IPython magics or shell commands, which do not run while grading"]
        broken = [b.message for b in self.defining(n)]
        if broken:
            return [f"{who} uses '{n}', whose definition has an error", *broken]
        if n in self.cells.ipython:
            where = _where(*self.cells.ipython[n])
            return [f"{who} uses '{n}', which is only bound by IPython syntax ({where})"]
        if n in self.binders:
            later = self.stmts[self.binders[n][0]]
            return [
                f"{who} ({_where(s.cell, s.line)}) uses '{n}' before it is defined "
                f"({_where(later.cell, later.line)})"
            ]
        return [f"{who} uses '{n}', which is never defined"]


# --------------------------------------------------------------------------- public API


def extract_sources(
    sources: Sequence[tuple[int, str]], names: Sequence[str]
) -> dict[str, Extracted]:
    """Extract ``names`` from (cell index, code-cell source) pairs in notebook order."""
    try:
        # One analysis at a time per process: ``catch_warnings`` changes process-wide filters,
        # and IPython's shared TransformerManager is not thread-safe (two notebooks graded in
        # two threads lost a function to the race).
        with _LOCK, warnings.catch_warnings():
            # Invalid escapes, `x is 1` …: the student's business; and under -W error, parsing
            # would turn these warnings into syntax errors.
            warnings.simplefilter("ignore")
            index = _Index(_scan(sources))
        return {name: index.closure(name) for name in names}
    except Exception as exc:  # never raise: every exercise becomes missing
        note = f"the notebook could not be analysed ({_clean(repr(exc))[:200]})"
        return {name: Extracted(name, (), None, None, (note,)) for name in names}


def _text(source: object) -> str:
    """A cell's source: str, or a list of str lines (both are valid nbformat); else nothing."""
    if isinstance(source, (list, tuple)):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def extract(nb: Mapping[str, object], names: Sequence[str]) -> dict[str, Extracted]:
    """Extract every exercise of ``names`` from a notebook (an ``nbformat.NotebookNode``)."""
    cells = nb.get("cells") if isinstance(nb, Mapping) else None
    sources: list[tuple[int, str]] = []
    for i, cell in enumerate(cells if isinstance(cells, (list, tuple)) else ()):
        if isinstance(cell, Mapping) and cell.get("cell_type") == "code":
            sources.append((i, _text(cell.get("source"))))
    return extract_sources(sources, names)


@dataclass(frozen=True)
class GlobalRead:
    """A module-level name the graded function reads when it is called."""

    name: str
    #: where the extracted program binds it last (0-based cell, 1-based line); None: nowhere
    #: (a builtin, or something a star import provides)
    cell: int | None
    line: int | None
    #: "variable" (an assignment: ``parameters_tmp = {...}``), "function", "class", "import",
    #: or "" when the program does not bind it
    kind: str

    @property
    def variable(self) -> bool:
        return self.kind == "variable"


def definition(extracted: Extracted) -> Chunk | None:
    """The chunk holding the graded (last) definition of the exercise, if any."""
    for chunk in reversed(extracted.chunks):
        if (chunk.cell, chunk.line) == (extracted.cell, extracted.line):
            return chunk
    return None


def global_reads(extracted: Extracted) -> tuple[GlobalRead, ...]:
    """Module-level names the graded function reads when called, and how the program binds them.

    Static, never raises: an unreadable definition gives ``()``.
    """
    try:
        chunk = definition(extracted)
        if chunk is None:
            return ()
        with _LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, _, _, later, _ = _scopes(symtable.symtable(chunk.code, "<cell>", "exec"))
            bound: dict[str, tuple[int, int, str]] = {}
            for c in extracted.chunks:
                if c is chunk:
                    continue
                tree = ast.parse(c.code)
                binds, imported, _, _, _ = _scopes(symtable.symtable(c.code, "<cell>", "exec"))
                node = tree.body[0] if tree.body else None
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    kind = "function"
                elif isinstance(node, ast.ClassDef):
                    kind = "class"
                elif (
                    isinstance(node, ast.Assign)
                    and isinstance(node.value, ast.Name)
                    and bound.get(node.value.id, (0, 0, ""))[2] == "function"
                ):
                    kind = "function"  # an alias of a notebook function: `step = my_cell`
                elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    kind = "variable"
                else:
                    kind = "other"
                for name in binds:
                    bound[name] = (c.cell, c.line, "import" if name in imported else kind)
        out = []
        for name in sorted(later - {extracted.name}):
            where = bound.get(name)
            out.append(
                GlobalRead(
                    name,
                    where[0] if where else None,
                    where[1] if where else None,
                    where[2] if where else "",
                )
            )
        return tuple(out)
    except Exception:  # a hint must never break grading
        return ()
