"""Hostile submissions against the whole grader, at the sandbox level this machine offers.

Each case states its verdict. Cases already covered elsewhere are not repeated here (see
docs/security.md for the full list and where each is tested). Judge-level cases run the real runner
under both levels (strong is skipped, with the reason, where this machine cannot isolate); notebook
cases run real kernels through ``grade_notebook`` and are marked slow.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

import solutions.rnn.reference as ref
from grader import pipeline as pipeline_mod
from grader.assignment import golden as golden_mod
from grader.core.config import GradingConfig, Limits
from grader.core.models import CellStatus, ExerciseResult, Status
from grader.core.resources import data_dir, default_golden
from grader.judge.checks import judge_exercise
from grader.judge.dispatch import run_exercises
from grader.pipeline import grade_notebook
from grader.render.html import render_html
from grader.render.terminal import render_terminal
from grader.sandbox import jobs, levels
from grader.sandbox.uids import UID_BASE, UID_COUNT, wait_gone
from grader.stages.extract import extract_sources
from tests.notebooks import submission, write
from tests.shipped import EXERCISES, NAMES

SB = levels.select_sandbox()
REFERENCE = inspect.getsource(ref)
LIMITS = Limits(call_timeout=3.0, memory_bytes=1 << 30, processes=64)
CONFIG = GradingConfig(
    limits=Limits(
        cell_timeout=5, notebook_timeout=60, call_timeout=5, memory_bytes=1 << 30, processes=64
    )
)
# grade_notebook isolates only once the pipeline uses grader.sandbox.jobs (integration by the lead).
PIPELINE_STRONG = SB.strong and hasattr(pipeline_mod, "select_sandbox")
SANDBOX_UIDS = range(UID_BASE, UID_BASE + UID_COUNT)

LEVELS = [
    pytest.param(levels.Sandbox("basic"), id="basic"),
    pytest.param(
        SB,
        id="strong",
        marks=pytest.mark.skipif(
            not SB.strong, reason=f"strong sandbox unavailable: {', '.join(SB.missing)}"
        ),
    ),
]


@pytest.fixture(scope="module")
def golden() -> golden_mod.Golden:
    return golden_mod.default()


def judge_in(
    level: levels.Sandbox, cells: list[str], golden: golden_mod.Golden
) -> tuple[dict[str, ExerciseResult], tuple[int, ...]]:
    """Judge ``cells`` with the runner started by a ``level`` job; (results, sandbox uids)."""
    extracted = extract_sources(list(enumerate(cells)), NAMES)
    cases = {n: golden.for_exercise(n) for n in NAMES}
    with jobs.job(level, LIMITS, golden_dirs=(golden.path,)) as j:
        raws = run_exercises(extracted, cases, LIMITS, j.judgedir, j.launcher, j.compat)
        uids = j.uids
    out: dict[str, ExerciseResult] = {}
    for spec in EXERCISES:
        out[spec.name] = judge_exercise(
            spec, cases[spec.name], extracted[spec.name], raws.get(spec.name),
            points=spec.points, rtol=golden.rtol, atol=golden.atol, limits=LIMITS,
            failing={},
        )  # fmt: skip
    return out, uids


def inject(body: str) -> str:
    """The reference with ``body`` run first in rnn_cell_backward."""
    anchor = "    (a_next, a_prev, xt, parameters) = cache\n"
    assert anchor in REFERENCE
    return REFERENCE.replace(anchor, body + anchor, 1)


# ------------------------------------------------------------------------------ judge level

PIDFILE = "/tmp/rnn-grader-adversarial-daemon.pid"


@pytest.mark.parametrize("level", LEVELS)
def test_daemon_escaping_the_judge(level: levels.Sandbox, golden: golden_mod.Golden) -> None:
    # double fork + setsid: outside the child's process group and session.
    body = (
        "    import os, time\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        f"            open({PIDFILE!r}, 'w').write(str(os.getpid()))\n"
        "            time.sleep(300)\n"
        "        os._exit(0)\n"
        "    time.sleep(0.3)\n"
    )
    results, uids = judge_in(level, [inject(body)], golden)
    assert results["rnn_cell_backward"].status is Status.PASSED
    if level.strong:  # verdict strong: dead with its PID namespace, nothing of its uid left
        assert wait_gone(uids) == []
        assert not Path(PIDFILE).exists()  # its /tmp was private
    else:  # verdict basic: may survive (no namespace); documented, cleaned up here
        pid = int(Path(PIDFILE).read_text()) if Path(PIDFILE).exists() else None
        if pid is not None:
            with __import__("contextlib").suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            Path(PIDFILE).unlink()


@pytest.mark.parametrize("level", LEVELS)
def test_fork_bomb_in_a_function(level: levels.Sandbox, golden: golden_mod.Golden) -> None:
    body = (
        "    import os, time\n"
        "    for _ in range(400):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(300)\n"
        "            os._exit(0)\n"
    )
    results, uids = judge_in(level, [inject(body)], golden)
    res = results["rnn_cell_backward"]
    if level.strong:  # RLIMIT_NPROC (per uid, or per user namespace) refuses the forks
        assert res.status is Status.ERROR and "BlockingIOError" in res.reason
        assert wait_gone(uids) == []
    else:  # basic: 400 sleepers a call, killed with the child's process group at the end;
        # on a loaded machine the forks may outlast the call deadline: either way only this
        # exercise pays, which is the promise
        assert res.status in (Status.PASSED, Status.TIMEOUT), res.reason
    assert results["rnn_cell_forward"].status is Status.PASSED


READ_KEY = (
    "    import glob, os\n"
    "    found = glob.glob({golden!r} + '/**/*', recursive=True)"
    " + glob.glob({sol!r} + '/*.py')\n"
    "    environ = []\n"
    "    for p in glob.glob('/proc/[0-9]*/environ'):\n"
    "        try:\n"
    "            environ.append(open(p, 'rb').read())\n"
    "        except OSError:\n"
    "            pass\n"
    "    if found or any(b'PYTEST' in e or b'JPY_PARENT_PID' in e for e in environ):\n"
    "        raise RuntimeError('ANSWER KEY VISIBLE %d %d' % (len(found), len(environ)))\n"
)


@pytest.mark.parametrize("level", LEVELS)
def test_reading_the_answer_key(level: levels.Sandbox, golden: golden_mod.Golden) -> None:
    sol = str(Path(ref.__file__).parent)
    body = READ_KEY.format(golden=str(golden.path), sol=sol)
    results, _ = judge_in(level, [inject(body)], golden)
    res = results["rnn_cell_backward"]
    if level.strong:  # golden, solutions/ and the grader's /proc are out of reach
        assert res.status is Status.PASSED, res.reason
    else:  # basic: the grader's user can read them, so student code can (documented)
        assert res.status is Status.ERROR and "ANSWER KEY VISIBLE" in res.reason


@pytest.fixture(scope="module")
def private_golden() -> Iterator[golden_mod.Golden]:
    """A private golden set (``--golden DIR``) that every uid could read were it not hidden.

    A copy of the shipped set, world-readable, outside ``/tmp``, ``/root``, the checkout and the
    grader's state dir: the strong sandbox hides those whatever else it does, so a set there
    would look hidden even if the golden directories in use were not. The basic case is the
    control: there the probe below does see the set.
    """
    bases = ["/run", "/var/lib", "/opt", "/srv"] if os.geteuid() == 0 else []
    base = next((b for b in bases if os.path.isdir(b) and os.access(b, os.W_OK)), None)
    where = Path(tempfile.mkdtemp(prefix="rnn-grader-test-private-golden-", dir=base))
    try:
        os.chmod(where, 0o755)
        shipped = default_golden()
        for name in golden_mod.FILES + golden_mod.OPTIONAL_FILES:
            if (shipped / name).exists():
                shutil.copyfile(shipped / name, where / name)
                os.chmod(where / name, 0o644)
        shutil.copytree(shipped / "helpers", where / "helpers")
        yield golden_mod.load(where)
    finally:
        shutil.rmtree(where, ignore_errors=True)


PROBE_PRIVATE = (
    "    import os\n"
    "    try:\n"
    "        seen = os.listdir({path!r})\n"
    "        secret = open(os.path.join({path!r}, 'expected.npz'), 'rb').read(4)\n"
    "    except OSError:\n"
    "        seen, secret = [], b''\n"
    "    if seen or secret:\n"
    "        raise RuntimeError('PRIVATE GOLDEN VISIBLE %d %r' % (len(seen), secret))\n"
)


@pytest.mark.parametrize("level", LEVELS)
def test_private_golden_dir_is_hidden(
    level: levels.Sandbox, private_golden: golden_mod.Golden
) -> None:
    body = PROBE_PRIVATE.format(path=str(private_golden.path))
    results, _ = judge_in(level, [inject(body)], private_golden)
    res = results["rnn_cell_backward"]
    if level.strong:  # the private set in use is out of reach like the shipped one
        assert res.status is Status.PASSED, res.reason
    else:  # basic: the grader's user can read it, so student code can (documented)
        assert res.status is Status.ERROR and "PRIVATE GOLDEN VISIBLE" in res.reason
    assert results["rnn_cell_forward"].status is Status.PASSED  # graded against the private set


@pytest.mark.slow
@pytest.mark.skipif(not SB.strong, reason=f"strong sandbox unavailable: {', '.join(SB.missing)}")
def test_grading_with_a_private_golden_hides_it_from_the_kernel_too(
    private_golden: golden_mod.Golden, tmp_path: Path
) -> None:
    peek = (
        f"import os\ntry:\n    print('seen', os.listdir({str(private_golden.path)!r}))\n"
        "except OSError as e:\n    print('hidden', type(e).__name__)"
    )
    nb = submission(before=(peek,))
    result = grade_notebook(
        write(nb, tmp_path / "peek.ipynb"), golden=private_golden, config=CONFIG
    )
    assert result.sandbox == SB.name and result.golden == private_golden.id
    assert result.score == 100, [(e.name, e.reason) for e in result.exercises if e.reason]
    out = next(c for c in result.cells if c.index == 2).output
    assert out in ("seen []", "hidden PermissionError", "hidden FileNotFoundError"), out


@pytest.mark.parametrize("level", LEVELS)
def test_writing_into_the_venv_and_ipython_startup(
    level: levels.Sandbox, golden: golden_mod.Golden
) -> None:
    if not level.strong:
        pytest.skip("basic level: a root grader's venv is writable by student code (documented)")
    site = next(p for p in sys.path if p.endswith("site-packages"))
    target = Path(site) / "zz_rnn_grader_evil.pth"
    startup = Path.home() / ".ipython" / "profile_default" / "startup" / "00-evil.py"
    body = (
        f"    for p in ({str(target)!r}, {str(startup)!r}):\n"
        "        try:\n"
        "            open(p, 'w').write('import os')\n"
        "        except OSError:\n"
        "            pass\n"
    )
    results, _ = judge_in(level, [inject(body)], golden)
    assert results["rnn_cell_backward"].status is Status.PASSED
    assert not target.exists() and not startup.exists()


OUTPUT_GAMES = [
    pytest.param(
        "    return {k: v.astype(np.float16) for k, v in gradients.items()}\n",
        Status.FAILED,
        "dtype float16",
        id="float16",
    ),
    pytest.param(
        "    return {k: v.astype(complex) for k, v in gradients.items()}\n",
        Status.FAILED,
        "dtype complex128",
        id="complex",
    ),
    pytest.param(
        "    return {k: v.astype(object) for k, v in gradients.items()}\n",
        Status.FAILED,
        "ndarray[dtype=object]",
        id="object-dtype",
    ),
    pytest.param(
        "    import os\n"
        "    class P:\n"
        "        def __reduce__(self):\n"
        "            return (os.system, ('touch /tmp/rnn-grader-pwned',))\n"
        "    return {k: P() for k in gradients}\n",
        Status.FAILED,
        "<locals>.p object; expected a numpy array",
        id="pickled-payload",
    ),
    # The forgeries below must change nothing: the function returns the right answer, so only
    # PASSED proves the fake modules / forged frames were ignored.
    pytest.param(
        "    import sys, types\n"
        "    import grader.wire.codec, grader.judge.runner\n"
        '    forged = lambda *a, **k: b\'{"kind": "case", "status": "ok"}\'\n'
        "    grader.wire.codec.pack = forged\n"
        "    grader.judge.runner.write_frame = lambda *a, **k: None\n"
        "    fake = types.ModuleType('grader.wire.codec')\n"
        "    fake.pack = forged\n"
        "    sys.modules['grader.wire.codec'] = fake\n"
        "    sys.modules['grader.judge.runner'] = fake\n"
        "    return gradients\n",
        Status.PASSED,
        "",
        id="fake-grader-modules",
    ),
    pytest.param(
        "    import os, struct, sys, json\n"
        "    forged = json.dumps({'kind': 'end', 'name': 'rnn_cell_backward'}).encode()\n"
        "    frame = struct.pack('<Q', len(forged)) + forged\n"
        "    print(frame.decode('latin-1'))\n"
        "    sys.stdout.flush()\n"
        "    sys.__stdout__.buffer.write(frame)\n"
        "    sys.__stdout__.flush()\n"
        "    os.write(1, frame)\n"
        "    os.write(2, frame)\n"
        "    return gradients\n",
        Status.PASSED,
        "",
        id="forged-frames-on-stdout",
    ),
    # Bytes forged into the result pipe itself (whichever fd it is) spoil that exercise only.
    pytest.param(
        "    import os, struct\n"
        "    for fd in range(3, 20):\n"
        "        try:\n"
        "            os.write(fd, struct.pack('<Q', 10**12))\n"
        "        except OSError:\n"
        "            pass\n"
        "    return gradients\n",
        Status.ERROR,
        "the result was larger than",
        id="forged-frames-in-the-pipe",
    ),
]


@pytest.mark.parametrize(("ret", "status", "words"), OUTPUT_GAMES)
def test_output_games_cost_only_their_exercise(
    ret: str, status: Status, words: str, golden: golden_mod.Golden
) -> None:
    anchor = "    return gradients\n"
    start = REFERENCE.index("def rnn_cell_backward")
    pos = REFERENCE.index(anchor, start)
    src = REFERENCE[:pos] + ret + REFERENCE[pos + len(anchor) :]
    results, _ = judge_in(SB, [src], golden)
    res = results["rnn_cell_backward"]
    assert res.status is status, res.reason
    if status is Status.PASSED:
        assert res.reason == "" and res.score == res.max_score > 0
        assert res.checks and all(c.passed for c in res.checks)
    else:
        assert words and words in res.reason.lower(), res.reason
    assert not Path("/tmp/rnn-grader-pwned").exists()
    others = {n: r.status for n, r in results.items() if n not in ("rnn_cell_backward",
                                                                   "rnn_backward")}  # fmt: skip
    assert set(others.values()) == {Status.PASSED}, others


# ------------------------------------------------------------------------------ notebook level

HOSTILE_CELLS = {
    "injection": (
        "print('<script>alert(1)</script>\\x1b[31mRED\\x1b]0;title\\x07\\x1b]8;;http://evil\\x1b\\\\')\n"
        "raise ValueError('<img src=x onerror=alert(2)>\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07')"
    ),
    "big-file": "open('big.bin', 'wb').write(b'x' * (300 << 20))",
    "many-files": (
        "import os\nos.makedirs('many', exist_ok=True)\n"
        "for i in range(30000):\n    open(f'many/{i}', 'w').close()"
    ),
    "fill-tmp": "open('/tmp/rnn-grader-adversarial-fill', 'wb').write(b'x' * (100 << 20))",
    "symlinked-output": (
        f"import os, glob\nfor p in glob.glob({str(data_dir('golden'))!r})[:1]:\n"
        "    os.symlink(p, 'golden-link')\n    print('linked', p)"
    ),
    "ipython-startup": (
        "import os\nd = os.path.expanduser('~/.ipython/profile_default/startup')\n"
        "os.makedirs(d, exist_ok=True)\n"
        "open(os.path.join(d, '00-evil.py'), 'w').write('import numpy; numpy.tanh = None')"
    ),
    "other-kernels": (
        "import glob, zmq\nsocks = glob.glob('/run/rnn-grader/jobs/*/notebook/.kernel/*')"
        " + glob.glob('/tmp/rnn-grader-*/notebook/.kernel/*')\n"
        "print('jobs', len({s.split('/notebook/')[0] for s in socks}))"
    ),
    "network": "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)",
    "segfault": "import ctypes\nctypes.string_at(0)",
}


def hostile_notebook(tags: bool = True):  # type: ignore[no-untyped-def]
    nb = submission(before=tuple(HOSTILE_CELLS.values()))
    if tags:  # student tags must not change what runs or how errors count
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.metadata["tags"] = ["raises-exception", "skip-execution"]
    return nb


_ESCAPES = re.compile(r"\x1b|\x07|\x9b")


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_hostile_notebook_costs_nothing_and_reports_are_clean(
    level: levels.Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The level is forced, so the basic level (what students get on their laptops) runs end to
    # end here even where the strong one is available.
    monkeypatch.setenv(levels.ENV_VAR, level.level)
    result = grade_notebook(write(hostile_notebook(), tmp_path / "hostile.ipynb"), config=CONFIG)
    filled = Path("/tmp/rnn-grader-adversarial-fill")
    assert result.sandbox == level.name  # strong, strong-rootless or basic
    if result.sandbox.startswith("strong"):
        assert not filled.exists()  # its /tmp was private
    filled.unlink(missing_ok=True)  # basic: the host's /tmp (documented)
    assert result.status == "graded" and result.score == 100, [
        (e.name, e.reason) for e in result.exercises if e.status is not Status.PASSED
    ]
    by_src = {name: next(c for c in result.cells if c.index == 2 + i)
              for i, name in enumerate(HOSTILE_CELLS)}  # fmt: skip
    assert by_src["injection"].status is CellStatus.ERROR
    assert by_src["big-file"].status is CellStatus.ERROR  # RLIMIT_FSIZE: File too large
    assert "too large" in by_src["big-file"].evalue.lower()
    # The segfault is the last hostile cell: the kernel dies, the grade does not change.
    assert by_src["segfault"].status is CellStatus.KERNEL_DIED
    assert "SIGSEGV" in by_src["segfault"].evalue
    if result.sandbox == "strong":  # root only: the job dir is a tmpfs with an inode limit
        assert by_src["many-files"].status is CellStatus.ERROR
    if result.sandbox.startswith("strong"):  # the view: also without root
        assert "jobs 1" in by_src["other-kernels"].output  # only its own sockets
        assert "linked" not in by_src["symlinked-output"].output  # the checkout is hidden
        assert by_src["network"].status is CellStatus.ERROR
    # The markup really reached the result (else the checks below would pass vacuously) ...
    injection = by_src["injection"]
    assert "<script>alert(1)</script>" in injection.output and "RED" in injection.output
    assert "<img src=x onerror=alert(2)>" in injection.evalue
    # ... and the rendered reports show it as text: no live markup, no terminal escapes.
    html = render_html(result)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert not _ESCAPES.search(html)
    text = render_terminal(result, color=False, report_path=None)
    assert not _ESCAPES.search(text)


@pytest.mark.slow
def test_batch_of_hostile_and_honest_notebooks(tmp_path: Path) -> None:
    """Parallel grading: one result each, exact honest scores, nothing left, memory bounded."""
    honest = submission()
    flood = submission(before=("for _ in range(200):\n    print('x' * 100_000)",))
    daemon = submission(
        before=(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n"
            "    if os.fork() == 0:\n        time.sleep(600)\n    os._exit(0)",
        )
    )
    killer = submission(before=("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",))
    memory = submission(before=("x = bytearray(16 << 30)",))
    notebooks = {
        "honest-1": honest, "flood": flood, "daemon": daemon, "honest-2": honest,
        "hostile": hostile_notebook(), "killer": killer, "memory": memory, "honest-3": honest,
    }  # fmt: skip
    if not PIPELINE_STRONG:
        # basic: a kernel runs as the grader's child and user; killing its parent kills the
        # grader itself (documented in docs/security.md), so this case is strong-only.
        # Likewise a setsid'ed double-forked daemon outlives the job (documented): strong-only.
        del notebooks["killer"], notebooks["daemon"]
    paths = [write(nb, tmp_path / f"{name}.ipynb") for name, nb in notebooks.items()]
    me = psutil.Process()
    rss_before = me.memory_info().rss

    def one(path: Path):  # type: ignore[no-untyped-def]
        return grade_notebook(path, config=CONFIG)

    try:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(one, paths))
    finally:
        Path("/tmp/rnn-grader-adversarial-fill").unlink(missing_ok=True)
    assert [Path(r.notebook).stem for r in results] == list(notebooks)
    for name, result in zip(notebooks, results, strict=True):
        assert result.status == "graded", (name, result.error)
        if name.startswith("honest"):
            assert result.score == 100
    assert me.memory_info().rss - rss_before < 400 << 20
    if any(r.sandbox == "strong" for r in results):  # root: every sandbox uid is empty again
        assert wait_gone(SANDBOX_UIDS) == []
    assert not _children_left(me)


def _children_left(me: psutil.Process) -> list[psutil.Process]:
    # multiprocessing's resource tracker (left by an earlier spawned pool) lives as long as we do
    return [
        p
        for p in _alive(me.children(recursive=True))
        if not any(
            s in " ".join(p.cmdline()) for s in ("pytest", "multiprocessing.resource_tracker")
        )
    ]


def _alive(procs: list[psutil.Process]) -> Iterator[psutil.Process]:
    for p in procs:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                yield p
        except psutil.Error:
            continue
