"""The compact JSON result (issue 11): failing checks in full, passing ones counted per case.

In memory ``grade_notebook()`` keeps every check; ``to_dict()`` / ``result_json()`` write the
compact form, ``from_dict()`` reads it back, and every renderer gives the same output from both.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from grader.core.models import (
    CheckResult,
    ExerciseResult,
    GradeResult,
    Mismatch,
    PassedChecks,
    Status,
    _plain,
    result_json,
)
from grader.render.gradescope import render_gradescope
from grader.render.html import render_html
from grader.render.junit import render_junit
from tests.shipped import EXERCISES

CASES = (("public", False), ("m1", True), ("t1", True))
#: (name, kind) of the checks every output gets on every case, as the judge makes them
PER_OUTPUT = (("type of {}", "type"), ("shape of {}", "shape"), ("dtype of {}", "dtype"),
              ("finite {}", "finite"), ("values of {}", "value"))  # fmt: skip


def mismatch(hidden: bool) -> Mismatch:
    return Mismatch(
        count=3,
        total=6,
        rtol=1e-6,
        atol=1e-8,
        first=() if hidden else (((0, 0), 0.5, 0.25), ((1, 2), -1.0, 1.0)),
        max_abs=None if hidden else 2.0,
        max_rel=None if hidden else 2.0,
        grid=((True, False, False), (False, True, True)),
        grid_label="[:, :]",
    )


def case_checks(case: str, hidden: bool, wrong: set[str]) -> tuple[CheckResult, ...]:
    """The judge's checks on one case; the value checks of outputs in ``wrong`` fail."""
    out = [CheckResult("returns a tuple of 2", True, kind="signature", case=case, hidden=hidden)]
    for output in ("a_next", "yt_pred"):
        for name, kind in PER_OUTPUT:
            bad = kind == "value" and output in wrong
            out.append(
                CheckResult(
                    name.format(output), not bad,
                    f"{output} differs in 3 of 6 entries" if bad else "",
                    kind=kind, case=case, hidden=hidden,
                    mismatch=mismatch(hidden) if bad else None,
                )
            )  # fmt: skip
    out.append(CheckResult("inputs unchanged", True, kind="mutation", case=case, hidden=hidden))
    return tuple(out)


def failing_exercise() -> ExerciseResult:
    checks = (
        case_checks("public", False, {"yt_pred"})
        + case_checks("m1", True, {"yt_pred"})
        + case_checks("t1", True, set())
    )
    # a case where nothing passed: it still appears in the summary (count 0)
    checks += (
        CheckResult("shape of a_next", False, "expected (5, 10), got (10, 5)", kind="shape",
                    case="large", hidden=True, expected_shape=(5, 10), got_shape=(10, 5)),
    )  # fmt: skip
    return ExerciseResult(
        EXERCISES[0].name, Status.FAILED, 0.0, EXERCISES[0].points, checks,
        reason="yt_pred differs in 3 of 6 entries", hint="softmax over the wrong axis",
    )  # fmt: skip


