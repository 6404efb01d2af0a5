"""Benchmark: throughput, memory and result sizes of ``grade batch`` on a generated class, in one run.

    python bench/bench_batch.py [--sizes 20,100] [--jobs 2] [--hostile K] [--timeout S] [--dask]
    python bench/bench_batch.py --quick          # a smoke run: --sizes 6

Submissions are generated from the solved notebook (``grader.authoring.stubgen.render_solved()``,
so the checkout's solutions/ is needed): about 70 % carry one realistic mistake each (one textual
edit of one function, cycling through the distinct edits of ``_common.MISTAKES``; each edit is
asserted to apply), 30 % are correct; every notebook ends with its own markdown cell ("student i")
so that no two are alike for the content cache. ``--hostile K`` adds K hostile ones (an infinite
loop, ``os._exit``, a huge print), off by default: the targets are for ordinary classes. An
infinite loop costs the cell time limit (60 s by default; ``--timeout S`` is passed to the batch).

Each run is ``python -m grader batch SRC --out OUT --jobs 2`` (what the ``grade`` console script
runs) in a fresh process with a fresh OUT (no cache hits; checked on its summary line), timed from
outside: by default with the start-up canary (the CLI's default) for every size, plus once with
``--no-canary`` for the first size, to show what the canary costs. One untimed ``grade`` of a
correct notebook warms the page cache first. Reported: wall time, notebooks/min and the targets
(20 in <= 12 s, 100 in <= 55 s); the mean and max size of the per-notebook ``<stem>.json``
(target <= 60 KB), and the max of the same data re-serialised without indentation (``grade
--json`` writes it compact, the batch indented); full marks exactly on the correct notebooks; and memory:

* a thread samples, every 50 ms, the resident set (``/proc/PID/statm``) of every process in the
  tree of the ``grade batch`` process (parent links read from ``/proc/*/stat``, because
  ``/proc/PID/task/*/children`` is often not compiled in; processes of other uids are read as
  root; processes that vanish mid-read are skipped). Reported: the peak of the tree's total RSS,
  that peak divided by ``--jobs``, the peak of each worker's subtree (a direct child of the batch
  process running ``multiprocessing``'s ``spawn_main``: the worker with its kernel, judge runners
  and their sandbox wrappers) against the target of 200 MB per job, and the batch process's own
  peak. RSS counts shared pages (numpy's libraries, say) once per process that maps them, so sums
  overstate; every 10th sample (500 ms: reading it costs about 0.5 ms per process) also reads
  the proportional set size (``Pss`` of ``/proc/PID/smaps_rollup``, shared pages split between
  their users), reported alongside; its peaks are the coarser lower bound.
  Peaks shorter than a sample interval can be missed. The sampler's own CPU time is reported: it
  competes with the grader on a small machine. Linux only (psutil is not used).

``--dask`` also grades each size on a local Dask cluster of ``--jobs`` single-threaded worker
processes (``grade batch --scheduler ADDR``; needs the 'dask' extra); wall time only, its workers
are not in the batch's process tree. The machine is shared: only figures from one run compare.
MB and KB are 10^6 and 10^3 bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from _common import (
    JSON_TARGET,
    KB,
    MB,
    MISTAKES,
    ROOT,
    grade_cmd,
    line_buffered,
    load,
    machine,
    mistake_notebook,
    run_timed,
    solved,
    verdict,
)

HOSTILE = (
    "while True:\n    pass",
    "import os\nos._exit(1)",
    "print('x' * 50_000_000)",
)
#: issue 11: wall time of ``grade batch --jobs 2`` per class size, and memory per concurrent job
WALL_TARGETS = {20: 12.0, 100: 55.0}
MEMORY_TARGET = 200 * MB

PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------------------------
# Submissions


def generate(src: Path, n: int, hostile: int) -> dict[str, str]:
    """Write the class into ``src``; returns {stem: "correct" | "mistake" | "hostile"}."""
    base = solved()
    kinds: dict[str, str] = {}
    mistakes = 0
    for i in range(n + hostile):
        if i >= n:
            nb = copy.deepcopy(base)
            nb.cells.insert(2, nbformat.v4.new_code_cell(HOSTILE[(i - n) % len(HOSTILE)]))
            kind = "hostile"
        elif i % 10 in (2, 5, 8):
            nb, kind = copy.deepcopy(base), "correct"
        else:
            _, nb = mistake_notebook(base, mistakes)
            mistakes += 1
            kind = "mistake"
        nb.cells.append(nbformat.v4.new_markdown_cell(f"student {i}"))  # distinct cache keys
        stem = f"student_{i:03d}"
        nbformat.write(nb, str(src / f"{stem}.ipynb"))
        kinds[stem] = kind
    return kinds


# ---------------------------------------------------------------------------------------------
# Memory of a process tree (Linux /proc)


def _parents() -> dict[int, int]:
    """{pid: parent pid} of every process."""
    out: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # gone since listdir
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        out[int(name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _is_worker(pid: int) -> bool:
    """A batch worker: spawned by multiprocessing (not its resource tracker)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        return False
    return b"spawn_main" in cmd and b"resource_tracker" not in cmd


