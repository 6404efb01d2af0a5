"""The compact verdict ``grader.check()`` shows under a notebook cell (text and HTML).

A passing exercise is one line. Anything else: the verdict, the first failing check (or the error),
the hint, and what to fix first. Pure functions of the judge's results, like every renderer; the
messages are the ones the full report shows, so hidden cases appear by their sizes only.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from grader.core.models import ExerciseResult, Status
from grader.render.advice import advice
from grader.render.text import one_line

_MARK = {Status.PASSED: "✓", Status.MISSING: "·"}
_COLOUR = {
    Status.PASSED: "#1a7f37",
    Status.FAILED: "#cf222e",
    Status.ERROR: "#9a6700",
    Status.TIMEOUT: "#8250df",
    Status.MISSING: "#656d76",
}


def _points(ex: ExerciseResult) -> str:
    return f"{ex.score:g}/{ex.max_score:g}"


def details(ex: ExerciseResult) -> list[tuple[str, str]]:
    """(label, text) lines under a verdict that is not a pass."""
    out: list[tuple[str, str]] = []
    failing = next((c for c in ex.checks if not c.passed and c.message), None)
    if failing is not None:
        out.append(("first failing check", failing.message))
    elif ex.error is not None:
        out.append(
            ("error", f"{ex.error.type}: {ex.error.message}" if ex.error.type else ex.error.message)
        )
    elif ex.reason:
        out.append(("why", ex.reason))
    item = advice(ex)
    if item is not None and item.named:
        out.append(("hint", item.message))
        if item.fix:
            out.append(("fix", item.fix[0]))
    return out


def verdict_line(ex: ExerciseResult) -> str:
    mark = _MARK.get(ex.status, "✗")
    return f"{mark} {one_line(ex.name, 40)}: {ex.status.value} ({_points(ex)})"


def render_check_text(results: Sequence[ExerciseResult]) -> str:
    """Plain text (a console, or a front end without HTML); ends with a newline."""
    lines: list[str] = []
    for ex in results:
        lines.append(verdict_line(ex))
        if ex.status is not Status.PASSED:
            lines += [f"    {label}: {one_line(text, 300)}" for label, text in details(ex)]
    return "\n".join(lines) + "\n"


def render_check_html(results: Sequence[ExerciseResult]) -> str:
    """A self-contained fragment for Jupyter/Colab output (inline styles, no script)."""
    esc = html.escape
    parts = ['<div class="rnn-grader-check" style="font:13px/1.45 system-ui,sans-serif">']
    for ex in results:
        colour = _COLOUR.get(ex.status, "#cf222e")
        parts.append(
            f'<div data-status="{esc(ex.status.value)}" style="margin:.2em 0">'
            f'<b style="color:{colour}">{esc(verdict_line(ex))}</b>'
        )
        if ex.status is not Status.PASSED:
            parts.append('<ul style="margin:.1em 0 .3em 1.2em;padding:0">')
            for label, text in details(ex):
                parts.append(f"<li><i>{esc(label)}</i>: {esc(one_line(text, 600))}</li>")
            parts.append("</ul>")
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)
