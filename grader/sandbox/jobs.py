"""One notebook's sandbox (:class:`Job`): its directories, environments and how to start its programs.

:func:`job` makes it at the level in use (``grader.sandbox.levels``): the basic level with
:func:`unconfined_job` (everything runs as the grader's user, in a temporary directory), the
portable level with :func:`portable_job` (the same, and a watcher), the strong level with
:func:`strong_job` (namespaces and views of ``grader.sandbox.strong``, uids of
``grader.sandbox.uids``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.core.config import Limits
from grader.core.resources import compat_dir
from grader.sandbox.launch import KernelGuard, Launcher, PortableLauncher, basic_launcher
from grader.sandbox.levels import PORTABLE, Sandbox
from grader.sandbox.limits import child_env, make_preexec
from grader.sandbox.portable import PortableKernel, TreeWatch, WindowsJob
from grader.sandbox.strong import job_view, prefix, rootless_root
from grader.sandbox.uids import chown_tree, hold_uids, job_root, kill_uid
from grader.sandbox.view import Bind
from grader.sandbox.workdir import copy_helpers, prepare_workdir


@dataclass
class Job:
    """One notebook's sandbox: directories, environments and how to start its processes.

    ``kernel_prefix`` goes to ``execute_notebook(kernel_cmd_prefix=...)`` with
    ``owner=kernel_uid``; ``launcher`` to ``dispatch.run_exercises``; ``compat`` is where the
    runner finds the course helper modules (readable by the judge uid).
    """

    sandbox: Sandbox
    root: Path
    workdir: Path
    judgedir: Path
    kernel_env: dict[str, str]
    judge_env: dict[str, str]
    kernel_prefix: list[str]
    launcher: Launcher
    kernel_uid: int | None
    judge_uid: int | None
    compat: Path
    uids: tuple[int, ...] = field(default=())
    #: how ``execute`` starts and watches the kernel instead of ``preexec_fn`` (portable level)
    kernel_guard: KernelGuard | None = None


def layout(root: Path) -> tuple[Path, Path, Path, Path]:
    """A job's directories under ``root``: the notebook's, the judge's, and the two homes."""
    dirs = (root / "notebook", root / "judge", root / "home-kernel", root / "home-judge")
    for d in dirs:
        d.mkdir()
    return dirs


def unconfined_job(
    sandbox: Sandbox,
    root: Path,
    helpers: Path,
    launcher: Callable[[Mapping[str, str]], Launcher],
    kernel_guard: KernelGuard | None = None,
) -> Job:
    """A job whose programs run as the grader's user without namespaces (basic, portable).

    The layout under ``root``, the course helpers (``helpers``) next to the notebook and read by
    the judge where they are; ``launcher`` makes the judge's launcher from its environment.
    """
    workdir, judgedir, home_k, home_j = layout(root)
    prepare_workdir(workdir, helpers)
    judge_env = child_env(home_j)
    return Job(
        sandbox=sandbox,
        root=root,
        workdir=workdir,
        judgedir=judgedir,
        kernel_env=child_env(home_k),
        judge_env=judge_env,
        kernel_prefix=[],
        launcher=launcher(judge_env),
        kernel_uid=None,
        judge_uid=None,
        compat=helpers,
        kernel_guard=kernel_guard,
    )


