"""Judge stage with the real sandboxed runner process (no kernel: fast).

Each test feeds extracted code straight to the runner and checks the verdict of the exercise it
targets — and that the other exercises are untouched.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import psutil
import pytest

import solutions.rnn.reference as ref
from grader.assignment import golden as golden_mod
from grader.core.config import Limits
from grader.core.models import ExerciseResult, Status
from grader.judge.checks import judge_exercise
from grader.judge.dispatch import run_exercises
from grader.sandbox.launch import basic_launcher
from grader.sandbox.limits import child_env
from grader.stages.extract import extract_sources
from tests.shipped import BY_NAME, EXERCISES, HELPERS, NAMES

REFERENCE = inspect.getsource(ref)
LIMITS = Limits(call_timeout=3.0, memory_bytes=1 << 30)
#: filling 1 GiB page by page takes seconds on a loaded 2-core CI machine: there the MemoryError,
#: not the per-call limit, must be what ends the incremental memory bomb
ROOMY = dataclasses.replace(LIMITS, call_timeout=30.0)


@pytest.fixture(scope="module")
def golden() -> golden_mod.Golden:
    return golden_mod.default()


def grade_sources(
    cells: list[str], golden: golden_mod.Golden, tmp_path: Path, limits: Limits = LIMITS
) -> dict[str, ExerciseResult]:
    extracted = extract_sources(list(enumerate(cells)), NAMES)
    cases = {n: golden.for_exercise(n) for n in NAMES}
    launcher = basic_launcher(limits, child_env(tmp_path))
    raws = run_exercises(extracted, cases, limits, tmp_path, launcher, HELPERS)
    out: dict[str, ExerciseResult] = {}
    verdicts: dict[str, Status] = {}
    for spec in EXERCISES:
        res = judge_exercise(
            spec,
            cases[spec.name],
            extracted[spec.name],
            raws.get(spec.name),
            points=spec.points,
            rtol=golden.rtol,
            atol=golden.atol,
            limits=limits,
            failing=verdicts,
        )
        verdicts[spec.name] = res.status
        out[spec.name] = res
    return out


def reference_with(old: str, new: str) -> str:
    assert old in REFERENCE, old
    return REFERENCE.replace(old, new, 1)


def test_reference_passes_everything(golden: golden_mod.Golden, tmp_path: Path) -> None:
    results = grade_sources([REFERENCE], golden, tmp_path)
    assert {n: r.status for n, r in results.items()} == {n: Status.PASSED for n in NAMES}
    assert sum(r.score for r in results.values()) == 100


HOSTILE = [
    pytest.param(
        "    while True:\n        pass\n", Status.TIMEOUT, "no result after", id="infinite-loop"
    ),
    pytest.param(
        "    import time; time.sleep(60)\n", Status.TIMEOUT, "no result after", id="sleep"
    ),
    pytest.param("    import sys; sys.exit(3)\n", Status.ERROR, "SystemExit", id="sys-exit"),
    pytest.param(
        "    raise KeyboardInterrupt\n", Status.ERROR, "KeyboardInterrupt", id="keyboard-interrupt"
    ),
    pytest.param("    import os; os._exit(0)\n", Status.ERROR, "exited with code 0", id="os-exit"),
    pytest.param(
        "    import os, signal; os.kill(os.getpid(), signal.SIGSEGV)\n",
        Status.ERROR,
        "SIGSEGV",
        id="segfault",
    ),
    pytest.param(
        "    import os, signal; os.kill(os.getppid(), signal.SIGKILL)\n",
        Status.ERROR,
        "ended unexpectedly",
        id="kills-its-parent",
    ),
    pytest.param("    x = bytearray(8 << 30)\n", Status.ERROR, "MemoryError", id="memory-bomb"),
    pytest.param(
        "    x = [bytearray(1 << 20) for _ in range(4000)]\n",
        Status.ERROR,
        "MemoryError",
        id="feasible-memory-bomb",
    ),
    pytest.param("    print('x' * 10_000_000)\n", Status.PASSED, "", id="prints-a-lot"),
    pytest.param(
        "    import threading, time\n    threading.Thread(target=time.sleep, args=(100,)).start()\n",
        Status.PASSED,
        "",
        id="background-thread",
    ),
]


@pytest.mark.parametrize(("inject", "status", "message"), HOSTILE)
def test_hostile_code_costs_only_its_exercise(
    inject: str, status: Status, message: str, golden: golden_mod.Golden, tmp_path: Path
) -> None:
    # Inject at the top of lstm_cell_backward's body; every other exercise must still pass.
    src = reference_with(
        "    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache\n"
        "    n_x, m = xt.shape",
        inject + "    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)"
        " = cache\n    n_x, m = xt.shape",
    )
    limits = ROOMY if "bytearray" in inject else LIMITS
    results = grade_sources([src], golden, tmp_path, limits)
    target = results["lstm_cell_backward"]
    assert target.status is status, target.reason
    assert message in target.reason
    others = {
        n: r.status for n, r in results.items() if n not in ("lstm_cell_backward", "lstm_backward")
    }
    assert set(others.values()) == {Status.PASSED}, others


def test_returning_lying_objects_fails_without_fooling_the_grader(
    golden: golden_mod.Golden, tmp_path: Path
) -> None:
    liar = """
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other): return True
    def __array_finalize__(self, obj): pass
