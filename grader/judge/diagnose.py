"""Recognise known mistakes by their outputs on the golden cases.

The catalogue of mistakes lives with an assignment's reference (``MISTAKES``: modified copies of
the reference, which must not ship). At golden-build time ``write_variants`` runs each one on the golden inputs
and stores texts and outputs as data next to the golden files::

    variants.json   {"format": 1, "mistakes": [{id, exercise, title, explanation, fix,
                     cases: {case_id: {"differs": bool, "tree": plain tree | null,
                                       "raised": {"type", "message"} | null}}}]}
    variants.npz    the arrays of every tree, keyed ``<mistake_id>/<case_id>/<i>``; an array equal
                    to one already stored is written once and listed in the JSON's "aliases"
                    (key -> stored key): variants share parameters, inputs and most outputs

``diagnose`` then names a mistake when the student's outputs equal one variant's on every case
compared. It is deliberately strict: a wrong hint is worse than none.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.core.errors import GoldenError
from grader.core.models import Diagnosis, ErrorInfo
from grader.judge.equality import DIAGNOSIS, equal
from grader.wire import codec as plain

if TYPE_CHECKING:
    from grader.assignment.golden import Case
    from grader.assignment.spec import Assignment, ExerciseSpec

FORMAT = 1
JSON_NAME = "variants.json"
NPZ_NAME = "variants.npz"


@dataclass(frozen=True)
class Raised:
    """A call that raised instead of returning (what a variant, or the student, did on a case)."""

    type: str
    message: str


@dataclass(frozen=True)
class Variant:
    id: str
    exercise: str
    title: str
    explanation: str
    fix: str
    #: case id -> the variant's output (plain data) or ``Raised``
    outputs: Mapping[str, Any] = field(repr=False)
    #: case ids on which the variant's output differs from the reference's
    differs: frozenset[str] = frozenset()

    def diagnosis(self) -> Diagnosis:
        return Diagnosis(id=self.id, title=self.title, explanation=self.explanation, fix=self.fix)


@dataclass(frozen=True)
class Catalogue:
    variants: tuple[Variant, ...] = ()

    def for_exercise(self, exercise: str) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.exercise == exercise)

    def __len__(self) -> int:
        return len(self.variants)


# ---------------------------------------------------------------------------------------------
# Build time (needs the reference's catalogue)


def write_variants(
    out: Path,
    cases: Sequence[Case],
    *,
    mistakes: Sequence[Any],
    skip: frozenset[str] = frozenset(),
    rtol: float,
    atol: float,
) -> None:
    """Run every catalogued mistake on its exercise's golden cases; write the two files to ``out``.

    A case *differs* when the variant's output is not the reference's within the grading tolerance
    (``rtol``/``atol``): the expected outputs were computed independently, possibly by another
    numpy, BLAS or CPU, so bit equality would make the catalogue depend on the machine.

    Raises ``GoldenError`` for a mistake whose outputs equal the reference on every case (it would
    be diagnosed on correct code) or whose id is not unique.
    """
    from grader.assignment.golden import write_npz

    by_exercise: dict[str, list[Case]] = {}
    for case in cases:
        if case.id not in skip:
            by_exercise.setdefault(case.exercise, []).append(case)
    entries: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    aliases: dict[str, str] = {}
    stored_by_content: dict[bytes, str] = {}
    seen: set[str] = set()
    for mistake in mistakes:
        if mistake.id in seen:
            raise GoldenError(f"mistake id {mistake.id!r} appears twice in the catalogue")
        seen.add(mistake.id)
        if mistake.exercise not in by_exercise:
            continue  # a partial build (tests, one exercise): nothing to run it on
        stored: dict[str, Any] = {}
        for case in by_exercise[mistake.exercise]:
            # Fresh copies: a variant that mutates its inputs must not spoil the next run.
            result = _run(mistake.run, copy.deepcopy(case.args))
            if isinstance(result, Raised):
                stored[case.id] = {"differs": True, "tree": None, "raised": vars(result)}
                continue
            tree, arrs = plain.encode(result)
            for i, arr in enumerate(arrs):
                key = f"{mistake.id}/{case.id}/{i}"
                digest = _digest(arr)
                if digest in stored_by_content:
                    aliases[key] = stored_by_content[digest]
                else:
                    stored_by_content[digest] = key
                    arrays[key] = arr
            same = equal(result, case.expected, RULES, rtol, atol)
            stored[case.id] = {"differs": not same, "tree": tree, "raised": None}
        if not any(c["differs"] for c in stored.values()):
            raise GoldenError(
                f"mistake {mistake.id!r} gives the reference's outputs on every golden case: "
                "it would be diagnosed on correct code; change the variant or the cases"
            )
        entries.append(
            {
                "id": mistake.id,
                "exercise": mistake.exercise,
                "title": mistake.title,
                "explanation": mistake.explanation,
                "fix": mistake.fix,
                "cases": stored,
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    write_npz(out / NPZ_NAME, arrays)
    # indent=0: one value per line keeps diffs of the regenerated file readable, without the bulk
    doc = {"format": FORMAT, "mistakes": entries, "aliases": aliases}
    text = json.dumps(doc, indent=0, sort_keys=True)
    tmp = out / (JSON_NAME + ".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(out / JSON_NAME)


def _digest(arr: np.ndarray) -> bytes:
    import hashlib

    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.digest()


def _run(fn: Any, args: tuple[Any, ...]) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # a variant may raise like student code does
        return Raised(type(exc).__name__, str(exc))


# ---------------------------------------------------------------------------------------------
# Grading time (shipped)


def load_catalogue(golden_dir: Path) -> Catalogue:
    """The catalogue stored next to a golden set; empty when it has none (built without it).

    Raises ``GoldenError`` when the files exist but are unreadable or inconsistent.
    """
    json_path, npz_path = golden_dir / JSON_NAME, golden_dir / NPZ_NAME
    if not json_path.is_file() or not npz_path.is_file():
        return Catalogue()
    from grader.assignment.golden import count_arrays, read_npz

    try:
        data = json.loads(json_path.read_text())
        arrays = read_npz(npz_path.read_bytes())
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        aliases = data.get("aliases", {})
        if not isinstance(aliases, dict):
            raise ValueError("aliases is not a mapping")

        def array(key: str) -> np.ndarray:
            return arrays[aliases.get(key, key)]

        variants = []
        for e in data["mistakes"]:
            outputs: dict[str, Any] = {}
            differs = set()
            for cid, c in e["cases"].items():
                if c.get("raised") is not None:
                    outputs[cid] = Raised(str(c["raised"]["type"]), str(c["raised"]["message"]))
                else:
                    prefix = f"{e['id']}/{cid}/"
                    count = count_arrays(c["tree"])
                    outputs[cid] = plain.decode(
                        c["tree"], [array(prefix + str(i)) for i in range(count)]
                    )
                if c["differs"]:
                    differs.add(cid)
            variants.append(
                Variant(
                    id=str(e["id"]), exercise=str(e["exercise"]), title=str(e["title"]),
                    explanation=str(e["explanation"]), fix=str(e["fix"]),
                    outputs=outputs, differs=frozenset(differs),
                )
            )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError, plain.DecodeError) as exc:
        raise GoldenError(
            f"{golden_dir}: mistake catalogue ({JSON_NAME}, {NPZ_NAME}) is unreadable ({exc}); "
            "rebuild the golden data"
        ) from exc
    return Catalogue(tuple(variants))


def diagnose(
    exercise: str,
    outputs: Mapping[str, Any],
    catalogue: Catalogue,
    rtol: float,
    atol: float,
    expected: Mapping[str, Any] | None = None,
) -> Diagnosis | None:
    """The known mistake explaining ``outputs`` (case id -> the student's decoded output), if any.

    With ``expected`` (case id -> the reference output), a variant also explains a case when every
    top-level output that differs from the reference equals the variant's (the student made the
    mistake in one line of several: ``dbf`` without keepdims but ``dbi`` right). Every difference
    must still be explained, so two unrelated mistakes give no hint.

    A case where the student's call raised may be given as ``Raised`` or as an ``ErrorInfo`` of
    kind "exception". A variant matches when it agrees with the student on every case both have
    and at least one of those cases tells it apart from the reference. Several matches: the one
    agreeing on more telling cases wins; a tie gives None. Never raises.
    """
    try:
        best: list[tuple[tuple[int, int], Variant]] = []
        for variant in catalogue.for_exercise(exercise):
            shared = [cid for cid in variant.outputs if cid in outputs]
            telling = sum(1 for cid in shared if cid in variant.differs)
            if telling == 0:
                continue
            ref = expected or {}
            if all(
                _explains(outputs[cid], variant.outputs[cid], ref.get(cid), rtol, atol)
                for cid in shared
            ):
                # A variant that reproduces the outputs exactly beats one that explains them
                # only partly (dc_prev alone vs every gradient downstream of dc).
                exact = sum(
                    1
                    for cid in shared
                    if equal(outputs[cid], variant.outputs[cid], RULES, rtol, atol)
                )
                best.append(((exact, telling), variant))
        if not best:
            return None
        best.sort(key=lambda tv: (-tv[0][0], -tv[0][1]))
        if len(best) > 1 and best[0][0] == best[1][0]:
            return None
        return best[0][1].diagnosis()
    except Exception:  # a hint must never break grading
        return None


def _explains(got: Any, want: Any, ref: Any, rtol: float, atol: float) -> bool:
    """``got`` equals the variant, or differs from the reference only where the variant does."""
    if equal(got, want, RULES, rtol, atol):
        return True
    if ref is None or isinstance(want, Raised):
        return False
    if isinstance(ref, dict) and isinstance(got, dict) and isinstance(want, dict):
        if set(got) != set(ref) or set(want) != set(ref):
            return False
        keys: list[Any] = list(ref)
    elif (
        isinstance(ref, (tuple, list))
        and isinstance(got, (tuple, list))
        and isinstance(want, (tuple, list))
        and len(got) == len(ref) == len(want)
    ):
        keys = list(range(len(ref)))
    else:
        return False
    diffs = [k for k in keys if not equal(got[k], ref[k], RULES, rtol, atol)]
    return bool(diffs) and all(equal(got[k], want[k], RULES, rtol, atol) for k in diffs)


def _same_error(got: Any, want: Any) -> bool | None:
    """Whether ``got`` raised as ``want`` did; None when ``want`` is not a ``Raised`` (the rule
    :data:`RULES` consults before the structural ones)."""
    if not isinstance(want, Raised):
        return None
    if isinstance(got, ErrorInfo):
        if got.kind != "exception":
            return False
        got = Raised(got.type, got.message)
    if not isinstance(got, Raised):
        return False
    # The judge may qualify the type ("builtins.ValueError") or prefix the message.
    same_type = got.type.rsplit(".", 1)[-1] == want.type
    return same_type and bool(want.message) and want.message in got.message


#: Outputs against a variant's or the reference's: allclose for arrays and floats, tuple and list
#: alike, a ``Raised`` matched by :func:`_same_error`.
RULES = DIAGNOSIS.with_special(_same_error)


# ---------------------------------------------------------------------------------------------
# Evidence: what the outputs, a few probe calls and the source show, beyond the catalogue
#
# Probes are extra *inputs* (the worked example with one argument changed) run after the scored
# cases in the same sandboxed process; their outputs are compared with the student's own outputs
# on the worked example, in this process, never with expected values and never scored.

PROBE_PREFIX = "probe."
#: how a probe changes an argument: every float array a -> a * 1.5 + 0.25 (shapes kept)
_SCALE, _SHIFT = 1.5, 0.25

#: calls whose integer arguments are sizes (np.zeros((5, 10)), range(4), a.reshape(5, 1) ...)
_SIZE_CALLS = frozenset(
    {"zeros", "ones", "empty", "full", "randn", "rand", "reshape", "range", "ndarray",
     "broadcast_to", "resize", "tile", "eye", "identity"}
)  # fmt: skip


def probe_id(arg: str) -> str:
    return f"{PROBE_PREFIX}vary.{arg}"


def perturb(value: Any, _memo: dict[int, Any] | None = None) -> Any:
    """A copy of ``value`` with every float array changed (same shapes, types, structure and
    sharing: the parameters dict every step's cache holds stays one object)."""
    memo: dict[int, Any] = {} if _memo is None else _memo
    key = id(value)
    if key in memo:
        return memo[key]
    out: Any
    if isinstance(value, np.ndarray):
        out = value * _SCALE + _SHIFT if value.dtype.kind == "f" else value.copy()
    elif isinstance(value, tuple):
        out = tuple(perturb(v, memo) for v in value)
    elif isinstance(value, list):
        out = [perturb(v, memo) for v in value]
    elif isinstance(value, dict):
        out = {k: perturb(v, memo) for k, v in value.items()}
    else:
        out = copy.deepcopy(value)
    memo[key] = out
    return out


def with_probes(
    assignment: Assignment, cases: Mapping[str, Sequence[Case]]
) -> dict[str, tuple[Case, ...]]:
    """Each exercise's ``cases`` followed by its probes (last: they cost no scored case).

    Probe frames come back under ids starting with ``PROBE_PREFIX``.
    """
    by_name = assignment.by_name
    return {
        name: (*cs, *(probe_cases(by_name[name], cs) if name in by_name else ()))
        for name, cs in cases.items()
    }


def probe_cases(spec: ExerciseSpec, cases: Sequence[Case]) -> tuple[Case, ...]:
    """The sensitivity probes of an exercise: its worked example with one argument changed.

    One extra call per argument (2 to 4). They carry no expected output: the judge compares
    what the student returns on them with what the student returns on the worked example.
    """
    from grader.assignment.golden import Case

    public = next((c for c in cases if c.id == "public"), None)
    if public is None or len(public.args) != len(spec.args):
        return ()
    return tuple(
        Case(
            spec.name,
            probe_id(arg),
            f"the worked example with {arg} changed",
            True,
            dict(public.dims),
            tuple(perturb(a) if j == i else a for j, a in enumerate(public.args)),
            None,
        )
        for i, arg in enumerate(spec.args)
    )


@dataclass(frozen=True)
class Literal:
    value: int
    cell: int
    line: int  #: 1-based line in the cell
    #: from ``n = 5`` rather than a shape, ``range()`` or slice: weaker evidence (``n_gates = 4``)
    assigned: bool = False


@dataclass(frozen=True)
class SourceFacts:
    """What the graded definition's text shows (static; empty when it cannot be read)."""

    #: the function's own parameter names, in order
    params: tuple[str, ...] = ()
    #: module-level names it reads when called (grader.stages.extract.GlobalRead)
    reads: tuple[Any, ...] = ()
    #: integer literals used as sizes (shape arguments, range(), slice bounds, n = 5)
    literals: tuple[Literal, ...] = ()

    def read_names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.reads)

    def variables(self) -> tuple[Any, ...]:
        return tuple(r for r in self.reads if r.variable)


