"""How sandboxed programs are started: the judge's runner (launchers) and the notebook's kernel.

A :data:`Launcher` starts the judge's runner (``grader.judge.dispatch.run_exercises`` calls it
with the runner's command, working directory and extra environment); each level of
``grader.sandbox.jobs`` makes its own. A :class:`KernelGuard` tells
``grader.stages.execute`` how to start and watch the kernel where ``preexec_fn`` is missing
(the portable level).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from grader.core.config import Limits
from grader.sandbox.limits import make_preexec

Launcher = Callable[[list[str], Path, Mapping[str, str]], subprocess.Popen[bytes]]


def basic_launcher(limits: Limits, env: Mapping[str, str]) -> Launcher:
    """The runner as a child of the grader with rlimits (the basic level)."""

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


class KernelGuard(Protocol):
    """How the kernel is started and watched instead of ``preexec_fn`` (``grader.sandbox.portable``)."""

    def popen_kwargs(self) -> dict[str, Any]: ...  # extra Popen arguments for the kernel
    def started(self, pid: int) -> None: ...  # the kernel process exists: watch it
    def death_reason(self, pid: int) -> str | None: ...  # why it died, when the guard knows