class Anything:
    shape = (5, 10)
    dtype = np.float64
    def __eq__(self, other): return True
    def __array__(self, *a, **k): raise RuntimeError("no")
def rnn_cell_forward(xt, a_prev, parameters):
    return np.zeros((5, 10)).view(Liar), Anything(), (None,) * 4
"""
    res = grade_sources([liar], golden, tmp_path)["rnn_cell_forward"]
    assert res.status is Status.FAILED
    assert "Liar" in res.reason or "not a plain numpy.ndarray" in res.reason


def test_patched_numpy_at_top_level_is_not_imported_into_the_exercise(
    golden: golden_mod.Golden, tmp_path: Path
) -> None:
    patch = "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.tanh = lambda x: x * 0\n"
    res = grade_sources([patch, REFERENCE], golden, tmp_path)
    assert res["rnn_cell_forward"].status is Status.PASSED


def test_patching_numpy_inside_the_function_only_hurts_itself(
    golden: golden_mod.Golden, tmp_path: Path
) -> None:
    src = reference_with(
        "    ### START CODE HERE ###\n    a_next = np.tanh(",
        "    np.isclose = lambda *a, **k: True\n    np.allclose = np.isclose\n"
        "    ### START CODE HERE ###\n    a_next = np.tanh(0 * ",
    )
    res = grade_sources([src], golden, tmp_path)
    assert res["rnn_cell_forward"].status is Status.FAILED
    assert res["lstm_cell_forward"].status is Status.PASSED


def test_nan_outputs_are_reported(golden: golden_mod.Golden, tmp_path: Path) -> None:
    src = reference_with(
        "    yt_pred = softmax(np.dot(Wya, a_next) + by)\n    ### END",
        "    yt_pred = softmax(np.dot(Wya, a_next) + by) * np.nan\n    ### END",
    )
    res = grade_sources([src], golden, tmp_path)["rnn_cell_forward"]
    assert res.status is Status.FAILED and "NaN" in res.reason


def test_huge_result_is_capped(golden: golden_mod.Golden, tmp_path: Path) -> None:
    src = reference_with(
        '    gradients = {"dxt": dxt, "da_prev": da_prev,',
        '    dxt = np.ones((4000, 4000))\n    gradients = {"dxt": dxt, "da_prev": da_prev,',
    )
    limits = Limits(call_timeout=5.0, result_bytes=16 << 20)
    res = grade_sources([src], golden, tmp_path, limits)["rnn_cell_backward"]
    assert res.status is Status.ERROR and "larger than 16 MiB" in res.reason


def test_mutating_inputs_fails(golden: golden_mod.Golden, tmp_path: Path) -> None:
    src = reference_with(
        "    a_next = np.tanh(np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba)\n",
        "    a_next = np.tanh(np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba)\n    xt *= 1\n"
        "    a_prev[0, 0] = 7.0\n",
    )
    res = grade_sources([src], golden, tmp_path)["rnn_cell_forward"]
    assert res.status is Status.FAILED
    assert "modified its input(s) a_prev" in res.reason


def test_wrong_signature_is_an_error(golden: golden_mod.Golden, tmp_path: Path) -> None:
    res = grade_sources(
        ["def rnn_cell_forward(xt, parameters):\n    return None\n"], golden, tmp_path
    )
    r = res["rnn_cell_forward"]
    assert (
        r.status is Status.ERROR
        and "cannot be called as rnn_cell_forward(xt, a_prev, parameters)" in r.reason
    )


def test_exception_traceback_points_at_the_students_cell(
    golden: golden_mod.Golden, tmp_path: Path
) -> None:
    cells = [
        "import numpy as np\n",
        "x = 1\n\ndef rnn_cell_forward(xt, a_prev, parameters):\n    return 1 / 0\n",
    ]
    r = grade_sources(cells, golden, tmp_path)["rnn_cell_forward"]
    assert r.status is Status.ERROR and r.error is not None
    assert r.error.type == "ZeroDivisionError"
    assert r.error.traceback[-1] == "cell 2, line 4, in rnn_cell_forward: return 1 / 0"


def test_hidden_case_failures_do_not_leak_values(golden: golden_mod.Golden, tmp_path: Path) -> None:
    # Tuned to the worked example: right values there, wrong values (right shapes) on every
    # hidden case. A control exercise is wrong everywhere, the public case included.
    src = (
        REFERENCE
        + """
_real = rnn_cell_forward
def rnn_cell_forward(xt, a_prev, parameters):
    a_next, yt_pred, cache = _real(xt, a_prev, parameters)
    if xt.shape != (3, 10):
        a_next = a_next + 0.5
    return a_next, yt_pred, (a_next,) + cache[1:]

