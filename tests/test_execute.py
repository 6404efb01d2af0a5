"""grader.stages.execute: running a notebook for the record, bounded in time, memory and output.

Unit tests cover the pure helpers; tests marked ``slow`` start real ipykernel kernels (about one
second each) with short limits.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.core.config import Limits
from grader.core.errors import InfrastructureError
from grader.core.models import CellStatus
from grader.sandbox.workdir import prepare_workdir
from grader.stages.execute import (
    EXCERPT_CHARS,
    RUNTIME_DIR,
    ExecutionLog,
    _CellText,
    _clean,
    _describe_exit,
    _payload_size,
    _runnable_cells,
    execute_notebook,
)
from tests.shipped import HELPERS

#: A real Colab submission (first four exercises solved), vendored: CI needs nothing outside the repo.
COLAB = Path(__file__).resolve().parent / "data" / "colab_submission.ipynb"
FAST = Limits(cell_timeout=10, notebook_timeout=30, startup_timeout=30)


def _nb(*sources: str, **metadata: object) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell(s) for s in sources], metadata=metadata)


_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before() -> None:
    """Processes that other test modules left running are theirs to answer for, not ours."""
    _BEFORE.clear()
    _BEFORE.update(p.pid for p in psutil.Process().children(recursive=True))


def _live_children() -> list[psutil.Process]:
    """Children of the test process that are still running (a leaked kernel or daemon)."""
    # multiprocessing's resource tracker / forkserver (started by earlier batch or Dask tests)
    # live as long as the test process by design: they are not leaks.
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if p.pid not in _BEFORE
        and p.status() != psutil.STATUS_ZOMBIE
        and not _multiprocessing_helper(p)
    ]


def _multiprocessing_helper(p: psutil.Process) -> bool:
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return False
    return "multiprocessing.resource_tracker" in cmd or "multiprocessing.forkserver" in cmd


def _statuses(log: ExecutionLog) -> list[str]:
    return [c.status.value for c in log.cells]


# ---------------------------------------------------------------------------- unit


def test_runnable_cells_keeps_indices_and_sources_only() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# title"),
            new_code_cell("x = 1", metadata={"tags": ["skip-execution"]}),
            new_code_cell(["y = ", "2"]),  # list sources appear in unnormalised notebooks
        ]
    )
    assert _runnable_cells(nb) == [(1, "x = 1"), (2, "y = 2")]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        pytest.param("\x1b[0;31mValueError\x1b[0m: bad", "ValueError: bad", id="sgr"),
        pytest.param("\x1b]8;;http://x\x07link\x1b]8;;\x07", "link", id="osc-hyperlink"),
        pytest.param("10%\r50%\r100%\ndone", "100%\ndone", id="progress-bar"),
        pytest.param("a\r\nb", "a\nb", id="crlf"),
    ],
)
def test_clean_strips_ansi_and_carriage_returns(raw: str, clean: str) -> None:
    assert _clean(raw) == clean


def test_cell_text_keeps_head_of_output_and_tail_of_traceback() -> None:
    text = _CellText()
    text.add("stream", {"name": "stdout", "text": "a" * (EXCERPT_CHARS + 500)})
    tb = [f"frame {i}" for i in range(2000)] + ["\x1b[31mValueError\x1b[0m: boom"]
    text.add("error", {"ename": "ValueError", "evalue": "boom", "traceback": tb})
    out = text.render()
    assert out.startswith("a" * 100)
    assert "500 more characters of output not kept" in out
    assert out.endswith("ValueError: boom")
    assert "frame 0\n" not in out
    assert len(out) < 2 * EXCERPT_CHARS + 200
    assert (text.ename, text.evalue) == ("ValueError", "boom")
    # the traceback is cut at a line's start, and says so
    kept = out.split("[the start of the traceback is not kept]\n", 1)[1]
    assert kept.startswith("frame ") and kept.splitlines()[0] in tb


def test_cell_text_shows_rich_outputs_by_their_text() -> None:
    text = _CellText()
    text.add("execute_result", {"data": {"text/plain": "42", "text/html": "<b>42</b>"}})
    text.add("display_data", {"data": {"image/png": "iVBOR..."}})
    assert text.render() == "42\n<display_data>"


def test_payload_size_counts_bytes_and_survives_deep_nesting() -> None:
    assert _payload_size({"content": {"text": "abc"}}) == len("text") + 3
    assert _payload_size({"content": {"t": "é"}, "buffers": [b"12345"]}) == 1 + 2 + 5
    deep: object = "x"
    for _ in range(100_000):
        deep = [deep]
    assert _payload_size({"content": {"data": deep}}) == len("data") + 1


@pytest.mark.parametrize(
    ("code", "words"),
    [
        pytest.param(-9, "SIGKILL", id="sigkill"),
        pytest.param(-24, "CPU time limit", id="sigxcpu"),
        pytest.param(1, "exited with status 1", id="exit"),
        pytest.param(None, "stopped responding", id="unknown"),
    ],
)
def test_describe_exit(code: int | None, words: str) -> None:
    assert words in _describe_exit(code)


def test_prepare_workdir_copies_the_compat_modules(tmp_path: Path) -> None:
    modules = sorted(p.name for p in HELPERS.glob("*.py") if p.name != "__init__.py")
    assert modules == ["public_tests.py", "rnn_utils.py"]
    prepare_workdir(tmp_path / "work")
    assert sorted(p.name for p in (tmp_path / "work").glob("*.py")) == modules


# ---------------------------------------------------------------------------- real kernels


@pytest.mark.slow
def test_normal_notebook_from_a_thread(tmp_path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# not code"),
            new_code_cell("x = 6 * 7\nprint('x is', x)\nx"),
            new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),
            new_code_cell("print(x + 1)", metadata={"tags": ["skip-execution"]}),
            new_code_cell("!echo hi from the shell"),
            new_code_cell(""),
            new_code_cell(
                "import os, resource\n"
                "print(os.getcwd()); print(os.environ['HOME']); print(os.environ.get('MARK'))\n"
                "print(resource.getrlimit(resource.RLIMIT_AS)[0])"
            ),
            new_code_cell("input('name? ')"),
        ],
        # A Colab kernelspec that does not exist here: the grader's own Python runs anyway.
        metadata={"kernelspec": {"name": "colab-python3-gpu", "display_name": "Colab"}},
    )
    original = copy.deepcopy(nb)
    limits = Limits(cell_timeout=10, notebook_timeout=30, memory_bytes=3 << 30)
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["log"] = execute_notebook(
                nb, tmp_path, limits, kernel_cmd_prefix=["env", "MARK=prefixed"]
            )
        except BaseException as exc:  # surfaced below
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    log = result["log"]
    assert isinstance(log, ExecutionLog)

    assert [c.index for c in log.cells] == [1, 2, 3, 4, 5, 6, 7]
    assert _statuses(log) == ["ok", "error", "ok", "ok", "ok", "ok", "error"]
    first, err, skipped, shell, _, probe, stdin = log.cells
    assert first.output == "x is 42\n42"
    assert first.summary == "x = 6 * 7"
    assert first.execution_count == 1
    assert (err.ename, err.evalue) == ("ZeroDivisionError", "division by zero")
    assert "ZeroDivisionError" in err.output and "\x1b[" not in err.output
    assert skipped.output == "43"  # the skip-execution tag was ignored
    assert shell.output == "hi from the shell"
    cwd, home, mark, rlimit_as = probe.output.splitlines()
    assert Path(cwd) == tmp_path.absolute()
    assert Path(home).is_relative_to(tmp_path.absolute())
    assert mark == "prefixed"
    assert int(rlimit_as) == 3 << 30
    assert stdin.ename == "StdinNotImplementedError"  # input() fails at once, never waits
    assert not (log.kernel_died or log.timed_out or log.output_capped)
    assert log.completed and log.transport == "ipc"
    assert nb == original, "the caller's notebook must not change"
    assert not (tmp_path / RUNTIME_DIR).exists(), "connection file and sockets are removed"
    assert _live_children() == []


@pytest.mark.slow
def test_cell_timeout_interrupts_and_execution_goes_on(tmp_path: Path) -> None:
    nb = _nb("x = 1", "while True:\n    pass", "print(x + 1)")
    limits = Limits(cell_timeout=1, notebook_timeout=30)
    log = execute_notebook(nb, tmp_path, limits)
    assert _statuses(log) == ["ok", "timeout", "ok"]
    assert "longer than 1 s and was interrupted" in log.cells[1].evalue
    assert log.cells[1].duration >= 1  # it really ran until the limit (how long after: bench/)
    assert log.cells[2].output == "2", "the interrupted kernel kept its state"
    assert not log.timed_out and not log.kernel_died and log.completed
    assert log.stopped_at is None


@pytest.mark.slow
def test_cell_ignoring_sigint_is_killed_after_the_grace(tmp_path: Path) -> None:
    nb = _nb(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        "print('never')",
    )
    log = execute_notebook(nb, tmp_path, Limits(cell_timeout=1, notebook_timeout=30))
    assert _statuses(log) == ["timeout", "not_run"]
    assert "did not stop when interrupted" in log.cells[0].evalue
    assert log.stopped_at == 0 and not log.timed_out
    assert _live_children() == []


@pytest.mark.slow
def test_notebook_deadline_bounds_a_cell_that_ignores_sigint(tmp_path: Path) -> None:
    nb = _nb(
        "print('start')",
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True:\n    time.sleep(0.1)",
        "print('never')",
    )
    log = execute_notebook(nb, tmp_path, Limits(cell_timeout=60, notebook_timeout=2))
    assert _statuses(log) == ["ok", "timeout", "not_run"]
    assert log.timed_out and not log.completed
    assert "ran past its 2 s limit" in log.cells[1].evalue


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "why"),
    [
        pytest.param("import os\nos._exit(1)", "exited with status 1", id="os-exit"),
        pytest.param("import os\nos.kill(os.getpid(), 9)", "SIGKILL", id="sigkill"),
    ],
)
def test_kernel_death_is_recorded(tmp_path: Path, code: str, why: str) -> None:
    log = execute_notebook(_nb("print(1)", code, "print(2)"), tmp_path, FAST)
    assert _statuses(log) == ["ok", "kernel_died", "not_run"]
    assert why in log.cells[1].evalue
    assert log.kernel_died and log.stopped_at == 1
    assert not log.timed_out and not log.completed
    assert _live_children() == []


class _PeakRss:
    """Samples this process's RSS in a thread: the grader must not hold the flood."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.base = self.peak = self.proc.memory_info().rss
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.005):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 2**20


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "what"),
    [
        # ipykernel batches prints: this may arrive as one oversized message or as many.
        pytest.param("while True:\n    print('x' * 1000)", "", id="many-prints"),
        pytest.param("print('x' * 200_000_000)", "a single output over 1 MiB", id="one-huge-print"),
        pytest.param(
            "from IPython.display import display\n"
            "while True:\n    display({'text/plain': 'y' * 500_000}, raw=True)",
            "over 1 MiB in all",
            id="many-displays",
        ),
    ],
)
def test_output_flood_is_capped_and_grader_memory_stays_flat(
    tmp_path: Path, code: str, what: str
) -> None:
    limits = Limits(cell_timeout=20, notebook_timeout=30, output_bytes=1 << 20)
    with _PeakRss() as rss:
        log = execute_notebook(_nb("print('before')", code, "print('after')"), tmp_path, limits)
    assert _statuses(log) == ["ok", "output_limit", "not_run"]
    assert log.output_capped and log.stopped_at == 1
    assert "output limit: the notebook printed" in log.cells[1].evalue
    assert what in log.cells[1].evalue
    assert len(log.cells[1].output) < 2 * EXCERPT_CHARS
    assert rss.growth_mb < 120, f"grader RSS grew {rss.growth_mb:.0f} MB during a flood"


