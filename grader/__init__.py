"""rnn-grader: grade the 'Building a Recurrent Neural Network - Step by Step' assignment.

Library API (the CLI is a thin layer over it)::

    from grader import grade_notebook
    result = grade_notebook("submission.ipynb")
    print(result.score, result.to_dict())

Inside a notebook (Jupyter, Colab)::

    import grader
    grader.check("cell_forward")   # one exercise by name, or grader.check() for every exercise
"""

from typing import Any

#: the result models, importable from here; loaded on first use, so that importing a submodule
#: (the judge's sandboxed runner imports only ``grader.wire``) loads nothing else of the grader
_MODELS = (
    "CellOutcome",
    "CellStatus",
    "CheckResult",
    "Diagnosis",
    "ErrorInfo",
    "ExerciseResult",
    "GradeResult",
    "Mismatch",
    "Status",
)

__all__ = [*_MODELS, "check", "grade_notebook"]


def check(*names: str) -> Any:
    """Grade exercises from the definitions in this notebook's kernel (see ``grader.student.check``)."""
    from grader.student.check import check as _check

    return _check(*names)


def __getattr__(name: str) -> Any:
    # Lazy: importing the package (e.g. for its models) must not pull in nbclient.
    if name == "grade_notebook":
        from grader.pipeline import grade_notebook

        return grade_notebook
    if name in _MODELS:
        from grader.core import models

        return getattr(models, name)
    raise AttributeError(name)
