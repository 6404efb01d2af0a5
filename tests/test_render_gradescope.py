"""Gradescope results.json: schema-valid in every situation, hidden details after publishing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from grader.core.models import CheckResult, ExerciseResult, GradeResult, Status
from grader.render.gradescope import render_gradescope, write_gradescope
from tests.shipped import EXERCISES

# Gradescope's documented results format (specs/#output-format), as a JSON schema.
SCHEMA = {
    "type": "object",
    "required": ["score", "execution_time", "output", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "status", "output", "visibility"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "score": {"type": "number"},
                    "max_score": {"type": "number"},
                    "status": {"enum": ["passed", "failed"]},
                    "output": {"type": "string"},
                    "visibility": {
                        "enum": ["hidden", "after_due_date", "after_published", "visible"]
                    },
                },
            },
        },
    },
}


def result(hidden_fail: bool = True) -> GradeResult:
    exercises = []
    for i, spec in enumerate(EXERCISES):
        ok = i % 2 == 0
        checks = (
            CheckResult("values of a", ok, "" if ok else "a differs in 3 of 50", case="public"),
            CheckResult("values of a", not (hidden_fail and not ok),
                        "" if ok else "a differs on hidden case 'm1'", case="m1", hidden=True),
        )  # fmt: skip
        exercises.append(
            ExerciseResult(
                spec.name, Status.PASSED if ok else Status.FAILED,
                spec.points if ok else 0.0, spec.points, checks,
                reason="" if ok else "a differs in 3 of 50",
            )
        )  # fmt: skip
    score = sum(e.score for e in exercises)
    return GradeResult("nb.ipynb", "graded", None, score, 100.0, tuple(exercises), duration=4.2)


def test_graded_result_validates_and_scores() -> None:
    doc = render_gradescope(result())
    jsonschema.validate(doc, SCHEMA)
    assert doc["score"] == result().score
    visible = [t for t in doc["tests"] if t["visibility"] == "visible"]
    assert [t["name"] for t in visible] == [e.name for e in EXERCISES]
    assert sum(t["score"] for t in doc["tests"]) == doc["score"]
    assert sum(t["max_score"] for t in doc["tests"]) == 100.0
    failed = next(t for t in visible if t["name"] == EXERCISES[1].name)
    assert failed["status"] == "failed" and "a differs in 3 of 50" in failed["output"]
    assert isinstance(doc["execution_time"], float) and doc["execution_time"] == 4.2


def test_hidden_details_only_after_published() -> None:
    doc = render_gradescope(result())
    for t in doc["tests"]:
        if "hidden case 'm1'" in t["output"]:
            assert t["visibility"] == "after_published", t["name"]
    hidden = [t for t in doc["tests"] if t["visibility"] == "after_published"]
    assert hidden and all(t["max_score"] == 0 for t in hidden)
    assert any(t["status"] == "failed" for t in hidden)


@pytest.mark.parametrize(
    ("res", "error", "needle"),
    [
        pytest.param(None, "kernel could not start", "kernel could not start", id="internal"),
        pytest.param(
            GradeResult("x.ipynb", "invalid", "x.ipynb: is not valid JSON", 0.0, 0.0),
            None, "not valid JSON", id="invalid",
        ),
        pytest.param(None, None, "could not be graded", id="nothing-known"),
    ],
)  # fmt: skip
def test_always_a_valid_zero_score_document(
    res: GradeResult | None, error: str | None, needle: str, tmp_path: Path
) -> None:
    out = tmp_path / "results" / "results.json"
    write_gradescope(res, out, error=error, execution_time=1.5)
    doc = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["score"] == 0.0 and doc["tests"] == []
    assert needle in doc["output"]
    assert doc["execution_time"] == 1.5


def test_long_output_is_truncated() -> None:
    r = result()
    ex = r.exercises[1]
    huge = ExerciseResult(ex.name, ex.status, 0.0, ex.max_score, reason="x" * 100_000)
    r = GradeResult(r.notebook, "graded", None, r.score, r.max_score,
                    (r.exercises[0], huge, *r.exercises[2:]))  # fmt: skip
    doc = render_gradescope(r)
    assert max(len(t["output"]) for t in doc["tests"]) < 10_000
