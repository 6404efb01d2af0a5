"""``grade gradescope-bundle OUT.zip``: the Gradescope autograder zip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.authoring.bundle import build_bundle
from grader.core.errors import ExitCode, GraderError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gradescope-bundle",
        help="build the Gradescope autograder zip",
        description="Build the autograder zip to upload to Gradescope (setup.sh, run_autograder, "
        "this package as a wheel; optionally a private golden set and a config).",
    )
    p.add_argument("out", type=Path, metavar="OUT.zip", help="where to write the zip")
    p.add_argument("--wheel", type=Path, help="use this wheel instead of building one")
    p.add_argument("--golden", type=Path, metavar="DIR", help="ship a private golden set")
    p.add_argument("--config", type=Path, metavar="FILE", help="ship a TOML config")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    try:
        out = build_bundle(args.out, wheel=args.wheel, golden=args.golden, config=args.config)
    except GraderError as exc:
        print(f"grade gradescope-bundle: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    print(f"wrote {out}: upload it as the autograder of a Gradescope 'Programming Assignment'")
    return int(ExitCode.OK)
