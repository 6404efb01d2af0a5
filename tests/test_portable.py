"""The portable level (``grader.sandbox.portable``) on Linux: the paths Windows and macOS take.

The level is chosen by capability, so Linux runs all of it: with ``RNN_GRADER_SANDBOX=portable``
(judge and pipeline rounds below, reusing the hostile cases of test_judge, test_adversarial and
test_pipeline), and in a process that *looks like Windows* to the grader (``resource``,
``fcntl``, ``termios``, ``pwd``, ``grp`` cannot be imported by it; ``os.fork`` and the other
process-group calls are gone), where ``grade`` must choose the portable level on its own and
grade the shipped stub and a solved notebook end to end.
"""

from __future__ import annotations

import ctypes
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from grader.assignment import golden as golden_mod
from grader.core.config import GradingConfig, Limits
from grader.core.models import CellStatus, ExerciseResult, GradeResult, Status
from grader.judge.checks import judge_exercise
from grader.judge.dispatch import encode_request, run_exercises
from grader.pipeline import grade_notebook
from grader.render.terminal import for_stream, render_terminal, to_ascii
from grader.sandbox import jobs, levels, portable
from grader.sandbox.launch import PortableLauncher
from grader.sandbox.limits import child_env, kill_process_tree
from grader.stages.extract import extract_sources
from grader.wire import codec as plain
from grader.wire.protocol import ThreadReader
from tests.notebooks import submission, write
from tests.shipped import EXERCISES, NAMES

REPO = Path(__file__).resolve().parent.parent
STUB = REPO / "exercises" / "rnn" / "rnn_step_by_step.ipynb"
LIMITS = Limits(call_timeout=3.0, memory_bytes=1 << 30, processes=64)
ROOMY = dataclasses.replace(LIMITS, call_timeout=30.0)
CONFIG = GradingConfig(
    limits=Limits(cell_timeout=5, notebook_timeout=60, call_timeout=5, memory_bytes=1 << 30)
)
PORTABLE = levels.Sandbox(levels.PORTABLE, (f"{levels.ENV_VAR}=portable", *portable.GAPS))


@pytest.fixture(scope="module")
def golden() -> golden_mod.Golden:
    return golden_mod.default()


@pytest.fixture
def forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(levels.ENV_VAR, levels.PORTABLE)


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            continue
    return out


def _our_processes() -> list[psutil.Process]:
    """This test process's live descendants (pytest-xdist style helpers excluded)."""
    kids = psutil.Process().children(recursive=True)
    return [p for p in _alive(kids) if not _infrastructure(" ".join(p.cmdline()))]


def _infrastructure(cmdline: str) -> bool:
    """pytest's helpers, and multiprocessing's resource tracker: a spawned pool (an earlier
    in-process ``grade batch``) leaves it running for the life of this process, by design."""
    return "pytest" in cmdline or "multiprocessing.resource_tracker" in cmdline