@dataclass
class Peaks:
    tree: int = 0
    tree_pss: int = 0
    root: int = 0
    procs: int = 0
    workers: dict[int, int] = field(default_factory=dict)  #: worker pid -> its subtree's peak
    workers_pss: dict[int, int] = field(default_factory=dict)
    samples: int = 0
    cpu: float = 0.0  #: the sampler's own CPU seconds


class TreeSampler(threading.Thread):
    """Peak RSS (and PSS, every ``pss_every``-th sample) of the tree under ``root``."""

    def __init__(self, root: int, interval: float = 0.05, pss_every: int = 10) -> None:
        super().__init__(daemon=True)
        self.root, self.interval, self.pss_every = root, interval, pss_every
        self.peaks = Peaks()
        self._halt = threading.Event()
        self._workers: set[int] = set()  # only positives are cached: before its exec a new
        # worker still shows the batch's own command line

    def run(self) -> None:
        start = time.thread_time()
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)
        self.peaks.cpu = time.thread_time() - start

    def stop(self) -> Peaks:
        self._halt.set()
        self.join()
        return self.peaks

    def sample(self) -> None:
        children: dict[int, list[int]] = defaultdict(list)
        for pid, ppid in _parents().items():
            children[ppid].append(pid)

        def subtree(top: int) -> Iterator[int]:
            stack = [top]
            while stack:
                pid = stack.pop()
                yield pid
                stack.extend(children.get(pid, ()))

        p = self.peaks
        with_pss = p.samples % self.pss_every == 0
        p.samples += 1
        tree = list(subtree(self.root))
        rss = {pid: _rss(pid) for pid in tree}
        pss = {pid: _pss(pid) for pid in tree} if with_pss else {}
        p.tree = max(p.tree, sum(rss.values()))
        p.tree_pss = max(p.tree_pss, sum(pss.values()))
        p.root = max(p.root, rss.get(self.root, 0))
        p.procs = max(p.procs, sum(1 for pid in tree if rss[pid]))
        for pid in children.get(self.root, ()):
            if pid not in self._workers and _is_worker(pid):
                self._workers.add(pid)
            if pid in self._workers:
                below = list(subtree(pid))
                p.workers[pid] = max(p.workers.get(pid, 0), sum(rss[q] for q in below))
                if with_pss:
                    mine = sum(pss[q] for q in below)
                    p.workers_pss[pid] = max(p.workers_pss.get(pid, 0), mine)


# ---------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class Spec:
    n: int
    canary: bool = True
    scheduler: str | None = None

    @property
    def label(self) -> str:
        how = "dask" if self.scheduler else "local"
        return f"{how}, {'canary' if self.canary else 'no canary'}"


@dataclass
class Outcome:
    spec: Spec
    seconds: float
    peaks: Peaks | None
    sizes: list[int]
    compact: list[int]  #: the same results, serialised without indentation
    full: int  #: notebooks with full marks
    full_expected: int
    wrong_full: int  #: mutated or hostile notebooks that got full marks
    invalid: int
    cached: str  #: from the batch's summary line


