"""The HTML report: content, escaping of everything a student controls, truncation, shapes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from grader.core.models import (
    CellOutcome,
    CellStatus,
    CheckResult,
    Diagnosis,
    ErrorInfo,
    ExerciseResult,
    GradeResult,
    Mismatch,
    Status,
)
from grader.render.html import MAX_CELL_OUTPUT, render_html, write_html
from grader.render.text import explain_shape
from tests.shipped import ASSIGNMENT, EXERCISES

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def passing() -> GradeResult:
    exercises = tuple(
        ExerciseResult(
            s.name,
            Status.PASSED,
            s.points,
            s.points,
            checks=(CheckResult(f"shape of {s.outputs[0]}", True, kind="shape", case="public"),),
        )
        for s in EXERCISES
    )
    return GradeResult(
        "nb/alice.ipynb",
        "graded",
        None,
        100,
        100,
        exercises,
        grader_version="9.9.9",
        golden="gold1234",
    )


def with_exercise(result: GradeResult, ex: ExerciseResult) -> GradeResult:
    exercises = tuple(ex if e.name == ex.name else e for e in result.exercises)
    return replace(result, exercises=exercises, score=result.score - ex.max_score + ex.score)


def value_mismatch(hidden: bool = False) -> CheckResult:
    grid = ((True, False, False), (False, True, True))
    first = (((0, 0), 0.59584544, 0.1), ((1, 1), -0.25, 0.75))
    return CheckResult(
        "values of a_next",
        False,
        "a_next differs in 3 of 6 entries",
        kind="value",
        case="m1" if hidden else "public",
        hidden=hidden,
        mismatch=Mismatch(
            3,
            6,
            1e-6,
            1e-8,
            first=first,
            max_abs=1.0,
            max_rel=4.0,
            grid=grid,
            grid_label="a_next (n_a × m)",
        ),
    )


def test_passing_report_lists_every_exercise_with_anchor() -> None:
    html = render_html(passing())
    assert '100 <span class="muted">/ 100</span>' in html
    for spec in EXERCISES:
        assert f'id="ex-{spec.name}"' in html
        assert f'href="#ex-{spec.name}"' in html
    assert "Likely mistake" not in html
    assert "9.9.9" in html and "gold1234" in html


def test_report_is_self_contained_and_scriptless() -> None:
    html = render_html(passing())
    assert "<script" not in html.lower()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing fetched from anywhere
    assert "@media print" in html and "@media (max-width" in html


def test_value_mismatch_shows_counts_first_indices_tolerances_and_grid() -> None:
    ex = ExerciseResult(
        "rnn_cell_forward",
        Status.FAILED,
        0,
        15,
        checks=(value_mismatch(),),
        reason="values of a_next differ",
    )
    html = render_html(with_exercise(passing(), ex))
    assert "3 of 6 entries differ (50%)" in html
    assert "rtol = 1e-06, atol = 1e-08" in html
    assert "0.595845" in html and "0.75" in html and "(0, 0)" in html
    assert "absolute 1, relative 4" in html
    assert html.count('class="bad"') == 3 and html.count('class="ok"') == 3
    assert "a_next (n_a × m)" in html


def test_hidden_case_values_never_appear_even_if_the_judge_sent_them() -> None:
    check = value_mismatch(hidden=True)  # carries ``first`` and max_abs: must still not show
    ex = ExerciseResult("rnn_cell_forward", Status.FAILED, 0, 15, checks=(check,))
    html = render_html(with_exercise(passing(), ex), ASSIGNMENT.case_labels())
    for value in ("0.595845", "0.75", "-0.25", "relative 4"):
        assert value not in html
    assert "hidden case &#39;m1&#39;: a single example (m = 1)" in html
    assert "3 of 6 entries differ" in html and html.count('class="bad"') == 3


def test_shape_mismatch_shows_both_shapes_and_an_explanation() -> None:
    check = CheckResult(
        "shape of dba",
        False,
        "dba has the wrong shape",
        kind="shape",
        case="public",
        expected_shape=(5, 1),
        got_shape=(5,),
    )
    ex = ExerciseResult("rnn_cell_backward", Status.FAILED, 0, 10, checks=(check,))
    html = render_html(with_exercise(passing(), ex))
    assert "expected <code>(5, 1)</code>, got <code>(5,)</code>" in html
    assert "keepdims=True" in html


def test_diagnosis_error_and_missing_are_explained() -> None:
    diag = Diagnosis(
        "x.y",
        "yt_pred from a_prev",
        "The prediction comes from a_next.",
        "yt_pred = softmax(np.dot(Wya, a_next) + by)",
    )
    result = passing()
    result = with_exercise(
        result,
        ExerciseResult(
            "rnn_cell_forward", Status.FAILED, 0, 15, diagnosis=diag, checks=(value_mismatch(),)
        ),
    )
    result = with_exercise(
        result,
        ExerciseResult(
            "lstm_forward",
            Status.ERROR,
            0,
            15,
            reason="raised IndexError",
            error=ErrorInfo(
                "exception",
                "index 7 is out of bounds",
                "IndexError",
                ("cell 6, line 12, in lstm_forward: xt = x[:, :, t + 1]",),
                case="public",
            ),
        ),
    )
    result = with_exercise(
        result,
        ExerciseResult(
            "rnn_forward",
            Status.TIMEOUT,
            0,
            15,
            error=ErrorInfo("timeout", "did not return", limit="10 s per call"),
        ),
    )
    result = with_exercise(result, ExerciseResult("lstm_backward", Status.MISSING, 0, 10))
    html = render_html(result)
    assert "Likely mistake: yt_pred from a_prev" in html
    assert "yt_pred = softmax(np.dot(Wya, a_next) + by)" in html
    assert "raised an exception on case 'public'" in html
    assert "cell 6, line 12, in lstm_forward" in html
    assert "ran past its time limit" in html and "10 s per call" in html
    assert "does not define <code>lstm_backward</code>" in html


def hostile() -> GradeResult:
    check = CheckResult(
        XSS,
        False,
        XSS,
        kind="value",
        case=XSS,
        mismatch=Mismatch(1, 2, 1e-6, 1e-8, grid=((True, False),), grid_label=XSS),
    )
    ex = ExerciseResult(
        "rnn_cell_forward",
        Status.ERROR,
        0,
        15,
        checks=(check,),
        hint=XSS,
        reason=XSS,
        diagnosis=Diagnosis(XSS, XSS, XSS, XSS),
        error=ErrorInfo("exception", XSS, XSS, (XSS,), limit=XSS, case=XSS),
    )
    cells = (CellOutcome(0, CellStatus.ERROR, 1, XSS, XSS, XSS, XSS + "\x1b]0;pwned\x07" * 3),)
    return replace(
        with_exercise(passing(), ex),
        notebook=XSS + ".ipynb",
        cells=cells,
        sandbox_missing=(XSS,),
        golden=XSS,
        grader_version=XSS,
    )


def test_every_student_string_is_escaped() -> None:
    html = render_html(hostile())
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "onerror=alert" in html  # shown, as inert text
    assert "&lt;script&gt;" in html
    assert "\x1b" not in html and "\x07" not in html


def test_invalid_result_renders_a_clear_page() -> None:
    result = GradeResult(
        "homework.pdf", "invalid", "not a notebook: the file is not JSON " + XSS, 0, 100
    )
    html = render_html(result)
    assert "This notebook could not be graded" in html
    assert "not a notebook: the file is not JSON" in html
    assert "<script" not in html.lower()
    assert 'class="summary"' not in html


def test_huge_outputs_and_many_cells_are_truncated() -> None:
    cells = tuple(
        CellOutcome(i, CellStatus.OK, i + 1, summary="print('x' * 10**6)", output="x" * 1_000_000)
        for i in range(500)
    )
    html = render_html(replace(passing(), cells=cells))
    assert len(html) < 2_000_000
    assert f"{1_000_000 - MAX_CELL_OUTPUT} more characters not shown" in html
    assert "200 more cells not shown" in html


def test_round_tripped_json_renders_the_same() -> None:
    result = hostile()
    assert render_html(GradeResult.from_dict(result.to_dict())) == render_html(result)


def test_write_html_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    write_html(passing(), target)
    assert target.read_text().startswith("<!doctype html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert target.stat().st_mode & 0o444 == 0o444


@pytest.mark.parametrize(
    "expected, got, dims, needle",
    [
        pytest.param((5, 1), (5,), None, "missing keepdims", id="keepdims"),
        pytest.param((5, 1), (5, 5), None, "broadcasts to a square", id="broadcast-square"),
        pytest.param((5,), (5, 1), None, "extra axis", id="extra-axis"),
        pytest.param((5, 1), (), None, "single number", id="scalar"),
        pytest.param((5, 10, 4), (5, 10), None, "missing the time axis", id="time-axis"),
        pytest.param((5, 10), (10, 5), None, "transposed", id="transposed"),
        pytest.param((5, 10, 4), (10, 5, 4), None, "axes 0 and 1 are swapped", id="swap-axes"),
        pytest.param(
            (5, 10, 4),
            (10, 5, 4),
            {"n_a": 5, "m": 10, "T_x": 4},
            "n_a and m are swapped",
            id="swap-named",
        ),
        pytest.param((5, 10, 4), (4, 5, 10), None, "another order", id="permuted"),
        pytest.param(
            (3, 10), (8, 10), {"n_x": 3, "n_a": 5, "m": 10}, "8 = n_x + n_a", id="full-concat-block"
        ),
        pytest.param((5, 10), (5, 10), None, None, id="equal"),
        pytest.param((5, 10), (7, 3), None, None, id="unexplained"),
        pytest.param((3, 10), (8, 10), None, None, id="unexplained-without-dims"),
    ],
)
def test_explain_shape(
    expected: tuple[int, ...], got: tuple[int, ...], dims: dict[str, int] | None, needle: str | None
) -> None:
    text = explain_shape(expected, got, dims)
    if needle is None:
        assert text is None
    else:
        assert text is not None and needle in text


def test_a_failure_repeated_on_later_cases_is_detailed_once() -> None:
    def checks(case: str, hidden: bool) -> tuple[CheckResult, ...]:
        failing = replace(value_mismatch(hidden), case=case)
        passing_ = tuple(
            CheckResult(f"shape of {o}", True, kind="shape", case=case, hidden=hidden)
            for o in ("a_next", "yt_pred")
        )
        return (failing, *passing_)

    all_checks = checks("public", False) + checks("m1", True) + checks("t1", True)
    ex = ExerciseResult("rnn_cell_forward", Status.FAILED, 0, 15, checks=all_checks)
    html = render_html(with_exercise(passing(), ex))
    assert html.count("<svg") == 1  # the picture once, on the public case
    assert html.count("failed here too (details above): values of a_next") == 2
    # passing checks are counted per case and kind (all the JSON result keeps of them)
    assert html.count("2 checks passed (shape 2)") == 3
    assert html.count("2 of 3 checks passed") == 3
