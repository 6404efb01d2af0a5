"""The judge's sandbox process: runs each exercise's extracted code on the golden inputs.

Started by ``grader.judge.checks`` as ``python -I -m grader.judge.runner`` in a job directory, with a clean environment
and resource limits. It receives one request on stdin (``plain.pack``-ed: the exercises' code chunks and
the cases' *inputs* — never the expected outputs) and, for each exercise, forks a child that executes the
student's code and calls the function on every case. The child streams one frame per case back through a
pipe; this process relays the frames to stdout and closes each exercise with an ``end`` frame saying how the
child ended (normal exit, signal, timeout, oversized result).

Spawn mode (``options["mode"] == "spawn"``, the portable level): no fork, no rlimits. Each exercise runs in
a freshly started ``python -I -m grader.judge.runner --child`` that reads its exercise on stdin and writes frames
to stdout; a thread reads them (``select`` does not work on Windows pipes). The next exercise's interpreter
is started while the current one runs, and every one is announced with a ``spawned`` frame (its pid) before
it receives any student code, so the grader's watcher bounds its memory from the start. ``resource``,
``select`` and ``os.fork`` are only touched in fork mode.

Everything here is student territory: the grader parses what comes out strictly (``plain.unpack``) and
compares it with its own copy of the expected values. The child captures the references it needs before
running student code, so patching builtins or numpy changes nothing but the student's own answers.

Frame format (every pipe): ``grader.wire.protocol`` (8-byte little-endian length, then a
``plain.pack`` payload).
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import inspect
import linecache
import os
import signal
import subprocess
import sys
import time
import traceback
from typing import Any

from grader.wire import codec as plain
from grader.wire.protocol import (
    Kind,
    SelectReader,
    ThreadReader,
    encode_frame,
    read_frame,
    write_frame,
)

# --------------------------------------------------------------------------------------------
# Child: runs student code for one exercise


def _student_frames(tb: Any) -> list[str]:
    """The traceback cut to the student's own frames (files named ``<cell N>``)."""
    lines = []
    for fs in traceback.extract_tb(tb):
        if fs.filename.startswith("<cell "):
            where = fs.filename.strip("<>")
            text = (fs.line or "").strip()
            lines.append(f"{where}, line {fs.lineno}, in {fs.name}" + (f": {text}" if text else ""))
    return lines[-20:]


def _describe_exception(exc: BaseException) -> dict[str, Any]:
    tp = type(exc)
    try:
        message = str(exc)[:2000]
    except BaseException:
        message = "<exception message could not be shown>"
    name = tp.__name__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return {
        "type": str(name)[:200],
        "message": message,
        "traceback": _student_frames(exc.__traceback__),
    }


def _register_sources(chunks: list[Any]) -> None:
    """Let tracebacks show the student's lines for ``<cell N>`` pseudo-files."""
    cells: dict[str, list[str]] = {}
    for cell, line, code in chunks:
        name = f"<cell {cell + 1}>"
        lines = cells.setdefault(name, [])
        for i, text in enumerate(code.splitlines(), start=line - 1):
            while len(lines) <= i:
                lines.append("\n")
            lines[i] = text + "\n"
    for name, lines in cells.items():
        linecache.cache[name] = (sum(map(len, lines)), None, lines, name)


def _child(ex: dict[str, Any], fd: int, memory: int, cpu: int, compat: str) -> None:
    """Execute one exercise in a forked child (never returns: exits the forked process)."""
    exit_now = os._exit
    try:
        import resource  # already imported by run_exercise: no import machinery after a fork

        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(null, target)
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        # Never above the runner's own hard limit (raising it fails, and would cost the whole
        # exercise): the per-call deadline still applies, this is only the backstop.
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        if hard != resource.RLIM_INFINITY:
            cpu = max(1, min(cpu, hard - 1))
        resource.setrlimit(
            resource.RLIMIT_CPU,
            (cpu, cpu + 1 if hard == resource.RLIM_INFINITY else min(cpu + 1, hard)),
        )
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except BaseException:
        exit_now(70)
    _execute(ex, fd, compat)


def _restore_builtins(saved: dict[str, Any]) -> None:
    """Undo what student code did to ``builtins`` (``isinstance = lambda *a: True`` inside a
    function): the judge's own code after the call runs on the real ones."""
    live = builtins.__dict__
    if live != saved:
        live.clear()
        live.update(saved)


def _display(*objs: Any, **kwargs: Any) -> None:
    """IPython's ``display`` where nothing is shown: accepts what it accepts, returns None."""


