"""Run extracted exercise code in the sandboxed runner process and collect what comes back.

The grader's side of ``grader.judge.runner``: sends code and *inputs* (never expected outputs), reads frames
under an overall deadline, parses them strictly, and survives anything the runner does — if it dies
mid-way (a student child can kill its parent), the exercise in progress is recorded as a crash and a
fresh runner takes the remaining ones.

Two runner modes: *fork* (basic and strong levels: the runner forks a child per exercise, frames are
read with ``selectors``) and *spawn* (portable level, ``grader.sandbox.launch.PortableLauncher``: a
fresh interpreter per exercise, frames read by a thread, since ``select`` does not work on Windows
pipes). The frames: ``grader.wire.protocol``.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.assignment.golden import Case
from grader.core.config import Limits
from grader.sandbox.launch import Launcher, RunnerWatch
from grader.stages.extract import Extracted
from grader.wire import codec as plain
from grader.wire.protocol import FrameReader, Kind, SelectReader, ThreadReader, encode_frame


@dataclass
class RawOutcome:
    """What the runner reported for one exercise (decoded, not yet judged)."""

    name: str
    #: "ready" (function defined), "undefined", or "lost" (no ready frame: the process died early)
    state: str = "lost"
    undefined_type: str = ""
    setup_errors: list[dict[str, Any]] = field(default_factory=list)
    #: case id -> decoded case frame (status ok/raised/signature/unsendable, output, inputs_after, …)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the runner's end frame (timeout, overflow, signal, exit, frames, elapsed) or a synthesised one
    end: dict[str, Any] = field(default_factory=dict)
    #: set when the wire carried something that is not plain data
    malformed: str = ""


def launch_runner(launcher: Launcher, workdir: Path) -> subprocess.Popen[bytes]:
    """Start a judge runner now; it imports what it needs and waits for its request on stdin.

    A warm runner: its start-up overlaps the caller's other work. It has run no student code
    until :func:`run_exercises` sends it one request, and it serves only that one.
    """
    return launcher([sys.executable, "-I", "-m", "grader.judge.runner"], workdir, {})


def run_exercises(
    extracted: Mapping[str, Extracted],
    cases: Mapping[str, Sequence[Case]],
    limits: Limits,
    workdir: Path,
    launcher: Launcher,
    compat: Path,
    runner: subprocess.Popen[bytes] | None = None,
) -> dict[str, RawOutcome]:
    """Judge every defined exercise on its ``cases``; a RawOutcome per exercise that had code.

    Callers append the diagnosis probes (``grader.judge.diagnose.with_probes``) after the scored
    cases, so a probe that hangs or crashes cannot cost a scored case. ``runner``: a runner from
    :func:`launch_runner` for the first attempt (it is used, or killed, either way); a runner
    that dies is replaced by a fresh one.
    """
    todo = [name for name, ex in extracted.items() if not ex.missing]
    results: dict[str, RawOutcome] = {}
    restarts = 0
    if not todo and runner is not None:
        discard_runner(runner)
    while todo and restarts <= len(extracted):
        proc = runner if runner is not None else launch_runner(launcher, workdir)
        runner = None
        done = _run_batch(todo, extracted, cases, limits, proc, launcher, compat, results)
        todo = [n for n in todo if n not in done]
        restarts += 1
    for name in todo:  # only if the runner kept dying before reporting anything
        results.setdefault(name, RawOutcome(name, end={"crash": "the judge process could not run"}))
    return results


def encode_request(
    names: Sequence[str],
    extracted: Mapping[str, Extracted],
    cases: Mapping[str, Sequence[Case]],
    limits: Limits,
    compat: Path,
    mode: str = "fork",
) -> bytes:
    """The runner's request, a whole frame: code and case inputs of ``names``, and the limits."""
    body = {
        "options": {
            "call_timeout": limits.call_timeout,
            "memory_bytes": limits.memory_bytes,
            "result_bytes": limits.result_bytes,
            "compat": str(compat),
            "mode": mode,
            "startup_timeout": limits.startup_timeout,
        },
        "exercises": [
            {
                "name": name,
                "chunks": [[c.cell, c.line, c.code] for c in extracted[name].chunks],
                "cases": [{"id": case.id, "args": case.args} for case in cases[name]],
            }
            for name in names
        ],
    }
    return encode_frame(plain.pack(body))