def _gone(procs: list[psutil.Process], timeout: float = 10) -> bool:
    """Whether every one of ``procs`` is dead (or a zombie) within ``timeout`` (a hang guard)."""
    deadline = time.monotonic() + timeout
    while _alive(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(procs)


# ------------------------------------------------------------------------------ level selection


def test_env_var_forces_portable(forced: None) -> None:
    sb = levels.select_sandbox()
    assert sb.level == levels.PORTABLE
    assert sb.missing[0] == f"{levels.ENV_VAR}=portable"
    assert set(portable.GAPS) <= set(sb.missing)  # says what it does not enforce


@pytest.fixture
def fresh_capabilities() -> Iterator[None]:
    portable.posix_missing.cache_clear()
    portable.basic_missing.cache_clear()
    yield
    portable.posix_missing.cache_clear()
    portable.basic_missing.cache_clear()


def test_missing_fork_picks_portable_by_capability(
    monkeypatch: pytest.MonkeyPatch, fresh_capabilities: None
) -> None:
    monkeypatch.delenv(levels.ENV_VAR, raising=False)
    monkeypatch.delattr(os, "fork")
    monkeypatch.delattr(os, "killpg")
    sb = levels.select_sandbox()
    assert sb.level == levels.PORTABLE
    assert sb.missing[:2] == ("os.fork", "os.killpg")
    assert set(portable.GAPS) <= set(sb.missing)


def test_forcing_a_level_that_cannot_run_is_an_error(
    monkeypatch: pytest.MonkeyPatch, fresh_capabilities: None
) -> None:
    monkeypatch.delattr(os, "fork")
    for level in (levels.BASIC, levels.STRONG):
        monkeypatch.setenv(levels.ENV_VAR, level)
        with pytest.raises(levels.SandboxError, match=r"os\.fork"):
            levels.select_sandbox()


def test_unenforced_address_space_limit_picks_portable(
    monkeypatch: pytest.MonkeyPatch, fresh_capabilities: None
) -> None:
    # macOS: every POSIX call exists, but RLIMIT_AS does not stop an allocation (the probe
    # exits 1 there); without strong, grading must not rely on it.
    monkeypatch.delenv(levels.ENV_VAR, raising=False)
    monkeypatch.setattr(portable, "_AS_PROBE", "import sys; sys.exit(1)")
    monkeypatch.setattr(levels, "probe_strong", lambda: levels.Sandbox(levels.BASIC, ("root",)))
    sb = levels.select_sandbox()
    assert sb.level == levels.PORTABLE
    assert sb.missing[0] == "enforced RLIMIT_AS"


def test_basic_primitives_are_all_here_on_linux(fresh_capabilities: None) -> None:
    # Including the probe that RLIMIT_AS really stops an allocation (macOS: it does not).
    assert portable.basic_missing() == ()


def test_job_object_limits_have_the_windows_layout() -> None:
    info = portable.job_limits(Limits(memory_bytes=1 << 30, processes=50))
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert ctypes.sizeof(info) == 144  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION, 64-bit
    assert info.ProcessMemoryLimit == 1 << 30
    assert info.BasicLimitInformation.ActiveProcessLimit == 50
    assert info.BasicLimitInformation.LimitFlags & 0x2000  # kill on job close
    job = portable.WindowsJob(Limits())  # elsewhere than Windows: a no-op
    assert job.handle is None and not job.add(os.getpid())
    job.close()


# ------------------------------------------------------------------------------ pieces


def test_kill_process_tree_without_process_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("killpg", "getsid", "getpgid", "getpgrp"):
        monkeypatch.delattr(os, name)
    pidfile = tmp_path / "pid"
    proc = subprocess.Popen(["sh", "-c", f"sleep 100 & echo $! > {pidfile}; sleep 101"])
    while not pidfile.exists() or not pidfile.read_text().strip():
        time.sleep(0.02)
    grandchild = psutil.Process(int(pidfile.read_text()))
    kill_process_tree(proc.pid)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert _gone([grandchild])


def test_thread_frame_reader_without_select() -> None:
    rfd, wfd = os.pipe()
    frames = [plain.pack({"kind": "case", "n": i}) for i in range(3)]
    data = b"".join(len(f).to_bytes(8, "little") + f for f in frames)
    with os.fdopen(rfd, "rb") as stream:
        reader = ThreadReader(stream, max_frame=1 << 20)
        for i in range(0, len(data), 7):  # frames split across writes
            os.write(wfd, data[i : i + 7])
        got = [reader.next(time.monotonic() + 10) for _ in frames]
        assert [plain.unpack(g)["n"] for g in got if g is not None] == [0, 1, 2]
        assert reader.next(time.monotonic() + 0.2) is None and reader.timed_out
        os.write(wfd, (1 << 40).to_bytes(8, "little"))  # an oversized frame ends the stream
        assert reader.next(time.monotonic() + 10) is None and not reader.eof
        os.close(wfd)
        reader.timed_out = False
        reader.buf.clear()
        assert reader.next(time.monotonic() + 10) is None and reader.eof
        reader.close()


def test_child_env_carries_windows_system_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYSTEMROOT", r"C:\Windows")
    monkeypatch.setenv("PATHEXT", ".COM;.EXE")
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cr3t")
    env = child_env(tmp_path / "home dir")
    assert env["SYSTEMROOT"] == r"C:\Windows" and env["PATHEXT"] == ".COM;.EXE"
    assert "GRADER_SECRET_TOKEN" not in env
    for name in ("USERPROFILE", "APPDATA", "LOCALAPPDATA", "TEMP", "TMP"):
        assert Path(env[name]).is_relative_to(tmp_path / "home dir"), name
        assert Path(env[name]).is_dir(), name
    assert env["PATH"].startswith(str(Path(sys.executable).parent) + os.pathsep)
    assert "C:\\Windows" + os.sep + "System32" in env["PATH"]  # os.sep: this test runs on Linux


class _Console(io.TextIOWrapper):
    def __init__(self, encoding: str) -> None:
        super().__init__(io.BytesIO(), encoding=encoding)


def test_score_table_falls_back_to_ascii_on_a_narrow_console() -> None:
    result = GradeResult(
        notebook="C:\\Users\\Zoë Müller\\My Notebooks\\rnn.ipynb",
        status="invalid",
        error="unreadable — “quoted” ✓ → 数据 " + "x" * 400,
        score=0,
        max_score=0,
    )
    text = render_terminal(result, color=False, report_path=None)
    assert "…" in text  # cut with an ellipsis: not encodable in ASCII or cp437
    for encoding in ("ascii", "cp437", "cp1252"):
        shown = for_stream(text, _Console(encoding))
        shown.encode(encoding)  # never a UnicodeEncodeError
    ascii_text = for_stream(text, _Console("ascii"))
    assert ascii_text.isascii()
    assert "Zoe Muller" in ascii_text and "..." in ascii_text and "-> ??" in ascii_text
    assert "C:\\Users\\" in ascii_text  # backslashes untouched
    assert for_stream(text, _Console("utf-8")) == text
    assert to_ascii("✓ passed ✗ failed · a×b ≠ c") == "ok passed x failed . axb != c"


# ------------------------------------------------------------------------------ judge round


def judge_portable(
    cells: list[str], golden: golden_mod.Golden, limits: Limits = LIMITS
) -> dict[str, ExerciseResult]:
    """Judge ``cells`` with the runner of a portable job (spawn mode, watcher, no rlimits)."""
    extracted = extract_sources(list(enumerate(cells)), NAMES)
    cases = {n: golden.for_exercise(n) for n in NAMES}
    with jobs.job(PORTABLE, limits, golden_dirs=(golden.path,)) as j:
        assert isinstance(j.launcher, PortableLauncher) and j.kernel_guard is not None
        raws = run_exercises(extracted, cases, limits, j.judgedir, j.launcher, j.compat)
    out: dict[str, ExerciseResult] = {}
    verdicts: dict[str, Status] = {}
    for spec in EXERCISES:
        out[spec.name] = res = judge_exercise(
            spec, cases[spec.name], extracted[spec.name], raws.get(spec.name),
            points=spec.points, rtol=golden.rtol, atol=golden.atol, limits=limits,
            failing=verdicts,
        )  # fmt: skip
        verdicts[spec.name] = res.status
    return out


def test_reference_passes_everything(golden: golden_mod.Golden) -> None:
    from tests.test_judge import REFERENCE

    results = judge_portable([REFERENCE], golden)
    assert {n: r.status for n, r in results.items()} == {n: Status.PASSED for n in NAMES}


def _hostile_judge_cases() -> list[Any]:
    """test_judge's hostile functions, with the verdicts of this level where they differ."""
    from tests.test_judge import HOSTILE

    out = []
    for param in HOSTILE:
        inject, status, message = param.values
        if param.id in ("memory-bomb", "feasible-memory-bomb"):
            # no RLIMIT_AS: the watcher kills the process at the limit (a MemoryError only
            # where the OS itself refuses the allocation)
            message = ("MiB of memory", "MemoryError")
        out.append(pytest.param(inject, status, message, id=param.id))
    return out


@pytest.mark.parametrize(("inject", "status", "message"), _hostile_judge_cases())
def test_hostile_function_costs_only_its_exercise(
    inject: str, status: Status, message: str | tuple[str, ...], golden: golden_mod.Golden
) -> None:
    from tests.test_judge import reference_with

    src = reference_with(
        "    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache\n"
        "    n_x, m = xt.shape",
        inject + "    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)"
        " = cache\n    n_x, m = xt.shape",
    )
    before = {p.pid for p in _our_processes()}
    # a memory bomb must be ended by the memory limit, not by a 3 s call limit on a busy machine
    limits = ROOMY if "bytearray" in inject else LIMITS
    results = judge_portable([src], golden, limits)
    target = results["lstm_cell_backward"]
    assert target.status is status, target.reason
    words = (message,) if isinstance(message, str) else message
    assert any(w in target.reason for w in words), target.reason
    others = {
        n: r.status for n, r in results.items() if n not in ("lstm_cell_backward", "lstm_backward")
    }
    assert set(others.values()) == {Status.PASSED}, others
    assert {p.pid for p in _our_processes()} <= before  # nothing left behind


def test_what_an_exercise_starts_dies_with_it(golden: golden_mod.Golden, tmp_path: Path) -> None:
    from tests.test_judge import reference_with

    pidfile = tmp_path / "sleepers"
    src = reference_with(
        '    Wax = parameters["Wax"]\n    Waa = parameters["Waa"]\n\n    ### START',
        "    import subprocess\n"
        "    child = subprocess.Popen(['sleep', '300'])\n"
        f"    open({str(pidfile)!r}, 'a').write(f'{{child.pid}}\\n')\n"
        '    Wax = parameters["Wax"]\n    Waa = parameters["Waa"]\n\n    ### START',
    )
    results = judge_portable([src], golden)
    assert results["rnn_cell_forward"].status is Status.PASSED
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) > len(golden.for_exercise("rnn_cell_forward"))  # one per call
    assert not [pid for pid in pids if _pid_alive(pid)]


