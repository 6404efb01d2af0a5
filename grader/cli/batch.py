"""``grade batch DIR --out OUT``: a class at once; progress on stderr, the summary at the end."""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import time
from pathlib import Path
from typing import Any

from grader.batch.run import run_batch
from grader.cli.common import add_common_options, load_settings
from grader.core.errors import ExitCode, GraderError
from grader.core.models import GradeResult
from grader.sandbox.levels import Sandbox, select_sandbox


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


def register(sub: argparse._SubParsersAction) -> None:
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


def warn_if_weak(sandbox: Sandbox) -> None:
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

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        golden, config = load_settings(args)
        if args.scheduler is None:  # a cluster's workers choose their own level
            warn_if_weak(select_sandbox())
        canary = None
        if not args.no_canary:
            # A known-good notebook first: limits too low for this machine or a broken sandbox
            # must stop the batch (exit 3), not give every student zero.
            from grader.batch.canary import run_canary

            canary = functools.partial(run_canary, config, golden)
        report = run_batch(
            args.dir, args.out, jobs=args.jobs, force=args.force, scheduler=args.scheduler,
            golden=golden, config=config, junit=args.junit, canary=canary,
            gradescope=args.gradescope, progress=None if args.quiet else Progress,
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
