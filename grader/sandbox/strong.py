"""The strong level's mechanics: every program in its own namespaces and view, as its own uid.

Every kernel and every judge runner runs under its own uid (``grader.sandbox.uids``; rootless:
the grader's own, in a user namespace), in its own PID, mount, IPC, UTS and network namespace,
started as ``unshare … sh -c MOUNTS … setpriv …`` (:func:`prefix`):

* ``unshare --pid --fork --kill-child --mount-proc``: a private /proc (the grader's processes and
  their environments are invisible) and a tiny ``sh`` as PID 1, so the student's process is not
  PID 1 (signals to PID 1 without a handler are dropped: ``os.kill(os.getpid(), 9)`` would do
  nothing). Killing the top ``unshare`` kills PID 1, which takes the whole namespace with it —
  double-forked daemons included.
* the mount script, still root inside the private mount namespace: tmpfs over directories other
  uids must not see (``/root`` with only the interpreter bound back read-only; the checkout with
  only ``grader/`` bound back, so ``solutions/`` and ``golden/`` vanish; the grader's state dir
  with only this job bound back), empty tmpfs over every golden directory in use, fresh small
  tmpfs on ``/tmp``, ``/var/tmp`` and ``/dev/shm``.
* ``prlimit --nproc`` then ``setpriv``: the uid (RLIMIT_NPROC counts per uid, and applies once the
  uid is not root), no supplementary groups, ``no_new_privs``, empty capability sets.
* the job directory is a size- and inode-limited tmpfs (``grader.sandbox.uids.job_root``): a
  notebook cannot fill the disk.

The jobs themselves: ``grader.sandbox.jobs.strong_job``; ``grader.sandbox.levels.self_test``
checks from inside such a view that the isolation really holds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from grader.core.resources import data_dir
from grader.sandbox.view import Bind, View, grader_dir, init_script, plan

#: Sizes of the private tmpfs mounts inside a sandbox.
_TMPFS_SIZE = 64 << 20
_TMPFS_INODES = 4096


# --------------------------------------------------------------------------- job directory


@contextlib.contextmanager
def rootless_root() -> Iterator[Path]:
    """A private job directory of the grader's own user (mode 0700), removed after.

    ``$XDG_RUNTIME_DIR`` when there is one (a per-user tmpfs on systemd machines), else the
    temporary directory. Without root it cannot be a tmpfs of its own with byte and inode limits.
    """
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not (base and os.path.isdir(base) and os.access(base, os.W_OK | os.X_OK)):
        base = None
    root = Path(tempfile.mkdtemp(prefix="rnn-grader-job-", dir=base))
    try:
        yield root
    finally:
        _remove_tree(root)


def _remove_tree(root: Path) -> None:
    """``rmtree`` that first restores permissions student code may have taken away."""

    def unlock(func: object, path: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
        with contextlib.suppress(OSError):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)

    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=unlock)
    else:
        shutil.rmtree(root, onerror=unlock)


# --------------------------------------------------------------------------- the command


def checkout() -> Path | None:
    """The source checkout holding ``grader/`` (an editable install), if it is one."""
    parent = grader_dir().parent
    if (parent / "pyproject.toml").exists() or (parent / "solutions").is_dir():
        return parent
    return None


def golden_dirs(extra: Sequence[Path]) -> list[Path]:
    """Golden sets (and a checkout's reference) that must never be visible to student code."""
    dirs = {data_dir("golden").resolve(), *(Path(p).resolve() for p in extra)}
    source = checkout()
    if source is not None:
        dirs.update(source / name for name in ("golden", "solutions"))
    return sorted(d for d in dirs if d.is_dir())


def job_view(uid: int | None, home: Path, binds: Sequence[Bind], hidden: Sequence[Path]) -> View:
    """What a program of ``uid`` sees: ``binds``, with every golden set hidden."""
    return plan(binds, hidden=golden_dirs(hidden), uid=0 if uid is None else uid, home=home)


def prefix(view: View, *, uid: int | None, nproc: int) -> list[str]:
    """The command words placed before a sandboxed program's own argv.

    ``uid`` None: the rootless level, in a user namespace of its own where the grader's uid is
    root; the program keeps that uid 0 but, like at the root level, no capability at all.
    """
    namespaces = [
        "unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
        "--mount", "--propagation", "private", "--ipc", "--uts", "--net",
    ]  # fmt: skip
    drop = ["setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    if uid is None:
        namespaces[1:1] = ["--user", "--map-root-user"]
    else:
        drop[1:1] = [f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    script = init_script(view, tmpfs_size=_TMPFS_SIZE, tmpfs_inodes=_TMPFS_INODES)
    return [
        *namespaces, "sh", "-c", script, "rnn-grader-init",
        "prlimit", f"--nproc={nproc}:{nproc}", "--", *drop, "--",
    ]  # fmt: skip
