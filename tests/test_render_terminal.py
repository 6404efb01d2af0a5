"""The terminal table, colour decisions, and stripping of terminal escape sequences."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from grader.core.models import Diagnosis, ExerciseResult, GradeResult, Status
from grader.render.terminal import render_terminal, use_color
from grader.render.text import one_line, strip_controls
from tests.shipped import EXERCISES


def result(**changes: ExerciseResult) -> GradeResult:
    exercises = tuple(
        changes.get(s.name) or ExerciseResult(s.name, Status.PASSED, s.points, s.points)
        for s in EXERCISES
    )
    score = sum(e.score for e in exercises)
    return GradeResult("nb/alice.ipynb", "graded", None, score, 100, exercises)


def test_passing_table_has_every_exercise_and_the_total() -> None:
    out = render_terminal(result(), color=False, report_path="nb/alice.html")
    for spec in EXERCISES:
        assert spec.name in out
    assert "100/100" in out
    assert "What to fix first" not in out
    assert out.rstrip().endswith("Full report: nb/alice.html")
    assert "\x1b" not in out


def test_failed_exercises_show_reason_and_diagnosis_first() -> None:
    diag = Diagnosis(
        "rnn_forward.a0_every_step",
        "a0 is passed to the cell at every time step",
        "...",
        "a_next = a0\nfor t in range(T_x): ...",
    )
    out = render_terminal(
        result(
            rnn_forward=ExerciseResult(
                "rnn_forward",
                Status.FAILED,
                0,
                15,
                reason="values of a differ on the public case",
                diagnosis=diag,
            ),
            lstm_backward=ExerciseResult(
                "lstm_backward", Status.MISSING, 0, 10, reason="not defined in the notebook"
            ),
        ),
        color=False,
        report_path=None,
    )
    row = next(line for line in out.splitlines() if line.strip().startswith("rnn_forward"))
    assert "failed" in row and "0/15" in row and "values of a differ" in row
    assert "rnn_forward: a0 is passed to the cell at every time step" in out
    assert "fix: a_next = a0" in out
    assert "lstm_backward: not defined in the notebook" in out
    assert "75/100" in out and "Full report" not in out


def test_colour_codes_only_when_asked() -> None:
    failed = ExerciseResult("rnn_forward", Status.FAILED, 0, 15, reason="x")
    coloured = render_terminal(result(rnn_forward=failed), color=True, report_path=None)
    assert "\x1b[31m" in coloured and "\x1b[32m" in coloured
    assert strip_controls(coloured) == render_terminal(
        result(rnn_forward=failed), color=False, report_path=None
    )


def test_invalid_result_is_one_line() -> None:
    bad = GradeResult("x.txt", "invalid", "not a notebook: not JSON\nsecond line", 0, 100)
    out = render_terminal(bad, color=False, report_path=None)
    assert out == "could not grade x.txt: not a notebook: not JSON second line\n"


HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\r\x1b]52;c;ZXZpbA==\x1b\\\u202eevil\x9b1mX\x00"


def test_student_strings_cannot_inject_escape_sequences() -> None:
    ex = ExerciseResult(
        "rnn_forward",
        Status.FAILED,
        0,
        15,
        reason=HOSTILE,
        diagnosis=Diagnosis("d", HOSTILE, HOSTILE, HOSTILE),
    )
    hostile = replace(result(rnn_forward=ex), notebook=HOSTILE + ".ipynb")
    for color in (False, True):
        out = render_terminal(hostile, color=color, report_path=HOSTILE)
        plain = out.replace("\x1b[0m", "").replace("\x1b[1m", "")
        for code in ("\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[2m"):
            plain = plain.replace(code, "")
        assert "\x1b" not in plain and "\r" not in plain and "\x07" not in plain
        assert "\u202e" not in plain and "\x9b" not in plain and "\x00" not in plain
        assert "redevilX" in plain  # the text survives, only the controls go


@pytest.mark.parametrize(
    "raw, clean",
    [
        pytest.param("\x1b[31mred\x1b[0m", "red", id="sgr-colour"),
        pytest.param("a\x1b[2J\x1b[Hb", "ab", id="clear-screen"),
        pytest.param("\x1b]0;title\x07x", "x", id="osc-title-bel"),
        pytest.param("\x1b]8;;http://e.vil\x1b\\link\x1b]8;;\x1b\\", "link", id="osc-hyperlink"),
        pytest.param("\x1b]52;c;ZXZpbA==\x07y", "y", id="osc-clipboard"),
        pytest.param("\x1bP+q544e\x1b\\z", "z", id="dcs"),
        pytest.param("\x9b31mC1\x9b0m", "C1", id="c1-csi"),
        pytest.param("\x1b(Bx", "x", id="charset"),
        pytest.param("ok\rgone", "okgone", id="carriage-return"),
        pytest.param("a\x08b\x07c\x00d\x7f", "abcd", id="c0-controls"),
        pytest.param("\u202egnp.exe", "gnp.exe", id="bidi-override"),
        pytest.param("line1\n\tline2", "line1\n\tline2", id="keeps-newline-tab"),
        pytest.param("\x1b]0;never terminated", "", id="unterminated-osc"),
        pytest.param("ünïcödé ✓ α·β", "ünïcödé ✓ α·β", id="unicode-kept"),
    ],
)
def test_strip_controls(raw: str, clean: str) -> None:
    assert strip_controls(raw) == clean


def test_one_line_collapses_and_cuts() -> None:
    assert one_line("a\n b\t\tc", 10) == "a b c"
    assert one_line("x" * 50, 10) == "x" * 9 + "…"
    assert len(one_line("y" * 10**7, 80)) == 80


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    "tty, env, expected",
    [
        pytest.param(True, {}, True, id="tty"),
        pytest.param(False, {}, False, id="pipe"),
        pytest.param(True, {"NO_COLOR": "1"}, False, id="no-color"),
        pytest.param(False, {"FORCE_COLOR": "1"}, True, id="force-color"),
        pytest.param(True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, id="no-color-wins"),
        pytest.param(True, {"NO_COLOR": ""}, True, id="empty-no-color-ignored"),
        pytest.param(True, {"TERM": "dumb"}, False, id="dumb-terminal"),
    ],
)
def test_use_color(
    tty: bool, env: dict[str, str], expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert use_color(FakeStream(tty)) is expected


def test_use_color_on_a_closed_stream_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = io.StringIO()
    stream.close()
    assert use_color(stream) is False


def test_what_to_fix_first_lists_at_most_two_and_skips_blocked_callers() -> None:
    from grader.render.advice import advice, fix_first

    failing = {
        s.name: ExerciseResult(s.name, Status.ERROR, 0, s.points, reason=f"{s.name} broke")
        for s in EXERCISES
    }
    # lstm_backward only fails because lstm_cell_backward does: it is not listed
    failing["lstm_backward"] = replace(
        failing["lstm_backward"],
        hint="lstm_backward calls your lstm_cell_backward, which does not pass yet: "
        "fix lstm_cell_backward first",
        blocked_by=("lstm_cell_backward",),
    )
    out = render_terminal(result(**failing), color=False, report_path=None)
    first = out.split("What to fix first:")[1]
    assert "rnn_cell_forward: rnn_cell_forward broke" in first
    assert "rnn_forward: rnn_forward broke" in first
    assert "lstm_cell_forward" not in first and "  lstm_backward:" not in first
    assert "(and 6 more exercises that do not pass yet" in first
    listed = fix_first(result(**failing).exercises)
    assert [a.name for a in listed] == ["rnn_cell_forward", "rnn_forward"]
    blocked = advice(failing["lstm_backward"])
    assert blocked is not None and blocked.message == failing["lstm_backward"].hint


def test_the_message_is_the_json_hint_with_the_fix_of_its_diagnosis() -> None:
    from grader.render.advice import advice, advice_lines

    finding = Diagnosis("evidence.never_stored", "c is never stored", "why", "c[:, :, t] = c_next")
    ex = ExerciseResult(
        "lstm_forward",
        Status.FAILED,
        0,
        15,
        hint=finding.title,
        reason="c differs",
        finding=finding,
    )
    item = advice(ex)
    assert item is not None and item.named
    assert (item.message, item.fix) == ("c is never stored", ("c[:, :, t] = c_next",))
    assert advice_lines(ex) == ["Hint: c is never stored", "Why: why", "Fix: c[:, :, t] = c_next"]
    out = render_terminal(result(lstm_forward=ex), color=False, report_path=None)
    assert "  lstm_forward: c is never stored\n      fix: c[:, :, t] = c_next" in out
    # no hint: the reason stands in, and it is not presented as a named mistake
    bare = advice(replace(ex, hint=None, finding=None))
    assert bare is not None and bare.message == "c differs" and not bare.named
    assert advice_lines(replace(ex, hint=None, finding=None)) == []
    assert advice(replace(ex, status=Status.PASSED)) is None


def test_one_more_exercise_is_singular() -> None:
    failing = {
        s.name: ExerciseResult(s.name, Status.ERROR, 0, s.points, reason=f"{s.name} broke")
        for s in EXERCISES[:3]
    }
    out = render_terminal(result(**failing), color=False, report_path=None)
    assert "(and 1 more exercise that does not pass yet" in out, out