def _pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_fork_bomb_costs_only_its_exercise(golden: golden_mod.Golden) -> None:
    from tests.test_adversarial import inject

    bomb = (
        "    import os, time\n"
        "    for _ in range(200):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(300)\n"
        "            os._exit(0)\n"
    )
    results = judge_portable([inject(bomb)], golden)
    # The forked sleepers share the function's memory: their summed resident size may pass
    # the limit (then the watcher kills them all), else they die with the exercise's group.
    res = results["rnn_cell_backward"]
    assert res.status is Status.PASSED or "MiB of memory" in res.reason, res.reason
    assert results["rnn_cell_forward"].status is Status.PASSED
    assert not _our_processes()


def test_answer_key_is_readable_as_at_the_basic_level(golden: golden_mod.Golden) -> None:
    import solutions.rnn as ref
    from tests.test_adversarial import READ_KEY, inject

    body = READ_KEY.format(golden=str(golden.path), sol=str(Path(ref.__file__).parent))
    res = judge_portable([inject(body)], golden)["rnn_cell_backward"]
    assert res.status is Status.ERROR and "ANSWER KEY VISIBLE" in res.reason  # documented


def _output_games() -> list[Any]:
    from tests.test_adversarial import OUTPUT_GAMES

    return [pytest.param(p.values[0], id=p.id) for p in OUTPUT_GAMES]


