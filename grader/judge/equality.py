"""Structural equality of decoded plain data: one function, the differences as explicit rules.

Everything compared here is plain data (``grader.wire.codec``): ndarrays, tuples, lists,
str-keyed dicts, scalars, ``Opaque`` and ``ForeignArray`` markers; or the grader's own values.
:func:`equal` walks ``want`` (the expected side) and compares ``got`` with it under
:class:`Rules`. The rules each caller uses:

* :data:`OUTPUTS` — the judge: a student's output against the expected output (arrays within
  the tolerances; a tuple is not a list; scalars exact and of the same type).
* :data:`UNCHANGED` — the judge: an argument after the call against before ("inputs not
  mutated": arrays bit for bit, NaN equal to NaN; tuple and list interchangeable; scalars ``==``).
* :data:`VALUES` — the judge: an output that is not an array (a number, nested data) against the
  expected one (floats within the tolerances; a numpy scalar compared as its value).
* :data:`DIAGNOSIS` — the diagnosis: a student's output against a mistake's or the reference's
  (arrays and floats within the tolerances; tuple and list interchangeable; a ``ForeignArray``
  compared as its array). ``grader.judge.diagnose`` adds its expected-exception rule
  (:meth:`Rules.with_special`).
* :data:`BITWISE` — the canary: an expected output against an input subtree (arrays of the same
  dtype, shape and bits, and dicts of them; nothing else is ever equal).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from grader.wire.codec import ForeignArray

#: A rule consulted before the others on every pair: True/False decides, None passes it on.
Special = Callable[[Any, Any], bool | None]


@dataclass(frozen=True)
class Rules:
    """How :func:`equal` compares; see the module docstring for who uses which."""

    #: ndarrays (``want`` one, ``got`` must be one of the same shape): "close" — every entry
    #: ``np.isclose`` within rtol/atol, NaN equal to NaN; "exact" — ``np.array_equal``
    arrays: Literal["close", "exact"]
    #: "close": the dtype kinds ``got`` may have (any other is never equal)
    kinds: str = ""
    #: "exact": NaN equals NaN
    nan_equal: bool = False
    #: "exact": the dtypes must be equal too
    same_dtype: bool = False
    #: tuples and lists: "typed" — a tuple equals only a tuple, a list only a list; "either" —
    #: interchangeable; "never" — no sequence is equal to anything. Items compare recursively.
    sequences: Literal["typed", "either", "never"] = "typed"
    #: anything else (numbers, str, None, ``Opaque``, ``ForeignArray``): "typed" — the same type
    #: and ``==``; "loose" — ``==`` alone; "never" — not equal
    scalars: Literal["typed", "loose", "never"] = "typed"
    #: a float ``want`` equals an int or float ``got`` (not a bool) within rtol/atol (NaN: NaN)
    close_floats: bool = False
    #: a ``ForeignArray`` ``got`` is compared as the plain array it carries
    unwrap_foreign: bool = False
    #: consulted first on every pair (``got``, ``want``), at every depth
    special: Special | None = None

    def with_special(self, special: Special) -> Rules:
        """These rules, with ``special`` consulted first."""
        return dataclasses.replace(self, special=special)


#: A student's output against the expected output (the judge's scored checks).
OUTPUTS = Rules(arrays="close", kinds="fiub", sequences="typed", scalars="typed")
#: An argument after the call against before: "inputs not mutated".
UNCHANGED = Rules(arrays="exact", nan_equal=True, sequences="either", scalars="loose")
#: A student's output that is not an array (a number, nested data) against the expected one:
#: numbers within the tolerances, a numpy scalar as its value, tuple and list not interchangeable.
VALUES = Rules(
    arrays="close",
    kinds="biuf",
    sequences="typed",
    scalars="typed",
    close_floats=True,
    unwrap_foreign=True,
)
#: A student's output against a catalogued mistake's or the reference's (the diagnosis).
DIAGNOSIS = Rules(
    arrays="close",
    kinds="biufc",
    sequences="either",
    scalars="typed",
    close_floats=True,
    unwrap_foreign=True,
)
#: An expected output against an input subtree (the canary passes such outputs through).
BITWISE = Rules(arrays="exact", same_dtype=True, sequences="never", scalars="never")


def equal(got: Any, want: Any, rules: Rules, rtol: float = 0.0, atol: float = 0.0) -> bool:
    """Whether ``got`` equals ``want`` under ``rules`` (rtol/atol: the "close" comparisons).

    Never raises on decoded plain data under the "close" rules; "exact" arrays are compared
    with ``np.array_equal``, and "loose" scalars with ``==``, whatever those do.
    """
    if rules.special is not None:
        decided = rules.special(got, want)
        if decided is not None:
            return decided
    if rules.unwrap_foreign and isinstance(got, ForeignArray):
        got = got.array
    if isinstance(want, np.ndarray):
        return isinstance(got, np.ndarray) and _arrays(got, want, rules, rtol, atol)
    if isinstance(want, (tuple, list)):
        if rules.sequences == "never":
            return False
        alike = (
            type(got) is type(want)
            if rules.sequences == "typed"
            else isinstance(got, (tuple, list))
        )
        return (
            alike
            and len(got) == len(want)
            and all(equal(g, w, rules, rtol, atol) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(equal(got[k], want[k], rules, rtol, atol) for k in want)
        )
    if (
        rules.close_floats
        and isinstance(want, float)
        and isinstance(got, (int, float))
        and not isinstance(got, bool)
    ):
        return math.isclose(got, want, rel_tol=rtol, abs_tol=atol) or (
            math.isnan(got) and math.isnan(want)
        )
    if rules.scalars == "never":
        return False
    if rules.scalars == "typed":
        return type(got) is type(want) and bool(got == want)
    return bool(got == want)


def _arrays(got: np.ndarray, want: np.ndarray, rules: Rules, rtol: float, atol: float) -> bool:
    if got.shape != want.shape:
        return False
    if rules.arrays == "close":
        return got.dtype.kind in rules.kinds and bool(
            np.all(np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True))
        )
    if rules.same_dtype and got.dtype != want.dtype:
        return False
    return bool(np.array_equal(got, want, equal_nan=rules.nan_equal))
