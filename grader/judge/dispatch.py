"""Run extracted exercise code in the sandboxed runner process and collect what comes back.

The grader's side of ``grader.judge.runner``: sends code and *inputs* (never expected outputs), reads frames
under an overall deadline, parses them strictly, and survives anything the runner does — if it dies
mid-way (a student child can kill its parent), the exercise in progress is recorded as a crash and a
fresh runner takes the remaining ones.

Two runner modes: *fork* (basic and strong levels: the runner forks a child per exercise, frames are
read with ``selectors``) and *spawn* (portable level, :class:`PortableLauncher`: a fresh interpreter
per exercise, frames read by a thread, since ``select`` does not work on Windows pipes).
"""

from __future__ import annotations

import abc
import contextlib
import os
import queue
import selectors
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from grader.assignment.golden import Case
from grader.core.config import Limits
from grader.stages.extract import Extracted
from grader.wire import codec as plain

_LEN = struct.Struct("<Q")


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


Launcher = Callable[[list[str], Path, Mapping[str, str]], subprocess.Popen[bytes]]


def basic_launcher(limits: Limits, env: Mapping[str, str]) -> Launcher:
    from grader.sandbox.limits import make_preexec

    def launch(cmd: list[str], cwd: Path, extra_env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**env, **extra_env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # memory limits go on each exercise's child (the runner itself only imports numpy)
            preexec_fn=make_preexec(limits, memory=False),
        )

    return launch


class RunnerWatch(Protocol):
    """What the portable level's watcher (``grader.sandbox.portable.TreeWatch``) does for the judge."""

    def runner(self, pid: int) -> None: ...  # a runner started: watch its exercise processes
    def exercise(self, runner_pid: int, pid: int) -> None: ...  # a runner announced one
    def memory_killed(self, pid: int) -> bool: ...  # was that one killed at the memory limit?


