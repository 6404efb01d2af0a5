"""Where student code runs: the *strong* sandbox (root on Linux) or the *basic* one (anywhere).

Strong: every kernel and every judge runner runs under its own uid (allocated from a range with
``flock``-ed slot files, so parallel grader processes never share one), in its own PID, mount, IPC,
UTS and network namespace, started as ``unshare … sh -c MOUNTS … setpriv …``:

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
* the job directory is a size- and inode-limited tmpfs: a notebook cannot fill the disk.

Basic: separate processes, rlimits, timeouts and output caps only (student laptops, macOS,
non-root); a hostile notebook can then read what the grader's user can read. The level in use is
recorded in every result.

Portable (``grader.sandbox.portable``): where the basic level's POSIX primitives are missing (Windows;
macOS, whose RLIMIT_AS is not enforced): spawned processes, a memory watcher, deadlines.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from grader.core.config import Limits
from grader.core.errors import InfrastructureError
from grader.core.resources import compat_dir, data_dir
from grader.judge.dispatch import Launcher, basic_launcher
from grader.sandbox.limits import child_env, make_preexec
from grader.sandbox.view import Bind, View, grader_dir, init_script, plan

if TYPE_CHECKING:
    from grader.stages.execute import KernelGuard

#: ``basic`` / ``portable`` force that level; ``strong`` makes an unavailable strong level an error.
ENV_VAR = "RNN_GRADER_SANDBOX"
STRONG, BASIC = "strong", "basic"
PORTABLE = "portable"

#: Root-owned state: ``slots/`` (one lock file per uid) and ``jobs/`` (one tmpfs per job).
STATE_DIR = Path("/run/rnn-grader")
#: Sandbox uids (and gids): far above distribution and login ranges.
UID_BASE = 61000
UID_COUNT = 1000

#: Sizes of the private tmpfs mounts inside a sandbox.
_TMPFS_SIZE = 64 << 20
_TMPFS_INODES = 4096
_JOB_INODES = 20000
#: Extra room in a job's tmpfs above one maximal file (helpers, sockets, homes).
_JOB_SLACK = 64 << 20


class SandboxError(InfrastructureError):
    """The strong sandbox was required (``RNN_GRADER_SANDBOX=strong``) but is unavailable."""


@dataclass(frozen=True)
class Sandbox:
    """The isolation level this process grades with, and what was missing for ``strong``."""

    level: str
    missing: tuple[str, ...] = ()
    #: strong without root: a user namespace instead of per-job uids (see ``docs/security.md``)
    rootless: bool = False

    @property
    def strong(self) -> bool:
        return self.level == STRONG

    @property
    def name(self) -> str:
        """What results record: ``strong``, ``strong-rootless``, ``basic`` or ``portable``."""
        return f"{STRONG}-rootless" if self.strong and self.rootless else self.level


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


# --------------------------------------------------------------------------- level selection


def select_sandbox() -> Sandbox:
    """The strongest level available here; cached per process (the self-test costs ~0.4 s).

    ``RNN_GRADER_SANDBOX=basic`` forces basic; ``=strong`` raises :class:`SandboxError` when the
    strong level is unavailable instead of silently grading with less isolation (so does
    ``=basic`` where the basic level cannot run); ``=portable`` forces portable. Without strong,
    the choice is basic where its POSIX primitives work, else portable. Any other
    non-empty value (a typo) is a usage error (exit 2), never a silent automatic choice.
    """
    from grader.core.errors import UsageError

    raw = os.environ.get(ENV_VAR, "")
    wanted = raw.strip().lower()
    allowed = (STRONG, BASIC, PORTABLE)  # a new level goes here and gets its branch below
    if wanted and wanted not in allowed:
        raise UsageError(
            f"{ENV_VAR}={raw!r} is not a sandbox level; use one of {', '.join(allowed)} "
            "(or leave it unset to pick the strongest available)"
        )
    from grader.sandbox import portable
    if wanted == PORTABLE:
        return Sandbox(PORTABLE, (f"{ENV_VAR}=portable", *portable.GAPS))
    if wanted == BASIC:
        if lacking := portable.basic_missing():
            raise SandboxError(
                f"{ENV_VAR}=basic but the basic level cannot run here: no {', '.join(lacking)}"
            )
        return Sandbox(BASIC, (f"{ENV_VAR}=basic",))
    if lacking := portable.posix_missing():  # strong builds on them too: no need to probe it
        if wanted == STRONG:
            raise SandboxError(
                f"{ENV_VAR}=strong but the strong sandbox is unavailable: no {', '.join(lacking)}"
            )
        return Sandbox(PORTABLE, (*lacking, *portable.GAPS))
    found = _probe()
    if wanted == STRONG and not found.strong:
        raise SandboxError(
            f"{ENV_VAR}=strong but the strong sandbox is unavailable: {', '.join(found.missing)}"
        )
    if not found.strong and (lacking := portable.basic_missing()):
        # Capabilities, not platform names: Windows lacks resource/fork/preexec_fn, macOS
        # does not enforce RLIMIT_AS; Linux with RNN_GRADER_SANDBOX=portable runs this path too.
        return Sandbox(PORTABLE, (*lacking, *portable.GAPS))
    return found


#: Commands the strong level runs (``pivot_root`` before entering the view, the rest inside too).
_TOOLS = ("unshare", "setpriv", "prlimit", "mount", "umount", "pivot_root")
#: What the rootless strong level cannot enforce without root (recorded in every result).
ROOTLESS_GAPS = (
    "root: kernel and judge share the grader's uid (own user namespace, no capabilities)",
    "root: the job directory is not a size-limited tmpfs (RLIMIT_FSIZE still bounds each file)",
)


@functools.lru_cache(maxsize=1)
def _probe() -> Sandbox:
    if not sys.platform.startswith("linux"):
        return Sandbox(BASIC, ("linux",))
    missing = [tool for tool in _TOOLS if shutil.which(tool, path=_tool_path()) is None]
    if missing:
        return Sandbox(BASIC, tuple(missing))
    rootless = os.geteuid() != 0
    if not rootless:
        try:
            _state_dirs()
        except OSError as exc:
            return Sandbox(BASIC, (f"writable {STATE_DIR} ({exc.strerror})",))
    problem = _self_test(rootless)
    if problem and rootless:
        return Sandbox(BASIC, ("root", f"user namespaces: {problem}"))
    if problem:
        return Sandbox(BASIC, (f"self-test: {problem}",))
    return Sandbox(STRONG, ROOTLESS_GAPS if rootless else (), rootless=rootless)


def _tool_path() -> str:
    return os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/sbin"))


# Runs inside the view: reports who it is and everything it can see, for _self_test to judge.
_SELF_TEST = r"""
import json, os, sys
probes, allowed = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {"uid": os.getuid(), "groups": os.getgroups(), "ppid": os.getppid()}
import numpy, grader.judge.runner
def on_the_way(path):  # an allowed path, inside one, or a directory leading to one
    return any(a == path or a.startswith(path + "/") or path.startswith(a + "/") for a in allowed)
