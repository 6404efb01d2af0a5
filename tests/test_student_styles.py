"""Correct work written the way students write it gets full marks; found by grading real-style
notebooks (a conditional old attempt left below a working one, IPython's ``display``, a global
filled by a loop or a function call, namedtuple caches and OrderedDict gradients, shell escapes
under the strong sandbox). Each check is a real notebook graded by a real kernel and judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.config import GradingConfig, Limits
from grader.core.models import CellStatus, Status
from grader.pipeline import grade_notebook
from tests.notebooks import function_sources, mutate, submission, write

pytestmark = pytest.mark.slow

CONFIG = GradingConfig(
    limits=Limits(cell_timeout=10, notebook_timeout=60, call_timeout=10, memory_bytes=1 << 30)
)
SRC = function_sources()

#: an old (wrong) attempt kept below the working one, switched off
DISABLED = "if False:  # my first attempt\n" + "\n".join(
    "    " + line for line in mutate(SRC["rnn_cell_forward"], "np.tanh(", "np.exp(").splitlines()
)
USE_NEW = "USE_NEW = False\nif USE_NEW:\n" + "\n".join(
    "    " + line
    for line in mutate(SRC["lstm_backward"], "dx[:, :, t] =", "dx[:, :, t] +=").splitlines()
)
#: gradients accumulated through a global list filled by a top-level loop
KEYS = "GATE_KEYS = []\nfor g in 'fico':\n    GATE_KEYS.append('dW' + g)\n    GATE_KEYS.append('db' + g)"
LOOPED = mutate(
    SRC["lstm_backward"],
    "".join(f'        d{w}{g} += gradients["d{w}{g}"]\n' for w in "Wb" for g in "fico"),
    "        for k in GATE_KEYS:\n            acc[k] += gradients[k]\n",
)
LOOPED = mutate(
    mutate(LOOPED, "    for t in reversed(range(T_x)):\n",
           "    acc = {k: np.zeros_like(v) for k, v in zip(GATE_KEYS, "
           "[dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo])}\n    for t in reversed(range(T_x)):\n"),
    "    da0 = da_prevt\n",
    "    da0 = da_prevt\n    dWf, dWi, dWc, dWo = acc['dWf'], acc['dWi'], acc['dWc'], acc['dWo']\n"
    "    dbf, dbi, dbc, dbo = acc['dbf'], acc['dbi'], acc['dbc'], acc['dbo']\n",
)  # fmt: skip
#: the activation looked up in a dict that a function call fills, and `display` while working
SETUP = "ACT = {}\ndef setup(table):\n    table['hidden'] = np.tanh\nsetup(ACT)"
CELL = mutate(
    mutate(SRC["rnn_cell_forward"], "np.tanh(", "ACT['hidden']("),
    "    cache = (a_next, a_prev, xt, parameters)\n",
    "    display(a_next.shape)\n    cache = Cache(a_next, a_prev, xt, parameters)\n",
)
#: a namedtuple cache and OrderedDict gradients are a tuple and a dict
BACKWARD = mutate(
    SRC["rnn_cell_backward"],
    "    return gradients",
    "    gradients = OrderedDict(gradients)\n    return gradients",
)
TYPES = "from collections import OrderedDict, namedtuple\nCache = namedtuple('Cache', 'a_next a_prev xt parameters')"


def test_correct_work_in_student_styles_gets_full_marks(tmp_path: Path) -> None:
    nb = submission(
        {"rnn_cell_forward": CELL, "lstm_backward": LOOPED, "rnn_cell_backward": BACKWARD},
        before=(SETUP, TYPES, KEYS, "!echo shell-ok"),
        after=(DISABLED, USE_NEW),
    )
    result = grade_notebook(write(nb, tmp_path / "styles.ipynb"), config=CONFIG)
    assert result.status == "graded"
    assert {e.name: e.status for e in result.exercises if e.status is not Status.PASSED} == {}, [
        (e.name, e.reason, e.hint) for e in result.exercises if e.status is not Status.PASSED
    ]
    # the shell escape ran in the kernel (a pseudo-terminal exists at every sandbox level)
    shell = next(c for c in result.cells if c.summary.startswith("!echo"))
    assert shell.status is CellStatus.OK and "shell-ok" in shell.output, shell


def test_broken_later_attempt_is_named_in_the_hint(tmp_path: Path) -> None:
    """The student fixed rnn_forward in a later cell that does not parse: the old definition is
    graded, and the hint says so before anything about the old code."""
    old = mutate(SRC["rnn_forward"], "rnn_cell_forward(xt, a_next,", "rnn_cell_forward(xt, a0,")
    fixed = SRC["rnn_forward"].replace("caches = []", "caches = [])", 1)
    nb = submission({"rnn_forward": old}, after=(fixed,))
    result = grade_notebook(write(nb, tmp_path / "broken.ipynb"), config=CONFIG)
    forward = next(e for e in result.exercises if e.name == "rnn_forward")
    assert forward.status is Status.FAILED
    assert forward.hint is not None and forward.hint.startswith("cell "), forward.hint
    assert "syntax error" in forward.hint and "is graded instead" in forward.hint, forward.hint


def test_a_function_that_breaks_builtins_after_its_work_still_passes(tmp_path: Path) -> None:
    """Patched builtins change nothing but the student's own code (docs/security.md): the
    judge's code after the call (the next case's signature check, the encoding) runs on the
    real ones."""
    breaks = mutate(
        SRC["rnn_cell_forward"],
        "    return a_next, yt_pred, cache",
        "    import builtins\n    builtins.isinstance = lambda *a: True\n    builtins.len = None\n"
        "    return a_next, yt_pred, cache",
    )
    result = grade_notebook(
        write(submission({"rnn_cell_forward": breaks}), tmp_path / "b.ipynb"), config=CONFIG
    )
    cell = next(e for e in result.exercises if e.name == "rnn_cell_forward")
    assert cell.status is Status.PASSED, (cell.reason, cell.error)
