"""End to end with real notebooks and a real kernel: the right exercises lose marks, nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.core.config import GradingConfig, Limits
from grader.core.models import CellStatus, GradeResult, Status
from grader.pipeline import grade_notebook
from grader.sandbox import levels
from tests.notebooks import function_sources, mutate, submission, write
from tests.shipped import NAMES

pytestmark = pytest.mark.slow

CONFIG = GradingConfig(
    limits=Limits(cell_timeout=5, notebook_timeout=40, call_timeout=5, memory_bytes=1 << 30)
)
SRC = function_sources()


def grade(nb, tmp_path: Path) -> GradeResult:  # type: ignore[no-untyped-def]
    return grade_notebook(write(nb, tmp_path / "submission.ipynb"), config=CONFIG)


def statuses(result: GradeResult) -> dict[str, Status]:
    return {e.name: e.status for e in result.exercises}


def not_passed(result: GradeResult) -> set[str]:
    return {e.name for e in result.exercises if e.status is not Status.PASSED}


# ------------------------------------------------------------------------------------------------
# Correct solutions in several styles all get 100


def _matmul_everywhere(src: str) -> str:
    return re.sub(r"np\.dot\(([^(),]+(?:\[[^\]]*\])?(?:\.T)?), ([^()]+?)\)", r"(\1 @ \2)", src)


def _after_signature(src: str, statements: str) -> str:
    """``statements`` as the first lines of the function's body (before its docstring)."""
    head, body = src.split(":\n", 1)
    return f"{head}:\n    {statements}\n{body}"


STYLES = {
    "matmul-operator": {
        n: _matmul_everywhere(SRC[n])
        for n in ("rnn_cell_forward", "lstm_cell_forward", "rnn_cell_backward")
    },
    "vstack-and-split-blocks": {
        "lstm_cell_forward": mutate(
            mutate(
                SRC["lstm_cell_forward"],
                "concat = np.concatenate((a_prev, xt), axis=0)",
                "concat = np.vstack([a_prev, xt])\n    n_a = a_prev.shape[0]",
            ),
            "ft = sigmoid(np.dot(Wf, concat) + bf)",
            "ft = sigmoid(Wf[:, :n_a] @ a_prev + Wf[:, n_a:] @ xt + bf)",
        ),
    },
    "vectorised-loops": {
        "rnn_forward": mutate(
            SRC["rnn_forward"],
            "        a[:, :, t] = a_next\n        y_pred[:, :, t] = yt_pred\n",
            "        a[..., t], y_pred[..., t] = a_next, yt_pred\n",
        ),
        "rnn_backward": mutate(
            SRC["rnn_backward"],
            '        dba += gradients["dba"]\n',
            '        dba = dba + gradients["dba"].reshape(n_a, 1)\n',
        ),
    },
    # module-level state reached only through `global` (a call counter, a memo): the extracted
    # program must carry the module-level binding the function reads and rebinds
    "global-call-counter": {
        "rnn_forward": "N_CALLS = 0\n\n"
        + _after_signature(SRC["rnn_forward"], "global N_CALLS\n    N_CALLS += 1"),
        "lstm_cell_backward": "_N_BACKWARD = 0\n\n"
        + _after_signature(
            SRC["lstm_cell_backward"], "global _N_BACKWARD\n    _N_BACKWARD = _N_BACKWARD + 1"
        ),
    },
    "global-memo": {
        "rnn_cell_forward": "_SOFTMAX = None\n\n"
        + _after_signature(
            SRC["rnn_cell_forward"],
            "global _SOFTMAX\n    if _SOFTMAX is None:\n        _SOFTMAX = softmax",
        ).replace("yt_pred = softmax(", "yt_pred = _SOFTMAX("),
    },
    "own-stable-softmax-no-course-imports": {
        "rnn_cell_forward": "def stable_softmax(z):\n    e = np.exp(z - z.max(axis=0))\n"
        "    return e / e.sum(axis=0)\n\n"
        + SRC["rnn_cell_forward"].replace("softmax(", "stable_softmax("),
        "lstm_cell_forward": "def sigmoid(z):\n    return 0.5 * (1 + np.tanh(z / 2))\n\n"
        + SRC["lstm_cell_forward"].replace("softmax(", "stable_softmax("),
    },
}


for _style in STYLES.values():
    for _src in _style.values():
        compile(_src, "<style>", "exec")  # a test bug, not a grading result


