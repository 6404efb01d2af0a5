"""Judge: turn what the sandbox sent back into checks, a status and a score for each exercise."""

from __future__ import annotations

import builtins
import dataclasses
import re
import signal
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from grader.assignment.golden import Case
from grader.assignment.spec import ExerciseSpec
from grader.core.config import Limits
from grader.core.models import CheckResult, Diagnosis, ErrorInfo, ExerciseResult, Status
from grader.judge.compare import check_array, type_name
from grader.judge.dispatch import RawOutcome
from grader.judge.equality import OUTPUTS, UNCHANGED, VALUES, equal
from grader.stages.extract import Extracted


def _where(case: Case) -> str:
    return "" if not case.hidden else f" on {case.describe()}"


# --------------------------------------------------------------------------------------------
# Structure checks


def _check_cache(
    prefix: str,
    got: Any,
    exp: tuple[Any, ...],
    fields: Sequence[str],
    case: Case,
    rtol: float,
    atol: float,
    passed_in: Collection[str] = (),
) -> Iterator[CheckResult]:
    """A single-step cache: a tuple with every element in its place; a field named like one of
    the exercise's arguments (``passed_in``, e.g. a parameters dict) must be that argument."""
    where = _where(case)
    base: dict[str, Any] = {"case": case.id, "hidden": case.hidden, "kind": "cache"}
    order = ", ".join(fields)
    if not isinstance(got, tuple) or len(got) != len(exp):
        yield CheckResult(
            f"{prefix} structure",
            False,
            f"{prefix} is {type_name(got, case.hidden)}; expected a tuple of {len(exp)}: ({order}){where}",
            **base,
        )
        return
    yield CheckResult(f"{prefix} structure", True, **base)
    for i, (name, g, e) in enumerate(zip(fields, got, exp, strict=True)):
        label = f"{prefix}[{i}] is {name}"
        if equal(g, e, OUTPUTS, rtol, atol):
            yield CheckResult(label, True, **base)
            continue
        holds = [
            fields[j]
            for j, other in enumerate(exp)
            if j != i and equal(g, other, OUTPUTS, rtol, atol)
        ]
        if holds:
            msg = f"{prefix}[{i}] holds {holds[0]}; expected {name} (the order is ({order})){where}"
        elif name in passed_in:
            kind = "dict" if isinstance(e, dict) else "argument"
            msg = f"{prefix}[{i}] should be the {name} {kind} passed in, got {type_name(g, case.hidden)}{where}"
        elif isinstance(g, np.ndarray) and isinstance(e, np.ndarray) and g.shape != e.shape:
            msg = f"{prefix}[{i}] ({name}) has shape {g.shape}; expected {e.shape}{where}"
        else:
            msg = f"{prefix}[{i}] ({name}) does not hold the expected values{where}"
        yield CheckResult(label, False, msg, **base)


def _check_caches(
    got: Any,
    exp: tuple[Any, ...],
    fields: Sequence[str],
    case: Case,
    rtol: float,
    atol: float,
    passed_in: Collection[str] = (),
) -> Iterator[CheckResult]:
    """``caches = (list of T_x cell caches, x)``."""
    where = _where(case)
    base: dict[str, Any] = {"case": case.id, "hidden": case.hidden, "kind": "cache"}
    steps, x = exp
    if not isinstance(got, tuple) or len(got) != 2:
        yield CheckResult(
            "caches structure",
            False,
            f"caches is {type_name(got, case.hidden)}; expected a tuple (list of caches, x){where}",
            **base,
        )
        return
    got_steps, got_x = got
    if not isinstance(got_steps, (list, tuple)) or len(got_steps) != len(steps):
        yield CheckResult(
            "caches structure",
            False,
            f"caches[0] is {type_name(got_steps, case.hidden)}; expected a list of {len(steps)} "
            f"caches, one per time step{where}",
            **base,
        )
        return
    yield CheckResult("caches structure", True, **base)
    yield CheckResult(
        "caches[1] is x",
        equal(got_x, x, OUTPUTS, rtol, atol),
        "" if equal(got_x, x, OUTPUTS, rtol, atol) else f"caches[1] should be the input x{where}",
        **base,
    )
    for t, (g, e) in enumerate(zip(got_steps, steps, strict=True)):
        failed = [
            c
            for c in _check_cache(f"caches[0][{t}]", g, e, fields, case, rtol, atol, passed_in)
            if not c.passed
        ]
        if failed:
            bad_steps = sum(
                1
                for gg, ee in zip(got_steps, steps, strict=True)
                if not equal(gg, ee, OUTPUTS, rtol, atol)
            )
            first = failed[0]
            yield CheckResult(
                "caches[0][t] for every time step",
                False,
                f"{first.message} (time step {t}; {bad_steps} of {len(steps)} steps differ)",
                **base,
            )
            return
    yield CheckResult("caches[0][t] for every time step", True, **base)