def source_facts(extracted: Any) -> SourceFacts:
    """Parameters, globals read and size-like literals of the graded definition. Never raises."""
    import ast

    from grader.stages.extract import definition, global_reads

    try:
        chunk = definition(extracted)
        if chunk is None:
            return SourceFacts()
        tree = ast.parse(chunk.code)
        fn = next(
            (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == extracted.name),
            None,
        )
        if fn is None:
            return SourceFacts(reads=global_reads(extracted))
        params = tuple(a.arg for a in (*fn.args.posonlyargs, *fn.args.args))
        found: list[Literal] = []

        def add(node: ast.AST, assigned: bool = False) -> None:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and type(sub.value) is int and sub.value > 1:
                    line = chunk.line + sub.lineno - 1
                    found.append(Literal(sub.value, chunk.cell, line, assigned))

        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name in _SIZE_CALLS:
                    for a in node.args[:1] if name == "full" else node.args:
                        add(a)
            elif isinstance(node, ast.Slice):
                for bound in (node.lower, node.upper):
                    if bound is not None:
                        add(bound)
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], (ast.Name, ast.Tuple))
                and isinstance(node.value, (ast.Constant, ast.Tuple))
            ):
                add(node.value, assigned=True)
        found.sort(key=lambda lit: lit.line)
        return SourceFacts(params, global_reads(extracted), tuple(found))
    except Exception:  # a hint must never break grading
        return SourceFacts()


