"""Shapes in messages: how a shape reads, and what most likely explains a wrong one.

Pure functions of their arguments, shared by the judge's messages and the renderers
(``grader.render.text`` passes them on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


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
