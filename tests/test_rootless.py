"""The strong level without root: an instructor grading on an ordinary account.

Run as root (CI), these tests grade as an unprivileged user, named by ``RNN_GRADER_TEST_USER``
(``.ci/run`` creates ``rnn-grader-ci`` and lets it traverse to this interpreter and checkout). The
grader then chooses the rootless strong level (user namespaces) by itself. The user's private key
must not reach the student's report, hostile cells and functions are contained, the grader
survives, and honest code gets full marks. ``.ci/run`` also runs the adversarial and sandbox
suites as that user.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest

from grader.authoring.stubgen import render_solved

pytestmark = pytest.mark.slow

USER = os.environ.get("RNN_GRADER_TEST_USER", "rnn-grader-ci")
SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- rnn-grader-test-7d1e"


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path

    def run(
        self, *argv: str | Path, cwd: Path, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
        }
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if name in os.environ:
                env[name] = os.environ[name]
        cmd = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--"]
        return subprocess.run(
            [*cmd, *map(str, argv)], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def grade(self, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "grader", *args, cwd=cwd)


def _account() -> Account | str:
    """The test user, or why it cannot be used here."""
    if os.geteuid() != 0:
        return "needs root to act as another user"
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        return f"no user {USER!r} (.ci/run creates it: useradd -m {USER})"
    account = Account(USER, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
    probe = account.run(sys.executable, "-c", "import grader, numpy", cwd=Path("/"))
    if probe.returncode != 0:
        return f"{USER} cannot run this interpreter and checkout ({probe.stderr.strip()[-200:]})"
    return account


@pytest.fixture(scope="module")
def account() -> Account:
    found = _account()
    if isinstance(found, str):
        if os.environ.get("CI"):  # in CI the set-up is part of the run: a missing one is a failure
            pytest.fail(f"rootless tests cannot run: {found}")
        pytest.skip(found)
    return found


@pytest.fixture
def workdir(account: Account) -> Iterator[Path]:
    """A folder of the user's own, in their home (where an instructor keeps a class)."""
    path = account.home / f"rootless-test-{os.getpid()}"
    path.mkdir(mode=0o700)
    os.chown(path, account.uid, account.gid)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _give(account: Account, path: Path) -> Path:
    os.chown(path, account.uid, account.gid)
    return path


def _notebook(account: Account, path: Path, nb: nbformat.NotebookNode) -> Path:
    nbformat.write(nb, str(path))
    return _give(account, path)


def _left_behind(uid: int) -> list[psutil.Process]:
    procs = []
    for proc in psutil.process_iter(["uids", "status"]):
        ids = proc.info["uids"]
        if ids is not None and uid in ids and proc.info["status"] != psutil.STATUS_ZOMBIE:
            procs.append(proc)
    return procs


@pytest.fixture
def ssh_key(account: Account) -> Iterator[Path]:
    ssh = account.home / ".ssh"
    created = not ssh.exists()
    ssh.mkdir(mode=0o700, exist_ok=True)
    _give(account, ssh)
    key = ssh / "id_rootless_test"
    key.write_text(SECRET + "\n")
    key.chmod(0o600)
    _give(account, key)
    try:
        yield key
    finally:
        key.unlink(missing_ok=True)
        if created:
            shutil.rmtree(ssh, ignore_errors=True)


LEAK = (
    "import glob, os\n"
    "for p in glob.glob(os.path.expanduser('~/.ssh/*')) + glob.glob('/home/*/.ssh/*'):\n"
    "    print(p, open(p).read())\n"
    "for top, dirs, files in os.walk('/home'):\n"
    "    for f in files:\n"
    "        print(os.path.join(top, f))\n"
    "print('home-listing', sorted(os.listdir('/')))\n"
)


def test_an_ordinary_user_gets_the_rootless_strong_level_and_keeps_their_files(
    account: Account, workdir: Path, ssh_key: Path
) -> None:
    nb = render_solved()
    nb.cells.append(nbformat.v4.new_code_cell(LEAK))
    path = _notebook(account, workdir / "leak.ipynb", nb)
    proc = account.grade(path, "--json", workdir / "r.json", cwd=workdir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (workdir / "r.json").read_text()
    result = json.loads(text)
    assert result["sandbox"] == "strong-rootless", result["sandbox_missing"]
    assert result["score"] == 100
    html = (workdir / "leak.report.html").read_text()
    for out in (text, html):
        assert SECRET not in out and "id_rootless_test" not in out
    cell = result["cells"][-1]
    assert cell["status"] == "ok" and "home-listing" in cell["output"]
    assert "'home'" not in cell["output"]  # no /home at all inside the view


HOSTILE_CELLS = (
    # a fork bomb at top level: RLIMIT_NPROC of the namespace stops it
    "import os\nkids = 0\ntry:\n    for _ in range(100000):\n        if os.fork() == 0:\n"
    "            import time; time.sleep(600); os._exit(0)\n        kids += 1\n"
    "except OSError as e:\n    print('fork refused after', kids, type(e).__name__)",
    # a memory bomb: RLIMIT_AS
    "try:\n    hog = bytearray(8 << 30)\nexcept MemoryError:\n    print('memory refused')",
    # try to kill everything visible, the grader included
    "import os, signal\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) != os.getpid():\n"
    "        try:\n            os.kill(int(p), signal.SIGKILL)\n        except OSError:\n            pass\n"
    "os.kill(os.getppid(), signal.SIGKILL)",
)

FORK_BOMB_FN = (
    "def rnn_backward(da, caches):\n    import os, time\n    while True:\n"
    "        if os.fork() == 0:\n            time.sleep(600)\n            os._exit(0)\n"
)
MEMORY_BOMB_FN = "def lstm_backward(da, caches):\n    return bytearray(8 << 30)\n"


def test_hostile_code_is_contained_and_honest_code_passes(account: Account, workdir: Path) -> None:
    nb = render_solved()
    nb.cells.extend(nbformat.v4.new_code_cell(c) for c in HOSTILE_CELLS)
    nb.cells.append(nbformat.v4.new_code_cell(FORK_BOMB_FN))
    nb.cells.append(nbformat.v4.new_code_cell(MEMORY_BOMB_FN))
    hostile = _notebook(account, workdir / "hostile.ipynb", nb)
    honest = _notebook(account, workdir / "honest.ipynb", render_solved())
    for path in (hostile, honest):
        proc = account.grade(
            path, "--json", workdir / f"{path.stem}.json", "--no-html", cwd=workdir
        )
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    bad = json.loads((workdir / "hostile.json").read_text())
    good = json.loads((workdir / "honest.json").read_text())
    assert good["score"] == 100 and good["sandbox"] == "strong-rootless"
    assert bad["sandbox"] == "strong-rootless"
    lost = {e["name"]: e["status"] for e in bad["exercises"] if e["status"] != "passed"}
    assert set(lost) == {"rnn_backward", "lstm_backward"}, lost
    outputs = {c["index"]: c for c in bad["cells"]}
    texts = " ".join(c.get("output", "") for c in outputs.values())
    assert "fork refused after" in texts and "memory refused" in texts
    assert not _left_behind(account.uid), "processes of the user outlived the grade"