@pytest.mark.parametrize("ret", _output_games())
def test_output_games_cost_only_their_exercise(ret: str, golden: golden_mod.Golden) -> None:
    from tests.test_judge import REFERENCE

    anchor = "    return gradients\n"
    pos = REFERENCE.index(anchor, REFERENCE.index("def rnn_cell_backward"))
    src = REFERENCE[:pos] + ret + REFERENCE[pos + len(anchor) :]
    results = judge_portable([src], golden)
    assert not Path("/tmp/rnn-grader-pwned").exists()
    others = {n: r.status for n, r in results.items()
              if n not in ("rnn_cell_backward", "rnn_backward")}  # fmt: skip
    assert set(others.values()) == {Status.PASSED}, others


# ------------------------------------------------------------------------------ pipeline round


def _grade(nb: nbformat.NotebookNode, tmp_path: Path) -> GradeResult:
    result = grade_notebook(write(nb, tmp_path / "submission.ipynb"), config=CONFIG)
    assert result.sandbox == levels.PORTABLE
    assert "file-size limit" in result.sandbox_missing
    return result


@pytest.mark.slow
def test_solved_and_stub_notebooks(forced: None, tmp_path: Path) -> None:
    from grader.authoring.stubgen import render_solved

    solved = _grade(render_solved(), tmp_path)
    assert solved.score == 100, {e.name: e.reason for e in solved.exercises if e.reason}
    assert all(c.status is CellStatus.OK for c in solved.cells)
    stub = grade_notebook(STUB, config=CONFIG)
    assert stub.status == "graded" and stub.score == 0
    assert all(e.status is not Status.PASSED for e in stub.exercises)
    assert not _our_processes()


