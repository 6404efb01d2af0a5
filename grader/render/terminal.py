"""The score table printed after grading one notebook.

Student-provided strings (names, reasons built from their output, the notebook path) are stripped
of escape sequences and control characters: a string printed raw could recolour, rewrite or
hide lines of the terminal, set its title or write to its clipboard.
"""

from __future__ import annotations

import os
from typing import TextIO

from grader.models import GradeResult, Status
from grader.render.text import one_line, strip_controls

_RESET = "\x1b[0m"
_STYLE = {
    Status.PASSED: "\x1b[32m",  # green
    Status.FAILED: "\x1b[31m",  # red
    Status.ERROR: "\x1b[33m",  # yellow
    Status.TIMEOUT: "\x1b[35m",  # magenta
    Status.MISSING: "\x1b[2m",  # dim
}
_BOLD = "\x1b[1m"
REASON_WIDTH = 64


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal; NO_COLOR (no-color.org) turns it off, FORCE_COLOR on."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color else text


def _points(x: float) -> str:
    return f"{x:g}"


def render_terminal(result: GradeResult, *, color: bool, report_path: str | None) -> str:
    """The table, the total, what to fix first and where the full report is (ends with \\n)."""
    notebook = one_line(result.notebook, 200)
    if result.status != "graded":
        why = one_line(result.error or "not a readable Jupyter notebook", 300)
        return _paint(f"could not grade {notebook}: {why}", _STYLE[Status.FAILED], color) + "\n"

    name_w = max([len("exercise"), *(len(one_line(e.name, 40)) for e in result.exercises)])
    pts = [f"{_points(e.score)}/{_points(e.max_score)}" for e in result.exercises]
    total = f"{_points(result.score)}/{_points(result.max_score)}"
    pts_w = max([len("points"), len(total), *(len(p) for p in pts)])
    status_w = len("timeout")

    lines = [f"{_paint('Graded', _BOLD, color)} {notebook}", ""]
    lines.append(f"  {'exercise':<{name_w}}  {'status':<{status_w}}  {'points':>{pts_w}}  reason")
    for ex, p in zip(result.exercises, pts, strict=True):
        status = _paint(f"{ex.status.value:<{status_w}}", _STYLE.get(ex.status, ""), color)
        reason = one_line(ex.reason, REASON_WIDTH) if ex.status is not Status.PASSED else ""
        row = f"  {one_line(ex.name, 40):<{name_w}}  {status}  {p:>{pts_w}}  {reason}"
        lines.append(row.rstrip())
    total_row = f"  {'total':<{name_w}}  {'':<{status_w}}  {total:>{pts_w}}"
    lines.append(_paint(total_row, _BOLD, color))

    failed = [ex for ex in result.exercises if ex.status is not Status.PASSED]
    if failed:
        lines += ["", "What to fix first:"]
        for ex in failed:
            top = ex.reason or ex.status.value
            if ex.diagnosis is not None:
                top = f"likely mistake: {ex.diagnosis.title}"
            lines.append(f"  {one_line(ex.name, 40)}: {one_line(top, 90)}")
            if ex.diagnosis is not None:
                for fix_line in strip_controls(ex.diagnosis.fix).splitlines()[:3]:
                    lines.append(f"      fix: {one_line(fix_line, 110)}")
    if report_path:
        lines += ["", f"Full report: {one_line(report_path, 300)}"]
    return "\n".join(lines) + "\n"