def _check_item(
    label: str, got: Any, want: Any, case: Case, where: str, rtol: float, atol: float
) -> Iterator[CheckResult]:
    """One output: an array's type, shape, dtype and values; anything else (a number, a string,
    nested data) equal within the tolerances. Hidden cases never show the expected value."""
    if isinstance(want, np.ndarray):
        yield from check_array(
            label, got, want, case=case.id, hidden=case.hidden, where=where, rtol=rtol, atol=atol
        )
        return
    ok = equal(got, want, VALUES, rtol, atol)
    shown = "" if case.hidden else f": expected {want!r}"[:200]
    yield CheckResult(
        f"value of {label}",
        ok,
        "" if ok else f"{label} is {type_name(got, case.hidden)} with another value{shown}{where}",
        kind="value",
        case=case.id,
        hidden=case.hidden,
    )


def _check_output(
    spec: ExerciseSpec, case: Case, out: Any, rtol: float, atol: float
) -> Iterator[CheckResult]:
    where = _where(case)
    exp = case.expected
    if spec.returns == "value":  # one output, returned bare
        yield from _check_item(spec.outputs[0], out, exp, case, where, rtol, atol)
        return
    if spec.returns_dict:
        if not isinstance(out, dict):
            yield CheckResult(
                "returns a dict of gradients",
                False,
                f"{spec.name} returned {type_name(out, case.hidden)}; expected a dict with keys "
                f"{', '.join(spec.outputs)}{where}",
                kind="keys",
                case=case.id,
                hidden=case.hidden,
            )
            return
        missing = [k for k in spec.outputs if k not in out]
        yield CheckResult(
            "keys of gradients",
            not missing,
            f"gradients has no key {', '.join(repr(k) for k in missing)} "
            f"({type_name(out, case.hidden)[2:]}){where}"
            if missing
            else "",
            kind="keys",
            case=case.id,
            hidden=case.hidden,
        )
        for key in spec.outputs:
            if key in out:
                yield from _check_item(key, out[key], exp[key], case, where, rtol, atol)
        return
    n = len(spec.outputs)
    if not isinstance(out, (tuple, list)) or len(out) != n:
        yield CheckResult(
            f"returns a tuple of {n}",
            False,
            f"{spec.name} returned {type_name(out, case.hidden)}; expected a tuple of {n}: "
            f"({', '.join(spec.outputs)}){where}",
            kind="signature",
            case=case.id,
            hidden=case.hidden,
        )
        return
    yield CheckResult(
        f"returns a tuple of {n}", True, kind="signature", case=case.id, hidden=case.hidden
    )
    k = n - 1 if spec.cache else n  # a cache, when declared, is the last element
    for name, got, want in zip(spec.outputs[:k], out[:k], exp[:k], strict=True):
        yield from _check_item(name, got, want, case, where, rtol, atol)
    if spec.cache == "sequence":
        yield from _check_caches(out[-1], exp[-1], spec.cache_fields, case, rtol, atol, spec.args)
    elif spec.cache == "step":
        yield from _check_cache(
            "cache", out[-1], exp[-1], spec.cache_fields, case, rtol, atol, spec.args
        )


