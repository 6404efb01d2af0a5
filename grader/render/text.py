"""Text helpers shared by the renderers (and the judge's messages).

Everything here is a pure function of its arguments: no I/O, no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

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


def fmt_shape(shape: Sequence[int]) -> str:
    """(5, 1) style, with the trailing comma numpy prints for one axis: (5,)."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _name(size: int, dims: Mapping[str, int] | None) -> str | None:
    """The dimension name of ``size`` when exactly one dimension has that size."""
    if not dims:
        return None
    names = [k for k, v in dims.items() if v == size]
    return names[0] if len(names) == 1 else None


def _named(shape: Sequence[int], dims: Mapping[str, int] | None) -> str:
    names = [_name(n, dims) for n in shape]
    if not dims or None in names:
        return fmt_shape(shape)
    return fmt_shape(shape) + " = " + "(" + ", ".join(str(n) for n in names) + ")"


def explain_shape(
    expected: Sequence[int], got: Sequence[int], dims: Mapping[str, int] | None = None
) -> str | None:
    """What most likely explains getting ``got`` where ``expected`` was due; None if unsure.

    ``dims`` (e.g. {"n_x": 3, "n_a": 5, "m": 10}) lets the message name the axes when each
    size belongs to exactly one dimension.
    """
    exp, got = tuple(expected), tuple(got)
    if exp == got:
        return None
    e, g = _named(exp, dims), _named(got, dims)
    if len(exp) == 2 and exp[1] == 1 and got == exp[:1]:
        return (
            f"missing keepdims: got {g}, expected {e}; np.sum(..., axis=1) drops the summed "
            "axis, so write np.sum(..., axis=1, keepdims=True)"
        )
    if len(exp) == 2 and exp[1] == 1 and got == (exp[0], exp[0]) and exp[0] != 1:
        return (
            f"got {g}, expected {e}: adding an {fmt_shape(exp[:1])} array to an {fmt_shape(exp)} "
            "array broadcasts to a square; keep the bias gradient's (n, 1) shape with "
            "keepdims=True"
        )
    if len(exp) == 1 and got == (exp[0], 1):
        return f"an extra axis: got {g}, expected {e}; drop the keepdims=True or reshape"
    if got == () and exp:
        return (
            f"got a single number, expected an array of shape {e}; a sum without axis= adds up "
            "every entry: sum over the examples only (axis=1)"
        )
    if len(exp) == 3 and got == exp[:2]:
        return (
            f"missing the time axis: got {g}, expected {e}; allocate the whole sequence "
            "with np.zeros and store each step in [:, :, t]"
        )
    if sorted(exp) == sorted(got) and len(exp) == len(got):
        if len(exp) == 2:
            return (
                f"transposed: got {g}, expected {e}; check the order of the np.dot operands "
                "or a missing/extra .T"
            )
        swapped = [i for i in range(len(exp)) if exp[i] != got[i]]
        if len(swapped) == 2:
            i, j = swapped
            what = f"axes {i} and {j}"
            ni, nj = _name(exp[i], dims), _name(exp[j], dims)
            if ni and nj:
                what = f"{ni} and {nj}"
            return f"{what} are swapped: got {g}, expected {e}"
        return f"the axes are in another order: got {g}, expected {e}"
    if len(exp) == len(got):
        diff = [i for i in range(len(exp)) if exp[i] != got[i]]
        if len(diff) == 1 and dims:
            i = diff[0]
            extra = got[i] - exp[i]
            added, have = _name(extra, dims), _name(exp[i], dims)
            if added and have:
                return (
                    f"axis {i} is {got[i]} = {have} + {added}, expected {exp[i]} = {have}: the "
                    "whole concatenated matrix was used where only its block for one part was due"
                )
    return None
