"""Gradescope ``results.json`` (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

Always written, even when there is no result (internal error) or the notebook is invalid: then the
score is 0 and ``output`` says why, so the student sees a reason instead of "autograder failed".

One test per exercise carries its points and what the student may see now (public-case messages;
hidden-case checks only as a count and their sizes). Hidden-case details get their own zero-point
test per exercise with visibility ``after_published``, so instructors see them at once and students
after grades are published.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.core.fileio import atomic_write
from grader.core.models import ExerciseResult, GradeResult, Status
from grader.render.advice import advice_lines

_MAX_OUTPUT = 8_000  # per test: Gradescope truncates long outputs badly


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_OUTPUT else text[:_MAX_OUTPUT] + "\n[... truncated]"


def _visible_output(ex: ExerciseResult) -> str:
    if ex.status is Status.PASSED:
        return "All checks passed."
    lines = [ex.reason or ex.status.value]
    if ex.error is not None and ex.error.traceback:
        lines.extend(ex.error.traceback)
    public = [c for c in ex.failed_checks if not c.hidden]
    lines.extend(f"- {c.name}: {c.message}" for c in public)
    hidden = [c for c in ex.failed_checks if c.hidden]
    if hidden:
        cases = sorted({c.case or "?" for c in hidden})
        lines.append(f"- {len(hidden)} check(s) failed on hidden case(s): {', '.join(cases)}")
    lines.extend(advice_lines(ex))
    return _cut("\n".join(lines))


def _hidden_test(ex: ExerciseResult) -> dict[str, Any] | None:
    """The instructors' test of the hidden cases; None when the exercise has none.

    Counted from ``case_summary`` (passing checks) and the failing checks, so a result read back
    from its compact JSON gives the same test as the fresh one.
    """
    hidden_cases = [s for s in ex.case_summary() if s.hidden]
    if not hidden_cases:
        return None
    failed = [c for c in ex.failed_checks if c.hidden]
    passed = sum(s.count for s in hidden_cases)
    lines = [f"{passed} of {passed + len(failed)} hidden-case checks passed."]
    lines += [f"[{c.case}] {c.name}: {c.message}" for c in failed]
    return {
        "name": f"{ex.name} (hidden cases)",
        "score": 0.0,
        "max_score": 0.0,
        "status": "failed" if failed else "passed",
        "output": _cut("\n".join(lines)),
        "visibility": "after_published",
    }


def render_gradescope(
    result: GradeResult | None, *, error: str | None = None, execution_time: float = 0.0
) -> dict[str, Any]:
    """The results.json document (a plain dict)."""
    elapsed = float(execution_time or (result.duration if result else 0.0))
    doc: dict[str, Any] = {
        "score": 0.0,
        "execution_time": round(elapsed, 3),
        "output": "",
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }
    if result is None or result.status != "graded":
        why = error or (result.error if result else None) or "the notebook could not be graded"
        doc["output"] = (
            f"Your notebook could not be graded: {why}\n"
            "Nothing was scored. Check that you uploaded the .ipynb file itself, that it opens "
            "in Jupyter, and resubmit; if this persists, tell your instructor."
        )
        return doc
    doc["score"] = float(result.score)
    not_passed = [e.name for e in result.exercises if e.status is not Status.PASSED]
    doc["output"] = f"Score {result.score:g}/{result.max_score:g}." + (
        f" Not passed: {', '.join(not_passed)}." if not_passed else " Every exercise passed."
    )
    if error:
        doc["output"] += f"\nNote: {error}"
    for ex in result.exercises:
        doc["tests"].append(
            {
                "name": ex.name,
                "score": float(ex.score),
                "max_score": float(ex.max_score),
                "status": "passed" if ex.status is Status.PASSED else "failed",
                "output": _visible_output(ex),
                "visibility": "visible",
            }
        )
        hidden = _hidden_test(ex)
        if hidden is not None:
            doc["tests"].append(hidden)
    return doc


def write_gradescope(
    result: GradeResult | None,
    path: Path,
    *,
    error: str | None = None,
    execution_time: float = 0.0,
) -> None:
    """Write Gradescope's results.json atomically (see ``render_gradescope``)."""
    doc = render_gradescope(result, error=error, execution_time=execution_time)
    atomic_write(Path(path), json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
