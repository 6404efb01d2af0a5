"""``gradebook.csv``: one row per notebook, for spreadsheets and LMS imports.

Columns: ``file``, one column of points per exercise, ``total``, ``max``, ``status``, ``reason``.
Plain UTF-8 without a BOM (a BOM breaks the first header for pandas and some LMS importers;
Excel users import via Data > From Text/CSV). Text cells starting with a formula character are
prefixed with ``'`` (OWASP "CSV injection"): a notebook named ``=HYPERLINK(...)`` or an error
message quoting student code must stay text when the instructor opens the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from grader.core.fileio import atomic_write
from grader.core.models import GradeResult, Status

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_REASON = 300


def neutralise(cell: str) -> str:
    """Make a text cell inert in spreadsheet apps."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def reason(result: GradeResult) -> str:
    """One line: why the notebook did not get full marks ("" when it did)."""
    if result.status != "graded":
        text = result.error or "could not be graded"
    else:
        parts = [
            f"{ex.name}: {ex.status.value}" + (f" ({ex.reason})" if ex.reason else "")
            for ex in result.exercises
            if ex.status is not Status.PASSED
        ]
        text = "; ".join(parts)
    text = " ".join(text.split())  # one physical line per row, whatever the message holds
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _num(x: float) -> str:
    return f"{x:g}"  # 15 and 12.5, not 15.0: what a spreadsheet user typed in would look like


def _points(result: GradeResult, name: str) -> str:
    try:
        return _num(result.exercise(name).score)
    except KeyError:
        return ""  # invalid notebook: no exercises, an empty cell rather than a made-up 0


def render_gradebook(rows: Sequence[tuple[str, GradeResult]], names: Sequence[str]) -> str:
    """CSV text for ``(file, result)`` rows, in the given order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["file", *names, "total", "max", "status", "reason", "sandbox"])
    for file, result in rows:
        writer.writerow(
            [
                neutralise(file),
                *(_points(result, n) for n in names),
                _num(result.score),
                _num(result.max_score),
                result.status,
                neutralise(reason(result)),
                result.sandbox if result.status == "graded" else "",
            ]
        )
    return buf.getvalue()


def write_gradebook(
    rows: Sequence[tuple[str, GradeResult]], path: Path, names: Sequence[str]
) -> None:
    """Write ``gradebook.csv`` atomically (UTF-8)."""
    atomic_write(Path(path), render_gradebook(rows, names))