def _check_inputs(spec: ExerciseSpec, case: Case, after: Any) -> CheckResult:
    base: dict[str, Any] = {"kind": "mutation", "case": case.id, "hidden": case.hidden}
    if not isinstance(after, tuple) or len(after) != len(case.args):
        return CheckResult("inputs not mutated", True, **base)  # nothing comparable came back
    changed = [
        n for n, a, b in zip(spec.args, after, case.args, strict=True) if not equal(a, b, UNCHANGED)
    ]
    if changed:
        return CheckResult(
            "inputs not mutated",
            False,
            f"{spec.name} modified its input(s) {', '.join(changed)} in place{_where(case)} "
            "(copy before writing, e.g. a = a_prev.copy())",
            **base,
        )
    return CheckResult("inputs not mutated", True, **base)


# --------------------------------------------------------------------------------------------
# Errors and limits


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _end_error(raw: RawOutcome, case: Case | None, limits: Limits) -> tuple[Status, ErrorInfo]:
    """The process ended without a result for ``case``: say why, with the limit."""
    end = raw.end
    at = f" while running {case.describe()}" if case else " while loading your code"
    cid = case.id if case else None
    if end.get("timeout"):
        return Status.TIMEOUT, ErrorInfo(
            "timeout",
            f"no result after {limits.call_timeout:g} s{at} (an endless loop or sleep?)",
            limit=f"{limits.call_timeout:g} s per call",
            case=cid,
        )
    if end.get("overflow"):
        return Status.ERROR, ErrorInfo(
            "output",
            f"the result was larger than {limits.result_bytes >> 20} MiB{at}",
            limit=f"{limits.result_bytes >> 20} MiB per result",
            case=cid,
        )
    sig = end.get("signal")
    if isinstance(sig, int):
        if sig == getattr(signal, "SIGXCPU", None):  # POSIX only, like the signal deaths
            return Status.TIMEOUT, ErrorInfo(
                "timeout",
                f"CPU time limit exceeded{at}",
                limit="CPU seconds per exercise",
                case=cid,
            )
        if (
            sig == getattr(signal, "SIGKILL", None)
            and case is not None
            and end.get("frames", 0) > 0
        ):
            return Status.ERROR, ErrorInfo(
                "crash",
                f"the process was killed{at} (out of memory, or it killed itself)",
                limit=f"{limits.memory_bytes >> 20} MiB memory",
                case=cid,
            )
        return Status.ERROR, ErrorInfo(
            "crash", f"the process died from {_signal_name(sig)}{at}", case=cid
        )
    code = end.get("exit")
    if isinstance(code, int):
        return Status.ERROR, ErrorInfo(
            "crash",
            f"the process exited with code {code}{at} (os._exit or a fatal error)",
            case=cid,
        )
    crash = end.get("crash")
    return Status.ERROR, ErrorInfo(
        "crash", f"{crash or 'the judge process ended unexpectedly'}{at}", case=cid
    )


#: exception classes a hidden case's error may be named by (others are the notebook's own)
_BUILTIN_ERRORS = frozenset(
    n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)
)
#: a traceback entry of the runner's in one of the notebook's cells
_CELL_FRAME = re.compile(r"(cell \d+, line \d+), in ")


def located(err: ErrorInfo) -> str:
    """The error's message and where in the notebook it was raised: the innermost frame in a
    cell ("KeyError: 'Wxa' (at cell 4, line 20)"); the message alone when none is."""
    where = next((m for m in map(_CELL_FRAME.match, reversed(err.traceback)) if m), None)
    return err.message if where is None else f"{err.message} (at {where.group(1)})"


