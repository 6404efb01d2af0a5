"""The grading process behind ``grader.check()``: one per notebook kernel, kept warm between calls.

``python -m grader.student.server`` reads one JSON request per line on stdin — the kernel's cell history
and the exercises to check — and answers one JSON line on stdout with each exercise's verdict,
already rendered. It extracts, judges (in the same sandboxed runner as ``grade``, on the same
hidden cases) and diagnoses exactly as ``grade`` does; the expected outputs never leave this
process, so they never reach the student's kernel, and student code never runs here or there.
Kept alive, it loads the golden data, the catalogue and the sandbox probe once: a later check
costs a sandbox job and the runner.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from grader.assignment import golden as golden_mod
from grader.assignment.spec import Assignment
from grader.core.config import GradingConfig
from grader.core.errors import GraderError
from grader.judge.diagnose import with_probes
from grader.judge.dispatch import run_exercises
from grader.pipeline import judge_all
from grader.render.check import render_check_html, render_check_text
from grader.sandbox.jobs import job as sandbox_job
from grader.sandbox.levels import select_sandbox
from grader.stages.extract import extract_sources

#: Sent by the kernel side as the exercise list when the user asks for every exercise.
ALL = "*"


def with_callees(names: Sequence[str], assignment: Assignment) -> list[str]:
    """``names`` and every exercise they call, in the assignment's order (callees judge first)."""
    calls = {spec.name: spec.calls for spec in assignment.exercises}
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(calls.get(name, ()))
    return [n for n in assignment.names if n in wanted]


def check_sources(
    sources: Sequence[tuple[int, str]],
    names: Sequence[str],
    *,
    golden: golden_mod.Golden,
    config: GradingConfig,
) -> dict[str, Any]:
    """Verdicts of ``names`` for a program made of ``sources`` ((label, cell text), in order)."""
    every = golden.assignment.names
    unknown = [n for n in names if n not in every]
    if unknown:
        raise GraderError(
            f"no exercise named {', '.join(map(repr, unknown))}; the exercises are "
            + ", ".join(every)
        )
    needed = with_callees(names, golden.assignment)
    extracted = extract_sources(sources, every)
    cases = with_probes(golden.assignment, {name: golden.for_exercise(name) for name in needed})
    sandbox = select_sandbox()
    with sandbox_job(
        sandbox, config.limits, golden_dirs=(golden.path,), helpers=golden.helpers
    ) as job:
        raws = run_exercises(
            {n: extracted[n] for n in needed},
            cases,
            config.limits,
            job.judgedir,
            job.launcher,
            job.compat,
        )
    results = judge_all(extracted, raws, golden=golden, config=config, names=set(needed))
    shown = [r for r in results if r.name in names]
    return {
        "exercises": [
            {
                "name": r.name,
                "status": r.status.value,
                "score": r.score,
                "max_score": r.max_score,
                "hint": r.hint,
            }
            for r in shown
        ],
        "text": render_check_text(shown),
        "html": render_check_html(shown),
        "sandbox": sandbox.name,
        "error": None,
    }


def serve(stdin: Any = None, stdout: Any = None) -> int:
    """Answer requests until stdin closes; a bad request gets an error answer, never a crash."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    golden = golden_mod.default()
    config = GradingConfig()
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request.get("list"):  # check() with no names: which exercises there are
                stdout.write(json.dumps({"names": list(golden.assignment.names)}) + "\n")
                stdout.flush()
                continue
            names = list(request.get("names") or [])
            names = list(golden.assignment.names) if names in ([], [ALL]) else names
            sources = [(int(i), str(src)) for i, src in request["sources"]]
            answer = check_sources(sources, names, golden=golden, config=config)
        except GraderError as exc:
            answer = {"error": str(exc)}
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"error": f"bad request from grader.check ({type(exc).__name__}: {exc})"}
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
