"""The isolation levels: what a :class:`Sandbox` is, which one this machine has
(:func:`select_sandbox`), and the strong level's probe and self-test.

Strong (root on Linux, or rootless with user namespaces; ``grader.sandbox.strong``): every kernel
and every judge runner in its own PID, mount, IPC, UTS and network namespace and its own view of
the file system, as root under its own uid (``grader.sandbox.uids``); :func:`probe_strong` proves
the isolation from inside (:func:`self_test`) before the level is used.

Basic: separate processes, rlimits, timeouts and output caps only (student laptops, macOS,
non-root); a hostile notebook can then read what the grader's user can read. The level in use is
recorded in every result.

Portable (``grader.sandbox.portable``): where the basic level's POSIX primitives are missing
(Windows; macOS, whose RLIMIT_AS is not enforced): spawned processes, a memory watcher, deadlines.

``grader.sandbox.jobs.job`` makes a notebook's sandbox at the chosen level.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.core.config import Limits
from grader.core.errors import InfrastructureError, UsageError
from grader.sandbox import portable
from grader.sandbox.limits import child_env
from grader.sandbox.strong import checkout, golden_dirs, job_view, prefix, rootless_root
from grader.sandbox.uids import STATE_DIR, chown_tree, hold_uids, job_root, kill_uid, state_dirs
from grader.sandbox.view import Bind

#: ``basic`` / ``portable`` force that level; ``strong`` makes an unavailable strong level an error.
ENV_VAR = "RNN_GRADER_SANDBOX"
STRONG, BASIC = "strong", "basic"
PORTABLE = "portable"


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


# --------------------------------------------------------------------------- level selection


def select_sandbox() -> Sandbox:
    """The strongest level available here; cached per process (the self-test costs ~0.4 s).

    ``RNN_GRADER_SANDBOX=basic`` forces basic; ``=strong`` raises :class:`SandboxError` when the
    strong level is unavailable instead of silently grading with less isolation (so does
    ``=basic`` where the basic level cannot run); ``=portable`` forces portable. Without strong,
    the choice is basic where its POSIX primitives work, else portable. Any other
    non-empty value (a typo) is a usage error (exit 2), never a silent automatic choice.
    """
    raw = os.environ.get(ENV_VAR, "")
    wanted = raw.strip().lower()
    allowed = (STRONG, BASIC, PORTABLE)  # a new level goes here and gets its branch below
    if wanted and wanted not in allowed:
        raise UsageError(
            f"{ENV_VAR}={raw!r} is not a sandbox level; use one of {', '.join(allowed)} "
            "(or leave it unset to pick the strongest available)"
        )
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
    found = probe_strong()
    if wanted == STRONG and not found.strong:
        raise SandboxError(
            f"{ENV_VAR}=strong but the strong sandbox is unavailable: {', '.join(found.missing)}"
        )
    if not found.strong and (lacking := portable.basic_missing()):
        # Capabilities, not platform names: Windows lacks resource/fork/preexec_fn, macOS
        # does not enforce RLIMIT_AS; Linux with RNN_GRADER_SANDBOX=portable runs this path too.
        return Sandbox(PORTABLE, (*lacking, *portable.GAPS))
    return found


# --------------------------------------------------------------------------- the strong level's probe


#: Commands the strong level runs (``pivot_root`` before entering the view, the rest inside too).
_TOOLS = ("unshare", "setpriv", "prlimit", "mount", "umount", "pivot_root")
#: What the rootless strong level cannot enforce without root (recorded in every result).
ROOTLESS_GAPS = (
    "root: kernel and judge share the grader's uid (own user namespace, no capabilities)",
    "root: the job directory is not a size-limited tmpfs (RLIMIT_FSIZE still bounds each file)",
)


_PROBE_LOCK = threading.Lock()


def prefetch() -> None:
    """Start proving the strong level in the background, so it overlaps the caller's start-up.

    A no-op when a level is forced (``RNN_GRADER_SANDBOX``) or the proof is already known;
    :func:`select_sandbox` later waits for the same proof instead of running its own.
    """
    if os.environ.get(ENV_VAR, "").strip() or _probe_strong.cache_info().currsize:
        return
    if portable.posix_missing():  # select_sandbox will not probe either
        return
    # Not a daemon: an early exit waits for the proof to finish and clean up its job.
    threading.Thread(target=probe_strong, name="sandbox-probe").start()


def probe_strong() -> Sandbox:
    """The strong level if it works here, else basic with what is missing; cached (~0.3 s)."""
    with _PROBE_LOCK:  # one proof per process, whichever thread asks first
        return _probe_strong()


@functools.lru_cache(maxsize=1)
def _probe_strong() -> Sandbox:
    if not sys.platform.startswith("linux"):
        return Sandbox(BASIC, ("linux",))
    missing = [tool for tool in _TOOLS if shutil.which(tool, path=_tool_path()) is None]
    if missing:
        return Sandbox(BASIC, tuple(missing))
    rootless = os.geteuid() != 0
    if not rootless:
        try:
            state_dirs()
        except OSError as exc:
            return Sandbox(BASIC, (f"writable {STATE_DIR} ({exc.strerror})",))
    problem = self_test(rootless)
    if problem and rootless:
        return Sandbox(BASIC, ("root", f"user namespaces: {problem}"))
    if problem:
        return Sandbox(BASIC, (f"self-test: {problem}",))
    return Sandbox(STRONG, ROOTLESS_GAPS if rootless else (), rootless=rootless)


def _tool_path() -> str:
    return os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/sbin"))


# Runs inside the view: reports who it is and everything it can see, for self_test to judge.
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


def self_test(rootless: bool) -> str:
    """Run a tiny Python in the view and check that the isolation really holds; "" when it does.

    Proved from inside: the mount table holds only the view's mount points, the places an
    instructor keeps things (the grader's cwd and home, the checkout, golden sets) do not exist,
    and the identity, capabilities and PID namespace are the sandbox's.
    """
    probes = sorted(
        {str(Path.cwd()), str(Path.home()), *map(str, golden_dirs(()))}
        | ({str(c)} if (c := checkout()) is not None else set())
    )
    try:
        with contextlib.ExitStack() as stack:
            uid = None if rootless else stack.enter_context(hold_uids(1))[0]
            root = stack.enter_context(rootless_root() if rootless else job_root(Limits()))
            home = root / "home"
            env = child_env(home)
            if uid is not None:
                chown_tree(home, uid)
            view = job_view(uid, home, [Bind(home, writable=True)], ())
            cmd = [
                *prefix(view, uid=uid, nproc=64),
                sys.executable, "-I", "-c", _SELF_TEST, json.dumps(probes),
                json.dumps([str(p) for p in view.allowed()]),
            ]  # fmt: skip
            proc = subprocess.run(
                cmd, cwd=home, env=env, capture_output=True, timeout=60, check=False
            )
            if uid is not None:
                kill_uid(uid)
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