def _finding(kind: str, title: str, explanation: str, fix: str) -> Diagnosis:
    return Diagnosis(id=f"evidence.{kind}", title=title, explanation=explanation, fix=fix)


def _plain_array(value: Any) -> np.ndarray | None:
    if isinstance(value, plain.ForeignArray):
        value = value.array
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value
    return None


def _named_arrays(spec: Any, out: Any) -> dict[str, np.ndarray] | None:
    """The top-level output arrays by name (caches left out: they hold the inputs)."""
    if spec.returns == "value":
        one = _plain_array(out)
        return None if one is None else {spec.outputs[0]: one}
    if spec.returns_dict:
        if not isinstance(out, dict):
            return None
        items = [(k, out.get(k)) for k in spec.outputs]
    else:
        if not isinstance(out, (tuple, list)) or len(out) != len(spec.outputs):
            return None
        k = len(spec.outputs) - 1 if spec.cache else len(spec.outputs)
        items = list(zip(spec.outputs[:k], out[:k], strict=True))
    arrays = {k: a for k, v in items if (a := _plain_array(v)) is not None}
    return arrays or None


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _ignored_args(
    spec: Any, base: Any, probes: Mapping[str, Any], rtol: float, atol: float
) -> list[int]:
    """Positions of the arguments whose change leaves every output array as it was."""
    before = _named_arrays(spec, base)
    if before is None:
        return []
    ignored = []
    for i, arg in enumerate(spec.args):
        after = _named_arrays(spec, probes.get(probe_id(arg)))
        if after is None or set(after) != set(before):
            continue
        if all(_close(after[k], before[k], rtol, atol) for k in before):
            ignored.append(i)
    return ignored


