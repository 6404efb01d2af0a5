"""Benchmark: grading one notebook vs the floor (nbclient running the same notebook, nothing else).

    python bench/bench_grade.py [--repeat 5] [--levels basic,portable] [NOTEBOOK ...]

Without arguments it uses the shipped stub (exercises/rnn/rnn_step_by_step.ipynb) and the solved
notebook generated from the reference. Each round runs the floor and the grader back to back on the
same machine state; the report gives medians and the ratio grade/floor (target: <= 1.5).

``--levels`` grades at each named sandbox level in every round (``RNN_GRADER_SANDBOX``), in turn
and in the same rounds, and adds the ratio of each level's median to the first level's: with
``basic,portable`` that is how much slower the portable level (a spawned interpreter per
exercise, a memory watcher, no fork) is than the basic one on the same notebooks.
"""

from __future__ import annotations

import argparse
import os
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

from grader.core.resources import default_golden  # noqa: E402
from grader.pipeline import grade_notebook  # noqa: E402
from grader.sandbox.levels import ENV_VAR  # noqa: E402


def floor(path: Path) -> float:
    """Default nbclient execution of the notebook next to the course helpers it imports."""
    nb = nbformat.read(str(path), as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        for f in (default_golden() / "helpers").glob("*.py"):
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


def graded(path: Path, level: str | None = None) -> float:
    """Seconds to grade ``path``, at sandbox ``level`` (None: the strongest available)."""
    saved = os.environ.get(ENV_VAR)
    if level is not None:
        os.environ[ENV_VAR] = level
    try:
        start = time.perf_counter()
        result = grade_notebook(path)
        elapsed = time.perf_counter() - start
    finally:
        if saved is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = saved
    assert result.status == "graded", result.error
    assert level is None or result.sandbox == level, (level, result.sandbox)
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--levels",
        default="",
        help="comma-separated sandbox levels graded in every round, e.g. basic,portable "
        "(default: the strongest available only)",
    )
    args = ap.parse_args()
    levels = [lv.strip() for lv in args.levels.split(",") if lv.strip()]
    if levels:
        return compare_levels(args, levels)
    with tempfile.TemporaryDirectory() as tmp:
        paths = list(args.notebooks)
        if not paths:
            from grader.authoring.stubgen import render_solved

            solved = Path(tmp) / "solved.ipynb"
            nbformat.write(render_solved(), str(solved))
            paths = [ROOT / "exercises" / "rnn" / "rnn_step_by_step.ipynb", solved]
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


def _default_paths(tmp: str) -> list[Path]:
    from grader.authoring.stubgen import render_solved

    solved = Path(tmp) / "solved.ipynb"
    nbformat.write(render_solved(), str(solved))
    return [ROOT / "exercises" / "rnn" / "rnn_step_by_step.ipynb", solved]


def compare_levels(args: argparse.Namespace, levels: list[str]) -> int:
    """Floor and every level in each round; medians, ratio to the floor and to the first level."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = list(args.notebooks) or _default_paths(tmp)
        head = " ".join(f"{lv + ' s (x floor)':>16}" for lv in levels)
        ratios = " ".join(f"{lv + '/' + levels[0]:>18}" for lv in levels[1:])
        print(f"{'notebook':24} {'floor s':>8} {head} {ratios}")
        for path in paths:
            floor(path)
            for level in levels:  # warm the page cache, imports and the level selection
                graded(path, level)
            f_times: list[float] = []
            times: dict[str, list[float]] = {lv: [] for lv in levels}
            for _ in range(args.repeat):
                f_times.append(floor(path))
                for level in levels:
                    times[level].append(graded(path, level))
            f = statistics.median(f_times)
            med = {lv: statistics.median(t) for lv, t in times.items()}
            cells = " ".join(f"{med[lv]:9.2f} ({med[lv] / f:3.1f}x)" for lv in levels)
            rel = " ".join(f"{med[lv] / med[levels[0]]:18.2f}" for lv in levels[1:])
            print(f"{path.name:24} {f:8.2f} {cells} {rel}")
            for lv in levels:
                spread = ", ".join(f"{t:.2f}" for t in times[lv])
                print(f"  {lv:10} runs: {spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
