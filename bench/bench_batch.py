"""Throughput of ``grade batch``: serial vs ``--jobs 2`` vs a local Dask cluster, in one run.

    python bench/bench_batch.py            # 100 submissions
    python bench/bench_batch.py --n 12     # a quick look

Submissions come from ``grader.authoring.stubgen.render_solved()`` with small textual mutations of the
solution lines (buggy), and a few hostile ones (infinite loop, ``os._exit``, a huge print). Only
ratios measured in the same run are meaningful: the machine is shared.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import tempfile
import time
from pathlib import Path

import nbformat

from grader.batch.run import run_batch
from grader.core.config import GradingConfig

BUGS = [
    ("np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba", "np.dot(Wax, xt) + ba"),
    ("c_next = ft * c_prev + it * cct", "c_next = it * cct"),
    ("softmax(np.dot(Wya, a_next) + by)", "np.dot(Wya, a_next) + by"),
]
HOSTILE = [
    "while True:\n    pass",
    "import os\nos._exit(1)",
    "print('x' * 50_000_000)",
]


def _mutate(nb: nbformat.NotebookNode, old: str, new: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and old in cell.source:
            cell.source = cell.source.replace(old, new, 1)
    return nb


def generate(root: Path, n: int) -> dict[str, int]:
    from grader.authoring.stubgen import render_solved

    base = render_solved()
    kinds = {"correct": 0, "buggy": 0, "hostile": 0}
    for i in range(n):
        if i % 10 == 9:
            nb = copy.deepcopy(base)
            nb.cells.insert(2, nbformat.v4.new_code_cell(HOSTILE[(i // 10) % len(HOSTILE)]))
            kind = "hostile"
        elif i % 10 in (3, 6):
            nb = _mutate(base, *BUGS[i % len(BUGS)])
            kind = "buggy"
        else:
            nb = copy.deepcopy(base)
            kind = "correct"
        nb.cells.append(nbformat.v4.new_markdown_cell(f"student {i}"))  # distinct cache keys
        nbformat.write(nb, root / f"student_{i:03d}.ipynb")
        kinds[kind] += 1
    return kinds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="number of submissions (default 100)")
    ap.add_argument("--timeout", type=float, default=3.0, help="cell/call time limit (s)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask run")
    args = ap.parse_args()
    base = GradingConfig()
    limits = dataclasses.replace(base.limits, cell_timeout=args.timeout,
                                 call_timeout=args.timeout)  # fmt: skip
    config = dataclasses.replace(base, limits=limits)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        print(f"{args.n} submissions: {generate(src, args.n)}")
        runs: dict[str, float] = {}

        def timed(label: str, **kw: object) -> None:
            t0 = time.perf_counter()
            report = run_batch(src, Path(tmp) / label, config=config,
                               **kw)  # type: ignore[arg-type]  # fmt: skip
            runs[label] = time.perf_counter() - t0
            invalid = sum(r.status != "graded" for _, r in report.rows)
            print(f"{label:>8}: {runs[label]:7.1f} s  {60 * args.n / runs[label]:6.1f} nb/min"
                  f"  ({invalid} invalid, {report.failures} grader-side failures)")  # fmt: skip

        timed("serial", jobs=1)
        timed("jobs2", jobs=2)
        if not args.no_dask:
            import distributed

            with distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster:
                timed("dask2", scheduler=cluster.scheduler_address)  # fmt: skip
        for label, secs in runs.items():
            print(f"speed-up {label} vs serial: {runs['serial'] / secs:.2f}x")


if __name__ == "__main__":
    main()