def _pick_variable(facts: SourceFacts, arg: str) -> Any:
    """The notebook-level variable read in place of ``arg``: name-alike first, else the only one."""
    variables = facts.variables()
    alike = [r for r in variables if arg in r.name or r.name in arg]
    if alike:
        return alike[0]
    return variables[0] if len(variables) == 1 else None


def _where_bound(read: Any) -> str:
    return f" (bound in cell {read.cell + 1})" if read.cell is not None else ""


def _reads_instead(spec: Any, facts: SourceFacts, ignored: list[int]) -> Diagnosis | None:
    """An argument is ignored and the function reads a notebook-level variable instead."""
    for i in ignored:
        arg = facts.params[i] if i < len(facts.params) else spec.args[i]
        read = _pick_variable(facts, arg)
        if read is None:
            continue
        return _finding(
            "reads_notebook_variable",
            f"{spec.name} reads the notebook-level variable {read.name}{_where_bound(read)} "
            f"instead of its argument {arg}",
            f"Changing the argument {arg} does not change what {spec.name} returns: the "
            f"function uses {read.name}, a variable of the notebook (a test cell's data), so it "
            "only ever computes the result for that one example.",
            f"use the argument {arg} inside {spec.name}, never {read.name}",
        )
    return None


def _named_after(name: str, arg: str) -> bool:
    """``parameters_tmp``, ``a_prev_test``, ``x2``, ``parametersTmp`` are named after their
    argument (the worked example's data); ``keys_to_update`` is not named after ``da``, nor
    ``n_x`` (a size) or ``index`` after ``x``."""
    rest = name[len(arg) :] if name.startswith(arg) else ""
    return bool(rest) and (rest[0] == "_" or rest[0].isdigit() or rest[0].isupper())


