"""What every command shares: the argument parser class, the common options, loading settings."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from grader.core.errors import UsageError


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2 (not a usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def add_common_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``grade NOTEBOOK`` and ``grade batch``."""
    p.add_argument(
        "--assignment",
        type=Path,
        metavar="DIR",
        help="grade this assignment: its built golden set, or its source folder (assignment.toml) "
        "once built with 'grade build DIR' (default: the shipped RNN/LSTM assignment)",
    )
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
    from grader.core.config import load_config

    golden = _load_golden(args)
    config = load_config(args.config, golden.assignment.names)
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
    return golden, config


def _load_golden(args: argparse.Namespace) -> Any:
    """``--golden DIR`` (a built set), else ``--assignment DIR``, else the shipped assignment."""
    from grader.assignment import golden as golden_mod

    if args.golden and args.assignment:
        raise UsageError("give --golden or --assignment, not both (--golden is a built set)")
    if args.golden:
        return golden_mod.load(args.golden)
    if args.assignment:
        return golden_mod.load(golden_mod.resolve(args.assignment))
    return golden_mod.default()
