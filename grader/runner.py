"""The judge's sandbox process: runs each exercise's extracted code on the golden inputs.

Started by ``grader.judge`` as ``python -I -m grader.runner`` in a job directory, with a clean environment
and resource limits. It receives one request on stdin (``plain.pack``-ed: the exercises' code chunks and
the cases' *inputs* — never the expected outputs) and, for each exercise, forks a child that executes the
student's code and calls the function on every case. The child streams one frame per case back through a
pipe; this process relays the frames to stdout and closes each exercise with an ``end`` frame saying how the
child ended (normal exit, signal, timeout, oversized result).

Everything here is student territory: the grader parses what comes out strictly (``plain.unpack``) and
compares it with its own copy of the expected values. The child captures the references it needs before
running student code, so patching builtins or numpy changes nothing but the student's own answers.

Frame format (both pipes): 8-byte little-endian length, then a ``plain.pack`` payload.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import linecache
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

from grader import plain

_LEN = struct.Struct("<Q")


def write_frame(fd: int, payload: bytes) -> None:
    data = _LEN.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(stream: BinaryIO, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


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
    """Execute one exercise (never returns: exits the forked process)."""
    pack, write, exit_now = plain.pack, write_frame, os._exit
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(null, target)
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if compat and compat not in sys.path:
            sys.path.insert(0, compat)
        sys.argv = ["notebook"]

        name: str = ex["name"]
        chunks = ex["chunks"]
        _register_sources(chunks)
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        setup_errors = []
        for cell, line, code in chunks:
            try:
                compiled = compile("\n" * (line - 1) + code, f"<cell {cell + 1}>", "exec")
                exec(compiled, namespace)
            except BaseException as exc:
                info = _describe_exception(exc)
                info["cell"], info["line"] = cell, line
                setup_errors.append(info)
        fn = namespace.get(name)
        ready: dict[str, Any] = {"kind": "ready", "setup_errors": setup_errors}
        if not callable(fn):
            ready["kind"] = "undefined"
            ready["type"] = type(fn).__name__ if fn is not None else "missing"
            write(fd, pack(ready))
            exit_now(0)
        write(fd, pack(ready))
        for case in ex["cases"]:
            args = case["args"]
            passed = copy.deepcopy(args)
            frame: dict[str, Any] = {"kind": "case", "id": case["id"]}
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
                frame["status"] = "raised"
                frame.update(_describe_exception(exc))
            else:
                frame["status"] = "ok"
                frame["output"] = out
                frame["inputs_after"] = passed
            frame["elapsed"] = time.perf_counter() - started
            try:
                payload = pack(frame)
            except BaseException as exc:
                payload = pack(
                    {
                        "kind": "case",
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
    buf = bytearray()
    end: dict[str, Any] = {"kind": "end", "name": ex["name"], "timeout": False, "overflow": False}
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                end["timeout"] = True
                break
            ready, _, _ = select.select([rfd], [], [], remaining)
            if not ready:
                continue
            data = os.read(rfd, 1 << 20)
            if not data:
                break
            buf += data
            while len(buf) >= _LEN.size:
                (n,) = _LEN.unpack_from(buf)
                if n > max_frame:
                    end["overflow"] = True
                    break
                if len(buf) < _LEN.size + n:
                    break
                write_frame(out, bytes(buf[_LEN.size : _LEN.size + n]))
                del buf[: _LEN.size + n]
                frames += 1
                deadline = time.monotonic() + call_timeout  # each case gets its own time
            if end["overflow"]:
                break
    finally:
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


def main() -> int:
    stdin = sys.stdin.buffer
    (n,) = _LEN.unpack(read_exact(stdin, _LEN.size))
    request = plain.unpack(read_exact(stdin, n), max_total=1 << 30)
    out = os.dup(sys.stdout.fileno())
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    opts = request["options"]
    for ex in request["exercises"]:
        run_exercise(ex, out, opts)
    write_frame(out, plain.pack({"kind": "done"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