@pytest.mark.slow
def test_memory_bomb_raises_memoryerror_and_kernel_survives(tmp_path: Path) -> None:
    nb = _nb("blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))", "del blocks; 'alive'")
    limits = Limits(cell_timeout=20, notebook_timeout=30, memory_bytes=1 << 30)
    log = execute_notebook(nb, tmp_path, limits)
    assert _statuses(log) == ["error", "ok"]
    assert log.cells[0].ename == "MemoryError"
    assert log.cells[1].output == "'alive'"


@pytest.mark.slow
def test_daemons_left_by_the_notebook_are_killed(tmp_path: Path) -> None:
    nb = _nb(
        "import subprocess\nchild = subprocess.Popen(['sleep', '300'])\nprint(child.pid)",
        "import os, time\n"
        "r, w = os.pipe()\n"
        "if os.fork() == 0:\n"
        "    if os.fork() == 0:\n"  # double fork: re-parented away from the kernel
        "        os.write(w, str(os.getpid()).encode()); time.sleep(300)\n"
        "    os._exit(0)\n"
        "print(os.read(r, 20).decode())",
    )
    log = execute_notebook(nb, tmp_path, FAST)
    assert _statuses(log) == ["ok", "ok"]
    pids = [int(c.output) for c in log.cells]
    for pid in pids:
        try:
            status = psutil.Process(pid).status()
        except psutil.NoSuchProcess:
            continue
        assert status == psutil.STATUS_ZOMBIE, f"process {pid} survived the notebook"