def full_result() -> GradeResult:
    """A result as the judge makes it: every check, nearly all passing."""
    first = failing_exercise()
    rest = tuple(
        ExerciseResult(
            s.name, Status.PASSED, s.points, s.points,
            sum((case_checks(c, h, set()) for c, h in CASES), ()),
        )
        for s in EXERCISES[1:-1]
    )  # fmt: skip
    last = EXERCISES[-1]
    missing = ExerciseResult(last.name, Status.MISSING, 0.0, last.points, reason="not defined")
    exercises = (first, *rest, missing)
    score = sum(e.score for e in exercises)
    return GradeResult(
        "nb/alice.ipynb", "graded", None, score, 100.0, exercises,
        duration=3.5, grader_version="9.9.9", golden="gold1234",
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# the compact form


def test_to_dict_keeps_failing_checks_in_full_and_counts_the_passing_ones() -> None:
    result = full_result()
    doc = result.to_dict()
    ex = doc["exercises"][0]
    assert [(c["name"], c["case"]) for c in ex["checks"]] == [
        ("values of yt_pred", "public"),
        ("values of yt_pred", "m1"),
        ("shape of a_next", "large"),
    ]
    assert all(not c["passed"] for c in ex["checks"])
    public = ex["checks"][0]
    assert public["message"] == "yt_pred differs in 3 of 6 entries"
    assert public["mismatch"]["first"] == [[[0, 0], 0.5, 0.25], [[1, 2], -1.0, 1.0]]
    assert public["mismatch"]["rtol"] == 1e-6 and public["mismatch"]["grid"]
    shape = ex["checks"][2]
    assert shape["expected_shape"] == [5, 10] and shape["got_shape"] == [10, 5]
    kinds = {"signature": 1, "type": 2, "shape": 2, "dtype": 2, "finite": 2, "value": 1,
             "mutation": 1}  # fmt: skip
    assert ex["passed_checks"] == [
        {"case": "public", "hidden": False, "count": 11, "kinds": kinds},
        {"case": "m1", "hidden": True, "count": 11, "kinds": kinds},
        {"case": "t1", "hidden": True, "count": 12, "kinds": {**kinds, "value": 2}},
        {"case": "large", "hidden": True, "count": 0, "kinds": {}},
    ]
    # the counts are the in-memory result's, case by case and kind by kind
    for summary in ex["passed_checks"]:
        passing = [c for c in result.exercises[0].checks if c.case == summary["case"] and c.passed]
        assert summary["count"] == len(passing)
        assert summary["kinds"] == {k: sum(c.kind == k for c in passing) for k in summary["kinds"]}
    passed = doc["exercises"][1]
    assert passed["checks"] == [] and [s["count"] for s in passed["passed_checks"]] == [12] * 3
    assert doc["exercises"][-1]["checks"] == [] and doc["exercises"][-1]["passed_checks"] == []


def test_a_failure_repeated_on_later_cases_keeps_all_but_its_picture() -> None:
    public, m1 = full_result().to_dict()["exercises"][0]["checks"][:2]
    assert public["mismatch"]["grid"] and public["mismatch"]["grid_label"] == "[:, :]"
    assert m1["mismatch"]["grid"] == [] and m1["mismatch"]["grid_label"] == ""
    assert m1["message"] and m1["mismatch"]["count"] == 3 and m1["mismatch"]["total"] == 6
    assert m1["mismatch"]["rtol"] == 1e-6 and m1["mismatch"]["atol"] == 1e-8


def test_round_trip_is_the_compact_result_and_idempotent() -> None:
    result = full_result()
    doc = result.to_dict()
    back = GradeResult.from_dict(json.loads(json.dumps(doc)))
    assert back == result.compact()
    assert back.to_dict() == doc
    assert GradeResult.from_dict(back.to_dict()) == back
    assert back.compact() == back
    assert all(isinstance(s, PassedChecks) for e in back.exercises for s in e.passed_checks)
    # the in-memory result still has every check; its summary is the read-back one
    assert len(result.exercises[0].checks) == 3 * 12 + 1 and result.exercises[0].passed_checks == ()
    for fresh, read in zip(result.exercises, back.exercises, strict=True):
        assert fresh.case_summary() == read.case_summary()
        assert fresh.check_count == read.check_count
        assert [c.name for c in fresh.failed_checks] == [c.name for c in read.failed_checks]
    assert (back.passed, back.score, back.max_score) == (result.passed, result.score, 100.0)
    assert [(e.status, e.score) for e in back.exercises] == [
        (e.status, e.score) for e in result.exercises
    ]


def test_an_old_full_document_reads_back_and_compacts_the_same() -> None:
    result = full_result()
    old = _plain(result)  # what to_dict() wrote before: every check, no passed_checks
    assert "passed_checks" in old["exercises"][0]  # the new field, empty
    del old["exercises"][0]["passed_checks"]
    back = GradeResult.from_dict(old)
    assert len(back.exercises[0].checks) == len(result.exercises[0].checks)
    assert back.to_dict() == result.to_dict()
    assert render_html(back) == render_html(result)


def test_passed_checks_and_remaining_passing_checks_are_added_up() -> None:
    """A hand-made mix (summary plus passing checks still listed) counts both, once each."""
    ex = failing_exercise()
    mixed = replace(
        ex,
        checks=ex.checks[:12],  # the public case: 11 passing, 1 failing
        passed_checks=(PassedChecks("public", False, 2, {"type": 2}),
                       PassedChecks("m1", True, 3, {"value": 3})),
    )  # fmt: skip
    summary = {(s.case, s.hidden): (s.count, s.kinds) for s in mixed.case_summary()}
    assert list(summary) == [("public", False), ("m1", True)]
    assert summary[("public", False)][0] == 13
    assert summary[("public", False)][1]["type"] == 4
    assert summary[("m1", True)] == (3, {"value": 3})
    assert mixed.check_count == 13 + 3 + 1
    assert mixed.compact().compact() == mixed.compact()


def test_result_json_is_one_ascii_line_that_reads_back() -> None:
    result = full_result()
    ex = result.exercises[0]
    odd = replace(ex.checks[5], passed=False, message="dW\u00e9 \u2192 \ud800 lone surrogate")
    result = replace(result, exercises=(replace(ex, checks=(*ex.checks, odd)),
                                        *result.exercises[1:]))  # fmt: skip
    text = result_json(result)
    assert text.endswith("}\n") and text.count("\n") == 1 and text.isascii()
    text.encode("utf-8")  # a lone surrogate cannot break the file
    assert json.loads(text) == json.loads(json.dumps(result.to_dict()))
    assert GradeResult.from_dict(json.loads(text)).to_dict() == result.to_dict()


def test_grade_json_writes_result_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``grade NB --json`` writes exactly ``result_json`` of the result (compact, one line)."""
    import grader.pipeline
    from grader.cli import main

    result = full_result()
    monkeypatch.setattr(grader.pipeline, "grade_notebook", lambda *a, **k: result)
    nb = tmp_path / "nb.ipynb"
    nb.write_text("{}")
    out = tmp_path / "r.json"
    assert main([str(nb), "--json", str(out), "--no-html"]) == 1
    capsys.readouterr()
    assert out.read_text() == result_json(result)


# ------------------------------------------------------------------------------------------------
# renderers: the same from both forms


def test_html_renders_the_same_from_both_forms_and_shows_the_summary() -> None:
    result = full_result()
    back = GradeResult.from_dict(result.to_dict())
    html = render_html(back)
    assert html == render_html(result)
    kinds = "signature 1, type 2, shape 2, dtype 2, finite 2, value 1, mutation 1"
    assert html.count(f"11 checks passed ({kinds})") == 2  # public and m1
    assert "12 checks passed (signature 1, type 2, shape 2, dtype 2, finite 2, value 2" in html
    assert html.count("11 of 12 checks passed") == 2 and "0 of 1 checks passed" in html
    assert html.count("failed here too (details above): values of yt_pred") == 1
    assert html.count("<svg") == 1  # the picture of the first failure only
    assert "hidden case &#39;large&#39;" in html and "expected (5, 10)" in html
    assert "All 36 checks passed on 3 cases: public, m1, t1." in html


def test_gradescope_and_junit_are_the_same_from_both_forms() -> None:
    result = full_result()
    back = GradeResult.from_dict(result.to_dict())
    doc = render_gradescope(back)
    assert doc == render_gradescope(result)
    hidden = {t["name"]: t for t in doc["tests"] if t["visibility"] == "after_published"}
    first = hidden[f"{EXERCISES[0].name} (hidden cases)"]
    # m1: 11 of 12, t1: 12 of 12, large: 0 of 1
    assert first["output"].startswith("23 of 25 hidden-case checks passed.")
    assert first["status"] == "failed"
    second = hidden[f"{EXERCISES[1].name} (hidden cases)"]
    assert (
        second["output"] == "24 of 24 hidden-case checks passed." and second["status"] == "passed"
    )
    assert f"{EXERCISES[-1].name} (hidden cases)" not in hidden  # missing: no checks at all
    assert render_junit([back]) == render_junit([result])


# ------------------------------------------------------------------------------------------------
# size of a real result (kernel)


@pytest.mark.slow
def test_a_real_one_mistake_result_is_small_and_complete(tmp_path: Path) -> None:
    import nbformat

    from grader.authoring.stubgen import render_solved
    from grader.pipeline import grade_notebook

    nb = render_solved()
    old, new = "c_next = ft * c_prev + it * cct", "c_next = it * cct"
    hits = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
    assert len(hits) == 1
    hits[0].source = hits[0].source.replace(old, new)
    path = tmp_path / "one_mistake.ipynb"
    nbformat.write(nb, str(path))
    result = grade_notebook(str(path))
    assert result.status == "graded"
    wrong = result.exercise("lstm_cell_forward")
    assert wrong.status is Status.FAILED
    # lstm_forward calls the student's lstm_cell_forward: it fails (or is blocked) with it
    assert all(
        e.status is Status.PASSED
        for e in result.exercises
        if e.name not in ("lstm_cell_forward", "lstm_forward")
    )
    text = result_json(result)
    assert len(text) <= 60_000, len(text)
    doc = json.loads(text)
    ex = next(e for e in doc["exercises"] if e["name"] == "lstm_cell_forward")
    assert ex["checks"] and all(not c["passed"] for c in ex["checks"])
    assert len(ex["checks"]) == len(wrong.failed_checks)
    public = [c for c in ex["checks"] if c["case"] == "public" and c["mismatch"]]
    assert public, ex["checks"]
    m = public[0]["mismatch"]
    assert m["first"] and m["grid"] and m["count"] > 0 and m["rtol"] > 0
    assert public[0]["message"] == next(c.message for c in wrong.failed_checks)
    # passing checks: counted per case, the same as the in-memory result's
    assert sum(s["count"] for s in ex["passed_checks"]) == sum(c.passed for c in wrong.checks)
    assert {s["case"] for s in ex["passed_checks"]} == {c.case for c in wrong.checks}
    for e in doc["exercises"]:
        if e["status"] == "passed":
            assert e["checks"] == [] and sum(s["count"] for s in e["passed_checks"]) > 0
    back = GradeResult.from_dict(doc)
    assert back.to_dict() == doc
    html = render_html(back)
    assert html == render_html(result)
    assert "checks passed (" in html
