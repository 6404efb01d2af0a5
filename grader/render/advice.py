"""What the student is told about each exercise, decided once for every renderer.

``ExerciseResult.hint`` (in the JSON) is the message; the terminal, the HTML report, JUnit,
Gradescope and ``grader.check()`` all show it through :func:`advice`, with the explanation and the
line(s) to fix of the diagnosis it comes from. :func:`fix_first` picks what to fix first: at most
two exercises, in dependency order, leaving out those that only fail because an exercise they
call fails (their message says to fix that one first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grader.core.models import Diagnosis, ExerciseResult, Status
from grader.render.text import strip_controls

#: how many exercises "What to fix first" lists
FIX_FIRST = 2


@dataclass(frozen=True)
class Advice:
    name: str
    #: the one message: the hint, or without one the first thing that went wrong
    message: str
    #: True when ``message`` names a mistake (a diagnosis or "fix X first"), not just a check
    named: bool
    explanation: str = ""
    #: the line(s) to fix, as the diagnosis gives them
    fix: tuple[str, ...] = ()
    #: exercises it calls that must be fixed first
    blocked_by: tuple[str, ...] = ()


def _source(ex: ExerciseResult) -> Diagnosis | None:
    return ex.diagnosis or ex.finding


def advice(ex: ExerciseResult) -> Advice | None:
    """The student-facing message of ``ex``; None when it passed."""
    if ex.status is Status.PASSED:
        return None
    diag = _source(ex)
    message = ex.hint or (diag.title if diag else "") or ex.reason or ex.status.value
    named = bool(ex.hint or diag)
    fix: tuple[str, ...] = ()
    explanation = ""
    if diag is not None:
        explanation = diag.explanation
        fix = tuple(line for line in strip_controls(diag.fix).splitlines() if line.strip())
    return Advice(ex.name, message, named, explanation, fix, tuple(ex.blocked_by))


def fix_first(exercises: Sequence[ExerciseResult], limit: int = FIX_FIRST) -> tuple[Advice, ...]:
    """At most ``limit`` exercises to fix first, in the assignment's (dependency) order."""
    all_advice = [a for ex in exercises if (a := advice(ex)) is not None]
    failing = {a.name for a in all_advice}
    roots = [a for a in all_advice if not any(dep in failing for dep in a.blocked_by)]
    return tuple((roots or all_advice)[:limit])


def not_listed(exercises: Sequence[ExerciseResult], limit: int = FIX_FIRST) -> int:
    """How many exercises that do not pass :func:`fix_first` leaves out."""
    failing = sum(1 for ex in exercises if ex.status is not Status.PASSED)
    return failing - len(fix_first(exercises, limit))


def advice_lines(ex: ExerciseResult) -> list[str]:
    """The message as plain-text lines (JUnit, Gradescope): hint, why, and the line(s) to fix."""
    item = advice(ex)
    if item is None or not item.named:
        return []
    lines = [f"Hint: {item.message}"]
    if item.explanation:
        lines.append(f"Why: {item.explanation}")
    lines.extend(f"Fix: {line}" for line in item.fix)
    return lines
