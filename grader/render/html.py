"""The HTML report: one self-contained file (inline CSS, no script, no network), print- and
phone-friendly.

The template only lays out; this module prepares what it shows (grouping, truncation, the SVG
grid) so that the template stays declarative. jinja2 autoescapes every value, and a
Content-Security-Policy forbids scripts, so even an escaping slip could not run student code.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from grader.core.models import (
    CellOutcome,
    CheckResult,
    ExerciseResult,
    GradeResult,
    Mismatch,
    Status,
)
from grader.render.advice import Advice, advice, fix_first, not_listed
from grader.render.text import explain_shape, fmt_shape, strip_controls, truncate

#: caps on student-controlled text, in characters (a report must stay small and readable)
MAX_MESSAGE = 2_000
MAX_ERROR = 4_000
MAX_TRACEBACK_LINES = 60
MAX_CELL_OUTPUT = 4_000
MAX_CELLS = 300
MAX_GRID = 64  #: rows and columns of the mismatch picture
GRID_CELL = 14  #: pixels per entry; shrinks for wide grids so the picture fits a phone

STATUS_TEXT = {
    Status.PASSED: "passed",
    Status.FAILED: "failed",
    Status.ERROR: "error",
    Status.TIMEOUT: "timeout",
    Status.MISSING: "missing",
}

ERROR_HEADLINE = {
    "exception": "raised an exception",
    "timeout": "ran past its time limit",
    "crash": "crashed the process running it",
    "memory": "used more memory than allowed",
    "output": "printed more output than allowed",
    "malformed": "returned something the grader cannot read",
    "internal": "could not be graded because of a problem in the grader (not your code)",
}


PUBLIC_LABEL = "the notebook's worked example"


def _clean(text: str, limit: int) -> tuple[str, int]:
    """Controls stripped and cut to ``limit``; cut first so huge outputs cost little."""
    cut, dropped = truncate(text, limit)
    return strip_controls(cut), dropped


@dataclass(frozen=True)
class Grid:
    width: int
    height: int
    cell: int
    rects: tuple[tuple[int, int, bool], ...]  #: x, y, mismatched
    bad: int
    clipped: bool


@dataclass(frozen=True)
class CheckView:
    check: CheckResult
    message: str
    message_cut: int
    shape_note: str | None
    grid: Grid | None
    first: tuple[tuple[str, str, str, str], ...]  #: index, expected, got, |difference|
    percent: str


@dataclass(frozen=True)
class CaseGroup:
    case: str | None
    title: str
    hidden: bool
    #: failing checks, in full
    checks: tuple[CheckView, ...]
    #: failing checks already shown in full on an earlier case, by name only
    repeated: tuple[str, ...]
    #: passing checks, counted: a graded exercise has ~25 checks per case, listing every one
    #: would bury the few that failed (and the JSON result keeps only these counts)
    passed: int
    #: the passing checks by kind, "type 3, shape 3, value 3"
    passed_kinds: str
    #: every check of the case, passing or not
    total: int


@dataclass(frozen=True)
class ExerciseView:
    ex: ExerciseResult
    anchor: str
    status: str
    groups: tuple[CaseGroup, ...]
    error_message: str
    traceback: tuple[str, ...]
    traceback_cut: int
    headline: str
    #: every check passed (the section then stays one line long)
    all_passed: bool
    #: how many checks the exercise had, passing or not
    total: int
    #: what the student is told (grader.render.advice): the same message as every renderer
    advice: Advice | None = None


@dataclass(frozen=True)
class CellView:
    cell: CellOutcome
    output: str
    output_cut: int


def fmt_num(x: float | None) -> str:
    if x is None:
        return "–"
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x:.6g}"


def _anchor(name: str) -> str:
    return "ex-" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _grid(m: Mismatch) -> Grid | None:
    rows = [r[:MAX_GRID] for r in m.grid[:MAX_GRID]]
    if not rows or not any(rows):
        return None
    clipped = len(m.grid) > MAX_GRID or any(len(r) > MAX_GRID for r in m.grid)
    ncols = max(len(r) for r in rows)
    cell = max(4, min(GRID_CELL, 560 // max(ncols, 1)))
    rects = tuple(
        (j * cell, i * cell, bool(v)) for i, row in enumerate(rows) for j, v in enumerate(row)
    )
    return Grid(ncols * cell, len(rows) * cell, cell, rects, sum(r[2] for r in rects), clipped)


def _check_view(c: CheckResult) -> CheckView:
    message, cut = _clean(c.message, MAX_MESSAGE)
    note = None
    if not c.passed and c.expected_shape is not None and c.got_shape is not None:
        note = explain_shape(c.expected_shape, c.got_shape)
        if note and note in message:
            note = None  # the judge already said it
    grid = first = None
    percent = ""
    m = c.mismatch
    if m is not None and not c.passed:
        grid = _grid(m)
        percent = f"{100 * m.count / m.total:.3g}%" if m.total else ""
        # Hidden cases must never show values, whatever the judge put in (defence in depth).
        first = () if c.hidden else tuple(
            (fmt_shape(idx) if len(idx) != 1 else f"({idx[0]},)", fmt_num(exp), fmt_num(got),
             fmt_num(abs(got - exp)))
            for idx, exp, got in m.first[:10]
        )  # fmt: skip
    return CheckView(c, message, cut, note, grid, first or (), percent)


def _kinds(kinds: Mapping[str, int]) -> str:
    return ", ".join(f"{_clean_filter(kind, 40)} {n}" for kind, n in kinds.items() if n)


def _groups(ex: ExerciseResult, labels: dict[str, str]) -> tuple[CaseGroup, ...]:
    """Checks grouped by case, in the judge's order. A check failing on several cases is shown in
    full on the first (public) one and named on the others: seven copies teach nothing. Passing
    checks are counted by kind (``ExerciseResult.case_summary``), so a fresh result and one read
    back from its compact JSON render the same."""
    detailed: set[str] = set()
    failing: dict[tuple[str | None, bool], list[CheckResult]] = {}
    for c in ex.failed_checks:
        failing.setdefault((c.case, c.hidden), []).append(c)
    groups = []
    for summary in ex.case_summary():
        case, hidden = summary.case, summary.hidden
        if case is None:
            title = "every case"
        else:
            kind = "hidden case" if hidden else "case"
            label = labels.get(case)
            title = f"{kind} '{case}'" + (f": {label}" if label else "")
        views, repeated = [], []
        checks = failing.get((case, hidden), [])
        for c in checks:
            if c.name in detailed:
                repeated.append(_clean_filter(c.name, 200))
                continue
            view = _check_view(c)
            detailed.add(c.name)
            views.append(view)
        groups.append(
            CaseGroup(
                case, title, hidden, tuple(views), tuple(repeated), summary.count,
                _kinds(summary.kinds), summary.count + len(checks),
            )
        )  # fmt: skip
    return tuple(groups)


def _exercise_view(ex: ExerciseResult, labels: dict[str, str]) -> ExerciseView:
    err = ex.error
    message, headline = "", ""
    tb: tuple[str, ...] = ()
    tb_cut = 0
    if err is not None:
        message, _ = _clean(err.message, MAX_ERROR)
        tb = tuple(_clean(line, 500)[0] for line in err.traceback[:MAX_TRACEBACK_LINES])
        tb_cut = max(0, len(err.traceback) - MAX_TRACEBACK_LINES)
        headline = ERROR_HEADLINE.get(err.kind, "could not be graded")
    groups = _groups(ex, labels)
    total = sum(g.total for g in groups)
    return ExerciseView(
        ex, _anchor(ex.name), STATUS_TEXT.get(ex.status, str(ex.status)), groups,
        message, tb, tb_cut, headline, total > 0 and not ex.failed_checks, total, advice(ex),
    )  # fmt: skip


def _cell_view(cell: CellOutcome) -> CellView:
    output, cut = _clean(cell.output, MAX_CELL_OUTPUT)
    return CellView(cell, output, cut)


def _clean_filter(text: object, limit: int = MAX_MESSAGE) -> str:
    cut, dropped = _clean(str(text), limit)
    return cut + "…" if dropped else cut


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    from grader.core.resources import data_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt_num
    env.filters["shape"] = fmt_shape
    env.filters["clean"] = _clean_filter
    env.filters["points"] = lambda x: f"{x:g}"
    env.filters["anchor"] = _anchor
    return env


def render_html(result: GradeResult, case_labels: Mapping[str, str] | None = None) -> str:
    """The report page; ``case_labels``: the assignment's case id -> label (``Assignment``)."""
    """The whole report as one HTML document."""
    labels = {"public": PUBLIC_LABEL, **(case_labels or {})}
    context: dict[str, Any] = {
        "r": result,
        "invalid": result.status != "graded",
        "notebook": _clean(result.notebook, 1000)[0],
        "error": _clean(result.error or "", MAX_ERROR)[0],
        "exercises": tuple(_exercise_view(ex, labels) for ex in result.exercises),
        "cells": tuple(_cell_view(c) for c in result.cells[:MAX_CELLS]),
        "cells_cut": max(0, len(result.cells) - MAX_CELLS),
        "percent": (100 * result.score / result.max_score) if result.max_score else 0.0,
        "passed_count": sum(ex.status is Status.PASSED for ex in result.exercises),
        "fix_first": fix_first(result.exercises),
        "fix_more": not_listed(result.exercises),
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_html(
    result: GradeResult, path: Path, case_labels: Mapping[str, str] | None = None
) -> None:
    """Write the report atomically: a reader never sees a half-written file."""
    text = render_html(result, case_labels)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