def _top_level_cases() -> list[Any]:
    from tests.test_pipeline import TOP_LEVEL

    out = []
    for param in TOP_LEVEL:
        cell, status = param.values
        if param.id == "memory-bomb":
            # no RLIMIT_AS in the kernel: killed by the watcher at the limit (the kernel
            # dies, later cells do not run) unless the OS refuses the allocation itself
            status = (CellStatus.ERROR, CellStatus.KERNEL_DIED)
        out.append(pytest.param(cell, status, id=param.id))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("cell", "cell_status"), _top_level_cases())
def test_hostile_top_level_cell_costs_nothing_else(
    cell: str, cell_status: Any, forced: None, tmp_path: Path
) -> None:
    from tests.test_pipeline import SRC
    from tests.test_pipeline import mutate as mutate_source

    sources = dict(SRC)
    sources["rnn_cell_forward"] = mutate_source(SRC["rnn_cell_forward"], "+ ba)", ")")
    result = _grade(submission(sources, before=(cell,)), tmp_path)
    assert {e.name for e in result.exercises if e.status is not Status.PASSED} == {
        "rnn_cell_forward",
        "rnn_forward",
    }
    assert result.score == 70
    [hostile] = [c for c in result.cells if c.index == 2]
    allowed = cell_status if isinstance(cell_status, tuple) else (cell_status,)
    assert hostile.status in allowed, hostile
    if hostile.status is CellStatus.KERNEL_DIED and "bytearray" in cell:
        assert "MiB of memory" in hostile.evalue
    assert not _our_processes()


@pytest.mark.slow
def test_hostile_notebook_costs_nothing(forced: None, tmp_path: Path) -> None:
    from tests.test_adversarial import HOSTILE_CELLS, hostile_notebook

    try:
        result = _grade(hostile_notebook(), tmp_path)
    finally:
        Path("/tmp/rnn-grader-adversarial-fill").unlink(missing_ok=True)  # the host's /tmp
    assert result.status == "graded" and result.score == 100, [
        (e.name, e.reason) for e in result.exercises if e.status is not Status.PASSED
    ]
    by_src = {name: next(c for c in result.cells if c.index == 2 + i)
              for i, name in enumerate(HOSTILE_CELLS)}  # fmt: skip
    assert by_src["injection"].status is CellStatus.ERROR
    # no RLIMIT_FSIZE at this level (documented): the 300 MB file is written, in the job dir
    assert by_src["big-file"].status is CellStatus.OK
    assert by_src["segfault"].status is CellStatus.KERNEL_DIED
    assert "SIGSEGV" in by_src["segfault"].evalue
    assert not _our_processes()


@pytest.mark.slow
def test_parallel_hostile_and_honest_notebooks(forced: None, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    notebooks = {
        "honest": submission(),
        "flood": submission(before=("for _ in range(200):\n    print('x' * 100_000)",)),
        "memory": submission(before=("x = bytearray(16 << 30)",)),
        "loop": submission(before=("while True:\n    pass",)),
    }
    paths = [write(nb, tmp_path / f"{name}.ipynb") for name, nb in notebooks.items()]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda p: grade_notebook(p, config=CONFIG), paths))
    for name, result in zip(notebooks, results, strict=True):
        assert result.status == "graded" and result.sandbox == levels.PORTABLE, name
        assert result.score == 100, (name, [e.reason for e in result.exercises if e.reason])
    assert not _our_processes()


@pytest.mark.slow
def test_ctrl_c_stops_kernel_and_judge(tmp_path: Path) -> None:
    """A terminal's Ctrl-C (SIGINT to the foreground process group) ends ``grade`` with 130
    and takes the kernel and the judge with it, although they run in their own sessions."""
    from tests.notebooks import function_sources

    src = function_sources()["rnn_cell_forward"].replace(
        "    Wax = parameters", "    import time; time.sleep(600)\n    Wax = parameters", 1
    )
    nb = submission({"rnn_cell_forward": src}, before=("import time\ntime.sleep(600)",))
    path = write(nb, tmp_path / "slow.ipynb")
    env = {**os.environ, levels.ENV_VAR: levels.PORTABLE}
    cmd = [sys.executable, "-m", "grader", str(path), "--no-html", "--timeout", "900"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.PIPE)
    grader = psutil.Process(proc.pid)
    try:
        kids: list[psutil.Process] = []
        for _ in range(600):  # until the kernel and an exercise process run
            kids = _alive(grader.children(recursive=True))
            lines = [" ".join(k.cmdline()) for k in kids]
            if any("ipykernel" in c for c in lines) and any("--child" in c for c in lines):
                break
            time.sleep(0.1)
        time.sleep(1)
        kids = _alive(grader.children(recursive=True))
        assert len(kids) >= 3
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)  # a hang guard, not a timing check
    finally:
        if proc.poll() is None:
            kill_process_tree(proc.pid)
            proc.wait()
    assert proc.returncode == 130, err
    assert b"interrupted" in err
    assert _gone(kids)


