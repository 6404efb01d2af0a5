"""``grade NOTEBOOK``: grade one notebook, print the score table, write the requested outputs."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.cli.common import Parser, add_common_options, load_settings
from grader.core.errors import ExitCode, GraderError
from grader.core.fileio import atomic_write
from grader.core.models import GradeResult, result_json


def _grade_parser(subcommands: Sequence[str]) -> argparse.ArgumentParser:
    p = Parser(
        prog="grade",
        description="Grade a notebook (default assignment: RNN/LSTM 'Step by Step'): prints a score "
        "table, writes an HTML report. Subcommands: "
        + ", ".join(subcommands)
        + " (grade SUBCOMMAND --help).",
    )
    p.add_argument("notebook", help="the .ipynb file to grade")
    p.add_argument("--json", type=Path, metavar="PATH", help="write the JSON result here")
    p.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help="write the HTML report here (default: NOTEBOOK.report.html next to it)",
    )
    p.add_argument("--no-html", action="store_true", help="do not write an HTML report")
    p.add_argument(
        "--watch",
        action="store_true",
        help="regrade every time the notebook is saved; Ctrl-C stops",
    )
    add_common_options(p)
    return p


def _default_html(notebook: Path) -> Path:
    target = notebook.with_name(notebook.stem + ".report.html")
    if os.access(target.parent, os.W_OK):
        return target
    return Path.cwd() / target.name


def grade_one(argv: Sequence[str], subcommands: Sequence[str] = ()) -> int:
    """``grade NOTEBOOK ...``: exit 0 passed, 1 not passed, 2 bad input (see ExitCode)."""
    args = _grade_parser(subcommands).parse_args(argv)
    started = time.monotonic()
    if Path(args.notebook).is_file():
        from grader.sandbox.levels import prefetch

        prefetch()  # the sandbox's self-test runs while the grader loads
    try:
        golden, config = load_settings(args)
    except GraderError as exc:
        _write_failure_outputs(args, str(exc), time.monotonic() - started)
        raise
    if args.watch:
        from grader.render.terminal import use_color
        from grader.student.watch import watch

        def again() -> str:
            try:
                return _grade_and_write(args, golden, config, time.monotonic())[1]
            except GraderError as exc:  # one bad round (a kernel that cannot start) is shown
                return f"grade: error: {exc}\n"

        return watch(Path(args.notebook), again, out=sys.stdout, clear=use_color(sys.stdout))
    result, shown = _grade_and_write(args, golden, config, started)
    if result.status != "graded":
        print(f"grade: error: {result.error}", file=sys.stderr)
        return ExitCode.USAGE
    print(shown, end="")
    return ExitCode.OK if result.passed else ExitCode.NOT_PASSED


def _grade_and_write(
    args: argparse.Namespace, golden: Any, config: Any, started: float
) -> tuple[GradeResult, str]:
    """Grade once, write every requested output; (result, what to print on stdout)."""
    from grader.pipeline import grade_notebook
    from grader.sandbox.limits import interrupt_kills_children

    try:
        with interrupt_kills_children():  # Ctrl-C stops the kernel and judge at once
            result = grade_notebook(args.notebook, golden=golden, config=config)
    except GraderError as exc:  # infrastructure: CI outputs still say what happened
        _write_failure_outputs(args, str(exc), time.monotonic() - started)
        raise
    if args.json:
        atomic_write(args.json, result_json(result))
    if args.junit:
        from grader.render.junit import write_junit

        write_junit([result], args.junit)
    if args.gradescope:
        from grader.render.gradescope import write_gradescope

        write_gradescope(result, args.gradescope, execution_time=result.duration)
    if result.status != "graded":
        return result, f"grade: error: {result.error}\n"
    report: Path | None = None
    if not args.no_html:
        from grader.render.html import write_html

        report = args.html or _default_html(Path(args.notebook))
        write_html(result, report, golden.assignment.case_labels())
    from grader.render.terminal import for_stream, render_terminal, use_color

    table = render_terminal(
        result, color=use_color(sys.stdout), report_path=str(report) if report else None
    )
    return result, for_stream(table, sys.stdout)  # ASCII on a console that cannot show it


def _write_failure_outputs(args: argparse.Namespace, error: str, elapsed: float) -> None:
    """CI outputs are always written, even when grading could not start."""
    from grader.pipeline import invalid_result

    result = invalid_result(args.notebook, error, duration=elapsed)
    if args.json:
        atomic_write(args.json, result_json(result))
    if args.junit:
        from grader.render.junit import write_junit

        write_junit([result], args.junit)
    if args.gradescope:
        from grader.render.gradescope import write_gradescope

        write_gradescope(None, args.gradescope, error=error, execution_time=elapsed)