_real_lstm = lstm_cell_forward
def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    a_next, c_next, yt_pred, cache = _real_lstm(xt, a_prev, c_prev, parameters)
    return a_next + 0.5, c_next, yt_pred, (a_next + 0.5,) + cache[1:]
"""
    )
    res = grade_sources([src], golden, tmp_path)
    r = res["rnn_cell_forward"]
    assert r.status is Status.FAILED
    public = [c for c in r.checks if c.case == "public"]
    assert public and all(c.passed for c in public)
    assert "hidden case" in r.reason
    hidden_mismatches = [c for c in r.checks if c.hidden and c.mismatch is not None]
    assert hidden_mismatches, "the function must produce value mismatches on hidden cases"
    for c in hidden_mismatches:
        assert c.mismatch.first == () and c.mismatch.max_abs is None
    # Control: on the public case the same kind of mismatch does show where and by how much.
    control = [c for c in res["lstm_cell_forward"].checks if c.case == "public" and c.mismatch]
    assert control and all(c.mismatch.first and c.mismatch.max_abs for c in control)


def test_every_exercise_reports_missing(golden: golden_mod.Golden, tmp_path: Path) -> None:
    res = grade_sources(["print('hello')\n"], golden, tmp_path)
    assert {r.status for r in res.values()} == {Status.MISSING}
    assert all(r.score == 0 and r.max_score == BY_NAME[n].points for n, r in res.items())


def test_no_process_survives(golden: golden_mod.Golden, tmp_path: Path) -> None:
    # Tracked by pid: once the exercise's child is gone, a leaked `sleep` is re-parented to init
    # and no longer shows up among this process's descendants.
    pidfile = tmp_path / "sleepers"
    src = reference_with(
        '    Wax = parameters["Wax"]\n    Waa = parameters["Waa"]\n\n    ### START',
        "    import subprocess\n"
        "    child = subprocess.Popen(['sleep', '300'])\n"
        f"    open({str(pidfile)!r}, 'a').write(f'{{child.pid}}\\n')\n"
        '    Wax = parameters["Wax"]\n    Waa = parameters["Waa"]\n\n    ### START',
    )
    results = grade_sources([src], golden, tmp_path)
    assert results["rnn_cell_forward"].status is Status.PASSED
    pids = [int(line) for line in pidfile.read_text().split()]
    # one per call: each case of rnn_cell_forward, and each time step of rnn_forward
    assert len(pids) > len(golden.for_exercise("rnn_cell_forward"))
    for pid in pids:
        try:
            status = psutil.Process(pid).status()
        except psutil.NoSuchProcess:
            continue
        assert status == psutil.STATUS_ZOMBIE, f"sleep {pid} outlived its exercise"


def test_an_exception_says_where_in_the_notebook_it_was_raised() -> None:
    from grader.judge.checks import _exception_info, located

    case = golden_mod.default().cases["rnn_forward"][0]
    frame = {
        "type": "KeyError",
        "message": "'Wxa'",
        "traceback": [
            "cell 7, line 32, in rnn_forward: a_next, yt_pred, cache = rnn_cell_forward(xt, a, p)",
            'cell 4, line 20, in rnn_cell_forward: Wax = parameters["Wxa"]',
        ],
    }
    err = _exception_info(frame, case)
    assert err.message == "KeyError: 'Wxa'"  # the error itself stays the exception's own text
    assert located(err) == "KeyError: 'Wxa' (at cell 4, line 20)"  # the reason says where
    assert located(_exception_info({**frame, "traceback": []}, case)) == "KeyError: 'Wxa'"


def test_hidden_cases_quote_nothing_the_student_chose() -> None:
    """A notebook can put a hidden case's inputs into an exception message, a returned string,
    dict keys or a class name: none of them may reach a message (README: hidden cases show
    only their sizes)."""
    from grader.judge.checks import _exception_info, located
    from grader.judge.compare import type_name
    from grader.wire.codec import ForeignArray, Opaque

    leak = "LEAK 0.1257302210933933"
    for value in (leak, 0.1257302210933933, {leak: 1}, Opaque(leak, leak),
                  ForeignArray(leak, np.zeros(2))):  # fmt: skip
        assert "LEAK" not in type_name(value, hidden=True) and "0.125" not in type_name(
            value, hidden=True
        ), value
        assert "LEAK" in type_name(value) or "0.125" in type_name(value)  # public: quoted
    hidden = next(c for c in golden_mod.default().cases["rnn_cell_forward"] if c.hidden)
    frame = {"type": "ValueError", "message": leak, "traceback": ["cell 4, line 34, in f: x"]}
    shown = located(_exception_info(frame, hidden))
    assert shown.startswith("ValueError") and "(at cell 4, line 34)" in shown
    assert "LEAK" not in shown, shown
    custom = located(_exception_info({**frame, "type": "__main__.LEAK_0_1257"}, hidden))
    assert "LEAK" not in custom, custom
