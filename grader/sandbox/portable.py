"""The *portable* level: grading on machines without the basic level's POSIX primitives.

Windows has no ``fork``, no ``preexec_fn``, no ``resource`` rlimits, no process groups to
``killpg``; macOS has them, but forking after numpy loaded Accelerate is unsafe and RLIMIT_AS is
not enforced. This level is built only on what every platform has:

* the judge's runner (``grader.judge.runner``) runs in *spawn* mode: each exercise in a freshly started
  interpreter, frames over pipes read by threads (``select`` does not work on Windows pipes);
* the kernel starts without ``preexec_fn`` (:class:`PortableKernel`);
* memory is bounded by a watcher (:class:`TreeWatch`, psutil) that sums the resident memory of
  each exercise's process tree and of the kernel's, and kills a tree at the limit; on Windows a
  Job Object (:class:`WindowsJob`, best effort) also caps each process's committed memory — an
  allocation past it raises ``MemoryError`` — and kills every process of the job when the job
  ends, daemons included;
* deadlines (per call, per cell, per notebook) kill process trees through psutil;
* whatever an exercise left running is killed when the exercise ends, and everything the watcher
  ever saw is killed when the notebook's job ends.

Not enforced here (listed in every result's ``sandbox_missing``): CPU-time, file-size and
open-file rlimits, and an address-space limit (memory is watched, so a very fast allocation can
overshoot the limit by what it allocates between two samples, ~20 ms). Student code runs as the
grader's user, exactly as at the basic level (docs/security.md).

The level is chosen by capability, never by platform name (:func:`basic_missing`), so Linux runs
every path of it: ``RNN_GRADER_SANDBOX=portable`` forces it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from grader.core.config import Limits
from grader.sandbox.limits import kill_process_tree

#: What this level does not enforce that the basic level does; goes into ``sandbox_missing``.
GAPS = (
    "address-space limit (memory is watched: resident size of each process tree)",
    "CPU-time limit (wall-clock deadlines only)",
    "file-size limit",
    "open-files limit",
)

#: How often the watcher samples resident memory, and how often it looks for new processes.
TICK = 0.02
SCAN = 0.5

#: ``subprocess.Popen`` flags for every process this level starts: its own session on POSIX
#: (terminal signals stay away, ``killpg`` reaches what it forks), its own process group on
#: Windows (Ctrl-C in the console reaches only the grader).
POPEN_FLAGS: dict[str, Any] = {
    "start_new_session": True,  # ignored on Windows
    "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
}


# --------------------------------------------------------------------------- capabilities


@functools.lru_cache(maxsize=1)
def posix_missing() -> tuple[str, ...]:
    """The POSIX primitives the basic and strong levels build on that this Python lacks.

    Capability checks only (an import, a ``hasattr``), never the platform's name: ``resource``
    (rlimits), ``os.fork``/``setsid``/``killpg`` (the runner's children, sessions, group kills)
    and ``_posixsubprocess`` (what ``Popen(preexec_fn=...)`` runs on).
    """
    missing: list[str] = []
    try:
        import resource  # noqa: F401
    except ImportError:
        missing.append("resource")
    for name in ("fork", "setsid", "killpg"):
        if not hasattr(os, name):
            missing.append(f"os.{name}")
    try:
        import _posixsubprocess  # noqa: F401
    except ImportError:
        missing.append("preexec_fn")
    return tuple(missing)


@functools.lru_cache(maxsize=1)
def basic_missing() -> tuple[str, ...]:
    """What the basic level needs and this machine lacks; ``()`` when basic can run here.

    :func:`posix_missing`, and whether an RLIMIT_AS set on a child really stops an allocation
    (it does not on macOS; checked by running a tiny Python, ~30 ms).
    """
    missing = posix_missing()
    if not missing and not _address_space_limit_works():
        missing = ("enforced RLIMIT_AS",)
    return missing


_AS_PROBE = """
import mmap, resource, sys
limit = 256 << 20
try:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
except (ValueError, OSError):
    sys.exit(2)  # cannot even be set: the basic level's children would fail to start
try:
    block = mmap.mmap(-1, 1 << 30)  # reserved, never touched: costs no memory either way
except (OSError, MemoryError):
    sys.exit(0)  # refused: the limit is enforced
sys.exit(1)
"""


def _address_space_limit_works() -> bool:
    """Run a tiny Python under RLIMIT_AS = 256 MiB: is a 1 GiB mapping refused? (~30 ms)"""
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _AS_PROBE],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


# --------------------------------------------------------------------------- Windows Job Object


class _IoCounters(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in ("Read", "Write", "Other", "ReadBytes", "WriteBytes", "OtherBytes")
    ]


class _BasicLimits(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class _ExtendedLimits(ctypes.Structure):
    """``JOBOBJECT_EXTENDED_LIMIT_INFORMATION`` (144 bytes on 64-bit Windows)."""

    _fields_ = [
        ("BasicLimitInformation", _BasicLimits),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
_LIMIT_ACTIVE_PROCESS = 0x0008
_LIMIT_PROCESS_MEMORY = 0x0100
_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x0400
_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
_PROCESS_SET_QUOTA = 0x0100
_PROCESS_TERMINATE = 0x0001


def job_limits(limits: Limits) -> _ExtendedLimits:
    """The Job Object limits of one notebook's processes (kernel, runner, exercises)."""
    info = _ExtendedLimits()
    info.BasicLimitInformation.LimitFlags = (
        _LIMIT_KILL_ON_JOB_CLOSE
        | _LIMIT_DIE_ON_UNHANDLED_EXCEPTION  # no error-report dialog waiting for a click
        | _LIMIT_PROCESS_MEMORY
        | _LIMIT_ACTIVE_PROCESS
    )
    info.BasicLimitInformation.ActiveProcessLimit = limits.processes
    info.ProcessMemoryLimit = limits.memory_bytes
    return info


class WindowsJob:
    """A Windows Job Object holding one notebook's processes; a no-op elsewhere.

    Best effort: when the Job Object cannot be created or a process cannot be assigned (an
    old Windows without nested jobs, a parent job that forbids it), grading goes on with the
    watcher alone. A process is assigned just after it starts, so anything it starts in its
    first instant escapes the job (the watcher still sees it).
    """

    def __init__(self, limits: Limits) -> None:
        self.handle: int | None = None
        self.assigned = 0
        if sys.platform != "win32":
            return
        k32 = ctypes.WinDLL("kernel32", use_last_error=True)
        k32.CreateJobObjectW.restype = ctypes.c_void_p
        k32.CreateJobObjectW.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p]
        k32.SetInformationJobObject.argtypes = [
            ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32,
        ]  # fmt: skip
        k32.OpenProcess.restype = ctypes.c_void_p
        k32.OpenProcess.argtypes = [ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32]
        k32.AssignProcessToJobObject.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        k32.TerminateJobObject.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        k32.CloseHandle.argtypes = [ctypes.c_void_p]
        self._k32 = k32
        handle = k32.CreateJobObjectW(None, None)
        if not handle:
            return
        info = job_limits(limits)
        if not k32.SetInformationJobObject(
            handle, _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ctypes.byref(info), ctypes.sizeof(info)
        ):
            k32.CloseHandle(handle)
            return
        self.handle = handle

    def add(self, pid: int) -> bool:
        """Put process ``pid`` (and so everything it starts from now on) into the job."""
        if self.handle is None or sys.platform != "win32":
            return False
        k32 = self._k32
        proc = k32.OpenProcess(_PROCESS_SET_QUOTA | _PROCESS_TERMINATE, 0, pid)
        if not proc:
            return False
        try:
            ok = bool(k32.AssignProcessToJobObject(self.handle, proc))
        finally:
            k32.CloseHandle(proc)
        self.assigned += ok
        return ok

    def close(self) -> None:
        """Kill every process still in the job and release it."""
        if self.handle is None or sys.platform != "win32":
            return
        handle, self.handle = self.handle, None
        self._k32.TerminateJobObject(handle, 1)
        self._k32.CloseHandle(handle)


