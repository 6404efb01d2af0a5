"""``grade batch DIR --out OUTDIR``: grade a class, resumably, without losing a notebook.

Per notebook the output directory gets ``<stem>.json`` and ``<stem>.html``; for the class,
``gradebook.csv`` and ``index.html`` (overview). A content-addressed cache in ``OUTDIR/.cache``
makes a re-run grade only new or changed notebooks (``--force`` regrades all).

Workers are grader processes of our own (spawned, one notebook at a time each), talking over a
pipe: if one dies — a notebook killed its grader, the OOM killer struck — we know exactly which
notebook it was grading, record an ``invalid`` result saying so and start a fresh worker. (With
``ProcessPoolExecutor`` one dead worker breaks the whole pool and every running notebook with it.)
Each worker is given the notebook's *bytes*, the same bytes that were hashed for the cache key,
so the cache can never hold a result for content other than the key says; the same function
grades locally and on a Dask cluster (``--scheduler``), so both give identical results.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import multiprocessing
import os
import queue
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.assignment.golden import Golden
from grader.assignment.spec import NAMES
from grader.batch.cache import ResultCache, atomic_write, cache_key
from grader.core.config import GradingConfig
from grader.core.errors import ExitCode, GraderError, UsageError
from grader.core.models import GradeResult
from grader.sandbox.limits import kill_process_tree
from grader.sandbox.select import Sandbox, select_sandbox

#: output names the batch writes itself: a notebook stem must never overwrite them
RESERVED = frozenset({"index", "gradebook", "junit", "gradescope", "summary"})
_UNSAFE = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class Job:
    """One notebook of the batch."""

    path: Path  #: where to read it
    file: str  #: path relative to the batch directory (POSIX), the notebook's id
    shown: str  #: the path as the user gave it, recorded as ``GradeResult.notebook``
    stem: str  #: unique output name: ``<stem>.json`` / ``<stem>.html``


@dataclass(frozen=True)
class Outcome:
    """What came back for one job: a result dict, and whether it may be cached."""

    result: dict[str, Any]
    cacheable: bool = True
    #: set when the grader failed, not the notebook: worker_died, deadline, infrastructure, ...
    failure: str | None = None


# ---------------------------------------------------------------------------------------------
# Discovery and output names


def discover(root: Path) -> list[Path]:
    """Every ``*.ipynb`` under ``root`` (recursive, no checkpoints or hidden dirs), sorted."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinked dirs: no loops
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in filenames if f.endswith(".ipynb"))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def assign_stems(files: Sequence[str]) -> list[str]:
    """Unique, filesystem-safe output stems, deterministic for a given set of relative paths.

    ``alice.ipynb`` → ``alice``; when two notebooks share a stem (``a/hw.ipynb``, ``b/hw.ipynb``),
    both use their relative path (``a__hw``, ``b__hw``). Comparison is case-insensitive, because
    the output directory may live on a case-insensitive filesystem.
    """

    def safe(text: str) -> str:
        return _UNSAFE.sub("_", text).strip("._") or "notebook"

    short = [safe(Path(f).stem) for f in files]
    long = [safe("__".join(Path(f).with_suffix("").parts)) for f in files]
    counts: dict[str, int] = {}
    for s in short:
        counts[s.lower()] = counts.get(s.lower(), 0) + 1
    stems: list[str] = []
    taken: set[str] = set()
    for s, lg in zip(short, long, strict=True):
        base = s if counts[s.lower()] == 1 and s.lower() not in RESERVED else lg
        if base.lower() in RESERVED:
            base = f"nb_{base}"
        stem, n = base, 2
        while stem.lower() in taken:
            stem, n = f"{base}-{n}", n + 1
        taken.add(stem.lower())
        stems.append(stem)
    return stems


# ---------------------------------------------------------------------------------------------
# Grading one notebook from its bytes (runs in a local worker or on a Dask worker)

_GOLDEN: dict[str, Any] = {}


def _golden(golden_dir: str | None, files: dict[str, bytes] | None) -> Any:
    """Load (once per process) the golden set from a path or from shipped file contents."""
    import hashlib

    from grader.assignment import golden as golden_mod
    key = golden_dir or ""
    if files:
        key = hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()
    if key not in _GOLDEN:
        if files:
            where = Path(tempfile.mkdtemp(prefix="rnn-grader-golden-"))
            for name, data in files.items():
                (where / Path(name).name).write_bytes(data)
            _GOLDEN[key] = golden_mod.load(where)
        elif golden_dir:
            _GOLDEN[key] = golden_mod.load(Path(golden_dir))
        else:
            _GOLDEN[key] = golden_mod.default()
    return _GOLDEN[key]