def _reads_alike(spec: Any, facts: SourceFacts) -> Diagnosis | None:
    """Without a probe's word: it reads a notebook variable named after one of its arguments
    (``parameters_tmp["Wya"]`` in a function given ``parameters``)."""
    for arg in facts.params:
        alike = [r for r in facts.variables() if _named_after(r.name, arg)]
        if alike:
            read = alike[0]
            return _finding(
                "reads_notebook_variable",
                f"{spec.name} reads the notebook-level variable {read.name}"
                f"{_where_bound(read)} instead of its argument {arg}",
                f"{read.name} is a variable of the notebook (a test cell's data), not the "
                f"argument {arg} the caller passes in: the function computes with the wrong data "
                "on every other input.",
                f"use the argument {arg} inside {spec.name}, never {read.name}",
            )
    return None


def _all_ignored(spec: Any, facts: SourceFacts, public_right: bool) -> Diagnosis:
    what = " (the worked example's results)" if public_right else ""
    variables = ", ".join(r.name for r in facts.variables())
    reads = f"; it reads the notebook-level variable(s) {variables} instead" if variables else ""
    return _finding(
        "ignores_inputs",
        f"{spec.name}'s outputs do not depend on its inputs: it returns the same values "
        f"whatever it is given{what}{reads}",
        "Changing any argument leaves every output unchanged, so the function cannot be "
        "computing from its arguments: the values are fixed (copied from the worked example, or "
        "computed from notebook variables).",
        f"compute every output from the arguments ({', '.join(spec.args)})",
    )