def _run_batch(
    names: Sequence[str],
    extracted: Mapping[str, Extracted],
    cases: Mapping[str, Sequence[Case]],
    limits: Limits,
    proc: subprocess.Popen[bytes],
    launcher: Launcher,
    compat: Path,
    results: dict[str, RawOutcome],
) -> set[str]:
    """One runner process for ``names`` in order; returns the names it finished (ended or crashed)."""
    finished: set[str] = set()
    mode = getattr(launcher, "runner_mode", "fork")
    watch: RunnerWatch | None = getattr(launcher, "watch", None)
    assert proc.stdin is not None and proc.stdout is not None
    # Enough for every case of every exercise to use its full time, plus start-up.
    n_calls = sum(len(cases[n]) + 1 for n in names)
    deadline = time.monotonic() + limits.call_timeout * n_calls + 30
    if mode == "spawn":  # and an interpreter start per exercise
        deadline += len(names) * min(limits.startup_timeout, 10)
    current = 0
    reader: FrameReader | None = None
    try:
        try:
            proc.stdin.write(encode_request(names, extracted, cases, limits, compat, mode))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        max_frame = limits.result_bytes + (1 << 20)
        if mode == "spawn":
            reader = ThreadReader(proc.stdout, max_frame)
        else:
            reader = SelectReader(proc.stdout.fileno(), max_frame)
        while current < len(names):
            raw = reader.next(deadline)
            name = names[current]
            outcome = results.setdefault(name, RawOutcome(name))
            if raw is None:  # runner died or overall deadline: this exercise crashed
                outcome.end = outcome.end or {"crash": "the judge process ended unexpectedly"}
                if reader.timed_out:
                    outcome.end["timeout"] = True
                finished.add(name)
                return finished

            try:
                frame = plain.unpack(raw, max_total=limits.result_bytes + (1 << 20))
            except plain.DecodeError as exc:
                outcome.malformed = str(exc)
                continue
            if not isinstance(frame, dict):
                outcome.malformed = "a result frame is not a dict"
                continue
            kind = frame.get("kind")
            if kind == Kind.SPAWNED:  # spawn mode: an exercise process, before it runs any code
                if watch is not None and isinstance(frame.get("pid"), int):
                    watch.exercise(proc.pid, frame["pid"])
                continue
            if kind == Kind.END and frame.get("name") == name:
                pid = frame.get("pid")
                if watch is not None and isinstance(pid, int) and watch.memory_killed(pid):
                    frame = {k: v for k, v in frame.items() if k not in ("signal", "exit")}
                    frame["crash"] = (
                        f"the process used more than {limits.memory_bytes >> 20} MiB of memory "
                        "and was stopped"
                    )
                outcome.end = frame
                finished.add(name)
                current += 1
            elif kind in (Kind.READY, Kind.UNDEFINED):
                outcome.state = str(kind)
                outcome.undefined_type = str(frame.get("type", ""))
                errs = frame.get("setup_errors")
                outcome.setup_errors = (
                    [e for e in errs if isinstance(e, dict)] if isinstance(errs, list) else []
                )
            elif kind == Kind.CASE and isinstance(frame.get("id"), str):
                outcome.cases[frame["id"]] = frame
            elif kind == Kind.DONE:
                break
            else:
                outcome.malformed = "an unexpected frame arrived"
    finally:
        _stop(proc)
        if reader is not None:
            reader.close()  # a ThreadReader's thread closes the pipe at end of file
        if not isinstance(reader, ThreadReader) and proc.stdout:
            proc.stdout.close()
    return finished


def discard_runner(proc: subprocess.Popen[bytes]) -> None:
    """Stop a runner from :func:`launch_runner` that was never given a request."""
    _stop(proc)
    if proc.stdout is not None:
        proc.stdout.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill a runner and everything it started, and reap it."""
    from grader.sandbox.limits import kill_process_tree

    kill_process_tree(proc.pid)
    proc.wait()
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