def _relabel(obj: Any, old: str, new: str) -> Any:
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, list):
        return [_relabel(v, old, new) for v in obj]
    if isinstance(obj, dict):
        return {k: _relabel(v, old, new) for k, v in obj.items()}
    return obj


def grade_bytes(
    shown: str,
    data: bytes,
    config: GradingConfig,
    golden_dir: str | None = None,
    golden_files: dict[str, bytes] | None = None,
) -> dict[str, Any]:
    """Grade notebook bytes as if they were the file ``shown``; returns ``GradeResult.to_dict()``.

    The bytes are written to a private temp dir under the notebook's own file name (messages that
    quote the name stay meaningful), and the temp path is replaced by ``shown`` in the result.
    """
    from grader.pipeline import grade_notebook

    golden = _golden(golden_dir, golden_files)
    with tempfile.TemporaryDirectory(prefix="rnn-grader-batch-") as tmp:
        path = Path(tmp) / (Path(shown).name or "notebook.ipynb")
        path.write_bytes(data)
        result = grade_notebook(path, golden=golden, config=config)
        return dict(_relabel(result.to_dict(), str(path), shown))


# ---------------------------------------------------------------------------------------------
# Local worker processes


def _worker_main(conn: Any, config: GradingConfig, golden_dir: str | None) -> None:
    """A worker: grade one request at a time until the pipe closes."""
    # Own process group: the terminal's Ctrl-C goes to the batch, which stops workers itself.
    # (Windows has no process groups of this kind: kill_process_tree stops what a worker left.)
    if hasattr(os, "setpgrp"):
        os.setpgrp()

    def _exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds so nbclient shuts its kernel down

    signal.signal(signal.SIGTERM, _exit)
    from grader.core.errors import InfrastructureError

    while True:
        try:
            shown, data = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", grade_bytes(shown, data, config, golden_dir))
        except InfrastructureError as exc:
            reply = ("infrastructure", str(exc))
        except Exception as exc:  # a grader bug must cost one notebook, not the batch
            reply = ("internal", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


def _failure_result(job: Job, failure: str, message: str, golden_id: str) -> Outcome:
    from grader.pipeline import invalid_result

    result = invalid_result(job.shown, message, golden_id=golden_id)
    doc = result.to_dict()
    doc["extra"] = {"batch_failure": failure}
    # Grader-side failures are not cached: the next run tries again.
    return Outcome(doc, cacheable=False, failure=failure)


class _Worker:
    """One spawned grader process; replaced when it dies or overruns its deadline."""

    def __init__(self, ctx: Any, config: GradingConfig, golden_dir: str | None) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_worker_main, args=(child, config, golden_dir), name="rnn-grader-worker"
        )
        self.proc.start()
        child.close()

    def grade(self, job: Job, data: bytes, deadline: float, golden_id: str) -> Outcome:
        try:
            self.conn.send((job.shown, data))
            if not self.conn.poll(deadline):
                self.stop()
                return _failure_result(
                    job, "deadline",
                    f"grading took longer than {deadline:.0f} s and was stopped; raise "
                    "--timeout or the [limits] in --config if the notebook is legitimately slow",
                    golden_id,
                )  # fmt: skip
            kind, payload = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.proc.join(5)
            code = self.proc.exitcode
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return _failure_result(
                job, "worker_died",
                f"the grading process died while grading this notebook ({how}); the notebook may "
                "have exhausted memory or killed its grader. It will be retried on the next run",
                golden_id,
            )  # fmt: skip
        if kind == "ok":
            return Outcome(payload)
        what = "this machine cannot grade" if kind == "infrastructure" else "internal grader error"
        return _failure_result(job, kind, f"{what}: {payload}", golden_id)

    @property
    def alive(self) -> bool:
        return self.proc.is_alive()

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(grace)
        if self.proc.is_alive() and self.proc.pid:
            if hasattr(os, "killpg"):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                kill_process_tree(self.proc.pid)
            self.proc.join(2)
        self.conn.close()