def _exception_info(frame: Mapping[str, Any], case: Case) -> ErrorInfo:
    tb = frame.get("traceback")
    lines = tuple(str(x)[:500] for x in tb[:20]) if isinstance(tb, list) else ()
    etype = str(frame.get("type", "Exception"))[:200]
    message = str(frame.get("message", ""))[:2000]
    if case.hidden:
        # The message (and a class the notebook made) is the student's text: it could carry the
        # hidden case's input values out. The type, when a builtin one, and where remain.
        etype = etype if etype.rsplit(".", 1)[-1] in _BUILTIN_ERRORS else "an exception"
        message = "its message is not shown on hidden cases"
    if etype in ("SystemExit", "KeyboardInterrupt"):
        message = f"{etype} ({message or 'no message'}): the function tried to stop the program"
    return ErrorInfo(
        "exception",
        f"{etype}: {message}" if message else etype,
        type=etype,
        traceback=lines,
        case=case.id,
    )


# --------------------------------------------------------------------------------------------
# The exercise verdict


def judge_exercise(
    spec: ExerciseSpec,
    cases: Sequence[Case],
    extracted: Extracted,
    raw: RawOutcome | None,
    *,
    points: float,
    rtol: float,
    atol: float,
    limits: Limits,
    failing: Mapping[str, Status] | None = None,
    catalogue: Callable[[], Any] | None = None,
) -> ExerciseResult:
    """Status, score and checks for one exercise. ``failing``: verdicts of the exercises it calls.

    ``catalogue`` loads the diagnosis catalogue; it is called only when the exercise fails.

    ``cases`` are the scored cases; the runner's frames for probe cases (``diagnose.PROBE_PREFIX``)
    only feed the diagnosis.
    """
    from grader.judge.diagnose import compose_hint, source_facts

    facts = source_facts(extracted) if not extracted.missing else None
    reads = facts.read_names() if facts is not None else frozenset()
    calls_helpers = facts is not None and any(r.kind == "function" for r in facts.reads)
    blocked_by = tuple(
        dep
        for dep in spec.calls
        if failing
        and failing.get(dep, Status.PASSED) is not Status.PASSED
        # it does call it (directly, or perhaps through a helper of its own)
        and (not reads or dep in reads or calls_helpers)
    )

    def result(
        status: Status,
        checks: Sequence[CheckResult] = (),
        reason: str = "",
        error: ErrorInfo | None = None,
        diagnosis: Diagnosis | None = None,
        finding: Diagnosis | None = None,
    ) -> ExerciseResult:
        blocked = blocked_by if status is not Status.PASSED else ()
        hint = compose_hint(spec.name, blocked, diagnosis or finding)
        if extracted.shadowed and status is not Status.MISSING:
            # the student's latest attempt never ran: say so before anything about the old one
            hint = extracted.shadowed[0] + (f"; {hint}" if hint else "")
        return ExerciseResult(
            spec.name,
            status,
            points if status is Status.PASSED else 0.0,
            points,
            tuple(checks),
            hint=hint,
            reason=reason,
            diagnosis=diagnosis,
            error=error,
            cell=extracted.cell,
            duration=float(raw.end.get("elapsed", 0.0)) if raw else 0.0,
            finding=finding,
            blocked_by=blocked,
        )

    if extracted.missing or raw is None:
        why = f" ({extracted.problems[0]})" if extracted.problems else ""
        todo = "" if why else f"; define def {spec.name}({', '.join(spec.args)}) in a code cell"
        return result(
            Status.MISSING, reason=f"{spec.name} is not defined in the notebook{why}{todo}"
        )
    if raw.malformed:
        err = ErrorInfo(
            "malformed", f"the judge received data that is not plain data: {raw.malformed}"
        )
        return result(Status.ERROR, reason=err.message, error=err)
    if raw.state == "undefined":
        setup = raw.setup_errors[-1] if raw.setup_errors else None
        if setup:
            where = f"cell {int(setup.get('cell', 0)) + 1}"
            err = ErrorInfo(
                "exception",
                f"defining {spec.name} failed in {where}: "
                f"{setup.get('type')}: {setup.get('message')}",
                type=str(setup.get("type")),
                traceback=tuple(map(str, setup.get("traceback") or ())),
            )
        else:
            at = (
                f" (its last definition is in cell {extracted.cell + 1})"
                if extracted.cell is not None
                else ""
            )
            err = ErrorInfo(
                "exception",
                f"{spec.name} is {raw.undefined_type or 'not a function'} "
                f"after running its cells{at}; expected a function",
            )
        return result(Status.ERROR, reason=err.message, error=err)
    if raw.state == "lost":
        status, err = _end_error(raw, None, limits)
        return result(status, reason=err.message, error=err)

    checks: list[CheckResult] = []
    first_error: tuple[Status, ErrorInfo] | None = None
    outputs: dict[str, Any] = {}
    for case in cases:
        frame = raw.cases.get(case.id)
        if frame is None:  # the process ended during this case; later cases never ran
            status, err = _end_error(raw, case, limits)
            checks.append(
                CheckResult(
                    "call", False, err.message, kind="limit", case=case.id, hidden=case.hidden
                )
            )
            first_error = first_error or (status, err)
            break
        st = frame.get("status")
        if st == "ok":
            outputs[case.id] = frame.get("output")
            checks.extend(_check_output(spec, case, frame.get("output"), rtol, atol))
            checks.append(_check_inputs(spec, case, frame.get("inputs_after")))
            continue
        if st == "raised":
            err = _exception_info(frame, case)
        elif st == "signature":
            err = ErrorInfo(
                "exception",
                f"{spec.name} cannot be called as {spec.name}"
                f"({', '.join(spec.args)}): {frame.get('message', '')}",
                type="TypeError",
                case=case.id,
            )
        else:
            err = ErrorInfo(
                "malformed", str(frame.get("message", "the result could not be read")), case=case.id
            )
        if err.kind == "exception":
            # A raising variant of the catalogue can match it: by the real message, which a
            # hidden case's shown error leaves out (only the diagnosis's title is shown).
            real = f"{frame.get('type', '')}: {frame.get('message', '')}"
            outputs[case.id] = dataclasses.replace(err, message=real) if case.hidden else err
        where = f" on {case.describe()}"
        checks.append(
            CheckResult(
                "call",
                False,
                f"{located(err)}{where}",
                kind="call",
                case=case.id,
                hidden=case.hidden,
            )
        )
        first_error = first_error or (Status.ERROR, err)

    diagnosis = finding = None
    failed = [c for c in checks if not c.passed]
    if (failed or first_error) and outputs:
        from grader.judge.diagnose import PROBE_PREFIX, diagnose, evidence

        if catalogue is not None and not blocked_by:
            # A caller's outputs follow its callee's: with the callee wrong, a catalogue match
            # (computed with the reference callee) would blame correct code.
            expected = {case.id: case.expected for case in cases}
            diagnosis = diagnose(spec.name, outputs, catalogue(), rtol, atol, expected)
        if diagnosis is None and facts is not None:
            probes = {
                cid: frame.get("output")
                for cid, frame in raw.cases.items()
                if cid.startswith(PROBE_PREFIX) and frame.get("status") == "ok"
            }
            failed_cases = frozenset(c.case for c in failed if c.case is not None)
            if first_error and first_error[1].case:
                failed_cases |= {first_error[1].case}
            finding = evidence(
                spec, cases, outputs, probes, facts, failed_cases, rtol, atol,
                blocked=bool(blocked_by),
            )  # fmt: skip
    if first_error:
        status, err = first_error
        return result(
            status, checks, reason=located(err), error=err, diagnosis=diagnosis, finding=finding
        )
    if failed:
        # Mutating an input explains the mismatches it causes downstream (e.g. in the cache).
        first = next((c for c in failed if c.kind == "mutation"), failed[0])
        return result(
            Status.FAILED, checks, reason=first.message, diagnosis=diagnosis, finding=finding
        )
    return result(Status.PASSED, checks)