# ------------------------------------------------------------------------------ simulated Windows

#: Run first in a fresh interpreter: the grader there sees a Windows-like Python.
#:
#: ``resource``, ``fcntl``, ``termios``, ``pwd`` and ``grp`` are refused only when the importing
#: module is part of ``grader`` (``builtins.__import__`` and ``importlib.import_module`` are
#: wrapped, so even a module already in ``sys.modules`` is refused to grader): on Linux the
#: standard library and the dependencies import them for their own Linux code paths
#: (``subprocess`` → fcntl, ``psutil`` → pwd and resource, ``getpass``/``tty`` → termios,
#: IPython → resource), paths that on Windows are replaced by Windows ones we cannot run here;
#: refusing them globally would break those libraries without simulating anything real. The
#: POSIX process calls are deleted from ``os`` globally (jupyter_client checks for them).
#: Every refused attempt is appended to ``$SIMULATED_WINDOWS_REPORT`` (one JSON line each).
BOOTSTRAP = textwrap.dedent(
    r"""
    import builtins, importlib, json, os, sys

    _BLOCKED = {"resource", "fcntl", "termios", "pwd", "grp"}
    _real_import, _real_import_module = builtins.__import__, importlib.import_module

    def _grader_module(g):
        spec = (g or {}).get("__spec__")
        name = getattr(spec, "name", None) or (g or {}).get("__name__") or ""
        return name if name == "grader" or name.startswith("grader.") else None

    def _guard(name, importer):
        if importer and name.partition(".")[0] in _BLOCKED:
            report = os.environ.get("SIMULATED_WINDOWS_REPORT")
            if report:  # at once: a process may end with os._exit
                with open(report, "a", encoding="utf-8") as f:
                    f.write(json.dumps([name, importer]) + "\n")
            raise ModuleNotFoundError(f"No module named {name!r} (simulated Windows)", name=name)

    def _import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0:
            _guard(name, _grader_module(globals))
        return _real_import(name, globals, locals, fromlist, level)

    def _import_module(name, package=None):
        if not name.startswith("."):
            _guard(name, _grader_module(sys._getframe(1).f_globals))
        return _real_import_module(name, package)

    builtins.__import__, importlib.import_module = _import, _import_module
    for _name in ("fork", "forkpty", "register_at_fork", "setsid", "setpgrp", "getsid",
                  "getpgid", "getpgrp", "killpg", "pidfd_open"):
        if hasattr(os, _name):
            delattr(os, _name)
    """
)


def _simulated(code: str, *args: str, env: dict[str, str], **kw: Any) -> Any:
    return subprocess.run(
        [sys.executable, "-c", BOOTSTRAP + code, *args],
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
        **kw,
    )


def _attempts(report: Path) -> list[list[str]]:
    """The refused imports a simulated process recorded: [[module, importer], ...]."""
    if not report.exists():
        return []
    return [json.loads(line) for line in report.read_text().splitlines()]


def _simulated_env(tmp_path: Path, report: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != levels.ENV_VAR}
    tmpdir = tmp_path / "temp dir"  # job directories, kernel sockets: a path with a space
    tmpdir.mkdir(exist_ok=True)
    env.update(TMPDIR=str(tmpdir), SIMULATED_WINDOWS_REPORT=str(report))
    return env


def test_no_grader_module_needs_a_posix_module_to_import(tmp_path: Path) -> None:
    report = tmp_path / "attempts.json"
    code = (
        "import pkgutil, grader\n"
        "for m in pkgutil.walk_packages(grader.__path__, 'grader.'):\n"
        "    if m.name != 'grader.__main__':  # that one runs the CLI\n"
        "        importlib.import_module(m.name)\n"
        "print(len(sys.modules))\n"
    )
    proc = _simulated(code, env=_simulated_env(tmp_path, report))
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert _attempts(report) == []  # not even attempted at import time


