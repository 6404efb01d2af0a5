"""grader.sandbox: level selection, job layout, and — when this machine allows it — the strong
sandbox's isolation, checked from inside with real sandboxed processes and kernels."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from grader.core.config import Limits
from grader.core.models import CellStatus
from grader.core.resources import data_dir
from grader.sandbox import jobs, levels, strong
from grader.sandbox.uids import wait_gone
from grader.sandbox.view import Bind, interpreter_paths
from grader.stages.execute import execute_notebook


def _needed() -> list[Path]:
    return interpreter_paths()


SB = levels.select_sandbox()
strong_only = pytest.mark.skipif(
    not SB.strong,
    reason=f"strong sandbox unavailable here (missing: {', '.join(SB.missing)})",
)
LIMITS = Limits(cell_timeout=5, notebook_timeout=60, processes=64)


def test_env_var_forces_basic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(levels.ENV_VAR, "basic")
    got = levels.select_sandbox()
    assert got.level == "basic" and not got.strong
    assert got.missing == (f"{levels.ENV_VAR}=basic",)


def test_env_var_strong_is_an_error_when_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(levels.ENV_VAR, "strong")
    monkeypatch.setattr(levels, "probe_strong", lambda: levels.Sandbox("basic", ("root",)))
    with pytest.raises(levels.SandboxError, match="unavailable: root"):
        levels.select_sandbox()


@pytest.mark.parametrize("value", ["stronk", "none", "off", "portable-ish", "basic\nstrong"])
def test_unknown_env_value_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from grader.core.errors import ExitCode, GraderError

    monkeypatch.setenv(levels.ENV_VAR, value)
    with pytest.raises(GraderError) as info:
        levels.select_sandbox()
    message = str(info.value)
    assert info.value.exit_code == ExitCode.USAGE
    assert "\n" not in message and levels.ENV_VAR in message and repr(value) in message
    assert "strong" in message and "basic" in message


@pytest.mark.parametrize("value", ["", "  ", "BASIC", " Basic "])
def test_empty_or_differently_cased_values_are_accepted(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(levels.ENV_VAR, value)
    monkeypatch.setattr(levels, "probe_strong", lambda: levels.Sandbox("basic", ("root",)))
    assert levels.select_sandbox().level == "basic"


def test_cli_reports_an_unknown_env_value_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI refuses to grade (exit 2, one line, outputs still written) instead of silently
    choosing a level."""
    from grader.cli import main

    nb = tmp_path / "x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), str(nb))
    monkeypatch.setenv(levels.ENV_VAR, "stronk")
    assert main([str(nb), "--json", str(tmp_path / "r.json"), "--no-html"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("grade: error: ")
    assert "RNN_GRADER_SANDBOX='stronk'" in err and "strong, basic" in err
    assert json.loads((tmp_path / "r.json").read_text())["status"] == "invalid"
    (tmp_path / "class").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(tmp_path / "class" / "a.ipynb"))
    assert main(["batch", str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RNN_GRADER_SANDBOX='stronk'" in err


def test_basic_job_layout_and_cleanup() -> None:
    with jobs.job(levels.Sandbox("basic"), LIMITS) as j:
        assert j.kernel_prefix == [] and j.kernel_uid is None and j.judge_uid is None
        assert (j.workdir / "rnn_utils.py").is_file() and j.judgedir.is_dir()
        assert j.kernel_env["HOME"] != j.judge_env["HOME"]
        root = j.root
    assert not root.exists()


def test_view_binds_the_interpreter_and_job_and_covers_the_answer_key(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    private = tmp_path / "private-golden"
    private.mkdir()
    view = strong.job_view(61000, work, [Bind(work, writable=True)], (private,))
    binds = {b.path: b.writable for b in view.binds}
    assert binds[work] is True and all(not w for p, w in binds.items() if p != work)
    checkout = Path(strong.__file__).resolve().parents[2]
    if (checkout / "solutions").is_dir():  # the editable checkout: only grader/ is bound
        assert checkout / "grader" in binds and checkout not in binds
        assert not any(p == checkout / "solutions" or checkout / "solutions" in p.parents
                       for p in binds)  # fmt: skip
    prefix = Path(sys.base_prefix).resolve()
    assert any(p == prefix or p in prefix.parents for p in binds)
    # nothing of a home, a class folder or /work unless the interpreter lives there
    assert not any(p in (Path("/home"), Path("/root"), Path("/work"), Path("/srv")) for p in binds)
    # the shipped data inside a bound package is covered; a golden set elsewhere is just absent
    shipped = Path(strong.__file__).resolve().parents[1] / "_data"
    assert (shipped in view.hidden) == shipped.is_dir()
    assert private not in view.hidden and not any(private.is_relative_to(p) for p in binds)


# ------------------------------------------------------------------------------ strong only

PROBE = r"""
import json, os, socket, sys
out = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid()}
with open("/proc/self/status") as f:
    st = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
out["caps"] = [st[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
out["nnp"] = st["NoNewPrivs"]
out["procs"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
def attempt(fn):
    try:
        return repr(fn())[:80]
    except Exception as e:
        return type(e).__name__
out["root"] = attempt(lambda: sorted(os.listdir("/root")))
out["golden"] = {p: attempt(lambda p=p: os.listdir(p)) for p in sys.argv[1:]}
out["solutions"] = attempt(lambda: __import__("solutions"))
out["pid1_environ"] = attempt(lambda: open("/proc/1/environ").read())
out["net"] = attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
out["tmp"] = attempt(lambda: sorted(os.listdir("/tmp")))
out["write_tmp"] = attempt(lambda: open("/tmp/.rnn-grader-sandbox-probe", "w").write("x"))
site = [p for p in sys.path if p.endswith("site-packages")][0]
# every write probe really writes: success is "1" (one character written), failure the error
out["write_site"] = attempt(lambda: open(os.path.join(site, "evil.pth"), "w").write("x"))
out["write_state"] = attempt(lambda: open("/run/rnn-grader/x", "w").write("x"))
out["setuid"] = attempt(lambda: os.setuid(0))
print(json.dumps(out))
"""


@strong_only
def test_sandboxed_process_is_isolated_from_the_inside() -> None:
    golden = [str(data_dir("golden").resolve())]
    with jobs.job(SB, LIMITS) as j:
        if SB.rootless:  # one uid: the grader's, root of an own user namespace inside
            assert j.kernel_uid is None and j.judge_uid is None and j.uids == ()
        else:
            assert j.kernel_uid is not None and j.judge_uid is not None
            assert j.kernel_uid != j.judge_uid
        proc = subprocess.run(
            [*j.kernel_prefix, sys.executable, "-I", "-c", PROBE, *golden],
            cwd=j.workdir, env=j.kernel_env, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        got = json.loads(proc.stdout)
        if SB.rootless:
            assert got["uid"] == got["gid"] == 0  # mapped to the grader's uid outside
        else:
            assert got["uid"] == got["gid"] == j.kernel_uid and got["groups"] == []
        assert set(got["caps"]) == {"0000000000000000"} and got["nnp"] == "1"
        assert got["pid"] != 1 and max(got["procs"]) < 100  # own PID namespace, own /proc
        assert got["root"] == repr([".pyenv"]) or "/root" not in sys.base_prefix
        assert got["golden"][golden[0]] in ("[]", "FileNotFoundError")  # empty or gone
        assert got["solutions"] == "ModuleNotFoundError"
        # pid 1 is the namespace's own init: root's at the root level; at the rootless level
        # the same user's, holding only the sandbox's own environment
        assert got["pid1_environ"] == "PermissionError" or SB.rootless
        assert got["net"] == "OSError"  # no network in the namespace
        # private and writable; empty but for the path to a checkout or venv that lives in /tmp
        # (and to the job itself, which lives there at the rootless level without a runtime dir)
        kept = sorted(
            {
                p.relative_to("/tmp").parts[0]
                for p in [*_needed(), j.root]
                if Path("/tmp") in p.parents
            }
        )
        assert got["tmp"] == str(kept) and got["write_tmp"] == "1"
        assert got["write_site"] in ("PermissionError", "OSError")
        # /run holds only the path to this job, in the read-only root of the view (or, at the
        # rootless level with the job elsewhere, does not exist)
        assert got["write_state"] in ("PermissionError", "OSError", "FileNotFoundError")
        # no way to another uid (rootless: uid 0 of the namespace is already all it has)
        assert got["setuid"] == ("None" if SB.rootless else "PermissionError")
    assert not Path("/tmp/.rnn-grader-sandbox-probe").exists()  # that /tmp was private


@strong_only
@pytest.mark.skipif(SB.rootless, reason="the rootless level has no uids of its own")
def test_uids_are_never_shared_between_grader_processes() -> None:
    other = textwrap.dedent(
        """
        from grader.sandbox import jobs, levels
        from grader.core.config import Limits
        with jobs.job(levels.select_sandbox(), Limits()) as j:
            print(j.kernel_uid, j.judge_uid)
        """
    )
    with jobs.job(SB, LIMITS) as a, jobs.job(SB, LIMITS) as b:
        mine = {a.kernel_uid, a.judge_uid, b.kernel_uid, b.judge_uid}
        out = subprocess.run(
            [sys.executable, "-c", other], capture_output=True, text=True, check=True, timeout=120
        ).stdout.split()
        theirs = {int(u) for u in out}
    assert len(mine) == 4 and len(theirs) == 2 and not mine & theirs


DAEMON = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
time.sleep(0.5)
print("daemon started")
"""
FORK_BOMB = """
import os, time
n = 0
try:
    for _ in range(10_000):
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        n += 1
except OSError as e:
    print("fork refused after", n, type(e).__name__)
"""


def _started_in(job_root: Path, timeout: float = 5.0) -> list[psutil.Process]:
    """Live processes whose command line names ``job_root`` (a kernel and what it forked)."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for proc in psutil.process_iter(["cmdline", "status"]):
            cmd = " ".join(proc.info["cmdline"] or [])
            if str(job_root) in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE:
                left.append(proc)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


@pytest.mark.slow
@strong_only
def test_kernel_in_strong_sandbox_daemons_fork_bombs_and_parent_kills() -> None:
    cells = [
        "import os\nprint(os.getuid(), os.getpid())",
        DAEMON,
        FORK_BOMB,
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('parent is init')",
        "import os, signal\nos.kill(int(os.environ.get('JPY_PARENT_PID', '1')), signal.SIGKILL)"
        "\nprint('still here')",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with jobs.job(SB, LIMITS) as j:
        uids = j.uids
        root = j.root
        log = execute_notebook(
            nb, j.workdir, LIMITS, env=j.kernel_env, kernel_cmd_prefix=j.kernel_prefix,
            owner=j.kernel_uid,
        )  # fmt: skip
    out = {c.index: c for c in log.cells}
    inside_uid = 0 if SB.rootless else j.kernel_uid
    assert out[0].status is CellStatus.OK and out[0].output.split()[0] == str(inside_uid)
    assert "daemon started" in out[1].output
    # RLIMIT_NPROC per uid: the bomb is refused long before 10 000 processes
    assert "fork refused after" in out[2].output and "BlockingIOError" in out[2].output
    assert "parent is init" in out[3].output and "still here" in out[4].output
    # the kernel is not PID 1 of its namespace: killing itself works, and is named
    assert out[5].status is CellStatus.KERNEL_DIED and "SIGKILL" in out[5].evalue
    assert wait_gone(uids) == []  # daemon and bomb children died with the namespace
    assert _started_in(root) == []  # rootless too: nothing started from this job is alive


@pytest.mark.slow
@strong_only
def test_kernel_interrupt_still_works_inside_the_namespace() -> None:
    cells = ["while True:\n    pass", "print('alive')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    limits = Limits(cell_timeout=2, notebook_timeout=60)
    with jobs.job(SB, limits) as j:
        log = execute_notebook(
            nb, j.workdir, limits, env=j.kernel_env, kernel_cmd_prefix=j.kernel_prefix,
            owner=j.kernel_uid,
        )  # fmt: skip
    assert log.cells[0].status is CellStatus.TIMEOUT and "interrupted" in log.cells[0].evalue
    assert log.cells[1].status is CellStatus.OK and "alive" in log.cells[1].output


# ------------------------------------------------------------------------------ canary


@pytest.mark.slow
def test_canary_passes_and_the_wheel_canary_needs_no_reference(tmp_path: Path) -> None:
    from grader.assignment import golden as golden_mod
    from grader.batch import canary
    from grader.core.config import GradingConfig
    from grader.pipeline import grade_notebook

    golden = golden_mod.default()
    config = GradingConfig(limits=Limits(cell_timeout=20, notebook_timeout=120))
    canary.run_canary(config, golden)  # the checkout's reference notebook: no exception
    nb = canary.public_canary(golden)
    assert "np.tanh" not in nbformat.writes(nb)  # values only, no reference code
    path = tmp_path / "c.ipynb"
    nbformat.write(nb, str(path))
    result = grade_notebook(path, golden=canary.public_only(golden), config=config)
    assert result.score == result.max_score == 100, [e.reason for e in result.exercises]


@pytest.mark.slow
def test_canary_with_limits_too_low_stops_the_batch() -> None:
    from grader.assignment import golden as golden_mod
    from grader.batch import canary
    from grader.core.config import GradingConfig
    from grader.core.errors import InfrastructureError

    config = GradingConfig(limits=Limits(call_timeout=0.001, cell_timeout=20))
    with pytest.raises(InfrastructureError, match=r"^canary failed: .* scored") as info:
        canary.run_canary(config, golden_mod.default())
    assert "\n" not in str(info.value)


def test_nested_hidden_directories_are_covered_once(tmp_path: Path) -> None:
    """An installed wheel's golden set lies inside grader/_data: the view covers the outer one
    only (a mount on the inner one, inside the empty cover, has no mount point)."""
    from grader.sandbox.view import Bind, plan

    outer = tmp_path / "data"
    inner = outer / "golden"
    inner.mkdir(parents=True)
    view = plan([Bind(tmp_path)], hidden=[outer, inner], uid=0, home=tmp_path)
    assert outer in view.hidden and inner not in view.hidden
