"""Differential diagnosis end to end: real notebooks, a real kernel, every renderer.

A student's mistake outside the catalogue is named from evidence (probes run by the judge, the
outputs step by step, the source); a correct function that calls a wrong one is only told to fix
that one first; and the JSON hint is exactly what the terminal, the HTML report, JUnit,
Gradescope and ``grader.check()`` show.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from grader.core.config import GradingConfig, Limits
from grader.core.models import GradeResult, Status
from grader.pipeline import grade_notebook
from grader.render.check import render_check_text
from grader.render.gradescope import render_gradescope
from grader.render.html import render_html
from grader.render.junit import render_junit
from grader.render.terminal import render_terminal
from tests.notebooks import function_sources, mutate, submission, write

pytestmark = pytest.mark.slow

CONFIG = GradingConfig(
    limits=Limits(cell_timeout=5, notebook_timeout=40, call_timeout=5, memory_bytes=1 << 30)
)
SRC = function_sources()
TEST_CELL = (
    "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\n"
    "parameters_tmp = {}\nparameters_tmp['Waa'] = np.random.randn(5, 5)\n"
    "parameters_tmp['Wax'] = np.random.randn(5, 3)\nparameters_tmp['Wya'] = np.random.randn(2, 5)\n"
    "parameters_tmp['ba'] = np.random.randn(5, 1)\nparameters_tmp['by'] = np.random.randn(2, 1)\n"
    "a_next_tmp, yt_pred_tmp, cache_tmp = rnn_cell_forward(xt_tmp, a_prev_tmp, parameters_tmp)\n"
    "print(a_next_tmp[4])\n"
)


def grade(tmp_path: Path, exercise: str | None = None, edits=(), after=()) -> GradeResult:  # type: ignore[no-untyped-def]
    replace = {}
    if exercise is not None:
        src = SRC[exercise]
        for old, new in edits:
            src = mutate(src, old, new)
        replace[exercise] = src
    nb = write(submission(replace, after=tuple(after)), tmp_path / "submission.ipynb")
    return grade_notebook(nb, config=CONFIG)


def assert_one_message_everywhere(result: GradeResult, name: str) -> str:
    """The exercise's JSON hint appears, word for word, in every student-facing output."""
    ex = result.exercise(name)
    hint = json.loads(json.dumps(result.to_dict()))["exercises"][
        [e.name for e in result.exercises].index(name)
    ]["hint"]
    assert hint and hint == ex.hint
    terminal = render_terminal(result, color=False, report_path=None)
    flat_terminal = " ".join(terminal.split())
    assert f"{name}: {hint}"[:110] in flat_terminal or ex.blocked_by, terminal
    assert hint in html.unescape(render_html(result))
    assert f"Hint: {hint}" in render_junit([result])
    doc = render_gradescope(result)
    test = next(t for t in doc["tests"] if t["name"] == name)
    assert f"Hint: {hint}" in test["output"]
    assert f"hint: {hint}"[:300] in " ".join(render_check_text([ex]).split())
    return hint


def test_hard_coded_size_is_named_with_its_line(tmp_path: Path) -> None:
    result = grade(
        tmp_path, "rnn_forward", [("a = np.zeros((n_a, m, T_x))", "a = np.zeros((5, 10, T_x))")]
    )
    ex = result.exercise("rnn_forward")
    assert ex.status is not Status.PASSED and ex.diagnosis is None  # not a catalogued mistake
    assert ex.finding is not None and ex.finding.id == "evidence.hard_coded_size"
    hint = assert_one_message_everywhere(result, "rnn_forward")
    assert "hard-codes 5 and 10" in hint and "line" in hint and "a0.shape[0]" in hint
    assert result.score == 85  # probes never change the score


def test_notebook_variable_read_instead_of_the_argument(tmp_path: Path) -> None:
    result = grade(
        tmp_path,
        "rnn_cell_forward",
        [('parameters["', 'parameters_tmp["')] * 5,
        after=(TEST_CELL,),
    )
    cell = result.exercise("rnn_cell_forward")
    assert cell.finding is not None and cell.finding.id == "evidence.reads_notebook_variable"
    hint = assert_one_message_everywhere(result, "rnn_cell_forward")
    assert "parameters_tmp" in hint and "instead of its argument parameters" in hint
    # the correct rnn_forward that calls it is only told to fix rnn_cell_forward first
    caller = result.exercise("rnn_forward")
    assert caller.blocked_by == ("rnn_cell_forward",)
    assert caller.diagnosis is None and caller.finding is None
    assert caller.hint is not None and caller.hint.endswith("fix rnn_cell_forward first")


