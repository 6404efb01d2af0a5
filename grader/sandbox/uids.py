"""The strong level as root: a uid of its own for every sandboxed program, and root-owned state.

Uids come from a range far above distribution and login ranges, held with ``flock``-ed slot files
so parallel grader processes never share one; every process of a uid is killed before the uid is
handed out and when its job ends. Each job's directory is a tmpfs of its own, size- and
inode-limited, so a notebook cannot fill the disk.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import psutil

from grader.core.config import Limits

#: Root-owned state: ``slots/`` (one lock file per uid) and ``jobs/`` (one tmpfs per job).
STATE_DIR = Path("/run/rnn-grader")
#: Sandbox uids (and gids): far above distribution and login ranges.
UID_BASE = 61000
UID_COUNT = 1000

#: Inodes of a job's tmpfs.
_JOB_INODES = 20000
#: Extra room in a job's tmpfs above one maximal file (helpers, sockets, homes).
_JOB_SLACK = 64 << 20


def state_dirs() -> tuple[Path, Path]:
    """``STATE_DIR/slots`` and ``STATE_DIR/jobs``, created root-owned with their modes."""
    slots, jobs = STATE_DIR / "slots", STATE_DIR / "jobs"
    for d, mode in ((STATE_DIR, 0o711), (slots, 0o700), (jobs, 0o711)):
        d.mkdir(mode=mode, exist_ok=True)
        os.chown(d, 0, 0)
        os.chmod(d, mode)
    return slots, jobs


@contextlib.contextmanager
def hold_uids(n: int) -> Iterator[tuple[int, ...]]:
    """``n`` distinct uids held by this process until the block exits (flock: other processes
    and threads skip them; the kernel drops the lock if the holder dies)."""
    import fcntl  # POSIX only: not needed to import this module (portable level)

    slots, _ = state_dirs()
    held: list[tuple[int, int]] = []
    try:
        for offset in range(UID_COUNT):
            if len(held) == n:
                break
            uid = UID_BASE + offset
            fd = os.open(slots / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    continue
                raise
            # A grader that crashed may have left processes under this uid: they must not
            # count against the next job's RLIMIT_NPROC or see its files.
            kill_uid(uid)
            held.append((uid, fd))
        if len(held) < n:
            raise OSError(errno.EAGAIN, f"all {UID_COUNT} sandbox uids are in use")
        yield tuple(uid for uid, _ in held)
    finally:
        for _, fd in held:
            os.close(fd)  # closing releases the flock


def processes_of(uids: Iterable[int]) -> list[psutil.Process]:
    """Live (non-zombie) processes running under any of ``uids`` (for tests and audits)."""
    wanted = set(uids)
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        try:
            ids = proc.info["uids"]
            if ids is None or proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if wanted & {ids.real, ids.effective, ids.saved}:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` until none is left (a fork bomb refills between scans)."""
    for _ in range(50):
        procs = processes_of([uid])
        if not procs:
            return
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=0.2)


def wait_gone(uids: Iterable[int], timeout: float = 5.0) -> list[psutil.Process]:
    """Processes of ``uids`` still alive after ``timeout`` seconds (for tests)."""
    deadline = time.monotonic() + timeout
    while True:
        left = processes_of(uids)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def chown_tree(path: Path, uid: int) -> None:
    """``path`` and everything under it to ``uid`` (and the group of the same number)."""
    os.chown(path, uid, uid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


@contextlib.contextmanager
def job_root(limits: Limits) -> Iterator[Path]:
    """A root-owned directory backed by its own tmpfs (bounded bytes and inodes), removed after."""
    _, jobs = state_dirs()
    root = Path(tempfile.mkdtemp(prefix="j", dir=jobs))
    size = limits.file_bytes + _JOB_SLACK
    opts = f"size={size},nr_inodes={_JOB_INODES},mode=0711,nosuid,nodev"
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "rnn-grader-job", str(root)], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False, capture_output=True)
        with contextlib.suppress(OSError):
            root.rmdir()