out["visible"] = []
for p in probes:
    if os.path.isdir(p):
        out["visible"] += [f for f in (os.path.join(p, e) for e in os.listdir(p)) if not on_the_way(f)]
    elif os.path.exists(p) and not on_the_way(p):
        out["visible"].append(p)
with open("/proc/self/status") as f:
    caps = dict(l.split(":", 1) for l in f if l.startswith(("CapEff", "CapBnd", "NoNewPrivs")))
out["caps"] = {k: v.strip() for k, v in caps.items()}
try:
    import solutions
    out["solutions"] = True
except ImportError:
    out["solutions"] = False
out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
with open("/proc/self/mountinfo") as f:
    out["mounts"] = sorted({l.split()[4].replace("\040", " ") for l in f})
out["root"] = sorted(os.listdir("/"))
for point in ("/usr/lib", sys.prefix):
    try:
        open(os.path.join(point, ".rnn-grader-write-probe"), "w").close()
        out.setdefault("writable", []).append(point)
    except OSError:
        pass
print(json.dumps(out))
"""


def _self_test(rootless: bool) -> str:
    """Run a tiny Python in the view and check that the isolation really holds; "" when it does.

    Proved from inside: the mount table holds only the view's mount points, the places an
    instructor keeps things (the grader's cwd and home, the checkout, golden sets) do not exist,
    and the identity, capabilities and PID namespace are the sandbox's.
    """
    probes = sorted(
        {str(Path.cwd()), str(Path.home()), *map(str, _golden_dirs(()))}
        | ({str(c)} if (c := _checkout()) is not None else set())
    )
    try:
        with contextlib.ExitStack() as stack:
            uid = None if rootless else stack.enter_context(_uids(1))[0]
            root = stack.enter_context(_rootless_root() if rootless else _job_root(Limits()))
            home = root / "home"
            env = child_env(home)
            if uid is not None:
                _chown_tree(home, uid)
            view = _view(uid, home, [Bind(home, writable=True)], ())
            cmd = [
                *_prefix(view, uid=uid, nproc=64),
                sys.executable, "-I", "-c", _SELF_TEST, json.dumps(probes),
                json.dumps([str(p) for p in view.allowed()]),
            ]  # fmt: skip
            proc = subprocess.run(
                cmd, cwd=home, env=env, capture_output=True, timeout=60, check=False
            )
            if uid is not None:
                _kill_uid(uid)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return f"a sandboxed python failed ({proc.returncode}): {tail[0][:200]}"
    try:
        got = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "a sandboxed python printed no result"
    extra_mounts = sorted(set(got["mounts"]) - view.mount_points())
    checks = {
        "uid not switched": got["uid"] != (0 if uid is None else uid),
        "supplementary groups kept": uid is not None and bool(got["groups"]),
        f"outside the view: {', '.join(got['visible'])}": bool(got["visible"]),
        f"mounts outside the allow-list: {', '.join(extra_mounts)}": bool(extra_mounts),
        f"writable: {', '.join(got.get('writable', []))}": bool(got.get("writable")),
        "solutions importable": got["solutions"],
        "capabilities kept": int(got["caps"].get("CapEff", "1"), 16) != 0
        or int(got["caps"].get("CapBnd", "1"), 16) != 0,
        "no_new_privs not set": got["caps"].get("NoNewPrivs") != "1",
        "grader processes visible": max(got["pids"], default=0) > 50 or got["ppid"] != 1,
    }
    failed = [name for name, bad in checks.items() if bad]
    return ", ".join(failed)


# --------------------------------------------------------------------------- jobs


@contextlib.contextmanager
def job(sandbox: Sandbox, limits: Limits, *, golden_dirs: Sequence[Path] = ()) -> Iterator[Job]:
    """A fresh sandbox for one notebook; everything it started is dead when the block exits.

    ``golden_dirs``: golden directories in use besides the shipped one (``--golden DIR``); they
    are hidden from student code like the shipped one.
    """
    if sandbox.level == PORTABLE:
        from grader.sandbox.portable import portable_job

        with portable_job(sandbox, limits) as portable:
            yield portable
        return
    if not sandbox.strong:
        with tempfile.TemporaryDirectory(prefix="rnn-grader-") as tmp:
            yield _basic_job(sandbox, Path(tmp), limits)
        return
    if sandbox.rootless:
        # No uid of its own to sweep: each program's PID namespace dies with its init, which
        # ``unshare --kill-child`` kills when the grader kills the program (or dies itself).
        with _rootless_root() as root:
            yield _strong_job(sandbox, root, limits, None, None, golden_dirs)
        return
    with _uids(2) as (kernel_uid, judge_uid), _job_root(limits) as root:
        try:
            yield _strong_job(sandbox, root, limits, kernel_uid, judge_uid, golden_dirs)
        finally:
            for uid in (kernel_uid, judge_uid):
                _kill_uid(uid)


def _layout(root: Path) -> tuple[Path, Path, Path, Path]:
    dirs = (root / "notebook", root / "judge", root / "home-kernel", root / "home-judge")
    for d in dirs:
        d.mkdir()
    return dirs


def _copy_compat(dest: Path) -> Path:
    dest.mkdir()
    for module in sorted(compat_dir().glob("*.py")):
        if module.name != "__init__.py":
            shutil.copyfile(module, dest / module.name)
    return dest


def _basic_job(sandbox: Sandbox, root: Path, limits: Limits) -> Job:
    from grader.stages.execute import prepare_workdir

    workdir, judgedir, home_k, home_j = _layout(root)
    prepare_workdir(workdir)
    judge_env = child_env(home_j)
    return Job(
        sandbox=sandbox,
        root=root,
        workdir=workdir,
        judgedir=judgedir,
        kernel_env=child_env(home_k),
        judge_env=judge_env,
        kernel_prefix=[],
        launcher=basic_launcher(limits, judge_env),
        kernel_uid=None,
        judge_uid=None,
        compat=compat_dir(),
    )


def _strong_job(
    sandbox: Sandbox,
    root: Path,
    limits: Limits,
    kernel_uid: int | None,
    judge_uid: int | None,
    golden_dirs: Sequence[Path],
) -> Job:
    """Kernel and judge each in their own namespaces and view; with uids as root (else None)."""
    from grader.stages.execute import prepare_workdir

    workdir, judgedir, home_k, home_j = _layout(root)
    prepare_workdir(workdir)
    compat = _copy_compat(root / "compat")
    os.chmod(compat, 0o755)
    for path in compat.iterdir():
        os.chmod(path, 0o644)
    identity = {"USER": "student", "LOGNAME": "student"}
    kernel_env = child_env(home_k, identity)
    judge_env = child_env(home_j, identity)
    for d, uid in ((workdir, kernel_uid), (home_k, kernel_uid), (judgedir, judge_uid),
                   (home_j, judge_uid)):  # fmt: skip
        if uid is not None:
            _chown_tree(d, uid)
        os.chmod(d, 0o700)
    hidden = tuple(Path(g) for g in golden_dirs)
    # Each program sees only its own part of the job: the kernel its notebook directory and
    # home, the judge its directory, home and the course helpers.
    kernel_view = _view(
        kernel_uid, home_k, [Bind(workdir, writable=True), Bind(home_k, writable=True)], hidden
    )
    judge_view = _view(
        judge_uid,
        home_j,
        [Bind(judgedir, writable=True), Bind(home_j, writable=True), Bind(compat)],
        hidden,
    )
    judge_prefix = _prefix(judge_view, uid=judge_uid, nproc=limits.processes)

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
        kernel_prefix=_prefix(kernel_view, uid=kernel_uid, nproc=limits.processes),
        launcher=launch,
        kernel_uid=kernel_uid,
        judge_uid=judge_uid,
        compat=compat,
        uids=tuple(u for u in (kernel_uid, judge_uid) if u is not None),
    )


def _chown_tree(path: Path, uid: int) -> None:
    os.chown(path, uid, uid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


# --------------------------------------------------------------------------- uids


def _state_dirs() -> tuple[Path, Path]:
    slots, jobs = STATE_DIR / "slots", STATE_DIR / "jobs"
    for d, mode in ((STATE_DIR, 0o711), (slots, 0o700), (jobs, 0o711)):
        d.mkdir(mode=mode, exist_ok=True)
        os.chown(d, 0, 0)
        os.chmod(d, mode)
    return slots, jobs


@contextlib.contextmanager
def _uids(n: int) -> Iterator[tuple[int, ...]]:
    """``n`` distinct uids held by this process until the block exits (flock: other processes
    and threads skip them; the kernel drops the lock if the holder dies)."""
    import fcntl  # POSIX only: not needed to import this module (portable level)

    slots, _ = _state_dirs()
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
            _kill_uid(uid)
            held.append((uid, fd))
        if len(held) < n:
            raise OSError(errno.EAGAIN, f"all {UID_COUNT} sandbox uids are in use")
        yield tuple(uid for uid, _ in held)
    finally:
        for _, fd in held:
            os.close(fd)  # closing releases the flock


def _processes_of(uids: Iterable[int]) -> list[psutil.Process]:
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


def processes_of(uids: Iterable[int]) -> list[psutil.Process]:
    """Live (non-zombie) processes running under any of ``uids`` (for tests and audits)."""
    return _processes_of(uids)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` until none is left (a fork bomb refills between scans)."""
    for _ in range(50):
        procs = _processes_of([uid])
        if not procs:
            return
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=0.2)


