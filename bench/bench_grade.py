"""Benchmark: ``grade NOTEBOOK`` against the floor, as the wall time of fresh processes; result sizes.

    python bench/bench_grade.py [--repeat 5] [--quick] [NOTEBOOK ...]
    python bench/bench_grade.py --levels basic,portable [--repeat 5] [NOTEBOOK ...]

Measured in one run (the machine is shared: only ratios within one run mean something):

* the floor: a fresh ``python -c FLOOR_SCRIPT`` process that runs nbclient on a one-cell notebook
  ``import numpy`` (start a kernel, run the cell, shut the kernel down), timed from outside: the
  least a user waits for anything that executes a notebook;
* ``python -m grader NOTEBOOK --json OUT`` (what the ``grade`` console script runs, without a shell
  shim in front), a fresh process timed from outside, on the solved notebook (generated from the
  reference) and on the shipped stub (exercises/rnn/, else the golden set's), or on the notebooks
  given. Exit codes 0 (passed) and 1 (graded, not passed) are grading outcomes; the solved
  notebook must get 0; any other code stops the bench;
* the size of each result JSON (``--json``), and of a one-mistake notebook's (the solved one with
  ``c_next = it * cct``); target <= 60 KB (60 000 bytes).

One warm-up round (not counted; it also grades the one-mistake notebook once, for its size), then
``--repeat`` rounds, each running the floor and every notebook in turn (floor, correct, stub, floor,
...), so slow and fast moments of the machine hit all of them. The report gives median and min of
each and the ratio of the medians grade/floor, target <= 1.3x; and the load average at start and end.

``--levels basic,portable`` grades every notebook at each named sandbox level in every round
(``RNN_GRADER_SANDBOX`` set in the grader's environment; the result's ``sandbox`` field is checked),
also as fresh processes timed from outside, and adds the ratio of each level's median to the first
level's: how much slower the portable level (a spawned interpreter per exercise, a memory watcher,
no fork) is than the basic one on the same notebooks.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from _common import (
    GRADED,
    JSON_TARGET,
    KB,
    ONE_MISTAKE,
    grade_cmd,
    line_buffered,
    load,
    machine,
    mistake_notebook,
    run_timed,
    solved,
    stats,
    stub,
    verdict,
)

FLOOR_SCRIPT = """\
import nbformat
from nbclient import NotebookClient

nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy")])
NotebookClient(nb, kernel_name="python3", timeout=60).execute()
"""

#: target of issue 11: ``grade NOTEBOOK`` at most this many times the floor
RATIO_TARGET = 1.3


@dataclass(frozen=True)
class Target:
    label: str
    path: Path
    ok: Sequence[int]  #: accepted exit codes
    out: Path  #: where its result JSON goes

    def grade(self, level: str | None = None) -> float:
        """Seconds to grade it in a fresh process (at sandbox ``level``; None: the strongest)."""
        from grader.sandbox.levels import ENV_VAR

        self.out.unlink(missing_ok=True)
        run = run_timed(
            grade_cmd(self.path, "--json", self.out),
            what=f"grade {self.label}" + (f" at level {level}" if level else ""),
            ok=self.ok,
            env={ENV_VAR: level} if level else None,
        )
        if level is not None:
            got = self.result()["sandbox"]
            assert got == level, f"{self.label}: asked for sandbox level {level}, graded at {got}"
        return run.seconds

    def result(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.out.read_text(encoding="utf-8"))
        return data

    def score(self) -> str:
        r = self.result()
        if r["status"] != "graded":
            return str(r["status"])
        return f"{r['score']:g}/{r['max_score']:g}"


def floor() -> float:
    return run_timed([sys.executable, "-c", FLOOR_SCRIPT], what="floor").seconds


def targets(tmp: Path, given: Sequence[Path]) -> tuple[list[Target], Target | None]:
    """(notebooks timed every round, the one-mistake notebook graded once for its size)."""
    out = tmp / "results"
    out.mkdir()
    if given:
        return [
            Target(p.name, p.resolve(), GRADED, out / f"{i}.json") for i, p in enumerate(given)
        ], None
    nb = solved()
    correct = tmp / "solved.ipynb"
    nbformat.write(nb, str(correct))
    what, wrong = mistake_notebook(nb, ONE_MISTAKE)
    mistake = tmp / "one_mistake.ipynb"
    nbformat.write(wrong, str(mistake))
    timed = [Target("correct", correct, (0,), out / "correct.json")]
    shipped = stub()
    if shipped is None:
        print("no stub: neither exercises/rnn/ nor the golden set has one; timing the solved only")
    else:
        path = tmp / "stub.ipynb"
        nbformat.write(shipped, str(path))
        timed.append(Target("stub", path, GRADED, out / "stub.json"))
    return timed, Target(f"one mistake ({what})", mistake, (1,), out / "mistake.json")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )  # fmt: skip
    ap.add_argument("notebooks", nargs="*", type=Path, help="grade these instead of the defaults")
    ap.add_argument("--repeat", type=int, default=5, help="measured rounds (default 5)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: --repeat 1")
    ap.add_argument(
        "--levels", default="", metavar="L1,L2",
        help="comma-separated sandbox levels graded in every round, e.g. basic,portable "
        "(default: the strongest available only)",
    )  # fmt: skip
    args = ap.parse_args()
    if args.quick:
        args.repeat = 1
    levels = [lv.strip() for lv in args.levels.split(",") if lv.strip()]
    print(f"machine: {machine()} (start)")
    print(f"grader:  {' '.join(grade_cmd('NOTEBOOK', '--json', 'OUT'))}, a fresh process each")
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        timed, mistake = targets(Path(tmp), args.notebooks)
        if levels:
            compare_levels(timed, levels, args.repeat)
        else:
            compare_floor(timed, mistake, args.repeat)
    print(f"load average at end: {load()}")
    return 0


def compare_floor(timed: list[Target], mistake: Target | None, repeat: int) -> None:
    order = ", ".join(["floor", *(t.label for t in timed)])
    print(f"rounds:  1 warm-up + {repeat} measured, each in turn: {order}\n")
    floor()  # warm-up: page cache, imports, the sandbox level selection
    once = {t.label: t.grade() for t in timed}
    if mistake is not None:
        once[mistake.label] = mistake.grade()
    f_times: list[float] = []
    g_times: dict[str, list[float]] = {t.label: [] for t in timed}
    for _ in range(repeat):
        f_times.append(floor())
        for t in timed:
            g_times[t.label].append(t.grade())
    f_med, f_min = stats(f_times)
    print(f"{'wall time':34} {'median s':>8} {'min s':>7} {'x floor':>8}  target")
    print(f"{'floor (nbclient, import numpy)':34} {f_med:8.2f} {f_min:7.2f} {1:8.2f}")
    for t in timed:
        med, low = stats(g_times[t.label])
        ratio = med / f_med
        print(
            f"{'grade ' + t.label:34} {med:8.2f} {low:7.2f} {ratio:8.2f}  "
            f"<= {RATIO_TARGET}x {verdict(ratio, RATIO_TARGET)}"
        )
    print("  runs (s): floor " + " ".join(f"{s:.2f}" for s in f_times))
    for t in timed:
        print(f"            {t.label} " + " ".join(f"{s:.2f}" for s in g_times[t.label]))
    if mistake is not None:
        print(f"            {mistake.label}: {once[mistake.label]:.2f} (warm-up round only)")
    sized = [*timed, *([mistake] if mistake else [])]
    width = max(len(t.label) for t in sized)
    print(f"\n{'result JSON (--json)':{width}} {'bytes':>8} {'score':>8}  target")
    for t in sized:
        size = t.out.stat().st_size
        print(
            f"{t.label:{width}} {size:8d} {t.score():>8}  "
            f"<= {JSON_TARGET // KB} KB {verdict(size, JSON_TARGET)}"
        )


def compare_levels(timed: list[Target], levels: list[str], repeat: int) -> None:
    """Floor and every level in each round; medians, ratio to the floor and to the first level."""
    print(f"rounds:  1 warm-up + {repeat} measured; levels {', '.join(levels)}\n")
    floor()
    for t in timed:  # warm the page cache, imports and each level's selection
        for level in levels:
            t.grade(level)
    f_times: list[float] = []
    times: dict[tuple[str, str], list[float]] = {(t.label, lv): [] for t in timed for lv in levels}
    for _ in range(repeat):
        f_times.append(floor())
        for t in timed:
            for level in levels:
                times[t.label, level].append(t.grade(level))
    f_med = stats(f_times)[0]
    head = " ".join(f"{lv + ' s (x floor)':>17}" for lv in levels)
    rel = " ".join(f"{lv + '/' + levels[0]:>18}" for lv in levels[1:])
    print(f"{'notebook':12} {'floor s':>8} {head} {rel}")
    for t in timed:
        med = {lv: stats(times[t.label, lv])[0] for lv in levels}
        cells = " ".join(f"{med[lv]:9.2f} ({med[lv] / f_med:4.2f}x)" for lv in levels)
        ratios = " ".join(f"{med[lv] / med[levels[0]]:18.2f}" for lv in levels[1:])
        print(f"{t.label:12} {f_med:8.2f} {cells} {ratios}")
    print("  runs (s): floor " + " ".join(f"{s:.2f}" for s in f_times))
    for t in timed:
        for lv in levels:
            spread = " ".join(f"{s:.2f}" for s in times[t.label, lv])
            print(f"            {t.label} at {lv}: {spread}")


if __name__ == "__main__":
    line_buffered()
    sys.exit(main())