@pytest.mark.slow
def test_grade_on_simulated_windows(tmp_path: Path) -> None:
    """``grade`` picks the portable level by itself and grades the stub (exit 1, on a console
    that is not UTF-8) and a solved notebook in a folder with spaces (exit 0)."""
    from grader.authoring.stubgen import render_solved

    report = tmp_path / "attempts.json"
    env = _simulated_env(tmp_path, report)
    folder = tmp_path / "My Notebooks – Zoë"
    folder.mkdir()
    stub = folder / "rnn step by step.ipynb"
    stub.write_bytes(STUB.read_bytes())
    solved = folder / "solved\\v2.ipynb"  # a backslash is a plain character on Linux
    nbformat.write(render_solved(), str(solved))
    main = "from grader.cli import main\nsys.exit(main(sys.argv[1:]))\n"

    run = _simulated(main, str(stub), "--json", str(folder / "stub.json"),
                     env={**env, "PYTHONIOENCODING": "ascii"}, cwd=folder)  # fmt: skip
    assert run.returncode == 1, run.stderr.decode()[-3000:]
    out = run.stdout.decode("ascii")  # the table came out in ASCII, without a crash
    assert "rnn_cell_forward" in out and "0/100" in out
    assert "My Notebooks - Zo" in out  # the path's dash and accent, spelled in ASCII
    result = json.loads((folder / "stub.json").read_text())
    assert result["sandbox"] == "portable"
    assert {"resource", "os.fork", "os.killpg"} <= set(result["sandbox_missing"])
    assert set(portable.GAPS) <= set(result["sandbox_missing"])
    assert (folder / "rnn step by step.report.html").exists()
    # The only POSIX import grader attempted was the capability check itself.
    assert {importer for _, importer in _attempts(report)} == {"grader.sandbox.portable"}

    run = _simulated(main, str(solved), "--json", str(folder / "solved.json"),
                     env=env, cwd=folder)  # fmt: skip
    assert run.returncode == 0, (run.stdout.decode()[-3000:], run.stderr.decode()[-3000:])
    assert "100/100" in run.stdout.decode()
    result = json.loads((folder / "solved.json").read_text())
    assert result["sandbox"] == "portable" and result["score"] == 100
    assert (folder / "solved\\v2.report.html").exists()
    assert not _our_processes()


def test_runner_in_spawn_mode_on_simulated_windows(
    golden: golden_mod.Golden, tmp_path: Path
) -> None:
    """The runner's spawn mode (and its ``--child``) needs no fork, rlimits or select."""
    from tests.test_judge import REFERENCE

    extracted = extract_sources([(0, REFERENCE)], NAMES)
    names = ["rnn_cell_forward", "rnn_forward"]
    cases = {n: golden.for_exercise(n) for n in names}
    request = encode_request(names, extracted, cases, LIMITS, REPO / "grader" / "compat", "spawn")
    report = tmp_path / "attempts.json"
    code = "import runpy\nrunpy.run_module('grader.judge.runner', run_name='__main__')\n"
    proc = _simulated(code, env=_simulated_env(tmp_path, report), input=request)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert _attempts(report) == []
    frames, data = [], proc.stdout
    while data:
        n = int.from_bytes(data[:8], "little")
        frames.append(plain.unpack(data[8 : 8 + n]))
        data = data[8 + n :]
    kinds = [f["kind"] for f in frames]
    assert kinds.count("spawned") == 2 and kinds.count("end") == 2 and kinds[-1] == "done"
    ends = [f for f in frames if f["kind"] == "end"]
    assert all(e["exit"] == 0 and not e["timeout"] and e["frames"] > 1 for e in ends)
    spawned = [f["pid"] for f in frames if f["kind"] == "spawned"]
    assert [e["pid"] for e in ends] == spawned
    cases_ok = [f for f in frames if f["kind"] == "case"]
    assert cases_ok and all(f["status"] == "ok" for f in cases_ok)

    # And a child alone, in the simulated interpreter too.
    body = plain.unpack(request[8:])
    child_request = plain.pack(
        {"exercise": body["exercises"][0], "compat": body["options"]["compat"]}
    )
    proc = _simulated(
        code, "--child", env=_simulated_env(tmp_path, report),
        input=len(child_request).to_bytes(8, "little") + child_request,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert _attempts(report) == []
    first = int.from_bytes(proc.stdout[:8], "little")
    assert plain.unpack(proc.stdout[8 : 8 + first]) == {"kind": "started"}