def _ignored_arg(spec: Any, facts: SourceFacts, i: int) -> Diagnosis:
    arg = facts.params[i] if i < len(facts.params) else spec.args[i]
    return _finding(
        "ignores_argument",
        f"{spec.name} ignores its argument {arg}: changing it does not change any output",
        f"Every output of {spec.name} depends on {arg}, but a probe call with {arg} changed "
        "returned exactly the same values: the argument is never used (or is overwritten "
        "before it is used).",
        f"use {arg} where the computation needs it",
    )


def _hard_coded(spec: Any, cases: Sequence[Case], facts: SourceFacts) -> Diagnosis | None:
    public = next((c for c in cases if c.id == "public"), None)
    if public is None:
        return None
    by_value: dict[int, list[str]] = {}
    for dim, size in public.dims.items():
        by_value.setdefault(size, []).append(dim)
    how = spec.size_from
    sizes = [lit for lit in facts.literals if len(by_value.get(lit.value, [])) == 1]
    # a size in a shape, range() or slice before one merely assigned (`n_gates = 4`)
    first = next((lit for lit in sizes if not lit.assigned), sizes[0] if sizes else None)
    if first is None:
        return None
    # every size of the worked example written on that line ("np.zeros((5, 10))")
    same_line: dict[int, str] = {}
    for lit in facts.literals:
        if (lit.cell, lit.line) == (first.cell, first.line) and len(
            by_value.get(lit.value, [])
        ) == 1:
            same_line.setdefault(lit.value, by_value[lit.value][0])
    values = " and ".join(str(v) for v in same_line)
    dims = " and ".join(same_line.values())
    uses = [f"{d} = {how[d]}" for d in same_line.values() if d in how]
    return _finding(
        "hard_coded_size",
        f"cell {first.cell + 1}, line {first.line} hard-codes {values}, the worked example's "
        f"{dims}: " + (f"use {', '.join(how[d] for d in same_line.values() if d in how)}"
                       if uses else "take sizes from the inputs' shapes"),
        f"{spec.name} is right on the worked example and wrong on other sizes: "
        f"{values} ({dims} in the worked example) is written into the code instead of being "
        "read from the arguments, so any other input size breaks.",
        "\n".join(uses) if uses else "read every size from the arguments' .shape",
    )  # fmt: skip