@pytest.mark.parametrize("style", sorted(STYLES))
def test_correct_styles_get_full_marks(style: str, tmp_path: Path) -> None:
    imports = "import numpy as np\n" if "no-course" in style else None
    nb = submission(STYLES[style], **({"imports": imports} if imports else {}))
    result = grade(nb, tmp_path)
    assert result.status == "graded"
    assert not_passed(result) == set(), {e.name: e.reason for e in result.exercises if e.reason}
    assert result.score == result.max_score == 100


_SB = levels.select_sandbox()
LEVELS = [
    pytest.param("basic", id="basic"),
    pytest.param(
        "strong",
        id="strong",
        marks=pytest.mark.skipif(
            not _SB.strong, reason=f"strong sandbox unavailable: {', '.join(_SB.missing)}"
        ),
    ),
]


@pytest.mark.parametrize("level", LEVELS)
def test_solved_stub_notebook_gets_full_marks(
    level: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At each level: as root every other pipeline test runs at the strong level, while students
    on their laptops get the basic one."""
    from grader.authoring.stubgen import render_solved

    monkeypatch.setenv(levels.ENV_VAR, level)
    result = grade(render_solved(), tmp_path)
    if level == "basic":
        assert (result.sandbox, result.sandbox_missing) == ("basic", (f"{levels.ENV_VAR}=basic",))
    else:  # strong, or strong-rootless with its documented gaps
        assert (result.sandbox, result.sandbox_missing) == (_SB.name, _SB.missing)
    assert result.score == 100, {e.name: e.reason for e in result.exercises if e.reason}
    assert all(c.status is CellStatus.OK for c in result.cells), [
        (c.index, c.ename, c.evalue) for c in result.cells if c.status is not CellStatus.OK
    ]


def test_stub_notebook_gets_no_marks(repo_root: Path) -> None:
    result = grade_notebook(
        repo_root / "exercises" / "rnn" / "rnn_step_by_step.ipynb", config=CONFIG
    )
    assert result.score == 0 and result.status == "graded"
    assert all(e.status is not Status.PASSED for e in result.exercises)


# ------------------------------------------------------------------------------------------------
# One mistake: the exercise and only those that call it lose marks

CELL_DEPENDENTS = {
    "rnn_cell_forward": {"rnn_forward"},
    "lstm_cell_forward": {"lstm_forward"},
    "rnn_cell_backward": {"rnn_backward"},
    "lstm_cell_backward": {"lstm_backward"},
}

MISTAKES = [
    ("missing-bias", "rnn_cell_forward", "np.dot(Wax, xt) + ba)", "np.dot(Wax, xt))"),
    ("wrong-activation", "rnn_cell_forward", "a_next = np.tanh(", "a_next = sigmoid("),
    (
        "softmax-axis",
        "rnn_cell_forward",
        "yt_pred = softmax(np.dot(Wya, a_next) + by)",
        "z = np.dot(Wya, a_next) + by\n    yt_pred = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)",
    ),
    (
        "yt-from-a-prev",
        "rnn_cell_forward",
        "softmax(np.dot(Wya, a_next) + by)",
        "softmax(np.dot(Wya, a_prev) + by)",
    ),
    (
        "cache-order",
        "rnn_cell_forward",
        "cache = (a_next, a_prev, xt, parameters)",
        "cache = (a_prev, a_next, xt, parameters)",
    ),
    (
        "concat-order",
        "lstm_cell_forward",
        "np.concatenate((a_prev, xt), axis=0)",
        "np.concatenate((xt, a_prev), axis=0)",
    ),
    (
        "gates-swapped",
        "lstm_cell_forward",
        "c_next = ft * c_prev + it * cct",
        "c_next = it * c_prev + ft * cct",
    ),
    (
        "cache-length",
        "lstm_cell_forward",
        "cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)",
        "cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt)",
    ),
    (
        "a0-reused",
        "rnn_forward",
        "rnn_cell_forward(xt, a_next, parameters)",
        "rnn_cell_forward(xt, a0, parameters)",
    ),
    ("zeros-start", "lstm_forward", "    a_next = a0\n", "    a_next = np.zeros((n_a, m))\n"),
    (
        "c-view-aliasing",
        "lstm_forward",
        "    c_next = np.zeros((n_a, m))\n",
        "    c_next = c[:, :, 0]\n",
    ),
    ("return-order", "lstm_forward", "return a, y, c, caches", "return a, c, y, caches"),
    (
        "hard-coded-shapes",
        "rnn_forward",
        "a = np.zeros((n_a, m, T_x))",
        "a = np.zeros((5, 10, T_x))",
    ),
    (
        "dtanh-from-a-prev",
        "rnn_cell_backward",
        "dtanh = (1 - a_next**2) * da_next",
        "dtanh = (1 - a_prev**2) * da_next",
    ),
    (
        "missing-keepdims",
        "lstm_cell_backward",
        "dbf = np.sum(dft, axis=1, keepdims=True)",
        "dbf = np.sum(dft, axis=1)",
    ),
    ("no-accumulation", "rnn_backward", 'dWax += gradients["dWax"]', 'dWax = gradients["dWax"]'),
    (
        "state-not-propagated",
        "lstm_backward",
        'dc_prevt = gradients["dc_prev"]',
        "dc_prevt = dc_prevt",
    ),
    ("full-W-transpose", "lstm_cell_backward", "np.dot(Wo[:, :n_a].T, dot)", "np.dot(Wo.T, dot)"),
]


#: The catalogued mistake (solutions/mistakes.py) the report must name for each entry above, or
#: None where the mistake is not in the catalogue: there any hint would be a wrong hint.
DIAGNOSES: dict[str, str | None] = {
    "missing-bias": "rnn_cell_forward.missing_ba",
    "wrong-activation": "rnn_cell_forward.sigmoid_activation",
    "softmax-axis": "rnn_cell_forward.softmax_axis1",
    "yt-from-a-prev": "rnn_cell_forward.yt_from_a_prev",
    "cache-order": "rnn_cell_forward.cache_swapped",
    "concat-order": "lstm_cell_forward.concat_order",
    "gates-swapped": "lstm_cell_forward.gate_roles_swapped",
    "cache-length": None,
    "a0-reused": "rnn_forward.a0_every_step",
    "zeros-start": None,
    "c-view-aliasing": "lstm_forward.c_view",
    "return-order": "lstm_forward.y_c_order",
    "hard-coded-shapes": None,
    "dtanh-from-a-prev": "rnn_cell_backward.dtanh_a_prev",
    "missing-keepdims": "lstm_cell_backward.bias_no_keepdims",
    "no-accumulation": "rnn_backward.overwrite",
    "state-not-propagated": "lstm_backward.no_dc_prev",
    "full-W-transpose": None,
}
assert set(DIAGNOSES) == {m[0] for m in MISTAKES}, "test bug: a mistake without its diagnosis"


@pytest.mark.parametrize(
    ("exercise", "old", "new", "diagnosis"),
    [pytest.param(*m[1:], DIAGNOSES[m[0]], id=m[0]) for m in MISTAKES],
)
def test_single_mistake_costs_only_the_affected_exercises(
    exercise: str, old: str, new: str, diagnosis: str | None, tmp_path: Path
) -> None:
    nb = submission({exercise: mutate(SRC[exercise], old, new)})
    result = grade(nb, tmp_path)
    lost = not_passed(result)
    assert exercise in lost
    assert lost <= {exercise} | CELL_DEPENDENTS.get(exercise, set()), lost
    ex = result.exercise(exercise)
    assert ex.reason  # it says why
    # ... and names the mistake, end to end through the shipped catalogue (or names none).
    assert (ex.diagnosis.id if ex.diagnosis else None) == diagnosis, ex.diagnosis
    if diagnosis is not None:
        assert ex.diagnosis is not None and ex.hint and ex.diagnosis.title in ex.hint


def test_replaying_the_public_example_fails_on_hidden_cases(tmp_path: Path) -> None:
    replay = SRC["rnn_cell_forward"].replace("def rnn_cell_forward", "def _real_cell") + (
        "\n\ndef rnn_cell_forward(xt, a_prev, parameters):\n"
        "    np.random.seed(1)\n    x2, a2 = np.random.randn(3, 10), np.random.randn(5, 10)\n"
        "    p = {k: np.random.randn(*s) for k, s in [('Waa', (5, 5)), ('Wax', (5, 3)),\n"
        "         ('Wya', (2, 5)), ('ba', (5, 1)), ('by', (2, 1))]}\n"
        "    return _real_cell(x2, a2, p)\n"
    )
    result = grade(submission({"rnn_cell_forward": replay}), tmp_path)
    assert result.exercise("rnn_cell_forward").status is Status.FAILED
    assert "hidden case" in result.exercise("rnn_cell_forward").reason


# ------------------------------------------------------------------------------------------------
# Broken notebooks


def test_syntax_error_costs_only_that_cell(tmp_path: Path) -> None:
    broken = SRC["rnn_forward"].replace("for t in range(T_x):", "for t in range(T_x)")
    result = grade(submission({"rnn_forward": broken}), tmp_path)
    assert statuses(result)["rnn_forward"] is Status.MISSING
    assert "syntax" in result.exercise("rnn_forward").reason.lower()
    assert not_passed(result) == {"rnn_forward"}


def test_wrong_signature_and_raising(tmp_path: Path) -> None:
    nb = submission(
        {
            "rnn_cell_backward": "def rnn_cell_backward(da_next):\n    return {}\n",
            "lstm_cell_forward": SRC["lstm_cell_forward"].replace(
                "    ### START CODE HERE ###",
                "    raise ValueError('not done yet')\n    ### START CODE HERE ###",
            ),
        }
    )
    result = grade(nb, tmp_path)
    assert statuses(result)["rnn_cell_backward"] is Status.ERROR
    assert statuses(result)["lstm_cell_forward"] is Status.ERROR
    assert "ValueError: not done yet" in result.exercise("lstm_cell_forward").reason
    assert not_passed(result) == {
        "rnn_cell_backward",
        "rnn_backward",
        "lstm_cell_forward",
        "lstm_forward",
    }


def test_missing_exercises_are_reported_missing(tmp_path: Path) -> None:
    result = grade(submission(drop=("rnn_backward", "lstm_backward")), tmp_path)
    assert {n for n, s in statuses(result).items() if s is Status.MISSING} == {
        "rnn_backward",
        "lstm_backward",
    }
    assert result.score == 80


# ------------------------------------------------------------------------------------------------
# Hostile or runaway top-level cells cost nothing but that cell

TOP_LEVEL = [
    pytest.param("while True:\n    pass\n", CellStatus.TIMEOUT, id="infinite-loop"),
    pytest.param(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n",
        CellStatus.TIMEOUT,
        id="ignores-sigint",
    ),
    pytest.param("import os\nos._exit(1)\n", CellStatus.KERNEL_DIED, id="os-exit"),
    pytest.param(
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        CellStatus.KERNEL_DIED,
        id="killed-kernel",
    ),
    pytest.param("import sys\nsys.exit(2)\n", CellStatus.ERROR, id="sys-exit"),
    pytest.param(
        "for _ in range(200):\n    print('x' * 100_000)\n",
        CellStatus.OUTPUT_LIMIT,
        id="print-flood",
    ),
    pytest.param("x = bytearray(16 << 30)\n", CellStatus.ERROR, id="memory-bomb"),
    pytest.param(
        "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = np.allclose\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n",
        CellStatus.OK,
        id="patched-numpy",
    ),
]


@pytest.mark.parametrize(("cell", "cell_status"), TOP_LEVEL)
def test_hostile_top_level_cell_costs_nothing_else(
    cell: str, cell_status: CellStatus, tmp_path: Path
) -> None:
    # The hostile cell sits between the exercises; with a wrong rnn_cell_forward that a patched
    # numpy would like to hide.
    sources = dict(SRC)
    sources["rnn_cell_forward"] = mutate(SRC["rnn_cell_forward"], "+ ba)", ")")
    nb = submission(sources, before=(cell,))
    result = grade(nb, tmp_path)
    assert result.status == "graded"
    assert not_passed(result) == {"rnn_cell_forward", "rnn_forward"}
    assert result.score == 70
    hostile = [c for c in result.cells if c.index == 2]
    assert hostile and hostile[0].status is cell_status, hostile


def test_shared_colab_example_grades_offline(tmp_path: Path) -> None:
    import shutil

    src = Path(__file__).resolve().parent / "data" / "colab_submission.ipynb"  # vendored
    result = grade_notebook(shutil.copy(src, tmp_path / "colab.ipynb"), config=CONFIG)
    st = statuses(result)
    assert [st[n] for n in NAMES[:4]] == [Status.PASSED] * 4
    assert [st[n] for n in NAMES[4:]] == [Status.MISSING] * 4
    assert result.score == 60
