"""``grader.check()`` inside a real kernel (started by nbclient, no notebook file on disk, as in
Colab) gives the verdicts and hints ``grade`` gives, and hostile code costs only its own check."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from grader.authoring.stubgen import render_solved
from grader.core.config import GradingConfig, Limits
from grader.pipeline import grade_notebook
from grader.sandbox.workdir import prepare_workdir
from grader.student import check as selfcheck
from grader.student.server import with_callees
from tests.notebooks import function_sources, mutate, write
from tests.shipped import ASSIGNMENT, NAMES

SRC = function_sources()
#: the reference's annotations need these names (the course style has none)
TYPES = "from typing import Any\nArray = Params = Any"
REPORT = (
    "import grader, json\nr = grader.check({names})\n"
    "print('CHECK ' + json.dumps(r.exercises))\nprint(r.text)\nprint(r._repr_html_()[:40])"
)


def _run(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 300) -> nbformat.NotebookNode:
    prepare_workdir(cwd)  # the course helpers, as the notebook's own folder would hold them
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )  # fmt: skip
    client.execute()
    return nb


def _output(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def _checked(cell: nbformat.NotebookNode) -> list[dict[str, Any]]:
    line = next(x for x in _output(cell).splitlines() if x.startswith("CHECK "))
    got: list[dict[str, Any]] = json.loads(line[len("CHECK ") :])
    return got


def _with(*replacements: tuple[str, str, str]) -> nbformat.NotebookNode:
    """The solved notebook, then redefinitions (the last definition wins, as in a kernel)."""
    nb = render_solved()
    nb.cells.append(nbformat.v4.new_code_cell(TYPES))
    for name, old, new in replacements:
        nb.cells.append(nbformat.v4.new_code_cell(mutate(SRC[name], old, new)))
    return nb


pytestmark = pytest.mark.slow


def test_check_agrees_with_grade_on_verdicts_and_hints(tmp_path: Path) -> None:
    nb = _with(
        ("rnn_forward", "rnn_cell_forward(xt, a_next, parameters)", "rnn_cell_forward(xt, a0, parameters)"),
        ("lstm_cell_forward", "c_next = ft * c_prev + it * cct", "c_next = it * c_prev + ft * cct"),
        ("rnn_cell_backward", 'gradients = {', 'dxt = dxt * 2\n    gradients = {'),
    )  # fmt: skip
    graded = grade_notebook(write(nb, tmp_path / "nb.ipynb"), config=GradingConfig())
    nb.cells.append(nbformat.v4.new_code_cell(REPORT.format(names="")))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT.format(names="'rnn_forward'")))
    run = _run(nb, tmp_path / "kernel")
    every, one = _checked(run.cells[-2]), _checked(run.cells[-1])
    expected = {e.name: (e.status.value, e.hint) for e in graded.exercises}
    assert {e["name"]: (e["status"], e["hint"]) for e in every} == expected
    assert [e["name"] for e in one] == ["rnn_forward"]
    assert (one[0]["status"], one[0]["hint"]) == expected["rnn_forward"]
    text = _output(run.cells[-1])
    assert "✗ rnn_forward: failed (0/15)" in text and "first failing check:" in text
    assert "hint: " + str(expected["rnn_forward"][1]) in text
    assert '<div class="rnn-grader-check"' in text
    # a passing exercise is one line
    assert "✓ rnn_cell_forward: passed (15/15)\n✗ rnn_forward" in _output(run.cells[-2])


HOSTILE = {
    "rnn_cell_forward": "def rnn_cell_forward(xt, a_prev, parameters):\n    while True:\n        pass\n",
    "lstm_cell_forward": "def lstm_cell_forward(xt, a_prev, c_prev, parameters):\n"
    "    import os\n    os._exit(3)\n",
    "rnn_cell_backward": "def rnn_cell_backward(da_next, cache):\n    import numpy\n"
    "    numpy.tanh = lambda x: 0 * x\n    numpy.dot = None\n    raise SystemExit(1)\n",
}


def test_hostile_definitions_cost_only_their_own_check(tmp_path: Path) -> None:
    nb = render_solved()
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in HOSTILE.values())
    for name in HOSTILE:
        nb.cells.append(nbformat.v4.new_code_cell(REPORT.format(names=repr(name))))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT.format(names="'lstm_backward'")))
    nb.cells.append(nbformat.v4.new_code_cell("import numpy as np\nprint('alive', np.tanh(0.0))"))
    run = _run(nb, tmp_path)
    checks = run.cells[-1 - len(HOSTILE) - 1 : -1]
    got = [_checked(c)[0] for c in checks]
    assert [(g["name"], g["status"]) for g in got] == [
        ("rnn_cell_forward", "timeout"),
        ("lstm_cell_forward", "error"),
        ("rnn_cell_backward", "error"),
        ("lstm_backward", "passed"),
    ]
    assert _output(run.cells[-1]).strip() == "alive 0.0"  # the student's kernel is untouched


def test_a_function_the_history_cannot_explain_is_named_in_one_line(tmp_path: Path) -> None:
    nb = render_solved()
    nb.cells.append(nbformat.v4.new_code_cell(
        "exec(\"def rnn_backward(da, caches):\\n    return {}\")\n"
        "import grader\nprint(repr(grader.check('rnn_backward')))\n"
        "print(repr(grader.check('rnn_backward', 'rnn_forward')))"
    ))  # fmt: skip
    text = _output(_run(nb, tmp_path).cells[-1])
    first, *rest = text.splitlines()
    assert "rnn_backward was not defined by a notebook cell" in first
    assert "grade notebook.ipynb" in first
    assert "✓ rnn_forward: passed" in rest[0] and "note: rnn_backward" in text


def test_outside_a_notebook_and_inside_the_grader_check_only_explains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = selfcheck.check("rnn_forward")
    assert "inside a Jupyter or Colab notebook" in repr(report) and not report.passed
    monkeypatch.setenv(selfcheck.GRADING_ENV, "1")
    assert "does nothing while the grader runs" in repr(selfcheck.check())


def test_the_stub_falls_back_to_the_public_tests_without_the_grader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grader.authoring.stubgen import render_stub

    setup = render_stub().cells[1].source
    fallback = setup[setup.index("try:") :]  # the part that imports grader.check
    monkeypatch.setitem(sys.modules, "grader", None)  # as if rnn-grader were not installed
    ns: dict[str, Any] = {}
    exec(fallback, ns)
    assert ns["check"]("rnn_forward") is None


def test_callees_are_judged_with_the_exercise() -> None:
    assert with_callees(["rnn_backward"], ASSIGNMENT) == ["rnn_cell_backward", "rnn_backward"]
    assert with_callees(list(NAMES), ASSIGNMENT) == list(NAMES)


def test_an_unknown_exercise_is_one_clear_error() -> None:
    from grader.assignment import golden
    from grader.core.errors import GraderError
    from grader.student.server import check_sources

    with pytest.raises(GraderError, match="no exercise named 'rnn_fwd'; the exercises are"):
        check_sources([], ["rnn_fwd"], golden=golden.default(), config=GradingConfig(Limits()))