# --------------------------------------------------------------------------- job directory


@contextlib.contextmanager
def _job_root(limits: Limits) -> Iterator[Path]:
    """A root-owned directory backed by its own tmpfs (bounded bytes and inodes), removed after."""
    _, jobs = _state_dirs()
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


@contextlib.contextmanager
def _rootless_root() -> Iterator[Path]:
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


def _checkout() -> Path | None:
    """The source checkout holding ``grader/`` (an editable install), if it is one."""
    parent = grader_dir().parent
    if (parent / "pyproject.toml").exists() or (parent / "solutions").is_dir():
        return parent
    return None


def _golden_dirs(extra: Sequence[Path]) -> list[Path]:
    """Golden sets (and a checkout's reference) that must never be visible to student code."""
    dirs = {data_dir("golden").resolve(), *(Path(p).resolve() for p in extra)}
    checkout = _checkout()
    if checkout is not None:
        dirs.update(checkout / name for name in ("golden", "solutions"))
    return sorted(d for d in dirs if d.is_dir())


def _view(uid: int | None, home: Path, binds: Sequence[Bind], hidden: Sequence[Path]) -> View:
    return plan(binds, hidden=_golden_dirs(hidden), uid=0 if uid is None else uid, home=home)


def _prefix(view: View, *, uid: int | None, nproc: int) -> list[str]:
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


def wait_gone(uids: Iterable[int], timeout: float = 5.0) -> list[psutil.Process]:
    """Processes of ``uids`` still alive after ``timeout`` seconds (for tests)."""
    deadline = time.monotonic() + timeout
    while True:
        left = _processes_of(uids)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)