@contextlib.contextmanager
def job(
    sandbox: Sandbox,
    limits: Limits,
    *,
    golden_dirs: Sequence[Path] = (),
    helpers: Path | None = None,
) -> Iterator[Job]:
    """A fresh sandbox for one notebook; everything it started is dead when the block exits.

    ``golden_dirs``: golden directories in use besides the shipped one (``--golden DIR``); they
    are hidden from student code like the shipped one. ``helpers``: the folder of the course
    helper modules to copy next to the notebook and give the judge (None: the default
    assignment's, ``grader.core.resources.compat_dir()``).
    """
    helpers = compat_dir() if helpers is None else helpers
    if sandbox.level == PORTABLE:
        with portable_job(sandbox, limits, helpers) as made:
            yield made
        return
    if not sandbox.strong:
        with tempfile.TemporaryDirectory(prefix="rnn-grader-") as tmp:
            yield unconfined_job(
                sandbox, Path(tmp), helpers, lambda env: basic_launcher(limits, env)
            )
        return
    if sandbox.rootless:
        # No uid of its own to sweep: each program's PID namespace dies with its init, which
        # ``unshare --kill-child`` kills when the grader kills the program (or dies itself).
        with rootless_root() as root:
            yield strong_job(sandbox, root, limits, None, None, golden_dirs, helpers)
        return
    with hold_uids(2) as (kernel_uid, judge_uid), job_root(limits) as root:
        try:
            yield strong_job(sandbox, root, limits, kernel_uid, judge_uid, golden_dirs, helpers)
        finally:
            for uid in (kernel_uid, judge_uid):
                kill_uid(uid)


@contextlib.contextmanager
def portable_job(sandbox: Sandbox, limits: Limits, helpers: Path) -> Iterator[Job]:
    """One notebook's job at the portable level; everything it started is dead when it exits.

    ``helpers``: the folder of the course helper modules (see :func:`job`).
    """
    windows_job = WindowsJob(limits)
    watch = TreeWatch(limits.memory_bytes, windows_job)
    # ignore_cleanup_errors: on Windows a file still open by a dying process cannot be removed.
    with tempfile.TemporaryDirectory(prefix="rnn-grader-", ignore_cleanup_errors=True) as tmp:
        try:
            yield unconfined_job(
                sandbox,
                Path(tmp),
                helpers,
                lambda env: PortableLauncher(env, watch),
                kernel_guard=PortableKernel(watch, limits),
            )
        finally:
            watch.close()
            windows_job.close()


def strong_job(
    sandbox: Sandbox,
    root: Path,
    limits: Limits,
    kernel_uid: int | None,
    judge_uid: int | None,
    golden_dirs: Sequence[Path],
    helpers: Path,
) -> Job:
    """Kernel and judge each in their own namespaces and view; with uids as root (else None)."""
    workdir, judgedir, home_k, home_j = layout(root)
    prepare_workdir(workdir, helpers)
    compat = root / "compat"
    compat.mkdir()
    copy_helpers(helpers, compat)
    os.chmod(compat, 0o755)
    for path in compat.iterdir():
        os.chmod(path, 0o644)
    identity = {"USER": "student", "LOGNAME": "student"}
    kernel_env = child_env(home_k, identity)
    judge_env = child_env(home_j, identity)
    for d, uid in ((workdir, kernel_uid), (home_k, kernel_uid), (judgedir, judge_uid),
                   (home_j, judge_uid)):  # fmt: skip
        if uid is not None:
            chown_tree(d, uid)
        os.chmod(d, 0o700)
    hidden = tuple(Path(g) for g in golden_dirs)
    # Each program sees only its own part of the job: the kernel its notebook directory and
    # home, the judge its directory, home and the course helpers.
    kernel_view = job_view(
        kernel_uid, home_k, [Bind(workdir, writable=True), Bind(home_k, writable=True)], hidden
    )
    judge_view = job_view(
        judge_uid,
        home_j,
        [Bind(judgedir, writable=True), Bind(home_j, writable=True), Bind(compat)],
        hidden,
    )
    judge_prefix = prefix(judge_view, uid=judge_uid, nproc=limits.processes)

    def launch(cmd: list[str], cwd: Path, extra_env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*judge_prefix, *cmd],
            cwd=cwd,
            env={**judge_env, **extra_env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            preexec_fn=make_preexec(limits, memory=False),
        )

    return Job(
        sandbox=sandbox,
        root=root,
        workdir=workdir,
        judgedir=judgedir,
        kernel_env=kernel_env,
        judge_env=judge_env,
        kernel_prefix=prefix(kernel_view, uid=kernel_uid, nproc=limits.processes),
        launcher=launch,
        kernel_uid=kernel_uid,
        judge_uid=judge_uid,
        compat=compat,
        uids=tuple(u for u in (kernel_uid, judge_uid) if u is not None),
    )
