"""Benchmark: grading one notebook vs the floor (nbclient running the same notebook, nothing else).

    python bench/bench_grade.py [--repeat 5] [NOTEBOOK ...]

Without arguments it uses the shipped stub (exercises/rnn_step_by_step.ipynb) and the solved
notebook generated from the reference. Each round runs the floor and the grader back to back on the
same machine state; the report gives medians and the ratio grade/floor (target: <= 1.5).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.pipeline import grade_notebook  # noqa: E402
from grader.resources import compat_dir  # noqa: E402


def floor(path: Path) -> float:
    """Default nbclient execution of the notebook next to the course helpers it imports."""
    nb = nbformat.read(str(path), as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        for f in compat_dir().glob("*.py"):
            shutil.copy(f, tmp)
        start = time.perf_counter()
        NotebookClient(
            nb,
            timeout=60,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": tmp}},
        ).execute()
        return time.perf_counter() - start


def graded(path: Path) -> float:
    start = time.perf_counter()
    result = grade_notebook(path)
    elapsed = time.perf_counter() - start
    assert result.status == "graded", result.error
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = list(args.notebooks)
        if not paths:
            from grader.stubgen import render_solved

            solved = Path(tmp) / "solved.ipynb"
            nbformat.write(render_solved(), str(solved))
            paths = [ROOT / "exercises" / "rnn_step_by_step.ipynb", solved]
        print(f"{'notebook':32} {'floor s':>8} {'grade s':>8} {'ratio':>6}")
        for path in paths:
            floor(path), graded(path)  # warm the page cache and imports
            f_times, g_times = [], []
            for _ in range(args.repeat):
                f_times.append(floor(path))
                g_times.append(graded(path))
            f, g = statistics.median(f_times), statistics.median(g_times)
            print(f"{path.name:32} {f:8.2f} {g:8.2f} {g / f:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