def _execute(ex: dict[str, Any], fd: int, compat: str) -> None:
    """Run the student's code of one exercise and every case (never returns: exits)."""
    pack, write, exit_now = plain.pack, write_frame, os._exit
    try:
        if compat and compat not in sys.path:
            sys.path.insert(0, compat)
        sys.argv = ["notebook"]

        name: str = ex["name"]
        chunks = ex["chunks"]
        _register_sources(chunks)
        real_builtins = dict(builtins.__dict__)
        # ``display`` is a builtin in Jupyter and Colab: a function that shows a value while it
        # works must not fail here (what it shows goes nowhere, like the child's own stdout).
        namespace: dict[str, Any] = {
            "__name__": "__main__",
            "__builtins__": __builtins__,
            "display": _display,
        }
        setup_errors = []
        for cell, line, code in chunks:
            try:
                compiled = compile("\n" * (line - 1) + code, f"<cell {cell + 1}>", "exec")
                exec(compiled, namespace)
            except BaseException as exc:
                info = _describe_exception(exc)
                info["cell"], info["line"] = cell, line
                setup_errors.append(info)
        _restore_builtins(real_builtins)
        fn = namespace.get(name)
        ready: dict[str, Any] = {"kind": Kind.READY, "setup_errors": setup_errors}
        if not callable(fn):
            ready["kind"] = Kind.UNDEFINED
            ready["type"] = type(fn).__name__ if fn is not None else "missing"
            write(fd, pack(ready))
            exit_now(0)
        write(fd, pack(ready))
        for case in ex["cases"]:
            args = case["args"]
            passed = copy.deepcopy(args)
            frame: dict[str, Any] = {"kind": Kind.CASE, "id": case["id"]}
            try:
                inspect.signature(fn).bind(*passed)
            except TypeError as exc:
                frame["status"] = "signature"
                frame["message"] = str(exc)[:500]
                write(fd, pack(frame))
                continue
            except ValueError:
                pass  # builtins/callables without a signature: just call
            started = time.perf_counter()
            try:
                out = fn(*passed)
            except BaseException as exc:
                _restore_builtins(real_builtins)
                frame["status"] = "raised"
                frame.update(_describe_exception(exc))
            else:
                _restore_builtins(real_builtins)
                frame["status"] = "ok"
                frame["output"] = out
                frame["inputs_after"] = passed
            frame["elapsed"] = time.perf_counter() - started
            try:
                payload = pack(frame)
            except BaseException as exc:
                payload = pack(
                    {
                        "kind": Kind.CASE,
                        "id": case["id"],
                        "status": "unsendable",
                        "message": f"{type(exc).__name__}: the result could not be sent back",
                    }
                )
            write(fd, payload)
    except BaseException:
        exit_now(70)
    exit_now(0)


# --------------------------------------------------------------------------------------------
# Runner: forks one child per exercise, relays frames under deadlines


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            target()


