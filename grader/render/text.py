"""Text helpers shared by the renderers (and the judge's messages).

Everything here is a pure function of its arguments: no I/O, no state.
"""

from __future__ import annotations

import re

from grader.judge.shapes import explain_shape as explain_shape
from grader.judge.shapes import fmt_shape as fmt_shape

# ESC-introduced sequences: CSI (colours, cursor moves), OSC (titles, hyperlinks, clipboard
# writes), DCS/SOS/PM/APC strings, and two-byte escapes. Their C1 single-byte forms too.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                        # CSI ... final byte
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)  # OSC/DCS/SOS/PM/APC ... ST
  | \x1b[ -/]*[0-~]                                          # other escapes (charset, keypad)
    """,
    re.VERBOSE | re.DOTALL,
)
# Remaining C0/C1 controls (but not tab and newline), DEL, and bidirectional overrides that can
# make text display differently from what it is ("Trojan Source").
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (keeps \\n and \\t).

    ``\\r`` goes too: a carriage return lets a string overwrite what was printed before it.
    """
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str, limit: int = 100) -> str:
    """A single display line: controls stripped, whitespace collapsed, cut with an ellipsis."""
    # Cut generously before the regexes so a megabyte of output costs nothing.
    flat = " ".join(strip_controls(text[: 4 * limit + 1000]).split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)] + "…"


def truncate(text: str, limit: int) -> tuple[str, int]:
    """``text`` cut to ``limit`` characters, and how many characters were dropped."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit
