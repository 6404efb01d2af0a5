"""The allow-list file-system view of the strong sandbox: an empty root with only what Python needs.

A deny-list (cover ``/root``, the checkout, the golden directory in use) cannot know where an
instructor keeps a class's submissions, a private golden set or a second checkout: a student's
cell that walked the file system read every classmate's notebook and printed it into its own
report. So student code gets a fresh, empty root (a small tmpfs) into which only these are bound,
each at its own path, read-only unless said otherwise:

* the interpreter and the libraries of the grader's environment (base prefix, venv, site-packages,
  the ``grader`` package of an editable checkout — never the rest of that checkout), with the
  grader's data (``grader/_data``: golden sets, templates) and every golden directory in use
  covered by an empty read-only tmpfs where they lie inside;
* the system's shared libraries and commands (``/usr/lib*``, ``/lib*``, ``/usr/bin``, ``/bin``:
  ``sh``, ``prlimit`` and ``setpriv`` run inside) and ``/etc/ld.so.cache``;
* a few device nodes (``null zero full random urandom``), a fresh ``/proc`` of the sandbox's own
  PID namespace, private size-limited tmpfs on ``/tmp`` and ``/dev/shm``, and a generated
  ``/etc/passwd``/``/etc/group`` naming only root and ``student``;
* the job's own directories, read-write (the notebook's directory and home, or the judge's).

Nothing else exists inside: no ``/home``, ``/root`` beyond the interpreter, ``/work``, ``/srv``,
``/mnt``, ``/run`` beyond the job. The view is built by the sandbox's init (``sh``, root in its own
mount namespace: real root, or root of a user namespace for the rootless level), which then
``pivot_root``s into it and detaches the old root, so no path leads back out.
"""

from __future__ import annotations

import shlex
import site
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: System directories bound read-only when they exist (symlinks are recreated as symlinks).
SYSTEM_DIRS = (
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/bin",
    "/bin",
)
#: System files bound read-only when they exist.
SYSTEM_FILES = ("/etc/ld.so.cache",)
#: Device nodes bound from the host's /dev.
DEVICES = ("null", "zero", "full", "random", "urandom")
#: Pseudo-terminals a sandbox may hold at once (its own devpts instance at /dev/pts).
PTYS = 16
#: Mount points of private, size-limited tmpfs (never shared with the host or other jobs).
PRIVATE_TMPFS = ("/tmp", "/dev/shm")


@dataclass(frozen=True)
class Bind:
    """A host path bound at the same path inside the view."""

    path: Path
    writable: bool = False


@dataclass(frozen=True)
class View:
    """What one sandboxed program sees (see the module docstring)."""

    binds: tuple[Bind, ...]
    #: symlinks recreated inside (merged /usr: ``/lib -> usr/lib``): (path, target)
    links: tuple[tuple[Path, str], ...]
    #: directories inside a bound tree that are covered by an empty read-only tmpfs
    hidden: tuple[Path, ...]
    uid: int  #: the uid student code runs as inside (named ``student`` in /etc/passwd)
    home: Path

    def allowed(self) -> tuple[Path, ...]:
        """Every path under which a file may be visible inside (for self-tests and audits)."""
        extra = [Path(p) for p in PRIVATE_TMPFS] + [Path("/proc"), Path("/etc"), Path("/dev")]
        return tuple(sorted({b.path for b in self.binds} | set(extra)))

    def mount_points(self) -> frozenset[str]:
        """Every mount point the view has once built (``/proc/self/mountinfo`` inside)."""
        points = {"/", "/proc", *PRIVATE_TMPFS}
        points.update(str(b.path) for b in self.binds)
        points.update(f"/dev/{d}" for d in DEVICES)
        points.add("/dev/pts")
        points.update(str(h) for h in self.hidden)
        return frozenset(points)


def interpreter_paths() -> list[Path]:
    """Directories a sandboxed ``python -I -m grader.judge.runner`` / ipykernel needs to read."""
    import numpy

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent}
    paths.update(Path(p) for p in site.getsitepackages())
    paths.add(Path(numpy.__file__).resolve().parent.parent)
    paths.add(grader_dir())
    found = {p.resolve() for p in paths if p.exists()}
    return outermost(found)


def grader_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def outermost(paths: Iterable[Path]) -> list[Path]:
    """``paths`` without those already inside another one of them."""
    found = set(paths)
    return sorted(p for p in found if not any(q in p.parents for q in found))


def plan(
    job_binds: Sequence[Bind],
    *,
    hidden: Sequence[Path],
    uid: int,
    home: Path,
) -> View:
    """The view for one sandboxed program: the system, the interpreter, ``job_binds``.

    ``hidden``: directories (golden sets in use) to cover wherever they fall inside a bound tree.
    """
    binds: dict[Path, Bind] = {}
    links: list[tuple[Path, str]] = []
    for name in (*SYSTEM_DIRS, *SYSTEM_FILES):
        path = Path(name)
        if path.is_symlink():
            links.append((path, str(path.readlink())))
        elif path.exists():
            binds[path] = Bind(path)
    for path in interpreter_paths():
        if not any(b in path.parents or b == path for b in binds):
            binds[path] = Bind(path)
    for bind in job_binds:
        binds[Path(bind.path)] = bind
    covered = {grader_dir() / "_data", *(Path(h).resolve() for h in hidden)}
    # Outermost only: an installed wheel's golden set lies inside grader/_data, and a mount on
    # it after the empty tmpfs over grader/_data has no mount point (the view failed to build).
    inside = [
        h for h in outermost(covered)
        if h.is_dir() and any(b == h or b in h.parents for b in binds if not binds[b].writable)
    ]  # fmt: skip
    ordered = sorted(binds.values(), key=lambda b: (len(b.path.parts), str(b.path)))
    return View(tuple(ordered), tuple(links), tuple(inside), uid, home)