def _initial_state(
    spec: ExerciseSpec, case: Case, out: Any, rtol: float, atol: float
) -> Diagnosis | None:
    """Sequence forward: the first step's cache shows where the recurrence started from.

    The spec's ``initial_state`` names the output (``a``), the argument it starts from (``a0``),
    the cache field holding the first step's start (``a_prev``) and, optionally, a second state
    that starts at zeros (``c_prev``).
    """
    rule = spec.initial_state
    if rule is None or rule.arg not in spec.args:
        return None
    arrays = _named_arrays(spec, out)
    exp = _named_arrays(spec, case.expected)
    out_name = rule.output
    if (
        not arrays
        or not exp
        or out_name not in arrays
        or arrays[out_name].shape != exp[out_name].shape
    ):
        return None
    if _close(arrays[out_name][..., 0], exp[out_name][..., 0], rtol, atol):
        return None  # the first step is right: not the initial state
    try:
        steps = out[-1][0]
        first = steps[0]
        a_prev = _plain_array(first[spec.cache_fields.index(rule.field)])
    except (TypeError, IndexError, KeyError, ValueError):
        return None
    a0 = case.args[spec.args.index(rule.arg)]
    if a_prev is None or a_prev.shape != a0.shape:
        return None
    if not _close(a_prev, a0, rtol, atol):
        zeros = not np.any(a_prev)
        return _finding(
            "initial_hidden_state",
            f"the hidden state starts from zeros instead of {rule.arg}"
            if zeros
            else f"the first time step does not start from {rule.arg}",
            "The recurrence starts from the initial hidden state the caller passes in, "
            f"{rule.arg}: the first step's cache shows another {rule.field}, so the first step "
            "(and through it every later one) comes out wrong.",
            f"a_next = {rule.arg}   # before the loop",
        )
    if rule.zero_field and rule.zero_field in spec.cache_fields:
        try:
            c_prev = _plain_array(first[spec.cache_fields.index(rule.zero_field)])
        except (TypeError, IndexError):
            return None
        if c_prev is None or c_prev.shape != a0.shape or not np.any(c_prev):
            return None
        from_a0 = _close(c_prev, a0, rtol, atol)
        return _finding(
            "initial_cell_state",
            f"the cell state starts from {rule.arg} instead of zeros"
            if from_a0
            else "the cell state does not start from zeros",
            rule.zero_explanation,
            rule.zero_fix,
        )
    return None


