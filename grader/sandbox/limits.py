"""Process limits shared by the notebook kernel and the judge's sandbox processes.

Three small, generic pieces: a clean environment (:func:`child_env`), a ``preexec_fn`` that puts
the child in its own session under resource limits (:func:`make_preexec`, POSIX only: the basic
and strong levels), and a reliable way to kill everything the child started
(:func:`kill_process_tree`, every platform). Importing this module needs no POSIX-only module:
``resource`` is imported when :func:`make_preexec` is called.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil

from grader.core.config import Limits

#: PATH of every child: the grader's own interpreter first, then the system directories. The
#: grader's PATH is not inherited (it may hold user or CI directories).
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Taken from the grader's environment when set: OpenBLAS needs them on some CPUs (it crashes or
#: mis-detects the core type inside containers without them).
_PASSED_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

#: Taken from the grader's environment when set (they are only set on Windows): without
#: ``SYSTEMROOT`` a Windows Python cannot even initialise its random numbers or sockets.
_SYSTEM_VARS = ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "NUMBER_OF_PROCESSORS",
                "PROCESSOR_ARCHITECTURE")  # fmt: skip

#: Extra CPU seconds between the soft limit (SIGXCPU, catchable) and the hard one (SIGKILL).
_CPU_GRACE = 5


def child_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for a student-controlled process whose home is ``home``.

    Nothing leaks from the grader's environment except the OpenBLAS CPU hints. Every directory a
    Python/Jupyter/matplotlib process writes to points under ``home``, and the directories are
    created here: a missing ``TMPDIR`` would make ``tempfile`` silently fall back to ``/tmp``.
    ``extra`` is applied last and wins.
    """
    home = Path(home).absolute()
    dirs = {
        "TMPDIR": home / "tmp",
        "IPYTHONDIR": home / ".ipython",
        "JUPYTER_CONFIG_DIR": home / ".jupyter",
        "JUPYTER_DATA_DIR": home / ".local" / "share" / "jupyter",
        "JUPYTER_RUNTIME_DIR": home / ".local" / "share" / "jupyter" / "runtime",
        "MPLCONFIGDIR": home / ".config" / "matplotlib",
    }
    for directory in dirs.values():
        directory.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), *_system_path()]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        **{name: str(path) for name, path in dirs.items()},
        # jupyter_core warns on every start unless the new platformdirs layout is chosen.
        "JUPYTER_PLATFORM_DIRS": "1",
        # glibc reserves 64 MB of address space per arena and thread: under RLIMIT_AS an idle
        # numpy kernel would need ~0.9 GB instead of ~0.33 GB (docs/architecture.md §5).
        "MALLOC_ARENA_MAX": "2",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # grader.check() in a notebook the grader runs is a no-op (grader.student.check.GRADING_ENV)
        "RNN_GRADER_GRADING": "1",
    }
    for name in (*_PASSED_THROUGH, *_SYSTEM_VARS):
        value = os.environ.get(name)
        if value is not None:
            env[name] = value
    if "SYSTEMROOT" in env:
        # Windows: its per-user directories and temp variables, inside ``home`` as well.
        env.update(
            USERPROFILE=str(home),
            APPDATA=str(home / "AppData" / "Roaming"),
            LOCALAPPDATA=str(home / "AppData" / "Local"),
            TEMP=str(dirs["TMPDIR"]),
            TMP=str(dirs["TMPDIR"]),
        )
        for name in ("APPDATA", "LOCALAPPDATA"):
            Path(env[name]).mkdir(parents=True, exist_ok=True)
    if extra:
        env.update(extra)
    return env


def _system_path() -> list[str]:
    """The system's own program directories (``System32`` on Windows, ``/usr/bin``… elsewhere)."""
    root = os.environ.get("SYSTEMROOT")
    if root:
        return [os.path.join(root, "System32"), root, os.path.join(root, "System32", "Wbem")]
    return _SYSTEM_PATH.split(":")


