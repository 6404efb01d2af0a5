"""Where the shipped data lives: inside the wheel (grader/_data) or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """``golden`` or ``templates``: the installed copy if there is one, else the checkout's."""
    installed = _PKG / "_data" / name
    if installed.is_dir():
        return installed
    return _PKG.parent / name


def compat_dir() -> Path:
    """Course helper modules (rnn_utils, public_tests) placed next to every graded notebook."""
    return _PKG / "compat"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _v

    try:
        return _v("rnn-grader")
    except PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"