def run_local(
    jobs: Sequence[tuple[Job, bytes]],
    *,
    workers: int,
    config: GradingConfig,
    golden_dir: str | None,
    golden_id: str,
    deadline: float,
    on_outcome: Callable[[Job, Outcome], None],
) -> None:
    """Grade ``jobs`` on ``workers`` local processes; ``on_outcome`` runs in the calling thread."""
    ctx = multiprocessing.get_context("spawn")  # fork would copy threads and locks
    todo: queue.Queue[tuple[Job, bytes] | None] = queue.Queue()
    done: queue.Queue[tuple[Job, Outcome] | BaseException] = queue.Queue()
    stop = threading.Event()
    for item in jobs:
        todo.put(item)
    n = max(1, min(workers, len(jobs)))
    for _ in range(n):
        todo.put(None)
    live: list[_Worker] = []
    lock = threading.Lock()

    def slot() -> None:
        worker: _Worker | None = None
        try:
            while not stop.is_set():
                item = todo.get()
                if item is None:
                    break
                if worker is None or not worker.alive:
                    worker = _Worker(ctx, config, golden_dir)
                    with lock:
                        live.append(worker)
                outcome = worker.grade(item[0], item[1], deadline, golden_id)
                if not stop.is_set():
                    done.put((item[0], outcome))
        except BaseException as exc:  # surface in the main thread instead of hanging it
            done.put(exc)
        finally:
            if worker is not None:
                worker.stop()

    threads = [threading.Thread(target=slot, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    try:
        for _ in range(len(jobs)):
            got = done.get()
            if isinstance(got, BaseException):
                raise got
            on_outcome(*got)
    finally:
        stop.set()
        with lock:
            for w in live:
                if w.proc.is_alive():
                    w.proc.terminate()
        for t in threads:
            t.join(10)


# ---------------------------------------------------------------------------------------------
# Progress


class Progress:
    """done/total, rate, ETA and failures: a rich bar on a terminal, plain lines otherwise (CI)."""

    def __init__(self, total: int, *, enabled: bool = True, stream: Any = None) -> None:
        self.total, self.done, self.failures = total, 0, 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        if enabled and total and self.stream.isatty():
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )
                from rich.progress import Progress as RichProgress
            except ImportError:  # rich is optional: fall back to plain lines
                pass
            else:
                self._bar = RichProgress(
                    TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), TextColumn("{task.fields[fail]}"),
                    console=Console(file=self.stream), transient=False,
                )  # fmt: skip
                self._bar.start()
                self._task = self._bar.add_task("grading", total=total, rate="", fail="")
        self.enabled = enabled

    def _rate(self) -> tuple[float, float]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        per_min = 60 * self.done / elapsed
        eta = (self.total - self.done) * elapsed / self.done if self.done else float("nan")
        return per_min, eta

    def advance(self, file: str, result: GradeResult, failed: bool) -> None:
        self.done += 1
        self.failures += failed
        if not self.enabled:
            return
        per_min, eta = self._rate()
        fail = f"{self.failures} not gradable" if self.failures else ""
        if self._bar is not None:
            self._bar.update(self._task, advance=1, rate=f"{per_min:.1f} nb/min", fail=fail)
            return
        score = f"{result.score:g}/{result.max_score:g}" if result.status == "graded" else "invalid"
        print(
            f"[{self.done}/{self.total}] {file}: {score} | {per_min:.1f} nb/min, "
            f"ETA {_fmt_eta(eta)}" + (f", {fail}" if fail else ""),
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _fmt_eta(seconds: float) -> str:
    if seconds != seconds:  # nan: nothing done yet
        return "?"
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


# ---------------------------------------------------------------------------------------------
# The batch


@dataclass
class BatchReport:
    """What a batch run produced (also what ``grade batch`` prints a summary of)."""

    out: Path
    rows: list[tuple[Job, GradeResult]]
    graded: int = 0  #: graded now (not from the cache)
    cached: int = 0
    failures: int = 0  #: grader-side failures (worker died, deadline, infrastructure)
    infrastructure: int = 0
    elapsed: float = 0.0

    @property
    def exit_code(self) -> int:
        # Every notebook got a row. Only "this machine cannot grade" is the grader's failure.
        return int(ExitCode.INTERNAL if self.infrastructure else ExitCode.OK)


def default_deadline(config: GradingConfig) -> float:
    """Outer wall-clock limit for one notebook, a safety net above the pipeline's own limits."""
    lim = config.limits
    return lim.startup_timeout + lim.notebook_timeout + len(NAMES) * 7 * lim.call_timeout + 60


def _html(result: GradeResult, path: Path) -> None:
    try:
        from grader.render.html import write_html

        write_html(result, path)
    except Exception as exc:  # a report that cannot render must not cost the batch
        import html

        body = (
            f"<!DOCTYPE html><meta charset='utf-8'><title>{html.escape(result.notebook)}</title>"
            f"<h1>{html.escape(result.notebook)}</h1><p>Score {result.score:g}/"
            f"{result.max_score:g} ({html.escape(result.status)}). The full report could not be "
            f"rendered ({html.escape(type(exc).__name__)}: {html.escape(str(exc))}); see the "
            "JSON result next to this file.</p>"
        )
        atomic_write(path, body)


def _write_result(out: Path, job: Job, result: GradeResult) -> None:
    import json

    atomic_write(out / f"{job.stem}.json", json.dumps(result.to_dict(), indent=1) + "\n")
    _html(result, out / f"{job.stem}.html")


def run_batch(
    src: Path,
    out: Path,
    *,
    jobs: int | None = None,
    force: bool = False,
    scheduler: str | None = None,
    golden: Golden | None = None,
    config: GradingConfig | None = None,
    junit: Path | None = None,
    gradescope: Path | None = None,
    deadline: float | None = None,
    progress: bool = True,
) -> BatchReport:
    """Grade every notebook under ``src`` into ``out`` (see the module docstring)."""
    from grader.assignment import golden as golden_mod
    from grader.core.resources import version

    started = time.monotonic()
    if not src.is_dir():
        raise UsageError(f"{src}: no such directory; pass the folder holding the notebooks")
    paths = discover(src)
    if not paths:
        raise UsageError(f"{src}: no *.ipynb notebooks found (searched recursively)")
    config = config or GradingConfig()
    golden = golden or golden_mod.default()
    out.mkdir(parents=True, exist_ok=True)
    cache = ResultCache(out / ".cache")
    files = [p.relative_to(src).as_posix() for p in paths]
    all_jobs = [
        Job(p, f, str(src / f), stem)
        for p, f, stem in zip(paths, files, assign_stems(files), strict=True)
    ]
    report = BatchReport(out, [])
    results: dict[str, GradeResult] = {}
    keys: dict[str, str] = {}
    pending: list[tuple[Job, bytes]] = []
    bar = Progress(len(all_jobs), enabled=progress)

    def record(job: Job, outcome: Outcome) -> None:
        result = GradeResult.from_dict(outcome.result)
        _write_result(out, job, result)
        if outcome.cacheable and job.file in keys:
            cache.put(keys[job.file], result)  # last: a cache entry implies its files exist
        if outcome.failure:
            report.failures += 1
            report.infrastructure += outcome.failure == "infrastructure"
        results[job.file] = result
        bar.advance(job.file, result, result.status != "graded")

    ver = version()
    try:
        for job in all_jobs:
            try:
                data = job.path.read_bytes()
            except OSError as exc:
                why = f"{job.shown}: cannot read the file ({exc.strerror or exc})"
                record(job, _failure_result(job, "unreadable", why, golden.id))
                continue
            keys[job.file] = cache_key(data, golden_id=golden.id, config=config, version=ver)
            hit = None if force else cache.get(keys[job.file])
            if hit is not None:
                hit = dataclasses.replace(hit, notebook=job.shown)
                if (
                    not (out / f"{job.stem}.json").is_file()
                    or not (out / f"{job.stem}.html").is_file()
                ):
                    _write_result(out, job, hit)
                results[job.file] = hit
                report.cached += 1
                bar.advance(job.file, hit, hit.status != "graded")
            else:
                pending.append((job, data))
        report.graded = len(pending)
        limit = deadline or default_deadline(config)
        if pending and scheduler:
            from grader.batch.distributed import run_dask

            run_dask(pending, address=scheduler, config=config, golden_dir=golden.path,
                     golden_id=golden.id, on_outcome=record)  # fmt: skip
        elif pending:
            run_local(pending, workers=jobs or os.cpu_count() or 1, config=config,
                      golden_dir=str(golden.path), golden_id=golden.id,
                      deadline=limit, on_outcome=record)  # fmt: skip
    finally:
        bar.close()
    report.rows = [(job, results[job.file]) for job in all_jobs]
    write_class_outputs(report, junit=junit, gradescope=gradescope)
    report.elapsed = time.monotonic() - started
    return report


def write_class_outputs(
    report: BatchReport, *, junit: Path | None = None, gradescope: Path | None = None
) -> None:
    """gradebook.csv, index.html (with integrity hints), and the optional CI files."""
    from grader.render.gradebook import write_gradebook
    from grader.render.overview import Row, write_overview

    out = report.out
    write_gradebook([(job.file, r) for job, r in report.rows], out / "gradebook.csv")
    flags = _integrity([job for job, _ in report.rows])
    rows = [Row(job.file, f"{job.stem}.html", f"{job.stem}.json", r) for job, r in report.rows]
    write_overview(rows, out / "index.html", flags=flags)
    if junit is not None:
        from grader.render.junit import write_junit

        write_junit([r for _, r in report.rows], junit)
    if gradescope is not None:
        from grader.render.gradescope import write_gradescope

        for job, r in report.rows:
            write_gradescope(r, gradescope / f"{job.stem}.json")


def _integrity(jobs: Sequence[Job]) -> list[Any]:
    """Integrity hints over the batch; never fails the batch (a hint is optional)."""
    try:
        from grader.stages import integrity
        from grader.stages.load import load_notebook
    except ImportError:
        return []

    def notebooks() -> Iterator[tuple[str, Any]]:
        for job in jobs:
            try:
                yield job.file, load_notebook(job.path)
            except Exception:  # invalid notebooks simply have nothing to compare
                continue

    try:
        return integrity.scan(notebooks())
    except Exception:
        return []


# ---------------------------------------------------------------------------------------------
# Command line


def register(sub: argparse._SubParsersAction) -> None:
    from grader.cli import add_common_options

    p = sub.add_parser(
        "batch",
        help="grade every notebook in a folder (gradebook, reports, class overview)",
        description="Grade every *.ipynb under DIR (recursively) into OUTDIR: <stem>.json and "
        "<stem>.html per notebook, gradebook.csv and index.html (class overview). Re-running "
        "grades only new or changed notebooks. Exit 0 when every notebook got a result.",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="folder of submitted notebooks")
    p.add_argument("--out", type=Path, required=True, metavar="OUTDIR", help="output folder")
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="notebooks graded at once (default: one per CPU core)",
    )
    p.add_argument("--force", action="store_true", help="regrade everything, ignore the cache")
    p.add_argument(
        "--no-canary", action="store_true",
        help="skip grading a known-good notebook first (it checks the limits and the sandbox)",
    )  # fmt: skip
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on a Dask cluster (tcp://HOST:8786); needs the 'dask' extra",
    )
    add_common_options(p)  # --golden --config --timeout --call-timeout --junit --gradescope
    # One results.json per notebook: for a batch, --gradescope names a directory.
    p._option_string_actions[
        "--gradescope"
    ].help = "also write one Gradescope results JSON per notebook (<stem>.json) into this directory"
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(func=handler)


