"""What the benchmarks share: the checkout, the notebooks they grade, the machine, timed commands.

Every grade runs as ``python -m grader ...`` in a fresh process (the interpreter running the bench,
the checkout as working directory), which is what ``grade`` runs minus a shell shim (pyenv's,
say) in front of it.
"""

from __future__ import annotations

import copy
import io
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the checkout's grader and solutions/, installed or not
    sys.path.insert(0, str(ROOT))
STUB = ROOT / "exercises" / "rnn" / "rnn_step_by_step.ipynb"

KB = 1000
MB = 1000 * 1000
#: target size of one notebook's result JSON (issue 11)
JSON_TARGET = 60 * KB

#: Exit codes of a grading command that mean "graded" (docs/architecture.md §1.2): 0 passed,
#: 1 graded and something did not pass. Anything else fails the bench.
GRADED = (0, 1)

#: (function, mistake, old, new): one realistic single mistake each, a textual edit of the solved
#: notebook's cell defining ``function`` (from the old BUGS list and bench/diagnosis_rate.py,
#: whose edits follow solutions/rnn/mistakes.py).
MISTAKES: tuple[tuple[str, str, str, str], ...] = (
    ("rnn_cell_forward", "no Waa term", "np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba",
     "np.dot(Wax, xt) + ba"),
    ("lstm_cell_forward", "no forget term", "c_next = ft * c_prev + it * cct", "c_next = it * cct"),
    ("rnn_cell_forward", "no softmax", "softmax(np.dot(Wya, a_next) + by)",
     "np.dot(Wya, a_next) + by"),
    ("rnn_cell_forward", "sigmoid for tanh", "a_next = np.tanh(", "a_next = sigmoid("),
    ("rnn_forward", "a0 at every step", "rnn_cell_forward(xt, a_next, parameters)",
     "rnn_cell_forward(xt, a0, parameters)"),
    ("lstm_cell_forward", "concat order", "np.concatenate((a_prev, xt), axis=0)",
     "np.concatenate((xt, a_prev), axis=0)"),
    ("lstm_forward", "y and c swapped", "return a, y, c, caches", "return a, c, y, caches"),
    ("rnn_cell_backward", "dba without keepdims", "np.sum(dtanh, axis=1, keepdims=True)",
     "np.sum(dtanh, axis=1)"),
    ("rnn_backward", "loop runs forwards", "for t in reversed(range(T_x)):", "for t in range(T_x):"),
    ("lstm_cell_backward", "dot without (1 - ot)", "dot = da_next * tanh_c * ot * (1 - ot)",
     "dot = da_next * tanh_c * ot"),
    ("lstm_backward", "dc_prev zeroed", 'dc_prevt = gradients["dc_prev"]',
     "dc_prevt = np.zeros_like(dc_prevt)"),
)  # fmt: skip

#: Index in :data:`MISTAKES` of the one-mistake notebook whose result size bench_grade reports
#: (issue 11: "c_next = ft * c_prev + it * cct" becomes "c_next = it * cct").
ONE_MISTAKE = 1


def solved() -> nbformat.NotebookNode:
    """The solved notebook, generated from the reference (needs the checkout's solutions/)."""
    from grader.authoring.stubgen import render_solved

    return render_solved()


def mutate(nb: nbformat.NotebookNode, function: str, old: str, new: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with ``old`` replaced by ``new`` once, in the cell defining ``function``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            assert old in cell.source, f"{function}: mutation does not apply, no {old!r}"
            before, cell.source = cell.source, cell.source.replace(old, new, 1)
            assert cell.source != before, f"{function}: {old!r} -> {new!r} changes nothing"
            return nb
    raise AssertionError(f"no code cell defines {function}")


def mistake_notebook(nb: nbformat.NotebookNode, index: int) -> tuple[str, nbformat.NotebookNode]:
    """(description, ``nb`` with mistake ``index`` of :data:`MISTAKES`, cycling)."""
    function, what, old, new = MISTAKES[index % len(MISTAKES)]
    return f"{function}: {what}", mutate(nb, function, old, new)


def stub() -> nbformat.NotebookNode | None:
    """The shipped stub: the checkout's, else the golden set's (None when there is none)."""
    if STUB.is_file():
        return nbformat.read(str(STUB), as_version=4)
    from grader.assignment import golden

    nb: nbformat.NotebookNode | None = golden.default().stub()
    return nb


def grade_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "grader", *map(str, args)]


@dataclass(frozen=True)
class Timed:
    seconds: float
    returncode: int


def run_timed(
    cmd: Sequence[str],
    *,
    what: str,
    ok: Sequence[int] = (0,),
    env: Mapping[str, str] | None = None,
) -> Timed:
    """Wall time of ``cmd`` (stdout discarded); exits the bench when its exit code is not in ``ok``."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd), cwd=ROOT, env=None if env is None else {**os.environ, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        tail = "\n  ".join(proc.stderr.strip().splitlines()[-5:])
        sys.exit(f"{what}: exit code {proc.returncode}, expected one of {list(ok)}\n  {tail}")
    return Timed(elapsed, proc.returncode)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average (1/5/15 min) {load()}"
    )


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "OVER"


def stats(times: Sequence[float]) -> tuple[float, float]:
    """(median, min)."""
    return statistics.median(times), min(times)


def line_buffered() -> None:
    """Print each line as it comes, also into a pipe (a long run shows where it is)."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
