"""The HTML report in real headless Chromium: renders, draws, leaks nothing, runs nothing.

Screenshots go to pytest's tmp_path (paths printed; see them with ``-s``) and a copy to
/tmp/rnn-grader-screens/ for a human look.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

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
from grader.render.html import write_html
from tests.shipped import EXERCISES

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path("/tmp/rnn-grader-screens")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: values of a hidden case: they must never reach the page
HIDDEN_VALUES = ("0.8675309", "-3.1415926")
XSS = (
    '<script>alert("script")</script><img src=x onerror="alert(1)">'
    "<svg onload=alert(2)></svg>\"'><iframe src=javascript:alert(3)>"
)


def _passing_exercises() -> tuple[ExerciseResult, ...]:
    return tuple(
        ExerciseResult(
            s.name,
            Status.PASSED,
            s.points,
            s.points,
            checks=tuple(
                CheckResult(f"{what} of {out}", True, kind=what, case=case, hidden=case != "public")
                for case in ("public", "m1")
                for out in s.outputs[:2]
                for what in ("shape", "values")
            ),
        )
        for s in EXERCISES
    )


def passing() -> GradeResult:
    cells = (
        CellOutcome(0, CellStatus.OK, 1, summary="import numpy as np"),
        CellOutcome(
            1,
            CellStatus.OK,
            2,
            summary="def rnn_cell_forward(xt, a_prev, parameters):",
            output="All tests passed",
        ),
    )
    return GradeResult(
        "submissions/bob.ipynb",
        "graded",
        None,
        100,
        100,
        _passing_exercises(),
        cells,
        sandbox="strong",
        grader_version="0.1.0",
        golden="0123abcd",
    )


def failing() -> GradeResult:
    grid = tuple(tuple((i + j) % 3 == 0 for j in range(10)) for i in range(5))
    public = Mismatch(
        17,
        50,
        1e-6,
        1e-8,
        first=(((0, 0), 0.59584544, 0.1), ((0, 3), 0.2, -0.4)),
        max_abs=0.9,
        max_rel=5.5,
        grid=grid,
        grid_label="yt_pred (n_y × m)",
    )
    hidden = Mismatch(
        2,
        5,
        1e-6,
        1e-8,
        first=(((0, 0), float(HIDDEN_VALUES[0]), float(HIDDEN_VALUES[1])),),
        max_abs=4.0,
        max_rel=4.6,
        grid=((True, False, True, False, False),),
        grid_label="yt_pred (n_y × m)",
    )
    rnn_cell = ExerciseResult(
        "rnn_cell_forward",
        Status.FAILED,
        5,
        15,
        checks=(
            CheckResult("shape of yt_pred", True, kind="shape", case="public"),
            CheckResult(
                "values of yt_pred",
                False,
                "yt_pred differs in 17 of 50 entries",
                case="public",
                mismatch=public,
            ),
            # Fails only on a hidden case: shown in full there (grid, never values).
            CheckResult(
                "values of a_next",
                False,
                "a_next differs in 2 of 5 entries",
                case="m1",
                hidden=True,
                mismatch=hidden,
            ),
            # Fails again on a hidden case: named, details stay with the public case.
            CheckResult("values of yt_pred", False, "yt_pred differs", case="m1", hidden=True),
        ),
        reason="values of yt_pred differ on the public case",
        diagnosis=Diagnosis(
            "rnn_cell_forward.yt_from_a_prev",
            "yt_pred is computed from a_prev instead of a_next",
            "The prediction at step t comes from the new hidden state a_next.",
            "yt_pred = softmax(np.dot(Wya, a_next) + by)",
        ),
        cell=1,
    )
    rnn_bwd = ExerciseResult(
        "rnn_cell_backward",
        Status.FAILED,
        0,
        10,
        checks=(
            CheckResult(
                "shape of dba",
                False,
                "dba has shape (5,), expected (5, 1)",
                kind="shape",
                case="public",
                expected_shape=(5, 1),
                got_shape=(5,),
            ),
        ),
        reason="dba has shape (5,), expected (5, 1)",
    )
    lstm = ExerciseResult(
        "lstm_forward",
        Status.ERROR,
        0,
        15,
        reason="raised IndexError on the public case",
        error=ErrorInfo(
            "exception",
            "index 7 is out of bounds for axis 2 with size 7",
            "IndexError",
            ("cell 3, line 14, in lstm_forward", "    xt = x[:, :, t + 1]"),
            case="public",
        ),
    )
    exercises = tuple(
        {"rnn_cell_forward": rnn_cell, "rnn_cell_backward": rnn_bwd, "lstm_forward": lstm}.get(
            e.name, e
        )
        for e in _passing_exercises()
    )
    cells = (
        *passing().cells,
        CellOutcome(
            3,
            CellStatus.ERROR,
            4,
            "IndexError",
            "index 7 is out of bounds",
            "def lstm_forward(x, a0, parameters):",
            "Traceback (most recent call last):\n  ...\nIndexError: index 7",
        ),
    )
    score = sum(e.score for e in exercises)
    return replace(
        passing(), notebook="submissions/carol.ipynb", score=score, exercises=exercises, cells=cells
    )


def hostile() -> GradeResult:
    base = failing()
    ex = replace(
        base.exercise("rnn_cell_forward"),
        reason=XSS,
        hint=XSS,
        checks=(
            CheckResult(
                XSS,
                False,
                XSS,
                case=XSS,
                mismatch=Mismatch(1, 2, 1e-6, 1e-8, grid=((True, False),), grid_label=XSS),
            ),
        ),
        diagnosis=Diagnosis(XSS, XSS, XSS, XSS),
        error=ErrorInfo("exception", XSS, XSS, (XSS,) * 3, limit=XSS, case=XSS),
    )
    exercises = tuple(ex if e.name == ex.name else e for e in base.exercises)
    cells = tuple(
        CellOutcome(i, CellStatus.ERROR, i, XSS, XSS, XSS, (XSS + "\n") * 20_000) for i in range(12)
    )
    return replace(
        base,
        notebook=XSS + ".ipynb",
        exercises=exercises,
        cells=cells,
        sandbox=XSS,
        sandbox_missing=(XSS,),
        golden=XSS,
        grader_version=XSS,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"headless browser test needs Chromium at {CHROMIUM} (apt install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def load(browser: Any, result: GradeResult, tmp_path: Path, name: str, width: int = 1000) -> Any:
    """Open the report; record console errors and dialogs on the page object."""
    path = tmp_path / f"{name}.html"
    write_html(result, path)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.problems = []

    def on_dialog(dialog: Any) -> None:
        page.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"pageerror: {e}"))
    page.on("dialog", on_dialog)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page


def screenshot(page: Any, tmp_path: Path, name: str, full_page: bool = True) -> None:
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=full_page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENS / shot.name)
    print(f"screenshot: {shot} (copy: {SCREENS / shot.name})")


def assert_sections_visible(page: Any, result: GradeResult) -> None:
    for ex in result.exercises:
        section = page.locator(f"#ex-{ex.name}")
        assert section.is_visible(), ex.name
        box = section.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 20


@pytest.mark.parametrize("width", [pytest.param(1000, id="desktop"), pytest.param(390, id="phone")])
def test_passing_report(browser: Any, tmp_path: Path, width: int) -> None:
    result = passing()
    page = load(browser, result, tmp_path, f"passing-{width}", width)
    assert_sections_visible(page, result)
    assert "100 / 100" in page.inner_text("header")
    # Nothing wider than the screen, on a phone too (long names wrap, code scrolls inside).
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, tmp_path, f"passing-{width}")
    assert page.problems == []


@pytest.mark.parametrize("width", [pytest.param(1000, id="desktop"), pytest.param(390, id="phone")])
def test_failing_report(browser: Any, tmp_path: Path, width: int) -> None:
    result = failing()
    page = load(browser, result, tmp_path, f"failing-{width}", width)
    assert_sections_visible(page, result)
    text = page.inner_text("body")
    assert "Likely mistake: yt_pred is computed from a_prev instead of a_next" in text
    assert "17 of 50 entries differ" in text and "0.595845" in text
    assert "missing keepdims" in text
    assert "failed here too (details above): values of yt_pred" in text
    assert "IndexError" in text and "cell 3, line 14, in lstm_forward" in text
    for value in HIDDEN_VALUES:
        assert value not in text and value not in page.content()
    # The mismatch pictures are drawn: visible rects with a size, red where entries differ.
    rects = page.locator("#ex-rnn_cell_forward svg.grid rect")
    assert rects.count() == 50 + 5
    box = rects.first.bounding_box()
    assert box is not None and box["width"] > 2 and box["height"] > 2
    bad = page.locator("#ex-rnn_cell_forward svg.grid rect.bad").first
    assert bad.evaluate("r => getComputedStyle(r).fill") == "rgb(207, 34, 46)"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, tmp_path, f"failing-{width}")
    page.emulate_media(media="print")
    assert_sections_visible(page, result)
    screenshot(page, tmp_path, f"failing-print-{width}")
    assert page.problems == []


def test_hostile_report_runs_nothing(browser: Any, tmp_path: Path) -> None:
    result = hostile()
    page = load(browser, result, tmp_path, "hostile")
    assert_sections_visible(page, result)
    # Escaped, not merely blocked by the CSP: no element came from a student string.
    assert page.locator("script, img, iframe, svg[onload], [onerror]").count() == 0
    assert '<script>alert("script")</script>' in page.inner_text("body")
    assert page.evaluate("document.title").startswith("Grade report: <script>")
    assert (tmp_path / "hostile.html").stat().st_size < 1_000_000  # huge output was cut
    screenshot(page, tmp_path, "hostile", full_page=False)  # the page is very long
    assert page.problems == []


def test_invalid_report(browser: Any, tmp_path: Path) -> None:
    result = GradeResult(
        "homework.docx", "invalid", "not a notebook: not valid JSON " + XSS, 0, 100
    )
    page = load(browser, result, tmp_path, "invalid")
    assert page.locator("#invalid").is_visible()
    assert "could not be graded" in page.inner_text("#invalid")
    screenshot(page, tmp_path, "invalid")
    assert page.problems == []