class PortableLauncher:
    """Starts the runner in *spawn* mode, without ``preexec_fn`` (the portable level).

    Its own session on POSIX / process group on Windows (Ctrl-C stays with the grader); no
    rlimits: ``watch`` bounds the memory of the exercise processes and kills what they leave.
    """

    runner_mode = "spawn"

    def __init__(self, env: Mapping[str, str], watch: RunnerWatch | None = None) -> None:
        self.env = dict(env)
        self.watch = watch

    def __call__(
        self, cmd: list[str], cwd: Path, extra_env: Mapping[str, str]
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**self.env, **extra_env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # ignored on Windows
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        if self.watch is not None:
            self.watch.runner(proc.pid)
        return proc


def run_exercises(
    extracted: Mapping[str, Extracted],
    cases: Mapping[str, Sequence[Case]],
    limits: Limits,
    workdir: Path,
    launcher: Launcher,
    compat: Path,
) -> dict[str, RawOutcome]:
    """Judge every defined exercise; returns a RawOutcome per exercise that had code.

    After each exercise's ``cases`` the runner also calls its diagnosis probes (inputs only:
    ``grader.judge.diagnose.probe_cases``), last, so a probe that hangs or crashes cannot cost a scored
    case; their frames come back under ids starting with ``diagnose.PROBE_PREFIX``.
    """
    from grader.judge.diagnose import probe_cases

    cases = {name: (*cs, *probe_cases(name, cs)) for name, cs in cases.items()}
    todo = [name for name, ex in extracted.items() if not ex.missing]
    results: dict[str, RawOutcome] = {}
    restarts = 0
    while todo and restarts <= len(extracted):
        done = _run_batch(todo, extracted, cases, limits, workdir, launcher, compat, results)
        todo = [n for n in todo if n not in done]
        restarts += 1
    for name in todo:  # only if the runner kept dying before reporting anything
        results.setdefault(name, RawOutcome(name, end={"crash": "the judge process could not run"}))
    return results


def _request(
    names: Sequence[str],
    extracted: Mapping[str, Extracted],
    cases: Mapping[str, Sequence[Case]],
    limits: Limits,
    compat: Path,
    mode: str = "fork",
) -> bytes:
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
    payload = plain.pack(body)
    return _LEN.pack(len(payload)) + payload


def _run_batch(
    names: Sequence[str],
    extracted: Mapping[str, Extracted],
    cases: Mapping[str, Sequence[Case]],
    limits: Limits,
    workdir: Path,
    launcher: Launcher,
    compat: Path,
    results: dict[str, RawOutcome],
) -> set[str]:
    """One runner process for ``names`` in order; returns the names it finished (ended or crashed)."""
    finished: set[str] = set()
    mode = getattr(launcher, "runner_mode", "fork")
    watch: RunnerWatch | None = getattr(launcher, "watch", None)
    proc = launcher([sys.executable, "-I", "-m", "grader.judge.runner"], workdir, {})
    assert proc.stdin is not None and proc.stdout is not None
    # Enough for every case of every exercise to use its full time, plus start-up.
    n_calls = sum(len(cases[n]) + 1 for n in names)
    deadline = time.monotonic() + limits.call_timeout * n_calls + 30
    if mode == "spawn":  # and an interpreter start per exercise
        deadline += len(names) * min(limits.startup_timeout, 10)
    current = 0
    reader: _FrameReader | _ThreadFrameReader | None = None
    try:
        try:
            proc.stdin.write(_request(names, extracted, cases, limits, compat, mode))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        max_frame = limits.result_bytes + (1 << 20)
        if mode == "spawn":
            reader = _ThreadFrameReader(proc.stdout, max_frame)
        else:
            reader = _FrameReader(proc.stdout.fileno(), max_frame)
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
            if kind == "spawned":  # spawn mode: an exercise process, before it runs any code
                if watch is not None and isinstance(frame.get("pid"), int):
                    watch.exercise(proc.pid, frame["pid"])
                continue
            if kind == "end" and frame.get("name") == name:
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
            elif kind in ("ready", "undefined"):
                outcome.state = str(kind)
                outcome.undefined_type = str(frame.get("type", ""))
                errs = frame.get("setup_errors")
                outcome.setup_errors = (
                    [e for e in errs if isinstance(e, dict)] if isinstance(errs, list) else []
                )
            elif kind == "case" and isinstance(frame.get("id"), str):
                outcome.cases[frame["id"]] = frame
            elif kind == "done":
                break
            else:
                outcome.malformed = "an unexpected frame arrived"
    finally:
        from grader.sandbox.limits import kill_process_tree

        kill_process_tree(proc.pid)
        proc.wait()
        if isinstance(reader, _ThreadFrameReader):
            reader.close()  # its thread closes the pipe at end of file
        elif proc.stdout:
            proc.stdout.close()
    return finished


class _Frames(abc.ABC):
    """Length-prefixed frames out of a byte stream, with a deadline and a size cap.

    Subclasses say how the next chunk arrives (:meth:`_read`): ``b""`` at end of file, ``None``
    when nothing came within ``timeout`` seconds.
    """

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self.buf = bytearray()
        self.timed_out = False
        self.eof = False

    @abc.abstractmethod
    def _read(self, timeout: float) -> bytes | None:
        """The next chunk: ``b""`` at end of file, None when nothing came within ``timeout``."""

    def next(self, deadline: float) -> bytes | None:
        while True:
            if len(self.buf) >= _LEN.size:
                (n,) = _LEN.unpack_from(self.buf)
                if n > self.max_frame:
                    return None
                if len(self.buf) >= _LEN.size + n:
                    frame = bytes(self.buf[_LEN.size : _LEN.size + n])
                    del self.buf[: _LEN.size + n]
                    return frame
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                return None
            data = self._read(remaining)
            if data is None:
                continue
            if not data:
                self.eof = True
            self.buf += data


class _FrameReader(_Frames):
    """Frames from a pipe, waited for with ``select`` (POSIX)."""

    def __init__(self, fd: int, max_frame: int) -> None:
        super().__init__(max_frame)
        self.fd = fd
        self.sel = selectors.DefaultSelector()
        self.sel.register(fd, selectors.EVENT_READ)

    def _read(self, timeout: float) -> bytes | None:
        if not self.sel.select(timeout):
            return None
        return os.read(self.fd, 1 << 20)


class _ThreadFrameReader(_Frames):
    """The same contract as :class:`_FrameReader`, without ``select``: a thread reads the pipe.

    ``select``/``selectors`` do not work on pipes on Windows. The thread hands over chunks
    through a bounded queue (a runner that floods waits, as it would on a full pipe); the
    caller waits in short slices, so Ctrl-C is never held up for long.
    """

    _SLICE = 0.25

    def __init__(self, stream: IO[bytes], max_frame: int) -> None:
        super().__init__(max_frame)
        self._chunks: queue.Queue[bytes] = queue.Queue(maxsize=64)
        self._closed = threading.Event()
        self._stream = stream
        self._thread = threading.Thread(target=self._pump, name="rnn-grader-frames", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        # The thread closes the pipe itself, at end of file: closed by another thread while this
        # one still reads, its fd number could be reused for another file.
        fd = self._stream.fileno()
        while True:
            try:
                data = os.read(fd, 1 << 20)
            except OSError:
                data = b""
            if not data:
                self._stream.close()
            while not self._closed.is_set():  # once closed: read on, discard, until the end
                try:
                    self._chunks.put(data, timeout=self._SLICE)
                    break
                except queue.Full:
                    continue
            if not data:
                return

    def close(self) -> None:
        """Stop handing over chunks (the thread closes the pipe when it reaches its end)."""
        self._closed.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._chunks.get_nowait()

    def _read(self, timeout: float) -> bytes | None:
        try:
            return self._chunks.get(timeout=min(timeout, self._SLICE))
        except queue.Empty:
            return None
