"""Array checks in the grader's own process (numpy.testing-style explanations).

Structural equality (tuples, dicts, scalars) is ``grader.judge.equality``.

Everything compared here came back through ``grader.wire.codec.unpack``: plain ndarrays, tuples, lists,
str-keyed dicts, ``Opaque`` and ``ForeignArray`` markers — never a student object.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from grader.core.models import CheckResult, Mismatch
from grader.judge.shapes import explain_shape
from grader.wire.codec import ForeignArray, Opaque

GRID_MAX = 24
FIRST_MAX = 5


def type_name(value: Any, hidden: bool = False) -> str:
    """How a decoded value reads in a message. ``hidden``: on a hidden case, nothing the
    student's code chose (a repr, dict keys, a class name) is quoted: it could carry the
    case's input values out."""
    if isinstance(value, ForeignArray):
        kind = "an ndarray subclass" if hidden else f"a {value.type}"
        return f"{kind} (not a plain numpy.ndarray)"
    if isinstance(value, Opaque):
        return "an object of another type" if hidden else f"a {value.type} object"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, dict):
        return (
            f"a dict of {len(value)} keys" if hidden else f"a dict with keys {sorted(value)[:12]}"
        )
    return f"a {type(value).__name__}" if hidden else f"a {type(value).__name__} ({value!r:.60})"


def _fmt(x: float) -> str:
    return f"{x:.8g}"


def _mismatch(
    got: np.ndarray, exp: np.ndarray, bad: np.ndarray, rtol: float, atol: float, hidden: bool
) -> Mismatch:
    idx = np.argwhere(bad)
    first: tuple[tuple[tuple[int, ...], float, float], ...] = ()
    max_abs = max_rel = None
    if not hidden:
        first = tuple(
            (tuple(int(i) for i in ix), float(exp[tuple(ix)]), float(got[tuple(ix)]))
            for ix in idx[:FIRST_MAX]
        )
        with np.errstate(all="ignore"):
            diff = np.abs(got - exp)
            finite = np.isfinite(diff)
            max_abs = float(np.max(diff[finite])) if finite.any() else float("inf")
            rel = diff / np.abs(exp)
            rel_ok = np.isfinite(rel) & bad
            max_rel = float(np.max(rel[rel_ok])) if rel_ok.any() else None
    grid: tuple[tuple[bool, ...], ...] = ()
    label = ""
    if bad.ndim == 1:
        grid, label = (tuple(bool(b) for b in bad[:GRID_MAX]),), "[:]"
    elif bad.ndim >= 2:
        lead = tuple(int(i) for i in idx[0][2:]) if len(idx) else ()
        full: Any = bad  # numpy's stubs reject a tuple of slices and ints as an index
        plane = full[(slice(None), slice(None), *lead)]
        grid = tuple(tuple(bool(b) for b in row[:GRID_MAX]) for row in plane[:GRID_MAX])
        label = "[:, :" + "".join(f", {i}" for i in lead) + "]"
    return Mismatch(
        count=int(bad.sum()),
        total=int(bad.size),
        rtol=rtol,
        atol=atol,
        first=first,
        max_abs=max_abs,
        max_rel=max_rel,
        grid=grid,
        grid_label=label,
    )


def check_array(
    label: str,
    got: Any,
    exp: np.ndarray,
    *,
    case: str,
    hidden: bool,
    where: str,
    rtol: float,
    atol: float,
) -> Iterator[CheckResult]:
    """Type, shape, dtype, finiteness, values — stopping at the first that fails."""

    def result(kind: str, name: str, ok: bool, msg: str = "", **kw: Any) -> CheckResult:
        return CheckResult(name, ok, msg, kind=kind, case=case, hidden=hidden, **kw)

    if not isinstance(got, np.ndarray):
        yield result(
            "type",
            f"type of {label}",
            False,
            f"{label} is {type_name(got, hidden)}; expected a numpy array of shape {exp.shape}{where}",
        )
        return
    yield result("type", f"type of {label}", True)
    if got.shape != exp.shape:
        why = explain_shape(exp.shape, got.shape)
        msg = f"{label} has shape {got.shape}; expected {exp.shape}{where}" + (
            f" ({why})" if why else ""
        )
        yield result(
            "shape", f"shape of {label}", False, msg, expected_shape=exp.shape, got_shape=got.shape
        )
        return
    yield result("shape", f"shape of {label}", True, expected_shape=exp.shape, got_shape=got.shape)
    if got.dtype != exp.dtype:
        yield result(
            "dtype",
            f"dtype of {label}",
            False,
            f"{label} has dtype {got.dtype}; expected {exp.dtype}{where} "
            "(create arrays with np.zeros(shape) and do not cast)",
        )
        return
    yield result("dtype", f"dtype of {label}", True)
    nonfinite = ~np.isfinite(got) & np.isfinite(exp)
    if nonfinite.any():
        first = tuple(int(i) for i in np.argwhere(nonfinite)[0])
        yield result(
            "finite",
            f"{label} is finite",
            False,
            f"{label} has {int(nonfinite.sum())} NaN/inf entries where finite values are "
            f"expected{where}, first at {list(first)} (look for overflow in exp or a division)",
        )
        return
    yield result("finite", f"{label} is finite", True)
    with np.errstate(all="ignore"):
        bad = ~np.isclose(got, exp, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        yield result("value", f"values of {label}", True)
        return
    mm = _mismatch(got, exp, bad, rtol, atol, hidden)
    msg = (
        f"{label} differs in {mm.count} of {mm.total} entries{where} (rtol={rtol:g}, atol={atol:g})"
    )
    if mm.first:
        ix, e, g = mm.first[0]
        msg += f"; first at {list(ix)}: expected {_fmt(e)}, got {_fmt(g)}"
        if mm.max_abs is not None:
            msg += f"; max abs diff {_fmt(mm.max_abs)}"
    yield result("value", f"values of {label}", False, msg, mismatch=mm)