def run_batch(
    spec: Spec, src: Path, out: Path, kinds: dict[str, str], jobs: int, timeout: float | None
) -> Outcome:
    cmd = grade_cmd("batch", src, "--out", out, "--jobs", str(jobs))
    if not spec.canary:
        cmd.append("--no-canary")
    if spec.scheduler:
        cmd += ["--scheduler", spec.scheduler]
    if timeout is not None:
        cmd += ["--timeout", str(timeout)]
    log = out.with_suffix(".log")
    with open(log, "w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        sampler = None if spec.scheduler else TreeSampler(proc.pid)
        if sampler:
            sampler.start()
        code = proc.wait()
        seconds = time.perf_counter() - start
        peaks = sampler.stop() if sampler else None
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if code != 0:  # batch: 0 = every notebook got a result (docs/architecture.md §1.2)
        tail = "\n  ".join(stderr.strip().splitlines()[-8:])
        sys.exit(f"grade batch ({spec.label}, {spec.n}): exit code {code}\n  {tail}")
    summary = re.search(r"(\d+) graded, (\d+) from cache", stderr)
    cached = summary.group(2) if summary else "?"
    sizes, compact, full, wrong_full, invalid = [], [], 0, 0, 0
    for stem, kind in kinds.items():
        text = (out / f"{stem}.json").read_text(encoding="utf-8")
        result = json.loads(text)
        sizes.append(len(text.encode()))
        compact.append(len(json.dumps(result, separators=(",", ":")).encode()))
        invalid += result["status"] != "graded"
        passed = result["status"] == "graded" and result["score"] == result["max_score"]
        full += passed
        wrong_full += passed and kind != "correct"
    expected = sum(kind == "correct" for kind in kinds.values())
    return Outcome(
        spec, seconds, peaks, sizes, compact, full, expected, wrong_full, invalid, cached
    )


@contextlib.contextmanager
def dask_cluster(workers: int) -> Iterator[str]:
    try:
        import distributed
    except ImportError:
        sys.exit("--dask needs distributed: pip install 'rnn-grader[dask]'")
    with distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        yield str(cluster.scheduler_address)


# ---------------------------------------------------------------------------------------------
# Report


def _mb(n: float) -> str:
    return f"{n / MB:.0f}"


def report(outcomes: list[Outcome], jobs: int) -> None:
    print(f"\n{'wall time':20} {'N':>4} {'wall s':>7} {'nb/min':>7}  target")
    for o in outcomes:
        target = WALL_TARGETS.get(o.spec.n) if o.spec.canary else None
        goal = f"<= {target:g} s {verdict(o.seconds, target)}" if target else "-"
        print(f"{o.spec.label:20} {o.spec.n:4d} {o.seconds:7.1f} {60 * o.spec.n / o.seconds:7.1f}"
              f"  {goal}")  # fmt: skip
    by = {(o.spec.n, o.spec.canary, o.spec.scheduler): o.seconds for o in outcomes}
    for o in outcomes:
        without = by.get((o.spec.n, False, o.spec.scheduler))
        if o.spec.canary and without is not None:
            cost = o.seconds - without
            print(f"canary cost ({o.spec.label.split(',')[0]}, N={o.spec.n}): {cost:+.1f} s "
                  f"({100 * cost / without:+.0f} %)")  # fmt: skip

    print(
        f"\n{'memory, MB (RSS)':20} {'N':>4} {'tree':>6} {'/job':>6} {'worker':>7}  "
        f"{'target/job':14} {'batch':>6} {'procs':>5}   {'PSS tree':>8} {'worker':>7}  sampler"
    )
    for o in outcomes:
        p = o.peaks
        if p is None:
            print(f"{o.spec.label:20} {o.spec.n:4d}  (not sampled: Dask workers are elsewhere)")
            continue
        worst = max(p.workers.values(), default=0)
        target = f"<= {_mb(MEMORY_TARGET)} {verdict(worst, MEMORY_TARGET)}"
        cpu = f"{p.samples} samples, {1000 * p.cpu / max(p.samples, 1):.1f} ms CPU each"
        print(
            f"{o.spec.label:20} {o.spec.n:4d} {_mb(p.tree):>6} {_mb(p.tree / jobs):>6} "
            f"{_mb(worst):>7}  {target:14} {_mb(p.root):>6} {p.procs:5d}   "
            f"{_mb(p.tree_pss):>8} {_mb(max(p.workers_pss.values(), default=0)):>7}  {cpu}"
        )
        each = ", ".join(_mb(v) for v in p.workers.values())
        print(f"{'':20} {'':4} worker subtrees seen: {len(p.workers)} (peak RSS each: {each})")

    print(
        f"\n{'results':20} {'N':>4} {'json mean KB':>12} {'max KB':>7}  {'target':12} "
        f"{'compact max':>11} {'full marks (expected)':>22} {'invalid':>7} {'cached':>6}"
    )
    for o in outcomes:
        mean, top = statistics.mean(o.sizes), max(o.sizes)
        marks = f"{o.full} ({o.full_expected})"
        print(
            f"{o.spec.label:20} {o.spec.n:4d} {mean / KB:12.1f} {top / KB:7.1f}  "
            f"{'<= ' + str(JSON_TARGET // KB) + ' ' + verdict(top, JSON_TARGET):12} "
            f"{max(o.compact) / KB:11.1f} {marks:>22} {o.invalid:7d} {o.cached:>6}"
        )
        if o.wrong_full:
            print(f"  {o.wrong_full} notebook(s) with a mistake got full marks")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )  # fmt: skip
    ap.add_argument("--sizes", default="20,100", help="class sizes, comma-separated (20,100)")
    ap.add_argument("--jobs", type=int, default=2, help="grade batch --jobs (default 2)")
    ap.add_argument("--hostile", type=int, default=0, metavar="K", help="add K hostile notebooks")
    ap.add_argument("--timeout", type=float, metavar="S", help="grade batch --timeout S")
    ap.add_argument("--dask", action="store_true", help="also grade on a local Dask cluster")
    ap.add_argument("--quick", action="store_true", help="a smoke run: --sizes 6")
    args = ap.parse_args()
    sizes = [6] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"machine: {machine()} (start)")
    print(f"command: {' '.join(grade_cmd('batch', 'SRC', '--out', 'OUT', '--jobs', args.jobs))}")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = Path(tmp)
        classes: dict[int, dict[str, str]] = {}
        for n in sizes:
            (root / f"in-{n}").mkdir()
            classes[n] = kinds = generate(root / f"in-{n}", n, args.hostile)
            counts = {k: list(kinds.values()).count(k) for k in ("mistake", "correct", "hostile")}
            distinct = min(counts["mistake"], len(MISTAKES))
            print(f"class {n}: {counts['mistake']} one-mistake ({distinct} distinct mistakes), "
                  f"{counts['correct']} correct, {counts['hostile']} hostile")  # fmt: skip
        warm = root / "warm.ipynb"
        nbformat.write(solved(), str(warm))
        secs = run_timed(grade_cmd(warm, "--json", root / "warm.json"), what="warm-up").seconds
        print(f"warm-up: grade one correct notebook, {secs:.1f} s (not counted)")
        specs = [Spec(sizes[0]), Spec(sizes[0], canary=False), *(Spec(n) for n in sizes[1:])]
        outcomes: list[Outcome] = []

        def run(spec: Spec) -> None:
            out = root / f"out-{len(outcomes)}"
            o = run_batch(spec, root / f"in-{spec.n}", out, classes[spec.n], args.jobs,
                          args.timeout)  # fmt: skip
            print(f"  {spec.label}, N={spec.n}: {o.seconds:.1f} s")
            outcomes.append(o)

        for spec in specs:
            run(spec)
        if args.dask:
            with dask_cluster(args.jobs) as address:
                for n in sizes:
                    run(Spec(n, scheduler=address))
        report(outcomes, args.jobs)
    print(f"\nload average at end: {load()}")
    return 0


if __name__ == "__main__":
    line_buffered()
    sys.exit(main())
