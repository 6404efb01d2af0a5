"""Recognise known mistakes by their outputs on the golden cases.

The catalogue of mistakes lives in ``solutions/mistakes.py`` (modified copies of the reference,
which must not ship). At golden-build time ``write_variants`` runs each one on the golden inputs
and stores texts and outputs as data next to the golden files::

    variants.json   {"format": 1, "mistakes": [{id, exercise, title, explanation, fix,
                     cases: {case_id: {"differs": bool, "tree": plain tree | null,
                                       "raised": {"type", "message"} | null}}}]}
    variants.npz    the arrays of every tree, keyed ``<mistake_id>/<case_id>/<i>``; an array equal
                    to one already stored is written once and listed in the JSON's "aliases"
                    (key -> stored key): variants share parameters, inputs and most outputs

``diagnose`` then names a mistake when the student's outputs equal one variant's on every case
compared. It is deliberately strict: a wrong hint is worse than none.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grader import plain
from grader.errors import GoldenError
from grader.models import Diagnosis, ErrorInfo

if TYPE_CHECKING:
    from grader.golden import Case

FORMAT = 1
JSON_NAME = "variants.json"
NPZ_NAME = "variants.npz"
#: the largest case adds megabytes of data and no discriminating power
SKIPPED_CASES = frozenset({"large"})


@dataclass(frozen=True)
class Raised:
    """A call that raised instead of returning (what a variant, or the student, did on a case)."""

    type: str
    message: str


@dataclass(frozen=True)
class Variant:
    id: str
    exercise: str
    title: str
    explanation: str
    fix: str
    #: case id -> the variant's output (plain data) or ``Raised``
    outputs: Mapping[str, Any] = field(repr=False)
    #: case ids on which the variant's output differs from the reference's
    differs: frozenset[str] = frozenset()

    def diagnosis(self) -> Diagnosis:
        return Diagnosis(id=self.id, title=self.title, explanation=self.explanation, fix=self.fix)


@dataclass(frozen=True)
class Catalogue:
    variants: tuple[Variant, ...] = ()

    def for_exercise(self, exercise: str) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.exercise == exercise)

    def __len__(self) -> int:
        return len(self.variants)


# ---------------------------------------------------------------------------------------------
# Build time (needs solutions/)


def write_variants(out: Path, cases: Sequence[Case], *, rtol: float, atol: float) -> None:
    """Run every catalogued mistake on its exercise's golden cases; write the two files to ``out``.

    A case *differs* when the variant's output is not the reference's within the grading tolerance
    (``rtol``/``atol``): the expected outputs were computed independently, possibly by another
    numpy, BLAS or CPU, so bit equality would make the catalogue depend on the machine.

    Raises ``GoldenError`` for a mistake whose outputs equal the reference on every case (it would
    be diagnosed on correct code) or whose id is not unique.
    """
    from grader.golden import _write_npz
    from solutions.mistakes import MISTAKES

    by_exercise: dict[str, list[Case]] = {}
    for case in cases:
        if case.id not in SKIPPED_CASES:
            by_exercise.setdefault(case.exercise, []).append(case)
    entries: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    aliases: dict[str, str] = {}
    stored_by_content: dict[bytes, str] = {}
    seen: set[str] = set()
    for mistake in MISTAKES:
        if mistake.id in seen:
            raise GoldenError(f"mistake id {mistake.id!r} appears twice in solutions/mistakes.py")
        seen.add(mistake.id)
        if mistake.exercise not in by_exercise:
            continue  # a partial build (tests, one exercise): nothing to run it on
        stored: dict[str, Any] = {}
        for case in by_exercise[mistake.exercise]:
            # Fresh copies: a variant that mutates its inputs must not spoil the next run.
            result = _run(mistake.run, copy.deepcopy(case.args))
            if isinstance(result, Raised):
                stored[case.id] = {"differs": True, "tree": None, "raised": vars(result)}
                continue
            tree, arrs = plain.encode(result)
            for i, arr in enumerate(arrs):
                key = f"{mistake.id}/{case.id}/{i}"
                digest = _digest(arr)
                if digest in stored_by_content:
                    aliases[key] = stored_by_content[digest]
                else:
                    stored_by_content[digest] = key
                    arrays[key] = arr
            same = _same(result, case.expected, rtol, atol)
            stored[case.id] = {"differs": not same, "tree": tree, "raised": None}
        if not any(c["differs"] for c in stored.values()):
            raise GoldenError(
                f"mistake {mistake.id!r} gives the reference's outputs on every golden case: "
                "it would be diagnosed on correct code; change the variant or the cases"
            )
        entries.append(
            {
                "id": mistake.id,
                "exercise": mistake.exercise,
                "title": mistake.title,
                "explanation": mistake.explanation,
                "fix": mistake.fix,
                "cases": stored,
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    _write_npz(out / NPZ_NAME, arrays)
    # indent=0: one value per line keeps diffs of the regenerated file readable, without the bulk
    doc = {"format": FORMAT, "mistakes": entries, "aliases": aliases}
    text = json.dumps(doc, indent=0, sort_keys=True)
    tmp = out / (JSON_NAME + ".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(out / JSON_NAME)


def _digest(arr: np.ndarray) -> bytes:
    import hashlib

    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.digest()


def _run(fn: Any, args: tuple[Any, ...]) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # a variant may raise like student code does
        return Raised(type(exc).__name__, str(exc))


# ---------------------------------------------------------------------------------------------
# Grading time (shipped)


def load_catalogue(golden_dir: Path) -> Catalogue:
    """The catalogue stored next to a golden set; empty when it has none (built without it).

    Raises ``GoldenError`` when the files exist but are unreadable or inconsistent.
    """
    json_path, npz_path = golden_dir / JSON_NAME, golden_dir / NPZ_NAME
    if not json_path.is_file() or not npz_path.is_file():
        return Catalogue()
    from grader.golden import _count_arrays

    try:
        data = json.loads(json_path.read_text())
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        aliases = data.get("aliases", {})
        if not isinstance(aliases, dict):
            raise ValueError("aliases is not a mapping")

        def array(key: str) -> np.ndarray:
            return arrays[aliases.get(key, key)]

        variants = []
        for e in data["mistakes"]:
            outputs: dict[str, Any] = {}
            differs = set()
            for cid, c in e["cases"].items():
                if c.get("raised") is not None:
                    outputs[cid] = Raised(str(c["raised"]["type"]), str(c["raised"]["message"]))
                else:
                    prefix = f"{e['id']}/{cid}/"
                    count = _count_arrays(c["tree"])
                    outputs[cid] = plain.decode(
                        c["tree"], [array(prefix + str(i)) for i in range(count)]
                    )
                if c["differs"]:
                    differs.add(cid)
            variants.append(
                Variant(
                    id=str(e["id"]), exercise=str(e["exercise"]), title=str(e["title"]),
                    explanation=str(e["explanation"]), fix=str(e["fix"]),
                    outputs=outputs, differs=frozenset(differs),
                )
            )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError, plain.DecodeError) as exc:
        raise GoldenError(
            f"{golden_dir}: mistake catalogue ({JSON_NAME}, {NPZ_NAME}) is unreadable ({exc}); "
            "rebuild the golden data"
        ) from exc
    return Catalogue(tuple(variants))


def diagnose(
    exercise: str,
    outputs: Mapping[str, Any],
    catalogue: Catalogue,
    rtol: float,
    atol: float,
    expected: Mapping[str, Any] | None = None,
) -> Diagnosis | None:
    """The known mistake explaining ``outputs`` (case id -> the student's decoded output), if any.

    With ``expected`` (case id -> the reference output), a variant also explains a case when every
    top-level output that differs from the reference equals the variant's (the student made the
    mistake in one line of several: ``dbf`` without keepdims but ``dbi`` right). Every difference
    must still be explained, so two unrelated mistakes give no hint.

    A case where the student's call raised may be given as ``Raised`` or as an ``ErrorInfo`` of
    kind "exception". A variant matches when it agrees with the student on every case both have
    and at least one of those cases tells it apart from the reference. Several matches: the one
    agreeing on more telling cases wins; a tie gives None. Never raises.
    """
    try:
        best: list[tuple[tuple[int, int], Variant]] = []
        for variant in catalogue.for_exercise(exercise):
            shared = [cid for cid in variant.outputs if cid in outputs]
            telling = sum(1 for cid in shared if cid in variant.differs)
            if telling == 0:
                continue
            ref = expected or {}
            if all(
                _explains(outputs[cid], variant.outputs[cid], ref.get(cid), rtol, atol)
                for cid in shared
            ):
                # A variant that reproduces the outputs exactly beats one that explains them
                # only partly (dc_prev alone vs every gradient downstream of dc).
                exact = sum(
                    1 for cid in shared if _same(outputs[cid], variant.outputs[cid], rtol, atol)
                )
                best.append(((exact, telling), variant))
        if not best:
            return None
        best.sort(key=lambda tv: (-tv[0][0], -tv[0][1]))
        if len(best) > 1 and best[0][0] == best[1][0]:
            return None
        return best[0][1].diagnosis()
    except Exception:  # a hint must never break grading
        return None


def _explains(got: Any, want: Any, ref: Any, rtol: float, atol: float) -> bool:
    """``got`` equals the variant, or differs from the reference only where the variant does."""
    if _same(got, want, rtol, atol):
        return True
    if ref is None or isinstance(want, Raised):
        return False
    if isinstance(ref, dict) and isinstance(got, dict) and isinstance(want, dict):
        if set(got) != set(ref) or set(want) != set(ref):
            return False
        keys: list[Any] = list(ref)
    elif (
        isinstance(ref, (tuple, list))
        and isinstance(got, (tuple, list))
        and isinstance(want, (tuple, list))
        and len(got) == len(ref) == len(want)
    ):
        keys = list(range(len(ref)))
    else:
        return False
    diffs = [k for k in keys if not _same(got[k], ref[k], rtol, atol)]
    return bool(diffs) and all(_same(got[k], want[k], rtol, atol) for k in diffs)


def _same(got: Any, want: Any, rtol: float, atol: float) -> bool:
    """Structural equality with allclose for arrays (tuple and list count as the same)."""
    if isinstance(want, Raised):
        return _same_error(got, want)
    if isinstance(got, plain.ForeignArray):
        got = got.array
    if isinstance(want, np.ndarray):
        if not isinstance(got, np.ndarray) or got.shape != want.shape:
            return False
        if got.dtype.kind not in "biufc":
            return False
        return bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(want, (tuple, list)):
        return (
            isinstance(got, (tuple, list))
            and len(got) == len(want)
            and all(_same(g, w, rtol, atol) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(_same(got[k], want[k], rtol, atol) for k in want)
        )
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return math.isclose(got, want, rel_tol=rtol, abs_tol=atol) or (
            math.isnan(got) and math.isnan(want)
        )
    return type(got) is type(want) and bool(got == want)


def _same_error(got: Any, want: Raised) -> bool:
    if isinstance(got, ErrorInfo):
        if got.kind != "exception":
            return False
        got = Raised(got.type, got.message)
    if not isinstance(got, Raised):
        return False
    # The judge may qualify the type ("builtins.ValueError") or prefix the message.
    same_type = got.type.rsplit(".", 1)[-1] == want.type
    return same_type and bool(want.message) and want.message in got.message
