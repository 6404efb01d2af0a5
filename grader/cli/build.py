"""Authoring commands: ``grade build DIR``, ``grade golden build``, ``grade stub build``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from grader.cli.common import Parser
from grader.core.errors import ExitCode, GraderError


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser(
        "build",
        help="build an assignment from its source folder: golden data, mistake catalogue, stub",
        description="Build ASSIGNMENT_DIR (holds assignment.toml; see docs/authoring.md): cases "
        "and expected outputs from its reference, the mistake catalogue's outputs, the spec and "
        "helper modules into its golden folder, and the stub notebook students start from.",
    )
    a.add_argument("folder", type=Path, metavar="ASSIGNMENT_DIR")
    a.add_argument(
        "--seed", type=int, default=None, help="seed of the hidden cases (default: spec)"
    )
    a.add_argument(
        "--out", type=Path, default=None, help="golden output folder (default: the spec's [build])"
    )
    a.add_argument("--no-stub", action="store_true", help="do not rewrite the stub notebook")
    a.set_defaults(func=_build)
    _register_stub(sub)
    p = sub.add_parser("golden", help="build the shipped assignment's golden data (a checkout)")
    gsub = p.add_subparsers(dest="golden_cmd", required=True, parser_class=Parser)
    b = gsub.add_parser("build", help="(re)generate seeded inputs and expected outputs")
    b.add_argument("--seed", type=int, default=0, help="seed of the hidden cases (default 0)")
    b.add_argument(
        "--out", type=Path, default=None, help="output directory (default: golden/ of the checkout)"
    )
    b.set_defaults(func=_golden_build)


def _golden_build(args: argparse.Namespace) -> int:
    from grader.authoring.build import build
    from grader.authoring.source import shipped_source

    return _report_build(build(shipped_source(), out=args.out, seed=args.seed, stub=False))


def _build(args: argparse.Namespace) -> int:
    from grader.authoring.build import build

    return _report_build(build(args.folder, out=args.out, seed=args.seed, stub=not args.no_stub))


def _report_build(g: Any) -> int:
    n = sum(len(c) for c in g.cases.values())
    print(
        f"wrote {n} cases for {len(g.cases)} exercises of {g.assignment.title!r} to {g.path} "
        f"(golden id {g.id})"
    )
    return ExitCode.OK


def _register_stub(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("stub", help="build the exercise notebook students start from")
    actions = parser.add_subparsers(
        dest="stub_action", metavar="ACTION", required=True, parser_class=Parser
    )
    build = actions.add_parser(
        "build",
        help="regenerate an assignment's stub notebook from its reference",
        description="Regenerate the stub notebook of an assignment (default: the shipped one) "
        "from its reference package, without rebuilding its golden set (that is 'grade build').",
    )
    build.add_argument(
        "--source", type=Path, metavar="DIR",
        help="the assignment's folder, holding assignment.toml (default: the shipped assignment)",
    )  # fmt: skip
    build.add_argument(
        "--out", type=Path, metavar="DIR",
        help="write the notebook here (default: next to assignment.toml)",
    )  # fmt: skip
    build.set_defaults(func=_stub_build)


def _stub_build(args: argparse.Namespace) -> int:
    from grader.authoring import stubgen

    try:
        path = stubgen.build_stub(args.source, args.out)
    except GraderError as err:
        print(f"grade stub build: error: {err}", file=sys.stderr)
        return int(err.exit_code)
    print(f"wrote {path}")
    return int(ExitCode.OK)
