"""Command line: a thin layer over the library API (``main(argv) -> int``, exit codes in ExitCode).

grade NOTEBOOK [--json PATH] [--html PATH] [--golden DIR] [--config FILE] [--timeout S] ...
grade batch DIR --out OUTDIR [--jobs N] ...        (grader.batch.run)
grade golden build [--seed N] [--out DIR]
grade stub build [--out DIR]                        (grader.authoring.stubgen)
grade gradescope-bundle OUT.zip                     (grader.authoring.bundle)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from grader.batch.cache import atomic_write
from grader.core.errors import ExitCode, GraderError, UsageError
from grader.core.models import GradeResult

#: subcommand -> module with ``register(subparsers)``
SUBCOMMANDS = {
    "batch": "grader.batch.run",
    "golden": "grader.cli",
    "stub": "grader.authoring.stubgen",
    "gradescope-bundle": "grader.authoring.bundle",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2 (not a usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def add_common_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``grade NOTEBOOK`` and ``grade batch``."""
    p.add_argument(
        "--golden",
        type=Path,
        metavar="DIR",
        help="grade against this golden set (e.g. a private one from 'grade golden build')",
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML file with [points] per exercise and [limits]",
    )
    p.add_argument(
        "--timeout", type=float, metavar="S", help="seconds each notebook cell may run (default 60)"
    )
    p.add_argument(
        "--call-timeout",
        type=float,
        metavar="S",
        help="seconds each call of an exercise function may run (default 10)",
    )
    p.add_argument("--junit", type=Path, metavar="PATH", help="write JUnit XML here")
    p.add_argument(
        "--gradescope", type=Path, metavar="PATH", help="write Gradescope results.json here"
    )


def load_settings(args: argparse.Namespace) -> tuple[Any, Any]:
    """(Golden, GradingConfig) from the common options; raises GraderError with one line."""
    from grader.assignment import golden as golden_mod
    from grader.core.config import load_config

    config = load_config(args.config)
    limits = config.limits
    if args.timeout is not None:
        if args.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")
        limits = replace(
            limits,
            cell_timeout=args.timeout,
            notebook_timeout=max(limits.notebook_timeout, args.timeout * 4),
        )
    if args.call_timeout is not None:
        if args.call_timeout <= 0:
            raise UsageError("--call-timeout must be a positive number of seconds")
        limits = replace(limits, call_timeout=args.call_timeout)
    config = replace(config, limits=limits)
    golden = golden_mod.load(args.golden) if args.golden else golden_mod.default()
    return golden, config


def _grade_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="grade",
        description="Grade an RNN/LSTM 'Step by Step' notebook: prints a score table, writes an HTML "
        "report. Subcommands: " + ", ".join(SUBCOMMANDS) + " (grade SUBCOMMAND --help).",
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


def _grade_one(argv: Sequence[str]) -> int:
    args = _grade_parser().parse_args(argv)
    started = time.monotonic()
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
        atomic_write(args.json, json.dumps(result.to_dict(), indent=1) + "\n")
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
        write_html(result, report)
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
        atomic_write(args.json, json.dumps(result.to_dict(), indent=1) + "\n")
    if args.junit:
        from grader.render.junit import write_junit

        write_junit([result], args.junit)
    if args.gradescope:
        from grader.render.gradescope import write_gradescope

        write_gradescope(None, args.gradescope, error=error, execution_time=elapsed)


# ------------------------------------------------------------------------------------------------
# grade golden build


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("golden", help="build golden data from the reference solutions")
    gsub = p.add_subparsers(dest="golden_cmd", required=True, parser_class=_Parser)
    b = gsub.add_parser("build", help="(re)generate seeded inputs and expected outputs")
    b.add_argument("--seed", type=int, default=0, help="seed of the hidden cases (default 0)")
    b.add_argument(
        "--out", type=Path, default=None, help="output directory (default: golden/ of the checkout)"
    )
    b.set_defaults(func=_golden_build)


def _golden_build(args: argparse.Namespace) -> int:
    from grader.assignment import golden as golden_mod
    from grader.core.resources import data_dir

    out = args.out or data_dir("golden")
    g = golden_mod.build(out, seed=args.seed)
    n = sum(len(c) for c in g.cases.values())
    print(f"wrote {n} cases for {len(g.cases)} exercises to {out} (golden id {g.id})")
    return ExitCode.OK


def _subcommand(argv: Sequence[str]) -> int:
    parser = _Parser(prog="grade")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    module = importlib.import_module(SUBCOMMANDS[argv[0]])
    module.register(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return _subcommand(argv)
        return _grade_one(argv)
    except GraderError as exc:
        print(f"grade: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `grade x.ipynb | head`
        return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
