"""The score table printed after grading one notebook.

Student-provided strings (names, reasons built from their output, the notebook path) are stripped
of escape sequences and control characters: a string printed raw could recolour, rewrite or
hide lines of the terminal, set its title or write to its clipboard.

A console whose encoding cannot show the table (a Windows code page, ``PYTHONIOENCODING=ascii``,
output redirected to a file on Windows) gets it in ASCII (:func:`for_stream`): an ellipsis becomes
``...``, accents are dropped, anything else becomes ``?`` — never a ``UnicodeEncodeError``.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from typing import TextIO

from grader.core.models import GradeResult, Status
from grader.render.advice import fix_first, not_listed
from grader.render.text import one_line

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


#: ASCII for the non-ASCII characters the grader itself writes (check marks, dashes, arrows,
#: box drawing); student text falls back to NFKD without accents, then ``?``.
_ASCII = str.maketrans(
    {
        "\u2026": "...", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00b7": ".",
        "\u2713": "ok", "\u2714": "ok", "\u2717": "x", "\u2718": "x", "\u00d7": "x",
        "\u2260": "!=", "\u2264": "<=", "\u2265": ">=", "\u2192": "->", "\u2190": "<-",
        "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ",
        "\u2500": "-", "\u2502": "|", "\u250c": "+", "\u2510": "+", "\u2514": "+",
        "\u2518": "+", "\u251c": "+", "\u2524": "+", "\u252c": "+", "\u2534": "+",
        "\u253c": "+", "\u2550": "=", "\u2551": "|",
    }
)  # fmt: skip


def to_ascii(text: str) -> str:
    """``text`` in ASCII: known symbols spelled out, accents dropped, the rest ``?``."""
    text = unicodedata.normalize("NFKD", text.translate(_ASCII))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.encode("ascii", "replace").decode("ascii")


def for_stream(text: str, stream: TextIO) -> str:
    """``text`` unchanged when ``stream``'s encoding can write all of it, else :func:`to_ascii`."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return to_ascii(text)
    return text


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal; NO_COLOR (no-color.org) turns it off, FORCE_COLOR on."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False
    return tty and _ansi_console(stream)


def _ansi_console(stream: TextIO) -> bool:
    """Whether the terminal interprets colour codes. A Windows console does only once asked
    (``ENABLE_VIRTUAL_TERMINAL_PROCESSING``, Windows 10+); elsewhere a terminal always does."""
    if sys.platform != "win32":  # a platform API, not a capability
        return True
    try:
        import ctypes
        import msvcrt

        handle = msvcrt.get_osfhandle(stream.fileno())
        k32 = ctypes.WinDLL("kernel32", use_last_error=True)
        mode = ctypes.c_uint32()
        if not k32.GetConsoleMode(ctypes.c_void_p(handle), ctypes.byref(mode)):
            return False
        return bool(k32.SetConsoleMode(ctypes.c_void_p(handle), mode.value | 0x0004))
    except (OSError, ValueError, AttributeError):
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

    first = fix_first(result.exercises)
    if first:
        lines += ["", "What to fix first:"]
        for item in first:
            lines.append(f"  {one_line(item.name, 40)}: {one_line(item.message, 110)}")
            for fix_line in item.fix[:3]:
                lines.append(f"      fix: {one_line(fix_line, 110)}")
        more = not_listed(result.exercises)
        if more:
            lines.append(
                f"  (and {more} more exercise{'s that do' if more != 1 else ' that does'} "
                "not pass yet: "
                "see the table and the report)"
            )
    if report_path:
        lines += ["", f"Full report: {one_line(report_path, 300)}"]
    return "\n".join(lines) + "\n"