def _steps(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> list[bool]:
    return [_close(got[..., t], exp[..., t], rtol, atol) for t in range(exp.shape[-1])]


def _per_step(spec: Any, case: Case, out: Any, rtol: float, atol: float) -> Diagnosis | None:
    """Sequence outputs, step by step: never stored, stopped early, or not carried over."""
    arrays = _named_arrays(spec, out)
    exp = _named_arrays(spec, case.expected)
    if not arrays or not exp:
        return None
    names = [k for k in exp if exp[k].ndim == 3 and k in arrays and arrays[k].shape == exp[k].shape]
    for name in names:  # never stored comes first: it explains itself
        got, want = arrays[name], exp[name]
        T = want.shape[-1]
        zero = [not np.any(got[..., t]) and bool(np.any(want[..., t])) for t in range(T)]
        right = _steps(got, want, rtol, atol)
        if all(zero):
            return _finding(
                "never_stored",
                f"{name} is zero at every time step: {name}[:, :, t] is never stored",
                f"{name} is allocated with zeros and never filled: the value computed at each "
                "step must be written into its slice of the sequence.",
                f"{name}[:, :, t] = {spec.step_values.get(name, '...')}   # inside the loop",
            )
        leading = next((t for t in range(T) if not zero[t]), T)  # zero for t < leading
        if spec.time == "backward" and 0 < leading < T and all(right[leading:]):
            return _finding(
                "loop_stops_early",
                f"{name} is right for t >= {leading} and zero for t < {leading}: the backward "
                "loop stops before it reaches t = 0",
                f"Back-propagation through time must visit all T_x = {T} steps, from the last "
                "one down to t = 0.",
                "for t in reversed(range(T_x)):",
            )
        first_zero = next((t for t in range(T) if all(zero[t:])), None)
        if first_zero and all(right[:first_zero]):
            return _finding(
                "loop_stops_early",
                f"{name} is right for t < {first_zero} and zero from t = {first_zero}: the loop "
                "stops before the last time step",
                f"The loop must run over all T_x = {T} time steps of the input.",
                "for t in range(T_x):   # T_x from the input's shape",
            )
    for name in names:
        right = _steps(arrays[name], exp[name], rtol, atol)
        if all(right):
            continue
        T = len(right)
        if spec.time == "forward" and right[0]:
            k = right.index(False)
            span = "t = 0" if k == 1 else f"t = 0 to {k - 1}"
            return _finding(
                "state_not_carried",
                f"{name} is right for {span} and wrong from t = {k}: the state is not carried "
                "from one step to the next",
                "The first step is right, so the cell is called correctly; later steps must "
                "start from the state the previous step returned (a_next, and c_next for the "
                "LSTM), updated inside the loop.",
                "pass the a_next (and c_next) the previous step returned to the next call",
            )
        if spec.time == "backward" and right[-1] and not all(right):
            return _finding(
                "gradient_not_carried",
                f"{name} is right for the last step (t = {T - 1}) and wrong before it: the "
                "gradient is not carried back from one step to the one before",
                "Back-propagation through time starts at the last step; each earlier step must "
                "add the gradient flowing back from the step after it (da_prev, and dc_prev for "
                "the LSTM) to its own.",
                "pass da[:, :, t] + da_prevt (and dc_prevt) to the cell at every step",
            )
    return None


def evidence(
    spec: Any,
    cases: Sequence[Case],
    outputs: Mapping[str, Any],
    probes: Mapping[str, Any],
    facts: SourceFacts,
    failed_cases: frozenset[str],
    rtol: float,
    atol: float,
    *,
    blocked: bool = False,
) -> Diagnosis | None:
    """What the evidence shows when no catalogued mistake explains the outputs; None if unsure.

    ``outputs``: case id -> the student's output (only cases that returned); ``probes``: probe
    id -> the student's output on that probe; ``failed_cases``: scored cases with a failing
    check. ``blocked``: a function it calls fails, so only evidence about this function's own
    text counts (a notebook variable read in place of an argument). Never raises.
    """
    try:
        base = outputs.get("public")
        if isinstance(base, ErrorInfo):
            base = None
        public_right = base is not None and "public" not in failed_cases
        ignored = _ignored_args(spec, base, probes, rtol, atol) if base is not None else []
        if blocked:  # a probe cannot tell its fault from its callee's: only its own text
            return _reads_alike(spec, facts)
        if ignored and len(ignored) == len(spec.args):
            return _all_ignored(spec, facts, public_right)
        found = _reads_instead(spec, facts, ignored) or _reads_alike(spec, facts)
        if found is not None:
            return found
        if public_right:
            if any(c.hidden and c.id in failed_cases for c in cases):
                return _hard_coded(spec, cases, facts)
            return None
        by_id = {c.id: c for c in cases}
        # the worked example first, else the first case that returned something comparable
        order = ["public", *(c.id for c in cases if c.id != "public")]
        for cid in order:
            out = outputs.get(cid)
            case = by_id.get(cid)
            if case is None or out is None or isinstance(out, ErrorInfo):
                continue
            if _named_arrays(spec, out) is None:
                continue
            if spec.initial_state is not None:
                found = _initial_state(spec, case, out, rtol, atol)
                if found is not None:
                    return found
            if ignored:
                return _ignored_arg(spec, facts, ignored[0])
            if spec.time:
                return _per_step(spec, case, out, rtol, atol)
            return None
        return None
    except Exception:  # a hint must never break grading
        return None


def compose_hint(
    exercise: str, blocked_by: Sequence[str], diagnosis: Diagnosis | None
) -> str | None:
    """The one student-facing message of an exercise (``ExerciseResult.hint``)."""
    if blocked_by:
        dep = blocked_by[0]
        hint = f"{exercise} calls your {dep}, which does not pass yet: fix {dep} first"
        if diagnosis is not None:
            hint += f"; {exercise} has a mistake of its own too: {diagnosis.title}"
        return hint
    return diagnosis.title if diagnosis is not None else None
