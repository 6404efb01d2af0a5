"""The shipped RNN assignment's spec, as the tests see it (read from its built golden set)."""

from __future__ import annotations

from grader.assignment import spec
from grader.core.resources import default_golden

ASSIGNMENT = spec.load_json(default_golden() / spec.JSON_NAME)
EXERCISES = ASSIGNMENT.exercises
NAMES = ASSIGNMENT.names
BY_NAME = ASSIGNMENT.by_name
#: the helper modules students import, as written (the built set holds copies: tests/test_golden.py)
HELPERS = default_golden().parents[1] / "exercises" / ASSIGNMENT.name