def init_script(view: View, *, tmpfs_size: int, tmpfs_inodes: int) -> str:
    """The sandbox init's ``sh`` script: build ``view`` under a fresh root, enter it, run ``"$@"``.

    Runs as root of a private mount namespace (real root, or root of a user namespace). Every step
    is checked (``set -e``): a view that cannot be built is an error, never a wider view.
    """
    q = shlex.quote
    new = "/dev/shm"  # an existing mount point; the host's /dev/shm is not needed inside
    tmpfs = f"nosuid,nodev,size={tmpfs_size},nr_inodes={tmpfs_inodes}"
    # Mount points are made by two `mkdir`s, before and after the private tmpfs (which would hide
    # what lies under them): a process per command is the main cost of this script.
    first = ["/dev", "/proc", "/etc", *PRIVATE_TMPFS]
    dirs = [str(p.parent) for p, _ in view.links]
    dirs += [str(b.path if b.path.is_dir() else b.path.parent) for b in view.binds]

    def mkdir(paths: Iterable[str]) -> str:
        return 'cd "$N"; mkdir -p ' + " ".join(q("." + d) for d in sorted(set(paths))) + "; cd /"

    lines = [
        "set -e",
        # PID 1 ignores these (jupyter_client interrupts the whole process group); ipykernel
        # installs its own SIGINT handler while a cell runs, so interrupts still reach it.
        "trap '' INT QUIT TERM",
        "here=$(pwd -P)",
        f"N={new}",
        'mount -t tmpfs -o mode=0755,size=4m,nr_inodes=4096 rnn-grader-view "$N"',
        mkdir(first),
    ]
    for point in PRIVATE_TMPFS:
        lines.append(f'mount -t tmpfs -o mode=1777,{tmpfs} tmpfs "$N{point}"')
    lines.append(mkdir(dirs))
    for path, target in view.links:
        lines.append(f'ln -s {q(target)} "$N"{q(str(path))}')
    for bind in view.binds:
        src, dst = q(str(bind.path)), '"$N"' + q(str(bind.path))
        if not bind.path.is_dir():
            lines.append(f": > {dst}")
        if bind.writable:
            # the job's own directories: nosuid/nodev are the job tmpfs's (or the host's) own
            lines.append(f"mount --bind {src} {dst}")
        else:  # util-linux turns `--bind -o ro` into the bind plus a read-only remount
            lines.append(f"mount --bind -o ro,nosuid,nodev {src} {dst}")
    for h in view.hidden:
        lines.append(
            f'mount -t tmpfs -o ro,mode=0555,size=4k,nr_inodes=16,nosuid,nodev tmpfs "$N"{q(str(h))}'
        )
    for d in DEVICES:
        lines.append(f': > "$N/dev/{d}"; mount --bind /dev/{d} "$N/dev/{d}"')
    # A private pseudo-terminal instance: IPython runs `!cmd` and `%pip` through a pty (pexpect),
    # and without one every shell escape raises "out of pty devices" and ends its cell. Its own
    # instance (newinstance): no terminal of the host or of another job is in it.
    lines += [
        'mkdir "$N/dev/pts"',
        f"mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,max={PTYS},nosuid,noexec "
        'devpts "$N/dev/pts"',
        'ln -s pts/ptmx "$N/dev/ptmx"',
    ]
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        lines.append(f'ln -s {target} "$N/dev/{name}"')
    home = q(str(view.home))
    # /etc/passwd and /etc/group name root and the sandbox's user (none at the rootless
    # level, where student code is the user namespace's capability-less root)
    student = f"student:x:{view.uid}:{view.uid}::%s:/bin/sh\\n" if view.uid else ""
    group = f"student:x:{view.uid}:\\n" if view.uid else ""
    lines += [
        f"printf 'root:x:0:0:root:/:/bin/sh\\n{student}' {home} > \"$N/etc/passwd\"",
        f"printf 'root:x:0:\\n{group}' > \"$N/etc/group\"",
        "printf 'passwd: files\\ngroup: files\\n' > \"$N/etc/nsswitch.conf\"",
        'mount -t proc -o nosuid,nodev,noexec proc "$N/proc"',
        # the view's own root read-only too, then enter it and drop the old root for good
        'mount -o remount,bind,ro "$N"',
        'cd "$N"',
        "pivot_root . .",
        "umount -l .",
        'cd "$here" 2>/dev/null || cd /',
        # The grader's pid means nothing in this PID namespace; and with it set, ipykernel's
        # parent poller sees its parent (this init, pid 1) as "init" and shuts the kernel down.
        "unset JPY_PARENT_PID",
        # A background command's stdin is /dev/null unless redirected: the judge runner reads
        # its request from stdin, so hand the real one over explicitly.
        "exec 3<&0",
        '"$@" <&3 3<&- &',
        "exec 3<&-",
        "wait $!",
    ]
    return "\n".join(lines)
