"""rnn-grader: grade the 'Building a Recurrent Neural Network - Step by Step' assignment.

Library API (the CLI is a thin layer over it)::

    from grader import grade_notebook
    result = grade_notebook("submission.ipynb")
    print(result.score, result.to_dict())

Inside a notebook (Jupyter, Colab)::

    import grader
    grader.check("rnn_cell_forward")   # or grader.check() for every exercise
"""

from typing import Any

from grader.core.models import (
    CellOutcome,
    CellStatus,
    CheckResult,
    Diagnosis,
    ErrorInfo,
    ExerciseResult,
    GradeResult,
    Mismatch,
    Status,
)

__all__ = [
    "CellOutcome",
    "CellStatus",
    "CheckResult",
    "Diagnosis",
    "ErrorInfo",
    "ExerciseResult",
    "GradeResult",
    "Mismatch",
    "Status",
    "check",
    "grade_notebook",
]


def check(*names: str) -> Any:
    """Grade exercises from the definitions in this notebook's kernel (see ``grader.student.check``)."""
    from grader.student.check import check as _check

    return _check(*names)


def __getattr__(name: str) -> Any:
    # Lazy: importing the package (e.g. for its models) must not pull in nbclient.
    if name == "grade_notebook":
        from grader.pipeline import grade_notebook

        return grade_notebook
    raise AttributeError(name)