def test_a_correct_caller_is_not_blamed_for_its_callee(tmp_path: Path) -> None:
    """lstm_cell_backward leaves the da_next term out of dc_prev: lstm_backward (correct) fails
    too and its outputs equal a catalogued lstm_backward mistake; it must not be told so."""
    result = grade(
        tmp_path, "lstm_cell_backward", [("dc_prev = dc * ft", "dc_prev = dc_next * ft")]
    )
    cell = result.exercise("lstm_cell_backward")
    assert cell.diagnosis is not None and cell.diagnosis.id == "lstm_cell_backward.dc_prev_no_da"
    caller = result.exercise("lstm_backward")
    assert caller.status is Status.FAILED
    assert caller.diagnosis is None and caller.finding is None
    hint = assert_one_message_everywhere(result, "lstm_backward")
    assert hint.endswith("fix lstm_cell_backward first")
    for text in (
        render_terminal(result, color=False, report_path=None),
        render_html(result),
        render_junit([result]),
        json.dumps(render_gradescope(result)),
    ):
        assert "not propagated" not in text
    terminal = render_terminal(result, color=False, report_path=None)
    first = terminal.split("What to fix first:")[1]
    assert "lstm_cell_backward: dc_prev leaves out the da_next term" in first
    assert "  lstm_backward:" not in first  # it is fixed by fixing its callee


@pytest.mark.parametrize(
    ("edits", "kind", "words"),
    [
        pytest.param(
            [("        c[:, :, t] = c_next\n", "")], "never_stored", "c[:, :, t] is never stored",
            id="c-never-stored",
        ),
        pytest.param(
            [("    c_next = np.zeros((n_a, m))\n", "    c_next = a0\n")], "initial_cell_state",
            "the cell state starts from a0 instead of zeros", id="c-from-a0",
        ),
        pytest.param(
            [("    a_next = a0\n", "    a_next = np.zeros((n_a, m))\n")], "initial_hidden_state",
            "the hidden state starts from zeros instead of a0", id="a-from-zeros",
        ),
    ],
)  # fmt: skip
def test_sequence_mistakes_are_localised(
    edits: list[tuple[str, str]], kind: str, words: str, tmp_path: Path
) -> None:
    result = grade(tmp_path, "lstm_forward", edits)
    ex = result.exercise("lstm_forward")
    assert ex.finding is not None and ex.finding.id == f"evidence.{kind}"
    assert words in assert_one_message_everywhere(result, "lstm_forward")
    assert {e.name for e in result.exercises if e.status is not Status.PASSED} == {"lstm_forward"}


def test_outputs_that_ignore_every_input(tmp_path: Path) -> None:
    result = grade(
        tmp_path,
        "rnn_cell_forward",
        [
            (
                '    Wax = parameters["Wax"]',
                "    xt, a_prev, parameters = xt_tmp, a_prev_tmp, parameters_tmp\n"
                '    Wax = parameters["Wax"]',
            )
        ],
        after=(TEST_CELL,),
    )
    hint = assert_one_message_everywhere(result, "rnn_cell_forward")
    assert "do not depend on its inputs" in hint and "parameters_tmp" in hint


def test_correct_notebook_gets_no_hint(tmp_path: Path) -> None:
    result = grade(tmp_path)
    assert result.score == 100
    assert all(e.hint is None and e.finding is None for e in result.exercises)
    assert "What to fix first" not in render_terminal(result, color=False, report_path=None)


def test_stub_lists_at_most_two_exercises_to_fix_first(repo_root: Path) -> None:
    result = grade_notebook(
        repo_root / "exercises" / "rnn" / "rnn_step_by_step.ipynb", config=CONFIG
    )
    assert result.score == 0
    terminal = render_terminal(result, color=False, report_path=None)
    first = terminal.split("What to fix first:")[1].split("Full report")[0]
    listed = [
        line.split(":")[0].strip()
        for line in first.splitlines()
        if line.startswith("  ")
        and not line.startswith("      ")
        and not line.strip().startswith("(")
    ]
    # the first two in the assignment's (dependency) order: the stub's rnn_forward does not
    # call rnn_cell_forward yet, so it is not waiting for it
    assert listed == ["rnn_cell_forward", "rnn_forward"], first
    assert "6 more exercises" in first
