"""Command line: a thin layer over the library API (``main(argv) -> int``, exit codes in ExitCode).

The CLI is the only layer that parses arguments or prints (docs/architecture.md); one module per
command::

    grade NOTEBOOK [--json PATH] [--html PATH] [--assignment DIR] [--golden DIR] ...  (cli.grade)
    grade batch DIR --out OUTDIR [--jobs N] ...                                      (cli.batch)
    grade build ASSIGNMENT_DIR [--seed N] [--out DIR] [--no-stub]                    (cli.build)
    grade golden build [--seed N] [--out DIR]     (the shipped assignment only)      (cli.build)
    grade stub build [--source DIR] [--out DIR]                                      (cli.build)
    grade gradescope-bundle OUT.zip                                                  (cli.bundle)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from grader.cli.common import Parser
from grader.core.errors import ExitCode, GraderError

#: subcommand -> module with ``register(subparsers)``
SUBCOMMANDS = {
    "batch": "grader.cli.batch",
    "build": "grader.cli.build",
    "golden": "grader.cli.build",
    "stub": "grader.cli.build",
    "gradescope-bundle": "grader.cli.bundle",
}


def _subcommand(argv: Sequence[str]) -> int:
    parser = Parser(prog="grade")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
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
        from grader.cli.grade import grade_one

        return grade_one(argv, subcommands=tuple(SUBCOMMANDS))
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
