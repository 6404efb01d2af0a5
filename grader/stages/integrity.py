"""Integrity signal: submissions whose graded functions are the same code under other names.

A hint for a human, never a verdict. Each graded function is reduced to a fingerprint of its AST
with formatting, comments and docstrings gone and every local name (arguments, assigned
variables, loop targets, nested functions) renamed canonically by order of first appearance, so
renaming ``a_next`` to ``h`` or reflowing lines changes nothing. Globals and attributes
(``np.tanh``, ``softmax``) keep their names: they are what the code does.

Left out, because identical code there means nothing:
- functions identical to the stub students start from (unchanged placeholders);
- trivially short functions (below ``MIN_NODES`` AST nodes);
- in classes of ``COMMON_MIN_CLASS`` or more, code shared by more than ``common_fraction`` of the
  class: that is the canonical solution everyone converged on, not copying.

Parsing happens in the grader's process but never runs student code: ``ast.parse`` only.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grader.stages.extract import extract

MIN_NODES = 40  #: a function with fewer AST nodes is too short to tell copying from coincidence
MAX_SOURCE = 200_000  #: characters; a larger "function" is not parsed (hostile input)
COMMON_MIN_CLASS = 10


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    nodes: int


@dataclass(frozen=True)
class Flag:
    """Submissions (ids, e.g. file paths) that share identical normalised code."""

    members: tuple[str, ...]
    #: exercises on which at least two of the members are identical
    exercises: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"members": list(self.members), "exercises": list(self.exercises)}


class _Canonical(ast.NodeTransformer):
    """Rename bound names to v0, v1, ... and strip docstrings / bare string statements."""

    def __init__(self, bound: set[str]) -> None:
        self.bound = bound
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        if name not in self.bound:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._rename(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._rename(node.arg)
        node.annotation = None  # type hints are formatting, not behaviour
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._rename(node.name)
        node.returns = None
        self.generic_visit(node)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST | None:
        # Docstrings and string "comments" are text, not code.
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None
        return self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for fld in ("body", "orelse", "finalbody"):
            if getattr(node, fld, None) == []:  # removing a docstring may empty a body
                setattr(node, fld, [ast.Pass()] if fld == "body" else [])
        return node


def _bound_names(fn: ast.FunctionDef) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler):
            bound.add(node.name or "")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound


def fingerprint(source: str, name: str) -> Fingerprint | None:
    """Fingerprint of the last top-level ``def name`` in ``source``; None if absent/unparsable."""
    if len(source) > MAX_SOURCE:
        return None
    try:
        tree = ast.parse(source)
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
        if not defs:
            return None
        fn = defs[-1]
        fn.decorator_list = []
        canon = _Canonical(_bound_names(fn)).visit(fn)
        dump = ast.dump(canon, annotate_fields=False, include_attributes=False)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    nodes = sum(1 for _ in ast.walk(canon))
    return Fingerprint(hashlib.sha256(dump.encode()).hexdigest()[:24], nodes)


def notebook_fingerprints(nb: Any, names: Sequence[str]) -> dict[str, Fingerprint]:
    """Fingerprints of the graded functions ``names`` of a notebook (via the static extractor)."""
    found: dict[str, Fingerprint] = {}
    try:
        extracted = extract(nb, names)
    except Exception:  # a notebook the extractor cannot read simply has no fingerprints
        return found
    for name in names:
        item = extracted.get(name)
        if item is None or getattr(item, "missing", False):
            continue
        source = "\n".join(chunk.code for chunk in item.chunks)
        fp = fingerprint(source, name)
        if fp is not None:
            found[name] = fp
    return found


def stub_digests(stub: Any, names: Sequence[str]) -> set[str]:
    """Fingerprints of the stub's placeholder functions (``stub``: the notebook, or None)."""
    if stub is None:
        return set()
    return {fp.digest for fp in notebook_fingerprints(stub, names).values()}


def find_groups(
    submissions: Mapping[str, Mapping[str, Fingerprint]],
    *,
    names: Sequence[str] = (),
    ignore: Collection[str] = (),
    min_nodes: int = MIN_NODES,
    min_shared: int = 2,
    common_fraction: float = 0.5,
) -> list[Flag]:
    """Groups of submissions identical on at least ``min_shared`` exercises (largest first).

    ``names``: the assignment's exercises, the order a flag lists them in (else sorted).
    """
    n = len(submissions)
    common_limit = max(2, int(common_fraction * n)) if n >= COMMON_MIN_CLASS else n
    buckets: dict[tuple[str, str], list[str]] = defaultdict(list)
    for sub_id in sorted(submissions):
        for ex, fp in submissions[sub_id].items():
            if fp.nodes >= min_nodes and fp.digest not in ignore:
                buckets[(ex, fp.digest)].append(sub_id)
    shared: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (ex, _), subs in buckets.items():
        if 2 <= len(subs) <= common_limit:
            for pair in itertools.combinations(subs, 2):
                shared[pair].add(ex)
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    edges = [(pair, exs) for pair, exs in shared.items() if len(exs) >= min_shared]
    for (a, b), _ in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, set[str]] = defaultdict(set)
    exercises: dict[str, set[str]] = defaultdict(set)
    for (a, b), exs in edges:
        members[root(a)].update((a, b))
        exercises[root(a)].update(exs)
    order = {name: i for i, name in enumerate(names)}

    def digests(sub: str, exs: Collection[str]) -> tuple[str | None, ...]:
        return tuple(getattr(submissions[sub].get(ex), "digest", None) for ex in sorted(exs))

    flags = []
    for r, group in members.items():
        # A group joined through different exercises (a~b on all, c~a on all but one) is
        # flagged only on what every member shares; a flag never says more than is true.
        exs = exercises[r]
        common = {ex for ex in exs if len({digests(m, [ex]) for m in group}) == 1}
        parts = [group] if len(common) >= min_shared else []
        if not parts:  # nothing shared by all: the members identical on every exercise of it
            same: dict[tuple[str | None, ...], set[str]] = defaultdict(set)
            for m in group:
                same[digests(m, exs)].add(m)
            parts, common = [g for g in same.values() if len(g) > 1], set(exs)
        flags += [
            Flag(
                tuple(sorted(g)), tuple(sorted(common, key=lambda e: (order.get(e, len(order)), e)))
            )
            for g in parts
        ]
    return sorted(flags, key=lambda f: (-len(f.members), -len(f.exercises), f.members))


def scan(
    notebooks: Iterable[tuple[str, Any]], names: Sequence[str], stub: Any = None
) -> list[Flag]:
    """Fingerprint ``(id, NotebookNode)`` pairs and group them (the ``stub``'s code ignored)."""
    subs = {sub_id: notebook_fingerprints(nb, names) for sub_id, nb in notebooks}
    return find_groups(subs, names=names, ignore=stub_digests(stub, names))
