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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import shlex
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from grader.config import Limits
from grader.dispatch import Launcher, basic_launcher
from grader.errors import InfrastructureError
from grader.limits import child_env, make_preexec
from grader.resources import compat_dir, data_dir

#: ``basic`` forces the basic level; ``strong`` makes an unavailable strong level an error.
ENV_VAR = "RNN_GRADER_SANDBOX"
STRONG, BASIC = "strong", "basic"

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

    @property
    def strong(self) -> bool:
        return self.level == STRONG


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


# --------------------------------------------------------------------------- level selection


def select_sandbox() -> Sandbox:
    """The strongest level available here; cached per process (the self-test costs ~0.4 s).

    ``RNN_GRADER_SANDBOX=basic`` forces basic; ``=strong`` raises :class:`SandboxError` when the
    strong level is unavailable instead of silently grading with less isolation.
    """
    wanted = os.environ.get(ENV_VAR, "").strip().lower()
    if wanted == BASIC:
        return Sandbox(BASIC, (f"{ENV_VAR}=basic",))
    found = _probe()
    if wanted == STRONG and not found.strong:
        raise SandboxError(
            f"{ENV_VAR}=strong but the strong sandbox is unavailable: {', '.join(found.missing)}"
        )
    return found


@functools.lru_cache(maxsize=1)
def _probe() -> Sandbox:
    missing: list[str] = []
    if not sys.platform.startswith("linux"):
        return Sandbox(BASIC, ("linux",))
    if os.geteuid() != 0:
        missing.append("root")
    for tool in ("unshare", "setpriv", "prlimit", "mount", "umount"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if missing:
        return Sandbox(BASIC, tuple(missing))
    try:
        _state_dirs()
    except OSError as exc:
        return Sandbox(BASIC, (f"writable {STATE_DIR} ({exc.strerror})",))
    problem = _self_test()
    if problem:
        return Sandbox(BASIC, (f"self-test: {problem}",))
    return Sandbox(STRONG)


_SELF_TEST = r"""
import json, os, sys
out = {"uid": os.getuid(), "groups": os.getgroups(), "ppid": os.getppid()}
import numpy, grader.runner
out["hidden"] = [p for p in sys.argv[1:] if os.path.isdir(p) and os.listdir(p)]
with open("/proc/self/status") as f:
    caps = dict(l.split(":", 1) for l in f if l.startswith(("CapEff", "CapBnd", "NoNewPrivs")))
out["caps"] = {k: v.strip() for k, v in caps.items()}
try:
    import solutions
    out["solutions"] = True
except ImportError:
    out["solutions"] = False
out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(json.dumps(out))
"""


def _self_test() -> str:
    """Run a tiny sandboxed Python and check the isolation really holds; "" when it does."""
    golden = [str(p) for p in _golden_dirs(())]
    try:
        with _uids(1) as (uid,), _job_root(Limits()) as root:
            home = root / "home"
            env = child_env(home)
            _chown_tree(home, uid)
            cmd = [
                *_prefix(uid, root, hidden_golden=()),
                sys.executable, "-I", "-c", _SELF_TEST, *golden,
            ]  # fmt: skip
            proc = subprocess.run(
                cmd, cwd=home, env=env, capture_output=True, timeout=60, check=False
            )
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
    checks = {
        "uid not switched": got["uid"] != uid,
        "supplementary groups kept": bool(got["groups"]),
        "golden visible": bool(got["hidden"]),
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
    if not sandbox.strong:
        with tempfile.TemporaryDirectory(prefix="rnn-grader-") as tmp:
            yield _basic_job(sandbox, Path(tmp), limits)
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
    from grader.execute import prepare_workdir

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
    kernel_uid: int,
    judge_uid: int,
    golden_dirs: Sequence[Path],
) -> Job:
    from grader.execute import prepare_workdir

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
        _chown_tree(d, uid)
        os.chmod(d, 0o700)
    hidden = tuple(Path(g) for g in golden_dirs)
    judge_prefix = _prefix(judge_uid, root, hidden_golden=hidden, nproc=limits.processes)

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
        kernel_prefix=_prefix(kernel_uid, root, hidden_golden=hidden, nproc=limits.processes),
        launcher=launch,
        kernel_uid=kernel_uid,
        judge_uid=judge_uid,
        compat=compat,
        uids=(kernel_uid, judge_uid),
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


# --------------------------------------------------------------------------- the command


def _interpreter_paths() -> list[Path]:
    """Directories a sandboxed ``python -I -m grader.runner`` / ipykernel needs to read."""
    import numpy

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent}
    paths.update(Path(p) for p in site.getsitepackages())
    paths.add(Path(numpy.__file__).resolve().parent.parent)
    paths.add(_grader_dir())
    found = {p.resolve() for p in paths if p.exists()}
    # Nested directories are already reachable through their outermost kept ancestor.
    return sorted(p for p in found if not any(q in p.parents for q in found))


def _grader_dir() -> Path:
    return Path(__file__).resolve().parent


def _checkout() -> Path | None:
    """The source checkout holding ``grader/`` (an editable install), if it is one."""
    parent = _grader_dir().parent
    if (parent / "pyproject.toml").exists() or (parent / "solutions").is_dir():
        return parent
    return None


def _untraversable_ancestor(path: Path) -> Path | None:
    """The highest ancestor of ``path`` that other uids cannot enter (``/root`` is 0700)."""
    for ancestor in reversed(path.parents):
        if ancestor == Path("/"):
            continue
        try:
            if not os.stat(ancestor).st_mode & 0o001:
                return ancestor
        except OSError:
            return None
    return None


