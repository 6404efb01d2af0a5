"""The execute stage: run a student notebook once, for the record, and never hang or crash.

Grading does not depend on this run (functions are extracted statically and judged in separate
processes); the log it produces tells the student what their notebook did. So the run is bounded
on every axis: time per cell and per notebook, kernel memory/CPU (rlimits), and output volume
(nbclient has no output cap; 200 MB of ``print`` grew the grader by ~294 MB, docs/architecture.md §5).

nbclient executes each cell; this module drives the cells itself rather than calling
``NotebookClient.execute()``: with ``interrupt_on_timeout`` nbclient waits for ever on a cell that
ignores SIGINT, and an outer ``wait_for`` surfaces as an unclassifiable ``DeadKernelError``.
Driving the cells lets every stop be named: cell timeout, notebook deadline, output cap, dead
kernel. After a cell timeout the kernel is interrupted and, if it recovers, execution goes on with
its state intact; after a kill (cap, deadline, unrecoverable timeout) or a death the remaining
cells are ``not_run``. Restarting a kernel would run them without the state the earlier cells
built, producing a log of misleading ``NameError``s, and would cost a kernel start (~0.8 s) each.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, DeadKernelError
from traitlets import Integer, List, Unicode

from grader.core.config import Limits
from grader.core.errors import InfrastructureError
from grader.core.models import CellOutcome, CellStatus
from grader.sandbox.launch import KernelGuard
from grader.sandbox.limits import child_env, kill_process_tree, make_preexec

#: Characters of output kept per cell for the log (the tail of a traceback is kept separately).
EXCERPT_CHARS = 2048
#: How long an interrupted cell may take to stop before its kernel is killed.
INTERRUPT_GRACE = 3.0
#: Private runtime files (connection file, IPC sockets, kernel stderr) inside the workdir.
RUNTIME_DIR = ".kernel"
#: Longest path of a Unix socket (sun_path is 108 bytes with its NUL); longer means TCP.
_MAX_IPC_PATH = 100

#: Room for message headers on top of the output cap (see MAXMSGSIZE below).
_MESSAGE_SLACK = 64 << 10

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
#: Messages that only report kernel state; every other iopub message counts towards the cap.
_BOOKKEEPING = frozenset({"status", "execute_input"})


@dataclass(frozen=True)
class ExecutionLog:
    """What happened when the notebook ran: one outcome per code cell, and why it stopped."""

    cells: tuple[CellOutcome, ...]
    kernel_died: bool
    timed_out: bool  #: the notebook deadline (limits.notebook_timeout) was hit
    output_capped: bool  #: total output passed limits.output_bytes; the kernel was killed
    duration: float
    #: iopub payload counted against limits.output_bytes
    output_bytes: int = 0
    #: index of the cell at which execution stopped early, if it did
    stopped_at: int | None = None
    #: "ipc" or "tcp": how the grader talked to the kernel
    transport: str = "ipc"

    @property
    def completed(self) -> bool:
        return self.stopped_at is None


def execute_notebook(
    nb: nbformat.NotebookNode,
    workdir: Path,
    limits: Limits,
    *,
    env: Mapping[str, str] | None = None,
    kernel_cmd_prefix: Sequence[str] = (),
    owner: int | None = None,
    guard: KernelGuard | None = None,
) -> ExecutionLog:
    """Run every code cell of ``nb`` in a fresh kernel whose cwd is ``workdir``.

    ``nb`` is not modified. ``env`` defaults to :func:`child_env` with a home inside
    ``workdir``; ``kernel_cmd_prefix`` is prepended to the kernel command (e.g. ``unshare``,
    ``setpriv``, ``bwrap``). Safe to call from any thread: it runs its own event loop and installs
    no signal handlers. Raises :class:`InfrastructureError` only when no kernel can start.

    ``owner`` is the uid the kernel runs as when the prefix switches uid (``grader.sandbox.strong``):
    the runtime directory and the connection file (0600) are given to it, so the kernel can
    read its keys and bind its IPC sockets while the grader (root) still connects to them.

    ``guard`` (the portable level) replaces the ``preexec_fn`` rlimits: the kernel starts with
    its ``popen_kwargs()`` and is handed to it once started (it watches the kernel's memory).
    """
    kernel = WarmKernel(
        workdir, limits, env=env, kernel_cmd_prefix=kernel_cmd_prefix, owner=owner, guard=guard
    )
    return kernel.execute(nb)


class WarmKernel:
    """A kernel started now, in its own thread and event loop, that runs one notebook later.

    The kernel start (most of a notebook's execution time) overlaps whatever the caller does
    before the notebook is known: the batch starts the next notebook's kernel while it grades the
    current one. The kernel is fresh: it has run no code until :meth:`execute` hands it a
    notebook, and it is shut down (with everything it started) once that notebook has run, or
    by :meth:`discard`. One kernel, one notebook: a kernel is never reused.
    """

    def __init__(
        self,
        workdir: Path,
        limits: Limits,
        *,
        env: Mapping[str, str] | None = None,
        kernel_cmd_prefix: Sequence[str] = (),
        owner: int | None = None,
        guard: KernelGuard | None = None,
    ) -> None:
        workdir = Path(workdir).absolute()
        workdir.mkdir(parents=True, exist_ok=True)
        kernel_env = dict(env) if env is not None else child_env(workdir / ".home")
        self._run = _Run([], workdir, limits, kernel_env, tuple(kernel_cmd_prefix), owner, guard)
        #: the notebook's cells, or None to shut the kernel down unused
        self._cells: Future[list[tuple[int, str]] | None] = Future()
        self._log: Future[ExecutionLog | None] = Future()
        self._thread = threading.Thread(target=self._main, name="kernel", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            self._log.set_result(_run_loop(self._run.main(self._cells)))
        except BaseException as exc:  # InfrastructureError (no kernel) is raised by execute()
            self._log.set_exception(exc)

    def execute(self, nb: nbformat.NotebookNode) -> ExecutionLog:
        """Run every code cell of ``nb`` (see :func:`execute_notebook`); once per kernel."""
        if self._cells.done():
            raise RuntimeError("a warm kernel runs one notebook only")
        self._cells.set_result(_runnable_cells(nb))
        log = self._log.result()
        assert log is not None
        return log

    @property
    def finished(self) -> bool:
        """Has the kernel been shut down (after its notebook, or discarded, or failed)?"""
        return self._log.done()

    def discard(self) -> None:
        """Shut the kernel down without running anything (idempotent; waits until it is gone)."""
        if not self._cells.done():
            self._cells.set_result(None)
        with contextlib.suppress(BaseException):
            self._log.result()


def _run_loop(main: Coroutine[Any, Any, ExecutionLog | None]) -> ExecutionLog | None:
    """``asyncio.run``; on Windows with a selector loop, which pyzmq's asyncio sockets need
    (the default proactor loop has no ``add_reader``)."""
    if sys.platform == "win32":
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
                return runner.run(main)
        asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())
    return asyncio.run(main)


# --------------------------------------------------------------------------- notebook copy


def _runnable_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(notebook index, source) of every code cell.

    Only the sources are kept: tags (``skip-execution``, ``raises-exception``), ``execution``
    metadata and stored outputs never reach nbclient, and the caller's notebook is untouched.
    """
    out: list[tuple[int, str]] = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        out.append((index, str(source)))
    return out


def _summary(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


# --------------------------------------------------------------------------- kernel


class _GraderKernelManager(AsyncKernelManager):
    """A kernel of the grader's own Python, whatever kernelspec the notebook names.

    Colab and conda notebooks name kernels that do not exist here; the kernelspec search path
    could also hold a ``python3`` spec pointing at another interpreter. Both are bypassed.
    """

    cmd_prefix = List(Unicode())
    file_owner = Integer(None, allow_none=True)

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(argv=self._argv(), display_name="grader", language="python", env={})

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self.file_owner is not None:
            os.chown(self.connection_file, self.file_owner, self.file_owner)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self._argv(), *(extra_arguments or [])]

    def _argv(self) -> list[str]:
        boot = [sys.executable, "-c", KERNEL_BOOT]
        return [*self.cmd_prefix, *boot, "-f", str(self.connection_file)]


#: The kernel's entry point: ``python -m ipykernel_launcher`` (the working directory leaves
#: ``sys.path`` until IPython puts it back as ``''``), without the debugger's debugpy and the
#: completer's jedi. ipykernel and IPython import both if they can and work without them
#: (ImportError is their "not installed"); a grading kernel never debugs or completes, and the
#: two are 0.13 s of every kernel's start. One line: it is an argv word on Windows too.
KERNEL_BOOT = (
    "import sys; sys.path[:1] == [''] and sys.path.pop(0); "
    "sys.modules.update(debugpy=None, jedi=None); "
    "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()"
)


def _human_bytes(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.3g} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.3g} KiB"
    return f"{n} bytes"


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "the kernel stopped responding"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        why = {
            "SIGXCPU": " (CPU time limit)",
            "SIGKILL": " (killed: memory exhausted or an external kill)",
            "SIGSEGV": " (segmentation fault in a C extension)",
        }.get(name, "")
        return f"the kernel was killed by {name}{why}"
    return f"the kernel exited with status {returncode} (os._exit or a crash)"


# --------------------------------------------------------------------------- output log


class _CellText:
    """A bounded excerpt of one cell's output: the head of its text, the tail of its error."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0
        self.error = ""
        self.ename = ""
        self.evalue = ""

    def add(self, msg_type: str, content: Mapping[str, Any]) -> None:
        if msg_type == "stream":
            self._keep(str(content.get("text", "")))
        elif msg_type in ("execute_result", "display_data"):
            data = content.get("data") or {}
            text = data.get("text/plain") if isinstance(data, Mapping) else None
            if isinstance(text, list):  # nbformat allows multiline strings as lists
                text = "".join(map(str, text))
            self._keep(f"{text}\n" if isinstance(text, str) else f"<{msg_type}>\n")
        elif msg_type == "error":
            self.ename = str(content.get("ename", ""))[:200]
            self.evalue = str(content.get("evalue", ""))[:1000]
            tb = content.get("traceback") or []
            text = "\n".join(map(str, tb)) if isinstance(tb, list) else str(tb)
            # The last frames and the exception line matter most; keep the end, from a line's
            # start, and say that the beginning was cut.
            error = _clean(text[-4 * EXCERPT_CHARS :])
            if len(error) > EXCERPT_CHARS or len(text) > 4 * EXCERPT_CHARS:
                tail = error[-EXCERPT_CHARS:]
                tail = tail[tail.find("\n") + 1 :] if "\n" in tail[:-1] else tail
                error = f"… [the start of the traceback is not kept]\n{tail}"
            self.error = error

    def _keep(self, text: str) -> None:
        room = EXCERPT_CHARS - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))

    def render(self) -> str:
        text = _clean("".join(self.parts))
        if self.dropped:
            text += f"\n… [{self.dropped} more characters of output not kept]\n"
        if self.error:
            text = f"{text}\n{self.error}" if text else self.error
        return text.strip("\n")


def _clean(text: str) -> str:
    """Strip ANSI escapes; keep what a terminal shows after carriage returns (progress bars)."""
    text = _ANSI.sub("", text)
    if "\r" in text:
        text = "\n".join(
            line.rsplit("\r", 1)[-1] for line in text.replace("\r\n", "\n").split("\n")
        )
    return text


def _payload_size(msg: Mapping[str, Any]) -> int:
    """Bytes of strings and buffers in a message's content (iterative: JSON may nest deeply)."""
    total = 0
    stack: list[Any] = [msg.get("content"), msg.get("buffers")]
    while stack:
        obj = stack.pop()
        if isinstance(obj, str):
            total += len(obj) if obj.isascii() else len(obj.encode("utf-8", "surrogatepass"))
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            total += len(obj)
        elif isinstance(obj, Mapping):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif obj is not None:
            total += 8  # numbers, booleans
    return total


class _LoggingClient(NotebookClient):
    """nbclient that keeps a bounded excerpt per cell instead of every output, and counts bytes."""

    def __init__(self, nb: nbformat.NotebookNode, **kw: Any) -> None:
        super().__init__(nb, **kw)
        self.texts: dict[int, _CellText] = {}
        self.output_total = 0
        self.output_cap = 0
        self.on_cap: Any = None

    def process_message(
        self, msg: dict[str, Any], cell: nbformat.NotebookNode, cell_index: int
    ) -> nbformat.NotebookNode | None:
        msg_type = msg.get("msg_type", "")
        if self.on_cap is None and self.output_total > self.output_cap:
            # Past the cap: stop draining the queue (every message would be decoded first).
            raise CellExecutionComplete()
        if msg_type not in _BOOKKEEPING:
            self.output_total += _payload_size(msg)
            self.texts.setdefault(cell_index, _CellText()).add(msg_type, msg.get("content", {}))
            if self.output_total > self.output_cap and self.on_cap is not None:
                callback, self.on_cap = self.on_cap, None
                callback()
        return super().process_message(msg, cell, cell_index)

    def output(
        self,
        outs: list[nbformat.NotebookNode],
        msg: dict[str, Any],
        display_id: str | None,
        cell_index: int,
    ) -> nbformat.NotebookNode | None:
        # Outputs are not stored: the excerpt above is all the log needs, and memory stays flat.
        return None


# --------------------------------------------------------------------------- driver


class _Run:
    def __init__(
        self,
        cells: list[tuple[int, str]],
        workdir: Path,
        limits: Limits,
        env: dict[str, str],
        prefix: tuple[str, ...],
        owner: int | None = None,
        guard: KernelGuard | None = None,
    ) -> None:
        self.cells = cells
        self.workdir = workdir
        self.limits = limits
        self.env = env
        self.prefix = prefix
        self.owner = owner
        self.guard = guard
        self.rundir = workdir / RUNTIME_DIR
        self.km: _GraderKernelManager | None = None
        self.kc: Any = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.capped = False
        self.killed = False
        self.transport = "ipc"
        self.cap_hit: asyncio.Event | None = None
        self.exited: asyncio.Event | None = None
        self.pidfd: int | None = None
        self.oversized = False
        self.watcher: asyncio.Future[None] | None = None
        self.stderr_path = self.rundir / "kernel-stderr.log"

    async def main(
        self, cells: Future[list[tuple[int, str]] | None] | None = None
    ) -> ExecutionLog | None:
        """Start the kernel, wait for the cells (when ``cells`` is given), run them, shut down.

        Returns None when ``cells`` resolves to None: the kernel was discarded unused.
        """
        self.cap_hit = asyncio.Event()
        self.exited = asyncio.Event()
        try:
            await self._start()
            if cells is not None:
                todo = await asyncio.wrap_future(cells)
                if todo is None:
                    return None
                self.cells = todo
            # The notebook's clock starts with its first cell: a warm kernel may have waited.
            started = time.monotonic()
            self.watcher = asyncio.ensure_future(self._watch_iopub())
            return await self._run_cells(started)
        finally:
            if self.watcher is not None:
                self.watcher.cancel()
                await asyncio.gather(self.watcher, return_exceptions=True)
            await self._shutdown()

    # ---- kernel lifecycle

    def _transport(self) -> tuple[str, str]:
        ipc_base = str(self.rundir / "k")
        if len(ipc_base) + 8 <= _MAX_IPC_PATH and zmq.has("ipc"):  # no IPC sockets on Windows
            return "ipc", ipc_base
        return "tcp", "127.0.0.1"

    async def _start(self) -> None:
        self.rundir.mkdir(parents=True, exist_ok=True)
        if self.owner is not None:
            os.chown(self.rundir, self.owner, self.owner)
            os.chmod(self.rundir, 0o700)
        transport, ip = self._transport()
        self.transport = transport
        km = _GraderKernelManager(
            kernel_name="python3",
            transport=transport,
            ip=ip,
            connection_file=str(self.rundir / "kernel.json"),
            cmd_prefix=list(self.prefix),
            file_owner=self.owner,
            autorestart=False,
        )
        self.km = km
        timeout = self.limits.startup_timeout
        # Without a guard (basic, strong): rlimits and a new session from preexec_fn (POSIX).
        launch = {"preexec_fn": make_preexec(self.limits)} if self.guard is None else {}
        if self.guard is not None:
            launch = self.guard.popen_kwargs()
        try:
            with open(self.stderr_path, "wb") as stderr:
                await asyncio.wait_for(
                    km.start_kernel(
                        # No sqlite history file in the kernel's home; no colours in
                        # tracebacks: the log strips them anyway, and highlighting costs a
                        # notebook with failing cells ~0.15 s.
                        extra_arguments=[
                            "--HistoryManager.hist_file=:memory:",
                            "--InteractiveShell.colors=NoColor",
                        ],
                        cwd=str(self.workdir),
                        env=self.env,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=stderr,
                        **launch,
                    ),
                    timeout,
                )
            self.proc = getattr(km.provisioner, "process", None)
            if self.guard is not None and self.proc is not None:
                self.guard.started(self.proc.pid)
            self._watch_exit()
            self.kc = km.client()
            # Default for every socket the client creates. libzmq refuses a larger frame before
            # allocating it and drops the connection: without this a single 200 MB print arrives
            # whole (and is decoded into copies) before anything can count it.
            self.kc.context.setsockopt(zmq.MAXMSGSIZE, self.limits.output_bytes + _MESSAGE_SLACK)
            self.kc.start_channels()
            await self.kc.wait_for_ready(timeout=timeout)
        except (Exception, asyncio.TimeoutError) as exc:
            raise InfrastructureError(
                f"the Jupyter kernel ({sys.executable}, ipykernel) did not start "
                f"within {timeout:g} s: {self._startup_detail(exc)}; check that ipykernel is "
                "installed for this Python and that the machine has free memory"
            ) from exc
        # input() must fail at once instead of waiting for a frontend that never answers.
        self.kc.allow_stdin = False

    def _watch_exit(self) -> None:
        """Set ``self.exited`` the moment the kernel process ends (a pidfd, no polling).

        nbclient notices a dead kernel only by polling once a second; without a pidfd (old
        kernels) that remains the fallback.
        """
        if self.proc is None or self.exited is None:
            return
        try:
            self.pidfd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            return
        asyncio.get_running_loop().add_reader(self.pidfd, self.exited.set)

    def _startup_detail(self, exc: BaseException) -> str:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        with contextlib.suppress(OSError):
            lines = self.stderr_path.read_text(errors="replace").strip().splitlines()
            if lines:
                detail += f" (kernel stderr: {lines[-1][:300]})"
        return detail

    def _kill(self) -> None:
        self.killed = True
        if self.proc is None and self.km is not None:
            # Startup may have been cut short after the Popen but before we recorded it.
            self.proc = getattr(self.km.provisioner, "process", None)
        if self.proc is not None:
            kill_process_tree(self.proc.pid)

    async def _shutdown(self) -> None:
        """Kill the kernel and everything it started; release sockets, files and the Popen."""
        self._kill()
        if self.pidfd is not None:
            asyncio.get_running_loop().remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = None
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        if self.km is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.km.shutdown_kernel(now=True), 10)
        if self.proc is not None:
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=5)  # reap: no zombie even if jupyter_client gave up
        shutil.rmtree(self.rundir, ignore_errors=True)

    async def _watch_iopub(self) -> None:
        """Turn a dropped iopub connection into an output-limit stop.

        libzmq drops the connection when a message is over MAXMSGSIZE; the message is lost, so
        nothing would reach ``process_message``. A dying kernel also drops it: then its exit
        follows at once and the cell is reported as a dead kernel instead.
        """
        socket = self.kc.iopub_channel.socket
        monitor = socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        try:
            await monitor.recv_multipart()
            if self.killed:
                return
            # A kernel that is exiting closes its sockets first; give it a moment to be gone.
            assert self.exited is not None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.exited.wait(), 0.5)
            if self.exited.is_set() or (self.proc is not None and self.proc.poll() is not None):
                return
            self.oversized = True
            self._on_cap()
        finally:
            with contextlib.suppress(Exception):
                socket.disable_monitor()
            monitor.close(linger=0)

    def _on_cap(self) -> None:
        # Stop the producer at once: messages still queued are counted but not stored.
        self.capped = True
        self._kill()
        assert self.cap_hit is not None
        self.cap_hit.set()

    # ---- cells

    async def _run_cells(self, started: float) -> ExecutionLog:
        limits = self.limits
        holder = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(source) for _, source in self.cells]
        )
        client = _LoggingClient(
            holder,
            km=self.km,
            kernel_name="python3",
            allow_errors=True,
            # A backstop only: the driver below times cells out (and classifies them) first.
            timeout=int(limits.cell_timeout + INTERRUPT_GRACE + 1),
            interrupt_on_timeout=True,
            record_timing=False,
            iopub_timeout=2,
        )
        client.kc = self.kc
        client.output_cap = limits.output_bytes
        client.on_cap = self._on_cap
        deadline = time.monotonic() + limits.notebook_timeout
        outcomes: list[CellOutcome] = []
        stop: int | None = None
        died = timed_out = False
        for pos, (index, source) in enumerate(self.cells):
            summary = _summary(source)
            if stop is not None:
                outcomes.append(CellOutcome(index, CellStatus.NOT_RUN, summary=summary))
                continue
            if not source.strip():
                outcomes.append(CellOutcome(index, CellStatus.OK, summary=summary))
                continue
            t0 = time.monotonic()
            status, evalue = await self._run_one(client, pos, deadline)
            text = client.texts.pop(pos, _CellText())
            cell = holder.cells[pos]
            ename = text.ename
            if status is CellStatus.OK and ename:
                status, evalue = CellStatus.ERROR, text.evalue
            elif status in (CellStatus.TIMEOUT, CellStatus.KERNEL_DIED, CellStatus.OUTPUT_LIMIT):
                ename = ""
            if status is CellStatus.TIMEOUT and time.monotonic() >= deadline:
                timed_out = True
            if status is CellStatus.KERNEL_DIED:
                died = True
            if (
                status is not CellStatus.OK
                and status is not CellStatus.ERROR
                and (status is not CellStatus.TIMEOUT or not self._alive())
            ):
                stop = index
            outcomes.append(
                CellOutcome(
                    index,
                    status,
                    execution_count=cell.get("execution_count"),
                    ename=ename,
                    evalue=evalue,
                    summary=summary,
                    output=text.render(),
                    duration=round(time.monotonic() - t0, 3),
                )
            )
        return ExecutionLog(
            cells=tuple(outcomes),
            kernel_died=died,
            timed_out=timed_out,
            output_capped=self.capped,
            duration=round(time.monotonic() - started, 3),
            output_bytes=client.output_total,
            stopped_at=stop,
            transport=self.transport,
        )

    def _alive(self) -> bool:
        # After a kill the process may not have exited yet: trust the flag first.
        return not self.killed and self.proc is not None and self.proc.poll() is None

    async def _run_one(
        self, client: _LoggingClient, pos: int, deadline: float
    ) -> tuple[CellStatus, str]:
        """Run one cell; returns its status and, when it did not end by itself, why."""
        assert self.cap_hit is not None and self.exited is not None
        limits = self.limits
        cell = client.nb.cells[pos]
        task = asyncio.ensure_future(client.async_execute_cell(cell, pos, store_history=True))
        cap = asyncio.ensure_future(self.cap_hit.wait())
        exited = asyncio.ensure_future(self.exited.wait())
        waiters = {task, cap, exited}
        try:
            budget = min(limits.cell_timeout, deadline - time.monotonic())
            await asyncio.wait(waiters, timeout=max(budget, 0), return_when=FIRST_COMPLETED)
            if not any(w.done() for w in waiters):
                if time.monotonic() >= deadline:
                    self._kill()
                    return CellStatus.TIMEOUT, (
                        f"the notebook ran past its {limits.notebook_timeout:g} s limit "
                        "during this cell; the kernel was stopped"
                    )
                assert self.km is not None
                with contextlib.suppress(Exception):
                    await self.km.interrupt_kernel()
                grace = min(INTERRUPT_GRACE, max(deadline - time.monotonic(), 0))
                await asyncio.wait(waiters, timeout=grace, return_when=FIRST_COMPLETED)
                if not any(w.done() for w in waiters):
                    self._kill()
                    return CellStatus.TIMEOUT, (
                        f"the cell ran longer than {limits.cell_timeout:g} s and did not stop "
                        "when interrupted; the kernel was stopped"
                    )
                if task.done() and not cap.done() and task.exception() is None:
                    return CellStatus.TIMEOUT, (
                        f"the cell ran longer than {limits.cell_timeout:g} s and was interrupted"
                    )
            return self._verdict(task, cap.done(), exited.done())
        finally:
            for fut in waiters:
                if not fut.done():
                    fut.cancel()
            # Let cancelled tasks finish (DeadKernelError is how nbclient reports cancellation).
            await asyncio.gather(*waiters, return_exceptions=True)

    def _verdict(
        self, task: asyncio.Future[Any], capped: bool, exited: bool
    ) -> tuple[CellStatus, str]:
        """Status of a cell whose task, output cap or kernel exit came first."""
        if capped:  # checked first: hitting the cap kills the kernel, which then exits
            size = _human_bytes(self.limits.output_bytes)
            what = f"a single output over {size}" if self.oversized else f"over {size} in all"
            return CellStatus.OUTPUT_LIMIT, (
                f"output limit: the notebook printed {what}; the kernel was stopped "
                "(print less, e.g. shapes instead of whole arrays)"
            )
        exc = task.exception() if task.done() else None
        if task.done() and exc is None:
            return CellStatus.OK, ""
        if exited or isinstance(exc, DeadKernelError):
            return CellStatus.KERNEL_DIED, self._death_reason()
        # nbclient itself failed (malformed reply, ...): record it, keep the grader up.
        self._kill()
        return CellStatus.KERNEL_DIED, f"execution failed: {type(exc).__name__}: {exc}"

    def _death_reason(self) -> str:
        returncode = None
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                returncode = self.proc.wait(timeout=1)
            if self.guard is not None and (why := self.guard.death_reason(self.proc.pid)):
                return why
        if self.prefix and returncode is not None and 128 < returncode < 128 + 65:
            # A wrapper's init (grader.sandbox.strong) reports a signal death as 128 + signal.
            returncode = -(returncode - 128)
        return _describe_exit(returncode)