def _warn_if_weak(sandbox: Sandbox) -> None:
    """One loud line when student code will run with this account's read access."""
    if sandbox.strong:
        return
    print(
        f"grade batch: WARNING: sandbox level '{sandbox.name}' (missing: "
        f"{', '.join(sandbox.missing) or 'nothing'}): student code can read every file this "
        "account can read (other submissions, your home, private golden sets) and print it into "
        "its report; for the strong level grade as root, in a container per submission, or "
        "with unprivileged user namespaces enabled (sysctl user.max_user_namespaces > 0)",
        file=sys.stderr,
    )


class _Terminated(Exception):
    pass


def handler(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        print("grade batch: --jobs must be at least 1", file=sys.stderr)
        return int(ExitCode.USAGE)

    def on_term(signum: int, frame: Any) -> None:
        raise _Terminated()

    from grader.cli import load_settings

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        golden, config = load_settings(args)
        if args.scheduler is None:  # a cluster's workers choose their own level
            _warn_if_weak(select_sandbox())
        if not args.no_canary and args.dir.is_dir() and discover(args.dir):
            # A known-good notebook first: limits too low for this machine or a broken sandbox
            # must stop the batch (exit 3), not give every student zero.
            from grader.batch.canary import run_canary

            run_canary(config, golden)
        report = run_batch(
            args.dir, args.out, jobs=args.jobs, force=args.force, scheduler=args.scheduler,
            golden=golden, config=config, junit=args.junit,
            gradescope=args.gradescope, progress=not args.quiet,
        )  # fmt: skip
    except GraderError as exc:
        print(f"grade batch: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except (KeyboardInterrupt, _Terminated) as exc:
        print(
            "grade batch: interrupted; finished notebooks are saved, run the same command "
            "again to grade the rest",
            file=sys.stderr,
        )
        return 130 if isinstance(exc, KeyboardInterrupt) else 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    n = len(report.rows)
    passed = sum(r.passed for _, r in report.rows)
    invalid = sum(r.status != "graded" for _, r in report.rows)
    print(
        f"{n} notebook(s): {report.graded} graded, {report.cached} from cache; {passed} full "
        f"marks, {invalid} not gradable; {report.elapsed:.1f} s. Overview: "
        f"{report.out / 'index.html'}",
        file=sys.stderr,
    )
    if report.failures:
        print(
            f"{report.failures} notebook(s) hit a grader-side failure (see their reason); they "
            "will be retried on the next run",
            file=sys.stderr,
        )
    return report.exit_code