def _golden_dirs(extra: Sequence[Path]) -> list[Path]:
    dirs = {data_dir("golden").resolve(), *(Path(p).resolve() for p in extra)}
    checkout = _checkout()
    if checkout is not None:
        dirs.update(checkout / name for name in ("golden", "solutions"))
    return sorted(d for d in dirs if d.is_dir())


def mount_plan(
    job_root: Path, hidden_golden: Sequence[Path] = ()
) -> tuple[list[tuple[Path, list[tuple[Path, bool]]]], list[Path]]:
    """(directories to cover with a tmpfs, each with (path, read_only) bound back), and
    directories to empty. Outer directories come first."""
    keeps = _interpreter_paths()
    covers: dict[Path, list[tuple[Path, bool]]] = {}
    for path in keeps:
        top = _untraversable_ancestor(path)
        if top is not None:
            covers.setdefault(top, [])
    checkout = _checkout()
    if checkout is not None:
        covers.setdefault(checkout, [])
    covers.setdefault(STATE_DIR, [])
    for top, kept in covers.items():
        kept.extend((p, True) for p in keeps if p != top and top in p.parents)
        if top == STATE_DIR or top in job_root.parents:
            kept.append((job_root, False))
    ordered = sorted(covers.items(), key=lambda item: len(item[0].parts))
    return ordered, _golden_dirs(hidden_golden)


def _mount_script(job_root: Path, hidden_golden: Sequence[Path]) -> str:
    covers, empties = mount_plan(job_root, hidden_golden)
    q = shlex.quote
    stage = "/dev/shm"  # a scratch mount point that always exists; replaced at the end
    tmpfs = f"nosuid,nodev,size={_TMPFS_SIZE},nr_inodes={_TMPFS_INODES}"
    lines = [
        "set -e",
        # PID 1 ignores these (jupyter_client interrupts the whole process group); ipykernel
        # installs its own SIGINT handler while a cell runs, so interrupts still reach it.
        "trap '' INT QUIT TERM",
        f"mount -t tmpfs -o mode=0700,size=1m tmpfs {stage}",
    ]
    # Private /tmp and /var/tmp first, binding back what must stay visible (a checkout or venv
    # that lives there, as a CI clone in /tmp does); the covers below then apply on top.
    needed = _interpreter_paths() + ([c] if (c := _checkout()) is not None else [])
    for i, scratch in enumerate((Path("/tmp"), Path("/var/tmp"))):
        inside = [p for p in needed if scratch in p.parents]
        body = []
        if inside:
            stash = f"{stage}/scratch{i}"
            body += [f"mkdir {stash}", f"mount --rbind {q(str(scratch))} {stash}"]
        body.append(f"mount -t tmpfs -o mode=1777,{tmpfs} tmpfs {q(str(scratch))}")
        for path in inside:
            src, dst = q(f"{stage}/scratch{i}/{path.relative_to(scratch)}"), q(str(path))
            body.append(f"mkdir -p {dst}; mount --rbind {src} {dst}")
        if inside:
            body.append(f"umount -l {stage}/scratch{i}")
        lines.append(f"if [ -d {q(str(scratch))} ]; then {'; '.join(body)}; fi")
    for n, (top, kept) in enumerate(covers):
        s = f"{stage}/{n}"
        body = [
            f"mkdir {s}",
            f"mount --rbind {q(str(top))} {s}",
            f"mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev tmpfs {q(str(top))}",
        ]
        for path, read_only in kept:
            rel = path.relative_to(top)
            src, dst = q(f"{s}/{rel}"), q(str(path))
            ro = " -o ro" if read_only else ""
            body.append(f"if [ -e {src} ]; then mkdir -p {dst}; mount --bind{ro} {src} {dst}; fi")
        body.append(f"umount -l {s}")
        lines.append(f"if [ -d {q(str(top))} ]; then {'; '.join(body)}; fi")
    for d in empties:
        lines.append(
            f"if [ -d {q(str(d))} ]; then "
            f"mount -t tmpfs -o mode=0555,size=4k,nr_inodes=16,nosuid,nodev tmpfs {q(str(d))}; fi"
        )
    lines.append(f"umount -l {stage}")
    lines.append(f"if [ -d /dev/shm ]; then mount -t tmpfs -o mode=1777,{tmpfs} tmpfs /dev/shm; fi")
    # The cwd was resolved before the mounts; re-enter it through the new tree.
    lines.append('cd "$(pwd -P)" 2>/dev/null || true')
    # The grader's pid means nothing in this PID namespace; and with it set, ipykernel's parent
    # poller sees its parent (this init, pid 1) as "init" and shuts the kernel down.
    lines.append("unset JPY_PARENT_PID")
    # A background command's stdin is /dev/null unless redirected: the judge runner reads its
    # request from stdin, so hand the real one over explicitly.
    lines.append("exec 3<&0")
    lines.append('"$@" <&3 3<&- &')
    lines.append("exec 3<&-")
    lines.append("wait $!")
    return "\n".join(lines)


def _prefix(
    uid: int, job_root: Path, *, hidden_golden: Sequence[Path], nproc: int = 256
) -> list[str]:
    """The command words placed before a sandboxed program's own argv."""
    return [
        "unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
        "--mount", "--propagation", "private", "--ipc", "--uts", "--net",
        "sh", "-c", _mount_script(job_root, hidden_golden), "rnn-grader-init",
        "prlimit", f"--nproc={nproc}:{nproc}", "--",
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
        "--inh-caps=-all", "--bounding-set=-all",
        "--",
    ]  # fmt: skip


def wait_gone(uids: Iterable[int], timeout: float = 5.0) -> list[psutil.Process]:
    """Processes of ``uids`` still alive after ``timeout`` seconds (for tests)."""
    deadline = time.monotonic() + timeout
    while True:
        left = _processes_of(uids)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)