def make_preexec(
    limits: Limits,
    *,
    cpu_seconds: int | None = None,
    memory: bool = True,
    nproc: bool = False,
) -> Callable[[], None]:
    """A ``Popen(preexec_fn=...)`` that starts a new session and applies ``limits``.

    The new session keeps signals sent to the child's process group (Ctrl-C, ``os.killpg``) away
    from the grader, and makes :func:`kill_process_tree` able to find what the child started.
    ``cpu_seconds`` defaults to ``limits.cpu_seconds``; ``memory=False`` leaves RLIMIT_AS alone
    (for children that must reserve large address spaces). RLIMIT_NPROC counts every process of
    the uid and is ignored for root, so it is only set with ``nproc=True`` (a dedicated sandbox
    uid). The returned function only makes plain system calls: ``preexec_fn`` runs between fork
    and exec, where taking a lock another thread held at fork time would deadlock.

    POSIX only (``preexec_fn`` and ``resource`` do not exist on Windows): the portable level
    (``grader.sandbox.portable``) never calls it.
    """
    import resource

    cpu = limits.cpu_seconds if cpu_seconds is None else cpu_seconds
    settings: list[tuple[int, int, int]] = [
        (resource.RLIMIT_CPU, cpu, cpu + _CPU_GRACE),
        (resource.RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if memory:
        settings.append((resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes))
    if nproc:
        settings.append((resource.RLIMIT_NPROC, limits.processes, limits.processes))

    def preexec() -> None:
        # Popen(start_new_session=True), as jupyter_client uses, already made us a leader.
        with contextlib.suppress(PermissionError):
            os.setsid()
        for which, soft, hard in settings:
            resource.setrlimit(which, (soft, hard))

    return preexec


def kill_process_tree(pid: int) -> None:
    """SIGKILL ``pid``, its process group and session, and every descendant; never raises.

    Call it before ``pid`` is reaped (its zombie keeps the pid and group id from being reused).
    Descendants are collected before anything is killed (a killed parent's children are
    re-parented and no longer found from it). A process that both left the session and
    double-forked away from the tree cannot be found here: only a PID namespace or a dedicated
    uid catches those. Reaping ``pid`` is left to whoever holds its ``Popen``.
    """
    me = os.getpid()
    # POSIX only; without them (Windows) the tree walk below is all there is.
    getsid, getpgid = getattr(os, "getsid", None), getattr(os, "getpgid", None)
    killpg, getpgrp = getattr(os, "killpg", None), getattr(os, "getpgrp", None)
    sigkill = getattr(signal, "SIGKILL", None)
    victims: dict[int, psutil.Process] = {}
    try:
        root = psutil.Process(pid)
        victims[pid] = root
        for child in root.children(recursive=True):
            victims[child.pid] = child
    except psutil.Error:
        pass
    # Daemons that double-forked but stayed in the session or group (few call setsid).
    if getsid is not None and getpgid is not None:
        for proc in psutil.process_iter():
            try:
                if proc.pid != me and pid in (getsid(proc.pid), getpgid(proc.pid)):
                    victims.setdefault(proc.pid, proc)
            except OSError:
                continue
    if killpg is not None and getpgrp is not None and sigkill is not None and pid != getpgrp():
        # Twice: a fork bomb may add members to the group while it is being killed.
        for _ in range(2):
            try:
                killpg(pid, sigkill)
            except (ProcessLookupError, PermissionError):
                break
    for proc in victims.values():
        # psutil checks that the pid was not reused (create time) before signalling.
        with contextlib.suppress(psutil.Error):
            proc.kill()


@contextlib.contextmanager
def interrupt_kills_children() -> Iterator[None]:
    """While the block runs, Ctrl-C first kills every process tree this process started.

    Kernels and runners run in their own sessions (their own process groups on Windows), so
    the terminal's Ctrl-C reaches only the grader; without this the KeyboardInterrupt would
    wait for the notebook's current cell to end before the grader could exit. Then it raises
    KeyboardInterrupt as usual. Only the main thread can install a signal handler: elsewhere
    this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process().children():
                kill_process_tree(child.pid)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
