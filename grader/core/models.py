"""Typed, frozen result objects flowing from the judge to the renderers.

``GradeResult.to_dict()`` is the JSON contract of docs/architecture.md §1.3 (plus extra fields, which the
contract allows); ``GradeResult.from_dict()`` reads it back (batch resume, class overview).

In memory a result keeps every check the judge made (~1,700 for a graded notebook, nearly all
passing). The JSON form is compact (``ExerciseResult.compact``): each exercise keeps its checks that
did not pass, in full, and counts the passing ones per case and kind (``passed_checks``).
``result_json`` is the one way a result is written to a file.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    """Outcome of one exercise."""

    PASSED = "passed"  #: full marks
    FAILED = "failed"  #: ran, some check did not pass
    ERROR = "error"  #: raised, or its process crashed / hit a limit
    TIMEOUT = "timeout"  #: a call ran past the per-call time limit
    MISSING = "missing"  #: not defined in the notebook


class CellStatus(str, Enum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    NOT_RUN = "not_run"
    KERNEL_DIED = "kernel_died"
    OUTPUT_LIMIT = "output_limit"


@dataclass(frozen=True)
class Mismatch:
    """Where two arrays of equal shape differ (numpy.testing.assert_allclose's facts).

    For hidden cases ``first`` is empty and ``max_abs``/``max_rel`` are None: no value leaks.
    """

    count: int
    total: int
    rtol: float
    atol: float
    #: first mismatching entries: (index, expected, got)
    first: tuple[tuple[tuple[int, ...], float, float], ...] = ()
    max_abs: float | None = None
    max_rel: float | None = None
    #: a 2-D slice of the mismatch mask (rows of booleans) for the "where" picture
    grid: tuple[tuple[bool, ...], ...] = ()
    grid_label: str = ""


@dataclass(frozen=True)
class CheckResult:
    """One check of one exercise on one case."""

    name: str
    passed: bool
    message: str = ""
    #: signature, type, shape, dtype, finite, value, cache, keys, mutation, limit, call
    kind: str = "value"
    case: str | None = None
    hidden: bool = False
    expected_shape: tuple[int, ...] | None = None
    got_shape: tuple[int, ...] | None = None
    mismatch: Mismatch | None = None


@dataclass(frozen=True)
class PassedChecks:
    """The checks of one exercise that passed on one case, counted: what the JSON keeps of them.

    ``kinds`` counts them by ``CheckResult.kind``, in the judge's order; ``count`` is their sum. A
    case whose every check failed has an entry too (``count`` 0), so the entries list every case
    the exercise was judged on, in the judge's order. ``kinds`` is never mutated.
    """

    case: str | None
    hidden: bool = False
    count: int = 0
    kinds: dict[str, int] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ErrorInfo:
    """Why an exercise could not be judged: exception, timeout, crash or limit hit."""

    #: exception, timeout, crash, memory, output, malformed, internal
    kind: str
    message: str
    type: str = ""
    #: the student's own frames, formatted ("cell 4, line 12, in my_function: ...")
    traceback: tuple[str, ...] = ()
    limit: str | None = None
    case: str | None = None


@dataclass(frozen=True)
class Diagnosis:
    """A known mistake recognised from the outputs."""

    id: str
    title: str
    explanation: str
    fix: str


@dataclass(frozen=True)
class ExerciseResult:
    name: str
    status: Status
    score: float
    max_score: float
    checks: tuple[CheckResult, ...] = ()
    hint: str | None = None
    #: one line for tables: the first thing that went wrong, or "" when passed
    reason: str = ""
    diagnosis: Diagnosis | None = None
    error: ErrorInfo | None = None
    #: the cell that holds the graded definition (0-based), when known
    cell: int | None = None
    duration: float = 0.0
    #: a mistake shown by the evidence (probes, per-step comparison, the source) when no
    #: catalogued one explains the outputs; ``diagnosis`` stays the catalogue's alone
    finding: Diagnosis | None = None
    #: exercises it calls that do not pass: fix those first (then it has no diagnosis of its
    #: own unless the evidence shows its own code is wrong too)
    blocked_by: tuple[str, ...] = ()
    #: passing checks counted per case when ``checks`` holds only the failing ones (a result read
    #: back from JSON); empty for a result fresh from the judge, whose ``checks`` are all there
    passed_checks: tuple[PassedChecks, ...] = ()

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        """The checks that did not pass (the same in the full and the compact form)."""
        return tuple(c for c in self.checks if not c.passed)

    def case_summary(self) -> tuple[PassedChecks, ...]:
        """Passing checks per case and kind, every judged case listed once, in the judge's order.

        The same for a fresh result (counted from ``checks``) and for one read back from JSON
        (``passed_checks``, plus any passing check it still lists, as an old full document has).
        """
        counts: dict[tuple[str | None, bool], dict[str, int]] = {}
        for s in self.passed_checks:
            kinds = counts.setdefault((s.case, s.hidden), {})
            for kind, n in s.kinds.items():
                kinds[kind] = kinds.get(kind, 0) + n
        for c in self.checks:
            kinds = counts.setdefault((c.case, c.hidden), {})
            if c.passed:
                kinds[c.kind] = kinds.get(c.kind, 0) + 1
        return tuple(
            PassedChecks(case, hidden, sum(kinds.values()), kinds)
            for (case, hidden), kinds in counts.items()
        )

    @property
    def check_count(self) -> int:
        """How many checks the judge made, passing or not (either form)."""
        return sum(s.count for s in self.case_summary()) + len(self.failed_checks)

    def compact(self) -> ExerciseResult:
        """The JSON form: the failing checks in full, the passing ones counted (idempotent).

        A check failing again on a later case (same name: one mistake fails the same output on
        every case) keeps its message and mismatch figures but not the mismatch picture
        (``grid``): reports show the picture of its first failure only, and on a wrong
        backward pass these copies were most of the file.
        """
        failing: list[CheckResult] = []
        shown: set[str] = set()
        for c in self.checks:
            if c.passed:
                continue
            m = c.mismatch
            if c.name in shown and m is not None and (m.grid or m.grid_label):
                c = dataclasses.replace(c, mismatch=dataclasses.replace(m, grid=(), grid_label=""))
            shown.add(c.name)
            failing.append(c)
        return dataclasses.replace(self, checks=tuple(failing), passed_checks=self.case_summary())


@dataclass(frozen=True)
class CellOutcome:
    """What happened when the notebook's cell ran (for the execution log)."""

    index: int
    status: CellStatus
    execution_count: int | None = None
    ename: str = ""
    evalue: str = ""
    #: first line of the cell's source, for the log
    summary: str = ""
    #: truncated text output (stdout/stderr/tracebacks, ANSI stripped)
    output: str = ""
    duration: float = 0.0


@dataclass(frozen=True)
class GradeResult:
    notebook: str
    status: str  #: "graded" or "invalid"
    error: str | None
    score: float
    max_score: float
    exercises: tuple[ExerciseResult, ...] = ()
    cells: tuple[CellOutcome, ...] = ()
    #: "strong", "strong-rootless", "basic" or "portable" (docs/security.md), with what that
    #: level lacks compared with the strong one
    sandbox: str = "basic"
    sandbox_missing: tuple[str, ...] = ()
    duration: float = 0.0
    grader_version: str = ""
    golden: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def passed(self) -> bool:
        return self.status == "graded" and all(e.status is Status.PASSED for e in self.exercises)

    def exercise(self, name: str) -> ExerciseResult:
        for ex in self.exercises:
            if ex.name == name:
                return ex
        raise KeyError(name)

    def compact(self) -> GradeResult:
        """Every exercise in its compact form (``ExerciseResult.compact``): what JSON holds."""
        return dataclasses.replace(self, exercises=tuple(e.compact() for e in self.exercises))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: the compact form, so passing checks appear as counts per case."""
        return _plain(self.compact())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        return _build(cls, data)


def result_json(result: GradeResult | dict[str, Any]) -> str:
    """The text of a result's JSON file: ``to_dict()``, compact separators, a final newline.

    Every writer of a result file uses it (``result``: a result, or its ``to_dict()``).
    ASCII-escaped: student text may hold lone surrogates, which UTF-8 cannot encode.
    """
    doc = result if isinstance(result, dict) else result.to_dict()
    return json.dumps(doc, separators=(",", ":")) + "\n"


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (tuple, list)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    return obj


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Field types of a result class; resolving them is slow and they never change."""
    import typing

    return typing.get_type_hints(cls)


def _build(cls: type, data: dict[str, Any]) -> Any:
    """Inverse of ``_plain`` for our dataclasses (types come from the field annotations)."""

    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _coerce(hints[f.name], data[f.name])
    return cls(**kwargs)


def _coerce(tp: Any, value: Any) -> Any:
    import types
    import typing

    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _coerce(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        items = typing.get_args(tp)
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(_coerce(items[0], v) for v in value)
        return tuple(_coerce(a, v) for a, v in zip(items, value, strict=False))
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value)
    return value
