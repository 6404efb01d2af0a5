"""grader.sandbox.limits: a clean environment, rlimits through preexec_fn, killing a process tree."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil

from grader.core.config import Limits
from grader.sandbox.limits import child_env, kill_process_tree, make_preexec

#: Prints what the child sees: its limits, session and environment.
_PROBE = """
import json, os, resource
names = ["RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_NPROC"]
print(json.dumps({
    "limits": {n: resource.getrlimit(getattr(resource, n)) for n in names},
    "sid": os.getsid(0), "pid": os.getpid(), "env": dict(os.environ),
}))
"""


def _probe(preexec: object, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        preexec_fn=preexec,  # type: ignore[arg-type]
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(out.stdout)


# ---------------------------------------------------------------------------- child_env


def test_child_env_is_minimal_and_rooted_in_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cr3t")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    env = child_env(tmp_path / "home")
    assert "GRADER_SECRET_TOKEN" not in env
    assert "PYTHONPATH" not in env
    home = tmp_path / "home"
    assert env["HOME"] == str(home)
    for name in (
        "TMPDIR",
        "IPYTHONDIR",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "MPLCONFIGDIR",
    ):
        path = Path(env[name])
        assert path.is_relative_to(home), name
        assert path.is_dir(), f"{name} must exist, or tempfile/IPython fall back outside home"
    assert env["LANG"] == env["LC_ALL"] == "C.UTF-8"
    assert env["MALLOC_ARENA_MAX"] == "2"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env[name] == "1"
    assert env["PYTHONNOUSERSITE"] == env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_child_env_passes_openblas_cpu_hints_and_extra_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    env = child_env(tmp_path, {"OMP_NUM_THREADS": "2", "EXTRA": "x"})
    assert env["OPENBLAS_CORETYPE"] == "Haswell"
    assert "OPENBLAS_L2_SIZE" not in env
    assert env["OMP_NUM_THREADS"] == "2"
    assert env["EXTRA"] == "x"


def test_child_env_reaches_a_real_child(tmp_path: Path) -> None:
    seen = _probe(None, child_env(tmp_path))["env"]
    assert seen["HOME"] == str(tmp_path)
    assert "GRADER_SECRET_TOKEN" not in seen


# ---------------------------------------------------------------------------- make_preexec


def test_preexec_applies_limits_in_a_new_session() -> None:
    limits = Limits(memory_bytes=1 << 30, cpu_seconds=7, file_bytes=1 << 20, open_files=64)
    seen = _probe(make_preexec(limits))
    got = {name: tuple(value) for name, value in seen["limits"].items()}
    assert got["RLIMIT_AS"] == (1 << 30, 1 << 30)
    assert got["RLIMIT_CPU"][0] == 7 and got["RLIMIT_CPU"][1] > 7  # SIGXCPU before SIGKILL
    assert got["RLIMIT_FSIZE"] == (1 << 20, 1 << 20)
    assert got["RLIMIT_NOFILE"] == (64, 64)
    assert got["RLIMIT_CORE"] == (0, 0)
    assert got["RLIMIT_NPROC"] == tuple(resource.getrlimit(resource.RLIMIT_NPROC))
    assert seen["sid"] == seen["pid"] != os.getsid(0)


def test_preexec_options_cpu_memory_nproc() -> None:
    limits = Limits(processes=50)
    seen = _probe(make_preexec(limits, cpu_seconds=3, memory=False, nproc=True))["limits"]
    assert seen["RLIMIT_CPU"][0] == 3
    assert tuple(seen["RLIMIT_AS"]) == resource.getrlimit(resource.RLIMIT_AS)
    assert tuple(seen["RLIMIT_NPROC"]) == (50, 50)


def test_preexec_tolerates_start_new_session() -> None:
    # jupyter_client launches kernels with start_new_session=True: setsid() must not fail twice.
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getsid(0) == os.getpid())"],
        preexec_fn=make_preexec(Limits()),
        start_new_session=True,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == "True"


def test_memory_limit_turns_a_bomb_into_memoryerror() -> None:
    code = "bytearray(2 << 30)"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        preexec_fn=make_preexec(Limits(memory_bytes=1 << 30)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert "MemoryError" in proc.stderr


# ---------------------------------------------------------------------------- kill_process_tree


def _read_pids(path: Path, count: int) -> list[int]:
    end = time.monotonic() + 5
    while time.monotonic() < end:
        pids = path.read_text().split() if path.exists() else []
        if len(pids) >= count:
            return [int(p) for p in pids]
        time.sleep(0.02)
    raise AssertionError(f"the test script did not write {count} pids to {path}")


def _wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    """Pids still running (not dead, not zombie) after ``timeout``."""
    end = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < end:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if alive:
            time.sleep(0.05)
    return alive


def test_kill_process_tree_kills_children_and_session_daemons(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    # A child, and a "daemon" whose parent subshell exits: re-parented, but still in the session.
    script = f"sleep 100 & echo $! >> {pidfile}; (sleep 101 & echo $! >> {pidfile}); sleep 102"
    proc = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    try:
        pids = _read_pids(pidfile, 2)
        assert len(pids) == 2
        kill_process_tree(proc.pid)
        assert proc.wait(timeout=5) == -9
        assert _wait_gone(pids) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_process_tree_of_a_dead_pid_does_not_raise() -> None:
    proc = subprocess.Popen(["true"], start_new_session=True)
    proc.wait()
    kill_process_tree(proc.pid)
    kill_process_tree(2**22 + 12345)  # beyond pid_max: never existed


def test_kill_process_tree_spares_the_caller() -> None:
    # Called on a child in the grader's own process group: the group must not be signalled.
    proc = subprocess.Popen(["sleep", "100"])
    kill_process_tree(proc.pid)
    assert proc.wait(timeout=5) == -9


def test_kill_process_tree_root_gone_children_remain(tmp_path: Path) -> None:
    # The session leader died first (like a kernel after os._exit); its children still go.
    pidfile = tmp_path / "pid"
    proc = subprocess.Popen(
        ["sh", "-c", f"sleep 100 & echo $! > {pidfile}; exit 0"], start_new_session=True
    )
    proc.wait(timeout=5)
    [pid] = _read_pids(pidfile, 1)
    kill_process_tree(proc.pid)
    assert _wait_gone([pid]) == []