@pytest.mark.slow
def test_kernel_that_cannot_start_is_an_infrastructure_error(tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match="did not start"):
        execute_notebook(
            _nb("1"), tmp_path, FAST, kernel_cmd_prefix=["/nonexistent/sandbox-wrapper"]
        )
    assert not (tmp_path / RUNTIME_DIR).exists()


@pytest.mark.slow
def test_long_workdir_falls_back_to_tcp(tmp_path: Path) -> None:
    workdir = tmp_path / ("d" * 90)
    log = execute_notebook(_nb("print('tcp ok')"), workdir, FAST)
    assert log.transport == "tcp"
    assert log.cells[0].output == "tcp ok"


@pytest.mark.slow
def test_kernel_is_ipython_without_debugger_or_completer(tmp_path: Path) -> None:
    """The kernel starts from ``KERNEL_BOOT``, not ``-m ipykernel_launcher``: still an IPython
    kernel whose working directory is importable (as ``''``, IPython's way), with magics and
    shell escapes, but without debugpy and jedi loaded (0.13 s of every start)."""
    (tmp_path / "local_mod.py").write_text("VALUE = 42\n")
    log = execute_notebook(
        _nb(
            "import sys, local_mod\nprint(local_mod.VALUE, sys.path.count(''), "
            "type(get_ipython()).__name__)",
            "print(sorted(m for m in ('debugpy', 'jedi', '_pydevd_bundle') if sys.modules.get(m)))",
            "%time x = 1\n!echo shell-ok",
        ),
        tmp_path,
        FAST,
    )
    assert [c.status for c in log.cells] == [CellStatus.OK] * 3, [c.error for c in log.cells]
    assert log.cells[0].output == "42 1 ZMQInteractiveShell"
    assert log.cells[1].output == "[]"
    assert "shell-ok" in log.cells[2].output


@pytest.mark.slow
def test_colab_example_runs_offline_with_compat_modules(tmp_path: Path) -> None:
    nb = nbformat.read(COLAB, as_version=4)
    prepare_workdir(tmp_path)
    log = execute_notebook(nb, tmp_path, Limits(cell_timeout=30, notebook_timeout=120))
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert [c.index for c in log.cells] == code_cells
    # `!wget` fails offline but a shell escape does not raise: the cell itself is ok.
    assert log.cells[0].summary.startswith("!wget")
    assert all(c.status is CellStatus.OK for c in log.cells), [
        (c.index, c.status.value, c.ename, c.evalue) for c in log.cells
    ]
    assert "a_next[4]" in log.cells[3].output