# --------------------------------------------------------------------------- the watcher


@dataclass
class _Group:
    """One watched tree: an exercise's process, or the kernel, and everything seen under it."""

    owner: psutil.Process
    kind: str  # "exercise" or "kernel"
    members: dict[int, psutil.Process] = field(default_factory=dict)


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class TreeWatch:
    """Bounds the memory of process trees and kills what they leave behind; psutil only.

    Watched: the kernel (its whole tree) and every exercise process of a judge runner (each
    with its own tree; the runner itself only relays frames). Every :data:`TICK` seconds the
    resident sizes of a tree's known members are summed; past ``memory_bytes`` the tree is
    killed and the kill recorded (:meth:`memory_killed`). Every :data:`SCAN` seconds new
    descendants are looked up; a process stays counted in its tree after its parent died.
    When a tree's owner ends, whatever is left of the tree is killed (the exercise's
    ``killpg`` of the basic level). :meth:`close` kills everything ever seen that still runs.
    """

    def __init__(self, memory_bytes: int, job: WindowsJob | None = None) -> None:
        self.memory_bytes = memory_bytes
        self.job = job
        self._lock = threading.Lock()
        self._groups: dict[int, _Group] = {}
        self._runners: dict[int, psutil.Process] = {}
        self._seen: dict[int, psutil.Process] = {}
        #: pid -> the process killed at the memory limit (psutil compares pid and start time)
        self._memory_kills: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- registration (any thread)

    def runner(self, pid: int) -> None:
        """A judge runner: its direct children are exercise processes (found by scanning)."""
        proc = self._process(pid)
        if proc is None:
            return
        if self.job is not None:
            self.job.add(pid)
        with self._lock:
            self._runners[pid] = proc
            self._seen[pid] = proc
        self._start()

    def exercise(self, runner_pid: int, pid: int) -> None:
        """An exercise process announced by runner ``runner_pid`` (a ``spawned`` frame).

        Only a descendant of that runner is accepted: the frame passed through student
        territory, and must not make the watcher adopt (and later kill) a stranger.
        """
        proc = self._process(pid)
        with self._lock:
            runner = self._runners.get(runner_pid)
        if proc is None or runner is None:
            return
        try:
            if runner_pid not in {p.pid for p in proc.parents()}:
                return
        except psutil.Error:
            return
        self._adopt(proc, "exercise")

    def kernel(self, pid: int) -> None:
        """The notebook's kernel: its whole tree is bounded and killed at the limit."""
        proc = self._process(pid)
        if proc is not None:
            if self.job is not None:
                self.job.add(pid)
            self._adopt(proc, "kernel")

    def memory_killed(self, pid: int) -> bool:
        """Whether the tree of ``pid`` was killed for passing the memory limit."""
        with self._lock:
            return pid in self._memory_kills

    def close(self) -> None:
        """Stop watching; kill every process ever seen that still runs."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            seen = list(self._seen.values())
            self._groups.clear()
            self._runners.clear()
        deadline = time.monotonic() + 2
        while (left := [p for p in seen if _running(p)]) and time.monotonic() < deadline:
            for proc in left:  # a zombie no longer runs: its parent (or init) reaps it
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            time.sleep(0.01)

    # ---- internals

    def _process(self, pid: int) -> psutil.Process | None:
        try:
            return psutil.Process(pid)
        except psutil.Error:
            return None

    def _adopt(self, proc: psutil.Process, kind: str) -> None:
        if not _running(proc):  # e.g. a killed exercise process its runner has not reaped yet
            return
        with self._lock:
            if proc.pid not in self._groups:
                self._groups[proc.pid] = _Group(proc, kind, {proc.pid: proc})
                self._seen[proc.pid] = proc
                if self._memory_kills.get(proc.pid, proc) != proc:
                    del self._memory_kills[proc.pid]  # a new process got that pid (Windows)
        self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._loop, name="rnn-grader-watch", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        next_scan = 0.0
        while not self._stop.wait(TICK):
            try:
                if time.monotonic() >= next_scan:
                    self._scan()
                    next_scan = time.monotonic() + SCAN
                self._check()
            except Exception:  # the watcher must outlive anything a student process does
                continue

    def _scan(self) -> None:
        """Find new exercise processes of the runners and new descendants of every tree."""
        with self._lock:
            runners = dict(self._runners)
            groups = list(self._groups.values())
        if not runners and not groups:
            return
        children: dict[int, list[psutil.Process]] = {}
        for proc in psutil.process_iter(["ppid"]):
            ppid = proc.info.get("ppid")
            if ppid is not None:
                children.setdefault(ppid, []).append(proc)
        for rpid, runner in runners.items():
            if not _running(runner):
                with self._lock:
                    self._runners.pop(rpid, None)
                continue
            for child in children.get(rpid, []):
                self._adopt(child, "exercise")
        for group in groups:
            stack = list(group.members)
            while stack:
                for child in children.get(stack.pop(), []):
                    if child.pid not in group.members:
                        with self._lock:
                            group.members[child.pid] = child
                            self._seen.setdefault(child.pid, child)
                        stack.append(child.pid)

    def _check(self) -> None:
        with self._lock:
            groups = list(self._groups.values())
        for group in groups:
            total = 0
            for proc in list(group.members.values()):
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            if total > self.memory_bytes:
                with self._lock:  # recorded before the kill: its end frame comes after it
                    self._memory_kills[group.owner.pid] = group.owner
                self._kill(group)
            elif not _running(group.owner):
                self._kill(group)  # what it left behind goes with it

    def _kill(self, group: _Group) -> None:
        with self._lock:
            self._groups.pop(group.owner.pid, None)
        if _running(group.owner):  # a dead owner's pid may already belong to someone else
            kill_process_tree(group.owner.pid)
        for proc in group.members.values():  # psutil checks each one is still the same process
            with contextlib.suppress(psutil.Error):
                proc.kill()


# --------------------------------------------------------------------------- the kernel


class PortableKernel:
    """How ``grader.stages.execute`` starts and watches the kernel at this level (no ``preexec_fn``)."""

    def __init__(self, watch: TreeWatch, limits: Limits) -> None:
        self.watch = watch
        self.limits = limits

    def popen_kwargs(self) -> dict[str, Any]:
        # jupyter_client already starts the kernel in its own session on POSIX.
        flags = POPEN_FLAGS["creationflags"]
        return {"creationflags": flags} if flags else {}

    def started(self, pid: int) -> None:
        self.watch.kernel(pid)

    def death_reason(self, pid: int) -> str | None:
        if self.watch.memory_killed(pid):
            return (
                f"the kernel used more than {self.limits.memory_bytes >> 20} MiB of memory "
                "and was stopped"
            )
        return None
