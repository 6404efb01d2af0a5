"""Exception hierarchy: every error the user can cause maps to an exit code and one line."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (docs/architecture.md §1.2)."""

    OK = 0  #: graded, every exercise passed (batch: every notebook got a result)
    NOT_PASSED = 1  #: graded, something did not pass
    USAGE = 2  #: could not grade: not a notebook, unreadable JSON, bad arguments
    INTERNAL = 3  #: the grader's own infrastructure failed (canary, kernel cannot start)


class GraderError(Exception):
    """Base class: ``str(err)`` is one actionable line; ``exit_code`` is what the CLI returns."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(GraderError):
    """Bad command-line arguments or options."""


class InvalidNotebookError(GraderError):
    """The file cannot be graded: missing, unreadable, not JSON, not a notebook."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.hint = hint
        tail = f"; {hint}" if hint else ""
        super().__init__(f"{path}: {reason}{tail}")


class GoldenError(GraderError):
    """The golden directory is missing, incomplete or inconsistent."""


class InfrastructureError(GraderError):
    """The machine cannot grade (kernel will not start, limits too low): not the student's fault."""

    exit_code = ExitCode.INTERNAL
