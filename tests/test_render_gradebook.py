"""gradebook.csv (spreadsheet-safe) and the Markdown job summary."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path

import pytest

from grader.core.models import ExerciseResult, GradeResult, Status
from grader.render.gradebook import neutralise, render_gradebook, write_gradebook
from grader.render.markdown import render_markdown
from tests.shipped import EXERCISES, NAMES


def graded(name: str, lost: dict[str, str] | None = None) -> GradeResult:
    lost = lost or {}
    exercises = tuple(
        ExerciseResult(
            s.name,
            Status.FAILED if s.name in lost else Status.PASSED,
            0.0 if s.name in lost else s.points,
            s.points,
            reason=lost.get(s.name, ""),
        )
        for s in EXERCISES
    )
    return GradeResult(name, "graded", None, sum(e.score for e in exercises), 100.0, exercises)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_notebook_with_points() -> None:
    results = [
        ("a.ipynb", graded("a.ipynb")),
        ("sub/b.ipynb", graded("sub/b.ipynb", {"rnn_forward": "a differs in 3 of 200"})),
        ("bad.ipynb", GradeResult("bad.ipynb", "invalid", "bad.ipynb: not JSON", 0.0, 0.0)),
    ]
    rows = rows_of(render_gradebook(results, NAMES))
    assert list(rows[0]) == ["file", *NAMES, "total", "max", "status", "reason", "sandbox"]
    assert [r["file"] for r in rows] == ["a.ipynb", "sub/b.ipynb", "bad.ipynb"]
    assert rows[0]["total"] == "100" and rows[0]["reason"] == ""
    assert rows[1]["rnn_forward"] == "0" and rows[1]["rnn_cell_forward"] == "15"
    assert rows[1]["total"] == "85"
    assert "rnn_forward: failed (a differs in 3 of 200)" in rows[1]["reason"]
    assert rows[2]["status"] == "invalid" and rows[2]["rnn_forward"] == ""
    assert "not JSON" in rows[2]["reason"]
    # the isolation each notebook was graded at (none for one that could not be graded)
    assert rows[0]["sandbox"] == "basic" and rows[2]["sandbox"] == ""


def test_the_sandbox_level_is_recorded_per_row() -> None:
    weak = dataclasses.replace(graded("a.ipynb"), sandbox="basic", sandbox_missing=("root",))
    strong = dataclasses.replace(graded("b.ipynb"), sandbox="strong-rootless")
    rows = rows_of(render_gradebook([("a.ipynb", weak), ("b.ipynb", strong)], NAMES))
    assert [r["sandbox"] for r in rows] == ["basic", "strong-rootless"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised(start: str) -> None:
    name = f'{start}HYPERLINK("http://evil","x").ipynb'
    err = f"{start}1+2"
    res = GradeResult(name, "invalid", err, 0.0, 0.0)
    row = rows_of(render_gradebook([(name, res)], NAMES))[0]
    assert row["file"] == "'" + name
    # the reason is whitespace-normalised to one line first, so a leading tab/CR is gone
    assert row["reason"].startswith("'") or not row["reason"].startswith(start)


def test_neutralise_leaves_plain_text() -> None:
    assert neutralise("alice.ipynb") == "alice.ipynb"
    assert neutralise("=SUM(A1)") == "'=SUM(A1)"


def test_multiline_reason_stays_one_row(tmp_path: Path) -> None:
    res = graded("a.ipynb", {"lstm_forward": 'line one\nline two\r\n"quoted", comma'})
    out = tmp_path / "gradebook.csv"
    write_gradebook([("a.ipynb", res)], out, NAMES)
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = rows_of(raw.decode("utf-8"))
    assert len(rows) == 1 and "line one line two" in rows[0]["reason"]
    assert raw.count(b"\r\n") == 2  # header + one row


def test_markdown_summary_escapes_student_text() -> None:
    evil = "x|y<script>alert(1)</script>.ipynb"
    md = render_markdown(
        [graded("ok.ipynb"), graded(evil, {"rnn_forward": "a | b"})],
        names=NAMES,
        title="RNN assignment",
    )
    table = [line for line in md.splitlines() if line.startswith("| ")]
    pipes = [len(re.findall(r"(?<!\\)\|", line)) for line in table]
    assert len(table) == 3 and len(set(pipes)) == 1, table
    assert "<script>" not in md
    assert "1 fully passed" in md and "1 with points lost" in md