def _drain_group(pgid: int, seconds: float = 2.0) -> None:
    """Kill the group until it is empty: a fork bomb forks while one SIGKILL is delivered.

    Called after the leader is reaped, so a zombie leader cannot keep the group alive.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.005)


def run_exercise(ex: dict[str, Any], out: int, opts: dict[str, Any]) -> None:
    """Fork mode: one forked child for ``ex``, frames relayed to ``out``, then its ``end`` frame."""
    import resource  # noqa: F401  (POSIX only; imported here, before the fork, for the child)

    call_timeout = float(opts["call_timeout"])
    max_frame = int(opts["result_bytes"])
    n_cases = len(ex["cases"])
    cpu = int(call_timeout * (n_cases + 1)) + 2
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        os.close(out)
        _child(ex, wfd, int(opts["memory_bytes"]), cpu, str(opts.get("compat", "")))
    os.close(wfd)
    started = time.monotonic()
    deadline = started + call_timeout
    frames = 0
    end: dict[str, Any] = {
        "kind": Kind.END,
        "name": ex["name"],
        "timeout": False,
        "overflow": False,
    }
    reader = SelectReader(rfd, max_frame)
    try:
        while (frame := reader.next(deadline)) is not None:
            write_frame(out, frame)
            frames += 1
            deadline = time.monotonic() + call_timeout  # each case gets its own time
        end["timeout"], end["overflow"] = reader.timed_out, reader.overflow
    finally:
        reader.close()
        os.close(rfd)
        _kill_group(pid)
        _, status = os.waitpid(pid, 0)
        _drain_group(pid)
    end["frames"] = frames
    end["elapsed"] = time.monotonic() - started
    if os.WIFSIGNALED(status):
        end["signal"] = os.WTERMSIG(status)
    else:
        end["exit"] = os.WEXITSTATUS(status)
    write_frame(out, plain.pack(end))


# --------------------------------------------------------------------------------------------
# Spawn mode: a fresh interpreter per exercise (no fork, no rlimits: the portable level)

#: The first frame of a spawned child, sent once it has its exercise and before any student code
#: runs: from then on the per-call deadline applies (before it, the interpreter's start-up time).
_STARTED = plain.pack({"kind": Kind.STARTED})
_SPAWN_FLAGS: dict[str, Any] = {
    "start_new_session": True,  # POSIX: own session, so killpg reaches what it forks
    "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),  # Windows: no Ctrl-C
}


def _binary(fd: int) -> None:
    """Windows: no newline translation on a frame pipe (a no-op elsewhere)."""
    if sys.platform == "win32":  # a platform API, not a capability
        import msvcrt

        msvcrt.setmode(fd, os.O_BINARY)


def _spawn_child() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-I", "-m", "grader.judge.runner", "--child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        **_SPAWN_FLAGS,
    )


def _child_main() -> int:
    """``--child``: read one exercise from stdin, run it, frames to stdout (never returns)."""
    request = plain.unpack(read_frame(sys.stdin.buffer), max_total=1 << 30)
    fd = os.dup(sys.stdout.fileno())
    _binary(fd)
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    write_frame(fd, _STARTED)
    _execute(request["exercise"], fd, str(request.get("compat", "")))
    return 0


def _kill_child(proc: subprocess.Popen[bytes]) -> None:
    killpg, sigkill = getattr(os, "killpg", None), getattr(signal, "SIGKILL", None)
    if killpg is not None and sigkill is not None:  # its session's process group (POSIX)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            killpg(proc.pid, sigkill)
    with contextlib.suppress(OSError):
        proc.kill()


def run_spawned(
    ex: dict[str, Any], proc: subprocess.Popen[bytes], out: int, opts: dict[str, Any]
) -> None:
    """Spawn mode: run ``ex`` in the started interpreter ``proc``; frames and ``end`` to ``out``."""
    call_timeout = float(opts["call_timeout"])
    max_frame = int(opts["result_bytes"])
    assert proc.stdin is not None and proc.stdout is not None
    request = plain.pack({"exercise": ex, "compat": str(opts.get("compat", ""))})
    try:
        proc.stdin.write(encode_frame(request))
        proc.stdin.close()
    except OSError:  # it died already: its exit status says how
        pass
    # bounded: a flooding child waits, as on a full pipe
    reader = ThreadReader(proc.stdout, max_frame, chunks=16)
    started = time.monotonic()
    deadline = started + float(opts.get("startup_timeout", 60)) + call_timeout
    frames = 0
    running = False
    end: dict[str, Any] = {
        "kind": Kind.END,
        "name": ex["name"],
        "timeout": False,
        "overflow": False,
    }
    try:
        while (frame := reader.next(deadline)) is not None:
            deadline = time.monotonic() + call_timeout  # each case gets its own time
            if not running and frame == _STARTED:
                running = True  # start-up is over; not a frame for the grader
                continue
            write_frame(out, frame)
            frames += 1
        end["timeout"], end["overflow"] = reader.timed_out, reader.overflow
    finally:
        reader.close()  # its thread closes the pipe at end of file
        _kill_child(proc)
        returncode = proc.wait()
        killpg, sigkill = getattr(os, "killpg", None), getattr(signal, "SIGKILL", None)
        if killpg is not None and sigkill is not None:
            _drain_group(proc.pid)
    end["frames"] = frames
    end["elapsed"] = time.monotonic() - started
    end["pid"] = proc.pid
    if returncode < 0:
        end["signal"] = -returncode
    elif returncode <= 255:
        end["exit"] = returncode
    else:  # Windows: an NTSTATUS such as 0xC0000005 (access violation)
        end["crash"] = f"the process crashed (status {returncode:#010x})"
    write_frame(out, plain.pack(end))


def spawn_exercises(exercises: list[dict[str, Any]], out: int, opts: dict[str, Any]) -> None:
    """Spawn mode for every exercise; the next interpreter starts while the current one runs."""
    ahead: subprocess.Popen[bytes] | None = None
    try:
        for i, ex in enumerate(exercises):
            proc = ahead if ahead is not None and ahead.poll() is None else None
            if proc is None:
                if ahead is not None:
                    _kill_child(ahead)
                    ahead.wait()
                proc = _spawn_child()
                write_frame(out, plain.pack({"kind": Kind.SPAWNED, "pid": proc.pid}))
            ahead = None
            if i + 1 < len(exercises):
                ahead = _spawn_child()
                write_frame(out, plain.pack({"kind": Kind.SPAWNED, "pid": ahead.pid}))
            run_spawned(ex, proc, out, opts)
    finally:
        if ahead is not None:
            _kill_child(ahead)
            ahead.wait()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        return _child_main()
    request = plain.unpack(read_frame(sys.stdin.buffer), max_total=1 << 30)
    out = os.dup(sys.stdout.fileno())
    _binary(out)
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    opts = request["options"]
    if opts.get("mode") == "spawn":
        spawn_exercises(request["exercises"], out, opts)
    else:
        for ex in request["exercises"]:
            run_exercise(ex, out, opts)
    write_frame(out, plain.pack({"kind": Kind.DONE}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
