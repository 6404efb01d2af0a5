"""Shared fixtures; the repository root goes on ``sys.path`` so ``solutions`` always imports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root directory (holds grader/, solutions/, exercises/)."""
    return REPO_ROOT
